/**
 * @module Entity filters: one set of partial descriptions (any may match; within one, every member
 * given must), matched against each document a listing reads. The index (`entity-query.ts`) decides
 * which documents are read; this decides which are returned.
 */
import type { AttributeValue } from '../model/category.ts';
import type { EntityPattern } from '../model/entity.ts';
import { canonicalJson } from './entity-views.ts';

interface Matchable {
  _id: string;
  kind: string;
  mixins: string[];
  attributes: Record<string, AttributeValue>;
  title?: string;
  summary?: string;
}

/** Equal as JSON values (object keys in any order). */
function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** True when the document matches one pattern. */
export function matchesPattern(doc: Matchable, pattern: EntityPattern): boolean {
  if (pattern.kind !== undefined && doc.kind !== pattern.kind) return false;
  if (pattern.mixins && !pattern.mixins.every((m) => doc.mixins.includes(m))) return false;
  // Own members only: a filter on `__proto__` or `constructor` must not meet Object.prototype.
  for (const [name, value] of Object.entries(pattern.attributes ?? {})) if (!same(Object.hasOwn(doc.attributes, name) ? doc.attributes[name] : undefined, value)) return false;
  if (pattern.title !== undefined && doc.title !== pattern.title) return false;
  if (pattern.summary !== undefined && doc.summary !== pattern.summary) return false;
  if (pattern.id !== undefined && !doc._id.endsWith(`/${pattern.id}`)) return false;
  return true;
}

/** True when the document matches the filter (no patterns: always). */
export function matchesFilter(doc: Matchable, patterns: EntityPattern[]): boolean {
  return patterns.length === 0 || patterns.some((p) => matchesPattern(doc, p));
}
