/**
 * @module Entities in application/occi+json. Input: OCCI 1.2 (GFD.226) single resources and links,
 * entity collections `{"resources", "links"}` (also pyOCNI's envelopes), pyOCNI's nested attributes
 * and string link ends, location lists, action invocations and filters. Output: OCCI 1.2, or the
 * pyOCNI profile (nested attributes, envelopes, `{"X-OCCI-Location": [...]}` listings).
 */
import type { AttributeDefinitions, AttributeValue } from '../../model/category.ts';
import { applicableActions, flattenFilterAttributes, idOf, type CategoryLookup, type Entity, type EntityInput, type EntityPattern } from '../../model/entity.ts';
import { BatchLookup } from '../../model/batch-lookup.ts';
import { ValidationError } from '../../errors.ts';

type Json = { [key: string]: unknown };

/**
 * The JSON output profiles: `occi` is GFD.226 exactly (every document validates against its
 * appendix schema); `ocni` adds what ocni knows beyond it (an entity's `location`, a kind's
 * `provider`, array and object attribute defaults); `pyocni` is pyOCNI's shapes.
 */
export type JsonProfile = 'occi' | 'ocni' | 'pyocni';

/** True for the profiles that carry ocni's extensions beyond GFD.226 (`location`, `provider`). */
export function extendedProfile(profile: JsonProfile): boolean {
  return profile !== 'occi';
}

