/**
 * @module Plans a listing as a sequence of index key ranges ("streams") of the generic view (see
 * `entity-views.ts`), each narrowing to the entities of one condition, and carries where a page
 * ended in an opaque continuation token. Every document read is checked in full afterwards, so the
 * plan only decides the cost, never the result.
 */
import type { EntityPattern } from '../model/entity.ts';
import { OcciError, ValidationError } from '../errors.ts';
import { ENTITY_KIND, LINK_KIND, RESOURCE_KIND } from '../model/category.ts';
import { MEMBER_FIELD, VIEWS, keyValue } from './entity-views.ts';

/** Which entities a listing covers; `kinds` (the scope's kinds and sub-kinds) lets filters use the per-kind rows. */
export type ListScope = { kind?: string; kinds: string[] } | { mixin: string; kinds?: string[] } | { below: string; kinds?: string[] };

/** One key range of a view (or of `_all_docs`), read in key order. */
export interface Stream {
  path: string;
  startkey: unknown;
  endkey: unknown;
  /** True when every row of the range is a match and no earlier stream can hold it: rows can be skipped unread. */
  exact: boolean;
  /** The pattern (of the filter) whose matches the stream holds. */
  pattern: number;
}

/** Where a page ended: the stream and the last key returned from it. */
export interface Continuation {
  stream: number;
  key: unknown;
}

const CORE_MEMBERS = new Map<string, 'title' | 'summary' | 'id'>([
  ['occi.core.title', 'title'],
  ['occi.core.summary', 'summary'],
  ['occi.core.id', 'id'],
]);

/**
 * A pattern with the core attributes clients send as attributes (`?attribute=occi.core.title`)
 * turned into the members they are stored as. Attribute names are the client's (`__proto__` is an
 * ordinary name here): a null-prototype object keeps every one as given.
 */
export function normalizePattern(pattern: EntityPattern): EntityPattern {
  const attributes = pattern.attributes;
  if (!attributes || !Object.keys(attributes).some((name) => CORE_MEMBERS.has(name))) return pattern;
  const out: EntityPattern = { ...pattern, attributes: Object.create(null) as Record<string, unknown> };
  for (const [name, value] of Object.entries(attributes)) {
    const member = CORE_MEMBERS.get(name);
    if (member !== undefined && typeof value === 'string' && out[member] === undefined) out[member] = value;
    else out.attributes![name] = value;
  }
  if (Object.keys(out.attributes!).length === 0) delete out.attributes;
  return out;
}

/** Longest category id or attribute name a filter may name: they go into view keys whole, in a URL. */
export const FILTER_NAME_MAX = 512;

/** Deepest nesting of a filter value (its key text is computed recursively). */
export const FILTER_DEPTH_MAX = 64;

/** In `u` mode a surrogate pair is one code point: this matches only a lone surrogate. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Refuses, with a 400 naming the place, what no view key can carry to a CouchDB 3 store: a number
 * that is not finite (JSON has none; `1e400` parses as Infinity), a string that is not well-formed
 * UTF-16 (a lone surrogate, which CouchDB's JSON decoder need not take), and a category id or
 * attribute name longer than `FILTER_NAME_MAX`, a value nested deeper than `FILTER_DEPTH_MAX`. Values of any other shape are keyed as JSON text
 * (`keyValue`) and checked in full in memory, so they are matched, never refused. Iterative: a
 * deeply nested value costs time linear in its size, never the call stack.
 */
export function assertQueryable(pattern: EntityPattern): void {
  const refuse = (pointer: string, message: string): never => {
    throw new ValidationError(`the filter's ${pointer} ${message}`, [{ pointer, message }]);
  };
  const name = (value: string, pointer: string) => {
    if (value.length > FILTER_NAME_MAX) refuse(pointer, `is longer than ${FILTER_NAME_MAX} characters`);
    if (LONE_SURROGATE.test(value)) refuse(pointer, 'is not well-formed Unicode (a lone surrogate)');
  };
  if (pattern.kind !== undefined) name(pattern.kind, 'kind');
  for (const mixin of pattern.mixins ?? []) name(mixin, 'mixins');
  const stack: { value: unknown; pointer: string; depth?: number }[] = [];
  for (const member of ['title', 'summary', 'id'] as const) if (pattern[member] !== undefined) stack.push({ value: pattern[member], pointer: member });
  for (const [attribute, value] of Object.entries(pattern.attributes ?? {})) {
    name(attribute, `attribute "${attribute.slice(0, 64)}"`);
    stack.push({ value, pointer: `attribute "${attribute.slice(0, 64)}"` });
  }
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, pointer, depth = 0 } = item;
    if (depth > FILTER_DEPTH_MAX) refuse(pointer, `holds a value nested deeper than ${FILTER_DEPTH_MAX}`);
    if (typeof value === 'number' && !Number.isFinite(value)) refuse(pointer, 'holds a number out of range');
    else if (typeof value === 'string' && LONE_SURROGATE.test(value)) refuse(pointer, 'holds a string that is not well-formed Unicode (a lone surrogate)');
    else if (Array.isArray(value)) for (const v of value) stack.push({ value: v, pointer, depth: depth + 1 });
    else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (LONE_SURROGATE.test(key)) refuse(pointer, 'holds a key that is not well-formed Unicode (a lone surrogate)');
        stack.push({ value: v, pointer, depth: depth + 1 });
      }
    }
  }
}

/** The condition a pattern is narrowed by: the most selective one it has. */
type Driver = { field: string; value: unknown; perKind: true } | { collection: string; perKind: false } | undefined;

