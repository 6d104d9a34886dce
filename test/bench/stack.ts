/**
 * @module What the benchmark runs against: the store (an external CouchDB named by `COUCHDB_URL`, or
 * the embedded store started here) and ocni itself, run as `npm start` and the Dockerfile run it
 * (`node dist/main.js`, compiled by {@link buildOcni}) in a child process of its own so that its
 * memory can be read honestly from `/proc/<pid>/status` and so that it does not share an event loop
 * with the load generator. `BENCH_OCNI=ts` runs the sources under tsx instead, for comparison.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { startEmbeddedStore } from '../../src/store/embedded/server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A store the benchmark talks to, directly (with nano) and through ocni. */
export interface BenchStore {
  /** Base URL, possibly with credentials (external CouchDB). */
  url: string;
  /** `embedded` (PouchDB Server started here) or `external` (`COUCHDB_URL`). */
  kind: 'embedded' | 'external';
  /** Stops the embedded store; does nothing for an external CouchDB (it is not ours to stop). */
  close(): Promise<void>;
}

/**
 * Starts the store: the external CouchDB when `couchUrl` is given, else the embedded store with its
 * data in `dataDir` (which the caller deletes afterwards).
 */
export async function startStore(couchUrl: string | undefined, dataDir: string): Promise<BenchStore> {
  if (couchUrl) return { url: couchUrl.replace(/\/+$/, ''), kind: 'external', close: () => Promise.resolve() };
  const embedded = await startEmbeddedStore({ dataDir });
  return { url: embedded.url, kind: 'embedded', close: () => embedded.close() };
}

/** `npm start`'s node arguments (package.json), e.g. `--max-old-space-size=512 --max-semi-space-size=8 dist/main.js`. */
const START = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1);

const START_FLAGS = START.filter((a) => a.startsWith('--'));
/** What node runs: the compiled server, or its TypeScript sources under tsx (`BENCH_OCNI=ts` when ocni is started). */
const script = () => (process.env.BENCH_OCNI === 'ts' ? ['--import', 'tsx', 'src/main.ts'] : START.filter((a) => !a.startsWith('--')));

/** How ocni is run: as `npm start` runs it (compiled), or its sources under tsx (`BENCH_OCNI=ts`, with the same node options). */
export function ocniCommand(): string[] {
  return [...START_FLAGS, ...script()];
}

/** Compiles ocni to dist/ (`npm run build`, `npm start`'s `prestart`), so that the run measures the current sources; nothing to do under tsx. */
export function buildOcni(): void {
  if (process.env.BENCH_OCNI !== 'ts') execFileSync(process.execPath, ['config/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}

/** An ocni server running in a child process. */
export interface OcniChild {
  url: string;
  pid: number;
  /** Sends SIGTERM (ocni shuts down gracefully) and waits for the exit; SIGKILL after 10 s. */
  close(): Promise<void>;
}

/**
 * A port that was free a moment ago. ocni logs its URL only at level info, and the benchmark runs it
 * silent (a log line per request would be measured too), so the port is chosen here instead of
 * letting ocni pick one; the small race with other programs is covered by retrying in
 * {@link startOcniChild}.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Waits until ocni answers `GET /-/`, or the child exits (then resolves false). */
async function ready(child: ChildProcess, url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited(child).then(() => (gone = true));
  while (!gone && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/-/`, { headers: { accept: 'application/occi+json' }, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (gone) return false;
  throw new Error(`ocni did not answer within ${timeoutMs} ms`);
}

/**
 * Starts ocni ({@link ocniCommand}; {@link buildOcni} first) against
 * `couchUrl`, with `configFile` as `OCNI_CONFIG`, and resolves once it answers on 127.0.0.1.
 * `nodeArgs` go to node before the script and after `npm start`'s own options, which they may override (e.g.
 * `--cpu-prof`, which NODE_OPTIONS does not allow).
 *
 * @throws Error with the end of ocni's output when it cannot be started
 */
export async function startOcniChild(options: { couchUrl: string; configFile: string; dataDir: string; nodeArgs?: string[] }): Promise<OcniChild> {
  // Inherited OCNI_* variables would override the benchmark's configuration file.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCNI_') && k !== 'COUCHDB_URL'));
  let lastOutput = '';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePort();
    const child = spawn(process.execPath, [...START_FLAGS, ...(options.nodeArgs ?? []), ...script()], {
      cwd: ROOT,
      env: { ...clean, COUCHDB_URL: options.couchUrl, OCNI_CONFIG: options.configFile, OCNI_PORT: String(port), OCNI_HOST: '127.0.0.1', OCNI_DATA_DIR: options.dataDir, OCNI_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    // Drained always: a full pipe would block the child.
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const url = `http://127.0.0.1:${port}`;
    try {
      if (await ready(child, url, 30_000)) return { url, pid: child.pid!, close: () => stopChild(child) };
    } catch (err) {
      await stopChild(child);
      throw new Error(`${(err as Error).message}: ${output.trim()}`);
    }
    lastOutput = `exit code ${child.exitCode ?? 'none'}, signal ${child.signalCode ?? 'none'}: ${output.trim()}`;
    // EADDRINUSE: someone took the port between the probe and ocni's listen; try another one.
    if (!/EADDRINUSE/.test(lastOutput)) break;
  }
  throw new Error(`ocni could not be started: ${lastOutput}`);
}
