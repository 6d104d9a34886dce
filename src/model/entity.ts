/**
 * @module Entities (resources and links): building them from client input, checking attributes
 * against the kind, its parents and the mixins, applying defaults, partial and full updates, and
 * the actions that currently apply. Pure: categories come through {@link CategoryLookup}.
 */
import { attributeText, categoryId, ENTITY_KIND, hasId, LINK_KIND, type Action, type AttributeDefinition, type AttributeDefinitions, type AttributeValue, type Kind, type Mixin } from './category.ts';
import { checkAttributeValue } from './attribute.ts';
import { SERVER_STATE_ATTRIBUTES, TRANSITIONS, actionEffects } from './state-machines.ts';
import { ForbiddenError, ValidationError, type FieldProblem } from '../errors.ts';

/** What the entity model needs to know about categories (the registry provides it). */
export interface CategoryLookup {
  kind(id: string): Kind | undefined;
  mixin(id: string): Mixin | undefined;
  action(id: string): Action | undefined;
  lineage(kindId: string): Kind[];
  kindAttributes(kindId: string): AttributeDefinitions;
  mixinClosure(mixinId: string): Mixin[];
  /**
   * {@link definitionsFor}'s answer, from a lookup that remembers it (a batch's, see
   * `batch-lookup.ts`); callers do not mutate it.
   */
  definitions?(kindId: string, mixins: string[]): AttributeDefinitions;
  /** {@link definedActions}' answer, from a lookup that remembers it; callers do not mutate it. */
  definedActions?(entity: Pick<Entity, 'kind' | 'mixins'>): string[];
}

/** An entity in model terms: its identity is its location path. */
export interface Entity {
  location: string;
  kind: string;
  mixins: string[];
  /** Flat, by dotted name; core members (id, title, summary, source, target) are kept apart. */
  attributes: Record<string, AttributeValue>;
  title?: string;
  summary?: string;
  /** Links only: the source resource's path, and the target's path or external URL. */
  source?: string;
  target?: string;
  /** Links only: the kinds of the ends; a local end's is its entity's, whatever the client said. */
  targetKind?: string;
  sourceKind?: string;
  /** Store revision, the ETag. */
  rev?: string;
  /** The backend's own reference (e.g. a Cyclades server id); kept, never rendered. */
  ref?: string;
  /** The tenant that owns it; absent for entities made with authentication off (operators only). */
  owner?: string;
  /**
   * Resources only: the locations of their outgoing links (OCCI Core's composite `Resource.links`),
   * kept with the resource so that reading it is one store request.
   */
  linkLocations?: string[];
  /**
   * The actions its backend allows now, when the backend says (a building Cyclades server allows
   * none, though OCCI's state machine would offer `start` in `inactive`); never stored.
   */
  allowedActions?: string[];
}

/** Client input for an entity, already reduced to model vocabulary (render/ does that). */
export interface EntityInput {
  kind?: string;
  mixins?: string[];
  /** Raw attributes: flat (OCCI 1.2) or nested (pyOCNI); flattened here with the definitions. */
  attributes?: Record<string, unknown>;
  title?: string | null;
  summary?: string | null;
  source?: string;
  target?: string;
  targetKind?: string;
  sourceKind?: string;
  /**
   * The attributes came from a text rendering, whose quoted values carry no type (rOCCI sends
   * `occi.storage.size="1"`): a quoted value that is exactly a number or boolean is read as one
   * where the attribute's definition says so.
   */
  textual?: boolean;
}

/** A partial entity description of a filter; an entity matches when every member given matches. */
export interface EntityPattern {
  kind?: string;
  mixins?: string[];
  /** Flat attribute values, compared for equality. */
  attributes?: Record<string, unknown>;
  title?: string;
  summary?: string;
  id?: string;
}

