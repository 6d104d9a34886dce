/**
 * @module The category manager: adds, changes and removes runtime kinds, mixins, actions and kinds'
 * providers. Every change is checked whole against the registry (DESIGN §4), written all or nothing,
 * then applied to the in-memory registry; other processes learn of it through the changes feed.
 */
import { categoryId, type Category, type Kind, type Provider } from '../model/category.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import type { ParsedCategories, ParsedCategory } from '../model/vocabulary/categories.ts';
import { checkCategories, DEFAULT_DEFINITION_LIMITS, StagedCategories, type DefinitionLimits, type RuleFindings } from './category-rules.ts';
import type { CategoryEvent, CategoryPersistence, CategoryWrite, EntityIndex } from './persistence.ts';
import type { CategoryRegistry } from './registry.ts';
import { ANONYMOUS_OPERATOR, type Principal } from '../auth/principal.ts';

/** Users manage their own mixins (tags); kinds, actions and providers are operator work. */
function assertMayManage(principal: Principal, parsed: ParsedCategories, providers: ProviderUpdate[] = []): void {
  if (principal.operator) return;
  if (parsed.kinds.length > 0) throw new ForbiddenError(`${parsed.kinds[0]!.pointer}: only operators may manage kinds`);
  if (parsed.actions.length > 0) throw new ForbiddenError(`${parsed.actions[0]!.pointer}: only operators may manage actions`);
  if (providers.length > 0) throw new ForbiddenError(`${providers[0]!.pointer}: only operators may route kinds to providers`);
}

/** A kind's new provider, as read from `PUT /-/ {"providers": [...]}`. */
export interface ProviderUpdate {
  kindId: string;
  provider: Partial<Provider>;
  pointer: string;
}

/** A category named for deletion. */
export interface CategoryRef {
  id: string;
  pointer: string;
}

/** Refuses a change that names one category twice: which of the two should win? */
function twice(items: { id: string; pointer: string }[], what: string): void {
  const seen = new Map<string, string>();
  for (const { id, pointer } of items) {
    const first = seen.get(id);
    if (first !== undefined) throw new ValidationError(`${pointer}: the ${what} "${id}" is given twice (also at ${first})`, [{ pointer, message: 'given twice' }]);
    seen.set(id, pointer);
  }
}

/** Raised to the caller as 400 or 409, with every problem found. */
function raise(findings: RuleFindings): void {
  if (findings.conflicts.length > 0) {
    const first = findings.conflicts[0]!;
    throw new ConflictError(`${first.pointer}: ${first.message}`, [...findings.conflicts, ...findings.invalid]);
  }
  if (findings.invalid.length > 0) {
    const first = findings.invalid[0]!;
    throw new ValidationError(`${first.pointer}: ${first.message}`, findings.invalid);
  }
}

/** Applies one stored change to the registry; returns true when it changed anything. */
export function applyEvent(registry: CategoryRegistry, event: CategoryEvent): boolean {
  switch (event.type) {
    case 'category':
      return registry.putStored(event.category, event.rev);
    case 'category-deleted':
      return registry.removeStored(event.id, event.rev);
    case 'provider':
      return registry.putProvider(event.kindId, event.provider, event.rev);
    case 'provider-deleted':
      return registry.removeProvider(event.kindId);
  }
}

/** Options of the category manager. */
export interface CategoryManagerOptions {
  registry: CategoryRegistry;
  persistence: CategoryPersistence;
  entities: EntityIndex;
  /** The configured backend names a provider may use. */
  backendNames: ReadonlySet<string>;
  /** Bounds on what one category may hold; the defaults of `config/default.json` when absent. */
  limits?: DefinitionLimits;
  onFeedError?: (err: unknown) => void;
  onFeedChange?: (event: CategoryEvent) => void;
  /** Most mixins (tags) one user tenant may own; undefined: no limit. */
  tagsPerTenant?: number;
  /** A deleted mixin's cleaning failed; it is tried again in the background. */
  onCleanupError?: (err: unknown, mixinId: string) => void;
}