/** One entity read from a body, with where it came from. */
export interface EntityItem {
  input: EntityInput;
  /** Client-chosen id, if any. */
  id?: string;
  /** The link's own location, when a text `Link` line names it (`self`). */
  self?: string;
  /** Links given inline with a resource (their source is that resource). */
  links: EntityItem[];
  pointer: string;
  /** Which list it came from; `undefined` for a single rendering. */
  envelope?: 'resources' | 'links';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function endpoint(value: unknown): { location?: string; kind?: string } {
  if (typeof value === 'string') return { location: value };
  if (isObject(value)) {
    const out: { location?: string; kind?: string } = {};
    if (typeof value.location === 'string') out.location = value.location;
    if (typeof value.kind === 'string') out.kind = value.kind;
    return out;
  }
  return {};
}

function readItem(raw: Json, pointer: string, envelope?: 'resources' | 'links'): EntityItem {
  const input: EntityInput = {};
  if (typeof raw.kind === 'string') input.kind = raw.kind;
  if (Array.isArray(raw.mixins)) input.mixins = raw.mixins.filter((m): m is string => typeof m === 'string');
  if (isObject(raw.attributes)) input.attributes = raw.attributes;
  if (typeof raw.title === 'string' || raw.title === null) input.title = raw.title;
  if (typeof raw.summary === 'string' || raw.summary === null) input.summary = raw.summary;
  const source = endpoint(raw.source);
  const target = endpoint(raw.target);
  if (source.location) input.source = source.location;
  if (target.location) input.target = target.location;
  if (target.kind) input.targetKind = target.kind;
  if (source.kind) input.sourceKind = source.kind;
  const item: EntityItem = { input, links: [], pointer };
  if (envelope) item.envelope = envelope;
  if (typeof raw.id === 'string') item.id = raw.id;
  if (Array.isArray(raw.links)) item.links = raw.links.filter(isObject).map((link, i) => readItem(link, `${pointer}/links/${i}`));
  return item;
}

/**
 * Reads the entities of a schema-valid body: a single resource or link rendering, or an entity
 * collection / pyOCNI envelope.
 */
export function parseEntities(body: Json): EntityItem[] {
  // A single rendering names its kind; a resource's own `links` do not make it an envelope.
  if (typeof body.kind !== 'string' && (Array.isArray(body.resources) || Array.isArray(body.links))) {
    const resources = Array.isArray(body.resources) ? body.resources : [];
    const links = Array.isArray(body.links) ? body.links : [];
    return [...resources.filter(isObject).map((r, i) => readItem(r, `/resources/${i}`, 'resources')), ...links.filter(isObject).map((l, i) => readItem(l, `/links/${i}`, 'links'))];
  }
  return [readItem(body, '')];
}

/** Reads a location list: `{"X-OCCI-Location": [...]}` (pyOCNI), `{"locations": [...]}` or a bare array. */
export function parseLocationList(body: unknown): string[] {
  const list = Array.isArray(body) ? body : isObject(body) ? (body['X-OCCI-Location'] ?? body.locations) : undefined;
  if (!Array.isArray(list) || list.some((l) => typeof l !== 'string')) {
    throw new ValidationError('expected a list of locations: {"X-OCCI-Location": ["/compute/1", ...]}', [{ pointer: '/', message: 'must be a list of locations' }]);
  }
  return list as string[];
}

/** An action invocation as read from a body: OCCI 1.2 `{"action", "attributes"}` or pyOCNI `{"actions": [{term, scheme}], "attributes"}`. */
export function parseActionInvocation(body: Json | undefined): { action?: string; parameters: Record<string, unknown> } {
  if (!body) return { parameters: {} };
  const parameters = isObject(body.attributes) ? body.attributes : {};
  if (typeof body.action === 'string') return { action: body.action, parameters };
  const first: unknown = Array.isArray(body.actions) ? (body.actions as unknown[])[0] : undefined;
  if (isObject(first) && typeof first.scheme === 'string' && typeof first.term === 'string') return { action: first.scheme + first.term, parameters };
  return { parameters };
}

/** Reads pyOCNI's filter body (`get_resources.json`): partial descriptions under `resources` and `links`; `definitions` are the attributes whose objects are values, not namespaces. */
export function parseEntityFilter(body: Json, definitions: AttributeDefinitions = {}): EntityPattern[] {
  const patterns: EntityPattern[] = [];
  for (const key of ['resources', 'links']) {
    const list = Array.isArray(body[key]) ? (body[key] as unknown[]) : [];
    for (const raw of list) {
      if (!isObject(raw)) continue;
      const pattern: EntityPattern = {};
      if (typeof raw.kind === 'string') pattern.kind = raw.kind;
      if (Array.isArray(raw.mixins)) pattern.mixins = raw.mixins.filter((m): m is string => typeof m === 'string');
      if (isObject(raw.attributes)) pattern.attributes = flattenFilterAttributes(raw.attributes, definitions);
      for (const member of ['title', 'summary', 'id'] as const) if (typeof raw[member] === 'string') pattern[member] = raw[member];
      patterns.push(pattern);
    }
  }
  return patterns;
}

/** How to render entities. */
export interface EntityRenderContext {
  /** Absolute base, e.g. `http://localhost:8090`, prefixed to paths. */
  baseUrl: string;
  lookup: CategoryLookup;
  profile: JsonProfile;
  /** An empty collection of a link kind renders as `{"links": []}`. */
  linkCollection?: boolean;
}

/** A path made absolute; external URLs stay as they are. */
export function absolute(ctx: Pick<EntityRenderContext, 'baseUrl'>, pathOrUrl: string): string {
  return pathOrUrl.startsWith('/') ? ctx.baseUrl + pathOrUrl : pathOrUrl;
}

/** Nests dotted names into objects (pyOCNI's attribute shape). */
export function nestAttributes(flat: Record<string, AttributeValue>): Json {
  const out: Json = {};
  // Longer names first, so that `a.b` and `a.b.c` both fit: the shorter one becomes the leaf `a.b` key
  // only when nothing nests below it.
  for (const [name, value] of Object.entries(flat).sort(([a], [b]) => b.length - a.length)) {
    const parts = name.split('.');
    let node = out;
    let ok = true;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (next === undefined) node = node[part] = {};
      else if (isObject(next)) node = next;
      else {
        ok = false;
        break;
      }
    }
    const leaf = parts[parts.length - 1]!;
    if (ok && !(leaf in node)) node[leaf] = value;
    else out[name] = value;
  }
  return out;
}

/**
 * The core attributes of an entity as GFD.221 names them, as they go inside `attributes` too, so
 * that a client reads back what it wrote (rOCCI-core sends and expects them there).
 */
function coreAttributes(entity: Entity, ctx: EntityRenderContext): Json {
  const out: Json = { 'occi.core.id': idOf(entity.location) };
  if (entity.title !== undefined) out['occi.core.title'] = entity.title;
  if (entity.summary !== undefined) out['occi.core.summary'] = entity.summary;
  if (entity.source !== undefined) {
    out['occi.core.source'] = absolute(ctx, entity.source);
    out['occi.core.target'] = absolute(ctx, entity.target!);
  }
  return out;
}

