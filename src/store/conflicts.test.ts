import { describe, expect, it } from 'vitest';
import { commonAncestor, keepsChange, mergeLeaf } from './conflicts.ts';
import type { EntityDoc } from './entity-store.ts';

const doc = (over: Partial<EntityDoc>): EntityDoc => ({ _id: '/compute/a', type: 'entity', kind: 'k', mixins: [], attributes: {}, ...over });

describe('mergeLeaf', () => {
  const base = doc({ title: 't', attributes: { a: 1, b: 1, c: 1 }, mixins: ['m1'], links: ['/l/1', '/l/2'] });
  const winner = doc({ _rev: '3-b', title: 't', attributes: { a: 2, b: 1, c: 1 }, mixins: ['m1', 'm2'], links: ['/l/1', '/l/2', '/l/3'] });
  const loser = doc({ _rev: '3-a', title: 'new', attributes: { a: 9, b: 5 }, mixins: [], links: ['/l/2', '/l/4'] });

  it('takes what only the losing leaf changed, keeps the winner where both did', () => {
    const merged = mergeLeaf(base, winner, loser);
    expect(merged.attributes).toEqual({ a: 2, b: 5 });
    expect(merged.title).toBe('new');
    expect(merged.mixins).toEqual(['m2']);
    expect(merged.links).toEqual(['/l/2', '/l/3', '/l/4']);
    expect(merged._rev).toBe('3-b');
  });

  it('is a union when the shared revision is gone', () => {
    const merged = mergeLeaf(undefined, winner, loser);
    expect(merged.attributes).toEqual({ a: 2, b: 1, c: 1 });
    expect(merged.links).toEqual(['/l/1', '/l/2', '/l/3', '/l/4']);
    expect(merged.title).toBe('t');
  });

  it('is idempotent: merging the same leaf again changes nothing', () => {
    const once = mergeLeaf(base, winner, loser);
    expect(mergeLeaf(base, once, loser)).toEqual(once);
  });
});

describe('keepsChange', () => {
  const base = doc({ attributes: { a: 1 }, links: ['/l/1'] });
  it('holds when every attribute and link the write changed is in the settled document', () => {
    const written = doc({ attributes: { a: 2 }, links: ['/l/1', '/l/2'] });
    expect(keepsChange(base, written, doc({ attributes: { a: 2, z: 1 }, links: ['/l/1', '/l/2', '/l/3'] }))).toBe(true);
    expect(keepsChange(base, written, doc({ attributes: { a: 3 }, links: ['/l/1', '/l/2'] }))).toBe(false);
    expect(keepsChange(base, written, doc({ attributes: { a: 2 }, links: ['/l/1'] }))).toBe(false);
  });
});

describe('commonAncestor', () => {
  it('is the deepest revision both histories hold', () => {
    expect(commonAncestor({ start: 3, ids: ['c', 'b', 'a'] }, { start: 3, ids: ['x', 'b', 'a'] })).toBe('2-b');
    expect(commonAncestor({ start: 1, ids: ['a'] }, { start: 1, ids: ['z'] })).toBeUndefined();
  });
});
