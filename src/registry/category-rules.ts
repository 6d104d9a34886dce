/**
 * @module The rules every category change must keep (DESIGN §4), checked against the registry and
 * the rest of the same request before anything is written. Pure: findings come back as problems.
 */
import { categoryId, LINK_KIND, RESOURCE_KIND, type AttributeDefinitions, type Category, type Kind } from '../model/category.ts';
import { checkAttributeValue } from '../model/attribute.ts';
import { DEFAULT_PATTERN_LIMITS, patternProblems, type PatternLimits } from '../model/value-schema.ts';
import { isReservedPath } from '../model/location.ts';
import type { FieldProblem } from '../errors.ts';
import type { CategoryRegistry } from './registry.ts';

/** Bounds on what one category may hold, so a definition cannot make the store or a check grow unbounded. */
export interface DefinitionLimits {
  /** Largest category, as JSON text. */
  categoryBytes: number;
  /** Largest attribute default, as JSON text: the same limit as a value sent in a request. */
  valueBytes: number;
  /** Longest chain of parents (kinds) or of depends (mixins), counting the category itself. */
  depth: number;
  pattern: PatternLimits;
}

/** Defaults of {@link DefinitionLimits}, the values of `config/default.json`. */
export const DEFAULT_DEFINITION_LIMITS: DefinitionLimits = { categoryBytes: 131072, valueBytes: 65536, depth: 32, pattern: DEFAULT_PATTERN_LIMITS };

/** Problems found, split by the status family they call for. */
export interface RuleFindings {
  /** Bad references, malformed definitions: 400. */
  invalid: FieldProblem[];
  /** Duplicate identifiers or locations: 409. */
  conflicts: FieldProblem[];
}

/** A view of the categories as they would be after the change: staged ones win over the registry's. */
export class StagedCategories {
  readonly #staged = new Map<string, Category>();
  readonly #removed = new Set<string>();
  constructor(readonly registry: CategoryRegistry) {}

  stage(category: Category): void {
    this.#staged.set(categoryId(category), category);
    this.#removed.delete(categoryId(category));
  }

