import { hostname, networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { serverNamesFor } from './server-names.ts';

describe('serverNamesFor', () => {
  it('gives a loopback-bound server every loopback name, and the public URL as an origin', () => {
    const names = serverNamesFor('https://cloud.example.org', '127.0.0.1');
    expect(names.hosts).toEqual(expect.arrayContaining(['127.0.0.1', 'localhost', '::1']));
    expect(names.origins).toEqual(['https://cloud.example.org']);
    expect(names.ports).toEqual([]);
  });

  it('gives a wildcard-bound server every interface address and the host name', () => {
    const names = serverNamesFor(null, '0.0.0.0');
    const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.toLowerCase()));
    expect(names.hosts).toEqual(expect.arrayContaining([...addresses, hostname().toLowerCase(), 'localhost']));
    expect(serverNamesFor(null, '::').hosts).toEqual(expect.arrayContaining(addresses));
  });

  it('gives a server bound to one address that address only', () => {
    expect(serverNamesFor(null, '10.1.2.3').hosts).toEqual(['10.1.2.3']);
  });
});
