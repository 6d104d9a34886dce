/**
 * Published descriptions (issue 14): each kind's and mixin's JSON Schema (2020-12) checked with a
 * standard validator against entities the server accepted and refused, and the OpenAPI 3.1
 * document validated before and after a kind is added, changed and removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, fixture, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
const NET = 'http://example.net/occi/network#';
const MIX = 'http://example.net/occi/network/mixin#';

const prefix = freshPrefix('schemas');
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ prefix, overrides: { seedCategories: [] } });
  expect((await call(server.url, 'PUT', '/-/?apply=true', { raw: fixture('operator/model.json') })).status).toBe(200);
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

async function schemaOf(id: string): Promise<Json> {
  const res = await call(server.url, 'GET', `/-/schema?category=${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/schema+json');
  return JSON.parse(res.text) as Json;
}

describe("a kind's published JSON Schema", () => {
  it('is linked from the kind and the mixin in the OCCI rendering', async () => {
    const ocni = { headers: { accept: 'application/occi+json; profile=ocni' } };
    const res = (await call(server.url, 'GET', `/-/?category=${encodeURIComponent(`${NET}router`)}`, ocni)).json as { kinds: Json[] };
    expect(res.kinds[0]!.schema).toBe(`/-/schema?category=${encodeURIComponent(`${NET}router`)}`);
    const mixin = (await call(server.url, 'GET', `/-/?category=${encodeURIComponent(`${MIX}bgp`)}`, ocni)).json as { mixins: Json[] };
    expect(mixin.mixins[0]!.schema).toContain('/-/schema?category=');
    // GFD.226's plain profile has no member for it.
    const plain = (await call(server.url, 'GET', `/-/?category=${encodeURIComponent(`${NET}router`)}`)).json as { kinds: Json[] };
    expect(plain.kinds[0]).not.toHaveProperty('schema');
    expect(plain.kinds[0]).not.toHaveProperty('generation');
    expect((await call(server.url, 'GET', `/-/schema?category=${encodeURIComponent('http://nowhere#x')}`)).status).toBe(404);
  });

  it('accepts what the server accepts and refuses what it refuses', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const router = ajv.compile(await schemaOf(`${NET}router`));
    const schema = await schemaOf(`${NET}router`);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const attributes = (schema.properties as Json).attributes as { properties: Json; required: string[] };
    // Inherited from the parent kind, flat by OCCI name, with types, ranges, patterns and defaults.
    expect(attributes.required).toEqual(['net.device.hostname']);
    expect(attributes.properties['net.router.asn']).toMatchObject({ type: 'number', default: 65000, allOf: [{ type: 'integer', minimum: 1, maximum: 4294967295 }] });
    const cases: [string, Json][] = [
      ['ok-minimal', { attributes: { 'net.device.hostname': 'edge-1' } }],
      ['ok-full', { attributes: { 'net.device.hostname': 'edge-2', 'net.router.asn': 65010, 'net.device.vendor': 'juniper' } }],
      ['bad-type', { attributes: { 'net.device.hostname': 'edge-3', 'net.router.asn': 'sixty' } }],
      ['bad-range', { attributes: { 'net.device.hostname': 'edge-4', 'net.router.asn': 0 } }],
      ['bad-integer', { attributes: { 'net.device.hostname': 'edge-5', 'net.router.asn': 1.5 } }],
      ['bad-required', { attributes: { 'net.router.asn': 65011 } }],
      ['bad-pattern', { attributes: { 'net.device.hostname': 'Edge_6' } }],
    ];
    for (const [id, entity] of cases) {
      const body = { kind: `${NET}router`, id, ...entity };
      const res = await call(server.url, 'PUT', `/router/${id}`, { body });
      const accepted = res.status === 201;
      expect(res.status === 201 || res.status === 400, `${id}: ${res.status} ${res.text}`).toBe(true);
      expect(router(body), `${id}: the schema and the server disagree (server ${res.status})`).toBe(accepted);
      expect(accepted).toBe(id.startsWith('ok'));
    }
  });

  it("a mixin's schema holds its own and its dependencies' attributes", async () => {
    const ajv = new Ajv2020({ strict: false });
    const bgp = ajv.compile(await schemaOf(`${MIX}bgp`));
    const valid = { attributes: { 'net.bgp.hold_time': 30, 'net.routing.router_id': '10.0.0.1' } };
    const invalid = { attributes: { 'net.bgp.hold_time': 1 } };
    const badId = { attributes: { 'net.routing.router_id': 'ten' } };
    expect(bgp(valid)).toBe(true);
    expect(bgp(invalid)).toBe(false);
    expect(bgp(badId)).toBe(false);
    for (const [id, body, expected] of [
      ['m-ok', valid, 201],
      ['m-bad', invalid, 400],
      ['m-badid', badId, 400],
    ] as const) {
      const res = await call(server.url, 'PUT', `/router/${id}`, { body: { kind: `${NET}router`, mixins: [`${MIX}bgp`], attributes: { 'net.device.hostname': id, ...body.attributes } } });
      expect(res.status, res.text).toBe(expected);
    }
  });
});

describe('/openapi.json', () => {
  const openapi = async () => {
    const res = await call(server.url, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json as { openapi: string; paths: Record<string, Json>; components: { schemas: Record<string, Json> } };
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Every $ref resolves inside the document, and every schema compiles as 2020-12.
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'https://ocni.test/openapi', components: doc.components }, 'openapi');
    for (const name of Object.keys(doc.components.schemas)) expect(() => ajv.getSchema(`https://ocni.test/openapi#/components/schemas/${name}`), name).not.toThrow();
    return doc;
  };
  const attributesAt = (doc: Awaited<ReturnType<typeof openapi>>, path: string) => {
    const ref = ((((doc.paths[path]!.get as Json).responses as Json)['200'] as Json).content as Record<string, { schema: { $ref: string } }>)['application/occi+json']!.schema.$ref;
    return ((doc.components.schemas[ref.split('/').pop()!]!.properties as Json).attributes as { properties: Json }).properties;
  };

  it('is valid OpenAPI 3.1 before and after a kind is added, changed and removed', async () => {
    const before = await openapi();
    expect(before.openapi).toBe('3.1.0');
    for (const path of ['/-/', '/-/schema', '/compute/', '/compute/{id}', '/router/', '/router/{id}', '/mixin/bgp/']) expect(before.paths, path).toHaveProperty([path]);
    expect(before.paths).not.toHaveProperty(['/firewall/{id}']);

    const firewall = { scheme: NET, term: 'firewall', location: '/firewall/', attributes: { 'net.fw.rules': { type: 'number', mutable: true, required: false, pattern: { maximum: 100 } } } };
    expect((await call(server.url, 'POST', '/-/', { body: { kinds: [firewall] } })).status).toBe(200);
    const added = await openapi();
    expect(attributesAt(added, '/firewall/{id}')['net.fw.rules']).toMatchObject({ type: 'number', allOf: [{ maximum: 100 }] });
    // The component is the published schema itself.
    const ref = ((((added.paths['/firewall/{id}']!.get as Json).responses as Json)['200'] as Json).content as Record<string, { schema: { $ref: string } }>)['application/occi+json']!.schema.$ref;
    const { $schema: _d, $id: _i, ...published } = await schemaOf(`${NET}firewall`);
    expect(added.components.schemas[ref.split('/').pop()!]).toEqual(published);

    const changed = {
      ...firewall,
      attributes: { 'net.fw.rules': { type: 'number', mutable: true, required: false, pattern: { maximum: 1000 } }, 'net.fw.zone': { type: 'string', mutable: true, required: false } },
    };
    expect((await call(server.url, 'PUT', '/-/', { body: { kinds: [changed] } })).status).toBe(200);
    const after = await openapi();
    expect(attributesAt(after, '/firewall/{id}')['net.fw.rules']).toMatchObject({ allOf: [{ maximum: 1000 }] });
    expect(attributesAt(after, '/firewall/{id}')).toHaveProperty(['net.fw.zone']);

    expect((await call(server.url, 'DELETE', '/-/', { body: { kinds: [`${NET}firewall`] } })).status).toBe(200);
    const removed = await openapi();
    expect(removed.paths).not.toHaveProperty(['/firewall/']);
  });
});
