/**
 * @module `npm run bench`: ocni against the same operations done directly on its store (or another
 * reference named in each row), in one run, on one machine. Starts the store (`COUCHDB_URL`, else
 * the embedded store in a temp dir) and ocni in a child process, seeds 10,000 computes (and, with
 * `-- --large` or `BENCH_LARGE=1`, tops them up to 100,000 and measures again), prints a markdown
 * table with the growth between the sizes (also written to `test/bench/last-run.md`) and removes
 * everything it created. It reports; it does not fail on a missed target. It exits non-zero only
 * when something actually broke.
 *
 * Every phase has a time budget, so that a slow ocni (or store) shortens the sample instead of
 * stretching the run; a shortened sample is said so in the table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import nano from 'nano';
import { CouchClient } from '../../src/store/couch.ts';
import { databaseNames, warmIndexes } from '../../src/store/databases.ts';
import { EntityStore, type EntityDoc } from '../../src/store/entity-store.ts';
import { Cleanup, JSON_TYPE, say, type Bench } from './context.ts';
import { fetchJson, timed } from './measure.ts';
import { CORES_FIELD, CORES_INDEX, measureFilter, measureGet, measureList, measurePaging, measureQueryInterface, measureSubkinds } from './phases-read.ts';
import { measureBulk, measureSingles } from './phases-write.ts';
import { childPids, commandOf, waitIdle } from './procs.ts';
import { num, renderReport, type Row } from './report.ts';
import { cachedEntities, readRss, RssSampler } from './rss.ts';
import { builtinRegistry, computeDoc, MATCH_CORES, seedComputes } from './seed.ts';
import { buildOcni, ocniCommand, startOcniChild, startStore, type BenchStore } from './stack.ts';
import { describeStarts, timeStart, type StartTimes } from './startup.ts';

const LARGE = process.argv.includes('--large') || process.env.BENCH_LARGE === '1';
const SIZES = LARGE ? [10_000, 100_000] : [10_000];
/**
 * `-- --only=get,query`: measure only the named phases (get, filter, subkinds, paging, list, query,
 * bulk, singles, startup) and skip the index-cost line (and start-up unless named); the memory rows
 * are then the max over the phases measured. For re-measuring a few rows.
 */
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .filter(Boolean);
const wanted = (name: string) => ONLY === undefined || ONLY.includes(name);
const MATCHING = 10;
/** The whole run is bounded: past this, clean up and exit 1 rather than hang. */
const WATCHDOG_MS = (LARGE ? 80 : 12) * 60_000;
/** Starts timed at each size (the median is reported). */
const STARTS = 3;
/** Building a view over 100,000 documents takes minutes on the embedded store. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

/** Bytes under a directory. */
function du(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? du(full) : statSync(full).size;
  }
  return total;
}

/** Disk used by the entities database and by its indexes (the embedded store's LevelDB folders, or CouchDB's `_info`). */
async function diskSizes(b: Bench, storeDir: string, external: boolean): Promise<{ docs: number; views: number; reference: number } | undefined> {
  if (external) {
    const info = (await b.couch.relax({ db: b.entitiesDb, path: '' })) as { sizes?: { file?: number } };
    const view = async (ddoc: string) => ((await b.couch.relax({ db: b.entitiesDb, path: `_design/${ddoc}/_info` })) as { view_index?: { sizes?: { file?: number } } }).view_index?.sizes?.file ?? 0;
    return { docs: info.sizes?.file ?? 0, views: await view('ocni'), reference: await view(CORES_INDEX[0]!) };
  }
  const root = join(storeDir, 'db');
  const entries = readdirSync(root);
  const docs = entries.filter((e) => e === b.entitiesDb).reduce((n, e) => n + du(join(root, e)), 0);
  const views = entries.filter((e) => e.startsWith(`${b.entitiesDb}-mrview-`)).map((e) => ({ e, size: du(join(root, e)) }));
  // The reference index is the one view the benchmark added; it is built last, so it is the newest folder.
  const newest = views.sort((x, y) => statSync(join(root, x.e)).mtimeMs - statSync(join(root, y.e)).mtimeMs).pop();
  return { docs, views: views.reduce((n, v) => n + v.size, 0), reference: newest?.size ?? 0 };
}

