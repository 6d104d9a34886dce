/**
 * @module Configuration: `config/default.json`, the file named by `OCNI_CONFIG` merged over it, then
 * the environment (`OCNI_PORT`, `OCNI_HOST`, `OCNI_DATA_DIR`, `OCNI_PUBLIC_URL`, `COUCHDB_URL`,
 * `COUCHDB_USER`, `COUCHDB_PASSWORD`, `OCNI_LOG_LEVEL`). The result is checked once; a bad configuration is a {@link ConfigError}.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { ConfigError } from './errors.ts';
import { DEFAULT_THROTTLE, type AuthConfig } from './auth/authenticate.ts';
import { isHashedSecret } from './auth/secrets.ts';

/** A backend declared in the configuration and picked by kinds' providers. */
export interface BackendConfig {
  name: string;
  type: string;
  [option: string]: unknown;
}

/** The whole, checked configuration. */
export interface Config {
  host: string;
  port: number;
  /** Base URL used in rendered locations; null renders from the request's Host. */
  publicUrl: string | null;
  dataDir: string;
  couchdb: {
    /** External CouchDB 3.x; null starts the embedded CouchDB-compatible store. */
    url: string | null;
    /**
     * CouchDB credentials given apart from the URL (any characters: they are percent-encoded into
     * it, so a password with `@`, `/` or `#` cannot break the URL); they replace the URL's own.
     */
    username?: string | null;
    password?: string | null;
    dbPrefix: string;
    requestTimeoutMs: number;
    /**
     * The embedded store only: `synced` (default) acknowledges a write once LevelDB synced it to
     * disk, so it survives an OS crash or power loss; `relaxed` once it is in the OS's cache
     * (faster, but the last writes before a crash of the machine may be lost).
     */
    embeddedDurability?: 'synced' | 'relaxed';
    /**
     * The embedded store only: the bound of its process's JavaScript heap in MiB (256 by default).
     * A store that needs more than that dies out of memory and is restarted (logged); raise it then.
     */
    embeddedHeapMb?: number;
  };
  limits: {
    bodyBytes: number;
    itemsPerRequest: number;
    pageSizeMax: number;
    pageSizeDefault: number;
    /** Largest request head (request line and headers) Node accepts; 431 above it. */
    headerBytes: number;
    /** Longest attribute value, as JSON text. */
    attributeValueBytes: number;
    /** Most conditions one filter may hold (descriptions × fields, query parameters). */
    filterTerms: number;
    /** Most mixins (tags) one user tenant may own. */
    tagsPerTenant: number;
    /** Most entities one user tenant may own. */
    entitiesPerTenant: number;
    /** Largest category (kind, mixin, action) as JSON text. */
    categoryBytes: number;
    /** Longest chain of parents (kinds) or depends (mixins). */
    categoryDepth: number;
    /** Largest attribute pattern as JSON text. */
    patternBytes: number;
    /** Most regular expressions in one attribute pattern. */
    patternRegexes: number;
    /** Most bytes one request may make the store hold (entities as JSON, defaults included). */
    storedBytesPerRequest: number;
    /** Entities a category migration rewrites per batch (progress is saved after each). */
    migrationBatch?: number;
    /** Pause between migration batches, leaving the store room for requests. */
    migrationPauseMs?: number;
  };
  auth: AuthConfig;
  health: {
    /** Readiness fails when a changes-feed follower is further behind than this. */
    feedLagMaxMs: number;
    /** Bound of readiness's store ping (shorter than `couchdb.requestTimeoutMs`). */
    storeTimeoutMs: number;
  };
  metrics: {
    /** With `auth.mode` `none`: who may read `/metrics` (`loopback` callers only, or `any`). */
    withoutAuth: 'loopback' | 'any';
  };
  watch: {
    /** Interval of SSE comment lines that keep idle change streams (and proxies) alive. */
    heartbeatMs: number;
    /** Open change streams one caller may hold; 429 beyond. */
    maxStreamsPerCaller: number;
    /** Changes a resumed stream may replay (`Last-Event-ID`); beyond, the stream says `expired`. */
    replayMax: number;
  };
  /** The in-process read cache of GET of one entity (see src/store/entity-read-cache.ts). */
  readCache: {
    /** Most entities held; 0 turns it off. */
    entities: number;
    /** Most bytes held (the cached documents as JSON). */
    bytes: number;
  };
  /** The members of listed collections, held in memory (see src/store/member-index.ts); needs the read cache. */
  listCache: {
    /** Most member ids held over every collection; 0 turns it off. */
    ids: number;
  };
  log: {
    level: string;
    /** null = pretty in a terminal, JSON otherwise. */
    pretty: boolean | null;
  };
  render: {
    /** Default application/occi+json output: OCCI 1.2 exactly, with ocni's extensions, or pyOCNI's shapes. */
    jsonProfile: 'occi' | 'ocni' | 'pyocni';
  };
  /**
   * Category files (OCCI JSON, paths relative to the working directory) added once to a new store,
   * e.g. example OS templates; operators may change or delete them afterwards and they do not return.
   */
  seedCategories: string[];
  backends: BackendConfig[];
  defaultProvider: { local: string[]; remote: string[] };
}