/** Core attributes clients may send as attributes (text renderings do); they map to members. */
export const CORE_ATTRIBUTES = ['occi.core.id', 'occi.core.title', 'occi.core.summary', 'occi.core.source', 'occi.core.target', 'occi.core.target.kind', 'occi.core.source.kind'];

/** Longest id accepted. */
export const MAX_ID_LENGTH = 256;
const ID = /^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$/;

/** Checks a client-chosen id: one path segment, no `/`, not `.` or `..`, bounded length. */
export function checkId(id: string): string | undefined {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return `must have 1 to ${MAX_ID_LENGTH} characters`;
  if (id === '.' || id === '..') return 'may not be "." or ".."';
  if (!ID.test(id)) return "may hold only letters, digits and -._~!$&'()*+,;=:@% (no '/')";
  return undefined;
}

/** The id of an entity: the last segment of its location. */
export function idOf(location: string): string {
  return location.slice(location.lastIndexOf('/') + 1);
}

/** Every attribute definition that applies to an entity: kind and parents, then mixins (whose defaults win). */
export function definitionsFor(lookup: CategoryLookup, kindId: string, mixins: string[]): AttributeDefinitions {
  const out: AttributeDefinitions = { ...lookup.kindAttributes(kindId) };
  for (const mixinId of mixins) {
    // Farthest first, so that the nearest wins; a copy: a batch lookup hands every caller the same array.
    for (const mixin of [...lookup.mixinClosure(mixinId)].reverse()) Object.assign(out, mixin.attributes);
  }
  for (const name of CORE_ATTRIBUTES) delete out[name];
  return out;
}

/**
 * The definition of a client-named attribute, if the definitions have it as their own: a name like
 * `constructor` or `__proto__` must not find something on Object.prototype.
 */
export function ownDefinition(definitions: AttributeDefinitions, name: string): AttributeDefinition | undefined {
  return Object.hasOwn(definitions, name) ? definitions[name] : undefined;
}

/** An empty map for client-named keys, where `__proto__` is an ordinary key. */
function clientMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON pointer token (RFC 6901): `~` and `/` escaped. */
function token(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Where each flattened attribute came from in the request, for problems only: a flat name's JSON
 * pointer is spelled out when asked for, a nested one's is kept as it is walked.
 */
export class AttributePointers {
  /** Pointers of the names that came from inside a namespace; the others are `base/<name>`. */
  nested: Record<string, string> | undefined;

  constructor(
    private readonly base: string,
    private readonly values: Record<string, unknown>,
  ) {}

  /** The pointer of a flattened name's value, or undefined for a name that was not given. */
  of(name: string): string | undefined {
    if (this.nested && Object.hasOwn(this.nested, name)) return this.nested[name];
    return Object.hasOwn(this.values, name) ? `${this.base}/${token(name)}` : undefined;
  }
}

function flattenInto(values: Record<string, unknown>, pointers: AttributePointers, definitions: AttributeDefinitions, node: Record<string, unknown>, prefix: string, at: string): void {
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    const value = node[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value) && !ownDefinition(definitions, name) && !CORE_ATTRIBUTES.includes(name)) flattenInto(values, pointers, definitions, value, name, `${at}/${token(key)}`);
    else {
      values[name] = value;
      // The last value given for a name is the one kept, and so is its pointer.
      if (prefix) (pointers.nested ??= clientMap<string>())[name] = `${at}/${token(key)}`;
      else if (pointers.nested) delete pointers.nested[name];
    }
  }
}

/**
 * Flattens attributes given flat (OCCI 1.2) or nested (pyOCNI) into dotted names. A defined name
 * takes its value as is (an object-typed attribute keeps its object); other objects are namespaces.
 */
export function flattenAttributes(raw: Record<string, unknown>, definitions: AttributeDefinitions, pointer: string): { values: Record<string, unknown>; pointers: AttributePointers } {
  const values = clientMap<unknown>();
  const pointers = new AttributePointers(pointer, values);
  flattenInto(values, pointers, definitions, raw, '', pointer);
  return { values, pointers };
}

