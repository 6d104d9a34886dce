import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import type { RunningServer } from '../src/server.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { openStream, type SseEvent, type SseStream } from './support/sse.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const users = [
  { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token') },
  { name: 'bob', tenant: 'tenant-b', token: hashToken('bob-token') },
  { name: 'olga', operator: true, token: hashToken('olga-token') },
];
const as = (token: string) => ({ 'x-auth-token': token });
const auth = { mode: 'static', realm: 'ocni', users };
const watchConfig = { heartbeatMs: 300, maxStreamsPerCaller: 2, replayMax: 10_000 };

const streams: SseStream[] = [];
async function watch(base: string, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = await openStream(base, path, headers);
  streams.push(stream);
  return stream;
}
afterEach(() => {
  for (const s of streams.splice(0)) s.close();
});

const about = (location: string) => (e: SseEvent) => typeof e.json.location === 'string' && e.json.location.endsWith(location);

describe('change streams over two ocni processes on one store', () => {
  const prefix = freshPrefix('watch');
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    a = await startTestServer({ prefix, overrides: { auth, watch: watchConfig } });
    b = await startTestServer({ prefix, overrides: { auth, watch: watchConfig } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await dropDatabases(prefix);
  });

  it("shows a write on one process as added, changed and removed events on the other's stream", async () => {
    const stream = await watch(b.url, '/compute/?watch=true', as('olga-token'));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect((await call(a.url, 'PUT', '/compute/w1', { body: { kind: COMPUTE, attributes: { 'occi.compute.cores': 2 } }, headers: as('olga-token') })).status).toBe(201);
    const added = await stream.next(about('/compute/w1'));
    expect(added.event).toBe('added');
    expect(added.id).toMatch(/^\d+/);
    expect(added.json.location).toBe(`${b.url}/compute/w1`);
    expect((added.json.entity as { attributes: Record<string, unknown> }).attributes['occi.compute.cores']).toBe(2);
    expect((await call(a.url, 'POST', '/compute/w1', { body: { kind: COMPUTE, attributes: { 'occi.compute.cores': 4 } }, headers: as('olga-token') })).status).toBe(200);
    const changed = await stream.next((e) => about('/compute/w1')(e) && e.event === 'changed');
    expect((changed.json.entity as { attributes: Record<string, unknown> }).attributes['occi.compute.cores']).toBe(4);
    expect((await call(a.url, 'DELETE', '/compute/w1', { headers: as('olga-token') })).status).toBe(204);
    const removed = await stream.next((e) => about('/compute/w1')(e) && e.event === 'removed');
    expect(removed.json.entity).toBeUndefined();
    // Only this collection: a network is not a compute.
    expect((await call(a.url, 'PUT', '/network/n1', { body: { kind: `${INFRA}network` }, headers: as('olga-token') })).status).toBe(201);
    expect((await call(a.url, 'PUT', '/compute/w0', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    await stream.next(about('/compute/w0'));
    expect(stream.events.some(about('/network/n1'))).toBe(false);
  });

  it('works across operating-system processes: ocni started from its sources as a process of its own, and one in this process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocni-watch-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ couchdb: { dbPrefix: prefix }, auth, watch: watchConfig, log: { pretty: false } }));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCNI_') && !k.startsWith('COUCHDB_')));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...clean, OCNI_CONFIG: file, OCNI_PORT: '0', COUCHDB_URL: couchUrl() },
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`ocni did not start: ${out}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"ocni listening"/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      const there = await watch(url, '/compute/?watch=true', as('olga-token'));
      const here = await watch(b.url, '/compute/?watch=true', as('olga-token'));
      expect((await call(b.url, 'PUT', '/compute/os1', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
      expect((await there.next(about('/compute/os1'))).event).toBe('added');
      expect((await call(url, 'PUT', '/compute/os2', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
      expect((await here.next(about('/compute/os2'))).event).toBe('added');
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes with Last-Event-ID: what happened while away, and nothing before', async () => {
    const first = await watch(b.url, '/compute/?watch=true', as('olga-token'));
    expect((await call(a.url, 'PUT', '/compute/r1', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    const seen = await first.next(about('/compute/r1'));
    first.close();
    expect((await call(a.url, 'PUT', '/compute/r2', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    expect((await call(a.url, 'DELETE', '/compute/r1', { headers: as('olga-token') })).status).toBe(204);
    const resumed = await watch(b.url, '/compute/?watch=true', { ...as('olga-token'), 'last-event-id': seen.id! });
    expect(resumed.status).toBe(200);
    await resumed.next(about('/compute/r2'));
    await resumed.next((e) => about('/compute/r1')(e) && e.event === 'removed');
    expect(resumed.events.filter((e) => e.event === 'added' && about('/compute/r1')(e))).toEqual([]);
    // Live changes follow the replay on the same stream.
    expect((await call(a.url, 'PUT', '/compute/r3', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    await resumed.next(about('/compute/r3'));
  });

  it('gives a fresh stream a resume point before any event, so nothing written after it opens is lost', async () => {
    const first = await watch(b.url, '/compute/?watch=true', as('olga-token'));
    await first.waitComments(1);
    const position = first.lastEventId;
    expect(position).toMatch(/^\d+/);
    first.close();
    expect((await call(a.url, 'PUT', '/compute/p1', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    const resumed = await watch(b.url, '/compute/?watch=true', { ...as('olga-token'), 'last-event-id': position! });
    expect((await resumed.next(about('/compute/p1'))).event).toBe('added');
  });

  it('keeps each tenant to its own entities', async () => {
    const alice = await watch(b.url, '/compute/?watch=true', as('alice-token'));
    const olga = await watch(b.url, '/compute/?watch=true', as('olga-token'));
    expect((await call(a.url, 'PUT', '/compute/bobs', { body: { kind: COMPUTE }, headers: as('bob-token') })).status).toBe(201);
    expect((await call(a.url, 'PUT', '/compute/alices', { body: { kind: COMPUTE }, headers: as('alice-token') })).status).toBe(201);
    expect((await call(a.url, 'DELETE', '/compute/bobs', { headers: as('bob-token') })).status).toBe(204);
    expect((await call(a.url, 'DELETE', '/compute/alices', { headers: as('alice-token') })).status).toBe(204);
    // The operator sees both, in order; by then alice's stream has had every event it will get.
    await olga.next((e) => about('/compute/alices')(e) && e.event === 'removed');
    await alice.next((e) => about('/compute/alices')(e) && e.event === 'removed');
    expect(olga.events.some(about('/compute/bobs'))).toBe(true);
    expect(alice.events.some(about('/compute/bobs'))).toBe(false);
    expect(alice.events.map((e) => [e.event, e.json.location])).toEqual([
      ['added', `${b.url}/compute/alices`],
      ['removed', `${b.url}/compute/alices`],
    ]);
  });

  it('bounds the streams one caller holds (429), and frees a place when a client leaves', async () => {
    const one = await watch(b.url, '/compute/?watch=true', as('bob-token'));
    const two = await watch(b.url, '/-/?watch=true', as('bob-token'));
    expect([one.status, two.status]).toEqual([200, 200]);
    const three = await watch(b.url, '/network/?watch=true', as('bob-token'));
    expect(three.status).toBe(429);
    expect(JSON.parse(three.body)).toMatchObject({ status: 429, code: 'too-many-requests' });
    // Another caller is not affected, nor is another process.
    expect((await watch(b.url, '/compute/?watch=true', as('alice-token'))).status).toBe(200);
    expect((await watch(a.url, '/compute/?watch=true', as('bob-token'))).status).toBe(200);
    one.close();
    let again: SseStream | undefined;
    for (let i = 0; i < 50 && again?.status !== 200; i += 1) {
      again?.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await watch(b.url, '/network/?watch=true', as('bob-token'));
    }
    expect(again?.status).toBe(200);
  });

  it("reports a mixin collection's members joining and leaving", async () => {
    const mixin = { mixins: [{ term: 'gold', scheme: 'http://example.com/tags#', location: '/tags/gold/' }] };
    expect((await call(a.url, 'POST', '/-/', { body: mixin, headers: as('olga-token') })).status).toBe(200);
    expect((await call(a.url, 'PUT', '/compute/g1', { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
    expect((await call(a.url, 'PUT', '/compute/g2', { body: { kind: COMPUTE, mixins: ['http://example.com/tags#gold'] }, headers: as('olga-token') })).status).toBe(201);
    // B learns of the mixin through its categories feed.
    const gold = encodeURIComponent('http://example.com/tags#gold');
    for (let i = 0; i < 100; i += 1) {
      if (((await call(b.url, 'GET', `/-/?category=${gold}`, { headers: as('olga-token') })).json as { mixins: unknown[] }).mixins.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stream = await watch(b.url, '/tags/gold/?watch=true', as('olga-token'));
    await stream.waitComments(1);
    expect((await call(a.url, 'POST', '/tags/gold/', { body: { 'X-OCCI-Location': ['/compute/g1'] }, headers: as('olga-token') })).status).toBe(200);
    expect((await stream.next(about('/compute/g1'))).event).toBe('added');
    // g2 was a member before the stream opened: its leaving is still a removal.
    expect([200, 204]).toContain((await call(a.url, 'DELETE', '/tags/gold/', { body: { 'X-OCCI-Location': ['/compute/g2'] }, headers: as('olga-token') })).status);
    // B's follower runs all the time (the read cache holds it): a stream opened just after g2 was
    // written may still report its arrival first (streams deliver at least once), then its leaving.
    // (next() searches every event received, so the removal is looked for by its type.)
    const removed = await stream.next((e) => about('/compute/g2')(e) && e.event === 'removed');
    const before = stream.events.slice(0, stream.events.indexOf(removed)).filter(about('/compute/g2'));
    expect(before.map((e) => e.event).filter((event) => event !== 'added' && event !== 'changed')).toEqual([]);
  });

  it("streams category changes on /-/?watch=true, hiding other tenants' tags", async () => {
    const olga = await watch(b.url, '/-/?watch=true', as('olga-token'));
    const bob = await watch(b.url, '/-/?watch=true', as('bob-token'));
    const tag = { mixins: [{ term: 'mine', scheme: 'http://example.com/alice#', location: '/tags/alice/mine/' }] };
    expect((await call(a.url, 'POST', '/-/', { body: tag, headers: as('alice-token') })).status).toBe(200);
    const kind = { kinds: [{ term: 'router', scheme: 'http://example.com/net#', location: '/router/' }] };
    expect((await call(a.url, 'POST', '/-/', { body: kind, headers: as('olga-token') })).status).toBe(200);
    const id = 'http://example.com/alice#mine';
    expect((await olga.next((e) => e.json.id === id)).event).toBe('added');
    await bob.next((e) => e.json.id === 'http://example.com/net#router');
    await olga.next((e) => e.json.id === 'http://example.com/net#router');
    expect(bob.events.some((e) => e.json.id === id)).toBe(false);
    expect((await call(a.url, 'DELETE', '/-/', { body: { mixins: [id] }, headers: as('alice-token') })).status).toBe(200);
    expect((await call(a.url, 'DELETE', '/-/', { body: { kinds: ['http://example.com/net#router'] }, headers: as('olga-token') })).status).toBe(200);
    expect((await olga.next((e) => e.json.id === id && e.event === 'removed')).json.category).toBeUndefined();
    await bob.next((e) => e.json.id === 'http://example.com/net#router' && e.event === 'removed');
    expect(bob.events.some((e) => e.json.id === id)).toBe(false);
  });

  it('sends heartbeats on an idle stream', async () => {
    const stream = await watch(b.url, '/storage/?watch=true', as('olga-token'));
    await stream.waitComments(2, 5000);
  });

  it('refuses what it cannot stream: bad Last-Event-ID, no event-stream in Accept, an entity, filters', async () => {
    const bad = await watch(b.url, '/compute/?watch=true', { ...as('olga-token'), 'last-event-id': 'x; drop' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ errors: [{ pointer: 'Last-Event-ID' }] });
    expect((await watch(b.url, '/compute/?watch=true', { ...as('olga-token'), accept: 'application/occi+json' })).status).toBe(406);
    expect((await watch(b.url, '/compute/w0?watch=true', as('olga-token'))).status).toBe(400);
    expect((await watch(b.url, '/compute/?watch=true&category=x', as('olga-token'))).status).toBe(400);
    expect((await watch(b.url, '/compute/?watch=maybe', as('olga-token'))).status).toBe(400);
    expect((await watch(b.url, '/compute/?watch=true')).status).toBe(401);
    // ?watch=false is an ordinary listing.
    expect((await call(b.url, 'GET', '/compute/?watch=false', { headers: as('olga-token') })).status).toBe(200);
  });

  it('follows the feed once per process, however many streams are open', async () => {
    const longPolls: string[] = [];
    const stop = b.couch.observe((r) => {
      if (r.path === '_changes' && r.qs.feed === 'longpoll' && r.db === `${prefix}entities`) longPolls.push(String(r.qs.since));
    });
    try {
      const open = await Promise.all(['olga-token', 'olga-token', 'alice-token', 'alice-token'].map((t, i) => watch(b.url, i % 2 === 0 ? '/compute/?watch=true' : '/network/?watch=true', as(t))));
      for (let i = 0; i < 3; i += 1) expect((await call(a.url, 'PUT', `/compute/f${i}`, { body: { kind: COMPUTE }, headers: as('alice-token') })).status).toBe(201);
      await Promise.all([open[0]!, open[2]!].map((s) => s.next(about('/compute/f2'))));
      // One long-poll per answered batch of changes (at most one per write, plus the first), not one per stream.
      expect(longPolls.length).toBeGreaterThan(0);
      expect(longPolls.length).toBeLessThanOrEqual(4);
    } finally {
      stop();
    }
  });

  it('tells a client that resumes from too far back to list again (expired), and ends the stream', async () => {
    const c = await startTestServer({ prefix, overrides: { auth, watch: { ...watchConfig, replayMax: 2 } } });
    try {
      const first = await watch(c.url, '/compute/?watch=true', as('olga-token'));
      await first.waitComments(1);
      const position = first.lastEventId!;
      first.close();
      for (let i = 0; i < 3; i += 1) expect((await call(a.url, 'PUT', `/compute/x${i}`, { body: { kind: COMPUTE }, headers: as('olga-token') })).status).toBe(201);
      const resumed = await watch(c.url, '/compute/?watch=true', { ...as('olga-token'), 'last-event-id': position });
      expect((await resumed.next((e) => e.event === 'expired')).json.reason).toMatch(/list the collection again/);
      await resumed.ended;
      expect(resumed.events.filter((e) => e.event === 'added')).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('ends open streams when the server shuts down', async () => {
    const c = await startTestServer({ prefix, overrides: { auth, watch: watchConfig } });
    const stream = await watch(c.url, '/compute/?watch=true', as('olga-token'));
    expect(stream.status).toBe(200);
    await c.close();
    await stream.ended;
  });
});
