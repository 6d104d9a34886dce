// @ts-check
/**
 * @module The embedded CouchDB-compatible server, run in its own process so that it has a core of
 * its own: PouchDB (LevelDB on disk, or memory) behind express-pouchdb, listening on loopback.
 * The parent talks to it over IPC: it sends `{ready, port}` once listening and exits on "shutdown"
 * or when the parent goes away.
 *
 * Plain JavaScript on purpose: the child runs on bare Node, without the TypeScript loader that
 * would otherwise resolve every `require()` PouchDB makes while it serves (7% of a filtered query's
 * CPU in the store, measured for issue 10).
 *
 * Only the CouchDB API ocni (and its tests and benchmark) use is mounted: databases, documents,
 * `_bulk_docs`, `_all_docs`, `_changes`, views and `_find`/`_explain`. Left out, because they cost
 * every request something and ocni never uses them: sessions and the `_users` database (a session
 * lookup that measured the `_users` disk size on every request), the configuration and log files,
 * a log line per request, gzip, and design-document validation on every write.
 */
import { createRequire } from 'node:module';
import { getHeapStatistics } from 'node:v8';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { syncEveryWrite } from './durability.mjs';

const require = createRequire(import.meta.url);

const dataDir = process.env.OCNI_EMBEDDED_DIR ?? '';
const inMemory = dataDir === ':memory:';
const port = Number(process.env.OCNI_EMBEDDED_PORT ?? '0');
// Acknowledged means on disk unless the operator chose otherwise (see durability.mjs).
const synced = !inMemory && process.env.OCNI_EMBEDDED_DURABILITY !== 'relaxed';
if (synced) syncEveryWrite({ db: require('leveldown'), batch: require('leveldown/chained-batch') });

let PouchDB = require('pouchdb-core').plugin(require('pouchdb-adapter-http')).plugin(require('pouchdb-mapreduce')).plugin(require('pouchdb-replication'));
PouchDB = inMemory ? PouchDB.plugin(require('pouchdb-adapter-memory')) : PouchDB.plugin(require('pouchdb-adapter-leveldb'));

if (inMemory) {
  PouchDB = PouchDB.defaults({ adapter: 'memory' });
} else {
  const root = resolve(dataDir);
  mkdirSync(join(root, 'db'), { recursive: true });
  PouchDB = PouchDB.defaults({ prefix: join(root, 'db') + '/' });
}

/** The parts of express-pouchdb mounted (its "custom" mode starts from none). */
const PARTS = ['routes/root', 'routes/all-dbs', 'routes/db', 'routes/bulk-docs', 'routes/all-docs', 'routes/changes', 'routes/views', 'routes/find', 'routes/documents', 'routes/404'];

const expressPouchDB = require('express-pouchdb');
const express = require('express');
const app = express();
app.disable('x-powered-by');
app.disable('etag');
// A client that goes away while an answer is being prepared leaves express-pouchdb writing to a
// closed response, which emits 'error' on it; with no listener that error would end the whole
// store. The client is gone: nothing is lost by ignoring it.
app.use((req, res, next) => {
  res.on('error', () => undefined);
  next();
});
// express-pouchdb's long-poll route reads `results` of a changes call that PouchDB ends with only
// `{status: "cancelled"}` when its database is deleted meanwhile (tests delete theirs while a
// follower polls): the TypeError is an unhandled rejection, which would end the whole store and
// every other database's requests with it. One request is lost (its database is gone); say so.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`embedded store: a request failed: ${reason instanceof Error ? reason.message : String(reason)}\n`);
});
app.use(expressPouchDB(PouchDB, { mode: 'custom', overrideMode: { include: PARTS } }));

const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
  process.send?.({ ready: true, port: actual, durability: inMemory ? 'memory' : synced ? 'synced' : 'relaxed', heapLimitMb });
});
// Keep-alive connections outlive one request: ocni's agent reuses them.
server.keepAliveTimeout = 60_000;

function shutdown() {
  // Close the listener first so no request arrives while LevelDB closes; exit shortly after even if
  // a keep-alive socket lingers.
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('message', (message) => {
  if (message === 'shutdown') shutdown();
});
process.on('disconnect', shutdown);
process.on('SIGINT', () => undefined);
process.on('SIGTERM', shutdown);