/** How often a deleted mixin's cleaning is tried again, the pause doubling from 250 ms to 30 s. */
const CLEANUP_ATTEMPTS = 20;

/** Runtime category CRUD on top of the registry and its persistence. */
export class CategoryManager {
  readonly registry: CategoryRegistry;
  readonly #persistence: CategoryPersistence;
  readonly #entities: EntityIndex;
  readonly #backendNames: ReadonlySet<string>;
  readonly #options: CategoryManagerOptions;
  /** Deleted mixins whose entities are still being cleaned, with the timer of the next attempt. */
  readonly #cleaning = new Map<string, NodeJS.Timeout | undefined>();
  #stopped = false;

  constructor(options: CategoryManagerOptions) {
    this.registry = options.registry;
    this.#persistence = options.persistence;
    this.#entities = options.entities;
    this.#backendNames = options.backendNames;
    this.#options = options;
  }

  /** Loads the stored categories into the registry and starts following the changes feed. */
  async start(): Promise<void> {
    const { events, since } = await this.#persistence.load();
    for (const event of events) applyEvent(this.registry, event);
    const pending = await this.#persistence.pendingCleanings();
    this.#persistence.follow(
      since,
      (event) => {
        if (applyEvent(this.registry, event)) this.#options.onFeedChange?.(event);
      },
      (err) => this.#options.onFeedError?.(err),
    );
    // Cleanings a stopped process left unfinished go on here, in the background. A mixin that is
    // there is left alone: its deletion never happened (it failed, or is in flight in another
    // process) and re-adding a recorded one is refused, so its members are its own.
    for (const { mixinId } of pending) if (!this.registry.has(mixinId) && !this.#cleaning.has(mixinId)) void this.#clean(mixinId);
  }

