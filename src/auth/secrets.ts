/**
 * @module Secrets stored hashed: scrypt with a random salt, in the form
 * `scrypt$<N>$<salt, base64>$<hash, base64>`, compared in constant time. `npm run hash-secret`
 * prints the form for a secret to paste into the configuration.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

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

/** Checks a secret against its stored hash, in constant time. */
export function verifySecret(secret: string, stored: string): boolean {
  const match = FORM.exec(stored);
  if (!match) return false;
  const expected = Buffer.from(match[3]!, 'base64');
  const actual = scryptSync(secret, Buffer.from(match[2]!, 'base64'), expected.length, { N: Number(match[1]) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
