/**
 * @module Shared helpers for the simulator's own tests: start a simulator on 127.0.0.1:0 and talk
 * to it over real HTTP with `fetch`.
 */

import { DEMO_TOKEN, createCycladesSimulator, type CycladesSimulator, type CycladesSimulatorOptions } from './simulator.ts';

/** A decoded response. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: T;
}

/** Options of one API call. */
export interface CallOptions {
  /** Token to send; `null` sends none. Defaults to the demo token. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Sent verbatim instead of `JSON.stringify(body)`. */
  rawBody?: string;
}

/** A running simulator plus HTTP helpers. */
export interface Harness {
  sim: CycladesSimulator;
  url: string;
  /** Calls an API path (e.g. `/compute/v2.0/servers`). */
  call<T = unknown>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<ApiResponse<T>>;
  /** Calls the control API (`/_sim/...`). */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** Starts a simulator (manual clock unless told otherwise) on a free port. */
export async function startHarness(options: CycladesSimulatorOptions = {}): Promise<Harness> {
  const sim = createCycladesSimulator({ mode: 'manual', ...options });
  const listening = await sim.listen(0);
  const call = async <T>(method: string, path: string, body?: unknown, callOptions: CallOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...callOptions.headers };
    const token = callOptions.token === undefined ? DEMO_TOKEN : callOptions.token;
    if (token !== null) headers['X-Auth-Token'] = token;
    // Bytes rather than a string, so fetch adds no Content-Type of its own.
    let payload: Uint8Array | undefined = callOptions.rawBody === undefined ? undefined : new TextEncoder().encode(callOptions.rawBody);
    if (payload === undefined && body !== undefined) {
      payload = new TextEncoder().encode(JSON.stringify(body));
      headers['Content-Type'] ??= 'application/json';
    }
    const response = await fetch(`${listening.url}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  };
  return {
    sim,
    url: listening.url,
    call,
    control: (method, path, body) => call(method, path, body, { token: null }),
    close: () => listening.close(),
  };
}

/** The parts of a server the tests read. */
export interface ServerBody {
  id: number;
  name: string;
  status: string;
  'SNF:task_state': string;
  progress: number;
  adminPass?: string;
  tenant_id: string;
  user_id: string;
  deleted: boolean;
  flavor: { id: number };
  image: { id: string };
  volumes: number[];
  suspended: boolean;
  attachments: Array<{ id: number; network_id: string; mac_address: string; ipv4: string; 'OS-EXT-IPS:type'?: string }>;
  addresses: Record<string, Array<{ version: number; addr: string; 'OS-EXT-IPS:type': string }>>;
  'SNF:fqdn': string;
}

/** A Cyclades fault body. */
export type FaultBody = Record<string, { code: number; message: string; details: string }>;

/** Posts `POST /servers` for a NIC-less server (flavor 1, Debian), with `extra` fields merged in. */
export async function createServer(harness: Harness, extra: Record<string, unknown> = {}, token?: string): Promise<ApiResponse<{ server: ServerBody }>> {
  return harness.call<{ server: ServerBody }>(
    'POST',
    '/compute/v2.0/servers',
    { server: { name: 'vm', imageRef: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', flavorRef: 1, networks: [], ...extra } },
    token === undefined ? {} : { token },
  );
}

/** Fetches a server. */
export async function getServer(harness: Harness, id: number, token?: string): Promise<ServerBody> {
  const response = await harness.call<{ server: ServerBody }>('GET', `/compute/v2.0/servers/${id}`, undefined, token === undefined ? {} : { token });
  if (response.status !== 200) throw new Error(`GET server ${id}: ${response.status} ${response.text}`);
  return response.body.server;
}

/** Creates a server and runs its build to ACTIVE. */
export async function activeServer(harness: Harness, extra: Record<string, unknown> = {}): Promise<ServerBody> {
  const created = await createServer(harness, extra);
  if (created.status !== 202) throw new Error(`create server: ${created.status} ${created.text}`);
  await harness.control('POST', '/_sim/settle');
  return getServer(harness, created.body.server.id);
}

/** Posts a server action. */
export function action(harness: Harness, id: number, body: unknown): Promise<ApiResponse<FaultBody>> {
  return harness.call<FaultBody>('POST', `/compute/v2.0/servers/${id}/action`, body);
}
