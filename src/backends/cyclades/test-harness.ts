/**
 * @module Test support for the Cyclades backend's tests: a simulator on 127.0.0.1 (manual
 * clock), a backend pointed at its identity URL, a controllable cache clock, and helpers to read
 * the simulator's request log and build entities. Not used by the server itself.
 */
import type { AttributeValue } from '../../model/category.ts';
import type { Entity } from '../../model/entity.ts';
import { createCycladesSimulator, DEMO_TOKEN, type CycladesSimulator, type CycladesSimulatorOptions } from '../../../test/cyclades-sim/simulator.ts';
import type { BackendContext } from '../backend.ts';
import { createCycladesBackend, type CycladesBackend } from './cyclades-backend.ts';
import { COMPUTE_KIND } from './ids.ts';
import { osTplScheme, resourceTplScheme } from './templates.ts';

/** One logged simulator request. */
export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
}

/** A running simulator with a backend on it. */
export interface Harness {
  sim: CycladesSimulator;
  url: string;
  identityUrl: string;
  backend: CycladesBackend;
  /** The cache clock; move it with `tick`. */
  tick(ms: number): void;
  /** Warnings the backend logged. */
  warnings: { message: string; detail?: Record<string, unknown> }[];
  /** A context with the demo token (or another), optionally a chosen project. */
  ctx(token?: string, project?: string): BackendContext;
  /** Calls the control API. */
  control(method: string, path: string, body?: unknown): Promise<unknown>;
  /** The request log, optionally filtered (`pathRegex` on the path), then cleared when `clear`. */
  requests(filter?: { method?: string; pathRegex?: string }): Promise<LoggedRequest[]>;
  clearRequests(): Promise<void>;
  close(): Promise<void>;
}

/** The backend name the tests use. */
export const BACKEND_NAME = 'okeanos';

/** Starts a simulator and a backend on it; `options` are extra backend options. */
export async function startHarness(options: Record<string, unknown> = {}, simOptions: CycladesSimulatorOptions = {}): Promise<Harness> {
  const sim = createCycladesSimulator({ mode: 'manual', ...simOptions });
  const listening = await sim.listen(0);
  let clock = 1_000_000;
  const warnings: Harness['warnings'] = [];
  const backend = createCycladesBackend(
    { name: BACKEND_NAME, type: 'cyclades', identityUrl: listening.identityUrl, timeoutMs: 2000, jobPollMs: 20, ...options },
    { warn: (message, detail) => void warnings.push(detail === undefined ? { message } : { message, detail }) },
    { now: () => clock },
  );
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${listening.url}${path}`, body === undefined ? { method } : { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const parsed: unknown = await response.json();
    if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
    return parsed;
  };
  return {
    sim,
    url: listening.url,
    identityUrl: listening.identityUrl,
    backend,
    warnings,
    tick: (ms) => {
      clock += ms;
    },
    ctx: (token = DEMO_TOKEN, project) => ({ credentials: project === undefined ? { token } : { token, project }, requestId: 'test', baseUrl: 'http://ocni.test' }),
    control,
    async requests(filter = {}) {
      const query = new URLSearchParams();
      if (filter.method !== undefined) query.set('method', filter.method);
      if (filter.pathRegex !== undefined) query.set('pathRegex', filter.pathRegex);
      const body = (await control('GET', `/_sim/requests?${query.toString()}`)) as { requests: LoggedRequest[] };
      return body.requests;
    },
    async clearRequests() {
      await control('DELETE', '/_sim/requests');
    },
    close: () => listening.close(),
  };
}

/** The os_tpl mixin id of an image. */
export function osTpl(imageId: string): string {
  return `${osTplScheme(BACKEND_NAME)}${imageId}`;
}

/** The resource_tpl mixin id of a flavor. */
export function resourceTpl(flavorId: number | string): string {
  return `${resourceTplScheme(BACKEND_NAME)}${String(flavorId)}`;
}

/** A compute entity as the entity service would pass it. */
export function computeEntity(mixins: string[], extra: { title?: string; attributes?: Record<string, AttributeValue>; location?: string } = {}): Entity {
  const entity: Entity = {
    location: extra.location ?? '/compute/0190f0e0a1b2-new',
    kind: COMPUTE_KIND,
    mixins,
    attributes: { 'occi.compute.state': 'inactive', 'occi.compute.architecture': 'x64', ...extra.attributes },
  };
  if (extra.title !== undefined) entity.title = extra.title;
  return entity;
}

/** An entity moved to the location the backend's id gives it. */
export function at(entity: Entity, id: string | undefined): Entity {
  if (id === undefined) throw new Error('the backend gave no id');
  return { ...entity, location: entity.location.slice(0, entity.location.lastIndexOf('/') + 1) + id };
}
