/**
 * Attribute patterns and category definitions as a hostile or careless client may write them
 * (issue 12 items 2, 3, 11, 12; issue 9 item 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { whileProbing } from './support/stall.ts';

type Json = Record<string, unknown>;
type Problem = { errors?: { pointer: string; detail: string }[]; detail?: string };
const SCHEME = 'http://example.org/patterns#';
const RESOURCE = 'http://schemas.ogf.org/occi/core#resource';
const prefix = freshPrefix('patterns');
let s: RunningServer;

beforeAll(async () => {
  s = await startTestServer({ prefix });
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

/** A kind (OCCI 1.2 JSON) with one attribute `ex.<term>.v` of the given definition. */
function kind(term: string, definition: Json, extra: Json = {}): Json {
  return { term, scheme: SCHEME, title: term, location: `/${term}/`, parent: RESOURCE, attributes: { [`ex.${term}.v`]: { type: 'string', mutable: true, ...definition } }, ...extra };
}

async function addKind(term: string, definition: Json, extra: Json = {}) {
  return call(s.url, 'POST', '/-/', { body: { kinds: [kind(term, definition, extra)] } });
}

async function create(term: string, value: unknown) {
  return call(s.url, 'POST', `/${term}/`, { body: { kind: `${SCHEME}${term}`, attributes: { [`ex.${term}.v`]: value } } });
}

function detail(res: { json: unknown }): string {
  const problem = res.json as Problem;
  return [problem.detail ?? '', ...(problem.errors ?? []).map((e) => `${e.pointer} ${e.detail}`)].join('\n');
}

describe('client patterns run on a linear-time engine (issue 12 item 2)', () => {
  it('a catastrophic JSON Schema pattern and a pyOCNI regex against values at the maximum body size: no stall', async () => {
    expect((await addKind('evil', { pattern: { type: 'string', pattern: '(a+)+$' } })).status).toBe(200);
    // pyOCNI's vocabulary: nested attributes, pattern as a regex string.
    const tag = { term: 'evil-tag', scheme: SCHEME, location: '/evil-tag/', attributes: { ex: { tag: { v: { type: 'string', pattern: '^(a|a)*$' } } } } };
    expect((await call(s.url, 'POST', '/-/', { body: { mixins: [tag] } })).status).toBe(200);
    const valueBytes = s.services.config.limits.attributeValueBytes;
    const value = `${'a'.repeat(valueBytes - 64)}!`;
    const count = Math.floor(s.services.config.limits.bodyBytes / (valueBytes * 2)) - 1;
    const resources = Array.from({ length: count }, () => ({ kind: `${SCHEME}evil`, mixins: [`${SCHEME}evil-tag`], attributes: { 'ex.evil.v': `${'a'.repeat(valueBytes - 64)}`, 'ex.tag.v': value } }));
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () => call(s.url, 'POST', '/evil/', { body: { resources } }));
    expect(result.status).toBe(400);
    expect(detail(result)).toContain('ex.tag.v');
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
    expect(report.slowestProbeMs).toBeLessThan(report.boundMs * 2);
    // The same patterns still accept what they describe.
    const ok = await call(s.url, 'POST', '/evil/', { body: { kind: `${SCHEME}evil`, mixins: [`${SCHEME}evil-tag`], attributes: { 'ex.evil.v': 'aaa', 'ex.tag.v': 'aaaa' } } });
    expect(ok.status).toBe(201);
  });

  it('patterns RE2 cannot run (backreferences, lookaround) are refused with 400 naming them', async () => {
    const backref = await addKind('backref', { pattern: { type: 'string', pattern: '(a)\\1' } });
    expect(backref.status).toBe(400);
    expect(detail(backref)).toContain('(a)\\\\1');
    expect(detail(backref)).toContain('linear-time engine');
    const lookahead = await call(s.url, 'POST', '/-/', {
      body: { mixins: [{ term: 'look', scheme: SCHEME, location: '/look/', attributes: { ex: { look: { type: 'string', pattern: '(?=a)a' } } } }] },
    });
    expect(lookahead.status).toBe(400);
    expect(detail(lookahead)).toContain('(?=a)a');
    const inProperties = await addKind('propnames', { type: 'object', pattern: { type: 'object', patternProperties: { '^(x)\\1$': {} } } });
    expect(inProperties.status).toBe(400);
    expect(detail(inProperties)).toContain('patternProperties');
    expect((await call(s.url, 'GET', '/-/?class=kind')).text).not.toContain(`${SCHEME}backref`);
  });

  it('a quadratic uniqueItems over arbitrary items is refused; over scalars it is kept', async () => {
    const bad = await addKind('uniq', { type: 'array', pattern: { type: 'array', uniqueItems: true } });
    expect(bad.status).toBe(400);
    expect(detail(bad)).toContain('uniqueItems');
    expect((await addKind('uniq-ok', { type: 'array', pattern: { type: 'array', uniqueItems: true, items: { type: 'string' } } })).status).toBe(200);
    expect((await create('uniq-ok', ['a', 'a'])).status).toBe(400);
    expect((await create('uniq-ok', ['a', 'b'])).status).toBe(201);
  });
});