/**
 * Flattens a filter's attributes like an entity's: a defined (object-typed) attribute keeps its
 * object; other objects are namespaces. An empty object names no attribute, so it is kept as the
 * value it is (matching what holds `{}`) rather than dropped (which would match everything).
 */
export function flattenFilterAttributes(raw: Record<string, unknown>, definitions: AttributeDefinitions = {}): Record<string, unknown> {
  const out = clientMap<unknown>();
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (isPlainObject(value) && Object.keys(value).length > 0 && !ownDefinition(definitions, name)) walk(value, name);
      else out[name] = value;
    }
  };
  walk(raw, '');
  return out;
}

function fail(problems: FieldProblem[]): never {
  const first = problems[0]!;
  throw new ValidationError(`${first.pointer}: ${first.message}`, problems);
}

/**
 * Checks the kind and mixins of an entity: the kind exists and is instantiable, every mixin exists
 * and applies to the kind.
 */
export function checkCategories(lookup: CategoryLookup, kindId: string, mixins: string[], pointer: string, problems: FieldProblem[]): Kind | undefined {
  const kind = lookup.kind(kindId);
  if (!kind) {
    problems.push({ pointer: `${pointer}/kind`, message: `kind "${kindId}" does not exist` });
    return undefined;
  }
  if (kindId === ENTITY_KIND || !kind.location) problems.push({ pointer: `${pointer}/kind`, message: `kind "${kindId}" is abstract and has no instances` });
  // Most entities have no mixins: the lineage's identifiers are built only for those that do.
  const lineage = mixins.length > 0 ? lookup.lineage(kindId).map(categoryId) : [];
  mixins.forEach((mixinId, i) => {
    const mixin = lookup.mixin(mixinId);
    if (!mixin) {
      problems.push({ pointer: `${pointer}/mixins/${i}`, message: `mixin "${mixinId}" does not exist` });
      return;
    }
    if (mixin.applies.length > 0 && !mixin.applies.some((id) => lineage.includes(id))) {
      problems.push({ pointer: `${pointer}/mixins/${i}`, message: `mixin "${mixinId}" does not apply to ${kindId} (it applies to ${mixin.applies.join(', ')})` });
    }
  });
  return kind;
}

/** Where a value came from, spelled out only for a value that has a problem. */
function pointerOf(pointers: AttributePointers, name: string): string {
  return pointers.of(name) ?? `/attributes/${name}`;
}

/** Checks given attribute values against their definitions; `mode` decides the immutability rule. */
function checkValues(
  values: Record<string, unknown>,
  pointers: AttributePointers,
  definitions: AttributeDefinitions,
  problems: FieldProblem[],
  current?: Record<string, AttributeValue>,
): { immutable: FieldProblem[] } {
  const immutable: FieldProblem[] = [];
  // `values` has no prototype: every key is its own.
  for (const name in values) {
    const value = values[name];
    const definition = ownDefinition(definitions, name);
    if (!definition) {
      problems.push({ pointer: pointerOf(pointers, name), message: `attribute "${name}" is not defined by the kind or its mixins` });
      continue;
    }
    if (value === null) {
      if (definition.required) problems.push({ pointer: pointerOf(pointers, name), message: `attribute "${name}" is required and cannot be removed` });
      else if (current && !definition.mutable && name in current) immutable.push({ pointer: pointerOf(pointers, name), message: `attribute "${name}" is immutable` });
      continue;
    }
    const why = checkAttributeValue(value as AttributeValue, definition);
    if (why) problems.push({ pointer: pointerOf(pointers, name), message: `attribute "${name}" ${why}` });
    else if (current && !definition.mutable && JSON.stringify(current[name]) !== JSON.stringify(value)) {
      immutable.push({ pointer: pointerOf(pointers, name), message: `attribute "${name}" is immutable and cannot be changed` });
    }
  }
  return { immutable };
}

