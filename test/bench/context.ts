/**
 * @module What every benchmark phase shares: the running stack, the seeded data, progress output,
 * a bounded repetition helper and the clean-up list.
 */
import type { DocumentScope, ServerScope } from 'nano';
import type { CategoryRegistry } from '../../src/registry/registry.ts';
import type { CouchClient } from '../../src/store/couch.ts';
import type { EntityDoc, EntityStore } from '../../src/store/entity-store.ts';
import type { OcniChild } from './stack.ts';

/** Progress on stderr, so stdout holds only the report. */
export function say(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Steps that undo what was set up, run last-in first-out, once. */
export class Cleanup {
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

/** What every phase needs; the stack fields change when the start-up phase restarts it. */
export interface Bench {
  ocni: OcniChild;
  /** The seeded entities database (ocni's). */
  db: DocumentScope<EntityDoc>;
  /** A database of its own for direct writes, as large as ocni's. */
  writeDb: DocumentScope<EntityDoc>;
  entitiesDb: string;
  storeUrl: string;
  registry: CategoryRegistry;
  /** Computes stored (the table's size). */
  size: number;
  seeded: string[];
  /** The cores value exactly 10 computes of this size have (the filter's match). */
  matchCores: number;
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

/** Calls `fn` repeatedly while `more(i, elapsedMs)` says so; returns how many times. */
export async function repeat(more: (i: number, elapsedMs: number) => boolean, fn: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  let i = 0;
  while (more(i, performance.now() - start)) await fn(i++);
  return i;
}

/** Media type of ocni's JSON rendering. */
export const JSON_TYPE = 'application/occi+json';
