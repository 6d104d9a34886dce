/**
 * @module Entity filters: one set of partial descriptions (any may match; within one, every member
 * given must) compiled to a Mango selector for indexed queries, and matched in memory for the
 * key-range and view scans that Mango cannot express.
 */
import type { AttributeValue } from '../model/category.ts';
import type { EntityPattern } from '../model/entity.ts';


/** The Mango field of an attribute: dots inside the OCCI name are escaped. */
export function attributeField(name: string): string {
  return `attributes.${name.replaceAll('.', '\\.')}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The Mango selector of one pattern. */
export function patternSelector(pattern: EntityPattern): Record<string, unknown> {
  const selector: Record<string, unknown> = {};
  if (pattern.kind !== undefined) selector.kind = pattern.kind;
  if (pattern.mixins && pattern.mixins.length > 0) selector.mixins = { $all: pattern.mixins };
  for (const [name, value] of Object.entries(pattern.attributes ?? {})) selector[attributeField(name)] = { $eq: value };
  if (pattern.title !== undefined) selector.title = pattern.title;
  if (pattern.summary !== undefined) selector.summary = pattern.summary;
  if (pattern.id !== undefined) selector._id = { $regex: `/${escapeRegex(pattern.id)}$` };
  return selector;
}

/** The Mango selector of a whole filter (no patterns: everything). */
export function filterSelector(patterns: EntityPattern[]): Record<string, unknown> {
  if (patterns.length === 0) return {};
  if (patterns.length === 1) return patternSelector(patterns[0]!);
  return { $or: patterns.map(patternSelector) };
}

interface Matchable {
  _id: string;
  kind: string;
  mixins: string[];
  attributes: Record<string, AttributeValue>;
  title?: string;
  summary?: string;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True when the document matches one pattern (the same meaning as {@link patternSelector}). */
export function matchesPattern(doc: Matchable, pattern: EntityPattern): boolean {
  if (pattern.kind !== undefined && doc.kind !== pattern.kind) return false;
  if (pattern.mixins && !pattern.mixins.every((m) => doc.mixins.includes(m))) return false;
  for (const [name, value] of Object.entries(pattern.attributes ?? {})) if (!same(doc.attributes[name], value)) return false;
  if (pattern.title !== undefined && doc.title !== pattern.title) return false;
  if (pattern.summary !== undefined && doc.summary !== pattern.summary) return false;
  if (pattern.id !== undefined && !doc._id.endsWith(`/${pattern.id}`)) return false;
  return true;
}

/** True when the document matches the filter (no patterns: always). */
export function matchesFilter(doc: Matchable, patterns: EntityPattern[]): boolean {
  return patterns.length === 0 || patterns.some((p) => matchesPattern(doc, p));
}
