/**
 * @module The options of a `cyclades` backend, read from its configuration entry and checked at
 * start-up: a bad one stops the server with a ConfigError naming the backend.
 */
import type { BackendConfig } from '../../config.ts';
import { ConfigError } from '../../errors.ts';

/** What `POST /servers` says about networks when the compute has none of its own. */
export type ServerNetworks = 'default' | 'none';

/** The checked options. */
export interface CycladesOptions {
  /** The Astakos identity endpoint (`https://accounts.example.org/identity/v2.0`); everything else is discovered. */
  identityUrl: string;
  /** Timeout of each Cyclades request, in ms (default 10000). */
  timeoutMs: number;
  /** How long the images and flavors of a token are reused, in ms (default 300000, 5 minutes). */
  templateTtlMs: number;
  /** The volume type of new storage; default: the first detachable type Cyclades lists. */
  volumeType: string | undefined;
  /**
   * `default` (the default) leaves `networks` out of `POST /servers`, so the deployment's
   * `CYCLADES_DEFAULT_SERVER_NETWORKS` applies (§5 item 4); `none` sends `networks: []` (a server
   * without NICs until networkinterface links are added).
   */
  serverNetworks: ServerNetworks;
  /** How often a pending Cyclades job is looked at while the bridge waits for it, in ms (default 1000). */
  jobPollMs: number;
  /**
   * Keep the floating IPs ocni allocated when their interface (or compute) goes (default false:
   * they are released, so the user's floating-IP quota is not held by addresses nothing uses).
   */
  keepFloatingIps: boolean;
}

const KNOWN = new Set(['name', 'type', 'identityUrl', 'timeoutMs', 'templateTtlMs', 'volumeType', 'serverNetworks', 'jobPollMs', 'keepFloatingIps']);

/** Default request timeout. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default interval between looks at a pending job. */
export const DEFAULT_JOB_POLL_MS = 1000;
/** Default template refresh period. */
export const DEFAULT_TEMPLATE_TTL_MS = 5 * 60_000;

/**
 * Reads and checks the options of one backend entry.
 *
 * @throws ConfigError `[cyclades] backend "<name>": ...` for a missing, unknown or invalid option
 */
export function parseCycladesOptions(config: BackendConfig): CycladesOptions {
  const fail = (message: string): never => {
    throw new ConfigError(`[cyclades] backend "${config.name}": ${message}`);
  };
  for (const key of Object.keys(config)) if (!KNOWN.has(key)) fail(`unknown option "${key}" (known: ${[...KNOWN].filter((k) => k !== 'name' && k !== 'type').join(', ')})`);

  const identityUrl = config['identityUrl'];
  if (identityUrl === undefined || identityUrl === null || identityUrl === '') return fail('missing required option "identityUrl"');
  if (typeof identityUrl !== 'string' || !/^https?:\/\/[^/]+/.test(identityUrl)) return fail(`option "identityUrl" must be an http(s) URL, not ${JSON.stringify(identityUrl)}`);
  try {
    new URL(identityUrl);
  } catch {
    return fail(`option "identityUrl" must be an http(s) URL, not ${JSON.stringify(identityUrl)}`);
  }

  const positive = (key: string, fallback: number, allowZero: boolean): number => {
    const value = config[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1))
      return fail(`option "${key}" must be ${allowZero ? 'a non-negative' : 'a positive'} integer (ms), not ${JSON.stringify(value)}`);
    return value;
  };
  const timeoutMs = positive('timeoutMs', DEFAULT_TIMEOUT_MS, false);
  const templateTtlMs = positive('templateTtlMs', DEFAULT_TEMPLATE_TTL_MS, true);
  const jobPollMs = positive('jobPollMs', DEFAULT_JOB_POLL_MS, false);
  const keep = config['keepFloatingIps'] ?? false;
  if (typeof keep !== 'boolean') fail(`option "keepFloatingIps" must be true or false, not ${JSON.stringify(keep)}`);

  const rawType = config['volumeType'];
  let volumeType: string | undefined;
  if (rawType !== undefined) {
    if ((typeof rawType === 'number' && Number.isInteger(rawType) && rawType > 0) || (typeof rawType === 'string' && /^\d+$/.test(rawType))) volumeType = String(rawType);
    else fail(`option "volumeType" must be a volume type id (a positive integer), not ${JSON.stringify(rawType)}`);
  }

  const rawNetworks = config['serverNetworks'] ?? 'default';
  if (rawNetworks !== 'default' && rawNetworks !== 'none') fail(`option "serverNetworks" must be "default" or "none", not ${JSON.stringify(rawNetworks)}`);

  return { identityUrl, timeoutMs, templateTtlMs, volumeType, serverNetworks: rawNetworks === 'none' ? 'none' : 'default', jobPollMs, keepFloatingIps: keep === true };
}
