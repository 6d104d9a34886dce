/**
 * @module The category manager: adds, changes and removes runtime kinds, mixins, actions and kinds'
 * providers. Every change is checked whole against the registry (DESIGN §4), written all or nothing,
 * then applied to the in-memory registry; other processes learn of it through the changes feed.
 */
import { categoryId, type AttributeValue, type Category, type Kind, type Provider } from '../model/category.ts';
import { currentView } from '../model/entity-view.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import type { ParsedCategories, ParsedCategory } from '../model/vocabulary/categories.ts';
import { checkCategories, DEFAULT_DEFINITION_LIMITS, StagedCategories, type DefinitionLimits, type RuleFindings } from './category-rules.ts';
import type { CategoryEvent, CategoryPersistence, CategoryWrite, EntityIndex, MigrationProgress } from './persistence.ts';
import { classifyChange, isBreaking, type CategoryChange, type ChangeKind } from './change-rules.ts';
import { measureImpact, refusal, scopesOf, StagedLookup, unmigratable, type Impact } from './change-impact.ts';
import { references, stillUsed, withoutReferences } from './dependents.ts';
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

/** What to do with the entities a breaking change would make invalid. */
export type EntitiesMode = 'keep' | 'migrate';

/** How a category change treats existing entities, and whether it is only tried. */
export interface ChangeOptions {
  /** Without it, a breaking change that would make entities invalid is refused (409). */
  entities?: EntitiesMode;
  /** Under `migrate`: values for attributes entities lack or hold values of that no longer fit, by category id. */
  migrate?: Record<string, Record<string, AttributeValue>>;
  /** Answer what would change, change nothing. */
  dryRun?: boolean;
}

/** What a change did (or, in a dry run, would do) to one category. */
export interface ChangeReport {
  id: string;
  /** The generation the category has after the change (unchanged ones keep theirs). */
  generation: number;
  changes: CategoryChange[];
  impact?: Impact;
  /** A migration of existing entities was started (it runs in bounded batches and survives restarts). */
  migration?: { scopes: number };
}

/** Changes after which stored entities differ from what reads show until they are rewritten. */
const STORED_SHAPE: ReadonlySet<ChangeKind> = new Set<ChangeKind>([
  'attribute-added',
  'default-added',
  'default-changed',
  'made-required',
  'attribute-removed',
  'type-changed',
  'required-attribute-added',
  'depends-added',
  'depends-removed',
  'parent-changed',
]);