/** Every attribute is judged (a creation, a full replacement). */
const EVERY_ATTRIBUTE = (): boolean => true;

/** Applies defaults to missing attributes, then checks that every required one has a value. */
function completeAttributes(
  attributes: Record<string, AttributeValue>,
  definitions: AttributeDefinitions,
  pointer: string,
  problems: FieldProblem[],
  judged: (name: string) => boolean = EVERY_ATTRIBUTE,
): void {
  for (const [name, definition] of completing(definitions)) {
    // A structured default is copied: each entity gets its own, and the definition stays as it is.
    if (attributes[name] === undefined && definition.default !== undefined) attributes[name] = typeof definition.default === 'object' ? structuredClone(definition.default) : definition.default;
    if (attributes[name] === undefined && definition.required && judged(name)) problems.push({ pointer: `${pointer}/attributes`, message: `attribute "${name}" is required` });
  }
}

/** Per definitions map (never changed once built), the definitions completion acts on. */
const completion = new WeakMap<AttributeDefinitions, [string, AttributeDefinition][]>();

/** The definitions with a default or required, listed once per map: a bulk creation completes a thousand entities of one kind. */
function completing(definitions: AttributeDefinitions): [string, AttributeDefinition][] {
  let found = completion.get(definitions);
  if (!found) {
    found = [];
    for (const name in definitions) {
      if (!Object.hasOwn(definitions, name)) continue;
      const definition = definitions[name]!;
      if (definition.default !== undefined || definition.required) found.push([name, definition]);
    }
    completion.set(definitions, found);
  }
  return found;
}

/** The core attributes that stand for an entity's members, and the member each one is. */
const CORE_MEMBERS = [
  ['occi.core.title', 'title'],
  ['occi.core.summary', 'summary'],
  ['occi.core.source', 'source'],
  ['occi.core.target', 'target'],
  ['occi.core.target.kind', 'targetKind'],
  ['occi.core.source.kind', 'sourceKind'],
] as const;

/**
 * Moves core attributes given inside `attributes` (rOCCI-core and the text renderings put them
 * there; `/-/` lists them on entity, resource and link) into the entity's members, flat
 * (`occi.core.title`) or nested as pyOCNI writes (`{"occi": {"core": {"title": …}}}`). A member
 * given both ways with different values is refused. `occi.core.id` is compared with `id`.
 *
 * @returns the input without core attributes, and the id the attributes named (if any)
 */
