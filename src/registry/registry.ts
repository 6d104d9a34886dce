/**
 * @module The category registry: every kind, mixin and action the server knows, built-in and
 * runtime, with kinds' providers, held in memory and indexed by identifier and location. It does
 * no I/O: the category manager feeds it from the store and the changes feed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { canSee, type Principal } from '../auth/principal.ts';
import { categoryId, dependencyClosure, ENTITY_KIND, inheritedAttributes, type Action, type AttributeDefinitions, type Category, type Kind, type Mixin, type Provider } from '../model/category.ts';

/** A runtime category or provider as stored, with the store's revision. */
export interface Stored<T> {
  value: T;
  rev: string;
}

/** The revision generation (`3` in `3-abc…`), to ignore changes older than what is held. */
function generation(rev: string): number {
  const n = Number.parseInt(rev, 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Categories a backend provides for one request only, e.g. the Cyclades images and flavors the
 * caller's token can see (os_tpl and resource_tpl mixins). They are visible to every lookup made
 * while that request is handled, and to no other request.
 */
const requestView = new AsyncLocalStorage<RequestView>();

/** What one request sees beyond the shared categories: its backend templates, and whose tags. */
interface RequestView {
  extras: Map<string, Mixin>;
  /** The caller; tags (mixins with an owner) of other tenants are invisible to non-operators. */
  viewer?: Principal;
}

/** True when the request's viewer may see this category (built-in and operator ones: everyone). */
function visible(category: Category | undefined): boolean {
  const viewer = requestView.getStore()?.viewer;
  return !category || !viewer || canSee(viewer, category.owner);
}

/** All categories, indexed; built-ins are fixed at construction, runtime ones change. */
export class CategoryRegistry {
  readonly #builtins = new Map<string, Category>();
  readonly #runtime = new Map<string, Stored<Category>>();
  /** Deletion revisions of runtime categories: the tombstones that keep late changes-feed events out. */
  readonly #deletedAt = new Map<string, string>();
  readonly #providers = new Map<string, Stored<Provider>>();
  #byLocation = new Map<string, string>();
  #version = 0;
  // Kinds belong to no tenant and are never request-scoped, so what is derived from them holds
  // until the next change; every request path asks for it, many times for a batch.
  #kindMemo = new Map<string, unknown>();
  readonly #defaultProvider: Provider;

  constructor(builtins: Category[], defaultProvider: Provider) {
    for (const category of builtins) this.#builtins.set(categoryId(category), { ...category, builtin: true });
    this.#defaultProvider = defaultProvider;
    this.#reindex();
  }

  /** Grows by one on every change; lets callers cache what they derive from the registry. */
  get version(): number {
    return this.#version;
  }

  /**
   * Runs `fn` as one request sees the registry: `mixins` (its backend templates) become visible,
   * and, for a non-operator `viewer`, other tenants' tags disappear.
   */
  withRequestView<T>(view: { mixins: Mixin[]; viewer?: Principal }, fn: () => T): T {
    // An operator without templates sees the registry as it is, which is what code outside any
    // view sees: no scope is entered. (Entering one turns on Node's promise hooks for the
    // process, a cost on every promise of every request afterwards.) Inside another view, the
    // operator's view must still replace it.
    if (view.mixins.length === 0 && (!view.viewer || view.viewer.operator) && requestView.getStore() === undefined) return fn();
    const store: RequestView = { extras: new Map(view.mixins.map((m) => [categoryId(m), m])) };
    if (view.viewer) store.viewer = view.viewer;
    return requestView.run(store, fn);
  }

  /**
   * Names what the current request sees of the registry, for caching what is derived from it: equal
   * names at one {@link version}, equal categories. Undefined when the request has categories of its
   * own (backend templates), which are not worth caching.
   */
  viewKey(): string | undefined {
    const view = requestView.getStore();
    if (view && view.extras.size > 0) return undefined;
    const viewer = view?.viewer;
    return !viewer || viewer.operator ? 'operator' : `tenant:${viewer.tenant ?? ''}`;
  }

  /** Looks a category up by identifier (scheme + term), as the current request sees it. */
  get(id: string): Category | undefined {
    const found = this.#builtins.get(id) ?? this.#runtime.get(id)?.value ?? requestView.getStore()?.extras.get(id);
    return visible(found) ? found : undefined;
  }

  /** Looks a category up whoever owns it (the category manager's own bookkeeping). */
  getAny(id: string): Category | undefined {
    return this.#builtins.get(id) ?? this.#runtime.get(id)?.value;
  }

  /** The stored revision of a runtime category (undefined for built-ins and unknown ids). */
  revision(id: string): string | undefined {
    return this.#runtime.get(id)?.rev;
  }

  /** True when the identifier is taken, whoever owns the category. */
  has(id: string): boolean {
    return this.#builtins.has(id) || this.#runtime.has(id) || requestView.getStore()?.extras.has(id) === true;
  }

  isBuiltin(id: string): boolean {
    return this.#builtins.has(id);
  }

  kind(id: string): Kind | undefined {
    const category = this.get(id);
    return category?.class === 'kind' ? category : undefined;
  }

  mixin(id: string): Mixin | undefined {
    const category = this.get(id);
    return category?.class === 'mixin' ? category : undefined;
  }

  action(id: string): Action | undefined {
    const category = this.get(id);
    return category?.class === 'action' ? category : undefined;
  }

  /** Every category: built-ins first, then runtime ones, each in identifier order. */
  all(): Category[] {
    const sorted = (categories: Iterable<Category>) => [...categories].sort((a, b) => categoryId(a).localeCompare(categoryId(b)));
    const extras = requestView.getStore()?.extras;
    const runtime = [...this.#runtime.values()].map((s) => s.value).filter(visible);
    return [...sorted(this.#builtins.values()), ...sorted(runtime), ...sorted(extras ? extras.values() : [])];
  }

  /** The kind or mixin whose location is exactly `path` (which ends in `/`). */
  byLocation(path: string): Kind | Mixin | undefined {
    const id = this.#byLocation.get(path);
    if (id !== undefined) {
      const category = this.get(id);
      return category && category.class !== 'action' ? category : undefined;
    }
    for (const mixin of requestView.getStore()?.extras.values() ?? []) if (mixin.location === path) return mixin;
    return undefined;
  }

  /** A kind's provider: the stored one, else the configured default. */
  provider(kindId: string): Provider {
    return this.#providers.get(kindId)?.value ?? this.#defaultProvider;
  }

  /** The stored provider record (with revision), if the kind's provider was ever set. */
  storedProvider(kindId: string): Stored<Provider> | undefined {
    return this.#providers.get(kindId);
  }

  #memo<T>(key: string, compute: () => T): T {
    if (this.#kindMemo.has(key)) return this.#kindMemo.get(key) as T;
    const value = compute();
    this.#kindMemo.set(key, value);
    return value;
  }

  /** The kind itself and its ancestors, nearest first, ending at `core#entity` (do not mutate). */
  lineage(kindId: string): Kind[] {
    return this.#memo(`lineage ${kindId}`, () => this.#lineage(kindId));
  }

  #lineage(kindId: string): Kind[] {
    const chain: Kind[] = [];
    const seen = new Set<string>();
    let current = this.kind(kindId);
    while (current && !seen.has(categoryId(current))) {
      chain.push(current);
      seen.add(categoryId(current));
      current = current.parent ? this.kind(current.parent) : undefined;
    }
    return chain;
  }

  /** True when `kindId` is `ancestorId` or descends from it. */
  descendsFrom(kindId: string, ancestorId: string): boolean {
    return this.lineage(kindId).some((kind) => categoryId(kind) === ancestorId);
  }

  /** The kind and every kind that descends from it (do not mutate). */
  descendants(kindId: string): string[] {
    return this.#memo(`descendants ${kindId}`, () =>
      [...this.#builtins.values(), ...[...this.#runtime.values()].map((s) => s.value)]
        .filter((c): c is Kind => c.class === 'kind' && this.descendsFrom(categoryId(c), kindId))
        .map(categoryId)
        .sort(),
    );
  }

  /** Attribute definitions of a kind including inherited ones, a kind's own winning (do not mutate). */
  kindAttributes(kindId: string): AttributeDefinitions {
    return this.#memo(`attributes ${kindId}`, () => inheritedAttributes(this.lineage(kindId)));
  }

  /** A mixin with every mixin it depends on, transitively (nearest first). */
  mixinClosure(mixinId: string): Mixin[] {
    return dependencyClosure(mixinId, (id) => this.mixin(id));
  }

  /**
   * The categories that reference each of `ids` (as parent, depends, applies or action), for safe
   * deletion, found in one pass over the registry: asking per id made deleting many categories
   * cost the registry's size once per category.
   */
  referrersOf(ids: Iterable<string>): Map<string, Category[]> {
    const out = new Map<string, Category[]>([...ids].map((id) => [id, []]));
    // Whoever owns them: a category is in use even when the caller cannot see its user.
    for (const c of [...this.#builtins.values(), ...[...this.#runtime.values()].map((s) => s.value)]) {
      const refs = c.class === 'kind' ? [c.parent, ...c.actions] : c.class === 'mixin' ? [...c.depends, ...c.applies, ...c.actions] : [];
      for (const ref of new Set(refs)) if (ref !== undefined) out.get(ref)?.push(c);
    }
    return out;
  }

  /** Records a runtime category read from the store; ignored when older than the one held. */
  putStored(category: Category, rev: string): boolean {
    const id = categoryId(category);
    if (this.#builtins.has(id)) return false;
    const held = this.#runtime.get(id);
    if (held && (held.rev === rev || generation(held.rev) > generation(rev))) return false;
    // A late event of a revision the deletion already replaced must not bring the category back.
    const deleted = this.#deletedAt.get(id);
    if (deleted !== undefined && generation(deleted) >= generation(rev)) return false;
    this.#deletedAt.delete(id);
    this.#runtime.set(id, { value: category, rev });
    this.#unindex(id, held?.value);
    if (category.class !== 'action' && category.location) this.#byLocation.set(category.location, id);
    this.#changed();
    return true;
  }

  /**
   * Forgets a runtime category (deleted in the store). With the deletion's revision, a deletion older
   * than the category held is ignored, and the revision is remembered so that no older event adds it back.
   */
  removeStored(id: string, rev?: string): boolean {
    const held = this.#runtime.get(id);
    if (rev !== undefined) {
      if (held && generation(held.rev) > generation(rev)) return false;
      const known = this.#deletedAt.get(id);
      if (known === undefined || generation(known) < generation(rev)) this.#deletedAt.set(id, rev);
    }
    if (!held) return false;
    this.#runtime.delete(id);
    this.#unindex(id, held.value);
    this.#changed();
    return true;
  }

  /**
   * Drops the location a runtime category held, giving it back to a built-in that has it (the
   * index changes by one entry: re-indexing everything on each change made a request that adds
   * many categories cost their square).
   */
  #unindex(id: string, category: Category | undefined): void {
    if (category?.class === 'action' || !category?.location || this.#byLocation.get(category.location) !== id) return;
    this.#byLocation.delete(category.location);
    for (const builtin of this.#builtins.values()) {
      if (builtin.class !== 'action' && builtin.location === category.location) this.#byLocation.set(category.location, categoryId(builtin));
    }
  }

  /** Records a kind's provider read from the store. */
  putProvider(kindId: string, provider: Provider, rev: string): boolean {
    const held = this.#providers.get(kindId);
    if (held && (held.rev === rev || generation(held.rev) > generation(rev))) return false;
    this.#providers.set(kindId, { value: provider, rev });
    this.#version += 1;
    return true;
  }

  /** Forgets a kind's provider, which falls back to the default. */
  removeProvider(kindId: string): boolean {
    if (!this.#providers.delete(kindId)) return false;
    this.#version += 1;
    return true;
  }

  #changed(): void {
    this.#version += 1;
    this.#kindMemo.clear();
  }

  #reindex(): void {
    const byLocation = new Map<string, string>();
    for (const category of [...this.#builtins.values(), ...[...this.#runtime.values()].map((s) => s.value)]) {
      if (category.class !== 'action' && category.location) byLocation.set(category.location, categoryId(category));
    }
    this.#byLocation = byLocation;
  }
}

/** True for the abstract root kind, which has no location and no instances. */
export function isAbstractKind(id: string): boolean {
  return id === ENTITY_KIND;
}
