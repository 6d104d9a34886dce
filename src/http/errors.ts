/**
 * @module The one place where errors become HTTP: the code → status table and the error middleware
 * that renders every failure as a problem document (RFC 9457, `application/problem+json`), or as
 * plain text for clients that accept only text.
 */
import { STATUS_CODES } from 'node:http';
import type { Context, Next } from 'koa';
import { isOcciError, OcciError, TooManyRequestsError, UnauthorizedError, type FieldProblem, type OcciErrorCode } from '../errors.ts';
import { rendererFor, responseTypes } from '../render/index.ts';
import type { ProblemView } from '../render/renderer.ts';
import { chooseType } from './negotiate.ts';
import { loggableError } from './error-log.ts';

/** HTTP status of every domain error code. */
export const STATUS_OF: Record<OcciErrorCode, number> = {
  'bad-request': 400,
  validation: 400,
  parse: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  'precondition-failed': 412,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'too-many-requests': 429,
  'not-implemented': 501,
  'backend-failed': 502,
  'store-unavailable': 503,
  'backend-unavailable': 503,
  'backend-timeout': 504,
  config: 500,
};

/** Seconds a client should wait before retrying when the store or a backend is unavailable. */
const RETRY_AFTER_SECONDS = 5;

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  type?: string;
  body?: unknown;
  code?: string;
}

/** Turns what a body parser throws (a JSON syntax error, an oversized body) into a domain error. */
function fromHttpError(err: HttpLikeError): OcciError | undefined {
  const status = err.status ?? err.statusCode;
  if (status === 413 || err.type === 'entity.too.large') return new OcciError('payload-too-large', 'the request body is larger than the configured limit');
  // zlib's and brotli's own errors (a body that does not match its Content-Encoding) carry no
  // status: codes like Z_DATA_ERROR, and ERR__ERROR_FORMAT_… for brotli.
  if (status === undefined && typeof err.code === 'string' && (err.code.startsWith('Z_') || err.code.startsWith('ERR__ERROR_'))) {
    return new OcciError('parse', `the request body cannot be decoded as its Content-Encoding says (${err.message ?? err.code})`);
  }
  // Node's parser failed inside the body (a broken chunked encoding): the client's error. Its
  // raw request is not ours to log; the connection is answered by the clientError handler.
  if (typeof err.code === 'string' && err.code.startsWith('HPE_')) return new OcciError('parse', `the request cannot be read (${err.message ?? err.code})`);
  if (status === 415) return new OcciError('unsupported-media-type', err.message ?? 'unsupported request body type');
  if (status === 400 && typeof err.body === 'string') {
    return new OcciError('parse', `malformed JSON: ${err.message ?? 'cannot parse'}${positionHint(err.message ?? '', err.body)}`, { problems: [{ pointer: '/', message: 'is not well-formed JSON' }] });
  }
  if (status === 400 && err.message?.includes('only supports object and array')) {
    return new OcciError('validation', 'the request body must be a JSON object', { problems: [{ pointer: '/', message: 'must be an object' }] });
  }
  if (status !== undefined && status >= 400 && status < 500 && err.expose) return new OcciError('bad-request', err.message ?? 'bad request');
  return undefined;
}

/** "(line 3, column 7)" for JSON.parse messages that give a character position. */
function positionHint(message: string, body: string): string {
  const match = /position (\d+)/.exec(message);
  if (!match) return '';
  const position = Number(match[1]);
  const before = body.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}

/** Most problems one error document lists; the rest are counted, so an answer stays small. */
export const MAX_LISTED_PROBLEMS = 100;

/** Builds the problem document of an error. */
export function problemOf(error: OcciError, status: number): ProblemView {
  const doc: ProblemView = {
    type: `urn:ocni:problem:${error.code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
  };
  if (error.problems.length > 0) {
    doc.errors = error.problems.slice(0, MAX_LISTED_PROBLEMS).map((p: FieldProblem) => ({ pointer: p.pointer, detail: p.message }));
    const more = error.problems.length - MAX_LISTED_PROBLEMS;
    if (more > 0) doc.errors.push({ pointer: '/', detail: `and ${more} more problems not listed` });
  }
  return doc;
}

/**
 * The error middleware, registered first: every error below it becomes a response with the right
 * status and a body that says what is wrong and where. Unexpected errors are logged and answered
 * with a generic 500 that leaks nothing.
 */
export function errorMiddleware() {
  return async function renderErrors(ctx: Context, next: Next): Promise<void> {
    let refusedMethod = false;
    try {
      await next();
      if (ctx.status === 405 && ctx.body === undefined) {
        throw new OcciError('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`);
      }
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new OcciError('not-found', `nothing is at ${ctx.path}`);
      }
      if (ctx.status === 501 && ctx.body === undefined) {
        refusedMethod = true;
        throw new OcciError('not-implemented', `${ctx.method} is not a method this server implements`);
      }
    } catch (thrown) {
      let error = isOcciError(thrown) ? thrown : fromHttpError(thrown as HttpLikeError);
      if (!error) {
        ctx.app.emit('error', thrown, ctx);
        error = new OcciError('config', 'internal server error; the details are in the server log');
      }
      const status = STATUS_OF[error.code];
      // A method this server does not implement (TRACE, PROPFIND…) is the client's doing: the
      // request line (method, status 501) is all the log needs.
      if (!refusedMethod && status >= 500 && isOcciError(thrown)) ctx.state.log?.warn({ err: loggableError(thrown) }, 'request failed');
      if (status === 503) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
      if (error instanceof UnauthorizedError) ctx.set('WWW-Authenticate', error.challenge);
      if (error instanceof TooManyRequestsError) ctx.set('Retry-After', String(error.retryAfterSeconds));
      ctx.status = status;
      // The problem is rendered in what the client accepts; when that is nothing we offer, in JSON.
      const renderer = rendererFor(chooseType(ctx.get('Accept'), responseTypes()) ?? 'application/occi+json');
      const rendered = renderer.problem(problemOf(error, status), { baseUrl: `${ctx.protocol}://${ctx.host}`, path: ctx.path });
      ctx.type = rendered.type;
      for (const [name, value] of Object.entries(rendered.headers ?? {})) ctx.set(name, value);
      ctx.body = rendered.body ?? '';
    }
  };
}
