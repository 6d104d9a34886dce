/**
 * The CouchDB-protocol server stopped in the middle of a run: an embedded store of this file's own
 * (a child process on a loopback port), an ocni server on it, a stream of writes, then the store
 * stopped, replaced by a port that accepts connections and never answers, and restarted on the same
 * port and data folder. ocni must answer 503 with Retry-After quickly while the store is gone, keep
 * serving /-/ from memory, recover by itself, have lost no acknowledged write, and follow the
 * changes feed again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { startEmbeddedStore, type EmbeddedStore } from '../src/store/embedded/server.ts';
import { call, freshPrefix, startTestServer } from './support/harness.ts';
import { closeAgent, send, type WireResponse } from './robustness/http.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const SCHEME = 'http://example.com/faults#';
/** couchdb.requestTimeoutMs of the server under test. */
const TIMEOUT_MS = 1500;
/** A request that needs the store is answered within the timeout plus this. */
const MARGIN_MS = 1500;
/** No request may take longer than this, whatever happens. */
const HANG_MS = 5000;
/** How long ocni may take to serve store reads again once the store is back. */
const RECOVERY_MS = 15_000;
/** How long a category added through another process may take to show. */
const FEED_MS = 6000;
const MAX_WRITES = 400;

const prefix = freshPrefix('faults');
let dir: string;
let store: EmbeddedStore | undefined;
let storeUrl: string;
let port: number;
let server: RunningServer;
let other: RunningServer | undefined;
let blackHole: { server: NetServer; sockets: Set<Socket> } | undefined;

function serverOn(url: string): Promise<RunningServer> {
  // The harness spreads `overrides` over its own settings, so couchdb is given whole.
  return startTestServer({ prefix, overrides: { couchdb: { url, dbPrefix: prefix, requestTimeoutMs: TIMEOUT_MS } } });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ocni-faults-'));
  store = await startEmbeddedStore({ dataDir: dir });
  storeUrl = store.url;
  port = Number(new URL(storeUrl).port);
  server = await serverOn(storeUrl);
});

afterAll(async () => {
  stopWriter = true;
  await writing?.catch(() => undefined);
  closeAgent();
  await other?.close();
  await server?.close();
  await closeBlackHole();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// A stream of writes, running through every phase

type Phase = 'up' | 'stopped' | 'black hole' | 'restarted';
interface Attempt {
  what: 'entity' | 'category';
  /** Entity path, or category id. */
  id: string;
  phase: Phase;
  status: number;
  ms: number;
  retryAfter?: string;
  error?: string;
  text: string;
}

let phase: Phase = 'up';
let stopWriter = false;
let writing: Promise<void> | undefined;
const attempts: Attempt[] = [];

function request(method: string, path: string, body?: unknown, timeoutMs = HANG_MS): Promise<WireResponse> {
  const headers: [string, string][] = [['Accept', 'application/occi+json']];
  if (body !== undefined) headers.push(['Content-Type', 'application/occi+json']);
  return send(server.url, { method, target: path, headers, ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}) }, timeoutMs);
}

async function writer(): Promise<void> {
  for (let i = 0; i < MAX_WRITES && !stopWriter; i += 1) {
    const category = i % 3 === 2;
    const at = phase;
    const res = category
      ? await request('POST', '/-/', { mixins: [{ term: `m${i}`, scheme: SCHEME, title: `written while ${at}`, location: `/faults/m${i}/` }] })
      : await request('POST', '/compute/', { kind: COMPUTE, id: `w${i}`, attributes: { 'occi.compute.hostname': `w${i}` } });
    const attempt: Attempt = { what: category ? 'category' : 'entity', id: category ? `${SCHEME}m${i}` : `/compute/w${i}`, phase: at, status: res.status, ms: res.ms, text: res.text.slice(0, 300) };
    if (res.headers['retry-after'] !== undefined) attempt.retryAfter = res.headers['retry-after'];
    if (res.error) attempt.error = res.error;
    attempts.push(attempt);
    // Do not spin while the store is away.
    if (res.status < 200 || res.status >= 300) await sleep(100);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const acknowledged = () => attempts.filter((a) => a.status >= 200 && a.status < 300);

async function until(ms: number, what: string, probe: () => Promise<boolean> | boolean): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await probe()) return performance.now() - start;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** A port that accepts connections and never answers: a store that hangs. */
function openBlackHole(): Promise<void> {
  const sockets = new Set<Socket>();
  const hole = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  blackHole = { server: hole, sockets };
  return new Promise((resolve, reject) => {
    hole.once('error', reject);
    hole.listen(port, '127.0.0.1', () => resolve());
  });
}

async function closeBlackHole(): Promise<void> {
  if (!blackHole) return;
  const { server: hole, sockets } = blackHole;
  blackHole = undefined;
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => hole.close(() => resolve()));
}