/** What an apply did (or, in a dry run, would do). */
export interface ApplyReport {
  dryRun: boolean;
  /** "unchanged" when the model matches the server, else counts. */
  summary?: string;
  created: string[];
  changed: ChangeReport[];
  removed: string[];
  unchanged: string[];
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
  /** Entities a migration rewrites per batch (default 200), and the pause between batches. */
  migrationBatch?: number;
  migrationPauseMs?: number;
  onMigration?: (progress: MigrationProgress, state: 'batch' | 'done' | 'failed', err?: unknown) => void;
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
  readonly #running = new Set<string>();
  readonly #failures = new Map<string, number>();
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
    // Migrations a stopped process left half done go on from where their progress was saved.
    for (const progress of await this.#persistence.loadMigrations()) void this.#runMigration(progress);
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
    const fresh = (list: ParsedCategory[]) =>
      list.filter((e) => !this.registry.has(categoryId(e.category)) && !(e.category.class !== 'action' && e.category.location && this.registry.byLocation(e.category.location)));
    const todo: ParsedCategories = {
      kinds: fresh(parsed.kinds) as ParsedCategories['kinds'],
      mixins: fresh(parsed.mixins) as ParsedCategories['mixins'],
      actions: fresh(parsed.actions) as ParsedCategories['actions'],
    };
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
      plain.generation = 1;
      delete plain.migration;
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
  async update(
    parsed: ParsedCategories,
    providers: ProviderUpdate[],
    principal: Principal = ANONYMOUS_OPERATOR,
    options: ChangeOptions = {},
  ): Promise<{ categories: Category[]; providers: string[]; reports: ChangeReport[] }> {
    assertMayManage(principal, parsed, providers);
    twice(
      [...parsed.actions, ...parsed.kinds, ...parsed.mixins].map((e) => ({ id: categoryId(e.category), pointer: e.pointer })),
      'category',
    );
    twice(
      providers.map((p) => ({ id: p.kindId, pointer: p.pointer })),
      "kind's provider",
    );
    await this.#letMigrationsFinish([...parsed.kinds, ...parsed.mixins].map((e) => categoryId(e.category)));
    const entries: ParsedCategory[] = [];
    const invalid: FieldProblem[] = [];
    for (const entry of [...parsed.actions, ...parsed.kinds, ...parsed.mixins]) {
      const id = categoryId(entry.category);
      const current = this.registry.get(id);
      if (!current) throw new NotFoundError(`${entry.pointer}: category "${id}" does not exist`);
      if (this.registry.isBuiltin(id)) throw new ForbiddenError(`${entry.pointer}: "${id}" is a built-in category and cannot be changed`);
      if (!principal.operator && current.owner !== principal.tenant) throw new ForbiddenError(`${entry.pointer}: "${id}" is not one of your mixins`);
      if (current.class !== entry.category.class)
        throw new ValidationError(`${entry.pointer}: "${id}" is a ${current.class}, not a ${entry.category.class}`, [{ pointer: entry.pointer, message: `is a ${current.class}` }]);
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
    this.#checkMigrateValues(entries, options);

    const { reports, changed, migrations } = await this.#judge(entries, staged, options);
    if (options.dryRun) return { categories: entries.map((e) => e.category), providers: [], reports };
    const writes: CategoryWrite[] = changed.map(({ category }) => {
      const id = categoryId(category);
      const before = this.registry.get(id)!;
      return { op: 'put-category', category, rev: this.registry.revision(id)!, before };
    });
    for (const progress of migrations) writes.push({ op: 'put-migration', progress });
    for (const update of providers) {
      const kind = this.registry.get(update.kindId);
      if (!kind) throw new NotFoundError(`${update.pointer}: kind "${update.kindId}" does not exist`);
      if (kind.class !== 'kind')
        throw new ValidationError(`${update.pointer}: only kinds have providers, "${update.kindId}" is a ${kind.class}`, [{ pointer: update.pointer, message: 'is not a kind' }]);
      const stored = this.registry.storedProvider(update.kindId);
      const provider = this.#checkedProvider(update.provider, this.registry.provider(update.kindId), `${update.pointer}/provider`);
      writes.push({ op: 'put-provider', kindId: update.kindId, provider, ...(stored ? { rev: stored.rev, before: stored.value } : {}) });
    }
    if (writes.length > 0) await this.#commit(writes);
    for (const progress of migrations) await this.#runMigration({ ...progress, rev: this.#migrationRevs.get(progress.categoryId) ?? '' }, true);
    return { categories: entries.map((e) => this.registry.get(categoryId(e.category))!), providers: providers.map((p) => p.kindId), reports };
  }

  readonly #migrationRevs = new Map<string, string>();

  /** A migration this process runs for a category being changed or removed is let finish first (bounded). */
  async #letMigrationsFinish(ids: string[]): Promise<void> {
    const until = Date.now() + 10_000;
    while (ids.some((id) => this.#running.has(id)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** The runtime categories an operator keeps in a model file: not built-in, not a user's tag. */
  runtimeModel(): Category[] {
    return this.registry.all().filter((c) => this.registry.revision(categoryId(c)) !== undefined && c.owner === undefined);
  }

  /**
   * Applies a whole model (`PUT /-/?apply=true`), like `kubectl apply`: creates the categories
   * that are missing, changes those that differ (each a full replacement, under the change rules),
   * and with `prune` removes runtime categories the model does not have. One commit: all or
   * nothing. Applying the same model again changes nothing and says so.
   *
   * @throws ForbiddenError (403), ValidationError (400), ConflictError (409)
   */
  async apply(parsed: ParsedCategories, options: ChangeOptions & { prune?: boolean }, principal: Principal = ANONYMOUS_OPERATOR): Promise<ApplyReport> {
    if (!principal.operator) throw new ForbiddenError('only operators may apply a model');
    const all = [...parsed.actions, ...parsed.kinds, ...parsed.mixins];
    twice(
      all.map((e) => ({ id: categoryId(e.category), pointer: e.pointer })),
      'category',
    );
    for (const entry of all) {
      delete (entry.category as Kind).provider;
      const id = categoryId(entry.category);
      if (this.registry.isBuiltin(id)) throw new ForbiddenError(`${entry.pointer}: "${id}" is a built-in category; a model holds only runtime ones (GET /-/?origin=runtime)`);
    }
    const creates = all.filter((e) => !this.registry.has(categoryId(e.category)));
    const staged = new StagedCategories(this.registry);
    const invalid: FieldProblem[] = [];
    const changes: ParsedCategory[] = [];
    for (const entry of all.filter((e) => this.registry.has(categoryId(e.category)))) {
      const id = categoryId(entry.category);
      const current = this.registry.get(id)!;
      if (current.class !== entry.category.class)
        throw new ValidationError(`${entry.pointer}: "${id}" is a ${current.class}, not a ${entry.category.class}`, [{ pointer: entry.pointer, message: `is a ${current.class}` }]);
      // A model describes each category whole: every member is replaced, absent ones by their empty value.
      const merged = mergeGiven(current, { ...entry, given: new Set(['title', 'attributes', 'parent', 'actions', 'depends', 'applies', 'location']) });
      if (entry.category.title === undefined) delete merged.title;
      if (current.class !== 'action' && merged.class !== 'action' && merged.location !== current.location) {
        invalid.push({ pointer: `${entry.pointer}/location`, message: `a location cannot be changed (it is "${current.location}")` });
      }
      changes.push({ ...entry, category: merged });
    }
    const created = checkCategories(creates, staged, true);
    const changed = checkCategories(changes, staged, false);
    raise({ invalid: [...invalid, ...created.invalid, ...changed.invalid], conflicts: [...created.conflicts, ...changed.conflicts] });
    this.#checkMigrateValues(changes, options);

    const named = new Set(all.map((e) => categoryId(e.category)));
    const pruned = options.prune ? this.runtimeModel().filter((c) => !named.has(categoryId(c))) : [];
    for (const category of pruned) staged.remove(categoryId(category));
    const prunedIds = new Set(pruned.map(categoryId));
    const problems: FieldProblem[] = [];
    const prunedUsers = this.registry.referrersOf(prunedIds);
    for (const category of pruned) {
      const id = categoryId(category);
      const users = (prunedUsers.get(id) ?? []).map(categoryId).filter((u) => !prunedIds.has(u) && staged.get(u) && references(staged.get(u)!, new Set([id])));
      if (users.length > 0) problems.push({ pointer: '/', message: `"${id}" is not in the model but ${users.join(', ')} still use it` });
      if (category.class === 'kind' && (await this.#entities.anyOfKinds([id])))
        problems.push({ pointer: '/', message: `"${id}" is not in the model but still has entities; delete them first (DELETE ${category.location ?? ''})` });
      if (category.class !== 'action' && creates.some((e) => e.category.class !== 'action' && e.category.location === category.location)) {
        problems.push({ pointer: '/', message: `location "${category.location ?? ''}" would move from ${id} to another category: remove and add in two applies` });
      }
    }
    if (problems.length > 0) throw new ConflictError(`the model cannot be applied: ${problems[0]!.message}`, problems);
    if (!options.dryRun) await this.#assertLocationsFree(creates);

    const judged = await this.#judge(changes, staged, options);
    const report: ApplyReport = {
      dryRun: options.dryRun === true,
      created: creates.map((e) => categoryId(e.category)),
      changed: judged.reports.filter((r) => r.changes.length > 0),
      removed: pruned.map(categoryId),
      unchanged: judged.reports.filter((r) => r.changes.length === 0).map((r) => r.id),
    };
    report.summary =
      report.created.length + report.changed.length + report.removed.length === 0
        ? 'unchanged'
        : `${report.created.length} created, ${report.changed.length} changed, ${report.removed.length} removed`;
    if (options.dryRun || report.summary === 'unchanged') return report;

    const writes: CategoryWrite[] = [];
    for (const { category } of creates) {
      const { provider: _p, migration: _m, ...plain } = category as Kind;
      writes.push({ op: 'put-category', category: { ...plain, generation: 1 } });
      if (category.class !== 'action' && category.location) writes.push({ op: 'claim-location', location: category.location, owner: categoryId(category) });
    }
    for (const { category } of judged.changed) {
      const id = categoryId(category);
      writes.push({ op: 'put-category', category, rev: this.registry.revision(id)!, before: this.registry.get(id)! });
    }
    for (const progress of judged.migrations) writes.push({ op: 'put-migration', progress });
    for (const category of pruned) {
      const id = categoryId(category);
      writes.push({ op: 'delete-category', category, rev: this.registry.revision(id)! });
      if (category.class !== 'action') writes.push({ op: 'release-location', location: category.location!, owner: id });
      const stored = category.class === 'kind' ? this.registry.storedProvider(id) : undefined;
      if (stored) writes.push({ op: 'delete-provider', kindId: id, rev: stored.rev, before: stored.value });
    }
    await this.#commit(writes);
    for (const progress of judged.migrations) await this.#runMigration({ ...progress, rev: this.#migrationRevs.get(progress.categoryId) ?? '' }, true);
    for (const category of pruned) if (category.class === 'mixin') await this.#clean(categoryId(category));
    return report;
  }

  /** Values given for a migration must name categories of the request and attributes they define. */
  #checkMigrateValues(entries: ParsedCategory[], options: ChangeOptions): void {
    const problems: FieldProblem[] = [];
    for (const [id, values] of Object.entries(options.migrate ?? {})) {
      const entry = entries.find((e) => categoryId(e.category) === id);
      if (!entry) {
        problems.push({ pointer: `/migrate/${id}`, message: `"${id}" is not a category this request changes` });
        continue;
      }
      for (const name of Object.keys(values)) {
        if (!Object.hasOwn(entry.category.attributes, name)) problems.push({ pointer: `/migrate/${id}/${name}`, message: `"${name}" is not an attribute of ${id} as changed` });
      }
    }
    if (options.migrate && options.entities !== 'migrate') problems.push({ pointer: '/migrate', message: 'migration values need ?entities=migrate' });
    if (problems.length > 0) throw new ValidationError(`${problems[0]!.pointer}: ${problems[0]!.message}`, problems);
  }

  /**
   * Classifies each category's change, measures breaking ones against the entities, and decides:
   * refused (409, nothing written), kept, or migrated. Unchanged categories are left out.
   */
  async #judge(entries: ParsedCategory[], staged: StagedCategories, options: ChangeOptions): Promise<{ reports: ChangeReport[]; changed: ParsedCategory[]; migrations: MigrationProgress[] }> {
    const reports: ChangeReport[] = [];
    const changed: ParsedCategory[] = [];
    const migrations: MigrationProgress[] = [];
    const lookup = new StagedLookup(staged);
    for (const entry of entries) {
      const id = categoryId(entry.category);
      const before = this.registry.get(id)!;
      const { generation: _g, migration: _m, ...comparable } = entry.category;
      const changes = classifyChange(before, comparable);
      if (changes.length === 0) {
        reports.push({ id, generation: before.generation ?? 1, changes });
        staged.stage(before);
        continue;
      }
      if (before.migration && (this.#running.has(id) || (await this.#persistence.loadMigrations()).some((p) => p.categoryId === id))) {
        throw new ConflictError(`${entry.pointer}: a migration of the entities of "${id}" to generation ${before.migration.generation} is still under way; change it again when it is done`, [
          { pointer: entry.pointer, message: 'is being migrated' },
        ]);
      }
      const generation = (before.generation ?? 1) + 1;
      const category: Category = { ...(comparable as Category), generation };
      if (options.entities === 'migrate') {
        const convert = changes.filter((c) => c.change === 'type-changed').map((c) => c.attribute!);
        category.migration = { generation, ...(convert.length > 0 ? { convert } : {}), set: options.migrate?.[id] ?? {} };
      }
      staged.stage(category);
      const scopes = before.class === 'action' ? [] : scopesOf(this.registry, before);
      const report: ChangeReport = { id, generation, changes };
      if (isBreaking(changes) && scopes.length > 0) {
        const impact = await measureImpact(this.#entities, scopes, this.registry, lookup, changes, options.entities === 'migrate');
        report.impact = impact;
        if (impact.invalid > 0 && !options.entities && !options.dryRun) throw refusal(entry.pointer, id, changes, impact);
        if (options.entities === 'migrate' && impact.unmigratable > 0 && !options.dryRun) throw unmigratable(entry.pointer, id, impact);
      }
      const rewrite = changes.some((c) => STORED_SHAPE.has(c.change)) && scopes.length > 0 && (await this.#anyIn(scopes));
      if (rewrite) {
        category.migration ??= { generation };
        migrations.push({ categoryId: id, generation, scopes, scope: 0, done: 0 });
        report.migration = { scopes: scopes.length };
      } else delete category.migration;
      entry.category = category;
      changed.push(entry);
      reports.push(report);
    }
    return { reports, changed, migrations };
  }

  async #anyIn(scopes: { kind: string }[] | ReturnType<typeof scopesOf>): Promise<boolean> {
    for (const scope of scopes) if ((await this.#entities.scanScope(scope, undefined, 1)).entities.length > 0) return true;
    return false;
  }

  /**
   * Walks a migration's scopes batch by batch (`inline`: one batch's worth within the request that
   * started it, then the rest in the background), rewriting each entity as reads show it under the new
   * definitions, saving progress after each batch; at the end the category forgets its plan.
   * Another process that saved the same progress first carries on alone; a failure is retried.
   */
  async #runMigration(start: MigrationProgress, inline = false): Promise<void> {
    if (this.#running.has(start.categoryId) || this.#stopped) return;
    this.#running.add(start.categoryId);
    const progress = { ...start, scopes: [...start.scopes] };
    const batch = this.#options.migrationBatch ?? 200;
    let scanned = 0;
    let handOff = false;
    try {
      while (!this.#stopped) {
        // A category deleted meanwhile has nothing left to migrate.
        const scope = this.registry.getAny(progress.categoryId) ? progress.scopes[progress.scope] : undefined;
        if (!scope) {
          await this.#finishMigration(progress);
          this.#options.onMigration?.(progress, 'done');
          return;
        }
        // Within the request, one batch's worth: a small migration is done when the change is answered.
        if (inline && scanned >= batch) {
          handOff = true;
          break;
        }
        const page = await this.#entities.scanScope(scope, progress.cursor, batch);
        scanned += page.entities.length;
        progress.done += await this.#entities.rewrite(page.entities, (e) => currentView(this.registry, e));
        if (page.cursor === undefined) {
          progress.scope += 1;
          delete progress.cursor;
        } else progress.cursor = page.cursor;
        const rev = await this.#persistence.saveMigration(progress);
        if (rev === undefined) return;
        progress.rev = rev;
        this.#options.onMigration?.(progress, 'batch');
        if (!inline && this.#options.migrationPauseMs) await new Promise((resolve) => setTimeout(resolve, this.#options.migrationPauseMs));
      }
    } catch (err) {
      this.#options.onMigration?.(progress, 'failed', err);
      // Retried from the saved position, a bounded number of times in this process (a restart resumes it too).
      const failures = (this.#failures.get(start.categoryId) ?? 0) + 1;
      this.#failures.set(start.categoryId, failures);
      if (!this.#stopped && failures < 20) setTimeout(() => void this.#runMigration(progress), 1000 * Math.min(failures, 10)).unref();
    } finally {
      this.#running.delete(start.categoryId);
    }
    // The rest goes on in the background, batch by batch, from the position just saved.
    if (handOff) void this.#runMigration(progress);
  }

  async #finishMigration(progress: MigrationProgress): Promise<void> {
    const current = this.registry.getAny(progress.categoryId);
    const writes: CategoryWrite[] = [{ op: 'delete-migration', progress }];
    if (current?.migration && current.migration.generation === progress.generation) {
      const { migration: _done, ...rest } = current;
      writes.push({ op: 'put-category', category: rest as Category, rev: this.registry.revision(progress.categoryId)!, before: current });
    }
    await this.#commit(writes);
  }

  /**
   * Removes categories (DELETE /-/). A category other categories still use is refused, naming them
   * and the request that would remove them too; with `cascade` they are dealt with instead: a
   * mixin that applies to other kinds as well stops applying to the removed one, a kind or mixin
   * that lists a removed action stops listing it, and the others (sub-kinds, mixins depending on a
   * removed mixin or applying only to removed kinds) are removed. A kind that still has entities is
   * refused unless `cascade` (its entities go too); a removed mixin is dissociated from every entity.
   *
   * @throws NotFoundError (404), ForbiddenError (403), ConflictError (409)
   */
  async remove(given: CategoryRef[], options: { cascade: boolean }, principal: Principal = ANONYMOUS_OPERATOR): Promise<{ removed: Category[]; changed: Category[]; cascaded: string[] }> {
    // A category named twice (by id and by term and scheme, say) is removed once.
    const refs = given.filter((ref, i) => given.findIndex((r) => r.id === ref.id) === i);
    await this.#letMigrationsFinish(refs.map((r) => r.id));
    const ids = new Set(refs.map((r) => r.id));
    const targets: Category[] = [];
    const mayTouch = (category: Category) => principal.operator || (category.class === 'mixin' && category.owner === principal.tenant);
    for (const ref of refs) {
      const category = this.registry.get(ref.id);
      if (!category) throw new NotFoundError(`${ref.pointer}: category "${ref.id}" does not exist`);
      if (this.registry.isBuiltin(ref.id)) throw new ForbiddenError(`${ref.pointer}: "${ref.id}" is a built-in category and cannot be deleted`);
      if (!mayTouch(category)) throw new ForbiddenError(`${ref.pointer}: users may delete only their own mixins, and "${ref.id}" is not one`);
      targets.push(category);
    }
    const changed = new Map<string, Category>();
    const cascaded: string[] = [];
    for (let grew = true; grew;) {
      grew = false;
      const handled = (user: Category) => {
        const next = changed.get(categoryId(user));
        return next !== undefined && withoutReferences(next, ids) !== undefined && !references(next, ids);
      };
      // One pass over the registry per round, whatever the number of categories deleted.
      const users = [...this.registry.referrersOf(ids)].flatMap(([id, list]) => list.map((user) => ({ id, user }))).filter(({ user }) => !ids.has(categoryId(user)) && !handled(user));
      if (users.length === 0) break;
      if (!options.cascade) throw stillUsed(refs, users, ids, (id) => this.registry.getAny(id)?.class ?? 'kind');
      for (const { user } of users) {
        const userId = categoryId(user);
        if (ids.has(userId)) continue;
        if (this.registry.isBuiltin(userId) || !mayTouch(user))
          throw stillUsed(
            refs,
            users.filter((u) => categoryId(u.user) === userId),
            ids,
            (id) => this.registry.getAny(id)?.class ?? 'kind',
          );
        const next = withoutReferences(changed.get(userId) ?? user, ids);
        if (next) changed.set(userId, next);
        else {
          changed.delete(userId);
          ids.add(userId);
          targets.push(user);
          cascaded.push(userId);
          grew = true;
        }
      }
    }
    const kinds = targets.filter((c) => c.class === 'kind').map(categoryId);
    if (kinds.length > 0 && !options.cascade && (await this.#entities.anyOfKinds(kinds))) {
      throw new ConflictError(`a kind to delete still has entities (${kinds.join(', ')}); delete them first or repeat the request with ?cascade=true to delete them with it`);
    }
    const writes: CategoryWrite[] = [];
    for (const category of targets) {
      const id = categoryId(category);
      writes.push({ op: 'delete-category', category, rev: this.registry.revision(id)! });
      if (category.class !== 'action') writes.push({ op: 'release-location', location: category.location!, owner: id });
      const stored = category.class === 'kind' ? this.registry.storedProvider(id) : undefined;
      if (stored) writes.push({ op: 'delete-provider', kindId: id, rev: stored.rev, before: stored.value });
    }
    for (const [id, category] of changed) {
      const before = this.registry.getAny(id)!;
      writes.push({ op: 'put-category', category: { ...category, generation: (before.generation ?? 1) + 1 }, rev: this.registry.revision(id)!, before });
    }
    // Recorded before the deletion, so that a process stopped at any point after it leaves the
    // cleaning to the next start-up (a failed deletion leaves a record of a live mixin: ignored).
    for (const category of targets) if (category.class === 'mixin') await this.#persistence.markCleaning(categoryId(category), this.registry.revision(categoryId(category))!);
    // Entities of a cascaded kind go first: if that fails, the kind is still there to describe them.
    for (const kindId of kinds) if (options.cascade) await this.#entities.deleteOfKind(kindId);
    await this.#commit(writes);
    // A mixin's associations are cleaned after it is gone, so no new association can race in.
    for (const category of targets) if (category.class === 'mixin') await this.#clean(categoryId(category));
    return { removed: targets, changed: [...changed.keys()].map((id) => this.registry.getAny(id)!), cascaded };
  }

  async #commit(writes: CategoryWrite[]): Promise<void> {
    const revs = await this.#persistence.commit(writes);
    for (const write of writes) {
      if (write.op === 'put-migration') this.#migrationRevs.set(write.progress.categoryId, revs.get(`migration:${write.progress.categoryId}`) ?? '');
    }
    for (const write of writes) {
      if (write.op === 'put-category') {
        const rev = revs.get(`category:${categoryId(write.category)}`);
        if (rev) applyEvent(this.registry, { type: 'category', category: write.category, rev });
      } else if (write.op === 'delete-category') {
        const rev = revs.get(`category:${categoryId(write.category)}`);
        applyEvent(this.registry, { type: 'category-deleted', id: categoryId(write.category), ...(rev ? { rev } : {}) });
      } else if (write.op === 'put-provider') {
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
