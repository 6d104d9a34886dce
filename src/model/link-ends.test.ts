import { describe, expect, it } from 'vitest';
import { normaliseLinkEnd, ownUrlTest } from './link-ends.ts';

describe('normaliseLinkEnd', () => {
  const own = ownUrlTest(['http://127.0.0.1:8090', 'https://cloud.example.org/occi/']);

  it("keeps paths, makes this server's URLs paths and leaves other URLs external", () => {
    expect(normaliseLinkEnd('/compute/1', own)).toEqual({ path: '/compute/1' });
    expect(normaliseLinkEnd(' http://127.0.0.1:8090/compute/1 ', own)).toEqual({ path: '/compute/1' });
    // A public URL with a path prefix names the path below it.
    expect(normaliseLinkEnd('https://cloud.example.org/occi/storage/2', own)).toEqual({ path: '/storage/2' });
    expect(normaliseLinkEnd('https://cloud.example.org/other/storage/2', own)).toEqual({ url: 'https://cloud.example.org/other/storage/2' });
    expect(normaliseLinkEnd('http://127.0.0.1:9999/compute/1', own)).toEqual({ url: 'http://127.0.0.1:9999/compute/1' });
  });

  it('says what is wrong with an end it cannot read', () => {
    expect(normaliseLinkEnd('compute/1', own)).toHaveProperty('error');
    // Dot segments are refused however they come (issue 12 item 14), not resolved by the URL parser.
    expect(normaliseLinkEnd('http://127.0.0.1:8090/compute/../x', own)).toHaveProperty('error');
    expect(normaliseLinkEnd('http://127.0.0.1:8090/compute/%2e%2e/x', own)).toHaveProperty('error');
    expect(normaliseLinkEnd('http://127.0.0.1:8090/compute/%41', own)).toEqual({ path: '/compute/A' });
    expect(normaliseLinkEnd('http://127.0.0.1:8090/compute/1?action=start', own)).toHaveProperty('error');
    expect(normaliseLinkEnd('/a//b', own)).toHaveProperty('error');
  });
});
