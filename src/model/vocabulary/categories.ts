/**
 * @module The category vocabulary of application/occi+json (shared by the JSON renderer and the registry): reading OCCI 1.2 and pyOCNI descriptions into the
 * model, and rendering the model as OCCI 1.2 (GFD.226) kinds, mixins and actions.
 */
import type { Action, Category, CategoryClass, CategoryPattern, Kind, Mixin, Provider } from '../category.ts';
import { toPath } from '../location.ts';
import { ValidationError, type FieldProblem } from '../../errors.ts';
import { parseAttributeDefinitions, parsePartialAttributeDefinitions, renderAttributeDefinitions } from './attribute-definitions.ts';

type Json = { [key: string]: unknown };

/** A category read from a request, with the JSON pointer it came from. */
export interface ParsedCategory<C extends Category = Category> {
  category: C;
  pointer: string;
  /** The members the request gave, for partial updates (PUT /-/ replaces only these). */
  given: Set<string>;
}

/** The categories of one request body, by class. */
export interface ParsedCategories {
  kinds: ParsedCategory<Kind>[];
  mixins: ParsedCategory<Mixin>[];
  actions: ParsedCategory<Action>[];
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function location(raw: Json, pointer: string, problems: FieldProblem[]): string | undefined {
  if (typeof raw.location !== 'string') return undefined;
  const result = toPath(raw.location);
  if ('error' in result) {
    problems.push({ pointer: `${pointer}/location`, message: result.error });
    return undefined;
  }
  if (!result.path.endsWith('/')) {
    problems.push({ pointer: `${pointer}/location`, message: `a location must end in '/' (got "${raw.location}")` });
    return undefined;
  }
  return result.path;
}

/** Reads one category of the given class from a schema-valid description. */
export function parseCategory(raw: Json, cls: CategoryClass, pointer: string, problems: FieldProblem[]): ParsedCategory {
  const base = {
    scheme: String(raw.scheme),
    term: String(raw.term),
    ...(typeof raw.title === 'string' ? { title: raw.title } : {}),
    attributes: parseAttributeDefinitions(raw.attributes, `${pointer}/attributes`, problems),
  };
  const given = new Set(Object.keys(raw));
  if (cls === 'kind') {
    // pyOCNI's `related` names the parent kind; OCCI 1.2 says `parent`.
    const parent = typeof raw.parent === 'string' ? raw.parent : strings(raw.related)[0];
    if (given.has('related')) given.add('parent');
    const kind: Kind = { class: 'kind', ...base, actions: strings(raw.actions) };
    if (parent) kind.parent = parent;
    const loc = location(raw, pointer, problems);
    if (loc) kind.location = loc;
    if (raw.provider) kind.provider = raw.provider as Provider;
    return { category: kind, pointer, given };
  }
  if (cls === 'mixin') {
    // pyOCNI's `related` on a mixin is OCCI 1.2's `depends`.
    if (given.has('related')) given.add('depends');
    const mixin: Mixin = {
      class: 'mixin',
      ...base,
      depends: [...new Set([...strings(raw.depends), ...strings(raw.related)])],
      applies: strings(raw.applies),
      actions: strings(raw.actions),
      location: location(raw, pointer, problems) ?? '',
    };
    return { category: mixin, pointer, given };
  }
  return { category: { class: 'action', ...base }, pointer, given };
}

/**
 * Reads a schema-valid category collection (`{"kinds", "mixins", "actions"}`) into the model.
 *
 * @throws ValidationError listing every problem with its pointer
 */
export function parseCategoryCollection(body: Json): ParsedCategories {
  const problems: FieldProblem[] = [];
  const read = <C extends Category>(key: 'kinds' | 'mixins' | 'actions', cls: CategoryClass) =>
    (Array.isArray(body[key]) ? (body[key] as Json[]) : []).map((raw, i) => parseCategory(raw, cls, `/${key}/${i}`, problems) as ParsedCategory<C>);
  const parsed: ParsedCategories = { kinds: read<Kind>('kinds', 'kind'), mixins: read<Mixin>('mixins', 'mixin'), actions: read<Action>('actions', 'action') };
  if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer} ${problems[0]!.message}`, problems);
  return parsed;
}

/**
 * How to render categories. `extended` (the `ocni` and `pyocni` profiles) adds what GFD.226 has no
 * member for: kinds' providers (shown when `provider` is given, i.e. to operators) and array or
 * object attribute defaults. Without it every document validates against GFD.226's appendix schema.
 */
export interface CategoryRenderOptions {
  provider?: (kindId: string) => Provider;
  extended?: boolean;
  /** With `extended`: the path of a kind's or mixin's JSON Schema, to link it from the rendering. */
  schemaUrl?: (categoryId: string) => string;
}

/** Renders one category as OCCI 1.2 JSON. */
export function renderCategory(category: Category, options: CategoryRenderOptions = {}): Json {
  const out: Json = { term: category.term, scheme: category.scheme };
  if (category.title !== undefined) out.title = category.title;
  if (options.extended && category.generation !== undefined) out.generation = category.generation;
  if (Object.keys(category.attributes).length > 0) out.attributes = renderAttributeDefinitions(category.attributes, options.extended === true);
  if (category.class === 'kind') {
    if (category.parent) out.parent = category.parent;
    if (category.actions.length > 0) out.actions = category.actions;
    if (category.location) out.location = category.location;
    if (options.extended && options.provider && category.location) out.provider = options.provider(category.scheme + category.term);
    if (options.extended && options.schemaUrl && category.location) out.schema = options.schemaUrl(category.scheme + category.term);
  } else if (category.class === 'mixin') {
    if (category.depends.length > 0) out.depends = category.depends;
    if (category.applies.length > 0) out.applies = category.applies;
    if (category.actions.length > 0) out.actions = category.actions;
    out.location = category.location;
    if (options.extended && options.schemaUrl) out.schema = options.schemaUrl(category.scheme + category.term);
  }
  return out;
}

/** Renders categories as the OCCI 1.2 query-interface collection (all three keys always present). */
export function renderCategoryCollection(categories: Category[], options: CategoryRenderOptions = {}): Json {
  const pick = (cls: CategoryClass) => categories.filter((c) => c.class === cls).map((c) => renderCategory(c, options));
  return { kinds: pick('kind'), mixins: pick('mixin'), actions: pick('action') };
}

/**
 * Reads a schema-valid filter body (`GET /-/` with pyOCNI's `filter_categories.json`) into
 * per-class partial descriptions; attribute definitions in either vocabulary.
 */
export function parseCategoryFilter(body: Json): Partial<Record<CategoryClass, CategoryPattern[]>> {
  const problems: FieldProblem[] = [];
  const out: Partial<Record<CategoryClass, CategoryPattern[]>> = {};
  const classes = [
    ['kinds', 'kind'],
    ['mixins', 'mixin'],
    ['actions', 'action'],
  ] as const;
  for (const [key, cls] of classes) {
    if (!Array.isArray(body[key])) continue;
    out[cls] = (body[key] as Json[]).map((raw, i) => {
      const pattern: CategoryPattern = {};
      for (const member of ['term', 'scheme', 'title', 'location'] as const) if (typeof raw[member] === 'string') pattern[member] = raw[member];
      if (typeof raw.location === 'string') {
        const path = toPath(raw.location);
        if ('path' in path) pattern.location = path.path;
      }
      const parent = typeof raw.parent === 'string' ? raw.parent : cls === 'kind' ? strings(raw.related)[0] : undefined;
      if (parent) pattern.parent = parent;
      const depends = [...strings(raw.depends), ...(cls === 'mixin' ? strings(raw.related) : [])];
      if (depends.length > 0) pattern.depends = depends;
      if (raw.applies !== undefined) pattern.applies = strings(raw.applies);
      if (raw.actions !== undefined) pattern.actions = strings(raw.actions);
      if (raw.attributes !== undefined) pattern.attributes = parsePartialAttributeDefinitions(raw.attributes, `/${key}/${i}/attributes`, problems);
      return pattern;
    });
  }
  if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer} ${problems[0]!.message}`, problems);
  return out;
}