export function liftCoreAttributes(input: EntityInput, id: string | undefined, pointer: string, problems: FieldProblem[]): { input: EntityInput; id?: string } {
  const raw = input.attributes;
  if (!raw) return id === undefined ? { input } : { input, id };
  let flat = false;
  // A loop, not Object.keys(): this runs for every item of a bulk creation, twice.
  for (const name in raw) {
    if (Object.hasOwn(raw, name) && name.startsWith('occi.core.')) {
      flat = true;
      break;
    }
  }
  const occi = raw.occi;
  const nested = isPlainObject(occi) && isPlainObject(occi.core);
  // Most requests carry none: look before copying.
  if (!flat && !nested) return id === undefined ? { input } : { input, id };
  const attributes = clientMap<unknown>();
  Object.assign(attributes, raw);
  const found = clientMap<{ value: unknown; at: string }>();
  for (const name of Object.keys(raw)) {
    if (!name.startsWith('occi.core.')) continue;
    found[name] = { value: raw[name], at: `${pointer}/attributes/${name}` };
    delete attributes[name];
  }
  if (nested) {
    const core = { ...(occi.core as Record<string, unknown>) };
    const rest = { ...occi };
    delete rest.core;
    for (const [key, value] of Object.entries(core)) {
      // `source.kind` nests one level further in pyOCNI's shape.
      if (isPlainObject(value) && (key === 'source' || key === 'target') && 'kind' in value) found[`occi.core.${key}.kind`] = { value: value.kind, at: `${pointer}/attributes/occi/core/${key}/kind` };
      else found[`occi.core.${key}`] = { value, at: `${pointer}/attributes/occi/core/${key}` };
    }
    if (Object.keys(rest).length > 0) attributes.occi = rest;
    else delete attributes.occi;
  }
  const out: EntityInput = { ...input, attributes };
  for (const [name, member] of CORE_MEMBERS) {
    const given = found[name];
    if (!given) continue;
    delete found[name];
    if (given.value === null || given.value === undefined) continue;
    if (typeof given.value !== 'string') {
      problems.push({ pointer: given.at, message: `"${name}" must be a string` });
      continue;
    }
    const top = out[member];
    if (typeof top === 'string' && top !== given.value) problems.push({ pointer: given.at, message: `"${name}" is "${given.value}" but ${member} says "${top}"; give one value` });
    else out[member] = given.value;
  }
  let outId = id;
  const idGiven = found['occi.core.id'];
  if (idGiven) {
    delete found['occi.core.id'];
    if (typeof idGiven.value !== 'string') problems.push({ pointer: idGiven.at, message: '"occi.core.id" must be a string' });
    else if (id !== undefined && id !== idGiven.value) problems.push({ pointer: idGiven.at, message: `"occi.core.id" is "${idGiven.value}" but id says "${id}"; give one value` });
    else outId = idGiven.value;
  }
  for (const [name, { at }] of Object.entries(found))
    problems.push({ pointer: at, message: `"${name}" is no core attribute of OCCI (known: occi.core.id, ${CORE_MEMBERS.map(([n]) => n).join(', ')})` });
  return outId === undefined ? { input: out } : { input: out, id: outId };
}

/** Moves core attributes given as attributes (text renderings) into the entity's members. */
function liftCore(values: Record<string, unknown>, input: EntityInput): void {
  // Most requests carry none: look before touching (deleting keys is the costly part).
  if (!CORE_ATTRIBUTES.some((name) => name in values)) return;
  const take = (name: string) => {
    const value = values[name];
    delete values[name];
    return typeof value === 'string' ? value : undefined;
  };
  input.title ??= take('occi.core.title');
  input.summary ??= take('occi.core.summary');
  input.source ??= take('occi.core.source');
  input.target ??= take('occi.core.target');
  input.targetKind ??= take('occi.core.target.kind');
  input.sourceKind ??= take('occi.core.source.kind');
  delete values['occi.core.id'];
}

/**
 * Builds a new entity at `location` from client input.
 *
 * @throws ValidationError listing every problem with its pointer
 */
export function buildEntity(lookup: CategoryLookup, location: string, input: EntityInput, pointer: string): Entity {
  const problems: FieldProblem[] = [];
  const mixins = input.mixins === undefined || input.mixins.length === 0 ? [] : [...new Set(input.mixins)];
  if (!input.kind) fail([{ pointer: `${pointer}/kind`, message: 'is required' }]);
  const kind = checkCategories(lookup, input.kind, mixins, pointer, problems);
  if (!kind) fail(problems);
  const definitions = lookup.definitions?.(input.kind, mixins) ?? definitionsFor(lookup, input.kind, mixins);
  const { values, pointers } = flattenAttributes(input.attributes ?? {}, definitions, `${pointer}/attributes`);
  liftCore(values, input);
  if (input.textual) readTextValues(values, definitions);
  // Server-managed state is never taken from the client: the kind's initial state applies.
  for (const name of SERVER_STATE_ATTRIBUTES) delete values[name];
  checkValues(values, pointers, definitions, problems);
  const attributes = clientMap<AttributeValue>();
  for (const name in values) if (values[name] !== null) attributes[name] = values[name] as AttributeValue;
  completeAttributes(attributes, definitions, pointer, problems);
  const isLink = isLinkKind(lookup, input.kind);
  if (isLink) {
    if (!input.source) problems.push({ pointer: `${pointer}/source`, message: 'a link needs a source' });
    if (!input.target) problems.push({ pointer: `${pointer}/target`, message: 'a link needs a target' });
  }
  if (problems.length > 0) fail(problems);
  const entity: Entity = { location, kind: input.kind, mixins, attributes };
  if (typeof input.title === 'string') entity.title = input.title;
  if (typeof input.summary === 'string' && !isLink) entity.summary = input.summary;
  if (isLink) {
    entity.source = input.source!;
    entity.target = input.target!;
    if (input.targetKind) entity.targetKind = input.targetKind;
    if (input.sourceKind) entity.sourceKind = input.sourceKind;
  }
  return entity;
}