describe('regex strings are anchored, JSON Schema patterns are not (issue 9 item 1)', () => {
  it('pyOCNI patterns constrain the whole value', async () => {
    const categories = {
      kinds: [{ term: 'named', scheme: SCHEME, location: '/named/', related: [RESOURCE], attributes: { ex: { named: { v: { type: 'string', pattern: '[a-z][a-z0-9-]*' } } } } }],
      mixins: [{ term: 'stateful', scheme: SCHEME, location: '/stateful/', attributes: { ex: { stateful: { v: { type: 'string', pattern: 'inactive|active|suspended|failed' } } } } }],
    };
    expect((await call(s.url, 'POST', '/-/', { body: categories })).status).toBe(200);
    expect((await create('named', 'Bad Name!')).status).toBe(400);
    const good = await create('named', 'good-name-1');
    expect(good.status, good.text).toBe(201);
    const entity = (state: string) => ({ kind: `${SCHEME}named`, mixins: [`${SCHEME}stateful`], attributes: { 'ex.named.v': 'n', 'ex.stateful.v': state } });
    expect((await call(s.url, 'POST', '/named/', { body: entity('not-inactive-at-all') })).status).toBe(400);
    expect((await call(s.url, 'POST', '/named/', { body: entity('active') })).status).toBe(201);
  });

  it("GFD.226 JSON Schema patterns keep JSON Schema's unanchored meaning", async () => {
    expect((await addKind('loose', { pattern: { type: 'string', pattern: '[a-z]+' } })).status).toBe(200);
    const loose = await create('loose', 'Bad name!');
    expect(loose.status, loose.text).toBe(201);
    expect((await create('loose', 'BAD NAME!')).status).toBe(400);
  });

  it('patterns that declare draft-04, draft-07 or 2020-12 are accepted and mean what their draft says', async () => {
    // draft-04: a boolean exclusiveMaximum; draft-07 and 2020-12: a number.
    const d4 = await addKind('d4', { type: 'number', pattern: { $schema: 'http://json-schema.org/draft-04/schema#', type: 'number', maximum: 10, exclusiveMaximum: true } });
    expect(d4.status).toBe(200);
    expect((await create('d4', 10)).status).toBe(400);
    expect((await create('d4', 9)).status).toBe(201);
    const d7 = await addKind('d7', { type: 'number', pattern: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'number', exclusiveMaximum: 10 } });
    expect(d7.status).toBe(200);
    expect((await create('d7', 10)).status).toBe(400);
    const d2020 = await addKind('d2020', { type: 'array', pattern: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'string' }], items: false } });
    expect(d2020.status).toBe(200);
    expect((await create('d2020', ['a', 'b'])).status).toBe(400);
    expect((await create('d2020', ['a'])).status).toBe(201);
    const unknown = await addKind('d99', { pattern: { $schema: 'http://example.org/my-schema#', type: 'string' } });
    expect(unknown.status).toBe(400);
    expect(detail(unknown)).toContain('$schema');
  });
});

