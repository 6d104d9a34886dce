/**
 * @module A listing without a filter, for a caller who sees every tenant, answered from memory: the
 * collection's members from the {@link MemberIndex}, their documents from the {@link EntityReadCache}
 * (one store request for those it does not hold). It plans the same streams as the store's listing
 * and hands out the same continuation tokens, so a client may page across both: a page read from
 * memory continues from the view and back. Anything else — a filter, a tenant's view, a path, a
 * collection not loaded yet, a token from another stream — is left to the store (undefined).
 */
import type { EntityReadCache } from './entity-read-cache.ts';
import { decodeContinuation, encodeContinuation, planStreams } from './entity-query.ts';
import { inScope, type ListPage, type ListQuery } from './entity-store.ts';
import { MEMBER_FIELD, VIEWS } from './entity-views.ts';
import { upperBound, type MemberIndex } from './member-index.ts';
import type { Entity } from '../model/entity.ts';

/** A member picked for the page: where it came from, for the continuation. */
interface Pick {
  stream: number;
  collection: string;
  location: string;
}

/** The collection a stream of the plan reads, when it is a whole collection's membership rows. */
function collectionOf(stream: { path: string; startkey: unknown; endkey: unknown }): string | undefined {
  if (stream.path !== VIEWS.entities || !Array.isArray(stream.startkey) || stream.startkey.length !== 3) return undefined;
  const [collection, field, value] = stream.startkey as unknown[];
  return typeof collection === 'string' && field === MEMBER_FIELD && value === null ? collection : undefined;
}

/**
 * The page, from memory; undefined when the store must answer it.
 *
 * @throws OcciError `bad-request` for an `after` token this server did not write
 */
export async function listFromMemory(index: MemberIndex, reader: EntityReadCache, query: ListQuery): Promise<ListPage | undefined> {
  if (query.patterns.length > 0 || query.owner !== undefined || 'below' in query.scope) return undefined;
  const streams = planStreams(query.scope, [], undefined);
  const collections = streams.map(collectionOf);
  if (collections.some((c) => c === undefined)) return undefined;
  const after = query.after === undefined ? undefined : decodeContinuation(query.after);
  let stream = after?.stream ?? 0;
  // Where the page starts: a number of members into `stream` (`?page=` passes over members by
  // position, reading no document for them), or right after a continuation's member.
  let skip = after ? 0 : query.skip;
  let resume: string | undefined;
  if (after) {
    const key = after.key;
    if (stream >= streams.length || !Array.isArray(key) || key.length !== 4 || key[0] !== collections[stream] || key[1] !== MEMBER_FIELD || key[2] !== null || typeof key[3] !== 'string')
      return undefined;
    // Past the window, the store answers (as cheaply): memory is filled from the front only.
    if (!index.holds(collections[stream]!, key[3])) return undefined;
    resume = key[3];
  }

  const kept: { pick: Pick; entity: Entity }[] = [];
  // Members whose document is gone or out of scope (a change the feed has not brought yet) are
  // passed over, and more are read in their place, as the store's listing does with its rows.
  while (kept.length <= query.limit && stream < streams.length) {
    const want = query.limit + 1 - kept.length;
    const collection = collections[stream]!;
    if (resume !== undefined && !index.holds(collection, resume)) return undefined;
    // Where the page goes on, computed on the array it is sliced from (the index changes between awaits).
    const at = (ids: readonly string[]) => (resume === undefined ? skip : upperBound(ids, resume));
    let members = await index.members(collection, skip + want);
    if (members && !members.complete && members.ids.length < at(members.ids) + want) members = await index.members(collection, at(members.ids) + want);
    if (!members) return undefined;
    const from = at(members.ids);
    const picks: Pick[] = members.ids.slice(from, from + want).map((location) => ({ stream, collection, location }));
    if (picks.length === 0) {
      if (!members.complete) return undefined;
      // This stream is exhausted: on to the next, from its start.
      skip = Math.max(0, skip - members.ids.length);
      stream += 1;
      resume = undefined;
      continue;
    }
    skip = 0;
    const found = await reader.getMany(picks.map((p) => p.location));
    for (const pick of picks) {
      const entity = found.get(pick.location);
      if (entity && inScope({ _id: entity.location, type: 'entity', kind: entity.kind, mixins: entity.mixins, attributes: entity.attributes }, query.scope, undefined)) kept.push({ pick, entity });
    }
    resume = picks[picks.length - 1]!.location;
  }
  const more = kept.length > query.limit;
  const page = kept.slice(0, query.limit);
  const result: ListPage = { entities: page.map((k) => k.entity), more };
  const last = page[page.length - 1];
  if (more && last) result.next = encodeContinuation({ stream: last.pick.stream, key: [last.pick.collection, MEMBER_FIELD, null, last.pick.location] });
  return result;
}
