import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttributeValue } from '../src/model/category.ts';
import type { Entity } from '../src/model/entity.ts';
import { OcciError } from '../src/errors.ts';
import type { Backend, BackendContext, BackendOutcome } from '../src/backends/backend.ts';
import { BackendRouter } from '../src/backends/backends.ts';
import { EntityService } from '../src/backends/entity-service.ts';
import { createStoreBackend } from '../src/backends/store/store-backend.ts';
import { loadBuiltinCategories } from '../src/registry/builtins.ts';
import { CategoryRegistry } from '../src/registry/registry.ts';
import { CouchClient } from '../src/store/couch.ts';
import { databaseNames, ensureDatabases } from '../src/store/databases.ts';
import { EntityStore } from '../src/store/entity-store.ts';
import type { EntityItem } from '../src/render/occi-json/entities.ts';
import { couchUrl, dropDatabases, freshPrefix } from './support/harness.ts';

/**
 * The order of backend calls and store writes, and the compensation when either fails, at every
 * step: two recording backends in front of the real store. A backend can be told to fail at one
 * operation, or to make a concurrent store write happen while it works.
 */
const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
type Call = `${string}:${string}:${string}`;

class RecordingBackend implements Backend {
  readonly type = 'recording';
  readonly calls: Call[] = [];
  failOn?: string;
  during?: () => Promise<void>;
  constructor(readonly name: string) {}

  async #record(op: string, entity: Entity, extra = ''): Promise<BackendOutcome> {
    this.calls.push(`${op}:${entity.location}:${extra}`);
    if (this.failOn === op) throw new OcciError('backend-failed', `${this.name} failed ${op}`);
    const during = this.during;
    this.during = undefined;
    await during?.();
    return {};
  }
  create = (e: Entity) => this.#record('create', e);
  retrieve = async (e: Entity) => this.#record('retrieve', e);
  update = (before: Entity, after: Entity) => this.#record('update', after, `${String(before.title)}->${String(after.title)}`);
  replace = (_before: Entity, after: Entity) => this.#record('replace', after);
  delete = async (e: Entity) => void (await this.#record('delete', e));
  action = (e: Entity, actionId: string, _p: Record<string, AttributeValue>) => this.#record('action', e, actionId.split('#')[1]);
}

const prefix = freshPrefix('comp');
let service: EntityService;
let store: EntityStore;
const first = new RecordingBackend('first');
const second = new RecordingBackend('second');
const ctx: BackendContext = { credentials: {}, requestId: 't', baseUrl: 'http://ocni.test' };
const origin = { origins: ['http://ocni.test'] };
const item = (id: string, title = id): EntityItem => ({ input: { kind: COMPUTE, title }, id, links: [], pointer: '' });

beforeAll(async () => {
  const client = new CouchClient({ url: couchUrl(), requestTimeoutMs: 5000 });
  const names = databaseNames(prefix);
  await ensureDatabases(client, names);
  store = new EntityStore(client, names.entities);
  const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['store', 'first', 'second'], remote: [] });
  service = new EntityService(registry, store, { itemsPerRequest: 100, attributeValueBytes: 65536 }, new BackendRouter([createStoreBackend('store'), first, second]));
});
afterAll(async () => {
  await dropDatabases(prefix);
});

function reset(): void {
  for (const b of [first, second]) {
    b.calls.length = 0;
    delete b.failOn;
  }
}