/** What a request that needs the store must get while it is away. */
function unavailable(label: string, res: WireResponse): string[] {
  const out: string[] = [];
  const where = `${label}: ${res.error ? `no response (${res.error})` : `${res.status} in ${Math.round(res.ms)} ms ${res.text.slice(0, 200)}`}`;
  if (res.error) return [where];
  if (res.status !== 503) out.push(`${where} — expected 503`);
  if (!res.headers['retry-after']) out.push(`${where} — no Retry-After`);
  if (res.ms > TIMEOUT_MS + MARGIN_MS) out.push(`${where} — slower than ${TIMEOUT_MS} + ${MARGIN_MS} ms`);
  if (typeof (res.json as { detail?: unknown } | undefined)?.detail !== 'string') out.push(`${where} — no problem detail`);
  return out;
}

/** Requests that need the store, each paired with a label; none may change anything. */
function storeRequests(tag: string): [string, () => Promise<WireResponse>][] {
  return [
    ['GET an entity', () => request('GET', '/compute/w0')],
    ['GET a kind collection', () => request('GET', '/compute/')],
    ['GET below a path', () => request('GET', '/')],
    ['POST a new entity', () => request('POST', '/compute/', { kind: COMPUTE, id: `${tag}-new` })],
    ['PUT a new entity', () => request('PUT', `/compute/${tag}-put`, { kind: COMPUTE })],
    ['POST a partial update', () => request('POST', '/compute/w0', { attributes: { 'occi.compute.hostname': `changed-${tag}` } })],
    ['POST an action', () => request('POST', '/compute/w0?action=start')],
    ['DELETE an entity', () => request('DELETE', '/compute/w0')],
    ['POST /-/ a new mixin', () => request('POST', '/-/', { mixins: [{ term: `${tag}-mixin`, scheme: SCHEME, location: `/faults/${tag}-mixin/` }] })],
    ['PUT /-/ a mixin change', () => request('PUT', '/-/', { mixins: [{ term: 'm2', scheme: SCHEME, title: `changed-${tag}` }] })],
    ['DELETE /-/ a mixin', () => request('DELETE', '/-/', { mixins: [`${SCHEME}m2`] })],
  ];
}

async function categoryIds(base: string): Promise<string[]> {
  const res = await call(base, 'GET', '/-/');
  expect(res.status).toBe(200);
  const body = res.json as Record<string, { scheme: string; term: string }[]>;
  return Object.values(body)
    .flat()
    .map((c) => c.scheme + c.term)
    .sort();
}

async function categoriesAsSet(base: string): Promise<string> {
  const res = await call(base, 'GET', '/-/');
  const body = res.json as Record<string, { scheme: string; term: string }[]>;
  for (const key of Object.keys(body)) body[key] = [...(body[key] ?? [])].sort((a, b) => (a.scheme + a.term).localeCompare(b.scheme + b.term));
  return JSON.stringify(body);
}

