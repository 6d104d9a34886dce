/**
 * @module The simulator-only control API under `/_sim` (§4.1 of `cyclades-api.md`): reset, clock,
 * failure and fault injection, latency, state dump, request log, and run-time tweaks of timings,
 * deployment settings, quotas, users, servers, images and flavors. No authentication; JSON in,
 * JSON out; errors are `{"error": "<message>"}`.
 */

import { STATUS_CODES } from 'node:http';
import { faultBody, faultNameFor } from './faults.ts';
import { isRecord, type SimResponse } from './http.ts';
import { QUOTA_RESOURCES, SYSTEM_IMAGES_OWNER, type QuotaResource, type SeedFlavor, type SeedImage, type SimTimings } from './seed.ts';
import { JOB_OPS } from './server-tasks.ts';
import type { SimState } from './state.ts';

/** Thrown for a bad control request; becomes `400 {"error"}`. */
class ControlError extends Error {}

function fail(message: string): never {
  throw new ControlError(message);
}

function body(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw) as unknown;
  } catch {
    return fail('body is not JSON');
  }
  if (!isRecord(parsed)) return fail('body must be a JSON object');
  return parsed;
}

function number(input: Record<string, unknown>, name: string, fallback?: number): number {
  const value = input[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`'${name}' must be a number`);
  return value;
}

function optionalText(input: Record<string, unknown>, name: string): string | null {
  const value = input[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return fail(`'${name}' must be a string`);
  return value;
}

function checkRegex(source: string): string {
  try {
    new RegExp(source);
  } catch {
    return fail(`invalid regular expression: ${source}`);
  }
  return source;
}

/** `count` of a rule: a positive number, or -1 / "unlimited" for a permanent rule. */
function count(input: Record<string, unknown>): number {
  const value = input['count'];
  if (value === undefined || value === null) return 1;
  if (value === -1 || value === 'unlimited') return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return fail('\'count\' must be a positive integer, -1 or "unlimited"');
  return value;
}

function status(state: SimState): Record<string, unknown> {
  return { mode: state.jobs.mode, now: new Date(state.now()).toISOString(), pending: state.jobs.pending().length };
}

/** The longest an answer may be held back (`hangMs`). */
const MAX_HANG_MS = 60_000;

function addFault(state: SimState, input: Record<string, unknown>): SimResponse {
  const code = number(input, 'status');
  if (!Number.isInteger(code) || code < 100 || code > 599) fail("'status' must be an HTTP status code");
  const pathRegex = checkRegex(optionalText(input, 'pathRegex') ?? '.*');
  const method = optionalText(input, 'method');
  const raw = input['body'];
  const isText = typeof raw === 'string';
  const headers = input['headers'];
  if (headers !== undefined && !isRecord(headers)) fail("'headers' must be an object");
  const after = input['after'] ?? false;
  if (typeof after !== 'boolean') fail("'after' must be a boolean");
  const hangMs = input['hangMs'] ?? 0;
  // Bounded so that a forgotten rule cannot keep a test (or the process) waiting.
  if (typeof hangMs !== 'number' || !Number.isInteger(hangMs) || hangMs < 0 || hangMs > MAX_HANG_MS) fail(`'hangMs' must be an integer from 0 to ${MAX_HANG_MS}`);
  const rule = state.injection.addFault({
    after: after === true || hangMs > 0,
    hangMs: hangMs,
    method: method === null ? null : method.toUpperCase(),
    pathRegex,
    status: code,
    body: raw === undefined ? faultBody(faultNameFor(code), code, STATUS_CODES[code] ?? 'Error') : raw,
    contentType: optionalText(input, 'contentType') ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=UTF-8'),
    headers: Object.fromEntries(Object.entries(headers ?? {}).map(([key, value]) => [key, String(value)])),
    remaining: count(input),
  });
  return { status: 200, json: { fault: { ...rule, remaining: Number.isFinite(rule.remaining) ? rule.remaining : 'unlimited' } } };
}

function addFailNext(state: SimState, input: Record<string, unknown>): SimResponse {
  const op = optionalText(input, 'op');
  if (op === null || !JOB_OPS.includes(op)) fail(`'op' must be one of ${JOB_OPS.join(', ')}`);
  const rawScope = input['scope'];
  let scope: string | null = null;
  if (typeof rawScope === 'number' || (typeof rawScope === 'string' && /^\d+$/.test(rawScope))) {
    scope = `${op === 'DELETE_VOLUME' ? 'volume' : 'server'}:${String(rawScope)}`;
  } else if (typeof rawScope === 'string') {
    scope = rawScope;
  } else if (rawScope !== undefined && rawScope !== null) {
    fail("'scope' must be an id or a 'server:<id>' / 'volume:<id>' string");
  }
  state.injection.addFailNext({ op, scope, remaining: count(input) });
  return { status: 200, json: { failNext: state.injection.info().failNext } };
}

function setTimings(state: SimState, input: Record<string, unknown>): SimResponse {
  const next: SimTimings = { ...state.timings };
  for (const [key, value] of Object.entries(input)) {
    if (!(key in next)) fail(`unknown timing '${key}'`);
    if (typeof value !== 'number' || value < 0) fail(`timing '${key}' must be a non-negative number`);
    next[key as keyof SimTimings] = value;
  }
  state.timings = next;
  return { status: 200, json: { timings: state.timings } };
}

function setConfig(state: SimState, input: Record<string, unknown>): SimResponse {
  const config = state.db.config;
  const stringList = (name: string): string[] => {
    const value = input[name];
    if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) return fail(`'${name}' must be a list of strings`);
    return value.map(String);
  };
  if ('hotplug' in input) {
    if (typeof input['hotplug'] !== 'boolean') fail("'hotplug' must be a boolean");
    config.hotplug = input['hotplug'] === true;
  }
  if ('defaultServerNetworks' in input) config.defaultServerNetworks = stringList('defaultServerNetworks');
  if ('apiEnabledNetworkTypes' in input) config.apiEnabledNetworkTypes = stringList('apiEnabledNetworkTypes');
  if ('fqdnTemplate' in input) config.fqdnTemplate = optionalText(input, 'fqdnTemplate') ?? config.fqdnTemplate;
  if ('deleteDuringBuild' in input) {
    const value = input['deleteDuringBuild'];
    if (value !== 'accept' && value !== 'conflict') fail("'deleteDuringBuild' must be 'accept' or 'conflict'");
    config.deleteDuringBuild = value === 'conflict' ? 'conflict' : 'accept';
  }
  return { status: 200, json: { config } };
}

