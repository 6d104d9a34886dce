/**
 * @module The `remote` backend (federation): another OCCI endpoint, e.g. a second ocni, receives
 * every operation in OCCI 1.2 JSON at the same path, and what it answers (state, attributes) comes
 * back as the outcome. Its failures become 502 (unreachable or failing), 504 (too slow), or the
 * 4xx it gave, with its message.
 */
import type { BackendConfig } from '../../config.ts';
import type { AttributeValue } from '../../model/category.ts';
import { idOf, type Entity } from '../../model/entity.ts';
import { ConfigError, OcciError } from '../../errors.ts';
import { codeForUpstreamStatus } from '../upstream-status.ts';
import type { Backend, BackendContext, BackendDeps, BackendOutcome } from '../backend.ts';

/** The backend type name used in configuration. */
export const REMOTE_BACKEND = 'remote';

/** Options of a remote backend. */
export interface RemoteOptions {
  /** Base URL of the other OCCI endpoint, e.g. `http://127.0.0.1:8091`. */
  url: string;
  timeoutMs: number;
  /** A token sent as `X-Auth-Token`, or HTTP Basic credentials, for the remote endpoint. */
  token?: string;
  username?: string;
  password?: string;
  /** Forward the client's own credentials instead (single sign-on across federated servers). */
  forwardCredentials: boolean;
}

function options(config: BackendConfig): RemoteOptions {
  const name = `[remote] backend "${config.name}"`;
  if (typeof config.url !== 'string') throw new ConfigError(`${name}: missing required option "url"`);
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new ConfigError(`${name}: option "url" is not a URL: ${config.url}`);
  }
  if (!['http:', 'https:'].includes(url.protocol)) throw new ConfigError(`${name}: option "url" must be http(s)`);
  const timeoutMs = config.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || timeoutMs < 100) throw new ConfigError(`${name}: option "timeoutMs" must be a number of at least 100`);
  const out: RemoteOptions = { url: url.toString().replace(/\/+$/, ''), timeoutMs, forwardCredentials: config.forwardCredentials === true };
  for (const key of ['token', 'username', 'password'] as const) {
    const value = config[key];
    if (value !== undefined && typeof value !== 'string') throw new ConfigError(`${name}: option "${key}" must be a string`);
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

type Json = Record<string, unknown>;

/** The OCCI 1.2 JSON rendering sent to the remote endpoint (paths, not this server's URLs). */
function rendering(entity: Entity): Json {
  const body: Json = { kind: entity.kind, mixins: entity.mixins, attributes: entity.attributes, id: idOf(entity.location) };
  if (entity.title !== undefined) body.title = entity.title;
  if (entity.summary !== undefined) body.summary = entity.summary;
  if (entity.source !== undefined) {
    body.source = { location: entity.source };
    body.target = { location: entity.target!, ...(entity.targetKind ? { kind: entity.targetKind } : {}) };
  }
  return body;
}

/**
 * The attributes a remote rendering reports. Core attributes (`occi.core.*`, which GFD.226
 * renderings repeat inside `attributes`) are the entity's members, not attributes to store.
 */
function outcomeOf(body: unknown): BackendOutcome {
  const attributes = (body as { attributes?: Record<string, AttributeValue> } | undefined)?.attributes;
  if (!attributes) return {};
  return { attributes: Object.fromEntries(Object.entries(attributes).filter(([name]) => !name.startsWith('occi.core.'))) };
}

/** Creates a remote backend; bad options stop start-up with a ConfigError naming the backend. */
export function createRemoteBackend(config: BackendConfig, _deps: BackendDeps): Backend {
  const opts = options(config);

  async function send(method: string, path: string, ctx: BackendContext, body?: Json): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/occi+json', 'x-request-id': ctx.requestId };
    if (body !== undefined) headers['content-type'] = 'application/occi+json';
    if (opts.forwardCredentials) {
      if (ctx.credentials.token) headers['x-auth-token'] = ctx.credentials.token;
      else if (ctx.credentials.authorization) headers.authorization = ctx.credentials.authorization;
    } else if (opts.token) headers['x-auth-token'] = opts.token;
    else if (opts.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    let response: Response;
    try {
      response = await fetch(opts.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') throw new OcciError('backend-timeout', `remote provider ${config.name} did not answer ${method} ${path} within ${opts.timeoutMs} ms`, { cause: err });
      throw new OcciError('backend-failed', `remote provider ${config.name} cannot be reached (${(e.cause as Error | undefined)?.message ?? e.message})`, { cause: err });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.status >= 400 && !(response.status === 404 && method === 'DELETE')) {
      const detail = (parsed as { detail?: unknown } | undefined)?.detail;
      const message = typeof detail === 'string' ? detail : `${response.status} ${response.statusText}`;
      throw new OcciError(codeForUpstreamStatus(response.status), `remote provider ${config.name}: ${message}`);
    }
    return { status: response.status, body: parsed };
  }

  return {
    name: config.name,
    type: REMOTE_BACKEND,
    async create(entity, ctx) {
      return outcomeOf((await send('PUT', entity.location, ctx, rendering(entity))).body);
    },
    async retrieve(entity, ctx) {
      try {
        return outcomeOf((await send('GET', entity.location, ctx)).body);
      } catch (err) {
        if (err instanceof OcciError && err.code === 'not-found') return 'gone';
        throw err;
      }
    },
    async update(before, after, ctx) {
      const changed: Record<string, AttributeValue | null> = {};
      for (const [name, value] of Object.entries(after.attributes)) if (JSON.stringify(before.attributes[name]) !== JSON.stringify(value)) changed[name] = value;
      for (const name of Object.keys(before.attributes)) if (!(name in after.attributes)) changed[name] = null;
      const body: Json = { attributes: changed, mixins: after.mixins.filter((m) => !before.mixins.includes(m)) };
      if (after.title !== before.title) body.title = after.title ?? null;
      if (after.summary !== before.summary) body.summary = after.summary ?? null;
      // Removed mixins cannot be expressed in a partial update; the whole rendering replaces them.
      const removedMixin = before.mixins.some((m) => !after.mixins.includes(m));
      return outcomeOf((await send(removedMixin ? 'PUT' : 'POST', after.location, ctx, removedMixin ? rendering(after) : body)).body);
    },
    async replace(_before, after, ctx) {
      return outcomeOf((await send('PUT', after.location, ctx, rendering(after))).body);
    },
    async delete(entity, ctx) {
      await send('DELETE', entity.location, ctx);
    },
    async action(entity, actionId, parameters, ctx) {
      const term = actionId.slice(actionId.indexOf('#') + 1);
      return outcomeOf((await send('POST', `${entity.location}?action=${encodeURIComponent(term)}`, ctx, { action: actionId, attributes: parameters })).body);
    },
  };
}
