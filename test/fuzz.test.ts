/**
 * Bounded, seeded fuzzing of every route of one real ocni server over real HTTP on 127.0.0.1.
 *
 * Replay a run with its seed: `OCNI_FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts`
 * (`OCNI_FUZZ_COUNT` sets the number of requests, `OCNI_FUZZ_BUDGET_MS` the time they may take).
 * Requests are generated from the seed alone, so the same seed sends the same sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import type { CouchRequestRecord } from '../src/store/couch.ts';
import { call, couchUrl, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { Rng, seedFromEnv } from './robustness/prng.ts';
import { closeAgent, describeRequest, describeResponse, send, type WireResponse } from './robustness/http.ts';
import { baseState, COMPUTE, COMPUTE_ACTION, fixtureText, generate, INFRA, MEDIUM, STORAGE, STORAGELINK, type FuzzCase } from './robustness/fuzz-cases.ts';
import { categoriesText, differences, QUICK_LISTINGS, snapshot, updateSeqs, type Snapshot } from './robustness/state.ts';

const SEED = seedFromEnv(0x0cc1f022);
const COUNT = Number(process.env.OCNI_FUZZ_COUNT ?? 2000);
const BUDGET_MS = Number(process.env.OCNI_FUZZ_BUDGET_MS ?? 35_000);
const BODY_LIMIT = 64 * 1024;
const ITEMS_PER_REQUEST = 50;
/** Every request is answered within this, whatever it holds. */
const ANSWER_WITHIN_MS = 5_000;
/** How long a category written to the store may take to reach /-/ through the changes feed. */
const FEED_SETTLE_MS = 3000;
/** Examples shown per kind of failure. */
const SHOW = Number(process.env.OCNI_FUZZ_SHOW ?? 3);
const REPLAY = `OCNI_FUZZ_SEED=${SEED} npx vitest run test/fuzz.test.ts`;

const prefix = freshPrefix('fuzz');
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ prefix, overrides: { limits: { bodyBytes: BODY_LIMIT, itemsPerRequest: ITEMS_PER_REQUEST } } });
  base = server.url;
  await establishBase();
});

afterAll(async () => {
  closeAgent();
  await server?.close();
  await dropDatabases(prefix);
});

/** Locations the tests name as missing; a generated request may have created one (PUT /compute/ghost). */
const ABSENT = ['/compute/ghost', '/compute/none', '/storage/none', '/storage/ghost'];

/** (Re)creates the categories, provider and entities the generated requests aim at, and removes what must be absent. */
async function establishBase(): Promise<void> {
  for (const path of ABSENT) {
    const res = await call(base, 'DELETE', path);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`removing ${path} answered ${res.status}: ${res.text}`);
  }
  for (const step of baseState()) {
    if (step.createOnly && (await call(base, 'GET', step.path)).status === 200) continue;
    const res = await call(base, step.method, step.path, { body: step.body });
    // A category that is already there (409) is fine; anything else but success is not.
    if (res.status >= 300 && res.status !== 409) throw new Error(`setting up ${step.method} ${step.path} answered ${res.status}: ${res.text}`);
  }
}

interface Failure {
  index: number;
  generator: string;
  invariant: string;
  request: string;
  response: string;
}

const OCNI_SERVER = /^ocni\/\S+ OCCI\/1\.2$/;
/** The methods ocni's routes implement (405 with Allow when one does not apply to a path). */
const IMPLEMENTED = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** The invariants every response keeps; returns the names of those it breaks. */
function broken(c: FuzzCase, res: WireResponse): string[] {
  if (res.error) {
    // Node's HTTP server may just close a connection it cannot parse (CONNECT with no handler, say).
    if (c.httpLevel && res.error.startsWith('no complete response')) return [];
    return [`no response (${res.error.replace(/\d+ bytes/, 'n bytes')})`];
  }
  const out: string[] = [];
  // RFC 9110 §15.6.2: a method the server does not implement at all is answered 501, which is not a
  // failure of the server; like every other error it must still be a problem document (below).
  const unimplemented = res.status === 501 && !IMPLEMENTED.has(c.method);
  if (res.status >= 500 && !unimplemented) out.push(`${res.status} (a 5xx with no backend failure)`);
  if (res.ms > ANSWER_WITHIN_MS) out.push(`answered after ${ANSWER_WITHIN_MS} ms`);
  const fromOcni = OCNI_SERVER.test(res.headers.server ?? '');
  if (!fromOcni) {
    // Only Node's HTTP parser may answer without ocni's headers, and only to what it cannot parse.
    if (!c.httpLevel) out.push("response without ocni's Server header");
    else if (res.status < 400 || res.status >= 500) out.push(`HTTP-level refusal with ${res.status}`);
    return out;
  }
  if (!(res.headers.vary ?? '').toLowerCase().includes('accept')) out.push('no Vary: Accept');
  if (!res.headers['x-request-id']) out.push('no X-Request-Id');
  if (res.status === 405 && !res.headers.allow) out.push('405 without Allow');
  if (c.jsonClient && ((res.status >= 400 && res.status < 500) || unimplemented) && c.method !== 'HEAD') {
    const problem = res.json as { detail?: unknown; status?: unknown } | undefined;
    if (!(res.headers['content-type'] ?? '').startsWith('application/problem+json')) out.push(`${res.status} to a JSON client not as application/problem+json`);
    else if (typeof problem?.detail !== 'string' || problem.detail === '') out.push(`${res.status} problem document without detail`);
    else if (problem.status !== res.status) out.push(`problem status ${String(problem.status)} ≠ ${res.status}`);
  }
  return out;
}