function driverOf(pattern: EntityPattern): Driver {
  if (pattern.id !== undefined) return { field: 'i', value: pattern.id, perKind: true };
  if (pattern.title !== undefined) return { field: 't', value: pattern.title, perKind: true };
  const attribute = Object.entries(pattern.attributes ?? {})[0];
  if (attribute) return { field: `a:${attribute[0]}`, value: attribute[1], perKind: true };
  if (pattern.summary !== undefined) return { field: 's', value: pattern.summary, perKind: true };
  if (pattern.mixins && pattern.mixins.length > 0) return { collection: pattern.mixins[0]!, perKind: false };
  if (pattern.kind !== undefined) return { collection: pattern.kind, perKind: false };
  return undefined;
}

/** How many conditions a pattern has (the driver covers all of them when this is 1). */
function conditionCount(pattern: EntityPattern): number {
  return Object.keys(pattern.attributes ?? {}).length + (pattern.mixins?.length ?? 0) + ['kind', 'title', 'summary', 'id'].filter((m) => pattern[m as keyof EntityPattern] !== undefined).length;
}

/**
 * The streams of a listing, in the order their rows are returned. Patterns are alternatives (any may
 * match): their streams follow one another, and an entity matched by an earlier pattern is left out
 * of later ones.
 */
export function planStreams(scope: ListScope, patterns: EntityPattern[], owner: string | undefined): Stream[] {
  const view = owner === undefined ? VIEWS.entities : VIEWS.owned;
  const pre: unknown[] = owner === undefined ? [] : [owner];
  const below = 'below' in scope ? scope.below : undefined;
  const range = (collection: string, field: string, value: unknown, exact: boolean): Stream => {
    const prefix = [...pre, collection, field, value];
    return below === undefined
      ? { path: view, startkey: prefix, endkey: [...prefix, {}], exact, pattern: 0 }
      : { path: view, startkey: [...prefix, below], endkey: [...prefix, `${below}\ufff0`], exact, pattern: 0 };
  };

  if (patterns.length === 0) {
    if ('mixin' in scope) return [range(scope.mixin, MEMBER_FIELD, null, true)];
    if ('below' in scope) {
      return owner === undefined
        ? [{ path: '_all_docs', startkey: scope.below, endkey: `${scope.below}\ufff0`, exact: false, pattern: 0 }]
        : [{ path: view, startkey: [owner, '', '', null, scope.below], endkey: [owner, '', '', null, `${scope.below}\ufff0`], exact: true, pattern: 0 }];
    }
    // A root kind's collection is one range of the root's membership rows; any other kind's, one per kind.
    if (scope.kind === ENTITY_KIND) return [RESOURCE_KIND, LINK_KIND].map((root) => range(root, MEMBER_FIELD, null, true));
    if (scope.kind === RESOURCE_KIND || scope.kind === LINK_KIND) return [range(scope.kind, MEMBER_FIELD, null, true)];
    return scope.kinds.map((kind) => range(kind, MEMBER_FIELD, null, true));
  }

  const kindScope = !('mixin' in scope) && !('below' in scope);
  const streamsOf = (pattern: EntityPattern, index: number): Stream[] => {
    const driver = driverOf(pattern);
    // Rows need no reading when the range holds exactly this pattern's matches in the scope and no
    // earlier pattern can have returned them.
    const alone = index === 0 && conditionCount(pattern) - (driver?.perKind && pattern.kind !== undefined ? 1 : 0) === 1;
    if (driver === undefined) return planStreams(scope, [], owner).map((s) => ({ ...s, exact: s.exact && index === 0 }));
    if (!driver.perKind) {
      if (kindScope && pattern.kind !== undefined && !scope.kinds.includes(pattern.kind)) return [];
      const covered = kindScope ? scope.kinds.length === 1 && scope.kinds[0] === driver.collection : 'mixin' in scope ? scope.mixin === driver.collection : true;
      return [range(driver.collection, MEMBER_FIELD, null, alone && covered)];
    }
    // A mixin or path scope whose kinds are not known: its own rows narrow it.
    if (scope.kinds === undefined) return planStreams(scope, [], owner).map((s) => ({ ...s, exact: false }));
    const kinds = pattern.kind === undefined ? scope.kinds : scope.kinds.includes(pattern.kind) ? [pattern.kind] : [];
    const value = keyValue(driver.value);
    const exact = alone && !('mixin' in scope) && value === driver.value;
    return kinds.map((kind) => range(kind, driver.field, value, exact));
  };
  return patterns.flatMap((raw, index) => streamsOf(normalizePattern(raw), index).map((stream) => ({ ...stream, pattern: index })));
}

/** The continuation as the `?after=` value of a `next` link (opaque, URL-safe). */
export function encodeContinuation(continuation: Continuation): string {
  return Buffer.from(JSON.stringify([continuation.stream, continuation.key])).toString('base64url');
}

/**
 * Reads an `?after=` value back.
 *
 * @throws OcciError `bad-request` when it is not one this server wrote
 */
export function decodeContinuation(token: string): Continuation {
  const refuse = (): never => {
    throw new OcciError('bad-request', '?after is not a continuation this server gave out (take it from a "next" link)', { problems: [{ pointer: '?after', message: 'is not a continuation token' }] });
  };
  if (token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isInteger(parsed[0]) || (parsed[0] as number) < 0) return refuse();
  return { stream: parsed[0] as number, key: parsed[1] };
}
