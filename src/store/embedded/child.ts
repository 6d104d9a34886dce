/**
 * @module The embedded CouchDB-compatible server, run in its own process so that it has a core of
 * its own: PouchDB (LevelDB on disk, or memory) behind express-pouchdb, listening on loopback.
 * The parent talks to it over IPC: it sends `{ready, port}` once listening and exits on "shutdown"
 * or when the parent goes away.
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { syncEveryWrite, type LevelDownModules } from './durability.ts';

const require = createRequire(import.meta.url);

interface PouchConstructor {
  plugin(plugin: unknown): PouchConstructor;
  defaults(options: Record<string, unknown>): PouchConstructor;
}
interface ExpressApp {
  use(handler: unknown): void;
  listen(port: number, host: string, callback: () => void): Server;
}

const dataDir = process.env.OCNI_EMBEDDED_DIR ?? '';
const inMemory = dataDir === ':memory:';
const port = Number(process.env.OCNI_EMBEDDED_PORT ?? '0');
// Acknowledged means on disk unless the operator chose otherwise (see durability.ts).
const synced = !inMemory && process.env.OCNI_EMBEDDED_DURABILITY !== 'relaxed';
if (synced) syncEveryWrite({ db: require('leveldown') as LevelDownModules['db'], batch: require('leveldown/chained-batch') as LevelDownModules['batch'] });

let PouchDB = (require('pouchdb-core') as PouchConstructor)
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-mapreduce'))
  .plugin(require('pouchdb-replication'));
PouchDB = inMemory ? PouchDB.plugin(require('pouchdb-adapter-memory')) : PouchDB.plugin(require('pouchdb-adapter-leveldb'));

let configDir: string;
if (inMemory) {
  PouchDB = PouchDB.defaults({ adapter: 'memory' });
  configDir = join(process.env.TMPDIR ?? '/tmp', `ocni-embedded-${process.pid}`);
} else {
  const root = resolve(dataDir);
  mkdirSync(join(root, 'db'), { recursive: true });
  PouchDB = PouchDB.defaults({ prefix: join(root, 'db') + '/' });
  configDir = root;
}
mkdirSync(configDir, { recursive: true });

const expressPouchDB = require('express-pouchdb') as (pouch: PouchConstructor, options: Record<string, unknown>) => unknown;
const express = require('express') as () => ExpressApp;
const app = express();
app.use(
  expressPouchDB(PouchDB, {
    mode: 'fullCouchDB',
    configPath: join(configDir, 'embedded-config.json'),
    logPath: join(configDir, 'embedded-log.txt'),
    // Fauxton (the web UI) and replication endpoints are not part of what ocni uses.
    overrideMode: { exclude: ['routes/fauxton', 'routes/replicate', 'routes/active-tasks', 'routes/db-updates'] },
  }),
);

const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.send?.({ ready: true, port: actual, durability: inMemory ? 'memory' : synced ? 'synced' : 'relaxed' });
});

function shutdown(): void {
  // Close the listener first so no request arrives while LevelDB closes; exit shortly after even if
  // a keep-alive socket lingers.
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('message', (message) => {
  if (message === 'shutdown') shutdown();
});
process.on('disconnect', shutdown);
process.on('SIGINT', () => undefined);
process.on('SIGTERM', shutdown);
