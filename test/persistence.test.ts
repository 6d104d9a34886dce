import { afterAll, describe, expect, it } from 'vitest';
import type { CouchRequestRecord } from '../src/store/couch.ts';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
const TAG = { mixins: [{ term: 'gold', scheme: 'http://example.com/p#', title: 'Gold', location: '/gold/' }] };
const started: RunningServer[] = [];
const prefixes: string[] = [];

async function server(prefix: string): Promise<RunningServer> {
  const s = await startTestServer({ prefix });
  started.push(s);
  return s;
}

afterAll(async () => {
  for (const s of started) await s.close();
  for (const p of prefixes) await dropDatabases(p);
});

function mixinTitles(body: unknown): string[] {
  return ((body as { mixins: Json[] }).mixins ?? []).filter((m) => m.scheme === 'http://example.com/p#').map((m) => String(m.title));
}

/** Polls `probe` until it returns true, failing when `ms` pass first. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not seen within ${ms} ms`);
}

describe('persistence', () => {
  it('keeps runtime categories and providers across a restart', async () => {
    const prefix = freshPrefix('restart');
    prefixes.push(prefix);
    const first = await server(prefix);
    expect((await call(first.url, 'POST', '/-/', { body: TAG })).status).toBe(200);
    const route = { providers: [{ kind: 'http://schemas.ogf.org/occi/infrastructure#storage', provider: { local: ['local'] } }] };
    expect((await call(first.url, 'PUT', '/-/', { body: route })).status).toBe(200);
    await first.close();

    const second = await server(prefix);
    const all = await call(second.url, 'GET', '/-/');
    expect(mixinTitles(all.json)).toEqual(['Gold']);
    // The location claim survived too: the same location cannot be taken twice.
    const clash = await call(second.url, 'POST', '/-/', { body: { mixins: [{ term: 'other', scheme: 'http://example.com/p#', location: '/gold/' }] } });
    expect(clash.status).toBe(409);
  });
});

describe('example categories', () => {
  it('seeds the example OS templates once: deleted, they do not come back on restart', async () => {
    const prefix = freshPrefix('seed');
    prefixes.push(prefix);
    const debian = 'http://schemas.ocni.dev/templates/os#debian-12';
    const first = await server(prefix);
    const seeded = await call(first.url, 'GET', `/-/?category=${encodeURIComponent(debian)}`);
    expect((seeded.json as { mixins: Json[] }).mixins[0]).toMatchObject({ depends: ['http://schemas.ogf.org/occi/infrastructure#os_tpl'], location: '/templates/os/debian-12/' });
    // They are ordinary runtime categories: operators can delete them.
    expect((await call(first.url, 'DELETE', '/-/', { body: { mixins: [debian] } })).status).toBe(200);
    await first.close();
    const second = await server(prefix);
    expect(((await call(second.url, 'GET', `/-/?category=${encodeURIComponent(debian)}`)).json as { mixins: Json[] }).mixins).toEqual([]);
    expect(((await call(second.url, 'GET', `/-/?category=${encodeURIComponent('http://schemas.ocni.dev/templates/os#alpine-3-20')}`)).json as { mixins: Json[] }).mixins).toHaveLength(1);
  });
});

describe('two processes on one CouchDB', () => {
  it('serves a category added, changed or deleted through one from the other within about a second', async () => {
    const prefix = freshPrefix('coherence');
    prefixes.push(prefix);
    const a = await server(prefix);
    const b = await server(prefix);

    expect((await call(a.url, 'POST', '/-/', { body: TAG })).status).toBe(200);
    // "Within about a second": the changes feed is a long-poll, so it is usually milliseconds; the
    // bound is generous so that a loaded machine does not fail the test.
    await within(2500, async () => mixinTitles((await call(b.url, 'GET', '/-/')).json).includes('Gold'));

    const change = { mixins: [{ term: 'gold', scheme: 'http://example.com/p#', title: 'Platinum' }] };
    expect((await call(b.url, 'PUT', '/-/', { body: change })).status).toBe(200);
    await within(2500, async () => mixinTitles((await call(a.url, 'GET', '/-/')).json).includes('Platinum'));

    expect((await call(a.url, 'DELETE', '/-/', { body: { mixins: ['http://example.com/p#gold'] } })).status).toBe(200);
    await within(2500, async () => mixinTitles((await call(b.url, 'GET', '/-/')).json).length === 0);
  });

  it('lets only one of two processes claim the same location', async () => {
    const prefix = freshPrefix('race');
    prefixes.push(prefix);
    const a = await server(prefix);
    const b = await server(prefix);
    const results = await Promise.all([
      call(a.url, 'POST', '/-/', { body: { mixins: [{ term: 'one', scheme: 'http://example.com/race#', location: '/race/' }] } }),
      call(b.url, 'POST', '/-/', { body: { mixins: [{ term: 'two', scheme: 'http://example.com/race#', location: '/race/' }] } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const seen = async () => ((await call(a.url, 'GET', '/-/?scheme=' + encodeURIComponent('http://example.com/race#'))).json as { mixins: Json[] }).mixins.length;
    await within(3000, async () => (await seen()) === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await seen()).toBe(1);
  });
});

describe('store access', () => {
  it('serves GET /-/ from memory and never reads a whole database', async () => {
    const prefix = freshPrefix('reads');
    prefixes.push(prefix);
    const s = await server(prefix);
    const records: CouchRequestRecord[] = [];
    const stop = s.couch.observe((r) => {
      if (r.path !== '_changes') records.push(r);
    });
    try {
      await call(s.url, 'GET', '/-/');
      await call(s.url, 'GET', '/-/?class=kind');
      expect(records).toEqual([]);

      await call(s.url, 'POST', '/-/', { body: TAG });
      await call(s.url, 'PUT', '/-/', { body: { mixins: [{ term: 'gold', scheme: 'http://example.com/p#', title: 'G2' }] } });
      await call(s.url, 'DELETE', '/-/', { body: { mixins: ['http://example.com/p#gold'] } });
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) {
        // _all_docs only as a key range or by keys, never the whole database.
        if (r.path === '_all_docs') expect(r.qs.startkey !== undefined || (r.body as { keys?: unknown })?.keys !== undefined, JSON.stringify(r)).toBe(true);
        if (r.path.includes('_view/')) expect(r.qs.startkey, JSON.stringify(r)).toBeDefined();
        if (r.path === '_find') {
          const explain = await s.couch.request<{ index: { name: string } }>({ db: r.db, method: 'post', path: '_explain', body: r.body });
          expect(explain.index.name, JSON.stringify(r.body)).not.toBe('_all_docs');
        }
      }
    } finally {
      stop();
    }
  });
});
