/**
 * @module `npx tsx test/bench/heap.ts [list|get|query|idle]`: where ocni's memory goes, for tuning it.
 * Seeds `HEAP_SIZE` computes (10,000) into a fresh embedded store, then starts ocni as the benchmark
 * does (compiled, `npm start`'s node options) once per variant and round, puts it under one load for
 * `HEAP_SECONDS` (8) at 10 connections — 1,000-member listings, GETs of 1,000 resources, `GET /-/`, or
 * none — and prints the rate, ocni's CPU per request, its RSS (idle, max, after) and V8's heap from
 * `/metrics`. `HEAP_SNAPSHOT=1` adds, from a heap snapshot after the first round's load, the live
 * objects by constructor (self sizes).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nano from 'nano';
import { CouchClient } from '../../src/store/couch.ts';
import { databaseNames, warmIndexes } from '../../src/store/databases.ts';
import type { EntityDoc } from '../../src/store/entity-store.ts';
import { JSON_TYPE } from './context.ts';
import { fetchJson, throughput } from './measure.ts';
import { cpuTicks } from './procs.ts';
import { readRss } from './rss.ts';
import { builtinRegistry, seedComputes } from './seed.ts';
import { buildOcni, startOcniChild, startStore } from './stack.ts';

const what = process.argv[2] ?? 'list';
const SIZE = Number(process.env.HEAP_SIZE ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'ocni-heap-'));
const store = await startStore(undefined, join(dir, 'store'));
const configFile = join(dir, 'ocni.json');
writeFileSync(
  configFile,
  JSON.stringify({
    couchdb: { dbPrefix: 'heap_', requestTimeoutMs: 120_000 },
    limits: { pageSizeMax: 1000, itemsPerRequest: 2000, bodyBytes: 8 * 1024 * 1024 },
    log: { level: 'silent', pretty: false },
  }),
);
buildOcni();
/**
 * `HEAP_VARIANTS='|--max-semi-space-size=4|MALLOC_ARENA_MAX=2'`: ocni started once per variant (node
 * options added to npm start's, or NAME=value environment variables, space-separated; empty: as is),
 * `HEAP_ROUNDS` (2) times each, interleaved (ABAB).
 */
const variants = (process.env.HEAP_VARIANTS ?? '').split('|');
const mb = (n: number | undefined) => `${((n ?? 0) / 1024 / 1024).toFixed(1)} MB`;
const metric = (text: string, name: string) => Number(new RegExp(`^ocni_nodejs_${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
try {
  // ocni creates its databases and design documents at start.
  await (await startOcniChild({ couchUrl: store.url, configFile, dataDir: join(dir, 'ocni') })).close();
  const db = nano({ url: store.url }).use<EntityDoc>(databaseNames('heap_').entities);
  await seedComputes(db, builtinRegistry(), SIZE, 10);
  // Views are built by their first query: minutes at this size, not to be measured.
  await warmIndexes(new CouchClient({ url: store.url, requestTimeoutMs: 600_000 }), databaseNames('heap_'), { tenancy: false }, 600_000);
  for (let round = 1; round <= Number(process.env.HEAP_ROUNDS ?? 2); round += 1)
    for (const variant of variants) {
      const words = variant.split(' ').filter(Boolean);
      const env = Object.fromEntries(words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=') as [string, string]));
      const nodeArgs = words.filter((w) => !/^[A-Z_]+=/.test(w));
      const snapshot = process.env.HEAP_SNAPSHOT === '1' && round === 1;
      const saved = { ...process.env };
      Object.assign(process.env, env);
      const ocni = await startOcniChild({
        couchUrl: store.url,
        configFile,
        dataDir: join(dir, 'ocni'),
        nodeArgs: [...(snapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : []), ...nodeArgs],
      });
      process.env = saved;
      try {
        await fetchJson(`${ocni.url}/compute/?number=1`, { headers: { accept: JSON_TYPE }, expect: 200 });
        const idle = readRss(ocni.pid);
        const paths = what === 'query' ? ['/-/'] : what === 'get' ? await listIds(ocni.url) : ['/compute/?number=1000'];
        let max = 0;
        const timer = setInterval(() => (max = Math.max(max, readRss(ocni.pid) ?? 0)), 50);
        const cpu0 = cpuTicks(ocni.pid) ?? 0;
        const got =
          what === 'idle' ? { rps: 0, requests: 0 } : await throughput({ base: ocni.url, paths, headers: { accept: JSON_TYPE }, connections: 10, seconds: Number(process.env.HEAP_SECONDS ?? 8) });
        clearInterval(timer);
        const cpuMs = ((cpuTicks(ocni.pid) ?? 0) - cpu0) * 10;
        const after = readRss(ocni.pid);
        const text = await (await fetch(`${ocni.url}/metrics`)).text();
        await new Promise((r) => setTimeout(r, 2000));
        process.stdout.write(
          `[${variant || 'default'}] ${what}: ${got.rps.toFixed(1)} req/s, ocni CPU ${(cpuMs / Math.max(1, got.requests)).toFixed(2)} ms per request (${(cpu0 / 100).toFixed(2)} s to start); RSS idle ${mb(idle)}, max ${mb(max)}, after ${mb(after)}, 2 s later ${mb(readRss(ocni.pid))}; heap used ${mb(metric(text, 'heap_size_used_bytes'))} of ${mb(metric(text, 'heap_size_total_bytes'))}, external ${mb(metric(text, 'external_memory_bytes'))}\n`,
        );
        if (snapshot) {
          process.kill(ocni.pid, 'SIGUSR2');
          let file: string | undefined;
          for (let i = 0; i < 600 && !file; i += 1) {
            await new Promise((r) => setTimeout(r, 200));
            file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
          }
          await new Promise((r) => setTimeout(r, 3000));
          summarise(join(dir, file!));
          rmSync(join(dir, file!));
        }
      } finally {
        await ocni.close();
      }
    }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

async function listIds(base: string): Promise<string[]> {
  const text = await (await fetch(`${base}/compute/?number=1000`, { headers: { accept: 'text/uri-list' } })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('http') || l.startsWith('/'))
    .map((l) => new URL(l, base).pathname);
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function summarise(file: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const by = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + ti!]!]!;
    const name = type === 'object' || type === 'native' || type === 'closure' ? snap.strings[snap.nodes[i + ni!]!]! : type;
    const size = snap.nodes[i + si!]!;
    total += size;
    const key = `${type}:${name.slice(0, 60)}`;
    const e = by.get(key) ?? { count: 0, bytes: 0 };
    e.count += 1;
    e.bytes += size;
    by.set(key, e);
  }
  process.stdout.write(`heap snapshot: ${mb(total)} in ${snap.nodes.length / width} objects\n`);
  for (const [key, e] of [...by].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 40)) process.stdout.write(`${mb(e.bytes).padStart(10)} ${String(e.count).padStart(8)}  ${key}\n`);
}
