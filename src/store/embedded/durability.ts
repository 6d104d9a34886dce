/**
 * @module When the embedded store acknowledges a write, it is on disk: every LevelDB write is
 * made with `sync: true` (LevelDB's "synchronous write": fsync before the write returns), so an
 * acknowledged write survives an operating-system crash or a power loss, not only the death of
 * the process. PouchDB's LevelDB adapter has no option for it, so leveldown's write methods are
 * given the option. Costs a disk flush per write batch; `relaxed` durability turns it off.
 */

type Callback = (err?: unknown) => void;
type Write = (this: unknown, ...args: unknown[]) => unknown;

/** The leveldown methods that write, with the position of their options argument. */
const WRITES: [owner: 'db' | 'batch', method: string, optionsAt: number][] = [
  ['db', '_put', 2],
  ['db', '_del', 1],
  ['db', '_batch', 1],
  ['batch', '_write', 0],
];

/** leveldown's constructor and its chained batch, as far as this module needs them. */
export interface LevelDownModules {
  db: { prototype: Record<string, unknown> };
  batch: { prototype: Record<string, unknown> };
}

/** Makes every write of these leveldown classes synchronous (idempotent). */
export function syncEveryWrite(modules: LevelDownModules): void {
  for (const [owner, method, optionsAt] of WRITES) {
    const prototype = modules[owner].prototype;
    const original = prototype[method] as Write & { ocniSynced?: boolean };
    if (typeof original !== 'function' || original.ocniSynced) continue;
    const synced: Write & { ocniSynced?: boolean } = function (this: unknown, ...args: unknown[]) {
      const options = args[optionsAt];
      args[optionsAt] = { ...(typeof options === 'object' && options !== null ? options : {}), sync: true };
      return original.apply(this, args as [unknown, Callback]);
    };
    synced.ocniSynced = true;
    prototype[method] = synced;
  }
}
