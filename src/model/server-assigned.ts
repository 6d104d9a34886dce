/**
 * @module Attributes the server assigns when a client leaves them out (GFD.221: an immutable
 * attribute is the server's to manage; GFD.224 requires them on every instance): a network
 * interface's name and MAC address. Pure: randomness comes in as bytes.
 */

/** The networkinterface kind, whose interface and MAC the server assigns. */
export const NETWORKINTERFACE_KIND = 'http://schemas.ogf.org/occi/infrastructure#networkinterface';
export const INTERFACE_ATTRIBUTE = 'occi.networkinterface.interface';
export const MAC_ATTRIBUTE = 'occi.networkinterface.mac';

/**
 * A locally administered unicast MAC address (IEEE 802: second bit of the first octet set, first
 * bit clear), so it cannot clash with a vendor's address.
 */
export function localMac(bytes: Uint8Array): string {
  const octets = [...bytes.slice(0, 6)];
  octets[0] = ((octets[0] ?? 0) & 0xfc) | 0x02;
  return octets.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The name of a resource's next network interface, after the `count` it has: `eth0`, `eth1`, … */
export function interfaceName(count: number): string {
  return `eth${count}`;
}
