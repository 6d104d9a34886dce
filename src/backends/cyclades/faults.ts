/**
 * @module Cyclades faults in ocni terms. Every Cyclades (and Astakos) error body has the shape
 * `{"<faultName>": {"code", "message", "details"}}` (`snf_django/lib/api/faults.py`); the fault
 * name decides the domain error code, the status decides when the name is the generic `fault` or
 * unknown, and Cyclades' `message` is kept so the OCCI client reads what Cyclades said.
 */
import { OcciError, type OcciErrorCode } from '../../errors.ts';
import { isObject, text } from './json.ts';
import { codeForUpstreamStatus as codeForStatus } from '../upstream-status.ts';

/** Domain error code of each fault name Cyclades renders (§1.3 of the API notes, §5 item 20). */
const BY_FAULT_NAME: Readonly<Record<string, OcciErrorCode>> = {
  badRequest: 'validation',
  itemNotFound: 'not-found',
  // `featureNotEnabled` is a 404 for a feature switched off in the deployment (e.g. rescue).
  featureNotEnabled: 'not-implemented',
  buildInProgress: 'conflict',
  conflict: 'conflict',
  networkInUse: 'conflict',
  overLimit: 'payload-too-large',
  forbidden: 'forbidden',
  resizeNotAllowed: 'forbidden',
  notImplemented: 'not-implemented',
  unauthorized: 'unauthorized',
  serviceUnavailable: 'backend-unavailable',
  // What the bridge itself sent wrong (method, media type, length) is not the OCCI client's fault.
  notAllowed: 'backend-failed',
  badMediaType: 'backend-failed',
  lengthRequired: 'backend-failed',
  internalServerError: 'backend-failed',
};

/** The longest piece of a non-JSON body quoted in an error message. */
const SNIPPET = 200;

/**
 * `details` worth showing: Cyclades puts readable limits there (`Limit for resource 'Virtual
 * Machine' exceeded ...`), but also tracebacks in DEBUG deployments and, for a rejected token,
 * Astakos' whole JSON body, whose own message is the better one.
 */
function readableDetails(details: string | undefined): string | undefined {
  if (details === undefined) return undefined;
  const trimmed = details.trim();
  if (trimmed === '' || trimmed.length > 500 || trimmed.includes('Traceback') || trimmed.startsWith('{') || trimmed.startsWith('<')) return undefined;
  return trimmed;
}

/** Astakos' message inside the `details` of a wrapped identity rejection (`{"fault": {..., "details": "<json>"}}`). */
function innerMessage(details: string | undefined): string | undefined {
  if (details === undefined || !details.trim().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(details);
    if (!isObject(parsed)) return undefined;
    const [inner] = Object.values(parsed);
    return isObject(inner) ? text(inner, 'message') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns a Cyclades error response into a domain error: the fault name's code (else the status's),
 * and Cyclades' message (with readable `details` appended). Bodies that are not a Cyclades fault
 * (a proxy's HTML page, an empty 502) become `backend-failed`, or `backend-unavailable` /
 * `backend-timeout` for a 503 / 504 whose meaning does not depend on the body.
 */
export function faultError(status: number, statusText: string, body: string, service: string): OcciError {
  let parsed: unknown;
  try {
    parsed = body.trim() === '' ? undefined : JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const entries = isObject(parsed) ? Object.entries(parsed) : [];
  const [name, fault] = entries.length === 1 ? entries[0]! : [undefined, undefined];
  if (name !== undefined && isObject(fault) && typeof fault['message'] === 'string') {
    const code = BY_FAULT_NAME[name] ?? codeForStatus(status);
    const details = text(fault, 'details');
    const message = innerMessage(details) ?? fault['message'];
    const extra = readableDetails(details);
    return new OcciError(code, extra === undefined || extra === message ? message : `${message} (${extra})`);
  }
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, SNIPPET);
  const code = status === 503 ? 'backend-unavailable' : status === 504 ? 'backend-timeout' : 'backend-failed';
  const what = parsed === undefined && body.trim() !== '' ? 'a non-JSON body' : 'no Cyclades fault';
  return new OcciError(code, `Cyclades ${service} answered ${status} ${statusText} with ${what}${snippet === '' ? '' : `: ${snippet}`}`);
}

/** The error code of a failed `fetch` (connection refused, DNS failure, reset). */
function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return undefined;
}

/**
 * Turns a transport failure into a domain error: a timeout is `backend-timeout`, anything that
 * kept the request from being answered (refused, unreachable, reset) is `backend-unavailable`.
 */
export function transportError(error: unknown, service: string, timeoutMs: number): OcciError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new OcciError('backend-timeout', `Cyclades ${service} did not answer within ${timeoutMs} ms`, { cause: error });
  }
  const code = causeCode(error);
  const why = code ?? (error instanceof Error ? error.message : String(error));
  return new OcciError('backend-unavailable', `Cyclades ${service} cannot be reached (${why})`, { cause: error });
}
