/**
 * @module What an upstream service's HTTP status means in ocni's terms, shared by every backend
 * that calls one (remote OCCI endpoints, Cyclades). The client's 4xx stay 4xx with the upstream's
 * message; the upstream's own failures become 502, 503 or 504.
 */
import type { OcciErrorCode } from '../errors.ts';

/** The domain error code of an upstream status. */
export function codeForUpstreamStatus(status: number): OcciErrorCode {
  switch (status) {
    case 400:
      return 'validation';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 412:
      return 'precondition-failed';
    case 413:
      return 'payload-too-large';
    case 501:
      return 'not-implemented';
    case 503:
      return 'backend-unavailable';
    case 504:
      return 'backend-timeout';
    default:
      return 'backend-failed';
  }
}
