/**
 * @module `npx tsx test/bench/profile.ts [get|list|query|bulk]`: a V8 CPU profile of ocni serving one
 * kind of request (GET one resource, a 1,000-member listing, `GET /-/`, creates of 1,000) for a few seconds, and
 * the functions that took the most time, by self time, grouped by file. Written for issue 10's
 * "say where the time went"; the profile itself lands in the folder named by `PROFILE_DIR`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JSON_TYPE } from './context.ts';
import { fetchJson, throughput } from './measure.ts';
import { COMPUTE, computeAttributes } from './seed.ts';
import { buildOcni, startOcniChild, startStore } from './stack.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const what = process.argv[2] ?? 'get';
// Longer runs (PROFILE_SECONDS) dilute start-up's module loading and schema compiling in the profile.
const dir = mkdtempSync(join(tmpdir(), 'ocni-profile-'));
const out = process.env.PROFILE_DIR ?? join(dir, 'profiles');
const store = await startStore(undefined, join(dir, 'store'));
const configFile = join(dir, 'ocni.json');
writeFileSync(
  configFile,
  JSON.stringify({ couchdb: { dbPrefix: 'prof_' }, limits: { pageSizeMax: 1000, itemsPerRequest: 2000, bodyBytes: 8 * 1024 * 1024 }, log: { level: 'silent', pretty: false } }),
);
buildOcni();
const ocni = await startOcniChild({ couchUrl: store.url, configFile, dataDir: join(dir, 'ocni'), nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${out}`] });
try {
  const resources = Array.from({ length: 1000 }, (_, i) => ({ kind: COMPUTE, id: `c${i}`, attributes: computeAttributes(i) }));
  await fetchJson(`${ocni.url}/compute/`, { method: 'POST', headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE }, body: JSON.stringify({ resources }), expect: 201 });
  if (what === 'bulk') {
    // Sequential creates of 1,000 for five seconds.
    const started = performance.now();
    let n = 0;
    for (let round = 1; performance.now() - started < 5000; round += 1, n += 1) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({ kind: COMPUTE, attributes: computeAttributes(round * 1000 + i) }));
      await fetchJson(`${ocni.url}/compute/`, { method: 'POST', headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE }, body: JSON.stringify({ resources: batch }), expect: 201 });
    }
    process.stdout.write(`bulk: ${n} creates of 1,000, ${((performance.now() - started) / n).toFixed(0)} ms each\n`);
  } else {
    const paths = what === 'list' ? ['/compute/?number=1000'] : what === 'query' ? ['/-/'] : ['/compute/c1', '/compute/c500', '/compute/c999'];
    const result = await throughput({ base: ocni.url, paths, headers: { accept: JSON_TYPE }, connections: 10, seconds: Number(process.env.PROFILE_SECONDS ?? 5) });
    process.stdout.write(`${what}: ${result.rps.toFixed(1)} req/s, mean ${result.latencyMeanMs.toFixed(1)} ms\n`);
  }
} finally {
  await ocni.close();
  await store.close();
}
type Profile = { nodes: ProfileNode[]; samples: number[] };
// One profile per thread (tsx runs a loader thread): the busiest is the server's main thread.
const busy = (p: Profile) => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  return p.samples.filter((s) => !idle.has(s)).length;
};
const profile = readdirSync(out)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as Profile)
  .sort((a, b) => busy(b) - busy(a))[0]!;
const hits = new Map<number, number>();
for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
const total = profile.samples.length;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  if (n === 0) continue;
  const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/') || '(native)';
  const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  const pkg =
    where.startsWith('src/') || where.startsWith('node:') || where === '(native)'
      ? where.split(':')[0]!
      : where.split('/')[0]!.startsWith('@')
        ? where.split('/').slice(0, 2).join('/')
        : where.split('/')[0]!;
  byFile.set(pkg, (byFile.get(pkg) ?? 0) + n);
}
// Inclusive time: a function and everything it called (counted once per stack).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map<string, number>();
const walk = (id: number, onStack: Set<string>): number => {
  const node = byId.get(id)!;
  const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/');
  const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
  const fresh = !onStack.has(name);
  if (fresh) onStack.add(name);
  let n = hits.get(id) ?? 0;
  for (const child of node.children ?? []) n += walk(child, onStack);
  if (fresh) {
    onStack.delete(name);
    if (where.startsWith('src/') || where.startsWith('koa') || where.startsWith('@koa') || where.startsWith('undici') || where.startsWith('pino') || where.startsWith('ajv'))
      inclusive.set(name, (inclusive.get(name) ?? 0) + n);
  }
  return n;
};
walk(profile.nodes[0]!.id, new Set());
const top = (m: Map<string, number>, k: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, n]) => `${((100 * n) / total).toFixed(1).padStart(5)}%  ${name}`);
process.stdout.write(
  `\nby package / file (self time, ${total} samples):\n${top(byFile, 15).join('\n')}\n\nby function:\n${top(byFunction, 25).join('\n')}\n\ninclusive (ocni's code and its server libraries):\n${top(inclusive, 40).join('\n')}\n`,
);
if (!process.env.PROFILE_DIR) rmSync(dir, { recursive: true, force: true });
