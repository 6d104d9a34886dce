import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import type { RunningServer } from '../src/server.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

/** A TCP relay to the store that the test can cut and restore, on a fixed loopback port. */
class Relay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    const target = new URL(couchUrl());
    this.#server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((done) => this.#server!.listen(this.port, '127.0.0.1', () => done()));
    const address = this.#server.address();
    if (typeof address === 'object' && address) this.port = address.port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((done) => this.#server?.close(() => done()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  url(): string {
    const target = new URL(couchUrl());
    target.host = `127.0.0.1:${this.port}`;
    return target.toString().replace(/\/$/, '');
  }
}

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const users = [
  { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token') },
  { name: 'olga', operator: true, token: hashToken('olga-token') },
];

/** A request straight to the store (fetch takes no credentials in a URL: they become a header). */
function store(path: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(path, `${couchUrl()}/`);
  const headers = new Headers(init.headers);
  if (url.username) headers.set('authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`);
  url.username = '';
  url.password = '';
  return fetch(url, { ...init, headers });
}

/** The value of one series in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) && Object.keys(labels).length === 0) return Number(line.slice(name.length + 1));
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const have = new Map(body.split(',').map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1).replace(/^"|"$/g, '')]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('health, readiness and metrics', () => {
  const prefix = freshPrefix('ops');
  let open: RunningServer;
  let secured: RunningServer;
  beforeAll(async () => {
    open = await startTestServer({ prefix });
    secured = await startTestServer({ prefix, overrides: { auth: { mode: 'static', realm: 'ocni', users } } });
  });
  afterAll(async () => {
    await open.close();
    await secured.close();
    await dropDatabases(prefix);
  });

  it('answers /healthz and /readyz without credentials, even when authentication is on', async () => {
    const health = await call(secured.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    const ready = await call(secured.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready', checks: { store: 'ok', registry: 'ok', 'categories-feed': 'ok', 'entities-feed': 'ok' } });
  });

  it('does not let /healthz, /readyz or /metrics be taken as entity locations', async () => {
    const put = await call(open.url, 'PUT', '/healthz', { body: { kind: COMPUTE } });
    expect(put.status).toBe(404);
    expect((await call(open.url, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
  });

  it('serves Prometheus metrics to operators only', async () => {
    expect((await call(secured.url, 'GET', '/metrics')).status).toBe(401);
    expect((await call(secured.url, 'GET', '/metrics', { headers: { 'x-auth-token': 'alice-token' } })).status).toBe(403);
    const res = await call(secured.url, 'GET', '/metrics', { headers: { 'x-auth-token': 'olga-token', accept: 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'ocni_http_request_duration_seconds',
      'ocni_store_requests_total',
      'ocni_changes_feed_lag_seconds',
      'ocni_backend_calls_total',
      'ocni_conflicts_resolved_total',
      'ocni_embedded_store_restarts_total',
      'ocni_watch_streams',
      'ocni_cache_entries',
      'ocni_cache_bytes',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
  });

  it('counts requests by route template, never by raw path, and backend calls by backend and outcome', async () => {
    const before = await call(open.url, 'GET', '/metrics');
    expect(before.status).toBe(200);
    const created = sample(before.text, 'ocni_backend_calls_total', { backend: 'local', operation: 'create', outcome: 'ok' }) ?? 0;
    const entityGets = sample(before.text, 'ocni_http_request_duration_seconds_count', { route: '<entity>', method: 'GET', status: '200' }) ?? 0;
    for (const id of ['m1', 'm2', 'm3']) expect((await call(open.url, 'PUT', `/compute/${id}`, { body: { kind: COMPUTE } })).status).toBe(201);
    // A bulk creation asks the backend once and counts every creation.
    const bulk = { resources: ['m4', 'm5', 'm6', 'm7'].map((id) => ({ kind: COMPUTE, id })) };
    expect((await call(open.url, 'POST', '/compute/', { body: bulk })).status).toBe(201);
    for (const id of ['m1', 'm2', 'm3']) expect((await call(open.url, 'GET', `/compute/${id}`)).status).toBe(200);
    expect((await call(open.url, 'GET', '/compute/')).status).toBe(200);
    expect((await call(open.url, 'GET', '/no/such/thing')).status).toBe(404);
    const after = (await call(open.url, 'GET', '/metrics')).text;
    expect(sample(after, 'ocni_backend_calls_total', { backend: 'local', operation: 'create', outcome: 'ok' })).toBe(created + 7);
    expect(sample(after, 'ocni_http_request_duration_seconds_count', { route: '<entity>', method: 'GET', status: '200' })).toBe(entityGets + 3);
    expect(sample(after, 'ocni_http_request_duration_seconds_count', { route: '<kind>/', method: 'GET', status: '200' })).toBeGreaterThan(0);
    expect(sample(after, 'ocni_http_request_duration_seconds_count', { route: '/-/', method: 'GET', status: '200' })).toBeUndefined();
    expect(after).not.toContain('/compute/m1');
    expect(sample(after, 'ocni_store_requests_total', { method: 'put', outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(after, 'ocni_changes_feed_lag_seconds', { feed: 'categories' })).toBe(0);
  });

  it('reports what its caches hold: entities read, their bytes, and collection members', async () => {
    const before = (await call(open.url, 'GET', '/metrics')).text;
    const held = sample(before, 'ocni_cache_entries', { cache: 'read' }) ?? 0;
    for (const id of ['c1', 'c2', 'c3']) expect((await call(open.url, 'PUT', `/compute/${id}`, { body: { kind: COMPUTE } })).status).toBe(201);
    for (const id of ['c1', 'c2', 'c3']) expect((await call(open.url, 'GET', `/compute/${id}`)).status).toBe(200);
    expect((await call(open.url, 'GET', '/compute/')).status).toBe(200);
    const after = (await call(open.url, 'GET', '/metrics')).text;
    expect(sample(after, 'ocni_cache_entries', { cache: 'read' })).toBeGreaterThanOrEqual(held + 3);
    expect(sample(after, 'ocni_cache_bytes', { cache: 'read' })).toBeGreaterThan(0);
    expect(sample(after, 'ocni_cache_entries', { cache: 'members' })).toBeGreaterThanOrEqual(3);
  });

  it('is not ready (503) while the store cannot be reached, asks the store at most about once a second, and is ready again when it returns', async () => {
    const relay = new Relay();
    await relay.open();
    const server = await startTestServer({ prefix, overrides: { couchdb: { url: relay.url(), dbPrefix: prefix, requestTimeoutMs: 2000 } } });
    try {
      const pings: number[] = [];
      const stop = server.couch.observe((r) => {
        if (r.db === `${prefix}entities` && r.path === '') pings.push(Date.now());
      });
      const answers = await Promise.all(Array.from({ length: 20 }, () => call(server.url, 'GET', '/readyz')));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      stop();
      expect(pings.length).toBeGreaterThanOrEqual(1);
      expect(pings.length).toBeLessThanOrEqual(2);

      await relay.cut();
      let down = await call(server.url, 'GET', '/readyz');
      for (let i = 0; i < 40 && down.status === 200; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        down = await call(server.url, 'GET', '/readyz');
      }
      expect(down.status).toBe(503);
      expect(down.json).toMatchObject({ status: 'not ready', checks: { registry: 'ok' } });
      expect((down.json as { checks: Record<string, string> }).checks.store).toMatch(/store/);
      // The process itself lives.
      expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);

      await relay.open();
      let up = down;
      for (let i = 0; i < 60 && up.status !== 200; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        up = await call(server.url, 'GET', '/readyz');
      }
      expect(up.status).toBe(200);
    } finally {
      await server.close();
      await relay.cut();
    }
  });

  it("counts a failing backend's calls by backend and outcome", async () => {
    const backends = [
      { name: 'local', type: 'store' },
      { name: 'peer', type: 'remote', url: 'http://127.0.0.1:1', timeoutMs: 1000 },
    ];
    const server = await startTestServer({ prefix: freshPrefix('opsbackend'), overrides: { backends } });
    try {
      const labels = { backend: 'peer', operation: 'create' };
      const before = (await call(server.url, 'GET', '/metrics')).text;
      const provider = { providers: [{ kind: COMPUTE, provider: { local: [], remote: ['peer'] } }] };
      expect((await call(server.url, 'PUT', '/-/', { body: provider })).status).toBe(200);
      const created = await call(server.url, 'PUT', '/compute/remote1', { body: { kind: COMPUTE } });
      expect(created.status).toBeGreaterThanOrEqual(502);
      const code = (created.json as { code: string }).code;
      const after = (await call(server.url, 'GET', '/metrics')).text;
      expect(sample(after, 'ocni_backend_calls_total', { ...labels, outcome: code })).toBe((sample(before, 'ocni_backend_calls_total', { ...labels, outcome: code }) ?? 0) + 1);
    } finally {
      await server.close();
    }
  });

  it('is not ready while the embedded store it runs is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocni-ops-embedded-'));
    const server = await startTestServer({ prefix: freshPrefix('opsembedded'), overrides: { couchdb: { url: null, dbPrefix: 'ocni_' }, dataDir: dir } });
    try {
      const ready = await call(server.url, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect((ready.json as { checks: Record<string, string> }).checks['embedded-store']).toBe('ok');
      // The embedded store is this test process's only child: the server forked it.
      const children = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter(([pid, command]) => Number(pid) > 0 && command !== 'ps')
        .map(([pid]) => Number(pid));
      expect(children).toHaveLength(1);
      const restartsBefore = sample((await call(server.url, 'GET', '/metrics')).text, 'ocni_embedded_store_restarts_total', {}) ?? 0;
      process.kill(children[0]!, 'SIGKILL');
      // Not ready until it is back: a supervisor that restarts it counts the restart.
      let seen: 'not ready' | 'restarted' | undefined;
      for (let i = 0; i < 50 && !seen; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const res = await call(server.url, 'GET', '/readyz');
        if (res.status === 503 && (res.json as { checks: Record<string, string> }).checks['embedded-store'] === 'the embedded store is down') seen = 'not ready';
        else if ((sample((await call(server.url, 'GET', '/metrics')).text, 'ocni_embedded_store_restarts_total', {}) ?? 0) > restartsBefore) seen = 'restarted';
      }
      expect(seen).toBeDefined();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts conflicting revisions resolved by rule', async () => {
    const metric = async () => sample((await call(open.url, 'GET', '/metrics')).text, 'ocni_conflicts_resolved_total', { database: 'entities' }) ?? 0;
    const before = await metric();
    const created = await call(open.url, 'PUT', '/compute/conflicted', { body: { kind: COMPUTE, attributes: { 'occi.compute.cores': 1 } } });
    expect(created.status).toBe(201);
    const rev1 = created.headers.get('etag')!.replace(/"/g, '');
    const stored = (await (await store(`${prefix}entities/${encodeURIComponent('/compute/conflicted')}`)).json()) as Record<string, unknown>;
    // Two second revisions of one first one, as two cluster nodes may accept (documented new_edits=false).
    const leaves = ['a', 'b'].map((tag) => ({
      ...stored,
      _rev: `2-${tag.repeat(32)}`,
      _revisions: { start: 2, ids: [tag.repeat(32), rev1.slice(2)] },
      attributes: { ...(stored.attributes as object), 'occi.compute.hostname': tag },
    }));
    const planted = await store(`${prefix}entities/_bulk_docs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ docs: leaves, new_edits: false }) });
    expect(planted.status).toBe(201);
    expect((await call(open.url, 'GET', '/compute/conflicted')).status).toBe(200);
    expect(await metric()).toBe(before + 1);
  });
});
