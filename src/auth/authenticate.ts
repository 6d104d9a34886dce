/**
 * @module The authentication modes, chosen in the configuration:
 * - `none`: everyone is the anonymous operator (local development; the server says so loudly);
 * - `static`: users with tokens from the configuration (`X-Auth-Token`, `Auth-Token` or
 *   `Authorization: Bearer`), stored as SHA-256 digests (tokens are long random strings);
 * - `basic`: HTTP Basic, the OCCI default, with passwords stored as scrypt hashes;
 * - `keystone`: tokens validated against a Keystone v2 / Astakos identity service, cached for a
 *   bounded time, so a Cyclades deployment uses one token for ocni and the cloud.
 */
import { createHash } from 'node:crypto';
import { OcciError, UnauthorizedError } from '../errors.ts';
import { ANONYMOUS_OPERATOR, type Principal } from './principal.ts';
import { verifySecret } from './secrets.ts';

/** A configured user. */
export interface UserConfig {
  name: string;
  /** The tenant the user's entities and tags belong to; defaults to the user's name. */
  tenant?: string;
  operator?: boolean;
  /** `sha256$<hex>` of the user's token (static mode). */
  token?: string;
  /** `scrypt$…` of the user's password (basic mode). */
  password?: string;
}

/** The `auth` section of the configuration. */
export interface AuthConfig {
  mode: 'none' | 'static' | 'basic' | 'keystone';
  realm: string;
  users: UserConfig[];
  keystone?: { url: string; cacheTtlMs: number; cacheMax: number; operatorRoles: string[]; timeoutMs: number };
}

/** What a request offers as credentials (read by the HTTP layer). */
export interface OfferedCredentials {
  token?: string;
  basic?: { username: string; password: string };
  project?: string;
}

/** Authenticates the credentials of one request. */
export type Authenticator = (offered: OfferedCredentials) => Promise<Principal>;

/** `sha256$<hex>`, the stored form of a token. */
export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token).digest('hex')}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A small map whose entries expire and whose size is bounded (oldest out first). */
class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until < Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: Date.now() + this.ttlMs });
  }
}

function principalOf(user: UserConfig): Principal {
  return { id: user.name, tenant: user.tenant ?? user.name, operator: user.operator === true };
}

/** Builds the authenticator of a configuration. */
export function createAuthenticator(config: AuthConfig): Authenticator {
  const challengeFor = (): string => {
    if (config.mode === 'basic') return `Basic realm="${config.realm}", charset="UTF-8"`;
    if (config.mode === 'keystone') return `Keystone uri='${config.keystone!.url}'`;
    return `Bearer realm="${config.realm}"`;
  };
  const refuse = (why: string): never => {
    throw new UnauthorizedError(why, challengeFor());
  };

  if (config.mode === 'none') return async () => ANONYMOUS_OPERATOR;

  if (config.mode === 'static') {
    const byToken = new Map(config.users.filter((u) => u.token).map((u) => [u.token!, u]));
    return async (offered) => {
      if (!offered.token) return refuse('this server needs a token (X-Auth-Token, Auth-Token or Authorization: Bearer)');
      const user = byToken.get(hashToken(offered.token));
      return user ? principalOf(user) : refuse('the token is not valid');
    };
  }

  if (config.mode === 'basic') {
    const byName = new Map(config.users.filter((u) => u.password).map((u) => [u.name, u]));
    // scrypt is slow on purpose; a verified pair is remembered briefly so that each request does
    // not pay for it again. Only digests are kept, never the password.
    const verified = new ExpiringCache<Principal>(60_000, 10_000);
    return async (offered) => {
      if (!offered.basic) return refuse('this server needs HTTP Basic credentials');
      const key = digest(`${offered.basic.username}\u0000${offered.basic.password}`);
      const known = verified.get(key);
      if (known) return known;
      const user = byName.get(offered.basic.username);
      if (!user || !verifySecret(offered.basic.password, user.password!)) return refuse('the user name or password is not valid');
      const principal = principalOf(user);
      verified.set(key, principal);
      return principal;
    };
  }

  const keystone = config.keystone!;
  const cache = new ExpiringCache<{ user: string; projects: string[]; defaultTenant: string; operator: boolean }>(keystone.cacheTtlMs, keystone.cacheMax);
  return async (offered) => {
    if (!offered.token) return refuse('this server needs a Keystone token (X-Auth-Token)');
    const key = digest(offered.token);
    let identity = cache.get(key);
    if (!identity) {
      let response: Response;
      try {
        response = await fetch(`${keystone.url.replace(/\/+$/, '')}/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ auth: { token: { id: offered.token } } }),
          signal: AbortSignal.timeout(keystone.timeoutMs),
        });
      } catch (err) {
        throw new OcciError('backend-unavailable', `the identity service at ${keystone.url} cannot be reached`, { cause: err });
      }
      if (response.status === 401 || response.status === 404 || response.status === 400) return refuse('the identity service does not accept this token');
      if (!response.ok) throw new OcciError('backend-unavailable', `the identity service answered ${response.status}`);
      const body = (await response.json()) as {
        access?: { token?: { tenant?: { id?: string } }; user?: { id?: string; name?: string; roles?: { name?: string }[]; projects?: string[] } };
      };
      const user = body.access?.user;
      if (!user?.id) return refuse('the identity service answered without a user');
      const roles = (user.roles ?? []).map((r) => r.name ?? '');
      identity = {
        user: user.name ?? user.id,
        projects: user.projects ?? [],
        defaultTenant: body.access?.token?.tenant?.id ?? user.id,
        operator: roles.some((r) => keystone.operatorRoles.includes(r)),
      };
      cache.set(key, identity);
    }
    // A project the user belongs to may be chosen per request (X-Project-Id), as in Cyclades.
    const tenant = offered.project && (identity.projects.includes(offered.project) || offered.project === identity.defaultTenant) ? offered.project : identity.defaultTenant;
    return { id: identity.user, tenant, operator: identity.operator };
  };
}
