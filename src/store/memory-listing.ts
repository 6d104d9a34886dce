/**
 * @module A listing without a filter (everyone's members for an operator, a tenant's own for a
 * tenant) answered from memory: the collection's members from the {@link MemberIndex}, their
 * documents from the {@link EntityReadCache} (one store request for those it does not hold). It
 * plans the same streams as the store's listing and hands out the same continuation tokens, so a
 * client may page across both: a page read from memory continues from the view and back. Anything
 * else — a filter, a path, a collection memory cannot serve, a token from another stream — is left
 * to the store (undefined).
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

/**
 * The collection a stream of the plan reads, when it is a whole collection's membership rows
 * (`[C, "", null]`, or `[owner, C, "", null]` in the tenants' view).
 */
function collectionOf(stream: { path: string; startkey: unknown }, owner: string | undefined): string | undefined {
  const prefix = owner === undefined ? [] : [owner];
  if (stream.path !== (owner === undefined ? VIEWS.entities : VIEWS.owned) || !Array.isArray(stream.startkey) || stream.startkey.length !== prefix.length + 3) return undefined;
  const key = stream.startkey as unknown[];
  if (owner !== undefined && key[0] !== owner) return undefined;
  const [collection, field, value] = key.slice(prefix.length);
  return typeof collection === 'string' && field === MEMBER_FIELD && value === null ? collection : undefined;
}

/** The member a continuation key of a collection's stream resumes after; undefined for any other key. */
function resumeOf(key: unknown, collection: string, owner: string | undefined): string | undefined {
  const prefix = owner === undefined ? [] : [owner];
  if (!Array.isArray(key) || key.length !== prefix.length + 4 || (owner !== undefined && key[0] !== owner)) return undefined;
  const [name, field, value, id] = (key as unknown[]).slice(prefix.length);
  return name === collection && field === MEMBER_FIELD && value === null && typeof id === 'string' ? id : undefined;
}

/**
 * The page, from memory; undefined when the store must answer it.
 *
 * @throws OcciError `bad-request` for an `after` token this server did not write
 */
export async function listFromMemory(index: MemberIndex, reader: EntityReadCache, query: ListQuery): Promise<ListPage | undefined> {
  const owner = query.owner;
  if (query.patterns.length > 0 || 'below' in query.scope) return undefined;
  const streams = planStreams(query.scope, [], owner);
  const collections = streams.map((s) => collectionOf(s, owner));
  if (collections.some((c) => c === undefined)) return undefined;
  const after = query.after === undefined ? undefined : decodeContinuation(query.after);
  let stream = after?.stream ?? 0;
  // Where the page starts: a number of members into `stream` (`?page=` passes over members by
  // position, reading no document for them), or right after a continuation's member.
  let skip = after ? 0 : query.skip;
  let resume: string | undefined;
  if (after) {
    resume = stream < streams.length ? resumeOf(after.key, collections[stream]!, owner) : undefined;
    // Past the window, the store answers (as cheaply): memory is filled from the front only.
    if (resume === undefined || !index.holds(collections[stream]!, resume, owner)) return undefined;
  }

  const kept: { pick: Pick; entity: Entity }[] = [];
  // Members whose document is gone or out of scope (a change the feed has not brought yet) are
  // passed over, and more are read in their place, as the store's listing does with its rows.
  while (kept.length <= query.limit && stream < streams.length) {
    const want = query.limit + 1 - kept.length;
    const collection = collections[stream]!;
    if (resume !== undefined && !index.holds(collection, resume, owner)) return undefined;
    // Where the page goes on, computed on the array it is sliced from (the index changes between awaits).
    const at = (ids: readonly string[]) => (resume === undefined ? skip : upperBound(ids, resume));
    let members = await index.members(collection, skip + want, owner);
    if (members && !members.complete && members.ids.length < at(members.ids) + want) members = await index.members(collection, at(members.ids) + want, owner);
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
      if (
        entity &&
        inScope(
          { _id: entity.location, type: 'entity', kind: entity.kind, mixins: entity.mixins, attributes: entity.attributes, ...(entity.owner !== undefined ? { owner: entity.owner } : {}) },
          query.scope,
          owner,
        )
      )
        kept.push({ pick, entity });
    }
    resume = picks[picks.length - 1]!.location;
  }
  const more = kept.length > query.limit;
  const page = kept.slice(0, query.limit);
  const result: ListPage = { entities: page.map((k) => k.entity), more };
  const last = page[page.length - 1];
  if (more && last) result.next = encodeContinuation({ stream: last.pick.stream, key: [...(owner === undefined ? [] : [owner]), last.pick.collection, MEMBER_FIELD, null, last.pick.location] });
  return result;
}
