/**
 * @module What a breaking category change does to the entities that exist: which scopes it
 * concerns, and, walking them page by page through the store's indexes, how many entities it
 * would make invalid (and which, the first few) or could not migrate.
 */
import { categoryId, dependencyClosure, inheritedAttributes, type Action, type AttributeDefinitions, type Category, type Kind, type Mixin } from '../model/category.ts';
import type { CategoryLookup, Entity } from '../model/entity.ts';
import { currentView, entityProblems } from '../model/entity-view.ts';
import type { StagedCategories } from './category-rules.ts';
import type { CategoryChange } from './change-rules.ts';
import { ConflictError } from '../errors.ts';
import type { CategoryScope, EntityIndex } from './persistence.ts';
import type { CategoryRegistry } from './registry.ts';

/** The categories as a change would leave them, as the entity model looks them up. */
export class StagedLookup implements CategoryLookup {
  constructor(readonly staged: StagedCategories) {}

  kind(id: string): Kind | undefined {
    const c = this.staged.get(id);
    return c?.class === 'kind' ? c : undefined;
  }

  mixin(id: string): Mixin | undefined {
    const c = this.staged.get(id);
    return c?.class === 'mixin' ? c : undefined;
  }

  action(id: string): Action | undefined {
    const c = this.staged.get(id);
    return c?.class === 'action' ? c : undefined;
  }

  lineage(kindId: string): Kind[] {
    return this.staged.lineage(kindId);
  }

  kindAttributes(kindId: string): AttributeDefinitions {
    return inheritedAttributes(this.lineage(kindId));
  }

  mixinClosure(mixinId: string): Mixin[] {
    return dependencyClosure(mixinId, (id) => this.mixin(id));
  }
}

/**
 * The scopes whose entities a category's definitions reach: a kind's own entities and those of
 * every kind descending from it; a mixin's members and those of every mixin that depends on it.
 * Actions reach no stored entity (their parameters are checked when invoked).
 */
export function scopesOf(registry: CategoryRegistry, category: Category): CategoryScope[] {
  const id = categoryId(category);
  if (category.class === 'kind') return registry.descendants(id).map((kind) => ({ kind }));
  if (category.class === 'action') return [];
  const mixins = new Set([id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of registry.all()) {
      if (c.class === 'mixin' && !mixins.has(categoryId(c)) && c.depends.some((d) => mixins.has(d))) {
        mixins.add(categoryId(c));
        grew = true;
      }
    }
  }
  return [...mixins].sort().map((mixin) => ({ mixin }));
}

/** How a breaking change meets the entities. */
export interface Impact {
  /** Entities looked at. */
  scanned: number;
  /** Entities the change makes invalid (or, for a removed action, can no longer do it); values already invalid do not count. */
  invalid: number;
  /** The first few of them, with why. */
  examples: { location: string; problems: string[] }[];
  /** Under `migrate`: entities the migration cannot make valid, and the first few. */
  unmigratable: number;
  unmigratableExamples: { location: string; problems: string[] }[];
}

const EXAMPLES = 5;
const PAGE = 500;

/**
 * Walks the entities of the scopes (each page one indexed query) and judges each under the staged
 * definitions: as stored (with defaults filled in), and, when `migrating`, as the migration would
 * leave it. Cost follows the number of entities in the scopes, never the database's size.
 */
