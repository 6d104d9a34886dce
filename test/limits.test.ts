import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { hashToken } from '../src/auth/authenticate.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const prefix = freshPrefix('limits');
let s: RunningServer;
beforeAll(async () => {
  s = await startTestServer({ prefix, overrides: { limits: { bodyBytes: 8192, itemsPerRequest: 3, pageSizeMax: 5, headerBytes: 4096, attributeValueBytes: 64, filterTerms: 3 } } });
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

describe('configurable limits, each with a clear error', () => {
  it('body size: 413', async () => {
    const res = await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, title: 'x'.repeat(10_000) } });
    expect(res.status).toBe(413);
  });

  it('header size: 431 from Node, and the server stays up', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/-/`, { headers: { 'x-padding': 'y'.repeat(6000) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect((await call(s.url, 'GET', '/-/?class=kind')).status).toBe(200);
  });

  it('items per request: 413, nothing created', async () => {
    const res = await call(s.url, 'POST', '/compute/', { body: { resources: [1, 2, 3, 4].map((i) => ({ kind: COMPUTE, id: `many${i}` })) } });
    expect(res.status).toBe(413);
    expect((res.json as Json).detail).toContain('at most 3');
    expect((await call(s.url, 'GET', '/compute/many1')).status).toBe(404);
  });

  it('page size: 413 above the maximum', async () => {
    expect((await call(s.url, 'GET', '/compute/?number=6')).status).toBe(413);
    expect((await call(s.url, 'GET', '/compute/?number=5')).status).toBe(200);
  });

  it('attribute value length: 400 naming the attribute', async () => {
    const res = await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, attributes: { 'occi.compute.hostname': `${'h'.repeat(80)}.example.org` } } });
    expect(res.status).toBe(400);
    expect((res.json as { errors: { pointer: string; detail: string }[] }).errors[0]).toEqual({ pointer: '/attributes/occi.compute.hostname', detail: 'is longer than the limit of 64 bytes' });
  });

  it('filter complexity: 400 above the limit of conditions', async () => {
    const ok = await call(s.url, 'GET', '/compute/?attribute=occi.compute.cores&value=1&attribute=occi.compute.memory&value=2');
    expect(ok.status).toBe(200);
    const res = await call(s.url, 'GET', '/compute/', {
      body: { resources: [{ attributes: { 'occi.compute.cores': 1, 'occi.compute.memory': 2 } }, { attributes: { 'occi.compute.cores': 3, 'occi.compute.speed': 1 } }] },
    });
    expect(res.status).toBe(400);
    expect((res.json as Json).detail).toContain('more than the limit of 3');
  });
});

describe('per-tenant quotas', () => {
  const quotaPrefix = freshPrefix('quotas');
  let q: RunningServer;
  const as = (token: string) => ({ 'x-auth-token': token });
  beforeAll(async () => {
    q = await startTestServer({
      prefix: quotaPrefix,
      overrides: {
        limits: { tagsPerTenant: 3, entitiesPerTenant: 4 },
        auth: {
          mode: 'static',
          users: [
            { name: 'alice', token: hashToken('alice-q') },
            { name: 'bob', token: hashToken('bob-q') },
            { name: 'olga', operator: true, token: hashToken('olga-q') },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await q.close();
    await dropDatabases(quotaPrefix);
  });
  const tag = (term: string) => ({ mixins: [{ term, scheme: 'http://example.com/tags#', location: `/tags/${term}/`, attributes: { 'x.note': { type: 'string', pattern: '^[a-z]*$' } } }] });

  it('tags: 403 naming the quota once a tenant owns tagsPerTenant mixins; others are not affected', async () => {
    for (const term of ['a1', 'a2', 'a3']) expect((await call(q.url, 'POST', '/-/', { body: tag(term), headers: as('alice-q') })).status).toBe(200);
    const over = await call(q.url, 'POST', '/-/', { body: tag('a4'), headers: as('alice-q') });
    expect(over.status).toBe(403);
    expect((over.json as Json).detail).toBe('quota: tenant "alice" owns 3 mixins (tags); 1 more would exceed its limit of 3 (limits.tagsPerTenant)');
    // Nothing was added; a batch that would cross the limit is refused whole.
    expect(((await call(q.url, 'GET', '/-/?class=mixin', { headers: as('alice-q') })).json as { mixins: Json[] }).mixins.filter((m) => m.scheme === 'http://example.com/tags#')).toHaveLength(3);
    expect((await call(q.url, 'POST', '/-/', { body: { mixins: [...tag('b1').mixins, ...tag('b2').mixins, ...tag('b3').mixins, ...tag('b4').mixins] }, headers: as('bob-q') })).status).toBe(403);
    expect((await call(q.url, 'POST', '/-/', { body: tag('b1'), headers: as('bob-q') })).status).toBe(200);
    // Deleting one frees room.
    expect((await call(q.url, 'DELETE', '/-/', { body: { mixins: ['http://example.com/tags#a1'] }, headers: as('alice-q') })).status).toBe(200);
    expect((await call(q.url, 'POST', '/-/', { body: tag('a4'), headers: as('alice-q') })).status).toBe(200);
    // Operators' mixins are not a tenant's tags.
    expect((await call(q.url, 'POST', '/-/', { body: tag('o1'), headers: as('olga-q') })).status).toBe(200);
  });

  it('entities: 403 naming the quota on every way of creating, counted per tenant', async () => {
    expect(
      (
        await call(q.url, 'POST', '/compute/', {
          body: {
            resources: [
              { kind: COMPUTE, id: 'a-1' },
              { kind: COMPUTE, id: 'a-2' },
            ],
          },
          headers: as('alice-q'),
        })
      ).status,
    ).toBe(201);
    expect((await call(q.url, 'PUT', '/compute/a-3', { body: { kind: COMPUTE }, headers: as('alice-q') })).status).toBe(201);
    // A batch that would cross the limit creates nothing.
    const batch = await call(q.url, 'POST', '/compute/', {
      body: {
        resources: [
          { kind: COMPUTE, id: 'a-4' },
          { kind: COMPUTE, id: 'a-5' },
        ],
      },
      headers: as('alice-q'),
    });
    expect(batch.status).toBe(403);
    expect((batch.json as Json).detail).toBe('quota: tenant "alice" owns 3 entities; 2 more would exceed its limit of 4 (limits.entitiesPerTenant)');
    expect((await call(q.url, 'GET', '/compute/a-4', { headers: as('alice-q') })).status).toBe(404);
    expect((await call(q.url, 'PUT', '/compute/a-4', { body: { kind: COMPUTE }, headers: as('alice-q') })).status).toBe(201);
    expect((await call(q.url, 'PUT', '/compute/a-5', { body: { kind: COMPUTE }, headers: as('alice-q') })).status).toBe(403);
    // Bob's count is his own; deleting frees room; operators are not counted.
    expect((await call(q.url, 'PUT', '/compute/b-1', { body: { kind: COMPUTE }, headers: as('bob-q') })).status).toBe(201);
    expect((await call(q.url, 'DELETE', '/compute/a-1', { headers: as('alice-q') })).status).toBe(204);
    expect((await call(q.url, 'PUT', '/compute/a-5', { body: { kind: COMPUTE }, headers: as('alice-q') })).status).toBe(201);
    for (let i = 0; i < 6; i += 1) expect((await call(q.url, 'PUT', `/compute/o-${i}`, { body: { kind: COMPUTE }, headers: as('olga-q') })).status).toBe(201);
  });
});
