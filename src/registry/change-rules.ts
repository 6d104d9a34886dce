/**
 * @module The change rules: every difference between a category as it is and as a change would
 * make it, classified as compatible (no entity that is valid now becomes invalid) or breaking (some
 * may). The classification is structural, like Kubernetes' rules for CustomResourceDefinitions;
 * whether a breaking change actually hurts is then decided by looking at the entities (see
 * `change-impact.ts`).
 *
 * Whether one JSON Schema accepts everything another accepts is undecidable in general, so only
 * changes that can be judged exactly count as widening: a pattern removed, numeric bounds
 * (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`) and length/size bounds
 * (`minLength`, `maxLength`, `minItems`, `maxItems`) loosened or removed, and `enum` grown to a
 * superset. Every other pattern change — a different regular expression included — is breaking.
 */
import { categoryId, type AttributeDefinition, type AttributeDefinitions, type Category, type ValueSchema } from '../model/category.ts';

/** The two classes of change. */
export type ChangeClass = 'compatible' | 'breaking';

/** What changed. */
export type ChangeKind =
  | 'title-changed'
  | 'description-changed'
  | 'attribute-added'
  | 'required-attribute-added'
  | 'attribute-removed'
  | 'type-changed'
  | 'default-added'
  | 'default-changed'
  | 'default-removed'
  | 'made-optional'
  | 'made-required'
  | 'mutability-changed'
  | 'pattern-removed'
  | 'pattern-widened'
  | 'pattern-narrowed'
  | 'pattern-changed'
  | 'action-added'
  | 'action-removed'
  | 'parent-changed'
  | 'depends-added'
  | 'depends-removed'
  | 'applies-widened'
  | 'applies-narrowed';

/** One classified difference. */
export interface CategoryChange {
  change: ChangeKind;
  class: ChangeClass;
  /** The attribute concerned, for attribute changes. */
  attribute?: string;
  /** A sentence for people: what changed and why it is classed so. */
  message: string;
}

const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'];
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Compares two value schemas: `widened` when every value the old one accepts the new one accepts
 * too (judged only for bounds and enums), `narrowed` when the new one is provably stricter on those
 * alone, `changed` when anything else differs (undecidable in general: treated as breaking).
 */
export function comparePatterns(before: ValueSchema | undefined, after: ValueSchema | undefined): 'same' | 'removed' | 'widened' | 'narrowed' | 'changed' {
  if (same(before, after)) return 'same';
  if (after === undefined) return 'removed';
  if (before === undefined) return 'narrowed';
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  let widened = false;
  let narrowed = false;
  for (const key of keys) {
    const [a, b] = [before[key], after[key]];
    if (same(a, b)) continue;
    const lower = LOWER_BOUNDS.includes(key);
    const upper = UPPER_BOUNDS.includes(key);
    if (lower || upper) {
      if (b === undefined) widened = true;
      else if (a === undefined) narrowed = true;
      else if (typeof a === 'number' && typeof b === 'number') {
        if (lower ? b < a : b > a) widened = true;
        else narrowed = true;
      } else return 'changed';
    } else if (key === 'enum' && Array.isArray(a) && Array.isArray(b)) {
      const has = (list: unknown[], v: unknown) => list.some((x) => same(x, v));
      if (a.every((v) => has(b, v))) widened = true;
      else if (b.every((v) => has(a, v))) narrowed = true;
      else return 'changed';
    } else if (key === 'enum' && b === undefined) widened = true;
    else return 'changed';
  }
  if (widened && narrowed) return 'changed';
  return narrowed ? 'narrowed' : 'widened';
}

function attributeChanges(name: string, a: AttributeDefinition, b: AttributeDefinition, out: CategoryChange[]): void {
  const add = (change: ChangeKind, cls: ChangeClass, message: string) => out.push({ change, class: cls, attribute: name, message: `attribute "${name}": ${message}` });
  if (a.type !== b.type) add('type-changed', 'breaking', `its type changes from ${a.type} to ${b.type}; values held are of the old type`);
  if (a.description !== b.description) add('description-changed', 'compatible', 'its description changes');
  if (a.mutable !== b.mutable) add('mutability-changed', 'compatible', `it becomes ${b.mutable ? 'mutable' : 'immutable'}; values held stay valid`);
  if (!same(a.default, b.default)) {
    if (a.default === undefined) add('default-added', 'compatible', 'it gets a default, which reads apply to entities without a value');
    else if (b.default === undefined)
      add('default-removed', b.required ? 'breaking' : 'compatible', b.required ? 'its default goes while it is required: entities without a value become invalid' : 'its default goes');
    else add('default-changed', 'compatible', 'its default changes; values held stay as they are');
  }
  if (a.required !== b.required) {
    if (!b.required) add('made-optional', 'compatible', 'it becomes optional');
    else
      add(
        'made-required',
        b.default === undefined ? 'breaking' : 'compatible',
        b.default === undefined ? 'it becomes required without a default: entities without a value become invalid' : 'it becomes required, with a default for entities without a value',
      );
  }
  const pattern = a.type === b.type ? comparePatterns(a.pattern, b.pattern) : 'same';
  if (pattern === 'removed') add('pattern-removed', 'compatible', 'its pattern goes: every value of its type is accepted');
  else if (pattern === 'widened') add('pattern-widened', 'compatible', 'its range widens: every value accepted before still is');
  else if (pattern === 'narrowed') add('pattern-narrowed', 'breaking', 'its range or pattern narrows: some values held may no longer fit');
  else if (pattern === 'changed') add('pattern-changed', 'breaking', 'its pattern changes in a way that cannot be proven wider (only removed patterns, looser bounds and larger enums are)');
}

