/**
 * @module Small helpers for the domain errors the Cyclades operations raise and tolerate.
 */
import { isOcciError, OcciError, type OcciErrorCode } from '../../errors.ts';

/** True when `error` is a domain error with one of `codes` (and, when given, a message matching `pattern`). */
export function isError(error: unknown, codes: OcciErrorCode[], pattern?: RegExp): boolean {
  return isOcciError(error) && codes.includes(error.code) && (pattern === undefined || pattern.test(error.message));
}

/**
 * Runs a deletion and treats "already gone" as done: Cyclades answers 404 for what it never had
 * or no longer shows, and 400 `... has been deleted.` / `... already detached` for what it keeps
 * as deleted.
 */
export async function deleteIgnoringGone(run: () => Promise<unknown>, gonePattern: RegExp = /has been deleted|already detached/i): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (isError(error, ['not-found']) || isError(error, ['validation'], gonePattern)) return;
    throw error;
  }
}

/** A `not-implemented` error naming the backend. */
export function notImplemented(backendName: string, what: string): OcciError {
  return new OcciError('not-implemented', `backend "${backendName}" (Cyclades) does not support ${what}`);
}
