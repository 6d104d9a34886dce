/**
 * @module Change streams: `GET <collection>?watch=true` and `GET /-/?watch=true` answer
 * Server-Sent Events (`text/event-stream`) for entities (or categories) added, changed and removed,
 * read from the process's one shared changes-feed follower, limited to the collection and to the
 * caller's tenant. Each event's id is the CouchDB sequence (opaque): a client that reconnects with
 * `Last-Event-ID` gets what it missed. Delivery is at least once; an entity's `etag` tells repeats.
 */
import { PassThrough } from 'node:stream';
import type { Context, Middleware, Next } from 'koa';
import { categoryId, type Category } from '../../model/category.ts';
import { isReservedPath, toPath } from '../../model/location.ts';
import { canSee, type Principal } from '../../auth/principal.ts';
import { NotFoundError, OcciError, ValidationError } from '../../errors.ts';
import { watchEvents, watchStreams } from '../../metrics.ts';
import { rendererFor } from '../../render/index.ts';
import { checkSeq, type DocChange } from '../../store/changes-follower.ts';
import { concerns, toEntityChange, type EntityChange } from '../../store/entity-changes.ts';
import type { EntityDoc, ListScope } from '../../store/entity-store.ts';
import { chooseType } from '../negotiate.ts';
import { queryValue } from '../request-context.ts';
import { renderContext } from '../respond.ts';
import type { Services } from '../services.ts';
import type { CategoryDoc } from '../watch-hub.ts';
import { QUERY_PATHS } from './query-interface.ts';

const EVENT_STREAM = 'text/event-stream';
/** A client that reads slower than this much is behind: its stream ends and it resumes with Last-Event-ID. */
const MAX_UNREAD_BYTES = 1 << 20;
/** Query parameters that filter or page a listing; a stream applies none of them. */
const LISTING_PARAMETERS = ['category', 'attribute', 'value', 'page', 'number'];

/** True when the request asks for a stream; `?watch=false` (or none) is an ordinary request. */
function wantsWatch(ctx: Context): boolean {
  const watch = queryValue(ctx, 'watch');
  if (watch === undefined || watch === 'false') return false;
  if (watch !== 'true') throw new ValidationError(`?watch must be true or false, not "${watch}"`, [{ pointer: '?watch', message: 'must be true or false' }]);
  return true;
}

function principalOf(ctx: Context): Principal {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw new Error('no principal on the request: the authentication middleware is missing');
  return principal;
}

/** Checks what every stream needs: an acceptable media type, no listing filters, a valid resume point. */
function streamPrologue(ctx: Context): string | undefined {
  if (!chooseType(ctx.get('Accept'), [EVENT_STREAM])) throw new OcciError('not-acceptable', `change streams answer ${EVENT_STREAM}, which ${ctx.get('Accept')} does not accept`);
  const given = LISTING_PARAMETERS.find((name) => ctx.query[name] !== undefined);
  if (given) throw new ValidationError(`?${given} does not apply to a change stream: it reports every change of the collection`, [{ pointer: `?${given}`, message: 'not applied to change streams' }]);
  const last = ctx.get('Last-Event-ID').trim();
  return last === '' ? undefined : checkSeq(last, 'Last-Event-ID');
}

/** Who a stream counts against: the authenticated user, or the client's address when authentication is off. */
function callerKey(ctx: Context, services: Services, principal: Principal): string {
  return services.config.auth.mode === 'none' ? `address:${ctx.req.socket.remoteAddress ?? ''}` : `user:${principal.id}`;
}

/** One open event stream: writes events, heartbeats, and ends cleanly whoever ends it. */
class EventStream {
  readonly body = new PassThrough();
  #ended = false;
  readonly #cleanups: (() => void)[] = [];

