/**
 * Every filter input path (JSON filter body, OCCI text filter lines, `?attribute=&value=`,
 * `?category=`) with the value shapes Apache CouchDB 3 refused or crashed on when ocni sent them as
 * Mango selectors (issue 11, item 3): arrays and objects holding multi-key objects, `null` inside an
 * array, arrays inside arrays, an empty attribute name, odd names. Each answers a correct match or
 * a clear 400, never a store error passed on as 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer, type TestResponse } from './support/harness.ts';

const SCHEME = 'http://example.com/shape#';
const SHAPE = `${SCHEME}shape`;
const prefix = freshPrefix('shapes');
let s: RunningServer;

const definitions = {
  'ex.list': { type: 'array', mutable: true },
  'ex.obj': { type: 'object', mutable: true },
  'ex.n': { type: 'number', mutable: true },
  'ex.s': { type: 'string', mutable: true },
};
const entities: Record<string, Record<string, unknown>> = {
  multi: { 'ex.list': [{ a: 1, b: 2 }], 'ex.obj': { a: 1, b: [2, 3] } },
  nulls: { 'ex.list': [null, 1] },
  nested: { 'ex.list': [[1, 2], [3]] },
  empty: { 'ex.list': [], s: 1 },
  plain: { 'ex.n': 5, 'ex.s': 'x' },
};

/** The ids a collection answer holds, sorted. */
function ids(res: TestResponse): string[] {
  expect(res.status, res.text).toBe(200);
  const body = res.json as { resources?: { id: string }[] };
  return (body.resources ?? []).map((r) => r.id).sort();
}

const byJson = (filter: unknown) => call(s.url, 'GET', '/shape/', { body: filter });

beforeAll(async () => {
  s = await startTestServer({ prefix });
  const added = await call(s.url, 'POST', '/-/', { body: { kinds: [{ term: 'shape', scheme: SCHEME, location: '/shape/', attributes: definitions }] } });
  expect(added.status, added.text).toBe(200);
  for (const [id, attributes] of Object.entries(entities)) {
    const { s: _unused, ...defined } = attributes;
    const res = await call(s.url, 'PUT', `/shape/${id}`, { body: { kind: SHAPE, attributes: defined } });
    expect(res.status, res.text).toBe(201);
  }
});

afterAll(async () => {
  await s?.close();
  await dropDatabases(prefix);
});

describe('JSON filter bodies with array and object values', () => {
  it.each([
    ['a multi-key object inside an array', { 'ex.list': [{ a: 1, b: 2 }] }, ['multi']],
    ['a null inside an array', { 'ex.list': [null, 1] }, ['nulls']],
    ['an array inside an array', { 'ex.list': [[1, 2], [3]] }, ['nested']],
    ['an empty array', { 'ex.list': [] }, ['empty']],
    ['an array that no entity holds', { 'ex.list': [null, [null, {}], { x: null, y: [[]] }] }, []],
    ['an empty attribute name', { '': 'x' }, []],
  ])('%s matches exactly the entities holding it', async (_label, attributes, expected) => {
    expect(ids(await byJson({ resources: [{ attributes }] }))).toEqual(expected);
  });
});

describe('objects are JSON values: key order does not matter', () => {
  it('a multi-key object matches whatever order its keys are given in, in an array or as an object-typed attribute', async () => {
    expect(ids(await byJson({ resources: [{ attributes: { 'ex.list': [{ b: 2, a: 1 }] } }] }))).toEqual(['multi']);
    // An object-typed attribute keeps its object (it is not a namespace of `ex.obj.a`, `ex.obj.b`).
    expect(ids(await byJson({ resources: [{ attributes: { 'ex.obj': { b: [2, 3], a: 1 } } }] }))).toEqual(['multi']);
    expect(ids(await byJson({ resources: [{ attributes: { ex: { obj: { a: 1, b: [2, 3] } } } }] }))).toEqual(['multi']);
    expect(ids(await byJson({ resources: [{ attributes: { 'ex.obj': { a: 1, b: [3, 2] } } }] }))).toEqual([]);
  });

  it('an empty object is a value that matches what holds it, not a namespace that matches everything', async () => {
    expect(ids(await byJson({ resources: [{ attributes: { 'ex.nothing': {} } }] }))).toEqual([]);
  });
});

