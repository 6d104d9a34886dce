/**
 * @module An entity as its categories define it now. Kinds evolve while entities live on (like
 * Kubernetes' CustomResourceDefinitions): reads apply the current defaults and leave out attributes
 * no category defines any more, a pending migration's conversions are applied on read as well, and
 * the same functions say which stored values no longer fit (for the change rules' impact, and for
 * entities kept as they were). Pure: categories come through {@link CategoryLookup}.
 */
import { categoryId, type AttributeDefinition, type AttributeType, type AttributeValue, type Category, type MigrationPlan } from './category.ts';
import { checkAttributeValue, valueType } from './attribute.ts';
import { checkCategories, CORE_ATTRIBUTES, definitionsFor, ownDefinition, type CategoryLookup, type Entity } from './entity.ts';
import type { FieldProblem } from '../errors.ts';

/** How the view treats attributes no category defines any more. */
export interface ViewOptions {
  /** Keep them (entities kept as they were by `?entities=keep`); default: leave them out. */
  keepUndefined?: boolean;
}

/** True when the entity's kind and every mixin are known to the lookup (else nothing is dropped). */
function resolvable(lookup: CategoryLookup, entity: Pick<Entity, 'kind' | 'mixins'>): boolean {
  return lookup.kind(entity.kind) !== undefined && entity.mixins.every((m) => lookup.mixin(m) !== undefined);
}

/**
 * Converts a value to a new attribute type where the conversion loses nothing: numbers and
 * booleans to strings, numeric strings to numbers, "true"/"false" to booleans, a scalar into a
 * one-element array. Returns undefined when it cannot.
 */
export function convertValue(value: AttributeValue, type: AttributeType): AttributeValue | undefined {
  const actual = valueType(value);
  if (actual === type) return value;
  switch (type) {
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    case 'number':
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      if (typeof value === 'boolean') return value ? 1 : 0;
      return undefined;
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true';
      return undefined;
    case 'array':
      return value === null ? undefined : [value];
    default:
      return undefined;
  }
}

/** The pending migrations of the entity's kind (and parents) and mixins. */
function plansFor(lookup: CategoryLookup, entity: Pick<Entity, 'kind' | 'mixins'>): MigrationPlan[] {
  const out: MigrationPlan[] = [];
  const categories: Category[] = [...lookup.lineage(entity.kind), ...entity.mixins.flatMap((m) => lookup.mixinClosure(m))];
  for (const category of categories) if (category.migration) out.push(category.migration);
  return out;
}

/**
 * Applies migration plans: converts values whose type changed, sets the given values where an
 * entity has none or one that no longer fits. Idempotent, so it is safe to apply on read while a
 * migration is still under way, and again when the migration reaches the entity.
 */
export function applyPlans(attributes: Record<string, AttributeValue>, plans: MigrationPlan[], definitionOf: (name: string) => AttributeDefinition | undefined): boolean {
  let changed = false;
  for (const plan of plans) {
    for (const name of plan.convert ?? []) {
      const definition = definitionOf(name);
      const value = attributes[name];
      if (!definition || value === undefined || valueType(value) === definition.type) continue;
      const converted = convertValue(value, definition.type);
      if (converted !== undefined) {
        attributes[name] = converted;
        changed = true;
      }
    }
    for (const [name, value] of Object.entries(plan.set ?? {})) {
      const definition = definitionOf(name);
      if (!definition) continue;
      const held = attributes[name];
      if (held === undefined || checkAttributeValue(held, definition) !== undefined) {
        attributes[name] = structuredClone(value);
        changed = true;
      }
    }
  }
  return changed;
}

/**
 * The entity as its categories define it now: pending conversions applied, current defaults filled
 * in, attributes no category defines left out. Returns the same object when nothing changes.
 */
export function currentView(lookup: CategoryLookup, entity: Entity, options: ViewOptions = {}): Entity {
  if (!resolvable(lookup, entity)) return entity;
  const definitions = definitionsFor(lookup, entity.kind, entity.mixins);
  const attributes = { ...entity.attributes };
  let changed = applyPlans(attributes, plansFor(lookup, entity), (name) => ownDefinition(definitions, name));
  for (const [name, definition] of Object.entries(definitions)) {
    if (attributes[name] === undefined && definition.default !== undefined) {
      attributes[name] = structuredClone(definition.default);
      changed = true;
    }
  }
  if (!options.keepUndefined) {
    for (const name of Object.keys(attributes)) {
      if (!ownDefinition(definitions, name) && !CORE_ATTRIBUTES.includes(name)) {
        delete attributes[name];
        changed = true;
      }
    }
  }
  return changed ? { ...entity, attributes } : entity;
}

/**
 * What is wrong with a stored entity under the current definitions: unknown or inapplicable
 * categories, values that do not fit, required attributes without a value (after defaults).
 * Attributes no category defines are reported too: they are what a removal takes away.
 */
export function entityProblems(lookup: CategoryLookup, entity: Entity): string[] {
  const problems: FieldProblem[] = [];
  checkCategories(lookup, entity.kind, entity.mixins, '', problems);
  const out = problems.map((p) => p.message);
  if (!lookup.kind(entity.kind)) return out;
  const definitions = definitionsFor(lookup, entity.kind, entity.mixins);
  for (const [name, value] of Object.entries(entity.attributes)) {
    const definition = ownDefinition(definitions, name);
    if (!definition) {
      if (!CORE_ATTRIBUTES.includes(name)) out.push(`"${name}" is held but no longer defined`);
      continue;
    }
    const why = checkAttributeValue(value, definition);
    if (why) out.push(`"${name}" ${why}`);
  }
  for (const [name, definition] of Object.entries(definitions)) {
    if (definition.required && entity.attributes[name] === undefined && definition.default === undefined) out.push(`"${name}" is required and has no value`);
  }
  return out;
}

/** The identifiers an entity's definitions come from: its kind's lineage and its mixins' closures. */
export function categoriesOf(lookup: CategoryLookup, entity: Pick<Entity, 'kind' | 'mixins'>): string[] {
  return [...lookup.lineage(entity.kind).map(categoryId), ...entity.mixins.flatMap((m) => lookup.mixinClosure(m).map(categoryId))];
}
