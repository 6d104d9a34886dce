/**
 * @module One caller's conversation with Cyclades: the caller's token on every request, the
 * service endpoints from the catalog, and the project new objects are charged to. Sessions live
 * for one backend call; nothing here outlives it.
 */
import { OcciError } from '../../errors.ts';
import type { BackendContext } from '../backend.ts';
import type { CycladesHttp } from './http-client.ts';
import type { Identity, ServiceType } from './identity.ts';
import type { CycladesOptions } from './options.ts';

/** What every operation module shares: built once per backend. */
export interface CycladesServices {
  /** The configured backend name (template schemes and error messages use it). */
  backendName: string;
  options: CycladesOptions;
  http: CycladesHttp;
  identity: Identity;
  /** Logs a warning; never pass a token. */
  warn: (message: string, detail?: Record<string, unknown>) => void;
}

/** Requests on behalf of one caller. */
export class CycladesSession {
  constructor(
    readonly services: CycladesServices,
    /** Forwarded unchanged as `X-Auth-Token`. */
    readonly token: string,
    private readonly chosenProject: string | undefined,
    /** ocni's id of the request, written into the marks of what this session creates. */
    readonly requestId = '',
  ) {}

  /** Sends a request to a Cyclades service; `path` starts with `/`. Returns the parsed body. */
  async call(service: ServiceType, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const endpoints = await this.services.identity.endpoints();
    return this.services.http.request({ method, url: `${endpoints[service]}${path}`, token: this.token, body, service });
  }

  /** `GET`. */
  get(service: ServiceType, path: string): Promise<unknown> {
    return this.call(service, 'GET', path);
  }

  /** `POST` with a JSON body. */
  post(service: ServiceType, path: string, body: unknown): Promise<unknown> {
    return this.call(service, 'POST', path, body);
  }

  /** `PUT` with a JSON body. */
  put(service: ServiceType, path: string, body: unknown): Promise<unknown> {
    return this.call(service, 'PUT', path, body);
  }

  /** `DELETE`. */
  delete(service: ServiceType, path: string): Promise<unknown> {
    return this.call(service, 'DELETE', path);
  }

  /** The project for new objects (see {@link Identity.project}). */
  project(): Promise<string> {
    return this.services.identity.project(this.token, this.chosenProject);
  }
}

/**
 * Opens a session for a backend call.
 *
 * @throws OcciError `unauthorized` when the request carries no token: Cyclades needs one for
 * everything, so nothing is sent
 */
export function openSession(services: CycladesServices, ctx: BackendContext): CycladesSession {
  const token = ctx.credentials.token;
  if (token === undefined || token === '') {
    throw new OcciError('unauthorized', `backend "${services.backendName}" needs the caller's Cyclades token (X-Auth-Token)`);
  }
  return new CycladesSession(services, token, ctx.credentials.project, ctx.requestId);
}
