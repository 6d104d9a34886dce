import { describe, expect, it } from 'vitest';
import type { AttributeDefinition, Kind, Mixin } from '../model/category.ts';
import { classifyChange, comparePatterns, isBreaking, type ChangeClass, type ChangeKind } from './change-rules.ts';

const S = 'http://example.net/net#';
const asn: AttributeDefinition = { type: 'number', mutable: true, required: false, default: 65000, pattern: { minimum: 1, maximum: 4294967295 } };
const hostname: AttributeDefinition = { type: 'string', mutable: true, required: false, pattern: { type: 'string', pattern: '^[a-z0-9-]+$' } };

function router(changes: Partial<Kind> = {}): Kind {
  return {
    class: 'kind',
    scheme: S,
    term: 'router',
    title: 'Router',
    parent: 'http://schemas.ogf.org/occi/core#resource',
    location: '/router/',
    actions: [`${S}reboot`],
    attributes: { asn, hostname },
    ...changes,
  };
}
function bgp(changes: Partial<Mixin> = {}): Mixin {
  return { class: 'mixin', scheme: S, term: 'bgp', location: '/bgp/', depends: [], applies: [`${S}router`], actions: [], attributes: {}, ...changes };
}
const attrs = (over: Record<string, Partial<AttributeDefinition> | undefined>) => {
  const out: Record<string, AttributeDefinition> = { asn, hostname };
  for (const [name, d] of Object.entries(over)) {
    if (d === undefined) delete out[name];
    else out[name] = { ...(out[name] ?? { type: 'string', mutable: true, required: false }), ...d };
  }
  return out;
};

// change → class: the table the issue asks for.
const table: [string, Kind | Mixin, Kind | Mixin, ChangeKind, ChangeClass][] = [
  ['new optional attribute', router(), router({ attributes: attrs({ vendor: {} }) }), 'attribute-added', 'compatible'],
  ['new required attribute with a default', router(), router({ attributes: attrs({ site: { required: true, default: 'par1' } }) }), 'attribute-added', 'compatible'],
  ['new required attribute without a default', router(), router({ attributes: attrs({ site: { required: true } }) }), 'required-attribute-added', 'breaking'],
  ['new default', router(), router({ attributes: attrs({ hostname: { default: 'r' } }) }), 'default-added', 'compatible'],
  ['changed default', router(), router({ attributes: attrs({ asn: { default: 64512 } }) }), 'default-changed', 'compatible'],
  ['default removed from an optional attribute', router(), router({ attributes: attrs({ asn: { default: undefined } }) }), 'default-removed', 'compatible'],
  ['widened range', router(), router({ attributes: attrs({ asn: { pattern: { minimum: 0, maximum: 4294967295 } } }) }), 'pattern-widened', 'compatible'],
  ['range bound removed', router(), router({ attributes: attrs({ asn: { pattern: { minimum: 1 } } }) }), 'pattern-widened', 'compatible'],
  ['pattern removed', router(), router({ attributes: attrs({ hostname: { pattern: undefined } }) }), 'pattern-removed', 'compatible'],
  ['new action', router(), router({ actions: [`${S}reboot`, `${S}drain`] }), 'action-added', 'compatible'],
  ['changed title', router(), router({ title: 'Core router' }), 'title-changed', 'compatible'],
  ['changed description', router(), router({ attributes: attrs({ asn: { description: 'AS number' } }) }), 'description-changed', 'compatible'],
  ['made optional', router({ attributes: attrs({ site: { required: true } }) }), router({ attributes: attrs({ site: { required: false } }) }), 'made-optional', 'compatible'],
  ['mixin applies to more kinds', bgp(), bgp({ applies: [`${S}router`, `${S}switch`] }), 'applies-widened', 'compatible'],
  ['mixin applies to every kind', bgp(), bgp({ applies: [] }), 'applies-widened', 'compatible'],
  ['narrowed range', router(), router({ attributes: attrs({ asn: { pattern: { minimum: 1, maximum: 1000 } } }) }), 'pattern-narrowed', 'breaking'],
  ['pattern where there was none', router({ attributes: attrs({ asn: { pattern: undefined } }) }), router(), 'pattern-narrowed', 'breaking'],
  ['regular expression changed (undecidable)', router(), router({ attributes: attrs({ hostname: { pattern: { type: 'string', pattern: '^[a-z0-9.-]+$' } } }) }), 'pattern-changed', 'breaking'],
  ['bounds moved both ways', router(), router({ attributes: attrs({ asn: { pattern: { minimum: 0, maximum: 1000 } } }) }), 'pattern-changed', 'breaking'],
  ['type changed', router(), router({ attributes: attrs({ asn: { type: 'string', pattern: undefined, default: '65000' } }) }), 'type-changed', 'breaking'],
  ['made required without a default', router({ attributes: attrs({ site: {} }) }), router({ attributes: attrs({ site: { required: true } }) }), 'made-required', 'breaking'],
  ['made required with a default', router({ attributes: attrs({ site: {} }) }), router({ attributes: attrs({ site: { required: true, default: 'x' } }) }), 'made-required', 'compatible'],
  [
    'default removed from a required attribute',
    router({ attributes: attrs({ site: { required: true, default: 'x' } }) }),
    router({ attributes: attrs({ site: { required: true } }) }),
    'default-removed',
    'breaking',
  ],
  ['attribute removed', router(), router({ attributes: attrs({ hostname: undefined }) }), 'attribute-removed', 'breaking'],
  ['action removed', router(), router({ actions: [] }), 'action-removed', 'breaking'],
  ['parent changed', router(), router({ parent: `${S}device` }), 'parent-changed', 'breaking'],
  ['mixin applies to fewer kinds', bgp({ applies: [`${S}router`, `${S}switch`] }), bgp(), 'applies-narrowed', 'breaking'],
  ['mixin restricted from every kind', bgp({ applies: [] }), bgp(), 'applies-narrowed', 'breaking'],
  ['mixin gains a dependency', bgp(), bgp({ depends: [`${S}ospf`] }), 'depends-added', 'breaking'],
  ['mixin loses a dependency', bgp({ depends: [`${S}ospf`] }), bgp(), 'depends-removed', 'breaking'],
];

describe('change rules: change → class', () => {
  it.each(table)('%s', (_name, before, after, change, cls) => {
    const found = classifyChange(before, after);
    const entry = found.find((c) => c.change === change);
    expect(entry, JSON.stringify(found)).toBeDefined();
    expect(entry!.class).toBe(cls);
  });

  it('an unchanged category has no changes, and compatible-only changes are not breaking', () => {
    expect(classifyChange(router(), router())).toEqual([]);
    expect(isBreaking(classifyChange(router(), router({ title: 'x', actions: [`${S}reboot`, `${S}drain`] })))).toBe(false);
    expect(isBreaking(classifyChange(router(), router({ title: 'x', attributes: attrs({ hostname: undefined }) })))).toBe(true);
  });

  it('enum grown is widening, shrunk is narrowing, swapped is undecided', () => {
    expect(comparePatterns({ enum: ['a'] }, { enum: ['a', 'b'] })).toBe('widened');
    expect(comparePatterns({ enum: ['a', 'b'] }, { enum: ['a'] })).toBe('narrowed');
    expect(comparePatterns({ enum: ['a'] }, { enum: ['b'] })).toBe('changed');
    expect(comparePatterns({ maxLength: 10 }, { maxLength: 20 })).toBe('widened');
    expect(comparePatterns({ maxLength: 10 }, { maxLength: 20, format: 'email' })).toBe('changed');
  });
});
