/**
 * @module `npm run bench`: ocni against the same operations done directly on its store with nano, in
 * one run, on one machine. Starts the store (`COUCHDB_URL`, else the embedded store in a temp dir)
 * and ocni in a child process, seeds 10,000 computes, measures, prints a markdown table (also
 * written to `test/bench/last-run.md`) and removes everything it created. It reports; it does not
 * fail on a missed target. It exits non-zero only when something actually broke.
 *
 * Every phase has a time budget, so that a slow ocni (or store) shortens the sample instead of
 * stretching the run; a shortened sample is said so in the table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import nano, { type DocumentScope, type MangoQuery, type ServerScope } from 'nano';
import { loadConfig } from '../../src/config.ts';
import { CouchClient, type CouchRequestRecord } from '../../src/store/couch.ts';
import { databaseNames, warmIndexes } from '../../src/store/databases.ts';
import { EntityStore, type EntityDoc } from '../../src/store/entity-store.ts';
import type { CategoryRegistry } from '../../src/registry/registry.ts';
import { newId } from '../../src/backends/entity-service.ts';
import type { Entity } from '../../src/model/entity.ts';
import { fetchJson, latencyStats, median, splitCredentials, throughput, timed, type Throughput } from './measure.ts';
import { childPids, commandOf, cpuTicks, waitIdle } from './procs.ts';
import { num, renderReport, type Row } from './report.ts';
import { capture, describe, replay, replayAll } from './replay.ts';
import { readRss, RssSampler } from './rss.ts';
import { builtinRegistry, COMPUTE, computeAttributes, computeDoc, computeEntity, MATCH_CORES, seedComputes } from './seed.ts';
import { startOcniChild, startStore, type OcniChild } from './stack.ts';

const SEEDED = 10_000;
const MATCHING = 10;
/** GET one resource: autocannon connections and seconds per run (ABBA: two runs per side). */
const GET_CONNECTIONS = 10;
const GET_SECONDS = 3;
const GET_WARMUP_SECONDS = 2;
/** Longest single autocannon run against ocni when one request alone is slow. */
const GET_SLOW_MAX_SECONDS = 10;
/** Filtered query: sequential requests per side, at most, within the budget (both sides together). */
const FILTER_REQUESTS = 200;
const FILTER_MIN = 3;
const FILTER_BUDGET_MS = 15_000;
const BULK_SIZE = 1000;
const BULK_REPETITIONS = 5;
const BULK_MIN = 3;
const BULK_BUDGET_MS = 12_000;
const SINGLES = 1000;
const SINGLES_MIN = 4;
const SINGLES_BUDGET_MS = 16_000;
/** The whole run is bounded: past this, clean up and exit 1 rather than hang. */
const WATCHDOG_MS = 6 * 60_000;

const JSON_TYPE = 'application/occi+json';