/** True when the entity's kind is a link kind. */
export function isLinkKind(lookup: CategoryLookup, kindId: string): boolean {
  return lookup.lineage(kindId).some((k) => hasId(k, LINK_KIND));
}

/**
 * What partial and full updates check alike: the kind stays, the mixins exist and apply, the given
 * attributes are defined and valid, and immutable ones keep their values (403 otherwise).
 */
function checkedChange(lookup: CategoryLookup, current: Entity, input: EntityInput, mixins: string[], pointer: string) {
  if (input.kind !== undefined && input.kind !== current.kind) fail([{ pointer: `${pointer}/kind`, message: `the kind of an entity cannot change (it is ${current.kind})` }]);
  const problems: FieldProblem[] = [];
  checkCategories(lookup, current.kind, mixins, pointer, problems);
  const definitions = definitionsFor(lookup, current.kind, mixins);
  const { values, pointers } = flattenAttributes(input.attributes ?? {}, definitions, `${pointer}/attributes`);
  liftCore(values, input);
  if (input.textual) readTextValues(values, definitions);
  const { immutable } = checkValues(values, pointers, definitions, problems, current.attributes);
  if (problems.length > 0) fail(problems);
  if (immutable.length > 0) throw new ForbiddenError(`${immutable[0]!.pointer}: ${immutable[0]!.message}`);
  return { definitions, values, problems };
}

/**
 * A partial update (POST to an entity): given attributes replace, `null` removes, given mixins are
 * added, title and summary replace. Immutable attributes may not change (403).
 *
 * @throws ValidationError (400), ForbiddenError (403)
 */
export function applyPartialUpdate(lookup: CategoryLookup, current: Entity, input: EntityInput, pointer: string): Entity {
  const mixins = [...new Set([...current.mixins, ...(input.mixins ?? [])])];
  const { definitions, values, problems } = checkedChange(lookup, current, input, mixins, pointer);
  const attributes = { ...current.attributes };
  for (const [name, value] of Object.entries(values)) {
    if (value === null) delete attributes[name];
    else attributes[name] = value as AttributeValue;
  }
  // Ratcheting: a partial update is judged for what it changes. A required attribute the entity
  // lacked before (a kind changed under ?entities=keep) does not block it; one that a mixin it adds
  // brings, or one the update removes (null, refused above), does.
  const had = definitionsFor(lookup, current.kind, current.mixins);
  completeAttributes(attributes, definitions, pointer, problems, (name) => !ownDefinition(had, name) || current.attributes[name] !== undefined);
  if (problems.length > 0) fail(problems);
  const next: Entity = { ...current, mixins, attributes };
  if (input.title === null) delete next.title;
  else if (input.title !== undefined) next.title = input.title;
  if (input.summary === null) delete next.summary;
  else if (input.summary !== undefined) next.summary = input.summary;
  if (input.source !== undefined) next.source = input.source;
  if (input.target !== undefined) next.target = input.target;
  // A moved end's kind is the new end's (or none, for an external end given without one).
  if (input.target !== undefined && input.target !== current.target) delete next.targetKind;
  if (input.sourceKind !== undefined) next.sourceKind = input.sourceKind;
  if (input.targetKind !== undefined) next.targetKind = input.targetKind;
  return next;
}

