/**
 * @module The OCCI text structures of the model, for both text renderings: categories, entities and
 * collections become `Category`, `Link`, `X-OCCI-Attribute` and `X-OCCI-Location` lines, and request
 * lines become the same request shapes the JSON module produces. `text/plain` puts the lines in the
 * body, `text/occi` in headers; neither knows more than that.
 */
import type { AttributeValue as ModelValue, Category } from '../model/category.ts';
import { applicableActions, idOf, type Entity, type EntityPattern } from '../model/entity.ts';
import { ParseError } from '../errors.ts';
import {
  parseAttributeLine,
  parseCategoryLine,
  parseCategoryReference,
  parseLinkLine,
  parseLocationLine,
  renderAttributeLine,
  renderCategoryLine,
  renderLinkLine,
  renderLocationLine,
  TextParseError,
  type AttributeValue,
  type CategoryLine,
  type HeaderLine,
  type TextBodyLine,
} from './header-lines.ts';
import type { EntityItem } from './occi-json/entities.ts';
import type { ProblemView, RenderContext } from './renderer.ts';

/** The text rendering of a category (1.2: a mixin's `rel` is its first `depends`). */
export function categoryLine(category: Category): CategoryLine {
  const line: CategoryLine = { term: category.term, scheme: category.scheme, class: category.class };
  if (category.title !== undefined) line.title = category.title;
  if (category.class === 'kind' && category.parent) line.rel = [category.parent];
  if (category.class === 'mixin' && category.depends.length > 0) line.rel = [category.depends[0]!];
  if (category.class !== 'action' && category.location) line.location = category.location;
  const attributes = Object.entries(category.attributes).map(([name, d]) => ({ name, required: d.required, immutable: !d.mutable }));
  if (attributes.length > 0) line.attributes = attributes;
  if (category.class !== 'action' && category.actions.length > 0) line.actions = category.actions;
  return line;
}

/** The `Category` lines of a category collection. */
export function categoryLines(categories: Category[]): HeaderLine[] {
  return categories.map((c) => ({ name: 'Category', value: renderCategoryLine(categoryLine(c)) }));
}

/** Attribute values the text ABNF cannot carry (arrays, objects, null) travel as JSON text. */
function scalar(value: ModelValue): AttributeValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value);
}

function shortCategory(ctx: RenderContext, id: string, cls: 'kind' | 'mixin'): HeaderLine {
  const found = ctx.lookup[cls](id);
  const hash = id.indexOf('#');
  const line: CategoryLine = { term: id.slice(hash + 1), scheme: id.slice(0, hash + 1), class: cls };
  if (found?.title) line.title = found.title;
  if (found?.location) line.location = found.location;
  return { name: 'Category', value: renderCategoryLine(line) };
}

function attributeLines(entity: Entity): HeaderLine[] {
  const core: [string, AttributeValue | undefined][] = [
    ['occi.core.id', idOf(entity.location)],
    ['occi.core.title', entity.title],
    ['occi.core.summary', entity.summary],
    ['occi.core.source', entity.source],
    ['occi.core.target', entity.target],
    ['occi.core.target.kind', entity.targetKind],
    ['occi.core.source.kind', entity.sourceKind],
  ];
  const lines = core.filter(([, v]) => v !== undefined).map(([name, value]) => ({ name: 'X-OCCI-Attribute', value: renderAttributeLine(name, value!) }));
  for (const [name, value] of Object.entries(entity.attributes)) lines.push({ name: 'X-OCCI-Attribute', value: renderAttributeLine(name, scalar(value)) });
  return lines;
}

/** The lines of one entity: its kind and mixins, its links and action links, its attributes (GFD.229 §5). */
export function entityLines(entity: Entity, links: Entity[], ctx: RenderContext): HeaderLine[] {
  const lines: HeaderLine[] = [shortCategory(ctx, entity.kind, 'kind'), ...entity.mixins.map((m) => shortCategory(ctx, m, 'mixin'))];
  for (const link of links) {
    const attributes: Record<string, AttributeValue> = { 'occi.core.id': idOf(link.location) };
    if (link.title !== undefined) attributes['occi.core.title'] = link.title;
    for (const [name, value] of Object.entries(link.attributes)) attributes[name] = scalar(value);
    lines.push({
      name: 'Link',
      value: renderLinkLine({ target: link.target!, rel: [link.targetKind ?? 'http://schemas.ogf.org/occi/core#resource'], self: link.location, category: [link.kind, ...link.mixins], attributes }),
    });
  }
  for (const actionId of applicableActions(ctx.lookup, entity)) {
    lines.push({ name: 'Link', value: renderLinkLine({ target: `${entity.location}?action=${actionId.slice(actionId.indexOf('#') + 1)}`, rel: [actionId], attributes: {} }) });
  }
  return [...lines, ...attributeLines(entity)];
}

