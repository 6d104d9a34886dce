/**
 * @module Astakos, the identity service: where the Cyclades services live (the service catalog,
 * asked once with `POST <identity>/tokens` and no body) and who a token belongs to (`POST
 * <identity>/tokens {"auth":{"token":{"id"}}}`, cached per token), from which the project of new
 * Cyclades objects is chosen.
 */
import { OcciError } from '../../errors.ts';
import type { CycladesHttp } from './http-client.ts';
import { isObject, list, member, text } from './json.ts';
import { TtlCache, tokenKey, type Clock } from './ttl-cache.ts';

/** The Cyclades services the bridge calls, by catalog `type`. */
export type ServiceType = 'compute' | 'network' | 'volume';

/** Base URLs of the services, without a trailing slash. */
export type Endpoints = Record<ServiceType, string>;

/** What Astakos says about a token's user. */
export interface UserInfo {
  /** The user uuid, also the uuid of the user's system project. */
  uuid: string;
  /** Accepted project memberships, as Astakos lists them (may include the system project). */
  projects: string[];
}

/** How long what Astakos said about a token is reused. */
export const USER_TTL_MS = 60_000;
/** How long a failed token validation is answered from memory. */
export const REFUSAL_TTL_MS = 10_000;
/** At most this many tokens are remembered; the oldest go first. */
const MAX_USERS = 1000;

const SERVICE_TYPES: readonly ServiceType[] = ['compute', 'network', 'volume'];

/** Options of {@link Identity}. */
export interface IdentityOptions {
  identityUrl: string;
  http: CycladesHttp;
  now: Clock;
}

/** The identity service; see the module comment. */
export class Identity {
  readonly #url: string;
  readonly #http: CycladesHttp;
  #endpoints: Promise<Endpoints> | undefined;
  readonly #users: TtlCache<UserInfo>;

  constructor(options: IdentityOptions) {
    this.#url = options.identityUrl.replace(/\/+$/, '');
    this.#http = options.http;
    // A refused token is remembered briefly too, so that a client retrying with it costs little.
    this.#users = new TtlCache<UserInfo>(USER_TTL_MS, MAX_USERS, options.now, REFUSAL_TTL_MS);
  }

  /**
   * The service endpoints, from the public catalog. Asked once and kept for the life of the
   * backend (catalogs change with deployments, not between requests); a failed attempt is
   * forgotten so the next call asks again.
   */
  endpoints(): Promise<Endpoints> {
    if (this.#endpoints === undefined) {
      const pending = this.#discover();
      this.#endpoints = pending;
      pending.catch(() => {
        if (this.#endpoints === pending) this.#endpoints = undefined;
      });
    }
    return this.#endpoints;
  }

  async #discover(): Promise<Endpoints> {
    const body = await this.#http.request({ method: 'POST', url: `${this.#url}/tokens`, service: 'identity' });
    const catalog = list(isObject(body) ? body['access'] : undefined, 'serviceCatalog');
    const found: Partial<Endpoints> = {};
    for (const type of SERVICE_TYPES) {
      const service = catalog.find((entry) => text(entry, 'type') === type);
      const [endpoint] = service === undefined ? [] : list(service, 'endpoints');
      const url = endpoint === undefined ? undefined : text(endpoint, 'publicURL');
      if (url === undefined) throw new OcciError('backend-failed', `the identity service catalog at ${this.#url} has no "${type}" service`);
      found[type] = url.replace(/\/+$/, '');
    }
    return found as Endpoints;
  }

  /** Who the token belongs to (cached per token for {@link USER_TTL_MS}). */
  user(token: string): Promise<UserInfo> {
    return this.#users.get(tokenKey(token), async () => {
      const body = await this.#http.request({ method: 'POST', url: `${this.#url}/tokens`, token, body: { auth: { token: { id: token } } }, service: 'identity' });
      const user = member(member(body, 'access', 'a token validation'), 'user', 'a token validation');
      const uuid = text(user, 'id');
      if (uuid === undefined) throw new OcciError('backend-failed', 'the identity service answered a token validation without a user id');
      const projects = Array.isArray(user['projects']) ? user['projects'].filter((p): p is string => typeof p === 'string') : [];
      return { uuid, projects };
    });
  }

  /**
   * The project new objects are charged to: the one the client chose (`X-Project-Id`), else the
   * first project Astakos lists that is not the user's system project (as snf-occi does), else
   * the system project (the user's uuid).
   */
  async project(token: string, chosen: string | undefined): Promise<string> {
    if (chosen !== undefined && chosen !== '') return chosen;
    const user = await this.user(token);
    return user.projects.find((project) => project !== user.uuid) ?? user.uuid;
  }
}