/** Progress on stderr, so stdout holds only the report. */
function say(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Steps that undo what was set up, run last-in first-out, once. */
class Cleanup {
  readonly #steps: { what: string; run: () => Promise<void> | void }[] = [];
  #running: Promise<void> | undefined;

  add(what: string, run: () => Promise<void> | void): void {
    this.#steps.push({ what, run });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.reverse()) {
        try {
          say(`cleanup: ${step.what}`);
          await step.run();
        } catch (err) {
          // Keep going: the remaining steps (stopping processes, removing files) matter more.
          say(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.#running;
  }
}

/** What every phase needs. */
interface Bench {
  ocni: OcniChild;
  /** The seeded entities database (ocni's). */
  db: DocumentScope<EntityDoc>;
  /** A database of its own for direct writes (see where it is created). */
  writeDb: DocumentScope<EntityDoc>;
  entitiesDb: string;
  storeUrl: string;
  registry: CategoryRegistry;
  seeded: string[];
  /** The embedded store's process (none for an external CouchDB). */
  storePid: number | undefined;
  /** ocni's process and, when embedded, the store's: waited on until idle between measurements. */
  busyPids: number[];
  notes: string[];
  couch: ServerScope;
  /** ocni's own store code on its own client, to capture the requests ocni makes (see replay.ts). */
  client: CouchClient;
  entityStore: EntityStore;
  /** Numbers new resources' hostnames (and direct documents' ids) across phases. */
  counter: number;
}

/** Calls `fn` repeatedly while `more(i, elapsedMs)` says so. */
async function repeat(more: (i: number, elapsedMs: number) => boolean, fn: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  let i = 0;
  while (more(i, performance.now() - start)) await fn(i++);
  return i;
}

/** Throughput of `GET /compute/<id>` against `GET /<db>/<id>`, same connections, ABBA. */
async function measureGet(b: Bench): Promise<Row> {
  const ids = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => b.seeded[Math.floor(f * SEEDED)]!);
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
  const mean = (list: Throughput[]) => list.reduce((n, r) => n + r.latencyMeanMs * r.requests, 0) / Math.max(1, list.reduce((n, r) => n + r.requests, 0));
  const o = rps(runs.ocni);
  const d = rps(runs.direct);
  say(`GET: ocni ${num(o, 1)} req/s, direct ${num(d, 1)} req/s`);
  if (b.storePid) {
    // Ticks are 10 ms; the runs' in-flight tails are included (waited for), so per answered request
    // this is slightly high for both sides alike.
    const per = (ticks: number, list: Throughput[]) => num((ticks * 10) / Math.max(1, list.reduce((n, r) => n + r.requests, 0)), 2);
    b.notes.push(
      `CPU per GET under load: through ocni, ocni ${per(cpu.ocni.ocni, runs.ocni)} ms + store ${per(cpu.ocni.store, runs.ocni)} ms; direct, store ${per(cpu.direct.store, runs.direct)} ms.`,
    );
  }
  return {
    operation,
    ocni: `${num(o, o < 10 ? 2 : 0)} req/s (mean ${num(mean(runs.ocni), 1)} ms)`,
    direct: `${num(d)} req/s (mean ${num(mean(runs.direct), 1)} ms)`,
    ratio: o / d,
    target: '≥ 0.5×',
    met: o / d >= 0.5,
  };
}

/** Latency of the filtered collection query against the same Mango `_find`, interleaved. */
async function measureFilter(b: Bench, filterPath: string, storeRequests: CouchRequestRecord[]): Promise<Row> {
  const oneOcni = () => fetchJson(`${b.ocni.url}${filterPath}`, { headers: { accept: JSON_TYPE }, expect: 200 });
  const oneDirect = () => replayAll(b.couch, storeRequests);
  // Warm-up: up to 20 pairs within 2 s (the verification before was a first one already).
  await repeat(
    (i, elapsed) => i < 20 && elapsed < 2000,
    async () => {
      await oneOcni();
      await oneDirect();
    },
  );
  const ocni: number[] = [];
  const direct: number[] = [];
  // Alternating which side goes first, so both see the same conditions.
  const n = await repeat(
    (i, elapsed) => i < FILTER_REQUESTS && (i < FILTER_MIN || elapsed < FILTER_BUDGET_MS),
    async (i) => {
      if (i % 2 === 0) {
        ocni.push(await timed(oneOcni));
        direct.push(await timed(oneDirect));
      } else {
        direct.push(await timed(oneDirect));
        ocni.push(await timed(oneOcni));
      }
    },
  );
  const fo = latencyStats(ocni);
  const fd = latencyStats(direct);
  say(`filter: ocni mean ${num(fo.mean, 1)} ms, direct mean ${num(fd.mean, 1)} ms over ${n} requests each`);
  return {
    operation: `Filtered query, ${MATCHING} of ${num(SEEDED)}: latency (${n} sequential requests per side${n < FILTER_REQUESTS ? ', cut by the time budget' : ''})`,
    ocni: `mean ${num(fo.mean, 1)} ms (p50 ${num(fo.p50, 1)}, p99 ${num(fo.p99, 1)})`,
    direct: `mean ${num(fd.mean, 1)} ms (p50 ${num(fd.p50, 1)}, p99 ${num(fd.p99, 1)})`,
    ratio: fo.mean / fd.mean,
    target: '≤ 2× (latency)',
    met: fo.mean / fd.mean <= 2,
  };
}

/**
 * The store requests of ocni's create, made alone through ocni's own EntityStore (into ocni's
 * database, as ocni would): write the documents, then look up the links of what was created (the
 * response renders them). Best of `tries` for each, since one-off timings on a shared machine are
 * noisy.
 *
 * @returns milliseconds of the write and of the links lookup
 */
async function storeSteps(b: Bench, count: number, tries: number): Promise<[number, number]> {
  let write = Infinity;
  let links = Infinity;
  for (let i = 0; i < tries; i += 1) {
    const entities = Array.from({ length: count }, () => computeEntity(b.registry, newId(), b.counter++));
    await waitIdle(b.busyPids);
    let created: Entity[] = [];
    write = Math.min(write, await timed(async () => (created = await b.entityStore.createMany(entities))));
    links = Math.min(links, await timed(() => b.entityStore.linksFrom(created)));
  }
  return [write, links];
}

/** `POST /compute/` with 1,000 resources against `_bulk_docs` of 1,000 documents. */
async function measureBulk(b: Bench): Promise<Row> {
  const body = () => JSON.stringify({ resources: Array.from({ length: BULK_SIZE }, () => ({ kind: COMPUTE, attributes: computeAttributes(b.counter++) })) });
  // Direct documents are built before timing: building them is ocni's work, not the store's.
  const docs = () => Array.from({ length: BULK_SIZE }, () => computeDoc(b.registry, `bulk-${b.counter}`, b.counter++));
  const viaOcni = async (text: string) => {
    const created = (await fetchJson(`${b.ocni.url}/compute/`, { method: 'POST', headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE }, body: text, expect: 201 })) as { resources?: unknown[] };
    if (created.resources?.length !== BULK_SIZE) throw new Error(`ocni created ${created.resources?.length ?? 0} of ${BULK_SIZE}`);
  };
  const direct = async (list: EntityDoc[]) => {
    const results = await b.writeDb.bulk({ docs: list });
    if (results.some((r) => r.error)) throw new Error('the store refused a bulk document');
  };
  await viaOcni(body());
  await direct(docs());
  const ocniRates: number[] = [];
  const directRates: number[] = [];
  const n = await repeat(
    (i, elapsed) => i < BULK_REPETITIONS && (i < BULK_MIN || elapsed < BULK_BUDGET_MS),
    async (i) => {
      const text = body();
      const list = docs();
      for (const side of i % 2 === 0 ? (['ocni', 'direct'] as const) : (['direct', 'ocni'] as const)) {
        // The store may still be finishing the other side's request; neither side pays for that.
        await waitIdle(b.busyPids);
        const ms = side === 'ocni' ? await timed(() => viaOcni(text)) : await timed(() => direct(list));
        (side === 'ocni' ? ocniRates : directRates).push(BULK_SIZE / (ms / 1000));
      }
    },
  );
  // Where a bulk create's time goes: the store requests ocni's create makes (write the documents,
  // then look up the links of what it created to render them), made here through ocni's own
  // EntityStore so that each can be timed; ocni's HTTP, validation and rendering are the rest.
  const [writeMs, linksMs] = await storeSteps(b, BULK_SIZE, 2);
  b.notes.push(
    `Where a bulk create's time goes: ocni's store requests for ${num(BULK_SIZE)} resources, made alone through its EntityStore (best of 2): write (_bulk_docs) ${num(writeMs)} ms, then the links of the created resources, for the response, ${num(linksMs)} ms; ocni's whole request took a median ${num((BULK_SIZE / median(ocniRates)) * 1000)} ms.`,
  );
  const o = median(ocniRates);
  const d = median(directRates);
  say(`bulk: ocni ${num(o)} items/s, direct ${num(d)} items/s (median of ${n})`);
  return {
    operation: `Bulk create ${num(BULK_SIZE)} in one request (median of ${n}${n < BULK_REPETITIONS ? ', cut by the time budget' : ''})`,
    ocni: `${num(o)} items/s`,
    direct: `${num(d)} items/s`,
    ratio: o / d,
    target: '≥ 0.5×',
    met: o / d >= 0.5,
  };
}

/**
 * 1,000 sequential `POST /compute/` against 1,000 sequential single-document inserts, in ABBA
 * blocks: ocni, store, store, ocni. Blocks rather than alternating requests, because the store
 * finishes ocni's heavier requests (and collects their garbage) after answering, and a direct insert
 * right behind each one would pay for it.
 */
async function measureSingles(b: Bench): Promise<Row> {
  const viaOcni = () =>
    fetchJson(`${b.ocni.url}/compute/`, { method: 'POST', headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE }, body: JSON.stringify({ kind: COMPUTE, attributes: computeAttributes(b.counter++) }), expect: 201 });
  const direct = async () => {
    const doc = computeDoc(b.registry, `single-${b.counter}`, b.counter++);
    return timed(() => b.writeDb.insert(doc));
  };
  await repeat(
    (i, elapsed) => i < 20 && elapsed < 2000,
    async () => {
      await viaOcni();
      await direct();
    },
  );
  let ocniMs = 0;
  let directMs = 0;
  // The first ocni block sets the block size: a quarter of the count, or what fits in its share of
  // the budget; every other block then does exactly as many.
  await waitIdle(b.busyPids);
  const size = await repeat(
    (i, elapsed) => i < SINGLES / 4 && (i < SINGLES_MIN / 2 || elapsed < SINGLES_BUDGET_MS / 2),
    async () => void (ocniMs += await timed(viaOcni)),
  );
  for (const side of ['direct', 'direct', 'ocni'] as const) {
    await waitIdle(b.busyPids);
    for (let i = 0; i < size; i += 1) {
      if (side === 'ocni') ocniMs += await timed(viaOcni);
      else directMs += await direct();
    }
  }
  const n = 2 * size;
  const [writeMs, linksMs] = await storeSteps(b, 1, 5);
  b.notes.push(
    `Where a single create's time goes: ocni's store requests for one resource, made alone through its EntityStore (best of 5): write ${num(writeMs, 1)} ms, then its links ${num(linksMs, 1)} ms; ocni's whole request took a mean ${num(ocniMs / n, 1)} ms.`,
  );
  const o = n / (ocniMs / 1000);
  const d = n / (directMs / 1000);
  say(`one at a time: ocni ${num(o, 1)} items/s, direct ${num(d)} items/s (${n} each)`);
  return {
    operation: `Create ${num(SINGLES)} one at a time (sequential${n < SINGLES ? `; ${n} per side in the time budget` : ''})`,
    ocni: `${num(o, o < 10 ? 2 : 0)} items/s (mean ${num(ocniMs / n, 1)} ms)`,
    direct: `${num(d)} items/s (mean ${num(directMs / n, 1)} ms)`,
    ratio: o / d,
    target: '(reported)',
    met: undefined,
  };
}

