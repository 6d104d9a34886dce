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
});
