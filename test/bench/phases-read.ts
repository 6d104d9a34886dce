/**
 * @module The read phases: one resource, filtered queries (against the store's own indexed `_find`),
 * sub-kind collections, deep pages, a 1,000-member listing and the query interface.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_TYPE, repeat, say, type Bench } from './context.ts';
import { fetchJson, latencyStats, median, splitCredentials, throughput, timed, type Throughput } from './measure.ts';
import { cpuTicks, waitIdle } from './procs.ts';
import { num, type Row } from './report.ts';
import { capture, describe, replay } from './replay.ts';

/** GET one resource: autocannon connections and seconds per run (ABBA: two runs per side). */
const GET_CONNECTIONS = 10;
const GET_SECONDS = 3;
const GET_WARMUP_SECONDS = 2;
/** Longest single autocannon run against ocni when one request alone is slow. */
const GET_SLOW_MAX_SECONDS = 10;
/** Latency comparisons: sequential requests per side, at most, within the budget (both sides together). */
const LATENCY_REQUESTS = 100;
const LATENCY_MIN = 3;
const LATENCY_BUDGET_MS = 8_000;
/** The deep page of the paging row, and the page size. */
const DEEP_PAGE = 50;
const PAGE_SIZE = 50;
/** The large listing. */
const LARGE_PAGE = 1000;
const LIST_SECONDS = 8;

