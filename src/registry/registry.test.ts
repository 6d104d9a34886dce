import { describe, expect, it } from 'vitest';
import type { Mixin } from '../model/category.ts';
import { loadBuiltinCategories } from './builtins.ts';
import { CategoryRegistry } from './registry.ts';

const mixin = (term: string, depends: string[] = []): Mixin => ({ class: 'mixin', scheme: 'http://example.org/r#', term, location: `/${term}/`, depends, applies: [], actions: [], attributes: {} });

describe('CategoryRegistry', () => {
  it('keeps its location index by changes, not by re-indexing everything', () => {
    const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
    registry.putStored(mixin('a'), '1-a');
    registry.putStored(mixin('b'), '1-b');
    expect(registry.byLocation('/a/')?.term).toBe('a');
    expect(registry.removeStored('http://example.org/r#a')).toBe(true);
    expect(registry.byLocation('/a/')).toBeUndefined();
    expect(registry.byLocation('/b/')?.term).toBe('b');
    expect(registry.byLocation('/compute/')?.term).toBe('compute');
  });

  it('finds the referrers of many categories in one pass', () => {
    const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
    registry.putStored(mixin('base'), '1-x');
    registry.putStored(mixin('top', ['http://example.org/r#base']), '1-y');
    const found = registry.referrersOf(['http://example.org/r#base', 'http://example.org/r#top', 'http://schemas.ogf.org/occi/core#resource']);
    expect(found.get('http://example.org/r#base')?.map((c) => c.term)).toEqual(['top']);
    expect(found.get('http://example.org/r#top')).toEqual([]);
    expect(found.get('http://schemas.ogf.org/occi/core#resource')?.map((c) => c.term)).toContain('compute');
  });

  it('applies changes-feed events by revision: a late add never brings a deleted category back', () => {
    const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
    const id = 'http://example.org/r#late';
    registry.putStored(mixin('late'), '1-a');
    registry.putStored(mixin('late'), '2-b');
    expect(registry.removeStored(id, '3-c')).toBe(true);
    // The feed (or a slow commit) delivers an older revision after the deletion.
    expect(registry.putStored(mixin('late'), '2-b')).toBe(false);
    expect(registry.putStored(mixin('late'), '1-a')).toBe(false);
    expect(registry.has(id)).toBe(false);
    // A deletion older than the revision held is ignored; re-creating after the deletion counts.
    expect(registry.putStored(mixin('late'), '4-d')).toBe(true);
    expect(registry.removeStored(id, '3-c')).toBe(false);
    expect(registry.has(id)).toBe(true);
    // A deletion seen before the add it follows (events out of order) still wins.
    registry.removeStored('http://example.org/r#early', '2-x');
    expect(registry.putStored(mixin('early'), '1-x')).toBe(false);
    expect(registry.has('http://example.org/r#early')).toBe(false);
  });
});