/** A link end as GFD.226's `kinded_uri`: `{location, kind?}`. */
function kindedUri(ctx: EntityRenderContext, location: string, kind: string | undefined): Json {
  return { location: absolute(ctx, location), ...(kind ? { kind } : {}) };
}

/**
 * Renders one entity as OCCI 1.2 JSON (GFD.226; with `location`, an ocni extension, in the `ocni`
 * profile) or in the pyOCNI profile.
 */
export function renderEntity(entity: Entity, ctx: EntityRenderContext, links: Entity[] = []): Json {
  const id = idOf(entity.location);
  const actions = applicableActions(ctx.lookup, entity);
  const out: Json = { kind: entity.kind, mixins: entity.mixins };
  if (ctx.profile === 'pyocni') {
    out.attributes = nestAttributes(entity.attributes);
    out.actions = actions.map((actionId) => {
      const action = ctx.lookup.action(actionId);
      const term = actionId.slice(actionId.indexOf('#') + 1);
      return { title: action?.title ?? term, href: `${entity.location}?action=${term}`, category: actionId };
    });
  } else {
    out.attributes = { ...entity.attributes, ...coreAttributes(entity, ctx) };
    out.actions = actions;
  }
  out.id = id;
  if (extendedProfile(ctx.profile)) out.location = absolute(ctx, entity.location);
  if (entity.title !== undefined) out.title = entity.title;
  // GFD.221: `summary` is a Resource's; a link has none (the appendix schema refuses one).
  if (entity.summary !== undefined && entity.source === undefined) out.summary = entity.summary;
  if (entity.source !== undefined) {
    out.source = ctx.profile === 'pyocni' ? absolute(ctx, entity.source) : kindedUri(ctx, entity.source, entity.sourceKind);
    out.target = ctx.profile === 'pyocni' ? absolute(ctx, entity.target!) : kindedUri(ctx, entity.target!, entity.targetKind);
  } else {
    out.links = links.map((link) => renderEntity(link, ctx));
  }
  return out;
}

/** The single-entity response body: the rendering, wrapped in pyOCNI's envelope for that profile. */
export function renderEntityDocument(entity: Entity, ctx: EntityRenderContext, links: Entity[] = []): Json {
  const rendered = renderEntity(entity, ctx, links);
  if (ctx.profile === 'pyocni') return entity.source !== undefined ? { links: [rendered] } : { resources: [rendered] };
  return rendered;
}

/** An entity collection: full renderings (OCCI 1.2; only the non-empty lists) or `{"X-OCCI-Location": [...]}` (pyOCNI). */
export function renderEntityCollection(entities: Entity[], ctx: EntityRenderContext, linksOf: (e: Entity) => Entity[] = () => []): Json {
  if (ctx.profile === 'pyocni') return { 'X-OCCI-Location': entities.map((e) => absolute(ctx, e.location)) };
  const resources = entities.filter((e) => e.source === undefined).map((e) => renderEntity(e, ctx, linksOf(e)));
  const links = entities.filter((e) => e.source !== undefined).map((e) => renderEntity(e, ctx));
  // GFD.226's resource and link collections hold one key each (`additionalProperties: false`): an
  // empty list of the other kind is left out; a mix is the schema's `model`, an empty one `{"resources": []}`.
  const out: Json = {};
  const empty = resources.length === 0 && links.length === 0;
  if (resources.length > 0 || (empty && !ctx.linkCollection)) out.resources = resources;
  if (links.length > 0 || (empty && ctx.linkCollection)) out.links = links;
  return out;
}

/** The body answering a creation: pyOCNI's `{"Location": [...]}`, or the created renderings. */
export function renderCreated(entities: Entity[], ctx: EntityRenderContext, linksOf: (e: Entity) => Entity[] = () => []): Json {
  if (ctx.profile === 'pyocni') return { Location: entities.map((e) => absolute(ctx, e.location)) };
  if (entities.length === 1) return renderEntity(entities[0]!, ctx, linksOf(entities[0]!));
  // Rendered together without awaiting anything: one lookup remembers what they ask of the registry.
  return renderEntityCollection(entities, { ...ctx, lookup: new BatchLookup(ctx.lookup) }, linksOf);
}
