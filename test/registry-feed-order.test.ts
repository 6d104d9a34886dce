/**
 * The registry applies changes-feed events by revision (issue 11): the feed carries a deletion's
 * revision, and an "add" event delivered after the deletion it precedes (a slow feed, a commit's
 * own echo arriving late) never brings the category back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CategoryEvent } from '../src/registry/persistence.ts';
import { applyEvent } from '../src/registry/category-manager.ts';
import { loadBuiltinCategories } from '../src/registry/builtins.ts';
import { CategoryRegistry } from '../src/registry/registry.ts';
import type { RunningServer } from '../src/server.ts';
import { CategoryStore } from '../src/store/category-store.ts';
import { CouchClient } from '../src/store/couch.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const SCHEME = 'http://example.com/feed#';
const ID = `${SCHEME}brief`;
const prefix = freshPrefix('feedorder');
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.close();
  await dropDatabases(prefix);
});

describe('changes-feed events by revision', () => {
  it('a deletion read from the feed keeps a late add of the deleted category out', { timeout: 20_000 }, async () => {
    server = await startTestServer({ prefix });
    const store = new CategoryStore(new CouchClient({ url: couchUrl(), requestTimeoutMs: 5000 }), `${prefix}categories`);
    const { since } = await store.load();
    expect((await call(server.url, 'POST', '/-/', { body: { mixins: [{ term: 'brief', scheme: SCHEME, location: '/brief/' }] } })).status).toBe(200);
    expect((await call(server.url, 'DELETE', '/-/', { body: { mixins: [ID] } })).status).toBeLessThan(300);

    const events: CategoryEvent[] = [];
    store.follow(
      since,
      (event) => events.push(event),
      () => undefined,
      200,
    );
    try {
      for (let i = 0; i < 100 && !events.some((e) => e.type === 'category-deleted'); i += 1) await new Promise((r) => setTimeout(r, 50));
    } finally {
      store.stop();
    }
    const deletion = events.find((e) => e.type === 'category-deleted' && e.id === ID);
    expect(deletion).toBeDefined();
    expect(deletion!.type === 'category-deleted' && deletion!.rev).toMatch(/^2-/);

    // The add, as it was before the deletion, delivered after it.
    const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
    const add: CategoryEvent = {
      type: 'category',
      category: { class: 'mixin', scheme: SCHEME, term: 'brief', location: '/brief/', depends: [], applies: [], actions: [], attributes: {} },
      rev: '1-late',
    };
    applyEvent(registry, add);
    expect(applyEvent(registry, deletion!)).toBe(true);
    expect(applyEvent(registry, add)).toBe(false);
    expect(registry.has(ID)).toBe(false);
  });
});
