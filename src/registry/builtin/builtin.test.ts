/**
 * Checks the built-in OCCI 1.2 category data (core, infrastructure, CRTP templates): the shape of
 * every category and attribute definition, cross-references between the files, and the facts the
 * OCCI Infrastructure and CRTP documents fix (mutability, required-ness, defaults, enumerations).
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { describe, it, expect } from 'vitest';

interface AttrDef {
  type: string;
  mutable: boolean;
  required: boolean;
  description: string;
  default?: unknown;
  pattern?: Record<string, unknown>;
}
interface RawCategory {
  term: string;
  scheme: string;
  title: string;
  attributes: Record<string, AttrDef>;
  parent?: string;
  actions?: string[];
  depends?: string[];
  applies?: string[];
  location?: string;
}
interface Collection {
  kinds: RawCategory[];
  mixins: RawCategory[];
  actions: RawCategory[];
}
type Cls = 'kind' | 'mixin' | 'action';
interface Entry {
  file: string;
  cls: Cls;
  id: string;
  cat: RawCategory;
}

const FILES = ['core.json', 'infrastructure.json', 'templates.json'] as const;
const CORE = 'http://schemas.ogf.org/occi/core#';
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE_ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
const CRTP = 'http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#';

function load(file: string): Collection {
  return JSON.parse(readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')) as Collection;
}

const collections = Object.fromEntries(FILES.map((f) => [f, load(f)])) as Record<(typeof FILES)[number], Collection>;

const entries: Entry[] = FILES.flatMap((file) => {
  const c = collections[file];
  const list = (cls: Cls, cats: RawCategory[]): Entry[] => cats.map((cat) => ({ file, cls, id: cat.scheme + cat.term, cat }));
  return [...list('kind', c.kinds), ...list('mixin', c.mixins), ...list('action', c.actions)];
});
const byId = new Map(entries.map((e) => [e.id, e]));

function get(id: string, cls?: Cls): RawCategory {
  const e = byId.get(id);
  if (!e) throw new Error(`category ${id} not found`);
  if (cls && e.cls !== cls) throw new Error(`category ${id} is a ${e.cls}, not a ${cls}`);
  return e.cat;
}
function attr(id: string, name: string): AttrDef {
  const def = get(id).attributes[name];
  if (!def) throw new Error(`attribute ${name} not defined on ${id}`);
  return def;
}

const ajv = new Ajv({ strict: false });
function validator(def: AttrDef): (value: unknown) => boolean {
  if (!def.pattern) throw new Error('no pattern');
  const fn = ajv.compile(def.pattern);
  return (value) => fn(value);
}
function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

const allAttributes: [string, string, AttrDef][] = entries.flatMap((e) => Object.entries(e.cat.attributes).map(([name, def]): [string, string, AttrDef] => [e.id, name, def]));

describe('built-in category files: structure', () => {
  it.each(FILES)('%s is a collection with exactly kinds, mixins and actions arrays', (file) => {
    const c = collections[file] as unknown as Record<string, unknown>;
    expect(Object.keys(c).sort()).toEqual(['actions', 'kinds', 'mixins']);
    for (const key of ['kinds', 'mixins', 'actions']) expect(Array.isArray(c[key])).toBe(true);
  });

  it('has the expected numbers of categories', () => {
    expect(entries.filter((e) => e.cls === 'kind')).toHaveLength(8);
    expect(entries.filter((e) => e.cls === 'mixin')).toHaveLength(12);
    expect(entries.filter((e) => e.cls === 'action')).toHaveLength(16);
  });

  it('every category has a scheme ending in #, a valid term and a title', () => {
    for (const { id, cat } of entries) {
      expect(cat.scheme, id).toMatch(/^http:\/\/schemas\.ogf\.org\/occi\/[^#\s]*#$/);
      expect(cat.term, id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
      expect(typeof cat.title, id).toBe('string');
      expect(cat.title.length, id).toBeGreaterThan(0);
      expect(typeof cat.attributes, id).toBe('object');
      expect(Array.isArray(cat.attributes), id).toBe(false);
    }
  });

  it('category ids are unique', () => {
    expect(byId.size).toBe(entries.length);
  });

  it('every kind except entity and every mixin has a location /…/; actions have none', () => {
    for (const { id, cls, cat } of entries) {
      if (cls === 'action' || id === `${CORE}entity`) {
        expect(cat.location, id).toBeUndefined();
      } else {
        expect(cat.location, id).toMatch(/^\/(.+\/)?$/);
        expect(cat.location, id).not.toBe('/');
      }
    }
  });

  it('locations are unique across the three files', () => {
    const locations = entries.flatMap((e) => (e.cat.location ? [e.cat.location] : []));
    expect(new Set(locations).size).toBe(locations.length);
  });

  it('kinds and mixins carry exactly the keys of their class', () => {
    for (const { id, cls, cat } of entries) {
      const keys = Object.keys(cat).sort();
      if (cls === 'kind') {
        const expected = ['actions', 'attributes', 'scheme', 'term', 'title'];
        if (cat.parent !== undefined) expected.push('parent');
        if (cat.location !== undefined) expected.push('location');
        expect(keys, id).toEqual(expected.sort());
      } else if (cls === 'mixin') {
        expect(keys, id).toEqual(['actions', 'applies', 'attributes', 'depends', 'location', 'scheme', 'term', 'title']);
      } else {
        expect(keys, id).toEqual(['attributes', 'scheme', 'term', 'title']);
      }
    }
  });
});

describe('built-in category files: references', () => {
  it('parent, depends, applies and actions reference existing categories of the right class', () => {
    for (const { id, cat } of entries) {
      if (cat.parent !== undefined) expect(byId.get(cat.parent)?.cls, `${id} parent`).toBe('kind');
      for (const d of cat.depends ?? []) expect(byId.get(d)?.cls, `${id} depends ${d}`).toBe('mixin');
      for (const a of cat.applies ?? []) expect(byId.get(a)?.cls, `${id} applies ${a}`).toBe('kind');
      for (const a of cat.actions ?? []) expect(byId.get(a)?.cls, `${id} action ${a}`).toBe('action');
    }
  });

  it('every kind but entity descends from entity; only entity has no parent', () => {
    for (const { id, cls, cat } of entries) {
      if (cls !== 'kind') continue;
      if (id === `${CORE}entity`) {
        expect(cat.parent).toBeUndefined();
        continue;
      }
      const seen = new Set<string>();
      let current: string | undefined = id;
      while (current !== undefined && !seen.has(current)) {
        seen.add(current);
        current = get(current, 'kind').parent;
      }
      expect(seen.has(`${CORE}entity`), id).toBe(true);
    }
  });

  it('every action is bound to exactly one kind or mixin', () => {
    for (const { id, cls } of entries) {
      if (cls !== 'action') continue;
      const owners = entries.filter((e) => e.cat.actions?.includes(id));
      expect(
        owners.map((o) => o.id),
        id,
      ).toHaveLength(1);
    }
  });
});

describe('built-in category files: attribute definitions', () => {
  it('every definition has type, mutable, required and description of the right types', () => {
    expect(allAttributes.length).toBeGreaterThan(40);
    for (const [id, name, def] of allAttributes) {
      const where = `${id} ${name}`;
      expect(['string', 'number', 'boolean', 'array', 'object'], where).toContain(def.type);
      expect(typeof def.mutable, where).toBe('boolean');
      expect(typeof def.required, where).toBe('boolean');
      expect(typeof def.description, where).toBe('string');
      expect(def.description.length, where).toBeGreaterThan(0);
      const extra = Object.keys(def).filter((k) => !['type', 'mutable', 'required', 'description', 'default', 'pattern'].includes(k));
      expect(extra, where).toEqual([]);
    }
  });

  it('attribute names are dotted OCCI names (action parameters excepted)', () => {
    for (const [id, name] of allAttributes) {
      if (byId.get(id)?.cls === 'action') continue;
      expect(name, id).toMatch(/^occi(\.[a-z_]+)+$/);
    }
  });

  it('every pattern is a JSON Schema without $schema that Ajv compiles', () => {
    for (const [id, name, def] of allAttributes) {
      if (def.pattern === undefined) continue;
      const where = `${id} ${name}`;
      expect(typeof def.pattern, where).toBe('object');
      expect(def.pattern, where).not.toHaveProperty('$schema');
      expect(def.pattern, where).not.toHaveProperty('format');
      expect(() => ajv.compile(def.pattern as object), where).not.toThrow();
    }
  });

  it('pattern types agree with the attribute type (integer is a number)', () => {
    for (const [id, name, def] of allAttributes) {
      const t = def.pattern?.['type'];
      if (t === undefined) continue;
      expect(t === 'integer' ? 'number' : t, `${id} ${name}`).toBe(def.type);
    }
  });

  it('every default matches its type and validates against its pattern', () => {
    let defaults = 0;
    for (const [id, name, def] of allAttributes) {
      if (!('default' in def)) continue;
      defaults++;
      const where = `${id} ${name}`;
      expect(typeOf(def.default), where).toBe(def.type);
      if (def.pattern) expect(validator(def)(def.default), where).toBe(true);
    }
    expect(defaults).toBeGreaterThan(20);
  });

  it('kinds carry only their own attributes (none repeated from an ancestor)', () => {
    for (const { id, cls, cat } of entries) {
      if (cls !== 'kind') continue;
      let parent = cat.parent;
      while (parent !== undefined) {
        const p = get(parent, 'kind');
        for (const name of Object.keys(cat.attributes)) expect(p.attributes, `${id} repeats ${name}`).not.toHaveProperty(name);
        parent = p.parent;
      }
    }
  });
});

describe('built-in categories: OCCI Core facts', () => {
  it('entity is abstract; resource and link have their locations', () => {
    expect(get(`${CORE}entity`, 'kind').location).toBeUndefined();
    expect(get(`${CORE}resource`, 'kind')).toMatchObject({ parent: `${CORE}entity`, location: '/resource/' });
    expect(get(`${CORE}link`, 'kind')).toMatchObject({ parent: `${CORE}entity`, location: '/link/' });
  });

  it.each([
    ['entity', 'occi.core.id', false, true],
    ['entity', 'occi.core.title', true, false],
    ['resource', 'occi.core.summary', true, false],
    ['link', 'occi.core.source', true, true],
    ['link', 'occi.core.target', true, true],
    ['link', 'occi.core.target.kind', true, false],
    ['link', 'occi.core.source.kind', false, false],
  ] as const)('%s %s: mutable %s, required %s', (kind, name, mutable, required) => {
    expect(attr(CORE + kind, name)).toMatchObject({ type: 'string', mutable, required });
  });

  it('core kinds have exactly their own attributes', () => {
    expect(Object.keys(get(`${CORE}entity`).attributes).sort()).toEqual(['occi.core.id', 'occi.core.title']);
    expect(Object.keys(get(`${CORE}resource`).attributes)).toEqual(['occi.core.summary']);
    expect(Object.keys(get(`${CORE}link`).attributes).sort()).toEqual(['occi.core.source', 'occi.core.source.kind', 'occi.core.target', 'occi.core.target.kind']);
  });
});

describe('built-in categories: OCCI Infrastructure facts', () => {
  it.each([
    ['compute', `${CORE}resource`, '/compute/'],
    ['storage', `${CORE}resource`, '/storage/'],
    ['network', `${CORE}resource`, '/network/'],
    ['storagelink', `${CORE}link`, '/storagelink/'],
    ['networkinterface', `${CORE}link`, '/networkinterface/'],
  ])('kind %s has parent %s and location %s', (term, parent, location) => {
    expect(get(INFRA + term, 'kind')).toMatchObject({ parent, location });
  });

  it.each([
    ['compute', 'compute', ['start', 'stop', 'restart', 'suspend', 'save']],
    ['network', 'network', ['up', 'down']],
    ['storage', 'storage', ['online', 'offline', 'backup', 'snapshot', 'resize']],
    ['networkinterface', 'networkinterface', ['up', 'down']],
    ['storagelink', 'storagelink', ['online', 'offline']],
  ])('kind %s has exactly the actions of …/%s/action#', (term, scheme, actions) => {
    const prefix = `http://schemas.ogf.org/occi/infrastructure/${scheme}/action#`;
    expect(get(INFRA + term, 'kind').actions).toEqual(actions.map((a) => prefix + a));
  });

  // [category id, attribute, type, mutable, required, default (undefined = none), enum (undefined = none)]
  const facts: [string, string, string, boolean, boolean, unknown, string[] | undefined][] = [
    [`${INFRA}compute`, 'occi.compute.architecture', 'string', true, false, 'x64', ['x86', 'x64']],
    [`${INFRA}compute`, 'occi.compute.cores', 'number', true, false, undefined, undefined],
    [`${INFRA}compute`, 'occi.compute.share', 'number', true, false, undefined, undefined],
    [`${INFRA}compute`, 'occi.compute.hostname', 'string', true, false, undefined, undefined],
    [`${INFRA}compute`, 'occi.compute.speed', 'number', true, false, undefined, undefined],
    [`${INFRA}compute`, 'occi.compute.memory', 'number', true, false, undefined, undefined],
    [`${INFRA}compute`, 'occi.compute.state', 'string', false, true, 'inactive', ['active', 'inactive', 'suspended', 'error', 'waiting']],
    [`${INFRA}compute`, 'occi.compute.state.message', 'string', false, false, undefined, undefined],
    [`${INFRA}storage`, 'occi.storage.size', 'number', true, true, undefined, undefined],
    [`${INFRA}storage`, 'occi.storage.state', 'string', false, true, 'offline', ['online', 'offline', 'error', 'backup', 'snapshot', 'resize', 'degraded']],
    [`${INFRA}storage`, 'occi.storage.state.message', 'string', false, false, undefined, undefined],
    [`${INFRA}network`, 'occi.network.vlan', 'number', true, false, undefined, undefined],
    [`${INFRA}network`, 'occi.network.label', 'string', true, false, undefined, undefined],
    [`${INFRA}network`, 'occi.network.state', 'string', false, true, 'inactive', ['active', 'inactive', 'error']],
    [`${INFRA}network`, 'occi.network.state.message', 'string', false, false, undefined, undefined],
    [`${INFRA}storagelink`, 'occi.storagelink.deviceid', 'string', true, true, undefined, undefined],
    [`${INFRA}storagelink`, 'occi.storagelink.mountpoint', 'string', true, false, undefined, undefined],
    [`${INFRA}storagelink`, 'occi.storagelink.state', 'string', false, true, 'inactive', ['active', 'inactive', 'error', 'waiting']],
    [`${INFRA}storagelink`, 'occi.storagelink.state.message', 'string', false, false, undefined, undefined],
    [`${INFRA}networkinterface`, 'occi.networkinterface.interface', 'string', false, true, undefined, undefined],
    [`${INFRA}networkinterface`, 'occi.networkinterface.mac', 'string', true, true, undefined, undefined],
    [`${INFRA}networkinterface`, 'occi.networkinterface.state', 'string', false, true, 'inactive', ['active', 'inactive', 'error']],
    [`${INFRA}networkinterface`, 'occi.networkinterface.state.message', 'string', false, false, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/network#ipnetwork', 'occi.network.address', 'string', true, false, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/network#ipnetwork', 'occi.network.gateway', 'string', true, false, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/network#ipnetwork', 'occi.network.allocation', 'string', true, false, 'static', ['dynamic', 'static']],
    ['http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface', 'occi.networkinterface.address', 'string', true, true, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface', 'occi.networkinterface.gateway', 'string', true, false, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface', 'occi.networkinterface.allocation', 'string', true, true, 'static', ['dynamic', 'static']],
    ['http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key', 'occi.credentials.ssh.publickey', 'string', true, true, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/compute#user_data', 'occi.compute.userdata', 'string', true, true, undefined, undefined],
    [`${COMPUTE_ACTION}stop`, 'method', 'string', true, false, 'poweroff', ['graceful', 'acpioff', 'poweroff']],
    [`${COMPUTE_ACTION}restart`, 'method', 'string', true, false, 'cold', ['graceful', 'warm', 'cold']],
    [`${COMPUTE_ACTION}suspend`, 'method', 'string', true, false, 'suspend', ['hibernate', 'suspend']],
    [`${COMPUTE_ACTION}save`, 'method', 'string', true, false, 'hot', ['hot', 'deferred']],
    [`${COMPUTE_ACTION}save`, 'name', 'string', true, false, undefined, undefined],
    ['http://schemas.ogf.org/occi/infrastructure/storage/action#resize', 'size', 'number', true, true, undefined, undefined],
  ];

  it.each(facts)('%s %s: %s, mutable %s, required %s, default %s, enum %j', (id, name, type, mutable, required, dflt, values) => {
    const def = attr(id, name);
    expect(def).toMatchObject({ type, mutable, required });
    expect(def.default).toEqual(dflt);
    if (values === undefined) expect(def.pattern?.['enum']).toBeUndefined();
    else expect(def.pattern?.['enum']).toEqual(values);
  });

  it('the table covers every attribute of the infrastructure file', () => {
    const listed = new Set(facts.map(([id, name]) => `${id} ${name}`));
    const infra = entries.filter((e) => e.file === 'infrastructure.json');
    const defined = infra.flatMap((e) => Object.keys(e.cat.attributes).map((n) => `${e.id} ${n}`));
    expect(defined.filter((d) => !listed.has(d))).toEqual([]);
    expect(defined).toHaveLength(facts.length);
  });

  it('start, network/link up/down, storage online/offline/backup/snapshot have no parameters', () => {
    const noParams = entries.filter((e) => e.cls === 'action' && !['stop', 'restart', 'suspend', 'save', 'resize'].includes(e.cat.term));
    expect(noParams).toHaveLength(11);
    for (const e of noParams) expect(e.cat.attributes, e.id).toEqual({});
  });

  it('occi.compute.speed is documented as OCCI 1.1 only', () => {
    expect(attr(`${INFRA}compute`, 'occi.compute.speed').description).toMatch(/1\.1/);
  });

  it.each([
    ['occi.network.vlan', [0, 1, 4095], [4096, -1, 1.5, '7']],
    ['occi.compute.cores', [1, 64], [0, 2.5, -1]],
    ['occi.compute.share', [0, 1024], [-1, 0.5]],
  ] as const)('%s integer range', (name, good, bad) => {
    const id = name.startsWith('occi.network') ? `${INFRA}network` : `${INFRA}compute`;
    const valid = validator(attr(id, name));
    for (const v of good) expect(valid(v), String(v)).toBe(true);
    for (const v of bad) expect(valid(v), String(v)).toBe(false);
  });

  const IPNET = 'http://schemas.ogf.org/occi/infrastructure/network#ipnetwork';
  const IPNIC = 'http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface';
  const ipGood = [
    '192.168.0.1',
    '10.0.0.254',
    '0.0.0.0',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    '2001:db8:85a3::8a2e:370:7334',
    '1:2:3:4:5:6:7:8',
    '1::',
    '::ffff:192.0.2.1',
    '64:ff9b::192.0.2.33',
  ];
  const ipBad = ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4x', '1:2:3:4:5:6:7:8:9', ':::', '1::2::3', 'gggg::1', '', 'example.org', '10.0.0.1 '];

  it.each([
    [IPNET, 'occi.network.gateway'],
    [IPNIC, 'occi.networkinterface.gateway'],
  ])('%s %s accepts IPv4/IPv6 addresses only', (id, name) => {
    const valid = validator(attr(id, name));
    for (const v of ipGood) expect(valid(v), v).toBe(true);
    for (const v of ipBad) expect(valid(v), v).toBe(false);
    expect(valid('10.0.0.0/24')).toBe(false);
  });

  it('occi.network.address needs CIDR notation', () => {
    const valid = validator(attr(IPNET, 'occi.network.address'));
    for (const v of ['10.0.0.0/24', '192.168.0.0/16', '0.0.0.0/0', '2001:db8::/32', 'fc00::/7', '::1/128']) expect(valid(v), v).toBe(true);
    for (const v of ['10.0.0.0', '10.0.0.0/33', '2001:db8::/129', '300.0.0.0/8', '10.0.0.0/', '/24']) expect(valid(v), v).toBe(false);
  });

  it('occi.networkinterface.address takes an address with an optional prefix length', () => {
    const valid = validator(attr(IPNIC, 'occi.networkinterface.address'));
    for (const v of ['192.168.0.1', '192.168.0.1/24', 'fc00::1', 'fc00::1/64']) expect(valid(v), v).toBe(true);
    for (const v of ['192.168.0.1/40', 'fc00::1/200', 'eth0', '']) expect(valid(v), v).toBe(false);
  });

  it('occi.networkinterface.mac accepts MAC addresses only', () => {
    const valid = validator(attr(`${INFRA}networkinterface`, 'occi.networkinterface.mac'));
    for (const v of ['00:11:22:33:44:55', 'aa:BB:cc:DD:ee:FF', '00-11-22-33-44-55']) expect(valid(v), v).toBe(true);
    for (const v of ['00:11:22:33:44', '00:11:22:33:44:55:66', '0g:11:22:33:44:55', '001122334455']) expect(valid(v), v).toBe(false);
  });

  it('occi.compute.hostname accepts host names and FQDNs only', () => {
    const valid = validator(attr(`${INFRA}compute`, 'occi.compute.hostname'));
    for (const v of ['vm1', 'vm-1.example.org', 'a.b.c.', 'x'.repeat(63)]) expect(valid(v), v).toBe(true);
    for (const v of ['', '-vm', 'vm-', 'vm_1', 'a..b', 'x'.repeat(64), 'has space']) expect(valid(v), v).toBe(false);
  });

  it('occi.network.label is a token without whitespace', () => {
    const valid = validator(attr(`${INFRA}network`, 'occi.network.label'));
    expect(valid('public')).toBe(true);
    expect(valid('two words')).toBe(false);
    expect(valid('')).toBe(false);
  });

  it('state enumerations reject unknown states', () => {
    expect(validator(attr(`${INFRA}compute`, 'occi.compute.state'))('running')).toBe(false);
    expect(validator(attr(`${INFRA}storage`, 'occi.storage.state'))('active')).toBe(false);
  });

  it.each([
    ['ipnetwork', 'http://schemas.ogf.org/occi/infrastructure/network#', 'network', '/ipnetwork/'],
    ['ipnetworkinterface', 'http://schemas.ogf.org/occi/infrastructure/networkinterface#', 'networkinterface', '/ipnetworkinterface/'],
    ['os_tpl', INFRA, 'compute', '/os_tpl/'],
    ['resource_tpl', INFRA, 'compute', '/resource_tpl/'],
    ['ssh_key', 'http://schemas.ogf.org/occi/infrastructure/credentials#', 'compute', '/ssh_key/'],
    ['user_data', 'http://schemas.ogf.org/occi/infrastructure/compute#', 'compute', '/user_data/'],
  ])('mixin %s (%s) applies %s at %s', (term, scheme, applies, location) => {
    expect(get(scheme + term, 'mixin')).toMatchObject({ depends: [], actions: [], applies: [INFRA + applies], location });
  });

  it('os_tpl and resource_tpl are attribute-less template parents', () => {
    expect(get(`${INFRA}os_tpl`, 'mixin').attributes).toEqual({});
    expect(get(`${INFRA}resource_tpl`, 'mixin').attributes).toEqual({});
  });
});

describe('built-in categories: CRTP resource templates (GFD.222)', () => {
  const templates: [string, number, number, number][] = [
    ['small', 1, 1, 10],
    ['medium', 2, 2, 20],
    ['large', 4, 4, 40],
    ['mem_small', 1, 4, 10],
    ['mem_medium', 2, 8, 20],
    ['mem_large', 4, 16, 40],
  ];

  it('templates.json holds exactly the six CRTP mixins', () => {
    expect(collections['templates.json'].mixins.map((m) => m.scheme + m.term).sort()).toEqual(templates.map(([t]) => CRTP + t).sort());
  });

  it.each(templates)('%s: %i cores, %i GiB memory, %i GB ephemeral storage', (term, cores, memory, disk) => {
    const m = get(CRTP + term, 'mixin');
    expect(m).toMatchObject({ depends: [`${INFRA}resource_tpl`], applies: [`${INFRA}compute`], actions: [], location: `/crtp/${term}/` });
    expect(Object.keys(m.attributes).sort()).toEqual(['occi.compute.cores', 'occi.compute.ephemeral_storage.size', 'occi.compute.memory']);
    const figures: [string, number][] = [
      ['occi.compute.cores', cores],
      ['occi.compute.memory', memory],
      ['occi.compute.ephemeral_storage.size', disk],
    ];
    for (const [name, value] of figures) {
      expect(m.attributes[name], name).toMatchObject({ type: 'number', mutable: true, required: false, default: value });
    }
  });
});