describe('names and values no view key can carry are refused with 400, never a store error', () => {
  const refused = (res: TestResponse, words: string) => {
    expect(res.status, res.text).toBe(400);
    expect((res.json as { detail: string }).detail).toContain(words);
  };

  it('a number out of range (JSON 1e400 is Infinity), in the body or the query string', async () => {
    refused(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"attributes":{"ex.n":[1, 1e400]}}]}' }), 'number out of range');
    refused(await call(s.url, 'GET', `/shape/?attribute=ex.q&value=${'9'.repeat(400)}`), 'number out of range');
  });

  it('a lone surrogate in a value, an attribute name, a kind or a mixin', async () => {
    refused(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"attributes":{"ex.s":"\\ud800"}}]}' }), 'lone surrogate');
    refused(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"attributes":{"ex.\\udc00":1}}]}' }), 'lone surrogate');
    refused(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"kind":"\\ud800"}]}' }), 'lone surrogate');
    refused(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"mixins":["x\\ud800"]}]}' }), 'lone surrogate');
    // A pair is a code point like any other.
    expect(ids(await call(s.url, 'GET', '/shape/', { raw: '{"resources":[{"attributes":{"ex.s":"\\ud83d\\ude00"}}]}' }))).toEqual([]);
  });

  it('a kind, mixin or attribute name too long to go into a key', async () => {
    refused(await byJson({ resources: [{ mixins: ['m'.repeat(100_000)] }] }), 'longer than');
    refused(await byJson({ resources: [{ kind: 'k'.repeat(100_000) }] }), 'longer than');
    refused(await byJson({ resources: [{ attributes: { ['n'.repeat(100_000)]: 1 } }] }), 'longer than');
  });

  it('a value nested deeper than the bound, in time linear in its size', async () => {
    const deep = `{"resources":[{"attributes":{"ex.list":${'['.repeat(5000)}${']'.repeat(5000)}}}]}`;
    refused(await call(s.url, 'GET', '/shape/', { raw: deep }), 'nested');
    refused(await byJson({ resources: [{ attributes: { 'ex.list': JSON.parse('['.repeat(80) + ']'.repeat(80)) as unknown } }] }), 'nested');
  });
});

describe('the query string and text filter lines', () => {
  it('?attribute=&value= (an empty name) matches nothing, with 200', async () => {
    expect(ids(await call(s.url, 'GET', '/shape/?attribute=&value='))).toEqual([]);
    expect(ids(await call(s.url, 'GET', '/shape/?attribute=&value=x'))).toEqual([]);
  });

  it('odd names and values from the query string are matched, not sent as selectors', async () => {
    expect(ids(await call(s.url, 'GET', `/shape/?attribute=${encodeURIComponent('__proto__')}&value=1`))).toEqual([]);
    expect(ids(await call(s.url, 'GET', `/shape/?attribute=${encodeURIComponent('$or')}&value=${encodeURIComponent('[{"a":1}]')}`))).toEqual([]);
    expect(ids(await call(s.url, 'GET', '/shape/?attribute=ex.n&value=5'))).toEqual(['plain']);
    expect(ids(await call(s.url, 'GET', '/shape/?attribute=ex.s&value=x'))).toEqual(['plain']);
  });

  it('?category= empty is no filter; one naming no category is a 400', async () => {
    expect(ids(await call(s.url, 'GET', '/shape/?category='))).toEqual(Object.keys(entities).sort());
    expect((await call(s.url, 'GET', `/shape/?category=${encodeURIComponent('[{"a":1}]')}`)).status).toBe(400);
  });

  it('text filter lines with an empty name are a 400; their values are matched', async () => {
    const text = (attribute: string) => call(s.url, 'GET', '/shape/', { headers: { 'content-type': 'text/occi', 'x-occi-attribute': attribute } });
    expect((await text('="x"')).status).toBe(400);
    expect(ids(await text('ex.s="x"'))).toEqual(['plain']);
    expect(ids(await text('ex.n=5'))).toEqual(['plain']);
  });
});
