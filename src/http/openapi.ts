/**
 * @module The OpenAPI 3.1 description of the live server (`GET /openapi.json`): every route of the
 * verb table, request bodies from the JSON Schemas of `schemas/`, and, for every kind and mixin
 * location, its entities' attribute schema (the one `GET /-/schema?category=` publishes). Built from
 * the registry and kept until the registry's version changes, so a new kind shows the moment it
 * is created.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { categoryId, type Category } from '../model/category.ts';
import { categorySchema, schemaPath } from '../model/entity-schema.ts';
import type { CategoryRegistry } from '../registry/registry.ts';

type Json = Record<string, unknown>;

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);
const OCCI_JSON = 'application/occi+json';

/**
 * Rewrites `$ref`s of schemas/ (draft-07 files referring to each other and to their own
 * `definitions`) to components: a file's definition `x` becomes `<file>.x`, a file itself `<file>`.
 */
function rewriteRefs(node: unknown, file: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, file));
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$schema' || key === '$id' || key === 'definitions') continue;
    if (key === '$ref' && typeof value === 'string') {
      const [target, pointer] = value.split('#');
      const owner = target ? target.replace(/\.json$/, '') : file;
      out.$ref = `#/components/schemas/${pointer?.startsWith('/definitions/') ? `${owner}.${pointer.slice('/definitions/'.length)}` : owner}`;
    } else out[key] = rewriteRefs(value, file);
  }
  return out;
}

/** The request-body schemas of schemas/, once, as OpenAPI components (with their definitions). */
function fileSchemas(): Json {
  const out: Json = {};
  for (const file of readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const name = file.replace(/\.json$/, '');
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as Json;
    for (const [def, body] of Object.entries((schema.definitions ?? {}) as Json)) out[`${name}.${def}`] = rewriteRefs(body, name);
    if (name !== 'defs') out[name] = rewriteRefs(schema, name);
  }
  return out;
}

const FILE_SCHEMAS = fileSchemas();

/** A component name for a category (OpenAPI allows letters, digits, `.`, `-`, `_`). */
function componentName(category: Category): string {
  const hash = createHash('sha256').update(categoryId(category)).digest('hex').slice(0, 8);
  return `${category.class}.${category.term.replace(/[^A-Za-z0-9_-]/g, '_')}.${hash}`;
}

const problem = { description: 'a problem (RFC 9457)', content: { 'application/problem+json': { schema: { type: 'object' } } } };
const errors = { '400': problem, '401': problem, '403': problem, '404': problem, '409': problem };
const body = (ref: string, required = true) => ({ required, content: { [OCCI_JSON]: { schema: { $ref: `#/components/schemas/${ref}` } }, 'text/plain': { schema: { type: 'string' } } } });
const ok = (description: string, schema: Json = { type: 'object' }) => ({ description, content: { [OCCI_JSON]: { schema } } });