const DEFAULT_CONFIG_URL = new URL('../config/default.json', import.meta.url);

const CONFIG_SCHEMA = {
  type: 'object',
  required: ['host', 'port', 'dataDir', 'couchdb', 'limits', 'log', 'render', 'seedCategories', 'auth', 'backends', 'defaultProvider'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    publicUrl: { type: ['string', 'null'], pattern: '^https?://[^/]+' },
    dataDir: { type: 'string', minLength: 1 },
    couchdb: {
      type: 'object',
      required: ['dbPrefix', 'requestTimeoutMs'],
      properties: {
        url: { type: ['string', 'null'], pattern: '^https?://' },
        username: { type: ['string', 'null'] },
        password: { type: ['string', 'null'] },
        dbPrefix: { type: 'string', pattern: '^[a-z][a-z0-9_$()+/-]*$' },
        requestTimeoutMs: { type: 'integer', minimum: 100 },
        embeddedDurability: { enum: ['synced', 'relaxed'] },
        embeddedHeapMb: { type: 'integer', minimum: 64 },
      },
    },
    limits: {
      type: 'object',
      properties: {
        bodyBytes: { type: 'integer', minimum: 1024 },
        itemsPerRequest: { type: 'integer', minimum: 1 },
        pageSizeMax: { type: 'integer', minimum: 1 },
        pageSizeDefault: { type: 'integer', minimum: 1 },
        headerBytes: { type: 'integer', minimum: 1024 },
        attributeValueBytes: { type: 'integer', minimum: 16 },
        filterTerms: { type: 'integer', minimum: 1 },
        tagsPerTenant: { type: 'integer', minimum: 0 },
        entitiesPerTenant: { type: 'integer', minimum: 0 },
        categoryBytes: { type: 'integer', minimum: 1024 },
        categoryDepth: { type: 'integer', minimum: 3 },
        patternBytes: { type: 'integer', minimum: 64 },
        patternRegexes: { type: 'integer', minimum: 1 },
        storedBytesPerRequest: { type: 'integer', minimum: 1024 },
        migrationBatch: { type: 'integer', minimum: 1, maximum: 5000 },
        migrationPauseMs: { type: 'integer', minimum: 0, maximum: 60000 },
      },
    },
    auth: {
      type: 'object',
      required: ['mode', 'realm', 'users'],
      properties: {
        mode: { enum: ['none', 'static', 'basic', 'keystone'] },
        realm: { type: 'string', pattern: '^[^"\\\\]+$' },
        users: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1, pattern: '^[^:]+$' },
              tenant: { type: 'string', minLength: 1 },
              operator: { type: 'boolean' },
              token: { type: 'string', pattern: '^sha256\\$[0-9a-f]{64}$' },
              password: { type: 'string', pattern: '^scrypt\\$' },
            },
          },
        },
        keystone: {
          type: 'object',
          required: ['url'],
          properties: {
            url: { type: 'string', pattern: '^https?://' },
            cacheTtlMs: { type: 'integer', minimum: 0 },
            refusalTtlMs: { type: 'integer', minimum: 0 },
            cacheMax: { type: 'integer', minimum: 1 },
            operatorRoles: { type: 'array', items: { type: 'string' } },
            timeoutMs: { type: 'integer', minimum: 100 },
          },
        },
        throttle: {
          type: 'object',
          additionalProperties: false,
          properties: {
            failuresPerUser: { type: 'integer', minimum: 1 },
            failuresPerAddress: { type: 'integer', minimum: 1 },
            windowMs: { type: 'integer', minimum: 1000 },
            maxTracked: { type: 'integer', minimum: 1 },
            hashConcurrency: { type: 'integer', minimum: 1 },
            hashQueue: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    health: {
      type: 'object',
      required: ['feedLagMaxMs', 'storeTimeoutMs'],
      properties: { feedLagMaxMs: { type: 'integer', minimum: 0 }, storeTimeoutMs: { type: 'integer', minimum: 50 } },
    },
    metrics: {
      type: 'object',
      required: ['withoutAuth'],
      properties: { withoutAuth: { enum: ['loopback', 'any'] } },
    },
    watch: {
      type: 'object',
      required: ['heartbeatMs', 'maxStreamsPerCaller', 'replayMax'],
      properties: {
        heartbeatMs: { type: 'integer', minimum: 100 },
        maxStreamsPerCaller: { type: 'integer', minimum: 1 },
        replayMax: { type: 'integer', minimum: 1 },
      },
    },
    readCache: {
      type: 'object',
      required: ['entities', 'bytes'],
      properties: { entities: { type: 'integer', minimum: 0 }, bytes: { type: 'integer', minimum: 0 } },
    },
    listCache: {
      type: 'object',
      required: ['ids'],
      properties: { ids: { type: 'integer', minimum: 0 } },
    },
    log: {
      type: 'object',
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        pretty: { type: ['boolean', 'null'] },
      },
    },
    render: {
      type: 'object',
      properties: { jsonProfile: { enum: ['occi', 'ocni', 'pyocni'] } },
    },
    seedCategories: { type: 'array', items: { type: 'string', minLength: 1 } },
    backends: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type'],
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }, type: { type: 'string' } },
      },
    },
    defaultProvider: {
      type: 'object',
      required: ['local', 'remote'],
      properties: {
        local: { type: 'array', items: { type: 'string' } },
        remote: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

type Json = { [key: string]: unknown };

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges `over` into `base`: objects merge key by key, everything else (arrays too) replaces. */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

function readJsonFile(path: string | URL, what: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${String(path)}: ${(err as Error).message}`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} ${String(path)} is not valid JSON: ${(err as Error).message}`, err);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`${what} ${String(path)} must hold a JSON object`);
  return parsed;
}