function setQuota(state: SimState, input: Record<string, unknown>): SimResponse {
  const project = optionalText(input, 'project') ?? fail("'project' is required");
  const resource = optionalText(input, 'resource') ?? fail("'resource' is required");
  if (!(QUOTA_RESOURCES as readonly string[]).includes(resource)) fail(`'resource' must be one of ${QUOTA_RESOURCES.join(', ')}`);
  const limit = number(input, 'limit');
  const limits = (state.db.quotas[project] ??= {});
  limits[resource as QuotaResource] = limit;
  return { status: 200, json: { quotas: { [project]: limits } } };
}

function setUser(state: SimState, input: Record<string, unknown>): SimResponse {
  const token = optionalText(input, 'token');
  const uuid = optionalText(input, 'uuid');
  const user = state.db.users.find((candidate) => (token !== null && candidate.token === token) || (uuid !== null && candidate.uuid === uuid));
  if (user === undefined) return fail('no such user');
  if ('active' in input) {
    if (typeof input['active'] !== 'boolean') fail("'active' must be a boolean");
    user.active = input['active'] === true;
  }
  if ('tokenExpires' in input) user.tokenExpires = optionalText(input, 'tokenExpires') ?? user.tokenExpires;
  if ('tokenExpiresInMs' in input) user.tokenExpires = new Date(state.now() + number(input, 'tokenExpiresInMs')).toISOString();
  return { status: 200, json: { user } };
}

function setServer(state: SimState, input: Record<string, unknown>): SimResponse {
  const id = input['id'];
  const server = typeof id === 'number' || typeof id === 'string' ? state.db.servers[String(id)] : undefined;
  if (server === undefined) return fail('no such server');
  if ('suspended' in input) {
    if (typeof input['suspended'] !== 'boolean') fail("'suspended' must be a boolean");
    server.suspended = input['suspended'] === true;
    server.updated = state.now();
  }
  return { status: 200, json: { server } };
}

const IMAGE_STATUSES: readonly SeedImage['status'][] = ['ACTIVE', 'SAVING', 'ERROR', 'UNKNOWN'];

function flag(input: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = input[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') return fail(`'${name}' must be a boolean`);
  return value;
}

/** Adds, replaces (same id) or with `"deleted": true` removes an image, so catalog changes can be tested. */
function upsertImage(state: SimState, input: Record<string, unknown>): SimResponse {
  const id = optionalText(input, 'id') ?? fail("'id' is required");
  const existing = state.db.images.find((image) => image.id === id);
  if (input['deleted'] === true) {
    state.db.images = state.db.images.filter((image) => image.id !== id);
    return { status: 200, json: { images: state.db.images } };
  }
  const status = optionalText(input, 'status') ?? existing?.status ?? 'ACTIVE';
  const knownStatus = IMAGE_STATUSES.find((candidate) => candidate === status) ?? fail(`'status' must be one of ${IMAGE_STATUSES.join(', ')}`);
  const metadata = input['metadata'];
  if (metadata !== undefined && !isRecord(metadata)) fail("'metadata' must be an object");
  const image: SeedImage = {
    id,
    name: optionalText(input, 'name') ?? existing?.name ?? fail("'name' is required"),
    status: knownStatus,
    owner: optionalText(input, 'owner') ?? existing?.owner ?? SYSTEM_IMAGES_OWNER,
    public: flag(input, 'public', existing?.public ?? true),
    metadata: metadata === undefined ? { ...existing?.metadata } : Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, String(value)])),
    // A fresh timestamp makes the change visible to `changes-since`.
    created: new Date(state.now()).toISOString(),
  };
  state.db.images = [...state.db.images.filter((candidate) => candidate.id !== id), image];
  return { status: 200, json: { image } };
}