describe('create', () => {
  it('calls the backends in order, then stores', async () => {
    reset();
    await service.createInCollection(service.registry.kind(COMPUTE)!, [item('c1')], origin, ctx);
    expect(first.calls).toEqual(['create:/compute/c1:']);
    expect(second.calls).toEqual(['create:/compute/c1:']);
    expect(await store.get('/compute/c1')).toBeDefined();
  });

  it("undoes the first backend's creation when the second fails, and stores nothing", async () => {
    reset();
    second.failOn = 'create';
    await expect(service.createInCollection(service.registry.kind(COMPUTE)!, [item('c2')], origin, ctx)).rejects.toThrow('second failed create');
    expect(first.calls).toEqual(['create:/compute/c2:', 'delete:/compute/c2:']);
    expect(await store.get('/compute/c2')).toBeUndefined();
  });

  it('lets the caller prepare its answer while the store writes: with the entities it then returns, each with its revision', async () => {
    reset();
    let seen: Entity[] | undefined;
    let revisionsWhenSeen: (string | undefined)[] | undefined;
    const created = await service.createInCollection(service.registry.kind(COMPUTE)!, [item('w1'), item('w2', 'second')], origin, ctx, undefined, (entities) => {
      seen = entities.map((e) => structuredClone(e));
      // Made while the write is under way: nothing is known of its outcome yet.
      revisionsWhenSeen = entities.map((e) => e.rev);
    });
    expect(revisionsWhenSeen).toEqual([undefined, undefined]);
    expect(seen?.map((e) => e.location)).toEqual(['/compute/w1', '/compute/w2']);
    expect(created.map((e) => e.rev)).toEqual([expect.stringMatching(/^1-/), expect.stringMatching(/^1-/)]);
    expect(created.map(({ rev: _rev, ...rest }) => JSON.parse(JSON.stringify(rest)) as unknown)).toEqual(seen!.map((e) => JSON.parse(JSON.stringify(e)) as unknown));
  });

  it('a failing write drops what was prepared (the creation fails, nothing is stored), and a failing preparation does not fail the creation', async () => {
    reset();
    let prepared = 0;
    await expect(
      service.createInCollection(service.registry.kind(COMPUTE)!, [item('w3'), item('w1')], origin, ctx, undefined, () => {
        prepared += 1;
      }),
    ).rejects.toThrow(/already exists/);
    expect(prepared).toBe(1);
    expect(await store.get('/compute/w3')).toBeUndefined();
    const created = await service.createInCollection(service.registry.kind(COMPUTE)!, [item('w4')], origin, ctx, undefined, () => {
      throw new Error('rendering failed');
    });
    expect(created.map((e) => e.location)).toEqual(['/compute/w4']);
    expect(await store.get('/compute/w4')).toBeDefined();
  });

  it('with an idempotency key, nothing is prepared early: a retry answers with what the first attempt stored', async () => {
    reset();
    let prepared = 0;
    const once = () => (prepared += 1);
    const original = await service.createInCollection(service.registry.kind(COMPUTE)!, [item('k1')], origin, ctx, 'key-1', once);
    const again = await service.createInCollection(service.registry.kind(COMPUTE)!, [item('k1')], origin, ctx, 'key-1', once);
    expect(prepared).toBe(0);
    expect(again.map((e) => e.rev)).toEqual(original.map((e) => e.rev));
  });

  it("undoes both backends' creations when the store write fails", async () => {
    reset();
    await expect(service.createInCollection(service.registry.kind(COMPUTE)!, [item('c1')], origin, ctx)).rejects.toThrow(/already exists/);
    expect(first.calls).toEqual(['create:/compute/c1:', 'delete:/compute/c1:']);
    expect(second.calls).toEqual(['create:/compute/c1:', 'delete:/compute/c1:']);
    expect((await store.get('/compute/c1'))?.title).toBe('c1');
  });
});

describe('update', () => {
  it('leaves the entity as it was when a backend fails', async () => {
    reset();
    second.failOn = 'update';
    await expect(service.update('/compute/c1', item('c1', 'renamed'), undefined, ctx)).rejects.toThrow('second failed update');
    expect((await store.get('/compute/c1'))?.title).toBe('c1');
  });

  it('tells the backends to go back and tries again when a concurrent write wins, losing neither change', async () => {
    reset();
    // While the first backend works, another writer changes the summary in the store.
    first.during = async () => {
      await store.modify('/compute/c1', (e) => ({ ...e, summary: 'concurrent' }));
    };
    const after = await service.update('/compute/c1', item('c1', 'renamed'), undefined, ctx);
    expect(after).toMatchObject({ title: 'renamed', summary: 'concurrent' });
    // First attempt, then going back (after → before), then the second attempt.
    expect(first.calls).toEqual(['update:/compute/c1:c1->renamed', 'update:/compute/c1:renamed->c1', 'update:/compute/c1:c1->renamed']);
    expect(second.calls).toEqual(['update:/compute/c1:c1->renamed', 'update:/compute/c1:renamed->c1', 'update:/compute/c1:c1->renamed']);
  });
});

describe('action', () => {
  it('changes nothing when a backend refuses the action', async () => {
    reset();
    first.failOn = 'action';
    await expect(service.act('/compute/c1', { term: 'start', parameters: {} }, undefined, ctx)).rejects.toThrow('first failed action');
    expect((await store.get('/compute/c1'))?.attributes['occi.compute.state']).toBe('inactive');
  });

  it('runs once and stores its outcome on the fresh entity when a concurrent write wins', async () => {
    reset();
    second.during = async () => {
      await store.modify('/compute/c1', (e) => ({ ...e, summary: 'during the action' }));
    };
    const after = await service.act('/compute/c1', { term: 'start', parameters: {} }, undefined, ctx);
    expect(after.attributes['occi.compute.state']).toBe('active');
    expect(after.summary).toBe('during the action');
    expect(first.calls).toEqual(['action:/compute/c1:start']);
    expect(second.calls).toEqual(['action:/compute/c1:start']);
  });
});

describe('delete', () => {
  it('keeps the entity when a backend fails to delete it', async () => {
    reset();
    second.failOn = 'delete';
    await expect(service.delete('/compute/c1', undefined, ctx)).rejects.toThrow('second failed delete');
    expect(await store.get('/compute/c1')).toBeDefined();
  });

  it('deletes at the backends, then in the store', async () => {
    reset();
    await service.delete('/compute/c1', undefined, ctx);
    expect(first.calls).toEqual(['delete:/compute/c1:']);
    expect(await store.get('/compute/c1')).toBeUndefined();
  });
});
