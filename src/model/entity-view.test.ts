import { describe, expect, it } from 'vitest';
import type { AttributeDefinitions, Kind, Mixin } from './category.ts';
import type { CategoryLookup, Entity } from './entity.ts';
import { applyPlans, convertValue, currentView, entityProblems } from './entity-view.ts';

const RESOURCE: Kind = { class: 'kind', scheme: 'http://schemas.ogf.org/occi/core#', term: 'resource', attributes: {}, actions: [], location: '/resource/' };

function lookupOf(router: Kind, mixins: Mixin[] = []): CategoryLookup {
  const kinds = new Map([
    [`${router.scheme}${router.term}`, router],
    ['http://schemas.ogf.org/occi/core#resource', RESOURCE],
  ]);
  const byId = new Map(mixins.map((m) => [`${m.scheme}${m.term}`, m]));
  return {
    kind: (id) => kinds.get(id),
    mixin: (id) => byId.get(id),
    action: () => undefined,
    lineage: (id) => (id === 'n#router' ? [router, RESOURCE] : kinds.has(id) ? [kinds.get(id)!] : []),
    kindAttributes: (id) => (id === 'n#router' ? router.attributes : {}),
    mixinClosure: (id) => (byId.has(id) ? [byId.get(id)!] : []),
  };
}
const kind = (attributes: AttributeDefinitions, extra: Partial<Kind> = {}): Kind => ({
  class: 'kind',
  scheme: 'n#',
  term: 'router',
  parent: 'http://schemas.ogf.org/occi/core#resource',
  attributes,
  actions: [],
  location: '/router/',
  ...extra,
});
const r1: Entity = { location: '/router/r1', kind: 'n#router', mixins: [], attributes: { asn: 65002, gone: 'x' }, rev: '1-a' };

describe('an entity as its categories define it now', () => {
  it('fills in current defaults and leaves out what no category defines, keeping the revision', () => {
    const lookup = lookupOf(kind({ asn: { type: 'number', mutable: true, required: false }, vendor: { type: 'string', mutable: true, required: false, default: 'acme' } }));
    const view = currentView(lookup, r1);
    expect(view.attributes).toEqual({ asn: 65002, vendor: 'acme' });
    expect(view.rev).toBe('1-a');
    expect(currentView(lookup, view)).toBe(view);
    expect(currentView(lookup, r1, { keepUndefined: true }).attributes).toHaveProperty('gone');
  });

  it('leaves an entity alone when one of its categories is unknown here (e.g. a request-scoped template)', () => {
    const lookup = lookupOf(kind({}));
    const entity = { ...r1, mixins: ['t#os'] };
    expect(currentView(lookup, entity)).toBe(entity);
  });

  it('applies a pending migration plan on read: conversions and given values, idempotently', () => {
    const lookup = lookupOf(
      kind(
        { asn: { type: 'string', mutable: true, required: false }, site: { type: 'string', mutable: true, required: true } },
        { migration: { generation: 2, convert: ['asn'], set: { site: 'par1' } } },
      ),
    );
    const view = currentView(lookup, r1);
    expect(view.attributes).toEqual({ asn: '65002', site: 'par1' });
    expect(currentView(lookup, view)).toBe(view);
    expect(entityProblems(lookup, view)).toEqual([]);
  });

  it('says what no longer fits', () => {
    const lookup = lookupOf(kind({ asn: { type: 'number', mutable: true, required: false, pattern: { maximum: 1000 } }, site: { type: 'string', mutable: true, required: true } }));
    expect(entityProblems(lookup, r1)).toEqual([expect.stringContaining('"asn" does not match its pattern'), '"gone" is held but no longer defined', '"site" is required and has no value']);
  });

  it('converts only where nothing is lost', () => {
    expect(convertValue(65002, 'string')).toBe('65002');
    expect(convertValue('65002', 'number')).toBe(65002);
    expect(convertValue('sixty', 'number')).toBeUndefined();
    expect(convertValue('true', 'boolean')).toBe(true);
    expect(convertValue('yes', 'boolean')).toBeUndefined();
    expect(convertValue('a', 'array')).toEqual(['a']);
    expect(convertValue({ a: 1 }, 'string')).toBeUndefined();
    const attributes = { n: 'x' };
    expect(applyPlans(attributes, [{ generation: 2, convert: ['n'] }], () => ({ type: 'number', mutable: true, required: false }))).toBe(false);
    expect(attributes).toEqual({ n: 'x' });
  });
});
