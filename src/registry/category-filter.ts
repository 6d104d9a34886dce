/**
 * @module Category filtering with subset semantics: a category matches a partial description when
 * every member the description gives matches (scalars equal, lists contained, attribute
 * definitions present with every given property equal). Within a class, matching any one of the
 * class's descriptions is enough.
 */
import { categoryId, type AttributeDefinition, type Category, type CategoryClass, type CategoryPattern } from '../model/category.ts';

/** A filter: per-class partial descriptions (from a body) and/or query-string constraints. */
export interface CategoryFilter {
  /** Only the classes present are returned; absent means every class. */
  byClass?: Partial<Record<CategoryClass, CategoryPattern[]>>;
  id?: string;
  class?: CategoryClass;
  scheme?: string;
  term?: string;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function listOf(category: Category, member: 'depends' | 'applies' | 'actions'): string[] {
  if (member === 'actions') return category.class === 'action' ? [] : category.actions;
  return category.class === 'mixin' ? category[member] : [];
}

/** True when `category` has every member `pattern` gives. */
export function matchesPattern(category: Category, pattern: CategoryPattern): boolean {
  if (pattern.term !== undefined && pattern.term !== category.term) return false;
  if (pattern.scheme !== undefined && pattern.scheme !== category.scheme) return false;
  if (pattern.title !== undefined && pattern.title !== category.title) return false;
  if (pattern.parent !== undefined && (category.class !== 'kind' || category.parent !== pattern.parent)) return false;
  if (pattern.location !== undefined && (category.class === 'action' || category.location !== pattern.location)) return false;
  for (const member of ['depends', 'applies', 'actions'] as const) {
    const wanted = pattern[member];
    if (wanted && !wanted.every((id) => listOf(category, member).includes(id))) return false;
  }
  for (const [name, partial] of Object.entries(pattern.attributes ?? {})) {
    const definition = category.attributes[name];
    if (!definition) return false;
    for (const [property, value] of Object.entries(partial)) {
      if (!deepEqual(definition[property as keyof AttributeDefinition], value)) return false;
    }
  }
  return true;
}

/** The categories that pass the filter, in the order given. */
export function filterCategories(categories: Category[], filter: CategoryFilter): Category[] {
  return categories.filter((category) => {
    if (filter.id !== undefined && categoryId(category) !== filter.id) return false;
    if (filter.class !== undefined && category.class !== filter.class) return false;
    if (filter.scheme !== undefined && category.scheme !== filter.scheme) return false;
    if (filter.term !== undefined && category.term !== filter.term) return false;
    if (!filter.byClass) return true;
    const patterns = filter.byClass[category.class];
    if (!patterns) return false;
    return patterns.length === 0 || patterns.some((p) => matchesPattern(category, p));
  });
}