/** Adds, replaces (same id) or with `"deleted": true` removes a flavor no server uses. */
function upsertFlavor(state: SimState, input: Record<string, unknown>): SimResponse {
  const id = number(input, 'id');
  if (!Number.isInteger(id) || id < 1) fail("'id' must be a positive integer");
  const existing = state.db.flavors.find((flavor) => flavor.id === id);
  if (input['deleted'] === true) {
    if (Object.values(state.db.servers).some((server) => server.flavorId === id && !server.deleted)) fail(`flavor ${id} is used by a server`);
    state.db.flavors = state.db.flavors.filter((flavor) => flavor.id !== id);
    return { status: 200, json: { flavors: state.db.flavors } };
  }
  const access = input['access'];
  if (access !== undefined && (!Array.isArray(access) || !access.every((entry) => typeof entry === 'string'))) fail("'access' must be a list of project ids");
  const flavor: SeedFlavor = {
    id,
    name: optionalText(input, 'name') ?? existing?.name ?? fail("'name' is required"),
    vcpus: number(input, 'vcpus', existing?.vcpus),
    ram: number(input, 'ram', existing?.ram),
    disk: number(input, 'disk', existing?.disk),
    diskTemplate: optionalText(input, 'diskTemplate') ?? existing?.diskTemplate ?? 'ext_archipelago',
    volumeTypeId: number(input, 'volumeTypeId', existing?.volumeTypeId ?? 1),
    isPublic: flag(input, 'isPublic', existing?.isPublic ?? true),
    allowCreate: flag(input, 'allowCreate', existing?.allowCreate ?? true),
    access: Array.isArray(access) ? access.map(String) : [...(existing?.access ?? [])],
  };
  state.db.flavors = [...state.db.flavors.filter((candidate) => candidate.id !== id), flavor];
  return { status: 200, json: { flavor } };
}

function requestLog(state: SimState, query: URLSearchParams): SimResponse {
  const method = query.get('method')?.toUpperCase() ?? null;
  const pathRegex = query.get('pathRegex');
  const matcher = pathRegex === null ? null : new RegExp(checkRegex(pathRegex));
  const requests = state.requests.filter((entry) => (method === null || entry.method === method) && (matcher === null || matcher.test(entry.path)));
  return { status: 200, json: { requests } };
}

function dump(state: SimState): SimResponse {
  return {
    status: 200,
    json: {
      ...status(state),
      baseUrl: state.baseUrl,
      timings: state.timings,
      jobs: state.jobs.pending(),
      jobErrors: [...state.jobs.errors],
      injection: state.injection.info(),
      db: state.db,
    },
  };
}

/** Answers one `/_sim` request. */
export function handleControl(state: SimState, method: string, path: string, query: URLSearchParams, raw: string): SimResponse {
  try {
    const input = method === 'POST' ? body(raw) : {};
    const route = `${method} ${path.replace(/\/+$/, '')}`;
    switch (route) {
      case 'POST /_sim/reset':
        state.reset();
        return { status: 200, json: { reset: true, ...status(state) } };
      case 'POST /_sim/advance': {
        const ran = state.jobs.advance(number(input, 'ms'));
        return { status: 200, json: { ran, ...status(state) } };
      }
      case 'POST /_sim/settle': {
        const ran = state.jobs.settle();
        return { status: 200, json: { ran, ...status(state) } };
      }
      case 'POST /_sim/fail-next':
        return addFailNext(state, input);
      case 'POST /_sim/fault':
        return addFault(state, input);
      case 'DELETE /_sim/fault':
        state.injection.clearFaults();
        return { status: 200, json: { faults: [] } };
      case 'POST /_sim/latency': {
        const ms = number(input, 'ms');
        const pathRegex = optionalText(input, 'pathRegex');
        state.injection.setLatency({ ms: Math.max(0, ms), pathRegex: pathRegex === null ? null : checkRegex(pathRegex) });
        return { status: 200, json: { latency: state.injection.info().latency } };
      }
      case 'GET /_sim/state':
        return dump(state);
      case 'GET /_sim/requests':
        return requestLog(state, query);
      case 'DELETE /_sim/requests':
        state.requests = [];
        return { status: 200, json: { requests: [] } };
      case 'POST /_sim/timings':
        return setTimings(state, input);
      case 'POST /_sim/config':
        return setConfig(state, input);
      case 'POST /_sim/quota':
        return setQuota(state, input);
      case 'POST /_sim/user':
        return setUser(state, input);
      case 'POST /_sim/server':
        return setServer(state, input);
      case 'POST /_sim/image':
        return upsertImage(state, input);
      case 'POST /_sim/flavor':
        return upsertFlavor(state, input);
      default:
        return { status: 404, json: { error: `unknown control endpoint: ${route}` } };
    }
  } catch (error) {
    if (error instanceof ControlError) return { status: 400, json: { error: error.message } };
    throw error;
  }
}
