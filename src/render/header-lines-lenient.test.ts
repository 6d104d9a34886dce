import { describe, expect, it } from 'vitest';
import { parseAttributeLine, parseCategoryLine, parseCategoryReference, TextParseError } from './header-lines.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';

describe('Category lines as snf-occi users write them (parseCategoryReference)', () => {
  it('reads an unquoted scheme, a trailing ";" and no class', () => {
    expect(parseCategoryReference(`C2R2048D20; scheme=${INFRA}; `)).toEqual({ term: 'C2R2048D20', scheme: INFRA });
    expect(parseCategoryReference(`Debian; scheme=${INFRA};`)).toEqual({ term: 'Debian', scheme: INFRA });
    expect(parseCategoryReference(`compute; scheme=${INFRA};  class="kind";`)).toEqual({ term: 'compute', scheme: INFRA, class: 'kind' });
    expect(parseCategoryReference(`compute; scheme="${INFRA}"; class=kind`)).toEqual({ term: 'compute', scheme: INFRA, class: 'kind' });
  });

  it('still refuses what is ambiguous or broken, saying where', () => {
    expect(() => parseCategoryReference(`Debian; scheme=${INFRA.slice(0, -1)};`)).toThrow(/scheme must end in '#'/);
    expect(() => parseCategoryReference('Debian;')).toThrow(/missing scheme/);
    expect(() => parseCategoryReference(`Debian; scheme=${INFRA}; class=thing`)).toThrow(/class must be/);
    expect(() => parseCategoryReference(`De bian; scheme=${INFRA}`)).toThrow(TextParseError);
  });

  it('leaves category definitions strict (POST /-/ still needs class and a quoted scheme)', () => {
    expect(() => parseCategoryLine(`Debian; scheme=${INFRA};`)).toThrow(/quoted/);
  });

  it('reads "name = value" with spaces and an unquoted string', () => {
    expect(parseAttributeLine('occi.core.title = newVM')).toEqual({ name: 'occi.core.title', value: 'newVM' });
  });
});