async function main(cleanup: Cleanup): Promise<{ rows: Row[]; notes: string[]; store: string }> {
  const started = Date.now();
  const loadStart = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'ocni-bench-'));
  cleanup.add('remove the temp dir', () => rmSync(dir, { recursive: true, force: true }));
  const storeDir = join(dir, 'store');

  const external = Boolean(process.env.COUCHDB_URL);
  const findStorePid = (before: Set<number>) => childPids().find((pid) => !before.has(pid) && commandOf(pid).includes('embedded/child.mjs'));
  let before = new Set(childPids());
  let store: BenchStore = await startStore(process.env.COUCHDB_URL || undefined, storeDir);
  cleanup.add('stop the store', () => store.close());
  const couch = () => nano({ url: store.url });
  const welcome = (await couch().relax({ path: '' })) as { version?: string; vendor?: { name?: string } };
  const storeLabel =
    store.kind === 'embedded' ? `embedded (PouchDB Server ${welcome.version ?? '?'} on LevelDB, own process, bare Node)` : `external ${welcome.vendor?.name ?? 'CouchDB'} ${welcome.version ?? '?'}`;
  say(`store: ${storeLabel}`);

  const prefix = `bench_${randomBytes(4).toString('hex')}_`;
  const names = databaseNames(prefix);
  // Direct writes go to a database of their own, as large as ocni's: views are brought up to date
  // at the next query, so direct documents in ocni's database would make ocni's queries pay for them.
  const directWrites = `${prefix}direct`;
  cleanup.add('delete the bench databases', async () => {
    for (const name of [names.categories, names.entities, directWrites])
      await couch()
        .db.destroy(name)
        .catch(() => undefined);
  });
  await couch().db.create(directWrites);
  const configFile = join(dir, 'ocni.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      // A longer store timeout than the default 10 s, so that a slow store shows as slow answers
      // rather than as 503s that would end the run.
      couchdb: { dbPrefix: prefix, requestTimeoutMs: 120_000 },
      limits: { itemsPerRequest: 2000, bodyBytes: 8 * 1024 * 1024, pageSizeMax: 1000, pageSizeDefault: 50 },
      log: { level: 'silent', pretty: false },
      // BENCH_OCNI_EXTRA='{"readCache":{"entities":0}}' tries ocni with other settings (JSON, merged at the top level).
      ...(process.env.BENCH_OCNI_EXTRA ? (JSON.parse(process.env.BENCH_OCNI_EXTRA) as object) : {}),
    }),
  );
  // BENCH_OCNI_CPU_PROF=<dir> writes a V8 CPU profile of the ocni process there when it stops.
  const profileDir = process.env.BENCH_OCNI_CPU_PROF;
  const startOcni = () => startOcniChild({ couchUrl: store.url, configFile, dataDir: join(dir, 'ocni'), nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
  buildOcni();
  let ocni = await startOcni();
  cleanup.add('stop ocni', () => ocni.close());
  say(`ocni (pid ${ocni.pid}) at ${ocni.url}, databases ${prefix}*`);

  const registry = builtinRegistry();
  const client = new CouchClient({ url: store.url, requestTimeoutMs: 120_000 });
  const storePid = store.kind === 'embedded' ? findStorePid(before) : undefined;
  const b: Bench = {
    ocni,
    db: couch().use<EntityDoc>(names.entities),
    writeDb: couch().use<EntityDoc>(directWrites),
    entitiesDb: names.entities,
    storeUrl: store.url,
    registry,
    size: 0,
    seeded: [],
    matchCores: MATCH_CORES,
    storePid,
    busyPids: [ocni.pid, ...(storePid ? [storePid] : [])],
    notes: [],
    couch: couch(),
    client,
    entityStore: new EntityStore(client, names.entities),
    counter: 0,
  };
  // The reference index of the filtered query: on the filtered field, in ocni's own database.
  await b.couch.relax({ db: names.entities, method: 'post', path: '_index', body: { index: { fields: [CORES_FIELD] }, name: CORES_INDEX[1], ddoc: CORES_INDEX[0], type: 'json' } });

  const rows: Row[] = [];
  for (const [stage, size] of SIZES.entries()) {
    const stageStart = Date.now();
    // --- Seed up to this size: 10 new matches of a cores value no earlier document has -----------
    const add = size - b.size;
    b.matchCores = MATCH_CORES + stage;
    /** The store's RSS, max per part of this size's run: which work holds its memory. */
    const storeRssByPart: string[] = [];
    const sampleStore = () => (b.storePid ? new RssSampler(() => readRss(b.storePid!)) : undefined);
    const partDone = (part: string, sampler: RssSampler | undefined) => {
      if (sampler) storeRssByPart.push(`${part} ${num(sampler.stop().maxBytes / 1024 / 1024)} MB`);
    };
    let partRss = sampleStore();
    let t = performance.now();
    const [seeded] = await Promise.all([seedComputes(b.db, registry, add, MATCHING, b.matchCores, b.counter), seedComputes(b.writeDb, registry, add, MATCHING, b.matchCores, b.counter)]);
    b.seeded.push(...seeded);
    partDone('seeding', partRss);
    partRss = sampleStore();
    b.counter += add;
    b.size = size;
    say(`seeded ${num(add)} more computes (now ${num(size)}, and as many in the direct writes' database) in ${num((performance.now() - t) / 1000, 1)} s`);
    // Views are built by their first query; build ocni's and the reference index now, timed, so that no measurement pays for it.
    const builder = new CouchClient({ url: store.url, requestTimeoutMs: BUILD_TIMEOUT_MS });
    t = performance.now();
    await warmIndexes(builder, names, { tenancy: false }, BUILD_TIMEOUT_MS);
    const viewBuild = performance.now() - t;
    t = performance.now();
    await builder.request({ db: names.entities, method: 'post', path: '_find', body: { selector: { [CORES_FIELD]: -1 }, use_index: CORES_INDEX, limit: 1 }, timeoutMs: BUILD_TIMEOUT_MS });
    const referenceBuild = performance.now() - t;
    partDone('index build', partRss);
    const disk = await diskSizes(b, storeDir, external);
    const mb = (bytes: number) => `${num(bytes / 1024 / 1024, 1)} MB`;
    b.notes.push(
      `[${num(size)}] Index build over the ${num(add)} new documents: ocni's view ${num(viewBuild / 1000, 1)} s, the reference Mango index on one field ${num(referenceBuild / 1000, 1)} s.` +
        (disk
          ? ` Disk: documents ${mb(disk.docs)}, ocni's views ${mb(disk.views - (external ? 0 : disk.reference))} (${num((disk.views - (external ? 0 : disk.reference)) / Math.max(1, disk.docs), 2)}× the documents), the one-field reference index ${mb(disk.reference)}.`
          : ''),
    );

    const ocniRss = new RssSampler(() => readRss(b.ocni.pid));
    const storeRss = new RssSampler(() => (b.storePid ? readRss(b.storePid) : undefined));
    const named: [string, () => Promise<Row | Row[]>][] = [
      ['get', () => measureGet(b)],
      ['filter', () => measureFilter(b)],
      ['subkinds', () => measureSubkinds(b)],
      ['paging', () => measurePaging(b)],
      ['list', () => measureList(b)],
      ['query', () => measureQueryInterface(b, dir)],
      ['bulk', () => measureBulk(b)],
      ...(stage === 0 ? [['singles', () => measureSingles(b)] as [string, () => Promise<Row | Row[]>]] : []),
    ];
    /** ocni's RSS per phase, max and at its end: which work needs memory, and which leaves it held. */
    const ocniRssByPhase: string[] = [];
    /** The most entities ocni's read cache held at the end of a phase: what the RSS target allows for. */
    let cachedMax = await cachedEntities(b.ocni.url);
    for (const [name, phase] of named.filter(([name]) => wanted(name))) {
      await waitIdle(b.busyPids);
      const phaseStart = Date.now();
      const phaseRss = sampleStore();
      const ocniPhaseRss = new RssSampler(() => readRss(b.ocni.pid));
      const got = await phase();
      partDone(name, phaseRss);
      const cached = await cachedEntities(b.ocni.url);
      cachedMax = Math.max(cachedMax, cached);
      ocniRssByPhase.push(`${name} max ${num(ocniPhaseRss.stop().maxBytes / 1024 / 1024)} MB, at its end ${num((readRss(b.ocni.pid) ?? 0) / 1024 / 1024)} MB (read cache ${num(cached)} entities)`);
      for (const row of Array.isArray(got) ? got : [got]) rows.push({ size, ...row });
      say(`  (${num((Date.now() - phaseStart) / 1000)} s)`);
    }

    // --- What the index costs a write: bring it up to date after 1,000 new documents -------------
    if (ONLY === undefined) {
      const docs = Array.from({ length: 1000 }, (_, i) => computeDoc(registry, `index-cost-${stage}-${i}`, b.counter++));
      partRss = sampleStore();
      await warmIndexes(builder, names, { tenancy: false }, BUILD_TIMEOUT_MS);
      await waitIdle(b.busyPids);
      const write = await timed(() => b.db.bulk({ docs }));
      const update = await timed(() => warmIndexes(builder, names, { tenancy: false }, BUILD_TIMEOUT_MS));
      partDone('index update after the write phases', partRss);
      b.notes.push(
        `[${num(size)}] What the view costs writes: 1,000 new documents written in ${num(write)} ms (_bulk_docs), then ocni's view brought up to date (at the next query) in ${num(update)} ms.`,
      );
    }

    // --- Memory ----------------------------------------------------------------------------------
    const ocniMax = ocniRss.stop().maxBytes / 1024 / 1024;
    // Issue 10's bound: 150 MB, plus under 2 KB for each entity the read cache holds.
    const allowedMb = 150 + (2 * cachedMax) / 1024;
    const storeMax = storeRss.stop().maxBytes / 1024 / 1024;
    rows.push({
      size,
      key: 'ocni RSS',
      value: ocniMax,
      unit: 'MB',
      operation: "ocni server RSS, max over this size's measurements",
      ocni: `${num(ocniMax, 1)} MB`,
      direct: '—',
      ratio: undefined,
      target: cachedMax > 0 ? `< 150 MB + 2 KB per cached entity (the read cache held up to ${num(cachedMax)}: < ${num(allowedMb, 1)} MB)` : '< 150 MB (no cache)',
      met: ocniMax < allowedMb,
    });
    if (b.storePid)
      rows.push({
        size,
        key: 'embedded store RSS',
        value: storeMax,
        unit: 'MB',
        operation: 'embedded store RSS, max over the same',
        ocni: `${num(storeMax, 1)} MB`,
        direct: '—',
        ratio: undefined,
        target: '< 500 MB',
        met: storeMax < 500,
      });
    if (ocniRssByPhase.length > 0) b.notes.push(`[${num(size)}] ocni's RSS per phase: ${ocniRssByPhase.join(', ')}.`);
    if (storeRssByPart.length > 0)
      b.notes.push(`[${num(size)}] The embedded store's RSS, max per part of the run (the row above is the max from the first measurement on): ${storeRssByPart.join(', ')}.`);

    if (!wanted('startup')) {
      say(`size ${num(size)} done in ${num((Date.now() - stageStart) / 1000)} s (only ${ONLY?.join(', ')})`);
      continue;
    }
    // --- Start-up with this many stored: (the embedded store and) ocni, to the first listing ------
    // Several starts, the median reported: one start is a few seconds of loading code, which a
    // moment of load on the machine can double.
    const starts: StartTimes[] = [];
    for (let i = 0; i < STARTS; i += 1) {
      await ocni.close();
      if (store.kind === 'embedded') await store.close();
      before = new Set(childPids());
      starts.push(
        await timeStart(
          store.kind === 'embedded'
            ? async () => {
                store = await startStore(undefined, storeDir);
                return findStorePid(before);
              }
            : undefined,
          async () => {
            ocni = await startOcni();
            return ocni.pid;
          },
          () => fetchJson(`${ocni.url}/compute/?number=1`, { headers: { accept: JSON_TYPE }, expect: 200 }),
        ),
      );
    }
    const { median: startup, text: startupText } = describeStarts(starts);
    // Point every phase at the restarted processes.
    b.ocni = ocni;
    b.storeUrl = store.url;
    b.couch = couch();
    b.db = b.couch.use<EntityDoc>(names.entities);
    b.writeDb = b.couch.use<EntityDoc>(directWrites);
    b.client = new CouchClient({ url: store.url, requestTimeoutMs: 120_000 });
    b.entityStore = new EntityStore(b.client, names.entities);
    b.storePid = store.kind === 'embedded' ? findStorePid(before) : undefined;
    b.busyPids = [ocni.pid, ...(b.storePid ? [b.storePid] : [])];
    rows.push({
      size,
      key: 'start-up to the first 200',
      value: startup.totalMs,
      unit: 'ms',
      operation: `Start-up with ${num(b.size)} stored, to the first 200 of a listing${store.kind === 'embedded' ? ' (embedded store started first)' : ''}`,
      ocni: startupText,
      direct: '—',
      ratio: undefined,
      target: '< 5 s',
      met: startup.totalMs < 5000,
    });
    say(`size ${num(size)} done in ${num((Date.now() - stageStart) / 1000)} s`);
  }

  const notes = [
    `ocni ran as \`node ${ocniCommand().join(' ')}\` in its own process (log level silent); RSS is VmRSS from /proc/<pid>/status, sampled every 100 ms.`,
    `The store ran in its own process; autocannon, nano and fetch (the load generators) ran in the benchmark process. All share the machine's ${cpus().length} cores, so ocni's side also pays for ocni's own CPU time.`,
    `Seeded computes straight into the store in ocni's document shape (built with ocni's buildEntity and toDoc); at each size exactly ${MATCHING} have a cores value no other has (spread evenly over the documents added for that size), and the filter was checked through ocni's API and the reference before measuring. The write phases add a few thousand more.`,
    "The reference of a filter is the store's own Mango `_find` using an index on the filtered field that the benchmark built (its `_explain` is checked), on ocni's database: the same documents.",
    'Ratios are ocni ÷ reference: throughputs want a high ratio, latencies a low one. Both sides use the same client concurrency, are interleaved (ABBA or alternating) after a warm-up, and the next measurement waits until ocni and the store are idle again.',
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
  // A partial run (--only) must not replace the last full table.
  const file = ONLY === undefined ? 'last-run.md' : 'last-run-only.md';
  writeFileSync(new URL(`./${file}`, import.meta.url), report);
  say(`report written to test/bench/${file}`);
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
