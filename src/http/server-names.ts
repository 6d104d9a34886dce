/**
 * @module The names ocni answers to, gathered when it listens: the configured public URL, the
 * bound host, and — bound to a wildcard address (`0.0.0.0`, `::`) — every interface address and
 * the machine's host name; bound to loopback, every loopback name (`127.0.0.1`, `localhost`, `::1`).
 */
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackHost, type ServerNames } from '../model/own-urls.ts';

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

/** The names of a server with this public URL, bound to `host`, before its port is known. */
export function serverNamesFor(publicUrl: string | null, host: string): ServerNames {
  const bound = host.toLowerCase().replace(/^\[|\]$/g, '');
  const hosts = new Set<string>([bound]);
  if (bound === '0.0.0.0' || bound === '::' || bound === '') {
    for (const list of Object.values(networkInterfaces())) for (const address of list ?? []) hosts.add(address.address.toLowerCase());
    hosts.add(hostname().toLowerCase());
    for (const name of LOOPBACK) hosts.add(name);
  }
  if (isLoopbackHost(bound)) for (const name of LOOPBACK) hosts.add(name);
  return { origins: publicUrl ? [publicUrl] : [], hosts: [...hosts], ports: [] };
}