/** Throughput of `GET /compute/<id>` against `GET /<db>/<id>`, same connections, ABBA. */
export async function measureGet(b: Bench): Promise<Row> {
  const ids = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => b.seeded[Math.floor(f * b.seeded.length)]!);
  const storeTarget = splitCredentials(b.storeUrl);
  const sides = {
    ocni: { base: b.ocni.url, paths: ids, headers: { accept: JSON_TYPE } },
    direct: { base: storeTarget.base, paths: ids.map((id) => `/${b.entitiesDb}/${encodeURIComponent(id)}`), headers: { accept: 'application/json', ...storeTarget.headers } },
  };
  // One request alone first: when it takes long, a short run at 10 connections would end before
  // the first answers and measure nothing.
  const single: number[] = [];
  await repeat(
    (i, elapsed) => i < ids.length && (i < 3 || elapsed < 3000),
    async (i) => void single.push(await timed(() => fetchJson(`${b.ocni.url}${ids[i]!}`, { headers: { accept: JSON_TYPE }, expect: 200 }))),
  );
  // The first was a warm-up.
  const alone = median(single.slice(1));
  // Where one GET's time goes: the store requests ocni's read makes (the document, and its links
  // when it has any), captured from ocni's EntityStore and each sent again alone.
  const requests = await capture(b.client, () => b.entityStore.getWithLinks(ids[0]!));
  const parts = requests.map(() => [] as number[]);
  for (let round = 0; round < (alone > 500 ? 2 : 4); round += 1) {
    for (const [i, request] of requests.entries()) parts[i]!.push(await timed(() => replay(b.couch, request)));
  }
  b.notes.push(
    `Where a GET's time goes: through ocni, alone, median ${num(alone, 1)} ms. ocni's store requests for it, each sent alone: ${requests.map((r, i) => `\`${describe(r)}\` ${num(median(parts[i]!.slice(1)), 1)} ms`).join('; ')}.`,
  );
  const roundMs = GET_CONNECTIONS * alone;
  const runs: Record<'ocni' | 'direct', Throughput[]> = { ocni: [], direct: [] };
  // CPU time ocni and the store spend per answered request, to tell which one is the bottleneck.
  const cpu = { ocni: { ocni: 0, store: 0 }, direct: { ocni: 0, store: 0 } };
  const run = async (name: 'ocni' | 'direct', seconds: number) => {
    const before = [cpuTicks(b.ocni.pid) ?? 0, b.storePid ? (cpuTicks(b.storePid) ?? 0) : 0];
    runs[name].push(await throughput({ ...sides[name], connections: GET_CONNECTIONS, seconds }));
    // Requests in flight when a run stops are still being served; the next run must not pay for them.
    await waitIdle(b.busyPids);
    cpu[name].ocni += (cpuTicks(b.ocni.pid) ?? 0) - before[0]!;
    cpu[name].store += b.storePid ? (cpuTicks(b.storePid) ?? 0) - before[1]! : 0;
  };
  let operation = `GET one resource (${GET_CONNECTIONS} connections, ${2 * GET_SECONDS} s per side, ${ids.length} ids)`;
  if (roundMs * 10 <= GET_SECONDS * 1000) {
    for (const name of ['ocni', 'direct'] as const) {
      await throughput({ ...sides[name], connections: GET_CONNECTIONS, seconds: GET_WARMUP_SECONDS });
      await waitIdle(b.busyPids);
    }
    say(`GET one resource: ${GET_CONNECTIONS} connections × ${GET_SECONDS} s × 2 per side, ABBA (one GET alone: ${num(alone, 1)} ms)`);
    // ABBA: a drift over time (GC, LevelDB compaction, CPU heat) affects both sides alike.
    for (const name of ['ocni', 'direct', 'direct', 'ocni'] as const) await run(name, GET_SECONDS);
  } else {
    // Too slow for short runs (they would end before the first answer): one run long enough for
    // a few rounds of answers, bounded; the sequential GETs above were its warm-up. The store side
    // keeps the normal length: its rate is steady well within it.
    const seconds = Math.min(GET_SLOW_MAX_SECONDS, Math.max(2 * GET_SECONDS, Math.ceil((3 * roundMs) / 1000)));
    say(`GET one resource: one GET alone through ocni takes ${num(alone, 1)} ms; one ${seconds} s run for ocni at ${GET_CONNECTIONS} connections`);
    await run('ocni', seconds);
    await throughput({ ...sides.direct, connections: GET_CONNECTIONS, seconds: GET_WARMUP_SECONDS });
    await run('direct', 2 * GET_SECONDS);
    operation = `GET one resource (${GET_CONNECTIONS} connections; ocni ${seconds} s, direct ${2 * GET_SECONDS} s; ${ids.length} ids)`;
    b.notes.push(
      `GET one resource: one GET through ocni took ${num(alone)} ms even alone, so ocni got one ${seconds} s run at ${GET_CONNECTIONS} connections instead of 2 × ${GET_SECONDS} s; ${runs.ocni[0]!.requests} answers in it.`,
    );
  }
  const rps = (list: Throughput[]) => list.reduce((n, r) => n + r.rps, 0) / list.length;
  const mean = (list: Throughput[]) =>
    list.reduce((n, r) => n + r.latencyMeanMs * r.requests, 0) /
    Math.max(
      1,
      list.reduce((n, r) => n + r.requests, 0),
    );
  const o = rps(runs.ocni);
  const d = rps(runs.direct);
  say(`GET: ocni ${num(o, 1)} req/s, direct ${num(d, 1)} req/s`);
  if (b.storePid) {
    // Ticks are 10 ms; the runs' in-flight tails are included (waited for), so per answered request
    // this is slightly high for both sides alike.
    const per = (ticks: number, list: Throughput[]) =>
      num(
        (ticks * 10) /
          Math.max(
            1,
            list.reduce((n, r) => n + r.requests, 0),
          ),
        2,
      );
    b.notes.push(
      `CPU per GET under load: through ocni, ocni ${per(cpu.ocni.ocni, runs.ocni)} ms + store ${per(cpu.ocni.store, runs.ocni)} ms; direct, store ${per(cpu.direct.store, runs.direct)} ms.`,
    );
  }
  return {
    operation,
    ocni: `${num(o, o < 10 ? 2 : 0)} req/s (mean ${num(mean(runs.ocni), 1)} ms)`,
    direct: `${num(d)} req/s (mean ${num(mean(runs.direct), 1)} ms)`,
    ratio: o / d,
    target: '≥ 0.8× (1.0× the goal)',
    met: o / d >= 0.8,
    key: 'GET one resource, 10 connections',
    value: o,
    unit: 'req/s',
  };
}

/** Latency of two operations, alternating which goes first, after a short warm-up. */
async function compareLatency(one: () => Promise<unknown>, other: () => Promise<unknown>): Promise<{ one: ReturnType<typeof latencyStats>; other: ReturnType<typeof latencyStats>; n: number }> {
  await repeat(
    (i, elapsed) => i < 10 && elapsed < 2000,
    async () => {
      await one();
      await other();
    },
  );
  const a: number[] = [];
  const c: number[] = [];
  const n = await repeat(
    (i, elapsed) => i < LATENCY_REQUESTS && (i < LATENCY_MIN || elapsed < LATENCY_BUDGET_MS),
    async (i) => {
      if (i % 2 === 0) {
        a.push(await timed(one));
        c.push(await timed(other));
      } else {
        c.push(await timed(other));
        a.push(await timed(one));
      }
    },
  );
  return { one: latencyStats(a), other: latencyStats(c), n };
}

const stats = (s: ReturnType<typeof latencyStats>) => `mean ${num(s.mean, 1)} ms (p50 ${num(s.p50, 1)}, p99 ${num(s.p99, 1)})`;

/** The field of the benchmark's reference Mango index (the filtered attribute, dots escaped). */
export const CORES_FIELD = 'attributes.occi\\.compute\\.cores';
/** The reference Mango index the benchmark builds on ocni's entities database. */
export const CORES_INDEX = ['bench-cores', 'bench-cores'];

/**
 * The filtered query through ocni against the store's own indexed `_find` for the same result (an
 * index on the filtered field, built by the benchmark), interleaved.
 */
export async function measureFilter(b: Bench): Promise<Row> {
  const path = `/compute/?attribute=occi.compute.cores&value=${b.matchCores}`;
  const find = { selector: { [CORES_FIELD]: b.matchCores }, use_index: CORES_INDEX, limit: PAGE_SIZE + 1 };
  const viaOcni = () => fetchJson(`${b.ocni.url}${path}`, { headers: { accept: JSON_TYPE }, expect: 200 }) as Promise<{ resources?: unknown[] }>;
  const direct = () => b.couch.relax({ db: b.entitiesDb, method: 'post', path: '_find', body: find }) as Promise<{ docs: unknown[] }>;
  const [o, d] = [await viaOcni(), await direct()];
  if (o.resources?.length !== 10 || d.docs.length !== 10) throw new Error(`the filter should match 10: ocni returned ${o.resources?.length ?? 0}, the store ${d.docs.length}`);
  const explain = (await b.couch.relax({ db: b.entitiesDb, method: 'post', path: '_explain', body: find })) as { index: { name: string } };
  if (explain.index.name !== CORES_INDEX[1]) throw new Error(`the reference _find does not use its index (${explain.index.name})`);
  const requests = await capture(b.client, () =>
    b.entityStore.list({
      scope: { kind: 'http://schemas.ogf.org/occi/infrastructure#compute', kinds: b.registry.descendants('http://schemas.ogf.org/occi/infrastructure#compute') },
      patterns: [{ attributes: { 'occi.compute.cores': b.matchCores } }],
      skip: 0,
      limit: PAGE_SIZE,
    }),
  );
  b.notes.push(
    `[${num(b.size)}] The filtered query is, in the store: ${requests.map((r) => `\`${describe(r)}\``).join(' then ')}; the reference: \`POST _find ${JSON.stringify(find)}\` (its _explain names the index).`,
  );
  const r = await compareLatency(viaOcni, direct);
  say(`filter at ${num(b.size)}: ocni ${num(r.one.mean, 1)} ms, indexed _find ${num(r.other.mean, 1)} ms`);
  return {
    size: b.size,
    key: 'filtered query, 10 matches',
    value: r.one.mean,
    unit: 'ms',
    operation: `Filtered query, 10 of ${num(b.size)} (${r.n} sequential requests per side)`,
    ocni: stats(r.one),
    direct: `indexed _find: ${stats(r.other)}`,
    ratio: r.one.mean / r.other.mean,
    target: '≤ 2× (latency)',
    met: r.one.mean / r.other.mean <= 2,
  };
}

