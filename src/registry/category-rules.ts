/**
 * @module The rules every category change must keep (DESIGN §4), checked against the registry and
 * the rest of the same request before anything is written. Pure: findings come back as problems.
 */
import {
  categoryId,
  LINK_KIND,
  RESOURCE_KIND,
  type AttributeDefinitions,
  type Category,
  type Kind,
} from '../model/category.ts';
import { checkAttributeValue, compileValueSchema } from '../model/attribute.ts';
import { isReservedPath } from '../model/location.ts';
import type { FieldProblem } from '../errors.ts';
import type { CategoryRegistry } from './registry.ts';

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

  remove(id: string): void {
    this.#removed.add(id);
    this.#staged.delete(id);
  }

  get(id: string): Category | undefined {
    if (this.#removed.has(id)) return undefined;
    return this.#staged.get(id) ?? this.registry.get(id);
  }

  /** The kind itself and its ancestors, nearest first (stops on cycles). */
  lineage(id: string): Kind[] {
    const chain: Kind[] = [];
    const seen = new Set<string>();
    let current = this.get(id);
    while (current?.class === 'kind' && !seen.has(categoryId(current))) {
      chain.push(current);
      seen.add(categoryId(current));
      current = current.parent ? this.get(current.parent) : undefined;
    }
    return chain;
  }
}

function checkDefinitions(attributes: AttributeDefinitions, pointer: string, invalid: FieldProblem[]): void {
  for (const [name, definition] of Object.entries(attributes)) {
    const here = `${pointer}/attributes/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (definition.pattern) {
      try {
        compileValueSchema(definition.pattern);
      } catch (err) {
        invalid.push({ pointer: `${here}/pattern`, message: `is not a usable JSON Schema: ${(err as Error).message}` });
        continue;
      }
    }
    if (definition.default !== undefined) {
      const why = checkAttributeValue(definition.default, definition);
      if (why) invalid.push({ pointer: `${here}/default`, message: `the default ${why}` });
    }
  }
}

function checkReferences(category: Category, pointer: string, staged: StagedCategories, invalid: FieldProblem[]): void {
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
        const lineage = staged.lineage(category.parent);
        if (lineage.some((k) => categoryId(k) === categoryId(category))) {
          invalid.push({ pointer: `${pointer}/parent`, message: 'a kind cannot descend from itself' });
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
export function checkCategories(
  entries: { category: Category; pointer: string }[],
  staged: StagedCategories,
  isNew: boolean,
): RuleFindings {
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
  for (const { category } of entries) staged.stage(category);
  for (const { category, pointer } of entries) {
    checkReferences(category, pointer, staged, invalid);
    checkDefinitions(category.attributes, pointer, invalid);
  }
  return { invalid, conflicts };
}
