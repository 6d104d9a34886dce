/**
 * @module The built-in categories: OCCI 1.2 Core, Infrastructure and the Compute Resource Templates
 * Profile, read from the data files beside this module with the same parser clients' bodies go
 * through.
 */
import { readFileSync } from 'node:fs';
import type { Category } from '../model/category.ts';
import { parseCategoryCollection } from '../model/vocabulary/categories.ts';

const FILES = ['core.json', 'infrastructure.json', 'templates.json'];

/** Reads every built-in category. A broken data file is a programming error and throws. */
export function loadBuiltinCategories(): Category[] {
  const out: Category[] = [];
  for (const file of FILES) {
    const body = JSON.parse(readFileSync(new URL(`./builtin/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
    const parsed = parseCategoryCollection(body);
    for (const entry of [...parsed.kinds, ...parsed.mixins, ...parsed.actions]) out.push({ ...entry.category, builtin: true });
  }
  return out;
}