/** The same filter on `/resource/` (every resource kind) against `/compute/`, both through ocni. */
export async function measureSubkinds(b: Bench): Promise<Row> {
  const get = (collection: string) => () =>
    fetchJson(`${b.ocni.url}/${collection}/?attribute=occi.compute.cores&value=${b.matchCores}`, { headers: { accept: JSON_TYPE }, expect: 200 }) as Promise<{ resources?: unknown[] }>;
  const found = await get('resource')();
  if (found.resources?.length !== 10) throw new Error(`/resource/ with the filter returned ${found.resources?.length ?? 0}, not 10`);
  const r = await compareLatency(get('resource'), get('compute'));
  say(`sub-kinds at ${num(b.size)}: /resource/ ${num(r.one.mean, 1)} ms, /compute/ ${num(r.other.mean, 1)} ms`);
  return {
    size: b.size,
    key: '/resource/ with a filter',
    value: r.one.mean,
    unit: 'ms',
    operation: `\`/resource/\` with the filter (${b.registry.descendants('http://schemas.ogf.org/occi/core#resource').length} kinds) vs \`/compute/\` (${r.n} requests per side)`,
    ocni: stats(r.one),
    direct: `/compute/: ${stats(r.other)}`,
    ratio: r.one.mean / r.other.mean,
    target: '≤ 2×',
    met: r.one.mean / r.other.mean <= 2,
  };
}