export async function measureImpact(entities: EntityIndex, scopes: CategoryScope[], current: CategoryLookup, staged: CategoryLookup, changes: CategoryChange[], migrating: boolean): Promise<Impact> {
  const impact: Impact = { scanned: 0, invalid: 0, examples: [], unmigratable: 0, unmigratableExamples: [] };
  const seen = new Set<string>();
  const actionRemoved = changes.filter((c) => c.change === 'action-removed').map((c) => c.message);
  for (const scope of scopes) {
    let cursor: string | undefined;
    do {
      const page = await entities.scanScope(scope, cursor, PAGE);
      cursor = page.cursor;
      for (const entity of page.entities) {
        if (seen.has(entity.location)) continue;
        seen.add(entity.location);
        impact.scanned += 1;
        const judged = judge(current, staged, entity, migrating);
        const problems = [...judged.asStored, ...actionRemoved];
        if (problems.length > 0) {
          impact.invalid += 1;
          if (impact.examples.length < EXAMPLES) impact.examples.push({ location: entity.location, problems });
        }
        if (migrating && judged.afterMigration.length > 0) {
          impact.unmigratable += 1;
          if (impact.unmigratableExamples.length < EXAMPLES) impact.unmigratableExamples.push({ location: entity.location, problems: judged.afterMigration });
        }
      }
    } while (cursor !== undefined);
  }
  return impact;
}

function judge(current: CategoryLookup, lookup: CategoryLookup, entity: Entity, migrating: boolean): { asStored: string[]; afterMigration: string[] } {
  // What is wrong already (values kept through an earlier change) is not this change's doing.
  const already = new Set(entityProblems(current, currentView(current, entity, { keepUndefined: true })));
  const fresh = (problems: string[]) => problems.filter((p) => !already.has(p));
  // As stored: defaults fill gaps, nothing is converted or dropped (a removed attribute held counts).
  const stripped = stripPlans(lookup);
  const asStored = fresh(entityProblems(stripped, currentView(stripped, entity, { keepUndefined: true })));
  const afterMigration = migrating ? fresh(entityProblems(lookup, currentView(lookup, entity))) : [];
  return { asStored, afterMigration };
}

/** The same lookup with pending migration plans hidden: what entities look like without migrating. */
function stripPlans(lookup: CategoryLookup): CategoryLookup {
  const strip = <C extends Category>(c: C | undefined): C | undefined => {
    if (!c?.migration) return c;
    const { migration: _plan, ...rest } = c;
    return rest as C;
  };
  return {
    kind: (id) => strip(lookup.kind(id)),
    mixin: (id) => strip(lookup.mixin(id)),
    action: (id) => lookup.action(id),
    lineage: (id) => lookup.lineage(id).map((k) => strip(k)!),
    kindAttributes: (id) => lookup.kindAttributes(id),
    mixinClosure: (id) => lookup.mixinClosure(id).map((m) => strip(m)!),
  };
}

const SHOWN = 5;

/** The 409 of a breaking change that would make entities invalid, saying how to go on. */
export function refusal(pointer: string, id: string, changes: CategoryChange[], impact: Impact): ConflictError {
  const breaking = changes.filter((c) => c.class === 'breaking').map((c) => c.message);
  const first = impact.examples.slice(0, SHOWN).map((e) => `${e.location} (${e.problems.join('; ')})`);
  return new ConflictError(
    `${pointer}: changing "${id}" would make ${impact.invalid} of its ${impact.scanned} entities invalid (${breaking.join('; ')}): ${first.join(', ')}${impact.invalid > first.length ? ', …' : ''}. ` +
      'Nothing was changed. Repeat with ?entities=keep to keep their values as they are, or with ?entities=migrate (and "migrate": {"<category id>": {"<attribute>": value}} for values to give) to bring them to the new definition.',
    impact.examples.map((e) => ({ pointer, message: `${e.location}: ${e.problems.join('; ')}` })),
  );
}

export function unmigratable(pointer: string, id: string, impact: Impact): ConflictError {
  const first = impact.unmigratableExamples.map((e) => `${e.location} (${e.problems.join('; ')})`);
  return new ConflictError(
    `${pointer}: ${impact.unmigratable} entities of "${id}" would still be invalid after the migration: ${first.join(', ')}${impact.unmigratable > first.length ? ', …' : ''}. Nothing was changed. Give values for them in "migrate", or use ?entities=keep.`,
    impact.unmigratableExamples.map((e) => ({ pointer, message: `${e.location}: ${e.problems.join('; ')}` })),
  );
}