/** A problem as text: `<status> <title>: <detail>`, then one `<pointer>: <detail>` line per field. */
export function problemText(problem: ProblemView): string {
  return [`${problem.status} ${problem.title}: ${problem.detail}`, ...(problem.errors ?? []).map((e) => `${e.pointer}: ${e.detail}`)].join('\n') + '\n';
}

/** Absolute `X-OCCI-Location` lines of a listing. */
export function locationLines(entities: Entity[], ctx: RenderContext): HeaderLine[] {
  return entities.map((e) => ({ name: 'X-OCCI-Location', value: renderLocationLine(ctx.baseUrl + e.location) }));
}

// ---------------------------------------------------------------------------------------------
// Requests

function parseError(err: unknown): never {
  if (err instanceof TextParseError) throw new ParseError(`text rendering, line ${err.line}: ${err.message}`, [{ pointer: `line ${err.line}`, message: err.message }]);
  throw err;
}

/** Reads request lines with the codec, turning its syntax errors into 400s with the line. */
function each<T>(lines: TextBodyLine[], name: string, read: (value: string, line: number) => T): T[] {
  try {
    return lines.filter((l) => l.name === name).map((l) => read(l.value, l.line));
  } catch (err) {
    return parseError(err);
  }
}

/** The categories of a text request (`POST /-/`, `DELETE /-/`) as the JSON body the category manager reads. */
export function categoriesFromLines(lines: TextBodyLine[]): Record<string, unknown> {
  const categories = each(lines, 'Category', (value, line) => parseCategoryLine(value, { line }));
  const body: Record<string, Record<string, unknown>[]> = {};
  for (const c of categories) {
    const key = `${c.class}s`;
    const out: Record<string, unknown> = { term: c.term, scheme: c.scheme };
    if (c.title !== undefined) out.title = c.title;
    if (c.location !== undefined) out.location = c.location;
    if (c.rel && c.rel.length > 0) out[c.class === 'kind' ? 'parent' : 'depends'] = c.class === 'kind' ? c.rel[0] : c.rel;
    if (c.actions && c.class !== 'action') out.actions = c.actions;
    if (c.attributes) out.attributes = Object.fromEntries(c.attributes.map((a) => [a.name, { type: 'string', mutable: !a.immutable, required: a.required }]));
    (body[key] ??= []).push(out);
  }
  return body;
}

/** The category identifiers named by `Category` lines (filters and deletions). */
export function categoryIdsFromLines(lines: TextBodyLine[]): { id: string; class: CategoryLine['class'] }[] {
  return each(lines, 'Category', (value, line) => parseCategoryLine(value, { line })).map((c) => ({ id: c.scheme + c.term, class: c.class }));
}

/**
 * The categories a `Category` filter on `/-/` names. A line without `class` (a common client slip:
 * GFD.185 requires it) is read leniently: it names the category of any class.
 */
export function categoryFilterFromLines(lines: TextBodyLine[]): { id: string; class?: CategoryLine['class'] }[] {
  return each(lines, 'Category', (value, line) => {
    try {
      const c = parseCategoryLine(value, { line });
      return { id: c.scheme + c.term, class: c.class };
    } catch (err) {
      if (!(err instanceof TextParseError) || !/missing class/.test(err.message)) throw err;
      const c = parseCategoryLine(`${value}; class="kind"`, { line });
      return { id: c.scheme + c.term };
    }
  });
}