describe('the store stopped mid-run', () => {
  it('acknowledges entity creations and category changes while the store is up', async () => {
    writing = writer();
    await until(10_000, '20 acknowledged writes', () => acknowledged().length >= 20);
    expect(
      attempts.every((a) => a.status >= 200 && a.status < 300),
      JSON.stringify(attempts.filter((a) => a.status >= 300)),
    ).toBe(true);
  });

  it('answers 503 with Retry-After, quickly, while the store is stopped, and still serves GET /-/ from memory', async () => {
    phase = 'stopped';
    await store!.close();
    store = undefined;
    const problems: string[] = [];
    for (const [label, run] of storeRequests('stopped')) problems.push(...unavailable(label, await run()));
    const categories = await request('GET', '/-/');
    expect(categories.status, categories.text.slice(0, 300)).toBe(200);
    expect(categories.ms).toBeLessThan(1000);
    expect(categories.text).not.toContain('stopped-mixin');
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('answers 503 within the request timeout while the store accepts connections but never answers', async () => {
    phase = 'black hole';
    await openBlackHole();
    try {
      const problems: string[] = [];
      for (const [label, run] of storeRequests('hole')) problems.push(...unavailable(label, await run()));
      const categories = await request('GET', '/-/');
      expect(categories.status).toBe(200);
      expect(categories.ms).toBeLessThan(1000);
      expect(problems, problems.join('\n')).toEqual([]);
    } finally {
      await closeBlackHole();
    }
  }, 60_000);

  it('recovers by itself once the store is back on the same port and data folder', async () => {
    phase = 'restarted';
    store = await startEmbeddedStore({ dataDir: dir, port });
    expect(store.url).toBe(storeUrl);
    const took = await until(RECOVERY_MS, 'a store read through ocni answering 200', async () => (await request('GET', '/compute/w0', undefined, HANG_MS)).status === 200);
    expect(took).toBeLessThan(RECOVERY_MS);
    // The stream goes on being acknowledged.
    const before = acknowledged().length;
    await until(10_000, '5 more acknowledged writes', () => acknowledged().length >= before + 5);
    stopWriter = true;
    await writing;
  }, 40_000);

  it('kept every acknowledged write, answered every other one 503 with Retry-After in time, and kept nothing it refused', async () => {
    const problems: string[] = [];
    for (const a of attempts) {
      const where = `${a.what} ${a.id} written while ${a.phase}: ${a.error ? `no response (${a.error})` : a.status} in ${Math.round(a.ms)} ms`;
      if (a.error) problems.push(where);
      else if (a.status >= 300 && (a.status !== 503 || !a.retryAfter)) problems.push(`${where} — expected 2xx, or 503 with Retry-After: ${a.text}`);
      if (a.ms > TIMEOUT_MS + MARGIN_MS) problems.push(`${where} — slower than ${TIMEOUT_MS} + ${MARGIN_MS} ms`);
    }
    const ids = await categoryIds(server.url);
    for (const a of acknowledged()) {
      if (a.what === 'entity') {
        const res = await request('GET', a.id);
        if (res.status !== 200) problems.push(`acknowledged entity ${a.id} (written while ${a.phase}) answers ${res.status}`);
      } else if (!ids.includes(a.id)) problems.push(`acknowledged category ${a.id} (written while ${a.phase}) is not in /-/`);
    }
    // What was refused with 503 during the outage probes did not happen.
    for (const tag of ['stopped', 'hole']) {
      if (ids.includes(`${SCHEME}${tag}-mixin`)) problems.push(`the mixin added while the store was ${tag} (503) is in /-/`);
      for (const path of [`/compute/${tag}-new`, `/compute/${tag}-put`]) {
        const res = await request('GET', path);
        if (res.status !== 404) problems.push(`${path}, refused with 503 while the store was ${tag}, answers ${res.status}`);
      }
    }
    const w0 = await request('GET', '/compute/w0');
    expect(w0.status).toBe(200);
    expect((w0.json as { attributes: Record<string, unknown> }).attributes['occi.compute.hostname']).toBe('w0');
    expect(ids).toContain(`${SCHEME}m2`);
    const counts = ['up', 'stopped', 'black hole', 'restarted'].map(
      (p) => `${p}: ${attempts.filter((a) => a.phase === p).length} sent, ${attempts.filter((a) => a.phase === p && a.status < 300).length} acknowledged`,
    );
    expect(problems, `${problems.join('\n')}\n(${counts.join('; ')})`).toEqual([]);
    expect(acknowledged().filter((a) => a.phase === 'up').length).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it('holds in memory exactly the categories the store holds (a second server on the store sees the same /-/)', async () => {
    other = await serverOn(storeUrl);
    expect(await categoriesAsSet(server.url)).toBe(await categoriesAsSet(other.url));
  });

  it('follows the changes feed again: a category added through a second server shows within seconds', async () => {
    const id = `${SCHEME}after-recovery`;
    const added = await call(other!.url, 'POST', '/-/', { body: { mixins: [{ term: 'after-recovery', scheme: SCHEME, location: '/faults/after-recovery/' }] } });
    expect(added.status, added.text).toBe(200);
    await until(FEED_MS, `${id} in the first server's /-/`, async () => (await categoryIds(server.url)).includes(id));
    // And the other way round, with a change.
    const changed = await call(server.url, 'PUT', '/-/', { body: { mixins: [{ term: 'after-recovery', scheme: SCHEME, title: 'changed through the first' }] } });
    expect(changed.status, changed.text).toBe(200);
    await until(FEED_MS, 'the change in the second server', async () =>
      JSON.stringify((await call(other!.url, 'GET', `/-/?category=${encodeURIComponent(id)}`)).json).includes('changed through the first'),
    );
  }, 20_000);
});
