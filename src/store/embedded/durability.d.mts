/** leveldown's constructor and its chained batch, as far as `durability.mjs` needs them. */
export interface LevelDownModules {
  db: { prototype: Record<string, unknown> };
  batch: { prototype: Record<string, unknown> };
}

/** Makes every write of these leveldown classes synchronous (idempotent). */
export function syncEveryWrite(modules: LevelDownModules): void;
