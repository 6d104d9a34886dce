/**
 * @module Domain errors: what went wrong, in OCCI terms, with no HTTP status. The one table in
 * `src/http/errors.ts` maps each `code` to a status.
 */

/** One field-level problem: a message and an RFC 6901 JSON pointer into the request body. */
export interface FieldProblem {
  pointer: string;
  message: string;
}

/** Every error code the domain can raise; `src/http/errors.ts` maps each one to an HTTP status. */
export type OcciErrorCode =
  | 'bad-request'
  | 'validation'
  | 'parse'
  | 'not-found'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'precondition-failed'
  | 'payload-too-large'
  | 'too-many-requests'
  | 'not-acceptable'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'not-implemented'
  | 'store-unavailable'
  | 'backend-failed'
  | 'backend-unavailable'
  | 'backend-timeout'
  | 'config';

/** Options shared by every domain error. */
export interface OcciErrorOptions {
  cause?: unknown;
  problems?: FieldProblem[];
}

/** The base of every domain error. `code` says what kind of failure it is; the message is for people. */
export class OcciError extends Error {
  override name = 'OcciError';
  readonly code: OcciErrorCode;
  readonly problems: FieldProblem[];

  constructor(code: OcciErrorCode, message: string, options: OcciErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.problems = options.problems ?? [];
  }
}

/** A request that is well formed but says something the model refuses (400). */
export class ValidationError extends OcciError {
  override name = 'ValidationError';
  constructor(message: string, problems: FieldProblem[] = [], cause?: unknown) {
    super('validation', message, { problems, cause });
  }
}

/** A body that cannot be read at all: malformed JSON or text rendering (400). */
export class ParseError extends OcciError {
  override name = 'ParseError';
  constructor(message: string, problems: FieldProblem[] = []) {
    super('parse', message, { problems });
  }
}

/** Something named by the request does not exist (404). */
export class NotFoundError extends OcciError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('not-found', message);
  }
}

/** A duplicate identifier or location, or a write that lost a race (409). */
export class ConflictError extends OcciError {
  override name = 'ConflictError';
  constructor(message: string, problems: FieldProblem[] = []) {
    super('conflict', message, { problems });
  }
}

/** The request is understood but not allowed, e.g. changing a built-in category (403). */
export class ForbiddenError extends OcciError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** Missing or bad credentials (401); `challenge` is the `WWW-Authenticate` value naming the scheme. */
export class UnauthorizedError extends OcciError {
  override name = 'UnauthorizedError';
  constructor(
    message: string,
    readonly challenge: string,
  ) {
    super('unauthorized', message);
  }
}

/** Too many attempts (failed logins, logins in progress): retry after `retryAfterSeconds` (429). */
export class TooManyRequestsError extends OcciError {
  override name = 'TooManyRequestsError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('too-many-requests', message);
  }
}

/** The store (CouchDB) could not be reached or answered with a server error (503). */
export class StoreUnavailableError extends OcciError {
  override name = 'StoreUnavailableError';
  constructor(message: string, cause?: unknown) {
    super('store-unavailable', message, { cause });
  }
}

/** A configuration that cannot be used; raised at start-up only. */
export class ConfigError extends OcciError {
  override name = 'ConfigError';
  constructor(message: string, cause?: unknown) {
    super('config', message, { cause });
  }
}

/** True when `value` is an {@link OcciError}, also across module copies (compares `name` too). */
export function isOcciError(value: unknown): value is OcciError {
  return value instanceof OcciError || (value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && 'problems' in value);
}
