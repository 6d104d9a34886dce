/**
 * Starts the CouchDB-protocol server every test talks to, in this order of preference:
 * `COUCHDB_URL` when set; else Apache CouchDB 3 in a container through testcontainers when a Docker
 * engine is reachable; else the embedded store (PouchDB Server) in a temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedStore } from '../../src/store/embedded/server.ts';
import { couchFetch } from './couch-fetch.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    couchUrl: string;
    couchKind: 'external' | 'container' | 'embedded';
  }
}

async function tryContainer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (process.env.OCNI_TEST_NO_CONTAINER === '1') return undefined;
  try {
    const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    const container = await new GenericContainer('couchdb:3')
      .withEnvironment({ COUCHDB_USER: 'admin', COUCHDB_PASSWORD: 'test-secret' })
      .withExposedPorts(5984)
      .withWaitStrategy(Wait.forHttp('/_up', 5984).forStatusCode(200))
      .start();
    const url = `http://admin:test-secret@${container.getHost()}:${container.getMappedPort(5984)}`;
    // A single-node CouchDB needs its system databases before it answers every request normally.
    for (const db of ['_users', '_replicator']) {
      // Credentials go in a header (fetch refuses them in the URL); 412 means the database exists.
      const res = await couchFetch(url, db, { method: 'PUT' });
      if (!res.ok && res.status !== 412) {
        await container.stop();
        throw new Error(`creating ${db} answered ${res.status}`);
      }
    }
    return { url, stop: async () => void (await container.stop()) };
  } catch {
    // No container runtime here ("Could not find a working container runtime strategy").
    return undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.COUCHDB_URL) {
    project.provide('couchUrl', process.env.COUCHDB_URL);
    project.provide('couchKind', 'external');
    return () => Promise.resolve();
  }
  const container = await tryContainer();
  if (container) {
    project.provide('couchUrl', container.url);
    project.provide('couchKind', 'container');
    return container.stop;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ocni-test-store-'));
  // The supervisor restarts the store if it dies; a death must still show in the run's output
  // (with the store's last words), or a test that failed meanwhile would not say why.
  const store = await startEmbeddedStore({ dataDir: dir, onEvent: (event) => process.stderr.write(`[test store] ${JSON.stringify(event)}\n`) });
  project.provide('couchUrl', store.url);
  project.provide('couchKind', 'embedded');
  return async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
