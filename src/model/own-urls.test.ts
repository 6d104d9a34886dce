import { describe, expect, it } from 'vitest';
import { isOwnUrl, type ServerNames } from './own-urls.ts';

const loopback: ServerNames = { origins: ['https://cloud.example.org'], hosts: ['127.0.0.1', 'localhost', '::1'], ports: [8090] };
const wildcard: ServerNames = { origins: [], hosts: ['0.0.0.0', '10.1.2.3', 'node7', '127.0.0.1', 'localhost', '::1'], ports: [8090] };

describe('isOwnUrl', () => {
  it.each([
    'http://127.0.0.1:8090/storage/d1',
    'http://localhost:8090/storage/d1',
    'http://LOCALHOST:8090/storage/d1',
    'http://[::1]:8090/storage/d1',
    'http://127.0.0.2:8090/storage/d1',
    'http://127.1:8090/storage/d1',
    'http://[::ffff:127.0.0.1]:8090/storage/d1',
    'http://localhost.:8090/storage/d1',
    'http://user@localhost:8090/storage/d1',
    'https://cloud.example.org/storage/d1',
    'https://cloud.example.org:443/storage/d1',
  ])('%s names a loopback-bound server', (url) => {
    expect(isOwnUrl(url, loopback)).toBe(true);
  });

  it.each([
    'http://localhost:8091/storage/d1',
    'http://localhost/storage/d1',
    'https://localhost:8090/storage/d1',
    'http://10.1.2.3:8090/storage/d1',
    'http://cloud.example.org/storage/d1',
    'http://example.org:8090/storage/d1',
    'ftp://localhost:8090/x',
    'not a url',
  ])('%s does not', (url) => {
    expect(isOwnUrl(url, loopback)).toBe(false);
  });

  it('counts every interface address and the host name of a wildcard-bound server, and the request origin given', () => {
    expect(isOwnUrl('http://10.1.2.3:8090/x', wildcard)).toBe(true);
    expect(isOwnUrl('http://node7:8090/x', wildcard)).toBe(true);
    expect(isOwnUrl('http://localhost:8090/x', wildcard)).toBe(true);
    expect(isOwnUrl('http://10.9.9.9:8090/x', wildcard)).toBe(false);
    expect(isOwnUrl('http://proxy.example:8443/x', wildcard, ['http://proxy.example:8443'])).toBe(true);
  });
});