/**
 * A full replacement (PUT on an existing entity): the kind stays, mixins and attributes are replaced,
 * immutable attributes keep their values, defaults apply again. Links are not touched.
 *
 * @throws ValidationError (400), ForbiddenError (403)
 */
export function applyReplace(lookup: CategoryLookup, current: Entity, input: EntityInput, pointer: string): Entity {
  const mixins = [...new Set(input.mixins ?? [])];
  const { definitions, values, problems } = checkedChange(lookup, current, input, mixins, pointer);
  const attributes: Record<string, AttributeValue> = {};
  // What the client may not change survives a replacement it did not mention.
  for (const [name, definition] of Object.entries(definitions)) {
    if (!definition.mutable && current.attributes[name] !== undefined) attributes[name] = current.attributes[name];
  }
  for (const [name, value] of Object.entries(values)) if (value !== null) attributes[name] = value as AttributeValue;
  completeAttributes(attributes, definitions, pointer, problems);
  if (problems.length > 0) fail(problems);
  const next: Entity = { location: current.location, kind: current.kind, mixins, attributes };
  if (current.rev) next.rev = current.rev;
  // A full update leaves links alone (OCCI 1.1 §3.4.2), and what only the server keeps stays.
  if (current.linkLocations) next.linkLocations = current.linkLocations;
  if (current.owner !== undefined) next.owner = current.owner;
  if (current.ref !== undefined) next.ref = current.ref;
  if (typeof input.title === 'string') next.title = input.title;
  if (typeof input.summary === 'string') next.summary = input.summary;
  if (current.source !== undefined) next.source = input.source ?? current.source;
  if (current.target !== undefined) next.target = input.target ?? current.target;
  const targetMoved = input.target !== undefined && input.target !== current.target;
  if (input.targetKind) next.targetKind = input.targetKind;
  else if (current.targetKind !== undefined && !targetMoved) next.targetKind = current.targetKind;
  if (current.sourceKind !== undefined || input.sourceKind) next.sourceKind = input.sourceKind ?? current.sourceKind!;
  return next;
}

/** Every action the entity's kind (and parents) and mixins define, in order, without duplicates. */
export function definedActions(lookup: CategoryLookup, entity: Pick<Entity, 'kind' | 'mixins'>): string[] {
  const ids = new Set<string>();
  for (const kind of lookup.lineage(entity.kind)) for (const id of kind.actions) ids.add(id);
  for (const mixinId of entity.mixins) for (const mixin of lookup.mixinClosure(mixinId)) for (const id of mixin.actions) ids.add(id);
  return [...ids];
}

/** The actions that apply now: defined for the entity, and allowed by its state machine. */
export function applicableActions(lookup: CategoryLookup, entity: Entity): string[] {
  return (lookup.definedActions?.(entity) ?? definedActions(lookup, entity)).filter((id) => {
    if (entity.allowedActions !== undefined && !entity.allowedActions.includes(id)) return false;
    const transition = TRANSITIONS.get(id);
    if (!transition) return true;
    const state = entity.attributes[transition.attribute];
    return state === undefined || transition.from.includes(attributeText(state));
  });
}

/** An action invocation in model terms. */
export interface ActionInvocation {
  /** The action identifier, if the body named it. */
  action?: string;
  /** The `?action=` term from the query string. */
  term?: string;
  parameters: Record<string, unknown>;
  /** Parameters came as strings (an HTML form, a text rendering's quoted values): read numbers and booleans by their definitions. */
  fromForm?: boolean;
}

/** A decimal number written out exactly (no spaces, no hex, no `Infinity`). */
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A form's or text rendering's string value as its definition's type, when it is exactly one:
 * `"1"` for a number, `"true"`/`"false"` for a boolean. Anything else stays a string (and its
 * check then says what is wrong).
 */
