import { describe, expect, it } from 'vitest';
import { toPath } from './location.ts';

const path = (input: string) => {
  const result = toPath(input);
  return 'path' in result ? result.path : `error: ${result.error}`;
};

describe('toPath: one normal form per path', () => {
  it.each([
    ['/compute/%41', '/compute/A'],
    ['/compute/caf%C3%A9', '/compute/caf%C3%A9'],
    ['/compute/caf%c3%a9', '/compute/caf%C3%A9'],
    ['/compute/cafe%CC%81', '/compute/caf%C3%A9'],
    ['/compute/café', '/compute/caf%C3%A9'],
    ['/compute/%7Evm', '/compute/~vm'],
    ['/compute/a%21b', '/compute/a!b'],
    ['/compute/a%20b', '/compute/a%20b'],
    ['/compute/100%25', '/compute/100%25'],
    ['/tags/%6D%69%6E%65/', '/tags/mine/'],
    ['http://localhost:8090/compute/%41?x=1', '/compute/A'],
    ['/', '/'],
  ])('%s → %s', (input, expected) => {
    expect(path(input)).toBe(expected);
  });

  it.each([
    ['/compute/%00', /control character/],
    ['/compute/a%00b', /control character/],
    ['/compute/%ZZ', /broken percent-escape "%ZZ"/],
    ['/compute/%4', /broken percent-escape/],
    ['/compute/%C3%28', /not UTF-8/],
    ['/compute/%FF', /not UTF-8/],
    ['/compute/a%2Fb', /encoded '\/'/],
    ['/compute/a%2fb', /encoded '\/'/],
    ['/compute/%2e%2e/x', /'\.' or '\.\.'/],
    ['/compute/%2E/x', /'\.' or '\.\.'/],
    ['/compute/../x', /'\.' or '\.\.'/],
    ['/%2e%2e/', /'\.' or '\.\.'/],
    ['http://localhost/compute/%2e%2e/x', /'\.' or '\.\.'/],
    ['/compute/a b', /may not hold literally/],
    ['/compute/\ud800', /not valid Unicode/],
    ['/compute//x', /empty path segment/],
  ])('%s is refused', (input, why) => {
    expect(path(input)).toMatch(why);
  });

  it('is idempotent', () => {
    for (const input of ['/compute/cafe%CC%81', '/compute/%7e%41%c3%a9', '/a/b%20c/']) {
      expect(path(path(input))).toBe(path(input));
    }
  });
});
