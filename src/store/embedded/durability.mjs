// @ts-check
/**
 * @module When the embedded store acknowledges a write, it is on disk: every LevelDB write is
 * made with `sync: true` (LevelDB's "synchronous write": fsync before the write returns), so an
 * acknowledged write survives an operating-system crash or a power loss, not only the death of
 * the process. PouchDB's LevelDB adapter has no option for it, so leveldown's write methods are
 * given the option. Costs a disk flush per write batch; `relaxed` durability turns it off.
 *
 * Plain JavaScript (types in `durability.d.mts`): it runs in the store's child process, which runs
 * on bare Node (see `child.mjs`).
 */

/** The leveldown methods that write, with the position of their options argument. */
const WRITES = /** @type {const} */ ([
  ['db', '_put', 2],
  ['db', '_del', 1],
  ['db', '_batch', 1],
  ['batch', '_write', 0],
]);

/**
 * Makes every write of these leveldown classes synchronous (idempotent).
 *
 * @param {import('./durability.d.mts').LevelDownModules} modules
 */
export function syncEveryWrite(modules) {
  for (const [owner, method, optionsAt] of WRITES) {
    const prototype = modules[owner].prototype;
    const original = /** @type {((...args: unknown[]) => unknown) & { ocniSynced?: boolean }} */ (prototype[method]);
    if (typeof original !== 'function' || original.ocniSynced) continue;
    /** @type {((...args: unknown[]) => unknown) & { ocniSynced?: boolean }} */
    const synced = function (/** @type {unknown[]} */ ...args) {
      const options = args[optionsAt];
      args[optionsAt] = { ...(typeof options === 'object' && options !== null ? options : {}), sync: true };
      return original.apply(this, args);
    };
    synced.ocniSynced = true;
    prototype[method] = synced;
  }
}