function definitionChanges(before: AttributeDefinitions, after: AttributeDefinitions, out: CategoryChange[]): void {
  for (const [name, b] of Object.entries(after)) {
    const a = Object.hasOwn(before, name) ? before[name] : undefined;
    if (!a) {
      if (b.required && b.default === undefined)
        out.push({ change: 'required-attribute-added', class: 'breaking', attribute: name, message: `attribute "${name}" is added as required without a default: existing entities have no value` });
      else out.push({ change: 'attribute-added', class: 'compatible', attribute: name, message: `attribute "${name}" is added${b.required ? ' (required, with a default)' : ''}` });
      continue;
    }
    attributeChanges(name, a, b, out);
  }
  for (const name of Object.keys(before)) {
    if (!Object.hasOwn(after, name)) out.push({ change: 'attribute-removed', class: 'breaking', attribute: name, message: `attribute "${name}" is removed: entities holding a value lose it` });
  }
}

function listChanges(before: string[], after: string[], added: (id: string) => CategoryChange, removed: (id: string) => CategoryChange, out: CategoryChange[]): void {
  for (const id of after) if (!before.includes(id)) out.push(added(id));
  for (const id of before) if (!after.includes(id)) out.push(removed(id));
}

/**
 * Every difference between a category and its new description, classified. Both must be of the
 * same class and identifier (the category manager checks that first).
 */
export function classifyChange(before: Category, after: Category): CategoryChange[] {
  const out: CategoryChange[] = [];
  if (before.title !== after.title) out.push({ change: 'title-changed', class: 'compatible', message: 'the title changes' });
  definitionChanges(before.attributes, after.attributes, out);
  if (before.class === 'kind' && after.class === 'kind') {
    if ((before.parent ?? '') !== (after.parent ?? '')) {
      out.push({ change: 'parent-changed', class: 'breaking', message: `the parent changes from ${before.parent ?? 'none'} to ${after.parent ?? 'none'}: inherited attributes and actions change` });
    }
  }
  if (before.class !== 'action' && after.class !== 'action') {
    listChanges(
      before.actions,
      after.actions,
      (id) => ({ change: 'action-added', class: 'compatible', message: `action ${id} is added` }),
      (id) => ({ change: 'action-removed', class: 'breaking', message: `action ${id} is removed: its entities can no longer be asked to do it` }),
      out,
    );
  }
  if (before.class === 'mixin' && after.class === 'mixin') {
    listChanges(
      before.depends,
      after.depends,
      (id) => ({ change: 'depends-added', class: 'breaking', message: `it now depends on ${id}, whose attributes its entities then carry` }),
      (id) => ({ change: 'depends-removed', class: 'breaking', message: `it no longer depends on ${id}: attributes its entities hold from there lose their definition` }),
      out,
    );
    // An empty `applies` means "applies to every kind".
    const widened = after.applies.length === 0 || (before.applies.length > 0 && before.applies.every((id) => after.applies.includes(id)));
    if (!same([...before.applies].sort(), [...after.applies].sort())) {
      out.push(
        widened
          ? {
              change: 'applies-widened',
              class: 'compatible',
              message: `it applies to ${after.applies.length === 0 ? 'every kind' : after.applies.join(', ')}, which includes every kind it applied to`,
            }
          : { change: 'applies-narrowed', class: 'breaking', message: `it applies to fewer kinds (${after.applies.join(', ')}): entities of the others carry it without it applying` },
      );
    }
  }
  return out;
}

/** True when any of the changes is breaking. */
export function isBreaking(changes: CategoryChange[]): boolean {
  return changes.some((c) => c.class === 'breaking');
}

/** The classified changes of one category, with its identifier. */
export interface ClassifiedChange {
  id: string;
  changes: CategoryChange[];
}

/** Classifies a whole request's changes, category by category (unchanged ones are left out). */
export function classifyAll(pairs: { before: Category; after: Category }[]): ClassifiedChange[] {
  return pairs.map(({ before, after }) => ({ id: categoryId(after), changes: classifyChange(before, after) })).filter((c) => c.changes.length > 0);
}