/** A request to CouchDB that may change a document (reads: GET, HEAD, and POST to query endpoints). */
function isStoreWrite(r: CouchRequestRecord): boolean {
  if (r.method === 'get' || r.method === 'head') return false;
  if (r.method === 'post' && /(^|\/)(_find|_explain|_all_docs|_bulk_get|_changes|_view\/[^/]+)$/.test(r.path)) return false;
  return true;
}

function isMutation(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}

function report(title: string, failures: Failure[], extra = ''): string {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) {
    const key = `${f.invariant} ← ${f.generator}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [`${title}: ${failures.length} failure(s), seed ${SEED} (replay: ${REPLAY})${extra}`];
  for (const [key, list] of groups) {
    lines.push(`\n● ${key} — ${list.length}×`);
    for (const f of list.slice(0, SHOW)) lines.push(`  #${f.index} ${f.request}\n     → ${f.response}`);
  }
  return lines.join('\n');
}

describe(`fuzzing every route (seed ${SEED}, up to ${COUNT} requests in ${BUDGET_MS / 1000} s)`, () => {
  it(
    'answers every request without a 5xx, within its time, with a problem document for each JSON 4xx, and a refused request changes nothing',
    async () => {
      const rng = new Rng(SEED);
      const couch = couchUrl();
      const failures: Failure[] = [];
      const counts = new Map<string, number>();
      const statuses = new Map<number, number>();
      let baseline: Snapshot = await snapshot(base, couch, prefix, true, QUICK_LISTINGS);
      // Every request ocni sends to CouchDB goes through its client, which reports them: a request
      // that sent no write stored nothing, and needs no snapshot.
      let writes = 0;
      let lastCategoryWrite = -Infinity;
      const stopObserving = server.couch.observe((r) => {
        if (!isStoreWrite(r)) return;
        writes += 1;
        if (r.db.endsWith('categories')) lastCategoryWrite = performance.now();
      });
      let previous: FuzzCase | undefined;
      const started = performance.now();
      let sent = 0;
      for (let index = 0; index < COUNT; index += 1) {
        if (performance.now() - started > BUDGET_MS) break;
        if (index > 0 && index % 250 === 0) {
          await establishBase();
          baseline = await snapshot(base, couch, prefix, true, QUICK_LISTINGS);
        }
        writes = 0;
        // A category written shortly before reaches the in-memory registry through the changes feed
        // (about a second), so /-/ may still move on its own: then only the store is compared.
        const feedPending = performance.now() - lastCategoryWrite < FEED_SETTLE_MS;
        const c = generate(rng, { bodyLimit: BODY_LIMIT });
        const res = await send(base, c, 10_000);
        sent += 1;
        counts.set(c.generator, (counts.get(c.generator) ?? 0) + 1);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        for (const invariant of broken(c, res)) failures.push({ index, generator: c.generator, invariant, request: describeRequest(c), response: describeResponse(res) });

        // Nothing stored by a refused request: any write shows in the update sequences, a change of
        // the categories held in memory in /-/; then what is visible (every entity, /-/, the
        // databases' documents) must be what it was.
        const accepted = !res.error && res.status < 400 && isMutation(c.method);
        const queryInterface = /^\/(-\/|\.well-known\/)/.test(c.target) && isMutation(c.method);
        const moved = writes > 0 || (queryInterface && !accepted && !feedPending && (await categoriesText(base, true)) !== baseline.get('GET /-/'));
        if (moved) {
          const after = await snapshot(base, couch, prefix, true, QUICK_LISTINGS);
          const changed = accepted ? [] : differences(baseline, after).filter((d) => !(feedPending && d.startsWith('GET /-/')));
          if (changed.length > 0) {
            failures.push({
              index,
              generator: c.generator,
              invariant: `a ${res.status || 'failed'} ${c.method} changed what the server holds`,
              request: describeRequest(c),
              response: `${describeResponse(res)}\n     changes: ${changed.join(' | ')}${previous ? `\n     (previous request: ${describeRequest(previous, 200)})` : ''}`,
            });
          }
          baseline = after;
        }
        previous = c;
      }
      stopObserving();
      // The observer saw every write: the store then holds what the last snapshot read.
      const unseen = differences(baseline, await snapshot(base, couch, prefix, true, QUICK_LISTINGS)).filter((d) => !d.startsWith('GET /-/'));
      expect(unseen, 'the store changed without a write ocni reported').toEqual([]);
      const elapsed = Math.round(performance.now() - started);
      const mix = [...counts].map(([g, n]) => `${g} ${n}`).join(', ');
      const byStatus = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}:${n}`)
        .join(' ');
      expect(failures.length, report(`${sent} requests in ${elapsed} ms (${mix}; statuses ${byStatus})`, failures)).toBe(0);
      // Bounded in time, but not to the point of testing nothing.
      expect(sent, `only ${sent} of ${COUNT} requests fitted in ${BUDGET_MS} ms`).toBeGreaterThanOrEqual(Math.min(COUNT, 300));
    },
    BUDGET_MS + 60_000,
  );

  it('still answers GET /-/ (from memory) and a store read afterwards', async () => {
    const categories = await call(base, 'GET', '/-/');
    expect(categories.status).toBe(200);
    expect((categories.json as { kinds: unknown[] }).kinds.length).toBeGreaterThan(0);
    await establishBase();
    expect((await call(base, 'GET', '/compute/vm1')).status).toBe(200);
  });
});

describe('the corpus: requests that once broke an invariant, replayed every run', () => {
  const nested = (depth: number, leaf: string) => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
  const json = (method: string, target: string, body: string | Buffer, extra: [string, string][] = []): FuzzCase => ({
    generator: 'corpus',
    method,
    target,
    headers: [['Accept', 'application/occi+json'], ['Content-Type', 'application/occi+json'], ...extra],
    body: typeof body === 'string' ? Buffer.from(body) : body,
    jsonClient: true,
  });
  const CORPUS: [string, FuzzCase][] = [
    ['entity attributes nested 10,000 deep', json('POST', '/compute/', `{"kind":"${COMPUTE}","attributes":${nested(10_000, '1')}}`)],
    ['pyOCNI attributes nested 10,000 deep below occi.compute', json('POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{"occi":{"compute":${nested(10_000, '1')}}}}`)],
    ['a partial update nested 10,000 deep', json('POST', '/compute/vm1', `{"kind":"${COMPUTE}","attributes":${nested(10_000, '1')}}`)],
    ['action parameters nested 10,000 deep (on an inactive compute)', json('POST', '/compute/corpus-inactive?action=start', `{"action":"${COMPUTE_ACTION}start","attributes":${nested(10_000, '1')}}`)],
    ['an entity filter nested 10,000 deep', json('GET', '/compute/', `{"resources":[{"attributes":${nested(10_000, '1')}}]}`)],
    ['a filtered DELETE nested 10,000 deep', json('DELETE', '/compute/', `{"resources":[{"attributes":${nested(10_000, '1')}}]}`)],
    [
      'category attribute definitions nested 10,000 deep',
      json('POST', '/-/', `{"kinds":[{"term":"deep","scheme":"http://example.com/deep#","location":"/deep/","attributes":${nested(10_000, '{"type":"string"}')}}]}`),
    ],
    ['a category filter nested 10,000 deep', json('GET', '/-/', `{"kinds":[{"attributes":${nested(10_000, '{"type":"string"}')}}]}`)],
    ['a category update nested 10,000 deep', json('PUT', '/-/', `{"mixins":[{"term":"medium","scheme":"http://example.com/template/resource#","attributes":${nested(10_000, '1')}}]}`)],
    ['Content-Encoding: gzip over bytes that are not gzip', json('POST', '/compute/', 'garbage', [['Content-Encoding', 'gzip']])],
    ['Content-Encoding: deflate over a plain JSON body', json('PUT', '/template/resource/medium/', '{"X-OCCI-Location":["/compute/vm1"]}', [['Content-Encoding', 'deflate']])],
    ['Content-Encoding: br over bytes that are not brotli', json('POST', '/-/', '{"mixins":[]}', [['Content-Encoding', 'br']])],
    [
      'a Host header that is no URL authority, on a listing with a next page',
      {
        generator: 'corpus',
        method: 'GET',
        target: '/compute/?number=1',
        headers: [
          ['Host', '[::1'],
          ['Accept', 'application/occi+json'],
        ],
        jsonClient: true,
      },
    ],
    [
      'a Host header with a port out of range, on a listing with a next page',
      {
        generator: 'corpus',
        method: 'GET',
        target: '/?number=1',
        headers: [
          ['Host', 'h:99999'],
          ['Accept', 'application/occi+json'],
        ],
        jsonClient: true,
      },
    ],
    ['a method ocni does not implement (TRACE), from a JSON client', { generator: 'corpus', method: 'TRACE', target: '/-/', headers: [['Accept', 'application/occi+json']], jsonClient: true }],
    ['a method ocni does not implement (PROPFIND) with a body', json('PROPFIND', '/compute/', '{}')],
  ];

  it.each(CORPUS)('%s', async (_label, c) => {
    await establishBase();
    // A compute in its initial state, on which start applies.
    await call(base, 'DELETE', '/compute/corpus-inactive');
    expect((await call(base, 'PUT', '/compute/corpus-inactive', { body: { kind: COMPUTE } })).status).toBe(201);
    const res = await send(base, c, 10_000);
    const failed = broken(c, res);
    expect(failed, `${failed.join('; ')}\n  ${describeRequest(c, 200)}\n  → ${describeResponse(res)}`).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

interface Refused {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

const NEW = (id: string, attributes: Record<string, unknown> = {}) => ({ kind: COMPUTE, id, attributes });
/** Bad items; those marked `false` are bad only in a batch (by id or by the collection's kind), not in a PUT at a path of their own. */
const BAD_ITEMS: [string, Record<string, unknown>, boolean?][] = [
  ['an unknown attribute', { kind: COMPUTE, attributes: { 'occi.compute.colour': 'red' } }],
  ['a negative cores', { kind: COMPUTE, attributes: { 'occi.compute.cores': -1 } }],
  ['cores as a string', { kind: COMPUTE, attributes: { 'occi.compute.cores': 'two' } }],
  ['an architecture outside its pattern', { kind: COMPUTE, attributes: { 'occi.compute.architecture': 'arm' } }],
  ['an unknown mixin', { kind: COMPUTE, mixins: ['http://example.com/none#x'] }],
  ['a mixin that does not apply', { kind: COMPUTE, mixins: ['http://schemas.ogf.org/occi/infrastructure/network#ipnetwork'] }],
  ['an id with a slash', { kind: COMPUTE, id: 'a/b' }, false],
  ['an existing id', { kind: COMPUTE, id: 'vm1' }, false],
  ['an unknown kind', { kind: 'http://example.com/none#thing' }],
  ['another kind', { kind: STORAGE, attributes: { 'occi.storage.size': 1 } }, false],
  ['an inline link to a missing resource', { kind: COMPUTE, links: [{ kind: STORAGELINK, target: { location: '/storage/none', kind: STORAGE }, attributes: { 'occi.storagelink.deviceid': 'vdb' } }] }],
  ['an inline link with a bad attribute', { kind: COMPUTE, links: [{ kind: STORAGELINK, target: { location: '/storage/disk1', kind: STORAGE }, attributes: { 'occi.storagelink.deviceid': 7 } }] }],
  ['nested attributes of the wrong type', { kind: COMPUTE, attributes: { occi: { compute: { memory: true } } } }],
  ['a title that is a number', { kind: COMPUTE, title: 5 }],
];

/** Creations that must be refused, each for a reason of its own. */
function refusedCreations(rng: Rng): Refused[] {
  const fixed: Refused[] = [
    { label: 'a batch whose last item is bad', method: 'POST', path: '/compute/', body: { resources: [NEW('nb1'), NEW('nb2'), NEW('nb3', { 'occi.compute.cores': -1 })] } },
    { label: 'a batch naming an existing id', method: 'POST', path: '/compute/', body: { resources: [NEW('nb4'), NEW('vm1')] } },
    { label: 'a batch naming one id twice', method: 'POST', path: '/compute/', body: { resources: [NEW('nb5'), NEW('nb5')] } },
    { label: 'more items than limits.itemsPerRequest', method: 'POST', path: '/compute/', body: { resources: Array.from({ length: ITEMS_PER_REQUEST + 1 }, (_v, i) => NEW(`nb-many-${i}`)) } },
    { label: 'a body over limits.bodyBytes', method: 'POST', path: '/compute/', body: { ...NEW('nb-big'), title: 'x'.repeat(BODY_LIMIT + 10) } },
    {
      label: 'a link whose source does not exist',
      method: 'POST',
      path: '/networkinterface/',
      body: {
        kind: `${INFRA}networkinterface`,
        id: 'nb-ni',
        source: '/compute/none',
        target: '/network/net1',
        attributes: { 'occi.networkinterface.interface': 'eth5', 'occi.networkinterface.mac': '00:11:22:33:44:77' },
      },
    },
    { label: 'a storage without its required size', method: 'POST', path: '/storage/', body: { kind: STORAGE, id: 'nb-disk' } },
    { label: 'PUT of a new entity with an unknown attribute', method: 'PUT', path: '/compute/nb-put2', body: { kind: COMPUTE, attributes: { nope: 1 } } },
    { label: 'PUT of a new entity with a bad inline link', method: 'PUT', path: '/compute/nb-put3', body: { kind: COMPUTE, links: [{ kind: STORAGELINK, target: '/storage/none' }] } },
    {
      label: 'a text/plain creation with a bad attribute line',
      method: 'POST',
      path: '/compute/',
      raw: `Category: compute; scheme="${INFRA}"; class="kind"\nX-OCCI-Attribute: occi.core.id="nb-text"\nX-OCCI-Attribute: occi.compute.cores=two`,
      headers: { 'content-type': 'text/plain' },
    },
    {
      label: 'a text/plain creation with a link to nowhere',
      method: 'POST',
      path: '/compute/',
      raw: `Category: compute; scheme="${INFRA}"; class="kind"\nX-OCCI-Attribute: occi.core.id="nb-text2"\nLink: </storage/none>; rel="${STORAGE}"; category="${STORAGELINK}"`,
      headers: { 'content-type': 'text/plain' },
    },
    {
      label: 'a text/occi creation with an unterminated quote',
      method: 'POST',
      path: '/compute/',
      headers: { 'content-type': 'text/occi', category: `compute; scheme="${INFRA}"; class="kind"`, 'x-occi-attribute': 'occi.core.id="nb-text3", occi.compute.hostname="open' },
    },
    { label: 'associating an existing and a missing entity', method: 'POST', path: '/template/resource/medium/', body: { 'X-OCCI-Location': ['/compute/vm2', '/compute/ghost'] } },
    { label: 'replacing the membership with a missing entity', method: 'PUT', path: '/template/resource/medium/', body: { 'X-OCCI-Location': ['/compute/vm2', '/compute/ghost'] } },
    { label: 'replacing the membership with a foreign URL', method: 'PUT', path: '/template/resource/medium/', body: { 'X-OCCI-Location': ['/compute/vm3', 'http://elsewhere.example/compute/vm1'] } },
    { label: 'a collection action with a bad parameter', method: 'POST', path: '/compute/?action=stop', body: { action: `${COMPUTE_ACTION}stop`, attributes: { method: 'yank' } } },
    { label: 'a partial update with one good and one bad attribute', method: 'POST', path: '/compute/vm1', body: { attributes: { 'occi.compute.hostname': 'changed', 'occi.compute.cores': 'x' } } },
    {
      label: 'a partial update with a good attribute and a bad new link',
      method: 'POST',
      path: '/compute/vm1',
      body: { kind: COMPUTE, attributes: { 'occi.compute.hostname': 'changed2' }, links: [{ kind: STORAGELINK, target: '/storage/none' }] },
    },
    {
      label: 'a text/plain partial update with a good attribute and a bad Link line',
      method: 'POST',
      path: '/compute/vm1',
      raw: `X-OCCI-Attribute: occi.compute.hostname="changed5"\nLink: </storage/none>; rel="${STORAGE}"; category="${STORAGELINK}"`,
      headers: { 'content-type': 'text/plain' },
    },
    { label: 'a full update with a bad attribute', method: 'PUT', path: '/compute/vm2', body: { kind: COMPUTE, title: 'changed', attributes: { 'occi.compute.cores': -3 } } },
    { label: 'changing an immutable attribute', method: 'POST', path: '/compute/vm1', body: { title: 'changed3', attributes: { 'occi.compute.state': 'error' } } },
    { label: 'a stale If-Match on update', method: 'POST', path: '/compute/vm1', body: { title: 'changed4' }, headers: { 'if-match': '"1-00000000000000000000000000000000"' } },
    { label: 'a stale If-Match on delete', method: 'DELETE', path: '/compute/vm1', headers: { 'if-match': '"1-00000000000000000000000000000000"' } },
    { label: 'deleting a present and a missing mixin', method: 'DELETE', path: '/-/', body: { mixins: [MEDIUM, 'http://example.com/none#x'] } },
    { label: 'deleting a built-in kind', method: 'DELETE', path: '/-/', body: { kinds: [COMPUTE] } },
    {
      label: 'adding a kind and a mixin with a bad default',
      method: 'POST',
      path: '/-/',
      body: {
        kinds: [{ term: 'nbk', scheme: 'http://example.com/nb#', location: '/nbk/' }],
        mixins: [{ term: 'nbm', scheme: 'http://example.com/nb#', location: '/nbm/', attributes: { 'x.y': { type: 'number', default: 'nine' } } }],
      },
    },
    { label: 'adding a kind at an existing location', method: 'POST', path: '/-/', body: { kinds: [{ term: 'nbk2', scheme: 'http://example.com/nb#', location: '/compute/' }] } },
    {
      label: 'adding two categories at one location',
      method: 'POST',
      path: '/-/',
      body: {
        mixins: [
          { term: 'nbm2', scheme: 'http://example.com/nb#', location: '/nbsame/' },
          { term: 'nbm3', scheme: 'http://example.com/nb#', location: '/nbsame/' },
        ],
      },
    },
    { label: 'adding a mixin at a location with entities below', method: 'POST', path: '/-/', body: { mixins: [{ term: 'nbm4', scheme: 'http://example.com/nb#', location: '/compute/vm1/' }] } },
    { label: 'adding a kind whose parent is a mixin', method: 'POST', path: '/-/', body: { kinds: [{ term: 'nbk3', scheme: 'http://example.com/nb#', parent: MEDIUM, location: '/nbk3/' }] } },
    {
      label: 'a text/plain category with a bad rel',
      method: 'POST',
      path: '/-/',
      raw: 'Category: nbt; scheme="http://example.com/nb#"; class="mixin"; rel="http://example.com/none#x"; location="/nbt/"',
      headers: { 'content-type': 'text/plain' },
    },
    {
      label: 'updating a mixin with a bad attribute pattern',
      method: 'PUT',
      path: '/-/',
      body: { mixins: [{ term: 'medium', scheme: 'http://example.com/template/resource#', attributes: { 'occi.compute.speed': { type: 'number', pattern: { type: 'nonsense' } } } }] },
    },
    { label: 'a provider naming an unknown backend', method: 'PUT', path: '/-/', body: { providers: [{ kind: COMPUTE, provider: { local: ['nowhere'], remote: [] } }] } },
    { label: 'an action on a missing entity', method: 'POST', path: '/compute/ghost?action=start' },
    { label: 'an action with an unknown parameter', method: 'POST', path: '/compute/vm1?action=start', body: { action: `${COMPUTE_ACTION}start`, attributes: { force: true } } },
    { label: 'a cascade of nothing', method: 'DELETE', path: '/-/?cascade=true', body: { kinds: ['http://example.com/none#x'] } },
  ];
  for (const name of ['malformed.json', 'post_categories_bad_default.json', 'post_categories_builtin_compute.json', 'post_categories_unknown_parent.json']) {
    fixed.push({ label: `fixtures/bad/${name}`, method: 'POST', path: '/-/', raw: fixtureText(`bad/${name}`) });
  }
  fixed.push({ label: 'fixtures/bad/put_categories_scheme_typo.json', method: 'PUT', path: '/-/', raw: fixtureText('bad/put_categories_scheme_typo.json') });

  // Seeded: batches of good new computes with one bad item at a random place, in random envelopes.
  for (let i = 0; i < 60; i += 1) {
    const good = Array.from({ length: rng.int(1, 4) }, (_v, j) => NEW(`nbs${i}-${j}`, { 'occi.compute.cores': rng.int(1, 8), 'occi.compute.hostname': `h${i}-${j}` }));
    const [label, bad, inPut = true] = rng.pick(BAD_ITEMS);
    const items: Record<string, unknown>[] = [...good];
    items.splice(rng.int(0, items.length), 0, { ...bad });
    const shape = inPut ? rng.int(0, 2) : rng.int(0, 1);
    if (shape === 0) fixed.push({ label: `seeded batch with ${label}`, method: 'POST', path: '/compute/', body: { resources: items } });
    else if (shape === 1)
      fixed.push({
        label: `seeded pyOCNI batch with ${label}`,
        method: 'POST',
        path: '/compute/',
        body: { resources: items.map((it) => ({ ...it, attributes: nestAttributes((it.attributes ?? {}) as Record<string, unknown>) })) },
      });
    else fixed.push({ label: `seeded PUT with ${label}`, method: 'PUT', path: `/compute/nbp${i}`, body: bad });
  }
  return fixed;
}

function nestAttributes(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(flat)) {
    const parts = name.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

describe('nothing is stored by a refused request', () => {
  it('answers each guaranteed-invalid creation or change with a 4xx and leaves listings, /-/ and the databases byte-identical', async () => {
    await establishBase();
    // Cases below name /compute/ghost as missing; the random phase may have created it (a text
    // client's quoted numbers and state now read, so more of its PUTs are valid creations).
    await call(base, 'DELETE', '/compute/ghost');
    const couch = couchUrl();
    const rng = new Rng(SEED ^ 0x5eed);
    const cases = refusedCreations(rng);
    // Let the changes feed settle, so /-/ moves only if a request moves it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await snapshot(base, couch, prefix);
    let last = before;
    let seqs = await updateSeqs(couch, prefix);
    let categories = (await call(base, 'GET', '/-/')).text;
    const failures: Failure[] = [];
    for (const [index, c] of cases.entries()) {
      const options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {};
      if (c.body !== undefined) options.body = c.body;
      if (c.raw !== undefined) options.raw = c.raw;
      if (c.headers !== undefined) options.headers = c.headers;
      const res = await call(base, c.method, c.path, options);
      const request = `${c.label}: ${c.method} ${c.path} ${c.raw ?? JSON.stringify(c.body ?? '').slice(0, 400)}${c.headers ? ` ${JSON.stringify(c.headers)}` : ''}`;
      const response = `${res.status} ${res.text.slice(0, 300)}`;
      if (res.status < 400 || res.status >= 500) failures.push({ index, generator: 'refused-creations', invariant: `answered ${res.status}, not a 4xx`, request, response });
      else if (typeof (res.json as { detail?: unknown } | undefined)?.detail !== 'string')
        failures.push({ index, generator: 'refused-creations', invariant: 'a 4xx without a problem detail', request, response });
      // A write shows in the update sequences, a change in memory in /-/; only then is everything read again.
      const nowSeqs = await updateSeqs(couch, prefix);
      const nowCategories = (await call(base, 'GET', '/-/')).text;
      if (nowSeqs !== seqs || nowCategories !== categories) {
        const now = await snapshot(base, couch, prefix);
        const changed = differences(last, now);
        if (changed.length > 0)
          failures.push({ index, generator: 'refused-creations', invariant: 'changed what the server holds', request, response: `${response}\n     changes: ${changed.join(' | ')}` });
        last = now;
        seqs = nowSeqs;
        categories = nowCategories;
      }
    }
    const overall = differences(before, await snapshot(base, couch, prefix));
    expect(failures.length, report(`${cases.length} refused requests`, failures, overall.length > 0 ? `\noverall: ${overall.join(' | ')}` : '')).toBe(0);
    expect(overall).toEqual([]);
  }, 60_000);
});

describe('filters on attribute names that are also Object.prototype members', () => {
  // No entity has these attributes, so a filter on one matches nothing (or is refused); it must
  // never be dropped silently, since a filtered DELETE would then delete the whole collection.
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'no.such.attribute'];

  async function members(path: string): Promise<string[]> {
    const res = await call(base, 'GET', path, { headers: { accept: 'text/uri-list' } });
    return res.text.split(/\r?\n/).filter(Boolean);
  }

  it('match nothing on GET, in the query string, a text/plain body, text/occi headers and a JSON body', async () => {
    await establishBase();
    const problems: string[] = [];
    for (const name of NAMES) {
      const ways: [string, () => ReturnType<typeof call>][] = [
        ['query string', () => call(base, 'GET', `/compute/?attribute=${encodeURIComponent(name)}&value=1`, { headers: { accept: 'text/uri-list' } })],
        ['text/plain body', () => call(base, 'GET', '/compute/', { raw: `X-OCCI-Attribute: ${name}=1`, headers: { 'content-type': 'text/plain', accept: 'text/uri-list' } })],
        ['text/occi header', () => call(base, 'GET', '/compute/', { headers: { 'x-occi-attribute': `${name}=1`, accept: 'text/uri-list' } })],
        ['JSON filter body', () => call(base, 'GET', '/compute/', { raw: `{"resources":[{"attributes":{${JSON.stringify(name)}:1}}]}`, headers: { accept: 'text/uri-list' } })],
      ];
      for (const [way, send] of ways) {
        const res = await send();
        if (res.status >= 500) problems.push(`${name} in the ${way}: ${res.status} ${res.text.slice(0, 200)}`);
        else if (res.status < 300 && res.text.trim() !== '') problems.push(`${name} in the ${way}: ${res.status} listing ${res.text.trim().split(/\r?\n/).length} computes (expected none)`);
      }
    }
    expect(problems, `filters on absent attributes that matched entities (seed ${SEED}):\n${problems.join('\n')}`).toEqual([]);
  });

  it('delete nothing on a filtered DELETE of a collection', async () => {
    // A kind of its own, so the rest of the file keeps its entities.
    const kind = 'http://example.com/fuzzproto#box';
    expect((await call(base, 'POST', '/-/', { body: { kinds: [{ term: 'box', scheme: 'http://example.com/fuzzproto#', location: '/fuzzproto/' }] } })).status).toBe(200);
    const problems: string[] = [];
    for (const name of ['__proto__', 'constructor']) {
      for (const way of ['query string', 'text/plain body'] as const) {
        for (const id of ['b1', 'b2']) {
          const put = await call(base, 'PUT', `/fuzzproto/${id}`, { body: { kind } });
          expect([200, 201]).toContain(put.status);
        }
        const res =
          way === 'query string'
            ? await call(base, 'DELETE', `/fuzzproto/?attribute=${encodeURIComponent(name)}&value=1`)
            : await call(base, 'DELETE', '/fuzzproto/', { raw: `X-OCCI-Attribute: ${name}=1`, headers: { 'content-type': 'text/plain' } });
        const left = await members('/fuzzproto/');
        if (res.status < 300 && left.length !== 2) problems.push(`DELETE /fuzzproto/ filtered on ${name} in the ${way}: ${res.status}, ${2 - left.length} of 2 entities deleted`);
        if (res.status >= 500) problems.push(`DELETE /fuzzproto/ filtered on ${name} in the ${way}: ${res.status}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe('a category change that names one category twice', () => {
  // Whether such a request is accepted (the category goes) or refused (it stays) is ocni's choice;
  // answering a refusal while having done the change is not.
  const CASES: [string, Record<string, unknown>, string][] = [
    [
      'a kind by {term, scheme} twice',
      {
        kinds: [
          { term: 'vm', scheme: 'http://example.com/occi/ocni#' },
          { term: 'vm', scheme: 'http://example.com/occi/ocni#' },
        ],
      },
      'http://example.com/occi/ocni#vm',
    ],
    ['a mixin by id and by {term, scheme}', { mixins: [MEDIUM, { term: 'medium', scheme: 'http://example.com/template/resource#' }] }, MEDIUM],
  ];

  it.each(CASES)('DELETE /-/ naming %s either removes it (2xx) or leaves it in place (4xx)', async (_label, body, id) => {
    await establishBase();
    const present = async () => (await call(base, 'GET', `/-/?category=${encodeURIComponent(id)}`)).json as Record<string, unknown[]>;
    const count = async () => Object.values(await present()).reduce((n, list) => n + list.length, 0);
    expect(await count()).toBe(1);
    const res = await call(base, 'DELETE', '/-/', { body });
    expect(res.status).toBeLessThan(500);
    // The changes feed has had time to deliver whatever was written.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (res.status < 300) expect(await count(), 'accepted, yet still listed').toBe(0);
    else expect(await count(), `answered ${res.status} (${res.text.slice(0, 200)}), yet ${id} is gone from /-/`).toBe(1);
    await establishBase();
  });
});