  /** The identifiers of the categories staged so far. */
  stagedIds(): string[] {
    return [...this.#staged.keys()];
  }

  remove(id: string): void {
    this.#removed.add(id);
    this.#staged.delete(id);
  }

  get(id: string): Category | undefined {
    if (this.#removed.has(id)) return undefined;
    return this.#staged.get(id) ?? this.registry.get(id);
  }

  /** The kind itself and its ancestors, nearest first (stops on cycles, and after `max` kinds). */
  lineage(id: string, max = Infinity): Kind[] {
    const chain: Kind[] = [];
    const seen = new Set<string>();
    let current = this.get(id);
    while (current?.class === 'kind' && !seen.has(categoryId(current)) && chain.length < max) {
      chain.push(current);
      seen.add(categoryId(current));
      current = current.parent ? this.get(current.parent) : undefined;
    }
    return chain;
  }
}

function checkDefinitions(attributes: AttributeDefinitions, pointer: string, limits: DefinitionLimits, invalid: FieldProblem[]): void {
  for (const [name, definition] of Object.entries(attributes)) {
    const here = `${pointer}/attributes/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (definition.pattern) {
      const problems = patternProblems(definition.pattern, limits.pattern);
      for (const problem of problems) invalid.push({ pointer: `${here}/pattern${problem.pointer}`, message: problem.message });
      if (problems.length > 0) continue;
    }
    if (definition.default !== undefined) {
      // A default is stored in every entity that does not set the attribute: it obeys the value limit.
      const size = Buffer.byteLength(JSON.stringify(definition.default));
      const why = size > limits.valueBytes ? `is ${size} bytes as JSON, more than the limit of ${limits.valueBytes} for a value` : checkAttributeValue(definition.default, definition);
      if (why) invalid.push({ pointer: `${here}/default`, message: `the default ${why}` });
    }
  }
}

/**
 * Follows a kind's parents up from the kind itself: a cycle, or a chain longer than the limit, is a
 * problem. The walk stops after `depth + 1` steps, so a long chain costs the limit, not its length.
 */
function checkLineage(kind: Kind, pointer: string, staged: StagedCategories, depth: number, invalid: FieldProblem[]): void {
  const chain: string[] = [];
  const at = new Map<string, number>();
  let current: Category | undefined = kind;
  while (current?.class === 'kind') {
    const id = categoryId(current);
    const seen = at.get(id);
    if (seen !== undefined) {
      invalid.push({ pointer: `${pointer}/parent`, message: `the parents form a cycle: ${[...chain.slice(seen), id].join(' → ')}` });
      return;
    }
    at.set(id, chain.length);
    chain.push(id);
    if (chain.length > depth) {
      invalid.push({ pointer: `${pointer}/parent`, message: `the chain of parents is longer than the limit of ${depth} kinds` });
      return;
    }
    current = current.parent ? staged.get(current.parent) : undefined;
  }
}

/**
 * The longest `depends` chain below each mixin, memoised across the request, with cycles
 * reported: each mixin is visited once, so checking many mixins costs the graph, not its square.
 */
class DependsWalk {
  readonly #height = new Map<string, number>();
  readonly #path: string[] = [];
  readonly #onPath = new Map<string, number>();
  constructor(
    readonly staged: StagedCategories,
    readonly depth: number,
  ) {}

  /** The mixins of the longest chain from `id` down (itself included), or a problem. */
  height(id: string): number | { cycle: string[] } | 'too-deep' {
    const known = this.#height.get(id);
    if (known !== undefined) return known;
    const start = this.#onPath.get(id);
    if (start !== undefined) return { cycle: [...this.#path.slice(start), id] };
    const mixin = this.staged.get(id);
    if (mixin?.class !== 'mixin') return 0;
    if (this.#path.length >= this.depth) return 'too-deep';
    this.#onPath.set(id, this.#path.length);
    this.#path.push(id);
    let height = 1;
    try {
      for (const dep of mixin.depends) {
        const below = this.height(dep);
        if (typeof below !== 'number') return below;
        height = Math.max(height, below + 1);
        if (height > this.depth) return 'too-deep';
      }
    } finally {
      this.#path.pop();
      this.#onPath.delete(id);
    }
    this.#height.set(id, height);
    return height;
  }
}

/**
 * The longest chain of categories built on each one (kinds descending from it, mixins depending on
 * it), itself included. Who points at whom is indexed in one pass over the registry, then walked
 * with a memo and at most `depth + 1` levels deep.
 */
class ChainsAbove {
  readonly #above = new Map<string, string[]>();
  readonly #memo = new Map<string, number>();
  readonly #onPath = new Set<string>();
  constructor(
    staged: StagedCategories,
    readonly depth: number,
  ) {
    const ids = new Set([...staged.registry.all().map(categoryId), ...staged.stagedIds()]);
    for (const id of ids) {
      const category = staged.get(id);
      const below = category?.class === 'kind' ? (category.parent ? [category.parent] : []) : category?.class === 'mixin' ? category.depends : [];
      for (const target of below) {
        const list = this.#above.get(target);
        if (list) list.push(id);
        else this.#above.set(target, [id]);
      }
    }
  }

  length(id: string): number {
    const known = this.#memo.get(id);
    if (known !== undefined) return known;
    // A cycle is reported elsewhere; past the limit the exact length no longer matters.
    if (this.#onPath.has(id) || this.#onPath.size > this.depth) return 1;
    this.#onPath.add(id);
    let longest = 1;
    for (const next of this.#above.get(id) ?? []) longest = Math.max(longest, 1 + this.length(next));
    this.#onPath.delete(id);
    this.#memo.set(id, longest);
    return longest;
  }
}

function checkReferences(category: Category, pointer: string, staged: StagedCategories, depth: number, invalid: FieldProblem[]): void {
  const expect = (ids: string[], member: string, cls: Category['class'], what: string) => {
    ids.forEach((id, i) => {
      const found = staged.get(id);
      const where = `${pointer}/${member}/${i}`;
      if (!found) invalid.push({ pointer: where, message: `${what} "${id}" does not exist` });
      else if (found.class !== cls) invalid.push({ pointer: where, message: `"${id}" is a ${found.class}, not a ${cls}` });
    });
  };
  if (category.class === 'kind') {
    if (category.parent) {
      const parent = staged.get(category.parent);
      if (!parent || parent.class !== 'kind') {
        invalid.push({ pointer: `${pointer}/parent`, message: `parent kind "${category.parent}" does not exist` });
      } else {
        // Bounded: checkLineage reports a chain longer than the limit, this walk need not see all of it.
        const lineage = staged.lineage(category.parent, depth + 1);
        if (lineage.some((k) => categoryId(k) === categoryId(category)) || lineage.length > depth) {
          // A cycle or a chain too long, reported by checkLineage.
        } else if (!lineage.some((k) => [RESOURCE_KIND, LINK_KIND].includes(categoryId(k)))) {
          invalid.push({ pointer: `${pointer}/parent`, message: `a kind must descend from ${RESOURCE_KIND} or ${LINK_KIND}` });
        }
      }
    }
    expect(category.actions, 'actions', 'action', 'action');
  } else if (category.class === 'mixin') {
    expect(category.depends, 'depends', 'mixin', 'mixin');
    expect(category.applies, 'applies', 'kind', 'kind');
    expect(category.actions, 'actions', 'action', 'action');
  }
}

/**
 * Checks categories that are about to be added or replaced.
 *
 * @param entries - the categories with the pointer each came from
 * @param isNew - true for additions (identifier and location must be free), false for updates
 */
export function checkCategories(entries: { category: Category; pointer: string }[], staged: StagedCategories, isNew: boolean, limits: DefinitionLimits = DEFAULT_DEFINITION_LIMITS): RuleFindings {
  const invalid: FieldProblem[] = [];
  const conflicts: FieldProblem[] = [];
  const ids = new Map<string, string>();
  const locations = new Map<string, string>();
  for (const { category, pointer } of entries) {
    const id = categoryId(category);
    if (isNew) {
      if (staged.registry.has(id)) conflicts.push({ pointer: `${pointer}/term`, message: `category "${id}" already exists` });
      if (ids.has(id)) conflicts.push({ pointer: `${pointer}/term`, message: `category "${id}" is given twice (also at ${ids.get(id)})` });
    }
    ids.set(id, pointer);
    if (category.class !== 'action') {
      const location = category.location;
      if (!location) {
        invalid.push({ pointer: `${pointer}/location`, message: `a ${category.class} needs a location (a path ending in '/')` });
      } else if (isReservedPath(location) || location === '/') {
        invalid.push({ pointer: `${pointer}/location`, message: `"${location}" is reserved` });
      } else {
        const holder = staged.registry.byLocation(location);
        if (isNew && holder) conflicts.push({ pointer: `${pointer}/location`, message: `location "${location}" is already used by ${categoryId(holder)}` });
        if (locations.has(location)) conflicts.push({ pointer: `${pointer}/location`, message: `location "${location}" is given twice (also at ${locations.get(location)})` });
        locations.set(location, pointer);
      }
    }
    if (category.class === 'kind' && !category.parent) category.parent = RESOURCE_KIND;
  }
  for (const { category, pointer } of entries) {
    const size = Buffer.byteLength(JSON.stringify(category));
    if (size > limits.categoryBytes) invalid.push({ pointer, message: `is ${size} bytes as JSON, more than the limit of ${limits.categoryBytes} for a category` });
  }
  for (const { category } of entries) staged.stage(category);
  const depends = new DependsWalk(staged, limits.depth);
  // A changed category may lengthen the chains of those built on it; a new one has none yet.
  const above = isNew ? undefined : new ChainsAbove(staged, limits.depth);
  for (const { category, pointer } of entries) {
    const before = invalid.length;
    checkReferences(category, pointer, staged, limits.depth, invalid);
    if (category.class === 'kind') checkLineage(category, pointer, staged, limits.depth, invalid);
    if (category.class === 'mixin') {
      const height = depends.height(categoryId(category));
      if (height === 'too-deep') invalid.push({ pointer: `${pointer}/depends`, message: `the chain of depends is longer than the limit of ${limits.depth} mixins` });
      else if (typeof height !== 'number') invalid.push({ pointer: `${pointer}/depends`, message: `the depends form a cycle: ${height.cycle.join(' → ')}` });
    }
    if (above && invalid.length === before && category.class !== 'action') {
      const below = category.class === 'kind' ? staged.lineage(categoryId(category), limits.depth + 1).length : (depends.height(categoryId(category)) as number);
      const longest = below + above.length(categoryId(category)) - 1;
      if (longest > limits.depth) {
        const member = category.class === 'kind' ? 'parent' : 'depends';
        invalid.push({ pointer: `${pointer}/${member}`, message: `the ${category.class}s built on it would form a chain of ${longest} ${category.class}s, more than the limit of ${limits.depth}` });
      }
    }
    checkDefinitions(category.attributes, pointer, limits, invalid);
  }
  return { invalid, conflicts };
}
