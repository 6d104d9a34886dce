/**
 * The embedded store runs only what ocni needs (issue 10 item 6): bare Node (no TypeScript loader),
 * no sessions or `_users` database, no gzip, no per-request log, no configuration files; and its
 * heap is bounded (item 7: the store's process under 500 MB).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { EMBEDDED_HEAP_MB, startEmbeddedStore, type EmbeddedStore } from '../src/store/embedded/server.ts';

let store: EmbeddedStore;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ocni-embedded-test-'));
  store = await startEmbeddedStore({ dataDir: dir });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The command line of the process listening at the store's port (Linux /proc). */
function childCommandLines(): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== process.pid) return [];
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')];
      } catch {
        return [];
      }
    });
}

describe('the embedded store', () => {
  it('runs on bare Node, without the TypeScript loader', () => {
    const child = childCommandLines().find((line) => line.includes('embedded/child.mjs'));
    expect(child).toBeDefined();
    expect(child).not.toContain('tsx');
  });

  it('answers the CouchDB API ocni uses, without gzip, sessions or a users database', async () => {
    expect((await fetch(`${store.url}/ocni_embedded_probe`, { method: 'PUT' })).status).toBe(201);
    const put = await fetch(`${store.url}/ocni_embedded_probe/doc`, { method: 'PUT', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(201);
    const got = await fetch(`${store.url}/ocni_embedded_probe/doc`, { headers: { 'accept-encoding': 'gzip' } });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-encoding')).toBeNull();
    expect(((await got.json()) as { a: number }).a).toBe(1);
    expect((await fetch(`${store.url}/_session`)).status).toBe(404);
    const dbs = (await (await fetch(`${store.url}/_all_dbs`)).json()) as string[];
    expect(dbs).not.toContain('_users');
    // Nothing but the databases in the data folder: no configuration or log file.
    expect(readdirSync(dir)).toEqual(['db']);
  });

  it('outlives a long-poll of the changes feed whose database is deleted meanwhile', async () => {
    // express-pouchdb's long-poll route failed on the cancelled changes call and took the whole
    // store down (a test deleting its databases while a follower polled them; seen in CI).
    const pid = store.pid();
    const db = `${store.url}/ocni_embedded_dropped`;
    expect((await fetch(db, { method: 'PUT' })).status).toBe(201);
    const docs = Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, n: i }));
    expect((await fetch(`${db}/_bulk_docs`, { method: 'POST', body: JSON.stringify({ docs }), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    // The client gives up on its own; the database is gone, so it gets no answer.
    const poll = fetch(`${db}/_changes?feed=longpoll&since=0&include_docs=true&timeout=2000`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 'gave up',
    );
    expect((await fetch(db, { method: 'DELETE' })).status).toBe(200);
    await poll;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(store.pid()).toBe(pid);
    expect((await fetch(store.url)).status).toBe(200);
  });

  it('bounds its heap, by default and as configured', async () => {
    // V8's limit is the old space asked for plus its young generation (a few tens of MiB).
    expect(store.heapLimitMb).toBeGreaterThanOrEqual(EMBEDDED_HEAP_MB);
    expect(store.heapLimitMb).toBeLessThan(EMBEDDED_HEAP_MB + 64);
    const smallDir = mkdtempSync(join(tmpdir(), 'ocni-embedded-heap-'));
    const small = await startEmbeddedStore({ dataDir: smallDir, heapMb: 128, supervise: false });
    try {
      expect(small.heapLimitMb).toBeGreaterThanOrEqual(128);
      expect(small.heapLimitMb).toBeLessThan(128 + 64);
    } finally {
      await small.close();
      rmSync(smallDir, { recursive: true, force: true });
    }
    expect(() => loadConfig({}, { couchdb: { url: null, dbPrefix: 'x_', requestTimeoutMs: 5000, embeddedHeapMb: 16 } })).toThrow(/embeddedHeapMb/);
  });
});