  /**
   * Adds the categories of a seed file once per database (the first process to start on a fresh
   * store does it); categories that exist already are left alone.
   */
  async seedOnce(name: string, parsed: ParsedCategories): Promise<number> {
    if (!(await this.#persistence.claimOnce(`seed:${name}`))) return 0;
    const fresh = (list: ParsedCategory[]) => list.filter((e) => !this.registry.has(categoryId(e.category)) && !(e.category.class !== 'action' && e.category.location && this.registry.byLocation(e.category.location)));
    const todo: ParsedCategories = { kinds: fresh(parsed.kinds) as ParsedCategories['kinds'], mixins: fresh(parsed.mixins) as ParsedCategories['mixins'], actions: fresh(parsed.actions) as ParsedCategories['actions'] };
    const count = todo.kinds.length + todo.mixins.length + todo.actions.length;
    if (count > 0) await this.add(todo);
    return count;
  }

  /** Stops following the changes feed. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#cleaning.values()) clearTimeout(timer);
    this.#persistence.stop();
  }

  /** A user's tenant may own at most `tagsPerTenant` mixins: every tag costs memory in every process. */
  #assertTagQuota(tenant: string, adding: number): void {
    const limit = this.#options.tagsPerTenant;
    if (limit === undefined || adding === 0) return;
    const owned = this.registry.all().filter((c) => c.class === 'mixin' && c.owner === tenant).length;
    if (owned + adding > limit) {
      throw new ForbiddenError(`quota: tenant "${tenant}" owns ${owned} mixins (tags); ${adding} more would exceed its limit of ${limit} (limits.tagsPerTenant)`);
    }
  }

  /**
   * Removes a deleted mixin from every entity that still names it, in batches (`dissociateEverywhere`),
   * then ends its record in the store. The deletion is done when this starts (entities tolerate a
   * mixin that is gone: reads and updates drop it), so a failure does not undo it: the cleaning is
   * tried again in the background, and after a restart from its record.
   */
  async #clean(mixinId: string, attempt = 0): Promise<void> {
    this.#cleaning.set(mixinId, undefined);
    try {
      await this.#entities.dissociateEverywhere(mixinId);
      await this.#persistence.endCleaning(mixinId);
      this.#cleaning.delete(mixinId);
    } catch (err) {
      this.#options.onCleanupError?.(err, mixinId);
      if (this.#stopped || attempt >= CLEANUP_ATTEMPTS) {
        this.#cleaning.delete(mixinId);
        return;
      }
      const timer = setTimeout(() => void this.#clean(mixinId, attempt + 1), Math.min(250 * 2 ** attempt, 30_000));
      timer.unref();
      this.#cleaning.set(mixinId, timer);
    }
  }

  /** True while a deleted mixin's entities are still being cleaned (in this process). */
  cleaning(mixinId: string): boolean {
    return this.#cleaning.has(mixinId);
  }

  /**
   * Adds categories (POST /-/).
   *
   * @throws ValidationError (400), ConflictError (409)
   */
  async add(parsed: ParsedCategories, principal: Principal = ANONYMOUS_OPERATOR): Promise<Category[]> {
    assertMayManage(principal, parsed);
    // A user's mixin is a tag of the user's tenant, invisible to other tenants.
    if (!principal.operator) for (const entry of parsed.mixins) entry.category.owner = principal.tenant!;
    if (!principal.operator) this.#assertTagQuota(principal.tenant!, parsed.mixins.length);
    const entries = [...parsed.actions, ...parsed.kinds, ...parsed.mixins];
    const staged = new StagedCategories(this.registry);
    raise(checkCategories(entries, staged, true, this.#options.limits ?? DEFAULT_DEFINITION_LIMITS));
    await this.#assertLocationsFree(entries);
    // A mixin added again before the old one's members were cleaned would inherit them.
    // The record in the store counts, whichever process deleted it (and across restarts).
    const recorded = parsed.mixins.length === 0 ? [] : await this.#persistence.pendingCleanings(parsed.mixins.map((e) => categoryId(e.category)));
    const unclean = parsed.mixins.find((e) => this.#cleaning.has(categoryId(e.category)) || recorded.some((r) => r.mixinId === categoryId(e.category)));
    if (unclean) throw new ConflictError(`${unclean.pointer}: "${categoryId(unclean.category)}" was deleted and its entities are still being cleaned; try again later`);
    const writes: CategoryWrite[] = [];
    for (const { category } of entries) {
      const { provider, ...plain } = category as Kind;
      writes.push({ op: 'put-category', category: plain });
      if (category.class !== 'action' && category.location) writes.push({ op: 'claim-location', location: category.location, owner: categoryId(category) });
    }
    for (const { category, pointer } of parsed.kinds) {
      if (category.provider) {
        const kindId = categoryId(category);
        writes.push({ op: 'put-provider', kindId, provider: this.#checkedProvider(category.provider, this.registry.provider(kindId), `${pointer}/provider`) });
      }
    }
    await this.#commit(writes);
    return entries.map((e) => this.registry.get(categoryId(e.category)) ?? e.category);
  }

  /**
   * Replaces the given members of existing categories and sets kinds' providers (PUT /-/).
   *
   * @throws NotFoundError (404), ForbiddenError (403), ValidationError (400), ConflictError (409)
   */
  async update(parsed: ParsedCategories, providers: ProviderUpdate[], principal: Principal = ANONYMOUS_OPERATOR): Promise<{ categories: Category[]; providers: string[] }> {
    assertMayManage(principal, parsed, providers);
    twice(
      [...parsed.actions, ...parsed.kinds, ...parsed.mixins].map((e) => ({ id: categoryId(e.category), pointer: e.pointer })),
      'category',
    );
    twice(providers.map((p) => ({ id: p.kindId, pointer: p.pointer })), "kind's provider");
    const entries: ParsedCategory[] = [];
    const invalid: FieldProblem[] = [];
    for (const entry of [...parsed.actions, ...parsed.kinds, ...parsed.mixins]) {
      const id = categoryId(entry.category);
      const current = this.registry.get(id);
      if (!current) throw new NotFoundError(`${entry.pointer}: category "${id}" does not exist`);
      if (this.registry.isBuiltin(id)) throw new ForbiddenError(`${entry.pointer}: "${id}" is a built-in category and cannot be changed`);
      if (!principal.operator && current.owner !== principal.tenant) throw new ForbiddenError(`${entry.pointer}: "${id}" is not one of your mixins`);
      if (current.class !== entry.category.class) throw new ValidationError(`${entry.pointer}: "${id}" is a ${current.class}, not a ${entry.category.class}`, [{ pointer: entry.pointer, message: `is a ${current.class}` }]);
      const merged = mergeGiven(current, entry);
      if (current.class !== 'action' && merged.class !== 'action' && merged.location !== current.location) {
        invalid.push({ pointer: `${entry.pointer}/location`, message: `a location cannot be changed (it is "${current.location}")` });
      }
      entries.push({ ...entry, category: merged });
    }
    const staged = new StagedCategories(this.registry);
    const findings = checkCategories(entries, staged, false, this.#options.limits ?? DEFAULT_DEFINITION_LIMITS);
    findings.invalid.unshift(...invalid);
    raise(findings);

    const writes: CategoryWrite[] = entries.map(({ category }) => {
      const id = categoryId(category);
      const before = this.registry.get(id)!;
      return { op: 'put-category', category, rev: this.registry.revision(id)!, before };
    });
    for (const update of providers) {
      const kind = this.registry.get(update.kindId);
      if (!kind) throw new NotFoundError(`${update.pointer}: kind "${update.kindId}" does not exist`);
      if (kind.class !== 'kind') throw new ValidationError(`${update.pointer}: only kinds have providers, "${update.kindId}" is a ${kind.class}`, [{ pointer: update.pointer, message: 'is not a kind' }]);
      const stored = this.registry.storedProvider(update.kindId);
      const provider = this.#checkedProvider(update.provider, this.registry.provider(update.kindId), `${update.pointer}/provider`);
      writes.push({ op: 'put-provider', kindId: update.kindId, provider, ...(stored ? { rev: stored.rev, before: stored.value } : {}) });
    }
    await this.#commit(writes);
    return { categories: entries.map((e) => this.registry.get(categoryId(e.category))!), providers: providers.map((p) => p.kindId) };
  }

  /**
   * Removes categories (DELETE /-/). A kind that still has entities is refused unless `cascade`;
   * a removed mixin is dissociated from every entity.
   *
   * @throws NotFoundError (404), ForbiddenError (403), ConflictError (409)
   */
  async remove(given: CategoryRef[], options: { cascade: boolean }, principal: Principal = ANONYMOUS_OPERATOR): Promise<Category[]> {
    // A category named twice (by id and by term and scheme, say) is removed once.
    const refs = given.filter((ref, i) => given.findIndex((r) => r.id === ref.id) === i);
    const ids = new Set(refs.map((r) => r.id));
    const targets: Category[] = [];
    const referrers = this.registry.referrersOf(ids);
    for (const ref of refs) {
      const category = this.registry.get(ref.id);
      if (!category) throw new NotFoundError(`${ref.pointer}: category "${ref.id}" does not exist`);
      if (this.registry.isBuiltin(ref.id)) throw new ForbiddenError(`${ref.pointer}: "${ref.id}" is a built-in category and cannot be deleted`);
      if (!principal.operator && (category.class !== 'mixin' || category.owner !== principal.tenant)) {
        throw new ForbiddenError(`${ref.pointer}: users may delete only their own mixins, and "${ref.id}" is not one`);
      }
      const users = (referrers.get(ref.id) ?? []).filter((c) => !ids.has(categoryId(c)));
      if (users.length > 0) {
        throw new ConflictError(`${ref.pointer}: "${ref.id}" is still used by ${users.map(categoryId).join(', ')}; delete or change those first`, [{ pointer: ref.pointer, message: 'is still referenced' }]);
      }
      targets.push(category);
    }
    const kinds = targets.filter((c) => c.class === 'kind').map(categoryId);
    if (kinds.length > 0 && !options.cascade && (await this.#entities.anyOfKinds(kinds))) {
      throw new ConflictError(`a kind to delete still has entities; delete them first or repeat the request with ?cascade=true`);
    }
    const writes: CategoryWrite[] = [];
    for (const category of targets) {
      const id = categoryId(category);
      writes.push({ op: 'delete-category', category, rev: this.registry.revision(id)! });
      if (category.class !== 'action') writes.push({ op: 'release-location', location: category.location!, owner: id });
      const stored = category.class === 'kind' ? this.registry.storedProvider(id) : undefined;
      if (stored) writes.push({ op: 'delete-provider', kindId: id, rev: stored.rev, before: stored.value });
    }
    // Recorded before the deletion, so that a process stopped at any point after it leaves the
    // cleaning to the next start-up (a failed deletion leaves a record of a live mixin: ignored).
    for (const category of targets) if (category.class === 'mixin') await this.#persistence.markCleaning(categoryId(category), this.registry.revision(categoryId(category))!);
    // Entities of a cascaded kind go first: if that fails, the kind is still there to describe them.
    for (const kindId of kinds) if (options.cascade) await this.#entities.deleteOfKind(kindId);
    await this.#commit(writes);
    // A mixin's associations are cleaned after it is gone, so no new association can race in.
    for (const category of targets) if (category.class === 'mixin') await this.#clean(categoryId(category));
    return targets;
  }

  async #commit(writes: CategoryWrite[]): Promise<void> {
    const revs = await this.#persistence.commit(writes);
    for (const write of writes) {
      if (write.op === 'put-category') {
        const rev = revs.get(`category:${categoryId(write.category)}`);
        if (rev) applyEvent(this.registry, { type: 'category', category: write.category, rev });
      } else if (write.op === 'delete-category') {
        const rev = revs.get(`category:${categoryId(write.category)}`);
        applyEvent(this.registry, { type: 'category-deleted', id: categoryId(write.category), ...(rev ? { rev } : {}) });
      }
      else if (write.op === 'put-provider') {
        const rev = revs.get(`provider:${write.kindId}`);
        if (rev) applyEvent(this.registry, { type: 'provider', kindId: write.kindId, provider: write.provider, rev });
      } else if (write.op === 'delete-provider') applyEvent(this.registry, { type: 'provider-deleted', kindId: write.kindId });
    }
  }

  async #assertLocationsFree(entries: ParsedCategory[]): Promise<void> {
    for (const { category, pointer } of entries) {
      if (category.class === 'action' || !category.location) continue;
      if (await this.#entities.anyBelow(category.location)) {
        throw new ConflictError(`${pointer}/location: entities already live under "${category.location}"`, [{ pointer: `${pointer}/location`, message: 'collides with existing entities' }]);
      }
    }
  }

  #checkedProvider(given: Partial<Provider>, current: Provider, pointer: string): Provider {
    const provider: Provider = { local: given.local ?? current.local, remote: given.remote ?? current.remote };
    const problems: FieldProblem[] = [];
    for (const side of ['local', 'remote'] as const) {
      provider[side].forEach((name, i) => {
        if (!this.#backendNames.has(name)) problems.push({ pointer: `${pointer}/${side}/${i}`, message: `backend "${name}" is not configured (configured: ${[...this.#backendNames].join(', ')})` });
      });
    }
    if (provider.local.length + provider.remote.length === 0) problems.push({ pointer, message: 'a provider must name at least one backend' });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
    return provider;
  }
}

/** The current category with the members the request gave replaced (PUT /-/ semantics). */
function mergeGiven(current: Category, entry: ParsedCategory): Category {
  const next = entry.category as unknown as Record<string, unknown>;
  const out = { ...current } as unknown as Record<string, unknown>;
  for (const member of ['title', 'attributes', 'parent', 'actions', 'depends', 'applies', 'location']) {
    if (entry.given.has(member) && member in next) out[member] = next[member];
  }
  delete out.provider;
  return out as unknown as Category;
}
