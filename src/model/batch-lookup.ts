/**
 * @module A category lookup for one batch of entities handled together without awaiting anything
 * (the items of one creation request, the renderings of one answer): every answer is asked of the
 * registry once and remembered for the rest of the batch. Nothing can change the registry in the
 * middle of synchronous code, and every item of a request sees the same categories (the request's
 * view: its templates, its tenant's tags), so the answers are the ones each item would have got.
 * A batch lookup lives as long as its batch; it is never kept across an `await`.
 */
import type { Action, AttributeDefinitions, Kind, Mixin } from './category.ts';
import { definedActions, definitionsFor, type CategoryLookup, type Entity } from './entity.ts';

/** Remembers `compute(key)` per key, `undefined` answers included. */
function remembered<T>(compute: (key: string) => T): (key: string) => T {
  const known = new Map<string, T>();
  return (key) => {
    if (known.has(key)) return known.get(key) as T;
    const value = compute(key);
    known.set(key, value);
    return value;
  };
}

/** The key of a kind with mixins (order kept: a later mixin's defaults win). */
function keyOf(kindId: string, mixins: string[]): string {
  return mixins.length === 0 ? kindId : JSON.stringify([kindId, ...mixins]);
}

/** A {@link CategoryLookup} that asks `lookup` once per question. */
export class BatchLookup implements CategoryLookup {
  readonly kind: (id: string) => Kind | undefined;
  readonly mixin: (id: string) => Mixin | undefined;
  readonly action: (id: string) => Action | undefined;
  readonly lineage: (kindId: string) => Kind[];
  readonly kindAttributes: (kindId: string) => AttributeDefinitions;
  readonly mixinClosure: (mixinId: string) => Mixin[];
  readonly #definitions = new Map<string, AttributeDefinitions>();
  readonly #actions = new Map<string, string[]>();

  constructor(lookup: CategoryLookup) {
    this.kind = remembered((id) => lookup.kind(id));
    this.mixin = remembered((id) => lookup.mixin(id));
    this.action = remembered((id) => lookup.action(id));
    this.lineage = remembered((id) => lookup.lineage(id));
    this.kindAttributes = remembered((id) => lookup.kindAttributes(id));
    this.mixinClosure = remembered((id) => lookup.mixinClosure(id));
  }

  /** {@link definitionsFor} of a kind with mixins, computed once per combination (do not mutate). */
  definitions(kindId: string, mixins: string[]): AttributeDefinitions {
    const key = keyOf(kindId, mixins);
    let found = this.#definitions.get(key);
    if (!found) {
      found = definitionsFor(this, kindId, mixins);
      this.#definitions.set(key, found);
    }
    return found;
  }

  /** {@link definedActions} of a kind with mixins, computed once per combination (do not mutate). */
  definedActions(entity: Pick<Entity, 'kind' | 'mixins'>): string[] {
    const key = keyOf(entity.kind, entity.mixins);
    let found = this.#actions.get(key);
    if (!found) {
      found = definedActions(this, entity);
      this.#actions.set(key, found);
    }
    return found;
  }
}
