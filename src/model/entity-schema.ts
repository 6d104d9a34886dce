/**
 * @module The JSON Schema (2020-12) of a kind's or mixin's entities, published so that a client can
 * validate before it sends: attributes flat by OCCI name, each with its type, its `pattern` (the
 * JSON Schema ocni checks values with), its default and, when required without a default, listed
 * in `required`. It is built from the same definitions ocni validates with (see
 * {@link definitionsFor}); what a schema cannot say is written in its `description`.
 */
import { categoryId, type AttributeDefinition, type AttributeDefinitions, type Category, type ValueSchema } from './category.ts';
import { CORE_ATTRIBUTES, type CategoryLookup } from './entity.ts';

/** The JSON Schema dialect of published schemas. */
export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

type Json = Record<string, unknown>;

/** Where a category's schema is published, relative to the server's base URL. */
export function schemaPath(categoryId: string): string {
  // A query parameter, not a path segment: an identifier holds '/', which a path may not carry encoded.
  return `/-/schema?category=${encodeURIComponent(categoryId)}`;
}

/** A value schema embedded in 2020-12: its own `$schema`/`$id` would change how it is read. */
function embedded(pattern: ValueSchema): Json {
  const { $schema: _s, $id: _i, ...rest } = pattern;
  return rest;
}

/** The schema of one attribute's value: its OCCI type, then its pattern. */
export function attributeSchema(definition: AttributeDefinition): Json {
  const out: Json = { type: definition.type };
  if (definition.pattern) out.allOf = [embedded(definition.pattern)];
  if (definition.default !== undefined) out.default = definition.default;
  if (definition.description !== undefined) out.description = definition.description;
  // Immutable attributes may be given at creation, not changed afterwards.
  if (!definition.mutable) out['x-occi-mutable'] = false;
  return out;
}

/** The attributes object of an entity: every definition by flat name, required ones listed. */
export function attributesSchema(definitions: AttributeDefinitions): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const [name, definition] of Object.entries(definitions)) {
    if (CORE_ATTRIBUTES.includes(name)) continue;
    properties[name] = attributeSchema(definition);
    if (definition.required && definition.default === undefined) required.push(name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** The definitions a category gives its entities: a kind's own and inherited, a mixin's and its dependencies'. */
export function categoryDefinitions(lookup: CategoryLookup, category: Category): AttributeDefinitions {
  if (category.class === 'kind') return lookup.kindAttributes(categoryId(category));
  if (category.class === 'action') return category.attributes;
  const out: AttributeDefinitions = {};
  // A copy: a batch lookup hands every caller the same array.
  for (const mixin of [...lookup.mixinClosure(categoryId(category))].reverse()) Object.assign(out, mixin.attributes);
  return out;
}

/**
 * The published schema of a kind's entities (an OCCI JSON entity) or of a mixin's attributes (what
 * it adds to an entity), or of an action's invocation.
 *
 * @param id - the `$id` the schema is served at
 */
export function categorySchema(lookup: CategoryLookup, category: Category, id: string): Json {
  const cid = categoryId(category);
  const attributes = attributesSchema(categoryDefinitions(lookup, category));
  const base: Json = { $schema: SCHEMA_DIALECT, $id: id, title: category.title ?? cid };
  if (category.class === 'action') {
    return { ...base, description: `An invocation of ${cid}: its parameters as attributes.`, type: 'object', required: ['action'], properties: { action: { const: cid }, attributes } };
  }
  if (category.class === 'mixin') {
    return {
      ...base,
      description: `The attributes ${cid} adds to an entity${category.applies.length > 0 ? ` of ${category.applies.join(', ')}` : ''}. An entity's attributes must also fit its kind's schema; ocni refuses attributes none of its categories define.`,
      type: 'object',
      properties: { attributes },
    };
  }
  return {
    ...base,
    description: `An entity of ${cid} in application/occi+json. Mixins add attributes (each has its own schema); ocni refuses attributes none of the entity's categories define.`,
    type: 'object',
    properties: {
      // Optional: a creation posted to the kind's location takes the kind from there.
      kind: { const: cid },
      mixins: { type: 'array', items: { type: 'string' } },
      id: { type: 'string' },
      title: { type: 'string' },
      summary: { type: 'string' },
      attributes,
    },
  };
}