describe('a pattern is self-contained (issue 12 item 3)', () => {
  it('refuses references outside the pattern, keeps references inside it', async () => {
    expect((await addKind('target', { pattern: { $id: 'http://example.org/shared-pattern', type: 'string', definitions: { short: { maxLength: 3 } }, $ref: '#/definitions/short' } })).status).toBe(
      200,
    );
    const outside = await addKind('outside', { pattern: { $ref: 'http://example.org/shared-pattern' } });
    expect(outside.status).toBe(400);
    expect(detail(outside)).toContain('/$ref');
    expect(detail(outside)).toContain('self-contained');
    const nestedId = await addKind('nested-id', { pattern: { allOf: [{ $id: 'http://example.org/elsewhere', $ref: '#' }] } });
    expect(nestedId.status).toBe(400);
    expect(detail(nestedId)).toContain('/allOf/0/$id');
    const dynamic = await addKind('dynamic', { pattern: { $schema: 'https://json-schema.org/draft/2020-12/schema', $dynamicRef: 'http://example.org/shared-pattern' } });
    expect(dynamic.status).toBe(400);
  });

  it('two kinds with the same $id both stay creatable after one is deleted and after a restart', async () => {
    const pattern = { $id: 'http://example.org/same-id', type: 'string', maxLength: 5 };
    expect((await addKind('same-a', { pattern })).status).toBe(200);
    expect((await addKind('same-b', { pattern: { ...pattern, maxLength: 2 } })).status).toBe(200);
    expect((await create('same-b', 'abc')).status).toBe(400);
    expect((await create('same-b', 'ab')).status).toBe(201);
    expect((await call(s.url, 'DELETE', '/-/', { body: { kinds: [{ term: 'same-a', scheme: SCHEME }] } })).status).toBeLessThan(300);
    expect((await create('same-b', 'xy')).status).toBe(201);
    const again = await startTestServer({ prefix });
    try {
      const res = await call(again.url, 'POST', '/same-b/', { body: { kind: `${SCHEME}same-b`, attributes: { 'ex.same-b.v': 'zz' } } });
      expect(res.status).toBe(201);
      const target = await call(again.url, 'POST', '/target/', { body: { kind: `${SCHEME}target`, attributes: { 'ex.target.v': 'abcd' } } });
      expect(target.status).toBe(400);
    } finally {
      await again.close();
    }
  });
});

describe('limits apply to definitions and defaults (issue 12 item 11)', () => {
  it('a default larger than the value limit is refused, so it cannot be copied into every entity', async () => {
    const limit = s.services.config.limits.attributeValueBytes;
    const tag = { term: 'fat', scheme: SCHEME, location: '/fat/', attributes: { 'ex.fat.v': { type: 'string', mutable: true, default: 'x'.repeat(480_000) } } };
    const res = await call(s.url, 'POST', '/-/', { body: { mixins: [tag] } });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain('/mixins/0/attributes/ex.fat.v/default');
    expect(detail(res)).toContain(`limit of ${limit}`);
    expect((await call(s.url, 'GET', '/-/?class=mixin')).text).not.toContain('/fat/');
  });

  it('defaults cannot make one small request store more than the per-request budget', async () => {
    const budget = s.services.config.limits.storedBytesPerRequest;
    const valueBytes = s.services.config.limits.attributeValueBytes;
    const tag = { term: 'plump', scheme: SCHEME, location: '/plump/', attributes: { 'ex.plump.v': { type: 'string', mutable: true, default: 'x'.repeat(valueBytes - 100) } } };
    expect((await call(s.url, 'POST', '/-/', { body: { mixins: [tag] } })).status).toBe(200);
    const count = Math.ceil(budget / (valueBytes - 100)) + 1;
    const resources = Array.from({ length: count }, (_, i) => ({ kind: 'http://schemas.ogf.org/occi/infrastructure#compute', id: `plump${i}`, mixins: [`${SCHEME}plump`] }));
    const body = JSON.stringify({ resources });
    expect(body.length).toBeLessThan(64 * 1024);
    const res = await call(s.url, 'POST', '/compute/', { raw: body });
    expect(res.status).toBe(413);
    expect(detail(res)).toContain(`limit of ${budget}`);
    expect((await call(s.url, 'GET', '/compute/plump0')).status).toBe(404);
    // Associating the mixin afterwards with as many entities is bounded the same way.
    const plain = Array.from({ length: count }, (_, i) => ({ kind: 'http://schemas.ogf.org/occi/infrastructure#compute', id: `lean${i}` }));
    expect((await call(s.url, 'POST', '/compute/', { body: { resources: plain } })).status).toBe(201);
    const associate = await call(s.url, 'POST', '/plump/', { body: { 'X-OCCI-Location': plain.map((p) => `/compute/${p.id}`) } });
    expect(associate.status).toBe(413);
    const lean = await call(s.url, 'GET', '/compute/lean0');
    expect((lean.json as Json).mixins ?? []).not.toContain(`${SCHEME}plump`);
  });

  it('a pattern or a category larger than its limit is refused', async () => {
    const { patternBytes, categoryBytes, patternRegexes } = s.services.config.limits;
    const big = await addKind('bigpattern', { pattern: { type: 'string', enum: Array.from({ length: patternBytes / 8 }, (_, i) => `value${i}`) } });
    expect(big.status).toBe(400);
    expect(detail(big)).toContain(`limit of ${patternBytes}`);
    const many = await addKind('manyregex', { pattern: { allOf: Array.from({ length: patternRegexes + 1 }, (_, i) => ({ pattern: `a${i}` })) } });
    expect(many.status).toBe(400);
    expect(detail(many)).toContain('regular expressions');
    const attributes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`ex.wide.a${i}`, { type: 'string', description: 'd'.repeat(categoryBytes / 100) }]));
    const wide = await call(s.url, 'POST', '/-/', { body: { kinds: [{ ...kind('wide', {}), attributes }] } });
    expect(wide.status).toBe(400);
    expect(detail(wide), wide.text).toContain(`limit of ${categoryBytes}`);
  });
});

