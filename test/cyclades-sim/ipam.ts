/**
 * @module IPv4 arithmetic for subnets and pools, and MAC addresses for ports. Addresses are held
 * as unsigned 32-bit numbers.
 */

/** A parsed IPv4 CIDR block. */
export interface Cidr {
  network: number;
  prefix: number;
  broadcast: number;
}

/** Parses a dotted-quad IPv4 address; null when malformed. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats a 32-bit number as a dotted quad. */
export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n`; null when malformed or when host bits are set (Cyclades parses strictly). */
export function parseCidr(text: string): Cidr | null {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (match === null) return null;
  const [, addressText, prefixText] = match;
  if (addressText === undefined || prefixText === undefined) return null;
  const address = parseIPv4(addressText);
  const prefix = Number(prefixText);
  if (address === null || prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return null;
  return { network: address, prefix, broadcast: address + size - 1 };
}

/** True when `text` looks like an IPv6 CIDR; the simulator stores IPv6 subnets but allocates no IPv6 addresses. */
export function looksLikeIPv6Cidr(text: string): boolean {
  return /^[0-9a-fA-F:]+\/\d{1,3}$/.test(text) && text.includes(':');
}

/** True when `address` lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= cidr.broadcast;
}

/** An inclusive numeric range. */
export interface Range {
  start: number;
  end: number;
}

/** The default pools of a subnet: every host address except the gateway. */
export function defaultPools(cidr: Cidr, gateway: number | null): Range[] {
  const first = cidr.network + 1;
  const last = cidr.broadcast - 1;
  if (last < first) return [];
  if (gateway === null || gateway < first || gateway > last) return [{ start: first, end: last }];
  const pools: Range[] = [];
  if (gateway > first) pools.push({ start: first, end: gateway - 1 });
  if (gateway < last) pools.push({ start: gateway + 1, end: last });
  return pools;
}

/** The first address of `pools` not in `used`, or null when the pools are exhausted. */
export function firstFree(pools: readonly Range[], used: ReadonlySet<number>): number | null {
  for (const pool of pools) {
    for (let address = pool.start; address <= pool.end; address += 1) {
      if (!used.has(address)) return address;
    }
  }
  return null;
}

/** True when `address` falls in one of `pools`. */
export function inPools(pools: readonly Range[], address: number): boolean {
  return pools.some((pool) => address >= pool.start && address <= pool.end);
}

/** A MAC in Cyclades' `aa:00:00:xx:xx:xx` style, derived from the port id so it is stable. */
export function macForPort(portId: number): string {
  const hex = (portId % 0x1000000).toString(16).padStart(6, '0');
  return `aa:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}
