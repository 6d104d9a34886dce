/**
 * @module Cyclades API faults (`snf_django/lib/api/faults.py`): each is rendered as
 * `{"<faultName>": {"code", "message", "details"}}` with the fault's status code.
 */

/** A fault raised by a handler; the pipeline renders it with {@link faultBody}. */
export class CycladesFault extends Error {
  override name = 'CycladesFault';
  readonly status: number;
  /** The JSON key of the rendered body, e.g. `badRequest`. */
  readonly faultName: string;
  readonly details: string;
  /** Extra response headers, e.g. `Allow` on 405. */
  readonly headers: Record<string, string>;

  constructor(status: number, faultName: string, message: string, details = '', headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.faultName = faultName;
    this.details = details;
    this.headers = headers;
  }
}

/** The fault name Cyclades uses for each status it raises. */
export const FAULT_NAMES: Readonly<Record<number, string>> = {
  304: 'notModified',
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'notAllowed',
  409: 'conflict',
  411: 'lengthRequired',
  413: 'overLimit',
  415: 'badMediaType',
  421: 'networkInUse',
  500: 'internalServerError',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** The JSON body of a fault. */
export function faultBody(faultName: string, status: number, message: string, details = ''): Record<string, unknown> {
  return { [faultName]: { code: status, message, details } };
}

/** The fault name for a status, falling back to the generic `fault` the real service uses. */
export function faultNameFor(status: number): string {
  return FAULT_NAMES[status] ?? 'fault';
}

/** 400 `badRequest`. */
export function badRequest(message: string): CycladesFault {
  return new CycladesFault(400, 'badRequest', message);
}

/** 401 `unauthorized`. */
export function unauthorized(message: string): CycladesFault {
  return new CycladesFault(401, 'unauthorized', message);
}

/** 403 `forbidden`. */
export function forbidden(message: string): CycladesFault {
  return new CycladesFault(403, 'forbidden', message);
}

/** 404 `itemNotFound`. */
export function itemNotFound(message: string): CycladesFault {
  return new CycladesFault(404, 'itemNotFound', message);
}

/** 404 `featureNotEnabled` (e.g. rescue when `RESCUE_ENABLED` is off). */
export function featureNotEnabled(message: string): CycladesFault {
  return new CycladesFault(404, 'featureNotEnabled', message);
}

/** 409 `conflict`. */
export function conflict(message: string): CycladesFault {
  return new CycladesFault(409, 'conflict', message);
}

/** 409 `buildInProgress`. */
export function buildInProgress(message: string): CycladesFault {
  return new CycladesFault(409, 'buildInProgress', message);
}

/** 413 `overLimit`; quota faults carry the Astakos explanation in `details`. */
export function overLimit(message: string, details = ''): CycladesFault {
  return new CycladesFault(413, 'overLimit', message, details);
}

/** 501 `notImplemented`. */
export function notImplemented(message: string): CycladesFault {
  return new CycladesFault(501, 'notImplemented', message);
}

/** 503 `serviceUnavailable`. */
export function serviceUnavailable(message: string): CycladesFault {
  return new CycladesFault(503, 'serviceUnavailable', message);
}

/** 405 `notAllowed` with the `Allow` header the Django views send. */
export function notAllowed(allowed: readonly string[]): CycladesFault {
  return new CycladesFault(405, 'notAllowed', 'Method not allowed', '', { Allow: allowed.join(', ') });
}
