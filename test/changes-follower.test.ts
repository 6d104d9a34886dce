/**
 * The changes follower reads documents only as far as its listeners need them: this process's own
 * writes come back without theirs to the member index (it applied them when the store answered),
 * the read cache needs ids only, and change streams get every document. Against the real store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangesFollower, type DocChange, type DocumentNeed } from '../src/store/changes-follower.ts';
import { CouchClient, type CouchRequestRecord } from '../src/store/couch.ts';
import type { RunningServer } from '../src/server.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { feedDelivered } from './support/feed-barrier.ts';

type Doc = { _id: string; _rev?: string; n: number };

/** Waits until `changes` holds one for each id. */
async function until(changes: DocChange<Doc>[], ids: string[], timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!ids.every((id) => changes.some((c) => c.id === id))) {
    if (Date.now() - started > timeoutMs) throw new Error(`the feed did not bring ${ids.join(', ')} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the changes follower, on its own', () => {
  const prefix = freshPrefix('follower');
  const db = `${prefix}docs`;
  const client = new CouchClient({ url: couchUrl(), requestTimeoutMs: 10_000 });
  const requests: CouchRequestRecord[] = [];
  let follower: ChangesFollower<Doc>;

  beforeAll(async () => {
    await client.request({ db, method: 'put' });
    client.observe((r) => requests.push(r));
    follower = new ChangesFollower<Doc>(client, db, { name: 'test', pollMs: 2000 });
  });

  afterAll(async () => {
    follower.close();
    await client.request({ db, method: 'delete' }).catch(() => undefined);
    await client.close();
  });

  const put = async (id: string, n: number) => (await client.request<{ rev: string }>({ db, method: 'put', path: id, body: { n } })).rev;
  // As ocni's write path does: the write is announced before it is sent, noted once answered.
  const ownPut = async (id: string, n: number) => {
    const settled = follower.writing([id]);
    try {
      const rev = await put(id, n);
      follower.ownWrite(id, rev);
      return rev;
    } finally {
      settled();
    }
  };
  const listen = async (need: DocumentNeed) => {
    const seen: DocChange<Doc>[] = [];
    const stop = await follower.subscribe((change) => seen.push(change), need);
    return { seen, stop };
  };

  it('brings own writes without documents to listeners of other processes’ writes, and reads the others’ in one request', async () => {
    const foreign = await listen('foreign');
    requests.length = 0;
    const own = await ownPut('own-1', 1);
    await put('other-1', 2);
    await put('other-2', 3);
    await until(foreign.seen, ['own-1', 'other-1', 'other-2']);
    foreign.stop();

    const byId = new Map(foreign.seen.map((c) => [c.id, c]));
    expect(byId.get('own-1')).toMatchObject({ own: true, rev: own, deleted: false });
    expect(byId.get('own-1')!.doc).toBeUndefined();
    expect(byId.get('other-1')!.doc).toMatchObject({ _id: 'other-1', n: 2 });
    expect(byId.get('other-2')!.doc).toMatchObject({ _id: 'other-2', n: 3 });
    expect(byId.get('other-1')!.own).toBeUndefined();
    // The feed itself was read without documents; only the others' were read, by id.
    const polls = requests.filter((r) => r.path === '_changes');
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((r) => r.qs.include_docs === false)).toBe(true);
    const reads = requests.filter((r) => r.path === '_all_docs');
    const keys = reads.flatMap((r) => (r.body as { keys: string[] }).keys);
    expect(keys).not.toContain('own-1');
    expect(keys).toEqual(expect.arrayContaining(['other-1', 'other-2']));
  });

  it('reads no document for listeners of ids, and every document once a listener needs all', async () => {
    const ids = await listen('none');
    requests.length = 0;
    await put('plain-1', 4);
    await until(ids.seen, ['plain-1']);
    expect(ids.seen.find((c) => c.id === 'plain-1')!.doc).toBeUndefined();
    expect(requests.some((r) => r.path === '_all_docs')).toBe(false);

    const all = await listen('all');
    const own = await ownPut('own-2', 5);
    await until(all.seen, ['own-2']);
    // A change stream renders every change, this process's too.
    expect(all.seen.find((c) => c.id === 'own-2')).toMatchObject({ own: true, rev: own, doc: { _id: 'own-2', n: 5 } });
    ids.stop();
    all.stop();
  });

  it('reads a document changed or deleted after its change at its newer state', async () => {
    const foreign = await listen('foreign');
    // A write of this process announced and not yet settled holds the page of these documents'
    // changes back (as a real one would until the store answers it); meanwhile both change.
    const settle = follower.writing(['moving', 'gone']);
    const written = await client.request<{ id: string; rev: string }[]>({
      db,
      method: 'post',
      path: '_bulk_docs',
      body: {
        docs: [
          { _id: 'moving', n: 6 },
          { _id: 'gone', n: 8 },
        ],
      },
    });
    const revOf = (id: string) => written.find((r) => r.id === id)!.rev;
    // Time for the long-poll to answer with the first revisions (were it later, the feed would
    // bring the newer ones itself, and what is asserted below holds all the same).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = (await client.request<{ rev: string }>({ db, method: 'put', path: 'moving', body: { _rev: revOf('moving'), n: 7 } })).rev;
    await client.request({ db, method: 'delete', path: 'gone', qs: { rev: revOf('gone') } });
    settle();
    await until(foreign.seen, ['moving', 'gone']);
    foreign.stop();
    // The first change delivered for each already says what the store holds.
    expect(foreign.seen.find((c) => c.id === 'moving')).toMatchObject({ rev: second, deleted: false, doc: { n: 7 } });
    expect(foreign.seen.find((c) => c.id === 'gone')).toMatchObject({ deleted: true });
    expect(foreign.seen.find((c) => c.id === 'gone')!.doc).toBeUndefined();
  });

  it('forgets the oldest own writes beyond its bound, whose documents are then read like others’', async () => {
    const foreign = await listen('foreign');
    const early = await ownPut('own-early', 9);
    // Ten thousand more own writes noted (ids the store never sees) push the first one out.
    for (let i = 0; i < 10_000; i += 1) follower.ownWrite(`noted-${i}`, '1-x');
    const late = await ownPut('own-late', 10);
    await until(foreign.seen, ['own-early', 'own-late']);
    foreign.stop();
    expect(foreign.seen.find((c) => c.id === 'own-early')).toMatchObject({ rev: early, doc: { n: 9 } });
    expect(foreign.seen.find((c) => c.id === 'own-early')!.own).toBeUndefined();
    expect(foreign.seen.find((c) => c.id === 'own-late')).toMatchObject({ own: true, rev: late });
  });
});

describe('a follower behind on a busy database', () => {
  const prefix = freshPrefix('pages');
  const db = `${prefix}docs`;
  const client = new CouchClient({ url: couchUrl(), requestTimeoutMs: 10_000 });
  const limits: number[] = [];

  beforeAll(async () => {
    await client.request({ db, method: 'put' });
    client.observe((r) => {
      if (r.path === '_changes') limits.push(Number(r.qs.limit));
    });
  });

  afterAll(async () => {
    await client.request({ db, method: 'delete' }).catch(() => undefined);
    await client.close();
  });

  it('reads larger pages while they come full, and its own size again once it caught up', async () => {
    const follower = new ChangesFollower<Doc>(client, db, { name: 'test', pollMs: 2000, batch: 2 });
    const seen: DocChange<Doc>[] = [];
    const stop = await follower.subscribe((change) => seen.push(change), 'none');
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `d${i}`);
      await client.request({ db, method: 'post', path: '_bulk_docs', body: { docs: ids.map((_id, n) => ({ _id, n })) } });
      await until(seen, ids);
      await client.request({ db, method: 'put', path: 'after', body: { n: 30 } });
      await until(seen, ['after']);
    } finally {
      stop();
      follower.close();
    }
    // Each page asks for twice the last while they come full, up to 4 times the batch; a page that
    // came short sets it back (the first long-poll may answer with the first change alone).
    expect(limits[0]).toBe(2);
    limits.slice(1).forEach((limit, i) => expect([2, Math.min(limits[i]! * 2, 8)]).toContain(limit));
    expect(Math.max(...limits)).toBe(8);
    expect(limits.at(-1)).toBe(2);
    // Fewer round trips than pages of the batch's size would take.
    expect(limits.length).toBeLessThan(31 / 2);
  });
});

describe('a bulk create through ocni', () => {
  const prefix = freshPrefix('ownecho');
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer({ prefix });
  });

  afterAll(async () => {
    await server?.close();
    await dropDatabases(prefix);
  });

  it('is listed at once and its echo reads none of its documents back', async () => {
    const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
    // A listing makes the member index hold the compute collection.
    expect((await call(server.url, 'GET', '/compute/')).status).toBe(200);
    const reads: string[] = [];
    const polls: unknown[] = [];
    const stop = server.couch.observe((r) => {
      if (r.path === '_all_docs' && r.method === 'post' && r.qs.include_docs === true) reads.push(...((r.body as { keys?: string[] }).keys ?? []));
      if (r.path === '_changes' && r.db === `${prefix}entities`) polls.push(r.qs.include_docs);
    });
    const resources = Array.from({ length: 50 }, (_, i) => ({ kind: COMPUTE, id: `bulk${i}` }));
    expect((await call(server.url, 'POST', '/compute/', { body: { resources } })).status).toBe(201);
    // Once the feed brought a later write, it brought the bulk's changes.
    await feedDelivered(server, '/compute/after', async () => void (await call(server.url, 'PUT', '/compute/after', { body: { kind: COMPUTE } })), 10_000);
    stop();
    // Neither with the changes (no change stream is open) nor afterwards, by id.
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((withDocs) => withDocs === false)).toBe(true);
    expect(reads.filter((id) => id.startsWith('/compute/bulk'))).toEqual([]);
    // The member index had them from the write itself (a listing reads their documents, not the feed).
    const listed = (await call(server.url, 'GET', '/compute/?number=100')).json as { resources?: { id: string }[] };
    expect(listed.resources?.map((r) => r.id)).toEqual(expect.arrayContaining(resources.map((r) => r.id)));
  });
});