async function main(cleanup: Cleanup): Promise<{ rows: Row[]; notes: string[]; store: string }> {
  const started = Date.now();
  const loadStart = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'ocni-bench-'));
  cleanup.add('remove the temp dir', () => rmSync(dir, { recursive: true, force: true }));

  const before = new Set(childPids());
  const store = await startStore(process.env.COUCHDB_URL || undefined, join(dir, 'store'));
  cleanup.add('stop the store', () => store.close());
  const storePid = childPids().find((pid) => !before.has(pid) && commandOf(pid).includes('embedded/child.mjs'));
  const couch = nano({ url: store.url });
  const welcome = (await couch.relax({ path: '' })) as { version?: string; vendor?: { name?: string } };
  const storeLabel =
    store.kind === 'embedded'
      ? `embedded (PouchDB Server ${welcome.version ?? '?'} on LevelDB, own process)`
      : `external ${welcome.vendor?.name ?? 'CouchDB'} ${welcome.version ?? '?'}`;
  say(`store: ${storeLabel}`);

  const prefix = `bench_${randomBytes(4).toString('hex')}_`;
  const names = databaseNames(prefix);
  // Direct writes go to a database of their own: the store updates Mango indexes lazily, at the next
  // query, so direct documents written into ocni's database would make ocni's next query (every
  // create answers with the links of what it created) index them too and pay for both sides.
  const directWrites = `${prefix}direct`;
  cleanup.add('delete the bench databases', async () => {
    for (const name of [names.categories, names.entities, directWrites]) await couch.db.destroy(name).catch(() => undefined);
  });
  await couch.db.create(directWrites);
  const configFile = join(dir, 'ocni.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      // A longer store timeout than the default 10 s, so that a slow store shows as slow answers
      // rather than as 503s that would end the run.
      couchdb: { dbPrefix: prefix, requestTimeoutMs: 120_000 },
      limits: { itemsPerRequest: 2000, bodyBytes: 8 * 1024 * 1024 },
      log: { level: 'silent', pretty: false },
    }),
  );
  // The configuration the child reads, for the page size its filtered query asks for.
  const config = loadConfig({ OCNI_CONFIG: configFile, COUCHDB_URL: store.url });

  // BENCH_OCNI_CPU_PROF=<dir> writes a V8 CPU profile of the ocni process there when it stops.
  const profileDir = process.env.BENCH_OCNI_CPU_PROF;
  const ocni = await startOcniChild({ couchUrl: store.url, configFile, dataDir: join(dir, 'ocni'), nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
  cleanup.add('stop ocni', () => ocni.close());
  const ocniRss = new RssSampler(() => readRss(ocni.pid));
  const benchRss = new RssSampler(() => process.memoryUsage().rss);
  cleanup.add('stop sampling', () => void ocniRss.stop());
  say(`ocni (pid ${ocni.pid}) at ${ocni.url}, databases ${prefix}*`);

  // --- Seed -------------------------------------------------------------------------------------
  const registry = builtinRegistry();
  const db = couch.use<EntityDoc>(names.entities) as DocumentScope<EntityDoc>;
  let t = performance.now();
  // The direct writes' database gets as many documents as ocni's: a write's cost grows with the
  // database (LevelDB or B-tree depth, revision lookups), so both sides write into equal sizes.
  const writeDb = couch.use<EntityDoc>(directWrites) as DocumentScope<EntityDoc>;
  const [seeded] = await Promise.all([seedComputes(db, registry, SEEDED, MATCHING), seedComputes(writeDb, registry, SEEDED, MATCHING)]);
  say(`seeded ${num(seeded.length)} computes (and as many in the direct writes' database) in ${num((performance.now() - t) / 1000, 1)} s`);

  // Mango indexes and views are built at their first query; build every one ocni declares now, so
  // that no measurement pays the one-time build over the seeded documents. ($in, not $gt: null,
  // which PouchDB's planner refuses on single-field indexes.)
  t = performance.now();
  await warmIndexes(new CouchClient({ url: store.url, requestTimeoutMs: 30 * 60_000 }), names, { tenancy: false }, 30 * 60_000);
  say(`Mango indexes and views built in ${num((performance.now() - t) / 1000, 1)} s`);

  // --- The filtered query: capture ocni's store requests for it, verify both sides find 10 --------
  const filterPath = `/compute/?attribute=occi.compute.cores&value=${MATCH_CORES}`;
  const client = new CouchClient({ url: store.url, requestTimeoutMs: 120_000 });
  const entityStore = new EntityStore(client, names.entities);
  // The same EntityStore.list call ocni's route makes for this URL, so the requests are ocni's own.
  const filterRequests = await capture(client, () =>
    entityStore.list({
      scope: { kind: COMPUTE, kinds: registry.descendants(COMPUTE) },
      patterns: [{ attributes: { 'occi.compute.cores': MATCH_CORES } }],
      skip: 0,
      limit: config.limits.pageSizeDefault,
    }),
  );
  if (filterRequests.length === 0) throw new Error('could not capture the store requests of the filtered query');
  say(`the filtered query is, in the store: ${filterRequests.map(describe).join(' then ')}`);
  let t0 = performance.now();
  const viaOcni = (await fetchJson(`${ocni.url}${filterPath}`, { headers: { accept: JSON_TYPE }, expect: 200 })) as { resources?: unknown[] };
  const ocniFirst = performance.now() - t0;
  t0 = performance.now();
  const answer = (await replayAll(couch, filterRequests)) as { docs?: unknown[]; rows?: unknown[] };
  const directFirst = performance.now() - t0;
  const directCount = (answer.docs ?? answer.rows ?? []).length;
  if (viaOcni.resources?.length !== MATCHING || directCount !== MATCHING) {
    throw new Error(`the filter should match ${MATCHING}: ocni returned ${viaOcni.resources?.length ?? 0}, the store ${directCount}`);
  }
  say(`first filtered query: ocni ${num(ocniFirst)} ms, direct ${num(directFirst)} ms`);
  say(`filter verified: ocni and the store both return ${MATCHING} of ${num(SEEDED)}`);

  const b: Bench = {
    ocni,
    db,
    writeDb,
    storePid,
    entitiesDb: names.entities,
    storeUrl: store.url,
    registry,
    seeded,
    busyPids: [ocni.pid, ...(storePid ? [storePid] : [])],
    notes: [],
    couch,
    client,
    entityStore,
    counter: SEEDED,
  };
  const rows: Row[] = [];
  // Reads first, on exactly the seeded 10,000; the write phases add documents after.
  say(`set up in ${num((Date.now() - started) / 1000)} s`);
  for (const phase of [() => measureGet(b), () => measureFilter(b, filterPath, filterRequests), () => measureBulk(b), () => measureSingles(b)]) {
    await waitIdle(b.busyPids);
    const phaseStart = Date.now();
    rows.push(await phase());
    say(`  (${num((Date.now() - phaseStart) / 1000)} s)`);
  }

  // --- Memory -----------------------------------------------------------------------------------
  const rss = ocniRss.stop();
  const own = benchRss.stop();
  const mb = rss.maxBytes / 1024 / 1024;
  rows.push({ operation: 'ocni server RSS, max over the whole run', ocni: `${num(mb, 1)} MB`, direct: '—', ratio: undefined, target: '< 300 MB', met: mb < 300 });

  const notes = [
    `ocni ran as \`node --import tsx src/main.ts\` in its own process (log level silent); its RSS is VmRSS from /proc/<pid>/status, sampled every 100 ms (${rss.samples} samples).`,
    `The store ran in its own process; autocannon, nano and fetch (the load generators) ran in the benchmark process (max RSS ${num(own.maxBytes / 1024 / 1024, 1)} MB). All share the machine's ${cpus().length} cores, so ocni's side also pays for ocni's own CPU time.`,
    `Seeded ${num(SEEDED)} computes straight into the store in ocni's document shape (built with ocni's buildEntity and toDoc), ${MATCHING} of them with occi.compute.cores = ${MATCH_CORES}; the filter was checked through ocni's API before measuring. Mango indexes and views were built before measuring.`,
    `Direct side of the filtered query: the store requests ocni's own EntityStore.list sends for it, captured and replayed with nano: ${filterRequests.map((r) => `\`${describe(r)}\``).join(', then ')}.`,
    'Ratios are ocni ÷ direct: throughputs want a high ratio, the latency row a low one. Both sides use the same client concurrency, are interleaved (ABBA or alternating) after a warm-up, and the next measurement waits until ocni and the store are idle again.',
    `Direct writes go to a separate database of the same store, seeded with as many documents (${num(SEEDED)}), so that ocni's queries never index the direct side's documents.`,
    ...b.notes,
    `Load average (1 min) at the start ${num(loadStart, 2)}, at the end ${num(loadavg()[0]!, 2)}: anything else running on the machine slows both sides, ocni's more (it needs CPU of its own).`,
    `Run time ${num((Date.now() - started) / 1000)} s.`,
  ];
  return { rows, notes, store: storeLabel };
}

