/**
 * @module Reading Cyclades JSON without trusting it: small guards that turn `unknown` into the
 * fields the bridge needs. Cyclades mixes integer and string ids (§1.3 of the API notes), so ids
 * are always read as strings.
 */
import { OcciError } from '../../errors.ts';

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object under `key` of a response body, or a `backend-failed` error naming what was expected. */
export function member(body: unknown, key: string, what: string): JsonObject {
  const value = isObject(body) ? body[key] : undefined;
  if (!isObject(value)) throw new OcciError('backend-failed', `Cyclades answered ${what} without a "${key}" object`);
  return value;
}

/** The array under `key` of a response body (empty when absent). */
export function list(body: unknown, key: string): JsonObject[] {
  const value = isObject(body) ? body[key] : undefined;
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** A string field, or undefined. */
export function text(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}

/** A numeric field (numbers, or strings of digits), or undefined. */
export function numeric(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

/** An id field as a string: Cyclades sends server and flavor ids as integers, the others as strings. */
export function idField(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

/** Like {@link idField}, but a missing id is Cyclades' fault. */
export function requireId(object: JsonObject, key: string, what: string): string {
  const id = idField(object, key);
  if (id === undefined) throw new OcciError('backend-failed', `Cyclades answered ${what} without an "${key}"`);
  return id;
}
