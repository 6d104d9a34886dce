/**
 * @module How conflicting revisions of one entity become one again, deterministically, and how a
 * writer tells whether its change survived. A CouchDB cluster can accept two writes based on the
 * same revision on different copies (the loser hears 202, not 409), which leaves the document with
 * several leaf revisions; CouchDB then shows one of them, picked by a deterministic rule, and keeps
 * the others as `_conflicts` until a client resolves them (CouchDB docs, "Replication and conflict
 * model": resolve by writing the merge onto the winner and deleting the losing revisions).
 *
 * The merge is three-way, against the revision the leaves share: a member (title, summary, link
 * ends), an attribute, a mixin or a link location that only one leaf changed takes that leaf's
 * change; when two leaves changed the same one differently, the winning leaf's value stays. When
 * the shared revision is no longer there (compacted away), what any leaf has is kept (a union).
 */
import type { EntityDoc } from './entity-store.ts';

/** The members of an entity document merged one by one (besides attributes, mixins and links). */
const MEMBERS = ['kind', 'title', 'summary', 'source', 'target', 'targetKind', 'ref', 'owner'] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** `theirs` merged into `ours`: what `theirs` changed since `base`, where `ours` did not change it. */
function mergeRecord<T>(base: Record<string, T> | undefined, ours: Record<string, T>, theirs: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = { ...ours };
  for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const was = base?.[key];
    const changedByThem = !same(theirs[key], was);
    const changedByUs = base !== undefined && !same(ours[key], was);
    if (!changedByThem || changedByUs) continue;
    // Without a base, a key only they have is kept; a key both have keeps ours.
    if (base === undefined && key in ours) continue;
    if (theirs[key] === undefined) delete out[key];
    else out[key] = theirs[key] as T;
  }
  return out;
}

/** A set merged: what `theirs` added since `base` is added, what it removed is removed. */
function mergeSet(base: string[] | undefined, ours: string[], theirs: string[]): string[] {
  const out = new Set(ours);
  if (base === undefined) {
    for (const item of theirs) out.add(item);
  } else {
    for (const item of theirs) if (!base.includes(item)) out.add(item);
    for (const item of base) if (!theirs.includes(item)) out.delete(item);
  }
  return [...out].sort();
}

/**
 * The winning leaf with what a losing leaf changed since their common revision `base` (undefined
 * when it is gone). Envelope fields (`_id`, `_rev`) are the winner's.
 */
export function mergeLeaf(base: EntityDoc | undefined, winner: EntityDoc, loser: EntityDoc): EntityDoc {
  const asRecord = (doc: EntityDoc | undefined) =>
    doc === undefined ? undefined : (Object.fromEntries(MEMBERS.filter((m) => doc[m] !== undefined).map((m) => [m, doc[m]])) as Record<string, unknown>);
  const members = mergeRecord(asRecord(base), asRecord(winner)!, asRecord(loser)!);
  const merged: EntityDoc = {
    _id: winner._id,
    type: 'entity',
    kind: winner.kind,
    mixins: mergeSet(base?.mixins, winner.mixins ?? [], loser.mixins ?? []),
    attributes: mergeRecord(base?.attributes, winner.attributes ?? {}, loser.attributes ?? {}),
  };
  if (winner._rev !== undefined) merged._rev = winner._rev;
  for (const member of MEMBERS) {
    if (member === 'kind') continue;
    const value = members[member];
    if (typeof value === 'string') merged[member] = value;
  }
  const links = mergeSet(base?.links, winner.links ?? [], loser.links ?? []);
  if (links.length > 0) merged.links = links;
  return merged;
}

/**
 * True when `settled` still holds every change `written` made to `base`: the members, attributes,
 * mixins and link locations it set, changed or removed. A writer whose write was only accepted
 * (202) acknowledges it only then; otherwise it tries again on the settled document.
 */
export function keepsChange(base: EntityDoc, written: EntityDoc, settled: EntityDoc): boolean {
  for (const member of MEMBERS) if (!same(written[member], base[member]) && !same(settled[member], written[member])) return false;
  const attributes = new Set([...Object.keys(base.attributes ?? {}), ...Object.keys(written.attributes ?? {})]);
  for (const name of attributes) {
    if (!same(written.attributes?.[name], base.attributes?.[name]) && !same(settled.attributes?.[name], written.attributes?.[name])) return false;
  }
  for (const of of [(d: EntityDoc) => d.mixins ?? [], (d: EntityDoc) => d.links ?? []]) {
    const before = of(base);
    const after = of(written);
    const now = of(settled);
    if (after.some((item) => !before.includes(item) && !now.includes(item))) return false;
    if (before.some((item) => !after.includes(item) && now.includes(item))) return false;
  }
  return true;
}

/** The revision both leaves descend from (the deepest one their histories share), if known. */
export function commonAncestor(a: { start: number; ids: string[] } | undefined, b: { start: number; ids: string[] } | undefined): string | undefined {
  if (!a || !b) return undefined;
  const revsOf = (h: { start: number; ids: string[] }) => h.ids.map((id, i) => `${h.start - i}-${id}`);
  const theirs = new Set(revsOf(b));
  return revsOf(a).find((rev) => theirs.has(rev));
}