/** Flat attributes of `X-OCCI-Attribute` lines. */
function attributesFromLines(lines: TextBodyLine[]): Record<string, ModelValue> {
  // Names are the client's: a null-prototype object keeps `__proto__` an ordinary name.
  const out = Object.create(null) as Record<string, ModelValue>;
  for (const { name, value } of each(lines, 'X-OCCI-Attribute', (value, line) => parseAttributeLine(value, { line }))) out[name] = value;
  return out;
}

/** What class the registry gives a category id (for `Category` lines that leave it out). */
export type ClassOf = (id: string) => CategoryLine['class'] | undefined;

/**
 * One entity from a text request: the kind and mixins from `Category` lines, attributes from
 * `X-OCCI-Attribute` lines (core attributes included), inline links from `Link` lines. The lines
 * are read leniently, as snf-occi's users write them (see `parseCategoryReference`): a line
 * without `class` gets the class `classOf` knows, else it is taken for a mixin (so an unknown
 * one is reported as a mixin that does not exist).
 */
export function entityFromLines(lines: TextBodyLine[], classOf: ClassOf = () => undefined): EntityItem {
  const categories = each(lines, 'Category', (value, line) => parseCategoryReference(value, { line })).map((c) => ({ ...c, class: c.class ?? classOf(c.scheme + c.term) ?? 'mixin' }));
  const kinds = categories.filter((c) => c.class === 'kind');
  if (kinds.length > 1) throw new ParseError('an entity has exactly one kind; the request names several', [{ pointer: 'Category', message: 'more than one kind' }]);
  const attributes = attributesFromLines(lines);
  const item: EntityItem = { input: { attributes, textual: true }, links: [], pointer: '' };
  if (kinds[0]) item.input.kind = kinds[0].scheme + kinds[0].term;
  item.input.mixins = categories.filter((c) => c.class === 'mixin').map((c) => c.scheme + c.term);
  if (typeof attributes['occi.core.id'] === 'string') item.id = attributes['occi.core.id'];
  delete attributes['occi.core.id'];
  // Action links (`<…?action=term>`) describe what applies; like JSON's `actions`, they are not input.
  const links = each(lines, 'Link', (value, line) => parseLinkLine(value, { line })).filter((link) => !/[?&]action=/.test(link.target));
  links.forEach((link, i) => {
    const linkAttributes: Record<string, ModelValue> = { ...link.attributes };
    const id = linkAttributes['occi.core.id'];
    delete linkAttributes['occi.core.id'];
    const linked: EntityItem = {
      input: { kind: link.category?.[0] ?? '', mixins: link.category?.slice(1) ?? [], attributes: linkAttributes, target: link.target, textual: true },
      links: [],
      pointer: `Link ${i + 1}`,
    };
    if (link.self) linked.self = link.self;
    if (link.rel[0]) linked.input.targetKind = link.rel[0];
    if (typeof id === 'string') linked.id = id;
    item.links.push(linked);
  });
  return item;
}

/** An action invocation from text: the action `Category` line and `X-OCCI-Attribute` parameters. */
export function actionFromLines(lines: TextBodyLine[]): { action?: string; parameters: Record<string, unknown> } {
  const action = categoryIdsFromLines(lines).find((c) => c.class === 'action');
  const out: { action?: string; parameters: Record<string, unknown> } = { parameters: attributesFromLines(lines) };
  if (action) out.action = action.id;
  return out;
}

/** `X-OCCI-Location` lines (mixin membership). */
export function locationsFromLines(lines: TextBodyLine[]): string[] {
  return each(lines, 'X-OCCI-Location', (value, line) => parseLocationLine(value, { line }));
}

/** A filter from `Category` and `X-OCCI-Attribute` lines (GFD.185 §3.4.3 filtering). */
export function entityFilterFromLines(lines: TextBodyLine[]): EntityPattern[] {
  const categories = categoryIdsFromLines(lines);
  const attributes = attributesFromLines(lines);
  if (categories.length === 0 && Object.keys(attributes).length === 0) return [];
  const pattern: EntityPattern = {};
  const kind = categories.find((c) => c.class === 'kind');
  if (kind) pattern.kind = kind.id;
  const mixins = categories.filter((c) => c.class === 'mixin').map((c) => c.id);
  if (mixins.length > 0) pattern.mixins = mixins;
  if (Object.keys(attributes).length > 0) pattern.attributes = attributes;
  return [pattern];
}
