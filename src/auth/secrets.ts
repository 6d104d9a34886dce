/**
 * @module Secrets stored hashed: scrypt with a random salt, in the form
 * `scrypt$<N>$<salt, base64>$<hash, base64>`, compared in constant time. `npm run hash-secret`
 * prints the form for a secret to paste into the configuration. Checking runs scrypt on libuv's
 * thread pool, never on the event loop: one check costs tens of milliseconds by design.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const COST = 16384;
const FORM = /^scrypt\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** Hashes a secret for the configuration. */
export function hashSecret(secret: string, cost = COST): string {
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, KEY_LENGTH, { N: cost });
  return `scrypt$${cost}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when the stored form is one this module reads. */
export function isHashedSecret(stored: string): boolean {
  return FORM.test(stored);
}

/** The cost (N) of a stored form, or undefined when the form is not one this module reads. */
export function costOf(stored: string): number | undefined {
  const match = FORM.exec(stored);
  return match ? Number(match[1]) : undefined;
}

/**
 * A stored form that no secret matches, at the given cost: checking a password of an unknown user
 * against it spends the same work as for a known user, so the answer's timing does not tell
 * whether the user exists.
 */
export function decoySecret(cost = COST): string {
  return `scrypt$${cost}$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;
}

/** Checks a secret against its stored hash, off the event loop, comparing in constant time. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const match = FORM.exec(stored);
  if (!match) return false;
  const expected = Buffer.from(match[3]!, 'base64');
  const N = Number(match[1]);
  // scrypt needs 128·N·r bytes (r = 8); Node's default ceiling (32 MiB) would refuse N = 32768.
  const actual = await new Promise<Buffer>((done, fail) =>
    scrypt(secret, Buffer.from(match[2]!, 'base64'), expected.length, { N, maxmem: 256 * N * 8 + 1024 * 1024 }, (err, key) => (err ? fail(err) : done(key))),
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