describe('no cycles in depends or parents, and bounded chains (issue 12 item 12)', () => {
  const mixin = (term: string, depends: string[]) => ({ term, scheme: SCHEME, location: `/${term}/`, depends: depends.map((d) => `${SCHEME}${d}`) });

  it('a mixin that depends on itself is refused, naming the cycle', async () => {
    const res = await call(s.url, 'POST', '/-/', { body: { mixins: [mixin('selfish', ['selfish'])] } });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(`${SCHEME}selfish → ${SCHEME}selfish`);
  });

  it('A depends on B depends on A is refused, in one request and across two', async () => {
    const together = await call(s.url, 'POST', '/-/', { body: { mixins: [mixin('ma', ['mb']), mixin('mb', ['ma'])] } });
    expect(together.status).toBe(400);
    expect(detail(together)).toContain('cycle');
    expect((await call(s.url, 'POST', '/-/', { body: { mixins: [mixin('mc', [])] } })).status).toBe(200);
    expect((await call(s.url, 'POST', '/-/', { body: { mixins: [mixin('md', ['mc'])] } })).status).toBe(200);
    const closing = await call(s.url, 'PUT', '/-/', { body: { mixins: [mixin('mc', ['md'])] } });
    expect(closing.status).toBe(400);
    expect(detail(closing)).toContain(`${SCHEME}mc → ${SCHEME}md → ${SCHEME}mc`);
  });

  it("a kind's parents cannot be made into a cycle", async () => {
    const k = (term: string, parent: string) => ({ term, scheme: SCHEME, location: `/${term}/`, parent });
    expect((await call(s.url, 'POST', '/-/', { body: { kinds: [k('ka', RESOURCE), k('kb', `${SCHEME}ka`)] } })).status).toBe(200);
    const res = await call(s.url, 'PUT', '/-/', { body: { kinds: [k('ka', `${SCHEME}kb`)] } });
    expect(res.status).toBe(400);
    expect(detail(res)).toContain(`${SCHEME}ka → ${SCHEME}kb → ${SCHEME}ka`);
  });

  it('parent and depends chains are bounded by the configured depth, and a long chain is refused quickly', async () => {
    const depth = s.services.config.limits.categoryDepth;
    const chain = (n: number, name: string) =>
      Array.from({ length: n }, (_, i) => ({ term: `${name}${i}`, scheme: SCHEME, location: `/${name}${i}/`, parent: i === 0 ? RESOURCE : `${SCHEME}${name}${i - 1}` }));
    // resource and entity are in the chain too.
    expect((await call(s.url, 'POST', '/-/', { body: { kinds: chain(depth - 2, 'fits') } })).status).toBe(200);
    const deep = await call(s.url, 'POST', '/-/', { body: { kinds: chain(depth, 'deep') } });
    expect(deep.status).toBe(400);
    expect(detail(deep)).toContain(`limit of ${depth}`);
    const mixins = Array.from({ length: depth + 1 }, (_, i) => mixin(`dep${i}`, i === 0 ? [] : [`dep${i - 1}`]));
    const deepMixins = await call(s.url, 'POST', '/-/', { body: { mixins } });
    expect(deepMixins.status).toBe(400);
    expect(detail(deepMixins)).toContain(`limit of ${depth}`);
    // Re-parenting the root of one chain onto another lengthens every chain built on it.
    expect((await call(s.url, 'POST', '/-/', { body: { kinds: chain(20, 'upper') } })).status).toBe(200);
    expect((await call(s.url, 'POST', '/-/', { body: { kinds: chain(15, 'lower') } })).status).toBe(200);
    const regraft = await call(s.url, 'PUT', '/-/', { body: { kinds: [{ term: 'upper0', scheme: SCHEME, parent: `${SCHEME}lower14` }] } });
    expect(regraft.status).toBe(400);
    expect(detail(regraft)).toContain(`more than the limit of ${depth}`);
    expect((await call(s.url, 'PUT', '/-/', { body: { kinds: [{ term: 'upper0', scheme: SCHEME, parent: `${SCHEME}lower3` }] } })).status).toBe(200);
    const items = s.services.config.limits.itemsPerRequest;
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () => call(s.url, 'POST', '/-/', { body: { kinds: chain(items, 'long') } }));
    expect(result.status).toBe(400);
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
  });
});
