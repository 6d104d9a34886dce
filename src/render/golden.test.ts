import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Entity } from '../model/entity.ts';
import { loadBuiltinCategories } from '../registry/builtins.ts';
import { CategoryRegistry } from '../registry/registry.ts';
import { parseTextBody, splitHeaderValues, type TextBodyLine } from './header-lines.ts';
import { rendererFor } from './index.ts';
import { parseEntities } from './occi-json/entities.ts';
import { entityFromLines } from './occi-text.ts';
import type { RenderContext, Rendered } from './renderer.ts';

/**
 * Golden files: one case name, one fixture per format (`<case>.json`, `.txt`, `.occi-headers`,
 * `.uri`, `.html`). Run with UPDATE_GOLDEN=1 to write them after a deliberate change, then read
 * the diff before committing.
 */
const FIXTURES = new URL('./__fixtures__/', import.meta.url);
const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
const ctx: RenderContext = { baseUrl: 'http://ocni.test', lookup: registry, profile: 'occi', path: '/compute/vm1' };
const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';

const compute: Entity = {
  location: '/compute/vm1',
  kind: `${INFRA}compute`,
  mixins: ['http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small'],
  attributes: { 'occi.compute.cores': 1, 'occi.compute.memory': 1, 'occi.compute.hostname': 'vm1.example.org', 'occi.compute.state': 'active' },
  title: 'Web "front" <1>',
  summary: 'serves the site',
  rev: '3-abc',
};
const storagelink: Entity = {
  location: '/storagelink/sl1',
  kind: `${INFRA}storagelink`,
  mixins: [],
  attributes: { 'occi.storagelink.deviceid': 'vdb', 'occi.storagelink.state': 'active' },
  source: '/compute/vm1',
  target: '/storage/disk1',
  targetKind: `${INFRA}storage`,
};
const storage: Entity = { location: '/storage/disk1', kind: `${INFRA}storage`, mixins: [], attributes: { 'occi.storage.size': 20, 'occi.storage.state': 'online' } };

/** The body of a text rendering; a JSON body here means the renderer chose the wrong form. */
function textBody(r: Rendered): string {
  if (typeof r.body !== 'string') throw new Error(`expected a text body, got ${typeof r.body}`);
  return r.body;
}

const FORMATS: { ext: string; type: string; text: (r: Rendered) => string }[] = [
  { ext: 'json', type: 'application/occi+json', text: (r) => `${JSON.stringify(r.body, null, 2)}\n` },
  { ext: 'txt', type: 'text/plain', text: (r) => textBody(r) },
  {
    ext: 'occi-headers',
    type: 'text/occi',
    text: (r) =>
      Object.entries(r.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\n`)
        .join(''),
  },
  { ext: 'uri', type: 'text/uri-list', text: (r) => textBody(r) },
  { ext: 'html', type: 'text/html', text: (r) => textBody(r) },
];

const CASES: { name: string; render: (type: string) => Rendered; listing: boolean }[] = [
  { name: 'compute_a', render: (type) => rendererFor(type).entity(compute, [storagelink], ctx), listing: false },
  { name: 'collection_a', render: (type) => rendererFor(type).collection([compute, storage], (e) => (e === compute ? [storagelink] : []), ctx), listing: true },
  {
    name: 'categories_a',
    render: (type) =>
      rendererFor(type).categories([registry.get(`${INFRA}storage`)!, registry.get('http://schemas.ogf.org/occi/infrastructure/storage/action#resize')!, registry.get(`${INFRA}os_tpl`)!], ctx),
    listing: false,
  },
];

function golden(name: string, ext: string, actual: string): string {
  const file = new URL(`${name}.${ext}`, FIXTURES);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  return readFileSync(file, 'utf8');
}

const normalise = (text: string) =>
  text
    .replace(/\r\n/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .trim();

describe('golden renderings', () => {
  for (const c of CASES) {
    for (const format of FORMATS) {
      it(`${c.name} as ${format.type}`, () => {
        if (format.ext === 'uri' && !c.listing) {
          expect(() => c.render(format.type)).toThrow(/listings only/);
          return;
        }
        const actual = format.text(c.render(format.type));
        const expected = golden(c.name, format.ext, actual);
        expect(normalise(actual), `${c.name}.${format.ext}`).toBe(normalise(expected));
      });
    }
  }
});

describe('golden files parse back', () => {
  const lines = (text: string): TextBodyLine[] => parseTextBody(text);
  const headerLines = (text: string): TextBodyLine[] =>
    text
      .split('\n')
      .filter(Boolean)
      .flatMap((row) => {
        const at = row.indexOf(': ');
        return splitHeaderValues(row.slice(at + 2)).map((value) => ({ name: row.slice(0, at), value, line: 1 }));
      });

  const expectCompute = (item: ReturnType<typeof entityFromLines>) => {
    expect(item.input.kind).toBe(compute.kind);
    expect(item.input.mixins).toEqual(compute.mixins);
    expect(item.id).toBe('vm1');
    expect(item.input.attributes).toMatchObject({ ...compute.attributes, 'occi.core.title': compute.title, 'occi.core.summary': compute.summary });
    expect(item.links).toHaveLength(1);
    expect(item.links[0]!.input).toMatchObject({ kind: storagelink.kind, target: storagelink.target, targetKind: storagelink.targetKind, attributes: storagelink.attributes });
    expect(item.links[0]!.id).toBe('sl1');
  };

  it('compute_a.txt reads back as the entity it renders', () => {
    expectCompute(entityFromLines(lines(readFileSync(new URL('compute_a.txt', FIXTURES), 'utf8'))));
  });

  it('compute_a.occi-headers reads back as the entity it renders', () => {
    expectCompute(entityFromLines(headerLines(readFileSync(new URL('compute_a.occi-headers', FIXTURES), 'utf8'))));
  });

  it('compute_a.json reads back as the entity it renders', () => {
    const [item] = parseEntities(JSON.parse(readFileSync(new URL('compute_a.json', FIXTURES), 'utf8')) as Record<string, unknown>);
    expect(item!.input).toMatchObject({ kind: compute.kind, mixins: compute.mixins, attributes: compute.attributes, title: compute.title, summary: compute.summary });
    expect(item!.id).toBe('vm1');
    expect(item!.links[0]!.input).toMatchObject({ kind: storagelink.kind, target: 'http://ocni.test/storage/disk1', attributes: storagelink.attributes });
  });
});