const cleanup = new Cleanup();
const watchdog = setTimeout(() => {
  say(`the run exceeded ${WATCHDOG_MS / 60_000} minutes; stopping`);
  void cleanup.run().finally(() => process.exit(1));
}, WATCHDOG_MS).unref();
const interrupted = (signal: string) => {
  say(`${signal}: cleaning up`);
  void cleanup.run().finally(() => process.exit(130));
};
// on, not once: a second signal (tsx relays the one the group got) must not fall back to the default, which kills the
// process before cleanup has stopped the store and removed the temp dir.
process.on('SIGINT', () => interrupted('SIGINT'));
process.on('SIGTERM', () => interrupted('SIGTERM'));

try {
  const { rows, notes, store } = await main(cleanup);
  await cleanup.run();
  const cpu = cpus();
  const report = renderReport(rows, { cores: cpu.length, cpu: cpu[0]?.model.trim() ?? '?', node: process.version, store, date: new Date().toISOString() }, notes);
  process.stdout.write(report);
  writeFileSync(new URL('./last-run.md', import.meta.url), report);
  say('report written to test/bench/last-run.md');
} catch (err) {
  say(`failed: ${(err as Error).stack ?? String(err)}`);
  await cleanup.run();
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  // tsx's esbuild service is tsx's own helper and ends with this process.
  const left = childPids().filter((pid) => !commandOf(pid).includes('esbuild'));
  if (left.length > 0) {
    say(`processes still running after cleanup: ${left.map((pid) => `${pid} (${commandOf(pid)})`).join(', ')}`);
    process.exitCode = 1;
  }
}