function queryInterfacePaths(): Json {
  const qi = {
    get: {
      summary: 'discover categories (filters: ?category, ?class, ?scheme, ?term, ?origin=runtime|builtin)',
      parameters: ['category', 'class', 'scheme', 'term', 'origin'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
      responses: { '200': ok('the categories', { $ref: '#/components/schemas/category-collection' }), ...errors },
    },
    post: { summary: 'add categories', requestBody: body('category-collection'), responses: { '200': ok('the added categories'), ...errors } },
    put: {
      summary: 'change categories (?entities=keep|migrate, ?dry-run=true), or apply a whole model (?apply=true, ?prune=true)',
      parameters: ['entities', 'dry-run', 'apply', 'prune'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
      requestBody: body('category-update'),
      responses: { '200': ok('the changed categories, or the report of a dry run or an apply'), ...errors },
    },
    delete: {
      summary: 'remove categories (?cascade=true removes or narrows dependents)',
      parameters: [{ name: 'cascade', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } }],
      requestBody: body('category-delete'),
      responses: { '200': ok('the removed categories (and changed dependents)'), ...errors },
    },
  };
  return {
    '/-/': qi,
    '/.well-known/org/ogf/occi/-/': qi,
    '/-/schema': {
      get: {
        summary: "a kind's, mixin's or action's JSON Schema (2020-12), the one ocni validates with",
        parameters: [{ name: 'category', in: 'query', required: true, description: 'scheme + term', schema: { type: 'string' } }],
        responses: { '200': { description: 'the schema', content: { 'application/schema+json': { schema: { type: 'object' } } } }, '404': problem },
      },
    },
    '/openapi.json': { get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
  };
}

/** The paths of one kind's or mixin's location, with its entities' attribute schema. */
function categoryPaths(category: Category & { location: string }, ref: string): Json {
  const id = categoryId(category);
  const entity = { $ref: `#/components/schemas/${ref}` };
  const filter = ['attribute', 'value', 'category'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));
  const paging = ['page', 'limit'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'integer', minimum: 0 } }));
  if (category.class === 'mixin') {
    return {
      [category.location]: {
        get: { summary: `members of ${id}`, parameters: [...filter, ...paging], responses: { '200': ok('the members'), ...errors } },
        post: { summary: `associate entities with ${id}`, requestBody: body('location-list'), responses: { '200': ok('the members'), ...errors } },
        put: { summary: `make the listed entities exactly the members of ${id}`, requestBody: body('location-list'), responses: { '200': ok('the members'), ...errors } },
        delete: { summary: `dissociate members of ${id}`, requestBody: body('location-list', false), responses: { '200': ok('done'), '204': { description: 'done' }, ...errors } },
      },
    };
  }
  const one = `${category.location}{id}`;
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  return {
    [category.location]: {
      get: { summary: `entities of ${id} (and its sub-kinds)`, parameters: [...filter, ...paging], responses: { '200': ok('the entities'), ...errors } },
      post: {
        summary: `create entities of ${id}, or trigger an action on every member (?action=)`,
        parameters: [{ name: 'action', in: 'query', required: false, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: { [OCCI_JSON]: { schema: { oneOf: [entity, { $ref: '#/components/schemas/entity-collection' }, { $ref: '#/components/schemas/action-invocation' }] } } },
        },
        responses: { '201': ok('the created entities'), '200': ok('the entities that took the action'), ...errors },
      },
      delete: { summary: `delete entities of ${id} (all, or those a filter picks)`, parameters: filter, responses: { '200': ok('done'), '204': { description: 'done' }, ...errors } },
    },
    [one]: {
      parameters: [idParam],
      get: { summary: `one entity of ${id}`, responses: { '200': ok('the entity', entity), '304': { description: 'not modified' }, ...errors } },
      put: {
        summary: `create at this location, or replace (checked whole)`,
        requestBody: { required: true, content: { [OCCI_JSON]: { schema: entity } } },
        responses: { '200': ok('replaced', entity), '201': ok('created', entity), '412': problem, ...errors },
      },
      post: {
        summary: 'partial update (what it changes is checked), or an action (?action=)',
        parameters: [{ name: 'action', in: 'query', required: false, schema: { type: 'string' } }],
        requestBody: { required: true, content: { [OCCI_JSON]: { schema: { oneOf: [{ $ref: '#/components/schemas/entity' }, { $ref: '#/components/schemas/action-invocation' }] } } } },
        responses: { '200': ok('the entity', entity), '412': problem, ...errors },
      },
      delete: { summary: 'delete it and its links', responses: { '204': { description: 'deleted' }, '412': problem, ...errors } },
    },
  };
}

/** Builds the document for the registry as it is now (no request view: every shared category). */
export function buildOpenApi(registry: CategoryRegistry, serverUrl: string, version: string): Json {
  const schemas: Json = { ...FILE_SCHEMAS };
  const paths: Json = queryInterfacePaths();
  for (const category of registry.all()) {
    // Shared categories only: a request's backend templates and users' tags are not everyone's.
    const shared = registry.isBuiltin(categoryId(category)) || registry.revision(categoryId(category)) !== undefined;
    if (!shared || category.class === 'action' || !category.location || category.owner !== undefined) continue;
    const ref = componentName(category);
    // The very schema GET /-/schema?category= publishes, without its own $schema and $id (the document's dialect applies).
    const { $schema: _dialect, $id: _id, ...schema } = categorySchema(registry, category, `${serverUrl}${schemaPath(categoryId(category))}`);
    schemas[ref] = schema;
    Object.assign(paths, categoryPaths(category as Category & { location: string }, ref));
  }
  return {
    openapi: '3.1.0',
    info: { title: 'ocni', version, description: 'OCCI 1.2 server. Generated from the live category registry: every kind and mixin location, with its attribute schema.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: serverUrl }],
    paths,
    components: { schemas },
  };
}

/** The document, rebuilt only when the registry changed (or the server URL differs). */
export class OpenApiCache {
  #key = '';
  #doc: Json = {};
  constructor(
    private readonly registry: CategoryRegistry,
    private readonly version: string,
  ) {}

  get(serverUrl: string): Json {
    const key = `${this.registry.version} ${serverUrl}`;
    if (key !== this.#key) {
      this.#doc = buildOpenApi(this.registry, serverUrl, this.version);
      this.#key = key;
    }
    return this.#doc;
  }
}
