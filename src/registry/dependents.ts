/**
 * @module What still uses a category that is to be deleted: how to say so (the 409 names each user
 * and the request that would go on), and how `?cascade=true` deals with each user (drop the
 * reference, or remove the user too).
 */
import { categoryId, type Category } from '../model/category.ts';
import { ConflictError } from '../errors.ts';
import type { CategoryRef } from './category-manager.ts';

/** How `user` refers to `id`, in words. */
function usage(user: Category, id: string): string {
  const how: string[] = [];
  if (user.class === 'kind' && user.parent === id) how.push('as its parent');
  if (user.class === 'mixin' && user.depends.includes(id)) how.push('in depends');
  if (user.class === 'mixin' && user.applies.includes(id)) how.push('in applies');
  if (user.class !== 'action' && user.actions.includes(id)) how.push('in actions');
  return `${user.class} ${categoryId(user)} (${how.join(', ')})`;
}

/** The 409 of a category still in use: who uses it and how, and the requests that would go on. */
export function stillUsed(refs: CategoryRef[], users: { id: string; user: Category }[], ids: Set<string>, classOf: (id: string) => Category['class']): ConflictError {
  const byTarget = new Map<string, string[]>();
  for (const { id, user } of users) byTarget.set(id, [...(byTarget.get(id) ?? []), usage(user, id)]);
  const lines = [...byTarget].map(([id, list]) => `"${id}" is still used by ${list.join('; ')}`);
  const body: Record<string, string[]> = {};
  for (const id of new Set([...ids, ...users.map((u) => categoryId(u.user))])) {
    (body[`${classOf(id)}s`] ??= []).push(id);
  }
  return new ConflictError(
    `${lines.join('. ')}. Delete them in the same request (DELETE /-/ ${JSON.stringify(body)}), change them first, or repeat with ?cascade=true to remove what only serves the deleted categories and drop the references of the others.`,
    refs.map((r) => ({ pointer: r.pointer, message: 'is still referenced' })),
  );
}

/** True when the category refers to one of the ids. */
export function references(category: Category, ids: Set<string>): boolean {
  if (category.class === 'action') return false;
  if (category.class === 'kind' && category.parent !== undefined && ids.has(category.parent)) return true;
  if (category.class === 'mixin' && [...category.depends, ...category.applies].some((id) => ids.has(id))) return true;
  return category.actions.some((id) => ids.has(id));
}

/**
 * The category with its references to removed categories dropped, or undefined when it cannot do
 * without them (its parent, a mixin it depends on, or every kind it applies to is going).
 */
export function withoutReferences(category: Category, removed: Set<string>): Category | undefined {
  if (category.class === 'action') return category;
  if (category.class === 'kind' && category.parent !== undefined && removed.has(category.parent)) return undefined;
  if (category.class === 'mixin') {
    if (category.depends.some((d) => removed.has(d))) return undefined;
    const applies = category.applies.filter((a) => !removed.has(a));
    // An empty list would mean "applies to every kind": a mixin left with none goes instead.
    if (category.applies.length > 0 && applies.length === 0) return undefined;
    return { ...category, applies, actions: category.actions.filter((a) => !removed.has(a)) };
  }
  return { ...category, actions: category.actions.filter((a) => !removed.has(a)) };
}
