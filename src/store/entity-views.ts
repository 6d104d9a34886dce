/**
 * @module The one generic index every listing and filter reads: a map/reduce view with one row per
 * collection an entity belongs to and one per condition it can satisfy, keyed
 * `[collection, field, value, _id]` (and, in the tenants' view, `[owner, collection, field, value, _id]`).
 *
 * - membership rows `[C, "", null, _id]` for C = the entity's kind, its root kind (OCCI core resource
 *   or link) and each of its mixins: a collection, unfiltered, is one key range in `_id` order;
 * - condition rows `[kind, field, value, _id]` for every attribute (`a:<name>`), the title (`t`), the
 *   summary (`s`) and the id (`i`, the last path segment): an equality filter is one key range
 *   holding exactly the entities that match it, numbers and strings compared as CouchDB collates them.
 *
 * One view serves any runtime kind, mixin or attribute without index work by an operator, and only
 * documented CouchDB view features are used (key ranges, `startkey` + `skip=1` continuation), so
 * PouchDB Server and CouchDB 3.x narrow the same way. Mango cannot do this: `$in` on an indexed field
 * and selectors on unindexed attributes read the whole kind.
 */
import { LINK_KIND, RESOURCE_KIND } from '../model/category.ts';

/** Longest string kept in a key; longer values are matched on this prefix, then checked in full. */
export const KEY_STRING_MAX = 200;

/** The field of a membership row. */
export const MEMBER_FIELD = '';

/** Design document of the operators' view (every tenant) and of the link ends. */
export const ENTITY_DESIGN_ID = '_design/ocni';
/** Design document of the tenants' view; only created when authentication is on. */
export const OWNER_DESIGN_ID = '_design/ocni-owner';

/** View paths, relative to the database. */
export const VIEWS = {
  entities: `${ENTITY_DESIGN_ID}/_view/entities`,
  owned: `${OWNER_DESIGN_ID}/_view/owned`,
  linkEnds: `${ENTITY_DESIGN_ID}/_view/link-ends`,
} as const;

/**
 * JSON text with every object's keys sorted (by UTF-16 code units, as `Array.prototype.sort` does
 * in both Node and CouchDB's JavaScript), so that `{"a":1,"b":2}` and `{"b":2,"a":1}` — the same
 * JSON value — have the same key and compare equal. `CANONICAL_JSON_ES5` below is its twin.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const text = canonicalJson((value as Record<string, unknown>)[key]);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/** `canonicalJson` in the ES5 the view server runs. */
const CANONICAL_JSON_ES5 = `
  function canon(v) {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    var parts = [], i, c;
    if (Array.isArray(v)) {
      for (i = 0; i < v.length; i++) { c = canon(v[i]); parts.push(c === undefined ? "null" : c); }
      return "[" + parts.join(",") + "]";
    }
    var keys = Object.keys(v).sort();
    for (i = 0; i < keys.length; i++) { c = canon(v[keys[i]]); if (c !== undefined) parts.push(JSON.stringify(keys[i]) + ":" + c); }
    return "{" + parts.join(",") + "}";
  }`;

/**
 * The key form of a value, as the map function computes it (ES5 source below is its twin): scalars
 * as they are, long strings cut, objects and arrays as tagged canonical JSON text.
 */
export function keyValue(value: unknown): unknown {
  if (typeof value === 'string') return value.length > KEY_STRING_MAX ? value.substring(0, KEY_STRING_MAX) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  const json = canonicalJson(value) ?? 'null';
  return ['~json', json.length > KEY_STRING_MAX ? json.substring(0, KEY_STRING_MAX) : json];
}

/** The body of both map functions; `out(key)` emits with or without the owner in front. */
const MAP_BODY = `
  if (doc.type !== "entity") return;
  var id = doc._id, kind = doc.kind;
  var root = doc.source ? "${LINK_KIND}" : "${RESOURCE_KIND}";${CANONICAL_JSON_ES5}
  function kv(v) {
    if (typeof v === "string") return v.length > ${KEY_STRING_MAX} ? v.substring(0, ${KEY_STRING_MAX}) : v;
    if (typeof v === "number" || typeof v === "boolean" || v === null) return v;
    var j = canon(v);
    if (j === undefined) j = "null";
    return ["~json", j.length > ${KEY_STRING_MAX} ? j.substring(0, ${KEY_STRING_MAX}) : j];
  }
  out([kind, "", null, id]);
  if (root !== kind) out([root, "", null, id]);
  var mixins = doc.mixins || [];
  for (var i = 0; i < mixins.length; i++) if (mixins[i] !== kind && mixins[i] !== root) out([mixins[i], "", null, id]);
  var attributes = doc.attributes || {};
  for (var name in attributes) if (Object.prototype.hasOwnProperty.call(attributes, name)) out([kind, "a:" + name, kv(attributes[name]), id]);
  if (doc.title !== undefined && doc.title !== null) out([kind, "t", kv(doc.title), id]);
  if (doc.summary !== undefined && doc.summary !== null) out([kind, "s", kv(doc.summary), id]);
  out([kind, "i", kv(id.substring(id.lastIndexOf("/") + 1)), id]);`;

/** The operators' design document: the generic view and the link ends. */
export const ENTITY_DESIGN = {
  _id: ENTITY_DESIGN_ID,
  language: 'javascript',
  views: {
    entities: {
      map: `function (doc) {\n  function out(key) { emit(key, null); }${MAP_BODY}\n}`,
    },
    // A link under ["source", path] and ["target", path]: the links of many resources are one
    // request by keys (Mango's $in is a full scan on some servers).
    'link-ends': {
      map: 'function (doc) { if (doc.type === "entity" && doc.source) { emit(["source", doc.source], null); if (doc.target) { emit(["target", doc.target], null); } } }',
    },
  },
};

/**
 * The tenants' design document: the same rows with the owner in front, plus `[owner, "", "", null, _id]`
 * for path listings. A separate design document, so that a deployment without tenants
 * (`auth.mode: none`) never builds or updates it.
 */
export const OWNER_DESIGN = {
  _id: OWNER_DESIGN_ID,
  language: 'javascript',
  views: {
    owned: {
      map: `function (doc) {\n  if (typeof doc.owner !== "string") return;\n  var owner = doc.owner;\n  function out(key) { emit([owner].concat(key), null); }\n  if (doc.type === "entity") out(["", "", null, doc._id]);${MAP_BODY}\n}`,
    },
  },
};

/** A design document as ensured at start-up. */
export type DesignDoc = typeof ENTITY_DESIGN | typeof OWNER_DESIGN;