/** Page 50 (by its `next` link, and by `?page=50`) against page 1 of the compute collection. */
export async function measurePaging(b: Bench): Promise<Row[]> {
  const first = `/compute/?number=${PAGE_SIZE}`;
  let path = first;
  for (let page = 1; page < DEEP_PAGE; page += 1) {
    const res = await fetch(`${b.ocni.url}${path}`, { headers: { accept: JSON_TYPE } });
    await res.arrayBuffer();
    const next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
    if (!next) throw new Error(`page ${page} of the compute collection has no next link`);
    path = new URL(next).pathname + new URL(next).search;
  }
  const get = (p: string) => () => fetchJson(`${b.ocni.url}${p}`, { headers: { accept: JSON_TYPE }, expect: 200 }) as Promise<{ resources?: unknown[] }>;
  const byNumber = `/compute/?number=${PAGE_SIZE}&page=${DEEP_PAGE}`;
  const [deep, numbered] = [await get(path)(), await get(byNumber)()];
  if (deep.resources?.length !== PAGE_SIZE || JSON.stringify(deep) !== JSON.stringify(numbered)) throw new Error('page 50 by its next link and by ?page=50 differ');
  const linked = await compareLatency(get(path), get(first));
  const counted = await compareLatency(get(byNumber), get(first));
  say(`paging at ${num(b.size)}: page ${DEEP_PAGE} by next link ${num(linked.one.mean, 1)} ms, by ?page= ${num(counted.one.mean, 1)} ms, page 1 ${num(linked.other.mean, 1)} ms`);
  return [
    {
      size: b.size,
      key: `page ${DEEP_PAGE} (next link)`,
      value: linked.one.mean,
      unit: 'ms',
      operation: `Page ${DEEP_PAGE} of the compute collection (${PAGE_SIZE} a page) by its \`next\` link, vs page 1`,
      ocni: stats(linked.one),
      direct: `page 1: ${stats(linked.other)}`,
      ratio: linked.one.mean / linked.other.mean,
      target: '≤ 1.5×',
      met: linked.one.mean / linked.other.mean <= 1.5,
    },
    {
      size: b.size,
      key: `page ${DEEP_PAGE} (?page=)`,
      value: counted.one.mean,
      unit: 'ms',
      operation: `Page ${DEEP_PAGE} by \`?page=${DEEP_PAGE}&number=${PAGE_SIZE}\` (index rows passed over unread), vs page 1`,
      ocni: stats(counted.one),
      direct: `page 1: ${stats(counted.other)}`,
      ratio: counted.one.mean / counted.other.mean,
      target: '(reported)',
      met: undefined,
    },
  ];
}

