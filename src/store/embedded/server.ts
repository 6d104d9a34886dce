/**
 * @module Starts, supervises and stops the embedded CouchDB-compatible store (see `child.mjs`) as a
 * child process. When the process dies on its own (killed, out of memory, a crash), its death is
 * reported and it is started again on the same port and data folder, with a growing pause between
 * attempts, so that requests answer 503 only while it is away and ocni recovers by itself.
 *
 * The process's JavaScript heap is bounded (`--max-old-space-size`): left to itself, V8 sizes the
 * heap from the machine's memory (4 GB on a 24 GB machine) and lets the garbage of view building
 * and large listings pile up before collecting it. Measured for issue 10, the store's process held
 * 0.7–1.2 GB at 10,000 entities and 1.25 GB while building the view over 100,000, although under
 * 20 MB survived each full collection (PouchDB writes the view batch by batch; nothing piles up).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.ts';

/** What the supervisor reports. */
export type EmbeddedStoreEvent =
  | { type: 'died'; code: number | null; signal: NodeJS.Signals | null; stderr: string }
  | { type: 'restarted'; attempt: number; downMs: number }
  | { type: 'restart-failed'; attempt: number; error: string };

/** A running embedded store. */
export interface EmbeddedStore {
  /** Base URL, e.g. `http://127.0.0.1:41234`; the same across restarts. */
  url: string;
  /** Whether every acknowledged write is synced to disk (`synced`), or not (`relaxed`, `memory`). */
  durability: string;
  /** The heap size limit the store's process reports (V8's old space plus its young generation), in MiB. */
  heapLimitMb: number;
  /** True while the store's process runs and listens; false from its death until it is back. */
  isUp(): boolean;
  /** The store's current process id (for tests that kill it). */
  pid(): number | undefined;
  /** Stops the store (no restart) and waits for its process to exit. */
  close(): Promise<void>;
}

/** Where to keep the data: a folder, or `':memory:'` for a store that lives only as long as its process. */
export interface EmbeddedStoreOptions {
  dataDir: string;
  port?: number;
  startTimeoutMs?: number;
  /** Start the store again when its process dies (default true). */
  supervise?: boolean;
  /** `synced` (default): a write is acknowledged once on disk; `relaxed`: once in the OS's cache. */
  durability?: 'synced' | 'relaxed';
  /** Bound of the store's JavaScript heap (V8's old space) in MiB; {@link EMBEDDED_HEAP_MB} by default. */
  heapMb?: number;
  /** Told when the store dies and when it is back. */
  onEvent?: (event: EmbeddedStoreEvent) => void;
}

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
/**
 * Default heap bound of the store's process, in MiB. Under it the heap in use peaked at 90–200 MB
 * (view building at 100,000 entities, ten concurrent 1,000-document listings), and four concurrent
 * 8 MB `_bulk_docs` followed by a 40 MB `_all_docs` answer fit too (313 MB of RSS). What is not
 * heap (code, LevelDB's caches and write buffers, the allocator) adds 80–190 MB, so the process
 * stays under the 500 MB that issue 10 sets. The price, measured interleaved at 10,000 entities:
 * 10% more CPU for a 1,000-document listing, 4–13% for a document GET or a view update.
 */
export const EMBEDDED_HEAP_MB = 256;
/** Pauses before restart attempts: none first (starting takes about a second), then growing to 5 s. */
const RESTART_DELAYS_MS = [0, 100, 250, 500, 1000, 2000, 5000];
/** A store that stayed up this long is healthy again: the next death restarts it quickly. */
const STABLE_MS = 30_000;

interface Started {
  child: ChildProcess;
  port: number;
  durability: string;
  heapLimitMb: number;
  stderr: () => string;
}

/** Forks the store process and resolves once it listens. */
function spawnStore(options: EmbeddedStoreOptions, port: number): Promise<Started> {
  const child: ChildProcess = fork(CHILD, [], {
    // The child is plain JavaScript: bare Node, without the parent's TypeScript loader (fork
    // would otherwise pass on the parent's own --import tsx). Its heap is bounded (see above).
    execArgv: [`--max-old-space-size=${options.heapMb ?? EMBEDDED_HEAP_MB}`],
    env: {
      ...process.env,
      OCNI_EMBEDDED_DIR: options.dataDir,
      OCNI_EMBEDDED_PORT: String(port),
      OCNI_EMBEDDED_DURABILITY: options.durability ?? 'synced',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const timeoutMs = options.startTimeoutMs ?? 20000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ConfigError(`the embedded store did not start within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new ConfigError(`the embedded store exited with code ${code ?? 'null'} while starting: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
    };
    child.once('exit', onExit);
    child.once('message', (message: unknown) => {
      const ready = message as { ready?: boolean; port?: number; durability?: string; heapLimitMb?: number };
      if (!ready.ready || typeof ready.port !== 'number') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ child, port: ready.port, durability: ready.durability ?? 'unknown', heapLimitMb: ready.heapLimitMb ?? 0, stderr: () => stderr });
    });
  });
}

async function stopStore(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  if (child.connected) child.send('shutdown');
  else child.kill('SIGTERM');
  await exited;
}

/**
 * Starts the embedded store and resolves once it listens on 127.0.0.1; then keeps it running.
 *
 * @example
 * const store = await startEmbeddedStore({ dataDir: './data', onEvent: (e) => log.warn(e) });
 * // ... nano(store.url) ... store.isUp() ...
 * await store.close();
 */
export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  let current = await spawnStore(options, options.port ?? 0);
  // Restarts reuse the port, so that clients keep their URL.
  const port = current.port;
  let closing = false;
  let up = true;
  /** When the store was last restarted (the first death always restarts at once). */
  let startedAt = -Infinity;
  /** Deaths in a row that came soon after a start: each makes the next restart wait longer. */
  let unstable = 0;
  let restarting: Promise<void> | undefined;

  const restart = async (diedAt: number) => {
    for (let attempt = unstable; !closing; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]));
      if (closing) return;
      try {
        const next = await spawnStore(options, port);
        if (closing) {
          await stopStore(next.child);
          return;
        }
        current = next;
        up = true;
        startedAt = Date.now();
        watch(next);
        options.onEvent?.({ type: 'restarted', attempt, downMs: Date.now() - diedAt });
        return;
      } catch (err) {
        options.onEvent?.({ type: 'restart-failed', attempt, error: (err as Error).message });
      }
    }
  };

  const watch = (started: Started) => {
    started.child.once('exit', (code, signal) => {
      if (closing || started !== current) return;
      up = false;
      options.onEvent?.({ type: 'died', code, signal, stderr: started.stderr().trim().split('\n').slice(-3).join(' ') });
      if (options.supervise === false) return;
      unstable = Date.now() - startedAt >= STABLE_MS ? 0 : unstable + 1;
      restarting = restart(Date.now()).finally(() => (restarting = undefined));
    });
  };
  watch(current);

  return {
    url: `http://127.0.0.1:${port}`,
    durability: current.durability,
    heapLimitMb: current.heapLimitMb,
    isUp: () => up,
    pid: () => current.child.pid,
    close: async () => {
      closing = true;
      up = false;
      await restarting;
      await stopStore(current.child);
    },
  };
}
