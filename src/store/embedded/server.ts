/**
 * @module Starts and stops the embedded CouchDB-compatible store (see `child.ts`) as a child process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.ts';

/** A running embedded store. */
export interface EmbeddedStore {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /**
   * True while the store's process runs and is connected to this one. Readiness (`/readyz`) reads
   * it; a supervisor that restarts the store keeps it true again once the store is back.
   */
  isUp(): boolean;
  /** Stops the store and waits for its process to exit. */
  close(): Promise<void>;
}

/** Where to keep the data: a folder, or `':memory:'` for a store that lives only as long as its process. */
export interface EmbeddedStoreOptions {
  dataDir: string;
  port?: number;
  startTimeoutMs?: number;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/**
 * Starts the embedded store and resolves once it listens on 127.0.0.1.
 *
 * @example
 * const store = await startEmbeddedStore({ dataDir: './data' });
 * // ... nano(store.url) ...
 * await store.close();
 */
export function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const child: ChildProcess = fork(CHILD, [], {
    // The child is TypeScript too: load it through tsx whatever runs the parent (tsx, vitest).
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      OCNI_EMBEDDED_DIR: options.dataDir,
      OCNI_EMBEDDED_PORT: String(options.port ?? 0),
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ConfigError(`the embedded store did not start within ${options.startTimeoutMs ?? 20000} ms: ${stderr.trim()}`));
    }, options.startTimeoutMs ?? 20000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ConfigError(`the embedded store exited with code ${code ?? 'null'} while starting: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
    });
    child.once('message', (message: unknown) => {
      const ready = message as { ready?: boolean; port?: number };
      if (!ready.ready || typeof ready.port !== 'number') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      resolve({
        url: `http://127.0.0.1:${ready.port}`,
        isUp: () => child.exitCode === null && child.signalCode === null && child.connected,
        close: async () => {
          if (child.exitCode === null && child.connected) child.send('shutdown');
          else if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