  constructor(heartbeatMs: number) {
    const beat = setInterval(() => this.#write(': keep-alive\n\n'), heartbeatMs);
    this.onEnd(() => clearInterval(beat));
    this.body.on('close', () => this.end());
  }

  /** Runs `fn` once when the stream ends. */
  onEnd(fn: () => void): void {
    if (this.#ended) fn();
    else this.#cleanups.push(fn);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sends one event; `data` is serialised as one line of JSON. */
  event(type: string, id: string | undefined, data: unknown): void {
    this.#write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    if (type === 'added' || type === 'changed' || type === 'removed') watchEvents.inc({ type });
  }

  /** Moves the client's resume point without an event (an `id` field alone dispatches nothing). */
  position(id: string): void {
    this.#write(`id: ${id}\n\n`);
  }

  /** Writes raw stream text (the opening lines). */
  raw(text: string): void {
    this.#write(text);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const fn of this.#cleanups.splice(0)) fn();
    this.body.end();
  }

  #write(text: string): void {
    if (this.#ended) return;
    this.body.write(text);
    // A client that does not read is let go rather than buffered without bound.
    if (this.body.writableLength > MAX_UNREAD_BYTES) {
      this.body.write('event: overflow\ndata: {"reason":"the client reads too slowly; resume with Last-Event-ID"}\n\n');
      this.end();
    }
  }
}

/**
 * Opens the stream: admission (429 beyond the caller's bound), the response head, the metric,
 * cleanup on disconnect and shutdown.
 */
function openStream(ctx: Context, services: Services, principal: Principal, collection: string): EventStream {
  const stream = new EventStream(services.config.watch.heartbeatMs);
  const release = services.watch.admit(callerKey(ctx, services, principal), stream);
  watchStreams.inc({ collection });
  stream.onEnd(() => {
    release();
    watchStreams.dec({ collection });
  });
  // The response closes when the client goes away (the request may have closed long before).
  ctx.res.on('close', () => stream.end());
  ctx.req.socket.setNoDelay(true);
  ctx.status = 200;
  ctx.type = EVENT_STREAM;
  ctx.set('Cache-Control', 'no-store');
  // The connection ends with the stream: nothing waits on an idle keep-alive socket at shutdown.
  ctx.set('Connection', 'close');
  // Proxies (nginx) must pass events on as they come.
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream.body;
  stream.raw('retry: 2000\n\n');
  return stream;
}

/** The generation of a revision (`3` in `3-abc…`). */
function generation(rev: string): number {
  const n = Number.parseInt(rev, 10);
  return Number.isFinite(n) ? n : 0;
}

/** The shared follower a stream reads. */
interface Follower<D> {
  subscribe(listener: (change: DocChange<D>) => void): Promise<() => void>;
  replay(since: string, onChange: (change: DocChange<D>) => void, max: number): Promise<boolean>;
  readonly position: string;
}

/**
 * Feeds a stream. Live changes are held back while the stream prepares (`prepare`, e.g. reading a
 * mixin's members) and while the changes missed since `since` are replayed; then the held ones are
 * sent, except those the replay already sent at the same or a later revision.
 */
async function pump<D>(
  stream: EventStream,
  follower: Follower<D>,
  since: string | undefined,
  replayMax: number,
  deliver: (change: DocChange<D>) => void,
  prepare?: () => Promise<void>,
): Promise<void> {
  let held: DocChange<D>[] | undefined = [];
  const expire = () => {
    stream.event('expired', undefined, { reason: `more than ${replayMax} changes happened since Last-Event-ID; list the collection again and watch from now` });
    stream.end();
  };
  const unsubscribe = await follower.subscribe((change) => {
    if (stream.ended) return;
    if (!held) deliver(change);
    // Changes held while the stream prepares are bounded like a replay.
    else if (held.push(change) > replayMax) expire();
  });
  stream.onEnd(unsubscribe);
  // Without Last-Event-ID the stream starts where the follower is: the client gets that position
  // at once, so it can resume even before the first event.
  if (since === undefined) stream.position(follower.position);
  await prepare?.();
  const sent = new Map<string, number>();
  if (since !== undefined) {
    const complete = await follower.replay(
      since,
      (change) => {
        if (stream.ended) return;
        sent.set(change.id, Math.max(sent.get(change.id) ?? 0, generation(change.rev)));
        deliver(change);
      },
      replayMax,
    );
    if (!complete) {
      expire();
      return;
    }
  }
  if (stream.ended) return;
  const backlog = held;
  held = undefined;
  for (const change of backlog) if ((sent.get(change.id) ?? -1) < generation(change.rev)) deliver(change);
}

/** Starts `work` after the response head is sent; a failure ends the stream with an `error` event. */
function runDetached(stream: EventStream, services: Services, work: () => Promise<void>): void {
  work().catch((err: unknown) => {
    const message = err instanceof OcciError ? err.message : 'the change stream failed; resume with Last-Event-ID';
    if (!(err instanceof OcciError)) services.logger.warn({ err }, 'change stream failed');
    stream.event('error', undefined, { reason: message });
    stream.end();
  });
}

/**
 * The change streams, as one middleware placed between authentication and the routes: a GET with
 * `?watch` on the query interface or on a collection becomes a stream, and any other request passes
 * on after one look at its method and query string. (As routes matching every GET path, they were
 * matched, chained and composed on every GET.)
 */
export function changeStreams(services: Services): Middleware {
  const { config } = services;
  const registry = services.categories.registry;
  const json = rendererFor('application/occi+json');

  const watchEntities = async (ctx: Context, next: Next) => {
    if (isReservedPath(ctx.path) || !wantsWatch(ctx)) {
      await next();
      return;
    }
    const checked = toPath(ctx.path);
    if ('error' in checked) throw new NotFoundError(`nothing is at ${ctx.path}`);
    const path = checked.path;
    if (!path.endsWith('/')) throw new ValidationError('?watch=true is for collections (paths ending in /)', [{ pointer: '?watch', message: 'only on collections' }]);
    const since = streamPrologue(ctx);
    const principal = principalOf(ctx);
    const owner = principal.operator ? undefined : principal.tenant;
    const collection = services.entityService.collection(path);
    const scope: ListScope = services.entityService.scope(collection);
    ctx.state.routeTemplate = `<${collection.type}>/?watch=true`;
    const context = renderContext(ctx, config, registry);
    const stream = openStream(ctx, services, principal, collection.type);
    // A mixin collection's members can leave it without being deleted: the stream remembers
    // which entities it reported as members, to report their leaving as a removal.
    const members = new Set<string>();
    const deliver = (change: DocChange<EntityDoc>) => {
      const read = toEntityChange(change);
      if (!read) return;
      let event: EntityChange | undefined = concerns(read, scope, owner) ? read : undefined;
      if ('mixin' in scope) {
        const wasMember = members.has(read.location);
        if (event && event.type !== 'removed') {
          members.add(read.location);
          if (!wasMember && event.type === 'changed') event = { ...event, type: 'added' };
        } else if (wasMember && (owner === undefined || read.owner === owner)) {
          members.delete(read.location);
          event = { ...read, type: 'removed' };
        } else event = undefined;
      }
      if (!event) return;
      const location = context.baseUrl + event.location;
      if (event.type === 'removed' || !event.entity) {
        stream.event('removed', event.seq, { type: 'removed', location, etag: event.rev });
        return;
      }
      const entity = event.entity;
      const rendered = registry.withRequestView({ mixins: [], viewer: principal }, () => json.entity(entity, [], context).body);
      stream.event(event.type, event.seq, { type: event.type, location, etag: event.rev, entity: rendered });
    };
    const mixin = 'mixin' in scope ? scope.mixin : undefined;
    const prepare =
      mixin === undefined
        ? undefined
        : async () => {
            for (const location of await services.entities.memberLocations(mixin, owner)) members.add(location);
          };
    runDetached(stream, services, () => pump(stream, services.watch.entities, since, config.watch.replayMax, deliver, prepare));
  };

  const watchCategories = async (ctx: Context, next: Next) => {
    if (!wantsWatch(ctx)) {
      await next();
      return;
    }
    const since = streamPrologue(ctx);
    const principal = principalOf(ctx);
    ctx.state.routeTemplate = `${ctx.path}?watch=true`;
    const context = renderContext(ctx, config, registry);
    // Removals name only the category: they go to callers who could see it.
    const known = new Set(registry.withRequestView({ mixins: [], viewer: principal }, () => registry.all().map(categoryId)));
    const stream = openStream(ctx, services, principal, 'categories');
    const deliver = (change: DocChange<CategoryDoc>) => {
      if (!change.id.startsWith('category:')) return;
      const id = change.id.slice('category:'.length);
      if (change.deleted) {
        if (known.delete(id)) stream.event('removed', change.seq, { type: 'removed', id, etag: change.rev });
        return;
      }
      const category: Category | undefined = change.doc?.category;
      if (!category || !canSee(principal, category.owner)) return;
      const type = known.has(id) ? 'changed' : 'added';
      known.add(id);
      const rendered = json.categories([category], context).body as Record<'kinds' | 'mixins' | 'actions', unknown[]>;
      const item = [...rendered.kinds, ...rendered.mixins, ...rendered.actions][0];
      stream.event(type, change.seq, { type, id, etag: change.rev, category: item });
    };
    runDetached(stream, services, () => pump(stream, services.watch.categories, since, config.watch.replayMax, deliver));
  };

  return function watch(ctx: Context, next: Next): Promise<void> {
    // The router answers HEAD as GET.
    if (ctx.querystring === '' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    return QUERY_PATHS.includes(ctx.path) ? watchCategories(ctx, next) : watchEntities(ctx, next);
  };
}
