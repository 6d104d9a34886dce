/**
 * @module The OCCI category model (kinds, mixins, actions) and attribute definitions, in the one
 * internal shape every layer shares. Wire vocabularies (OCCI 1.2 JSON, pyOCNI JSON, text) are
 * converted to and from this shape in `src/render/`; nothing here knows about HTTP or CouchDB.
 */

/** The three category classes of OCCI Core. */
export type CategoryClass = 'kind' | 'mixin' | 'action';

/** Attribute value types of OCCI 1.2 JSON (GFD.226), the value of `type` in a definition. */
export type AttributeType = 'string' | 'number' | 'boolean' | 'array' | 'object';

/** The attribute types, in a fixed order, for validation and error messages. */
export const ATTRIBUTE_TYPES: readonly AttributeType[] = ['string', 'number', 'boolean', 'array', 'object'];

/** Any JSON value an attribute may hold. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/** An attribute value as text for messages and keys: a string as it is, anything else as JSON (never `[object Object]`). */
export function attributeText(value: AttributeValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A JSON Schema fragment that further constrains an attribute's value (GFD.226 renders `pattern`
 * as a JSON Schema object). pyOCNI's regex strings and `minimum`/`maximum` are converted into one.
 */
export type ValueSchema = { [key: string]: unknown };

/** The definition of one attribute (OCCI 1.2 Core, "Attribute"). */
export interface AttributeDefinition {
  type: AttributeType;
  /** May a client change it after creation? */
  mutable: boolean;
  /** Must it have a value (given by the client or by a default)? */
  required: boolean;
  default?: AttributeValue;
  pattern?: ValueSchema;
  description?: string;
}

/** Attribute definitions keyed by their flat, dotted OCCI name (`occi.compute.cores`). */
export type AttributeDefinitions = Record<string, AttributeDefinition>;

/** Which backends carry out a kind's operations (pyOCNI's provider model). */
export interface Provider {
  local: string[];
  remote: string[];
}

interface CategoryBase {
  scheme: string;
  term: string;
  title?: string;
  attributes: AttributeDefinitions;
  /** True for the OCCI Core/Infrastructure/CRTP categories shipped with the server: read-only. */
  builtin?: boolean;
  /** The user who created a user mixin (tag); absent for operator categories. */
  owner?: string;
  /** Runtime categories: 1 when created, one more on every change that changed something. */
  generation?: number;
  /** A migration of this category's entities still under way (applied on read until it is done). */
  migration?: MigrationPlan;
}

/**
 * How a change's migration brings existing entities to the new definitions: `convert` names
 * attributes whose values are converted to their new type, `set` gives values for attributes that
 * entities lack or hold values of that no longer fit.
 */
export interface MigrationPlan {
  /** The category generation the migration brings entities to. */
  generation: number;
  convert?: string[];
  set?: Record<string, AttributeValue>;
}

/** A Kind: the type of an entity, with a location path where its collection lives. */
export interface Kind extends CategoryBase {
  class: 'kind';
  parent?: string;
  actions: string[];
  /** Location path ending in `/`; absent only for the abstract `core#entity`. */
  location?: string;
  provider?: Provider;
}

/** A Mixin: extra attributes and actions an entity can be associated with. */
export interface Mixin extends CategoryBase {
  class: 'mixin';
  depends: string[];
  applies: string[];
  actions: string[];
  location: string;
}

/** An Action: an operation that can be invoked on entities, with its parameters as attributes. */
export interface Action extends CategoryBase {
  class: 'action';
}

/** Any category. */
export type Category = Kind | Mixin | Action;

/** The OCCI Core schemes, reserved for built-in categories. */
export const OCCI_SCHEME_BASE = 'http://schemas.ogf.org/occi/';
export const CORE_SCHEME = 'http://schemas.ogf.org/occi/core#';
export const INFRA_SCHEME = 'http://schemas.ogf.org/occi/infrastructure#';
export const ENTITY_KIND = `${CORE_SCHEME}entity`;
export const RESOURCE_KIND = `${CORE_SCHEME}resource`;
export const LINK_KIND = `${CORE_SCHEME}link`;

/** The identifier of a category: its scheme and term concatenated (OCCI Core). */
export function categoryId(category: { scheme: string; term: string }): string {
  return category.scheme + category.term;
}

/** Whether a category has the identifier `id`, without building its own (asked per item of a bulk creation). */
export function hasId(category: { scheme: string; term: string }, id: string): boolean {
  return id.length === category.scheme.length + category.term.length && id.startsWith(category.scheme) && id.endsWith(category.term);
}

/** A partial category description, in model terms. */
export interface CategoryPattern {
  term?: string;
  scheme?: string;
  title?: string;
  parent?: string;
  location?: string;
  depends?: string[];
  applies?: string[];
  actions?: string[];
  attributes?: Record<string, Partial<AttributeDefinition>>;
}

/** A kind's attribute definitions with inherited ones, from its lineage (the kind first, then its parents): nearer kinds win. */
export function inheritedAttributes(lineage: readonly Kind[]): AttributeDefinitions {
  const out: AttributeDefinitions = {};
  for (const kind of [...lineage].reverse()) Object.assign(out, kind.attributes);
  return out;
}

/** A mixin with every mixin it depends on, transitively (nearest first); unknown ids are skipped. */
export function dependencyClosure(mixinId: string, mixin: (id: string) => Mixin | undefined): Mixin[] {
  const out: Mixin[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const found = mixin(id);
    if (!found) return;
    out.push(found);
    for (const dep of found.depends) visit(dep);
  };
  visit(mixinId);
  return out;
}
