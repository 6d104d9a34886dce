import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
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
    const res = await call(s.url, 'GET', '/compute/', { body: { resources: [{ attributes: { 'occi.compute.cores': 1, 'occi.compute.memory': 2 } }, { attributes: { 'occi.compute.cores': 3, 'occi.compute.speed': 1 } }] } });
    expect(res.status).toBe(400);
    expect((res.json as Json).detail).toContain('more than the limit of 3');
  });
});