function envPort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`OCNI_PORT must be a port number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

/**
 * Builds the configuration from the default file, an optional override file and the environment.
 *
 * @param env - the environment to read (defaults to `process.env`)
 * @param overrides - extra settings merged last (used by tests)
 * @throws ConfigError when a file is unreadable or the result breaks the configuration schema
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Json = {}): Config {
  let merged = readJsonFile(DEFAULT_CONFIG_URL, 'default configuration');
  if (env.OCNI_CONFIG) merged = mergeConfig(merged, readJsonFile(env.OCNI_CONFIG, 'OCNI_CONFIG file'));
  const fromEnv: Json = {};
  if (env.OCNI_PORT !== undefined && env.OCNI_PORT !== '') fromEnv.port = envPort(env.OCNI_PORT);
  if (env.OCNI_HOST) fromEnv.host = env.OCNI_HOST;
  if (env.OCNI_DATA_DIR) fromEnv.dataDir = env.OCNI_DATA_DIR;
  if (env.OCNI_PUBLIC_URL) fromEnv.publicUrl = env.OCNI_PUBLIC_URL;
  const couchdb: Json = {};
  if (env.COUCHDB_URL) couchdb.url = env.COUCHDB_URL;
  if (env.COUCHDB_USER) couchdb.username = env.COUCHDB_USER;
  if (env.COUCHDB_PASSWORD) couchdb.password = env.COUCHDB_PASSWORD;
  if (Object.keys(couchdb).length > 0) fromEnv.couchdb = couchdb;
  if (env.OCNI_LOG_LEVEL) fromEnv.log = { level: env.OCNI_LOG_LEVEL };
  merged = mergeConfig(mergeConfig(merged, fromEnv), overrides);

  const ajv = new Ajv({ allErrors: false, strict: false });
  const validate = ajv.compile(CONFIG_SCHEMA);
  if (!validate(merged)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : '(root)';
    throw new ConfigError(`configuration ${where} ${first?.message ?? 'is invalid'}`);
  }
  const config = merged as unknown as Config;
  config.couchdb.url = withCredentials(config.couchdb);
  checkProviders(config);
  checkAuth(config.auth);
  return config;
}

function checkAuth(auth: AuthConfig): void {
  auth.throttle = { ...DEFAULT_THROTTLE, ...auth.throttle };
  if (auth.mode === 'keystone') {
    if (!auth.keystone) throw new ConfigError('auth.mode "keystone" needs auth.keystone.url (the Keystone v2 / Astakos identity URL)');
    const given: Partial<NonNullable<AuthConfig['keystone']>> & { url: string } = auth.keystone;
    auth.keystone = {
      url: given.url,
      cacheTtlMs: given.cacheTtlMs ?? 60_000,
      refusalTtlMs: given.refusalTtlMs ?? 10_000,
      cacheMax: given.cacheMax ?? 10_000,
      operatorRoles: given.operatorRoles ?? ['admin'],
      timeoutMs: given.timeoutMs ?? 5000,
    };
  }
  const names = new Set<string>();
  for (const user of auth.users) {
    if (names.has(user.name)) throw new ConfigError(`auth.users names "${user.name}" twice`);
    names.add(user.name);
    if (user.password !== undefined && !isHashedSecret(user.password)) throw new ConfigError(`auth.users "${user.name}": the password must be stored hashed (npm run hash-secret)`);
  }
  if (auth.mode === 'static' && !auth.users.some((u) => u.token)) throw new ConfigError('auth.mode "static" needs users with a token (npm run hash-secret -- --token <token>)');
  if (auth.mode === 'basic' && !auth.users.some((u) => u.password)) throw new ConfigError('auth.mode "basic" needs users with a password (npm run hash-secret -- <password>)');
}

function checkProviders(config: Config): void {
  const names = new Set<string>();
  for (const backend of config.backends) {
    if (names.has(backend.name)) throw new ConfigError(`backend name "${backend.name}" is declared twice`);
    names.add(backend.name);
  }
  for (const name of [...config.defaultProvider.local, ...config.defaultProvider.remote]) {
    if (!names.has(name)) throw new ConfigError(`defaultProvider names backend "${name}", which is not declared in backends`);
  }
}

/**
 * The CouchDB URL with the separately given user and password in it, percent-encoded (nano
 * decodes them again), so that no character of a password can change what the URL means.
 *
 * @throws ConfigError when credentials are given without a URL, or the URL does not parse
 */
export function withCredentials(couchdb: Config['couchdb']): string | null {
  const { url, username, password } = couchdb;
  if (!username && !password) return url;
  if (!url) throw new ConfigError('COUCHDB_USER / COUCHDB_PASSWORD (couchdb.username / couchdb.password) need COUCHDB_URL (couchdb.url) too');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('couchdb.url is not a valid URL');
  }
  // Encoded whole: the URL setters leave '%' alone, so '%20' in a password would read as a space.
  parsed.username = encodeURIComponent(username ?? '');
  parsed.password = encodeURIComponent(password ?? '');
  return parsed.toString().replace(/\/$/, '');
}

/** The CouchDB URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
