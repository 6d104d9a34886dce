import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const prefix = freshPrefix('paths');
let s: RunningServer;

beforeAll(async () => {
  s = await startTestServer({ prefix });
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

/** One request with the path sent exactly as given (a URL object would resolve `..` and `%2e`). */
function asWritten(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const { hostname, port } = new URL(s.url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { accept: 'application/occi+json' };
  if (text !== undefined) Object.assign(headers, { 'content-type': 'application/occi+json', 'content-length': String(Buffer.byteLength(text)) });
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      let got = '';
      res.on('data', (d: Buffer) => (got += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: (got ? JSON.parse(got) : {}) as Json }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('one entity, one path', () => {
  it.each([
    ['/compute/%41', '/compute/A', '/compute/A'],
    ['/compute/caf%C3%A9', '/compute/cafe%CC%81', '/compute/caf%C3%A9'],
    ['/compute/%7Ex', '/compute/~x', '/compute/~x'],
    ['/compute/l%c3%a4', '/compute/l%C3%A4', '/compute/l%C3%A4'],
  ])('%s and %s are one entity (%s)', async (first, second, normal) => {
    const created = await call(s.url, 'PUT', first, { body: { kind: COMPUTE, title: first } });
    expect(created.status).toBe(201);
    const again = await call(s.url, 'PUT', second, { body: { kind: COMPUTE, title: second } });
    expect(again.status).toBe(200);
    const read = await call(s.url, 'GET', first);
    expect(read.status).toBe(200);
    expect((read.json as Json).title).toBe(second);
    expect(read.json).toEqual((await call(s.url, 'GET', second)).json);
    // The location says the normal form.
    expect(created.headers.get('location')).toBe(`${s.url}${normal}`);
  });

  it('gives a client id its normal form too', async () => {
    const created = await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: '%42vm' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${s.url}/compute/Bvm`);
    expect((await call(s.url, 'GET', '/compute/Bvm')).status).toBe(200);
    const twice = await call(s.url, 'POST', '/compute/', { body: { kind: COMPUTE, id: 'Bvm' } });
    expect(twice.status).toBe(409);
  });

  it('reads link ends in their normal form', async () => {
    await call(s.url, 'PUT', '/storage/disk1', { body: { kind: `${INFRA}storage`, attributes: { 'occi.storage.size': 1 } } });
    const link = await call(s.url, 'POST', '/storagelink/', {
      body: { kind: `${INFRA}storagelink`, id: 'sl1', source: '/compute/%41', target: '/storage/%64isk1', attributes: { 'occi.storagelink.deviceid': 'vdb' } },
    });
    expect(link.status).toBe(201);
    const read = (await call(s.url, 'GET', '/storagelink/sl1')).json as { source: { location: string }; target: { location: string } };
    expect(JSON.stringify(read)).toContain('/storage/disk1');
    expect(JSON.stringify(read)).toContain('/compute/A');
  });

  it.each(['/compute/%00', '/compute/x%00', '/compute/%ZZ', '/compute/%C3%28', '/compute/a%2Fb', '/compute/%2e%2e/x', '/compute/%2E', '/compute/../x', '/%2e%2e/'])(
    '%s is refused with 400 on every verb, and nothing is stored',
    async (bad) => {
      const before = ((await call(s.url, 'GET', '/')).json as { resources: Json[] }).resources.length;
      for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
        const res = await asWritten(method, bad, method === 'PUT' || method === 'POST' ? { kind: COMPUTE } : undefined);
        expect(res.status, `${method} ${bad}`).toBe(400);
        expect(res.json.detail).toMatch(/request path/);
      }
      expect(((await call(s.url, 'GET', '/')).json as { resources: Json[] }).resources.length).toBe(before);
    },
  );

  it('normalises category locations and refuses those without a normal form', async () => {
    const scheme = 'http://example.com/paths#';
    const bad = await call(s.url, 'POST', '/-/', { body: { mixins: [{ term: 'dots', scheme, location: '/%2e%2e/' }] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('/mixins/0/location');
    const slash = await call(s.url, 'POST', '/-/', { body: { mixins: [{ term: 'slash', scheme, location: '/a%2Fb/' }] } });
    expect(slash.status).toBe(400);
    const good = await call(s.url, 'POST', '/-/', { body: { mixins: [{ term: 'tilde', scheme, location: '/tags/%7Etilde/' }] } });
    expect(good.status).toBe(200);
    expect(JSON.stringify(good.json)).toContain('"/tags/~tilde/"');
    // The same location however it is written.
    const taken = await call(s.url, 'POST', '/-/', { body: { mixins: [{ term: 'other', scheme, location: '/tags/~tilde/' }] } });
    expect(taken.status).toBe(409);
    expect((await call(s.url, 'POST', '/tags/%7etilde/', { body: { 'X-OCCI-Location': ['/compute/A'] } })).status).toBe(200);
    expect(((await call(s.url, 'GET', '/tags/~tilde/')).json as { resources: Json[] }).resources.map((r) => r.id)).toEqual(['A']);
  });
});
