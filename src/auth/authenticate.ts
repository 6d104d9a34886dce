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
import { OcciError, TooManyRequestsError, UnauthorizedError } from '../errors.ts';
import { ExpiringCache } from './expiring-cache.ts';
import { FailureThrottle } from './failure-throttle.ts';
import { ANONYMOUS_OPERATOR, type Principal } from './principal.ts';
import { costOf, decoySecret, verifySecret } from './secrets.ts';
import { WorkLimiter } from './work-limiter.ts';

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
  keystone?: {
    url: string;
    cacheTtlMs: number;
    /** How long a token the identity service refused is refused without asking again. */
    refusalTtlMs: number;
    cacheMax: number;
    operatorRoles: string[];
    timeoutMs: number;
  };
  /** Failed-login throttling and the bound on concurrent password checks (basic mode). */
  throttle: AuthThrottleConfig;
}

/** The `auth.throttle` section. */
export interface AuthThrottleConfig {
  /** Failed logins one user name may have per window before it is refused (429). */
  failuresPerUser: number;
  /** Failed logins one client address may have per window before it is refused (429). */
  failuresPerAddress: number;
  windowMs: number;
  /** Most user names and addresses remembered at once (memory bound). */
  maxTracked: number;
  /** Password checks running at once (each on a libuv pool thread). */
  hashConcurrency: number;
  /** Password checks waiting at once; beyond that, 429. */
  hashQueue: number;
}

/** Default throttling, for configurations that say nothing. */
export const DEFAULT_THROTTLE: AuthThrottleConfig = { failuresPerUser: 5, failuresPerAddress: 20, windowMs: 60_000, maxTracked: 10_000, hashConcurrency: 2, hashQueue: 64 };

/** What a request offers as credentials (read by the HTTP layer). */
export interface OfferedCredentials {
  token?: string;
  basic?: { username: string; password: string };
  project?: string;
  /** The client's network address, for throttling failed logins. */
  client?: string;
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

function principalOf(user: UserConfig): Principal {
  return { id: user.name, tenant: user.tenant ?? user.name, operator: user.operator === true };
}

/** What the authenticator may be given besides its configuration (tests count password checks). */
export interface AuthenticatorOptions {
  verify?: (secret: string, stored: string) => Promise<boolean>;
  now?: () => number;
}

/** Builds the authenticator of a configuration. */
export function createAuthenticator(config: AuthConfig, options: AuthenticatorOptions = {}): Authenticator {
  const now = options.now ?? Date.now;
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
    const verify = options.verify ?? verifySecret;
    const byName = new Map(config.users.filter((u) => u.password).map((u) => [u.name, u]));
    // An unknown user's password is checked against a decoy as costly as the dearest real one,
    // so that the work (and the time) does not tell whether the user exists.
    const decoy = decoySecret(Math.max(...[...byName.values()].map((u) => costOf(u.password!) ?? 0)));
    // scrypt is slow on purpose; a verified pair is remembered briefly so that each request does
    // not pay for it again. Only digests are kept, never the password.
    const verified = new ExpiringCache<Principal>(60_000, 10_000, now);
    const limits = config.throttle;
    const byUser = new FailureThrottle({ limit: limits.failuresPerUser, windowMs: limits.windowMs, maxTracked: limits.maxTracked }, now);
    const byAddress = new FailureThrottle({ limit: limits.failuresPerAddress, windowMs: limits.windowMs, maxTracked: limits.maxTracked }, now);
    const hashing = new WorkLimiter(limits.hashConcurrency, limits.hashQueue);
    return async (offered) => {
      if (!offered.basic) return refuse('this server needs HTTP Basic credentials');
      const key = digest(`${offered.basic.username}\u0000${offered.basic.password}`);
      const known = verified.get(key);
      if (known) return known;
      // Keys are digests: a client's names may be long, the table's entries stay small.
      const userKey = digest(offered.basic.username);
      const addressKey = offered.client ?? '';
      const wait = Math.max(byUser.retryAfter(userKey), byAddress.retryAfter(addressKey));
      if (wait > 0) throw new TooManyRequestsError(`too many failed logins for this user or from this address; retry in ${wait} s`, wait);
      const user = byName.get(offered.basic.username);
      const password = offered.basic.password;
      const matches = await hashing.run(() => verify(password, user?.password ?? decoy));
      if (!user || !matches) {
        byUser.fail(userKey);
        byAddress.fail(addressKey);
        return refuse('the user name or password is not valid');
      }
      byUser.clear(userKey);
      byAddress.clear(addressKey);
      const principal = principalOf(user);
      verified.set(key, principal);
      return principal;
    };
  }

  const keystone = config.keystone!;
  type Identity = { user: string; projects: string[]; defaultTenant: string; operator: boolean };
  // Refusals are remembered too (briefly): a client repeating a bad token must not make every
  // request a call to the identity service. They have a table of their own, so that a flood of
  // made-up tokens cannot push accepted ones out. Concurrent requests with one token share one call.
  const cache = new ExpiringCache<Identity>(keystone.cacheTtlMs, keystone.cacheMax, now);
  const refusals = new ExpiringCache<{ refused: string }>(keystone.refusalTtlMs, keystone.cacheMax, now);
  const pending = new Map<string, Promise<Identity | { refused: string }>>();
  const ask = async (token: string): Promise<Identity | { refused: string }> => {
    let response: Response;
    try {
      response = await fetch(`${keystone.url.replace(/\/+$/, '')}/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ auth: { token: { id: token } } }),
        signal: AbortSignal.timeout(keystone.timeoutMs),
      });
    } catch (err) {
      throw new OcciError('backend-unavailable', `the identity service at ${keystone.url} cannot be reached`, { cause: err });
    }
    if (response.status === 401 || response.status === 404 || response.status === 400) return { refused: 'the identity service does not accept this token' };
    if (!response.ok) throw new OcciError('backend-unavailable', `the identity service answered ${response.status}`);
    const body = (await response.json()) as {
      access?: { token?: { tenant?: { id?: string } }; user?: { id?: string; name?: string; roles?: { name?: string }[]; projects?: string[] } };
    };
    const user = body.access?.user;
    if (!user?.id) return { refused: 'the identity service answered without a user' };
    const roles = (user.roles ?? []).map((r) => r.name ?? '');
    return {
      user: user.name ?? user.id,
      projects: user.projects ?? [],
      defaultTenant: body.access?.token?.tenant?.id ?? user.id,
      operator: roles.some((r) => keystone.operatorRoles.includes(r)),
    };
  };
  return async (offered) => {
    if (!offered.token) return refuse('this server needs a Keystone token (X-Auth-Token)');
    const key = digest(offered.token);
    let identity: Identity | { refused: string } | undefined = cache.get(key) ?? refusals.get(key);
    if (!identity) {
      let asking = pending.get(key);
      if (!asking) {
        asking = ask(offered.token).then((answer) => {
          if ('refused' in answer) refusals.set(key, answer);
          else cache.set(key, answer);
          return answer;
        });
        pending.set(key, asking);
        // A failure (identity service down) is not remembered: the next request asks again.
        void asking.finally(() => pending.delete(key)).catch(() => undefined);
      }
      identity = await asking;
    }
    if ('refused' in identity) return refuse(identity.refused);
    // A project the user belongs to may be chosen per request (X-Project-Id), as in Cyclades.
    const tenant = offered.project && (identity.projects.includes(offered.project) || offered.project === identity.defaultTenant) ? offered.project : identity.defaultTenant;
    return { id: identity.user, tenant, operator: identity.operator };
  };
}