/** `?number=1000` at 10 connections, against the store's view range with documents for the same 1,000. */
export async function measureList(b: Bench): Promise<Row> {
  const kind = 'http://schemas.ogf.org/occi/infrastructure#compute';
  const storeTarget = splitCredentials(b.storeUrl);
  const qs = new URLSearchParams({ startkey: JSON.stringify([kind, '', null]), endkey: JSON.stringify([kind, '', null, {}]), include_docs: 'true', reduce: 'false', limit: String(LARGE_PAGE + 1) });
  const sides = {
    ocni: { base: b.ocni.url, paths: [`/compute/?number=${LARGE_PAGE}`], headers: { accept: JSON_TYPE } },
    direct: { base: storeTarget.base, paths: [`/${b.entitiesDb}/_design/ocni/_view/entities?${qs.toString()}`], headers: { accept: 'application/json', ...storeTarget.headers } },
  };
  const listed = (await fetchJson(`${b.ocni.url}/compute/?number=${LARGE_PAGE}`, { headers: { accept: JSON_TYPE }, expect: 200 })) as { resources?: unknown[] };
  if (listed.resources?.length !== LARGE_PAGE) throw new Error(`?number=${LARGE_PAGE} listed ${listed.resources?.length ?? 0}`);
  const runs: Record<'ocni' | 'direct', Throughput[]> = { ocni: [], direct: [] };
  for (const name of ['ocni', 'direct', 'direct', 'ocni'] as const) {
    await waitIdle(b.busyPids);
    runs[name].push(await throughput({ ...sides[name], connections: GET_CONNECTIONS, seconds: LIST_SECONDS }));
  }
  const mean = (list: Throughput[]) =>
    list.reduce((n, r) => n + r.latencyMeanMs * r.requests, 0) /
    Math.max(
      1,
      list.reduce((n, r) => n + r.requests, 0),
    );
  const o = mean(runs.ocni);
  const d = mean(runs.direct);
  // Per 100 listed at 10 connections: the time one request's answer takes, per 100 of its entities,
  // and the time the server spends per 100 entities (throughput), the figure the target is about.
  const rate = (list: Throughput[]) => list.reduce((n, r) => n + r.rps, 0) / list.length;
  if (runs.ocni.some((r) => r.requests === 0))
    b.notes.push(`[${num(b.size)}] A ${LIST_SECONDS} s run of ?number=${LARGE_PAGE} at ${GET_CONNECTIONS} connections got no answer in time: ocni's figure is then an upper bound of its rate.`);
  const per100 = 100_000 / (Math.max(rate(runs.ocni), 1 / (2 * LIST_SECONDS)) * LARGE_PAGE);
  const direct100 = 100_000 / (rate(runs.direct) * LARGE_PAGE);
  say(`list ${LARGE_PAGE} at ${num(b.size)}: ocni ${num(per100, 2)} ms per 100 listed (latency ${num(o)} ms), store ${num(direct100, 2)} ms`);
  return {
    size: b.size,
    key: `list ${num(LARGE_PAGE)}, ms per 100 listed`,
    value: per100,
    unit: 'ms',
    operation: `List ${num(LARGE_PAGE)} members (\`?number=${LARGE_PAGE}\`), ${GET_CONNECTIONS} connections`,
    ocni: `${num(per100, 2)} ms per 100 listed (${num(rate(runs.ocni), 1)} req/s, mean latency ${num(o)} ms)`,
    direct: `the view range with documents: ${num(direct100, 2)} ms per 100 (${num(rate(runs.direct), 1)} req/s, mean ${num(d)} ms)`,
    ratio: per100 / direct100,
    target: '≤ 5 ms per 100 listed',
    met: per100 <= 5,
  };
}

/** `GET /-/` at 10 connections against a bare Koa handler (own process) sending the same bytes. */
export async function measureQueryInterface(b: Bench, dir: string): Promise<Row> {
  const res = await fetch(`${b.ocni.url}/-/`, { headers: { accept: JSON_TYPE } });
  const bytes = Buffer.from(await res.arrayBuffer());
  const file = join(dir, 'query-interface.json');
  writeFileSync(file, bytes);
  const koa = spawn(process.execPath, [new URL('./bare-koa.mjs', import.meta.url).pathname, file, res.headers.get('content-type') ?? JSON_TYPE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      koa.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      koa.once('exit', (code) => reject(new Error(`the bare Koa server exited with ${code}`)));
    });
    const sides = {
      ocni: { base: b.ocni.url, paths: ['/-/'], headers: { accept: JSON_TYPE } },
      direct: { base: `http://127.0.0.1:${port}`, paths: ['/-/'], headers: { accept: JSON_TYPE } },
    };
    const runs: Record<'ocni' | 'direct', Throughput[]> = { ocni: [], direct: [] };
    for (const name of ['ocni', 'direct'] as const) await throughput({ ...sides[name], connections: GET_CONNECTIONS, seconds: 1 });
    for (const name of ['ocni', 'direct', 'direct', 'ocni'] as const) {
      await waitIdle(b.busyPids);
      runs[name].push(await throughput({ ...sides[name], connections: GET_CONNECTIONS, seconds: GET_SECONDS }));
    }
    const rate = (list: Throughput[]) => list.reduce((n, r) => n + r.rps, 0) / list.length;
    const o = rate(runs.ocni);
    const d = rate(runs.direct);
    say(`GET /-/: ocni ${num(o)} req/s, bare Koa ${num(d)} req/s (${num(bytes.length)} bytes)`);
    return {
      size: b.size,
      key: 'GET /-/, 10 connections',
      value: o,
      unit: 'req/s',
      operation: `GET \`/-/\` (${num(bytes.length / 1024, 1)} KB), ${GET_CONNECTIONS} connections, ${2 * GET_SECONDS} s per side`,
      ocni: `${num(o)} req/s`,
      direct: `bare Koa, same bytes: ${num(d)} req/s`,
      ratio: o / d,
      target: '≥ 0.5×',
      met: o / d >= 0.5,
    };
  } finally {
    koa.kill('SIGTERM');
  }
}