export function fromFormValue(value: unknown, definition: AttributeDefinition | undefined): unknown {
  if (typeof value !== 'string' || !definition) return value;
  if (definition.type === 'number' && DECIMAL.test(value) && Number.isFinite(Number(value))) return Number(value);
  if (definition.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** Reads a text rendering's quoted numbers and booleans by their definitions, in place. */
function readTextValues(values: Record<string, unknown>, definitions: AttributeDefinitions): void {
  for (const [name, value] of Object.entries(values)) values[name] = fromFormValue(value, ownDefinition(definitions, name));
}

/**
 * Resolves and checks an action invocation against an entity's defined actions: the action
 * exists and is defined for it, its parameters are valid (defaults applied).
 *
 * @throws ValidationError (400) for an unknown action or bad parameters; ConflictError is not used:
 * an ambiguous bare term is refused with 400 asking for the full identifier
 */
export function resolveAction(lookup: CategoryLookup, entity: Pick<Entity, 'kind' | 'mixins'>, invocation: ActionInvocation): { action: Action; parameters: Record<string, AttributeValue> } {
  const defined = definedActions(lookup, entity);
  let actionId = invocation.action;
  if (actionId && invocation.term && !actionId.endsWith(`#${invocation.term}`)) {
    fail([{ pointer: '/action', message: `the body names ${actionId} but the query string says ?action=${invocation.term}` }]);
  }
  if (!actionId) {
    const matches = defined.filter((id) => id.endsWith(`#${invocation.term ?? ''}`));
    if (matches.length === 0) fail([{ pointer: '?action', message: `no action "${invocation.term ?? ''}" is defined for ${entity.kind}` }]);
    if (matches.length > 1) fail([{ pointer: '?action', message: `"${invocation.term ?? ''}" is ambiguous (${matches.join(', ')}); name the action in the body` }]);
    actionId = matches[0]!;
  }
  const action = lookup.action(actionId);
  if (!action) fail([{ pointer: '/action', message: `action "${actionId}" does not exist` }]);
  if (!defined.includes(actionId)) fail([{ pointer: '/action', message: `action "${actionId}" is not defined for ${entity.kind} or its mixins` }]);
  const problems: FieldProblem[] = [];
  const { values, pointers } = flattenAttributes(invocation.parameters, action.attributes, '/attributes');
  const parameters: Record<string, AttributeValue> = {};
  for (const [name, given] of Object.entries(values)) {
    const definition = ownDefinition(action.attributes, name);
    const value = invocation.fromForm ? fromFormValue(given, definition) : given;
    if (!definition) {
      problems.push({ pointer: pointers.of(name)!, message: `"${name}" is not a parameter of ${actionId}` });
      continue;
    }
    const why = checkAttributeValue(value as AttributeValue, definition);
    if (why) problems.push({ pointer: pointers.of(name)!, message: `parameter "${name}" ${why}` });
    else parameters[name] = value as AttributeValue;
  }
  completeAttributes(parameters, action.attributes, '', problems);
  if (problems.length > 0) fail(problems);
  return { action, parameters };
}

/**
 * The local effect of an action: the state machine's transition (400 when the action does not
 * apply in the current state) and any attribute it sets.
 *
 * @throws ValidationError when the entity's state does not allow the action
 */
export function applyActionLocally(entity: Entity, actionId: string, parameters: Record<string, AttributeValue>): Entity {
  const transition = TRANSITIONS.get(actionId);
  const attributes = { ...entity.attributes };
  if (transition) {
    const state = attributes[transition.attribute];
    if (state !== undefined && !transition.from.includes(attributeText(state))) {
      fail([{ pointer: '/action', message: `${actionId} does not apply to ${entity.location} in state "${attributeText(state)}" (it applies in: ${transition.from.join(', ')})` }]);
    }
    attributes[transition.attribute] = transition.to;
  }
  Object.assign(attributes, actionEffects(actionId, parameters));
  return { ...entity, attributes };
}
