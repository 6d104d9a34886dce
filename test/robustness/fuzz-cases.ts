/**
 * Seeded request generators for the fuzz test: structurally mutated pyOCNI fixtures, malformed
 * and extreme JSON, broken OCCI text renderings (text/plain bodies, text/occi headers), odd paths,
 * methods, headers and query strings, and a few requests only a bare socket can send.
 *
 * Generation depends on the random source only (never on responses), so a seed replays the same
 * request sequence.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Rng } from './prng.ts';
import type { WireRequest } from './http.ts';

export const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
export const COMPUTE = `${INFRA}compute`;
export const STORAGE = `${INFRA}storage`;
export const NETWORK = `${INFRA}network`;
export const NETWORKINTERFACE = `${INFRA}networkinterface`;
export const STORAGELINK = `${INFRA}storagelink`;
export const IPNETWORK = 'http://schemas.ogf.org/occi/infrastructure/network#ipnetwork';
export const COMPUTE_ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
export const MEDIUM = 'http://example.com/template/resource#medium';
export const VM_KIND = 'http://example.com/occi/ocni#vm';

/** A generated request and what the invariants need to know about it. */
export interface FuzzCase extends WireRequest {
  /** Which generator made it (failures are grouped by it). */
  generator: string;
  /**
   * The client asked for JSON, or for nothing ocni renders (which is answered in JSON): a 4xx must
   * then be a problem document with a `detail`.
   */
  jsonClient: boolean;
  /** Malformed at the HTTP level: Node's parser may refuse it (400/431 without ocni's headers). */
  httpLevel?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The text of a pyOCNI fixture. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
}

/** Real payloads, each with the route it belongs to. */
interface Target {
  method: string;
  path: string;
  body: Json;
}

function fixtureJson(name: string): Json {
  return JSON.parse(fixtureText(`pyocni/${name}`)) as Json;
}

const TARGETS: Target[] = [
  { method: 'POST', path: '/-/', body: fixtureJson('post_categories.json') },
  { method: 'PUT', path: '/-/', body: fixtureJson('put_categories.json') },
  { method: 'PUT', path: '/-/', body: fixtureJson('update_provider.json') },
  { method: 'DELETE', path: '/-/', body: fixtureJson('delete_categories.json') },
  { method: 'GET', path: '/-/', body: fixtureJson('filter_categories.json') },
  { method: 'GET', path: '/.well-known/org/ogf/occi/-/', body: fixtureJson('filter_categories.json') },
  { method: 'POST', path: '/compute/', body: fixtureJson('post_resources.json') },
  { method: 'GET', path: '/compute/', body: fixtureJson('get_resources.json') },
  { method: 'DELETE', path: '/compute/', body: fixtureJson('get_resources.json') },
  { method: 'POST', path: '/compute/?action=start', body: fixtureJson('trigger_action.json') },
  { method: 'POST', path: '/template/resource/medium/', body: fixtureJson('associate_mixins.json') },
  { method: 'PUT', path: '/template/resource/medium/', body: fixtureJson('update_mixins.json') },
  { method: 'DELETE', path: '/template/resource/medium/', body: fixtureJson('dissociate_mixins.json') },
  { method: 'PUT', path: '/compute/9930', body: fixtureJson('post_custom_resource.json') },
  { method: 'PUT', path: '/compute/vm2', body: fixtureJson('full_update_resource.json') },
  { method: 'POST', path: '/compute/vm1', body: fixtureJson('partial_update_resource.json') },
  { method: 'POST', path: '/compute/vm1?action=start', body: fixtureJson('action_on_resource.json') },
  // OCCI 1.2 shapes the fixtures do not cover.
  { method: 'POST', path: '/compute/', body: { kind: COMPUTE, id: 'fz1', title: 't', mixins: [MEDIUM], attributes: { 'occi.compute.cores': 2, 'occi.compute.hostname': 'h1' } } },
  { method: 'POST', path: '/storage/', body: { kind: STORAGE, attributes: { 'occi.storage.size': 10 } } },
  { method: 'POST', path: '/network/', body: { kind: NETWORK, mixins: [IPNETWORK], attributes: { 'occi.network.address': '10.0.0.0/24' } } },
  {
    method: 'POST',
    path: '/networkinterface/',
    body: {
      kind: NETWORKINTERFACE,
      source: { location: '/compute/vm1' },
      target: { location: '/network/net1', kind: NETWORK },
      attributes: { 'occi.networkinterface.interface': 'eth1', 'occi.networkinterface.mac': '00:11:22:33:44:66' },
    },
  },
  {
    method: 'POST',
    path: '/compute/',
    body: { kind: COMPUTE, links: [{ kind: STORAGELINK, target: { location: '/storage/disk1', kind: STORAGE }, attributes: { 'occi.storagelink.deviceid': 'vdb' } }] },
  },
  { method: 'POST', path: '/compute/vm1?action=stop', body: { action: `${COMPUTE_ACTION}stop`, attributes: { method: 'graceful' } } },
  { method: 'POST', path: '/template/resource/medium/', body: ['/compute/vm3'] },
  { method: 'PUT', path: '/template/resource/medium/', body: { locations: ['/compute/vm1'] } },
  {
    method: 'POST',
    path: '/-/',
    body: {
      kinds: [
        {
          term: 'fzk',
          scheme: 'http://example.com/fuzz#',
          parent: 'http://schemas.ogf.org/occi/core#resource',
          location: '/fzk/',
          attributes: { 'com.example.size': { type: 'number', mutable: true, required: false, pattern: { type: 'integer', minimum: 1 }, default: 2 } },
        },
      ],
      mixins: [{ term: 'fzm', scheme: 'http://example.com/fuzz#', depends: [], applies: [COMPUTE], location: '/fzm/' }],
    },
  },
  { method: 'PUT', path: '/-/', body: { mixins: [{ term: 'medium', scheme: 'http://example.com/template/resource#', title: 'renamed' }] } },
  { method: 'DELETE', path: '/-/', body: { mixins: ['http://example.com/fuzz#fzm'] } },
  { method: 'PUT', path: '/-/', body: { providers: [{ kind: COMPUTE, provider: { local: ['local'], remote: [] } }] } },
];

const KEY_POOL = [
  'kind',
  'kinds',
  'mixins',
  'actions',
  'action',
  'attributes',
  'resources',
  'links',
  'id',
  'title',
  'summary',
  'source',
  'target',
  'location',
  'locations',
  'X-OCCI-Location',
  'term',
  'scheme',
  'parent',
  'related',
  'depends',
  'applies',
  'providers',
  'provider',
  'Provider',
  'OCCI_ID',
  'type',
  'mutable',
  'required',
  'pattern',
  'default',
  'minimum',
  'maximum',
  'description',
  'occi',
  'occi.compute.cores',
  'occi.core.id',
  'occi.core.title',
  'occi.compute.state',
  'a.b',
  'a..b',
  '.',
  '',
  ' ',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'PROTO_PLACEHOLDER',
  '\u0000',
  '😀',
  '$ref',
  '_id',
  '_rev',
  '_deleted',
];

const IDENTIFIERS = [
  COMPUTE,
  STORAGE,
  NETWORK,
  NETWORKINTERFACE,
  STORAGELINK,
  IPNETWORK,
  MEDIUM,
  VM_KIND,
  `${COMPUTE_ACTION}start`,
  'http://schemas.ogf.org/occi/core#resource',
  'http://schemas.ogf.org/occi/core#link',
  'http://schemas.ogf.org/occi/core#entity',
  `${INFRA}os_tpl`,
];

function oddString(rng: Rng): string {
  return rng.pick([
    '',
    ' ',
    'x',
    '0',
    'true',
    'null',
    '#',
    'http://',
    'http://example.com/x#',
    'http: //schemas.ogf.org/occi/infrastructure#',
    'http://example.com/no-hash',
    '/compute/',
    '/compute/vm1',
    '/compute/ghost',
    '/-/',
    '/-/x/',
    '/.well-known/x/',
    'compute/',
    '/a//b/',
    '/a/../b/',
    '../../etc/passwd',
    '%00',
    '\u0000',
    '\u0001\u0002',
    '\u2028\u2029',
    '\ud800',
    '\udfff\ud800',
    '😀',
    'ä',
    'a b',
    'a;b',
    'a"b',
    '<script>alert(1)</script>',
    '{{7*7}}',
    '${x}',
    'x'.repeat(rng.int(100, 5000)),
    'inactive',
    'active',
    'graceful',
    'x64',
    'ide:0:1',
    'eth0',
    '00:11:22:33:44:55',
    '10.0.0.0/24',
    'http://elsewhere.example/network/n1',
    rng.pick(IDENTIFIERS),
    `${rng.pick(IDENTIFIERS)}x`,
    rng.pick(IDENTIFIERS).replace('#', '/'),
  ]);
}

function oddNumber(rng: Rng): number {
  return rng.pick([0, -0, -1, 1, 2, 1.5, -2.5, 255, 256, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
}

function oddValue(rng: Rng, depth = 0): Json {
  switch (rng.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
    case 3:
      return oddNumber(rng);
    case 4:
    case 5:
      return oddString(rng);
    case 6:
      return depth > 2 ? [] : Array.from({ length: rng.int(0, 3) }, () => oddValue(rng, depth + 1));
    case 7: {
      if (depth > 2) return {};
      const out: { [key: string]: Json } = {};
      for (let i = rng.int(0, 3); i > 0; i -= 1) out[rng.pick(KEY_POOL)] = oddValue(rng, depth + 1);
      return out;
    }
    case 8:
      return { type: rng.pick(['string', 'number', 'boolean', 'integer', 'object', 'array', 'bogus']), default: oddValue(rng, depth + 1) };
    default:
      return rng.pick(IDENTIFIERS);
  }
}

type PathStep = string | number;

function allPaths(node: Json, at: PathStep[] = [], out: PathStep[][] = []): PathStep[][] {
  out.push(at);
  if (Array.isArray(node)) node.forEach((child, i) => allPaths(child, [...at, i], out));
  else if (node !== null && typeof node === 'object') for (const [key, child] of Object.entries(node)) allPaths(child, [...at, key], out);
  return out;
}

function getAt(node: Json, path: PathStep[]): Json | undefined {
  let here: Json | undefined = node;
  for (const step of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = Array.isArray(here) ? here[step as number] : here[step as string];
  }
  return here;
}

/** Replaces the value at `path` (the root when empty) and returns the new root. */
function setAt(root: Json, path: PathStep[], value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[Math.min(last as number, parent.length)] = value;
  else if (parent !== null && typeof parent === 'object') parent[last as string] = value;
  return root;
}

function deleteAt(root: Json, path: PathStep[]): void {
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(last as number, 1);
  else if (parent !== null && typeof parent === 'object') delete parent[last as string];
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function flatten(node: { [key: string]: Json }, prefix = '', out: { [key: string]: Json } = {}): { [key: string]: Json } {
  for (const [key, value] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isObject(value) && Object.keys(value).length > 0 && !('type' in value)) flatten(value, name, out);
    else out[name] = value;
  }
  return out;
}

function nest(flat: { [key: string]: Json }): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [name, value] of Object.entries(flat)) {
    let node = out;
    const parts = name.split('.');
    parts.slice(0, -1).forEach((part) => {
      const next = node[part];
      node = isObject(next) ? next : (node[part] = {});
    });
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

/** Reshapes an attribute map oddly: flat ↔ nested, both at once, extra levels, scalars between levels. */
function reshapeAttributes(rng: Rng, attributes: { [key: string]: Json }): Json {
  const flat = flatten(attributes);
  const names = Object.keys(flat);
  switch (rng.int(0, 7)) {
    case 0:
      return nest(flat);
    case 1:
      return flat;
    case 2:
      // Both shapes, possibly disagreeing.
      return { ...flat, ...nest(Object.fromEntries(names.map((n) => [n, oddValue(rng)]))) };
    case 3:
      return { extra: { level: nest(flat) } };
    case 4: {
      // A scalar where a namespace is expected.
      const first = names[0]?.split('.')[0] ?? 'occi';
      return { ...nest(flat), [first]: oddValue(rng) };
    }
    case 5:
      return Object.fromEntries(names.map((n) => [`${n}.`, flat[n]!]));
    case 6:
      return Object.fromEntries(names.map((n) => [n.toUpperCase(), flat[n]!]));
    default:
      return [flat];
  }
}

/** Applies one structural mutation; returns the (possibly new) root. */
function mutateOnce(rng: Rng, root: Json): Json {
  const paths = allPaths(root);
  const path = rng.pick(paths);
  const value = getAt(root, path);
  switch (rng.int(0, 9)) {
    case 0: // drop a field or element
      if (path.length > 0) deleteAt(root, path);
      return root;
    case 1: {
      // duplicate: a sibling under another name, or an array element twice
      const parent = path.length > 0 ? getAt(root, path.slice(0, -1)) : undefined;
      if (Array.isArray(parent) && value !== undefined) parent.push(structuredClone(value));
      else if (isObject(parent) && value !== undefined) parent[rng.pick(KEY_POOL)] = structuredClone(value);
      else if (isObject(value)) value[rng.pick(KEY_POOL)] = oddValue(rng);
      return root;
    }
    case 2:
    case 3: // retype
      return setAt(root, path, oddValue(rng));
    case 4: {
      // rename a key
      const parent = getAt(root, path.slice(0, -1));
      const last = path[path.length - 1];
      if (isObject(parent) && typeof last === 'string') {
        const moved = parent[last]!;
        delete parent[last];
        parent[rng.pick(KEY_POOL)] = moved;
      }
      return root;
    }
    case 5: {
      // reshape an attribute map
      const maps = paths.filter((p) => p[p.length - 1] === 'attributes' && isObject(getAt(root, p)));
      const target = maps.length > 0 ? rng.pick(maps) : path;
      const found = getAt(root, target);
      return setAt(root, target, isObject(found) ? reshapeAttributes(rng, found) : { occi: { compute: { cores: oddValue(rng) } } });
    }
    case 6: // numbers as strings and strings as numbers
      if (typeof value === 'number') return setAt(root, path, String(value));
      if (typeof value === 'string') return setAt(root, path, Number.isFinite(Number(value)) ? Number(value) : value.length);
      return setAt(root, path, oddValue(rng));
    case 7: // wrap
      return setAt(root, path, rng.pick<Json>([[value ?? null], { resources: [value ?? null] }, { kinds: [value ?? null] }, { attributes: value ?? null }, { value: value ?? null }]));
    case 8: {
      // swap two values
      const other = rng.pick(paths);
      const a = getAt(root, path);
      const b = getAt(root, other);
      if (a === undefined || b === undefined || other.join('/').startsWith(path.join('/')) || path.join('/').startsWith(other.join('/'))) return root;
      setAt(root, path, structuredClone(b));
      return setAt(root, other, structuredClone(a));
    }
    default: {
      // a long list of copies
      const parent = path.length > 0 ? getAt(root, path.slice(0, -1)) : undefined;
      if (Array.isArray(parent) && value !== undefined) for (let i = rng.int(2, 60); i > 0; i -= 1) parent.push(value);
      return root;
    }
  }
}

function serialize(value: Json): string {
  // JSON.parse gives "__proto__" as an own key; objects built here cannot hold one, so a placeholder is swapped in the text.
  return JSON.stringify(value).replaceAll('"PROTO_PLACEHOLDER"', '"__proto__"');
}

const JSON_ACCEPTS: (string | undefined)[] = [
  undefined,
  undefined,
  'application/occi+json',
  'application/occi+json',
  'application/occi+json',
  '*/*',
  '',
  'application/json',
  'application/occi+json; profile=pyocni',
  'application/occi+json;profile="occi"',
  'application/*',
  'image/png',
  '*/*;q=0',
  ';;;,,,',
  'application/occi+json;q=abc',
  'application/occi+json, text/uri-list;q=0.1',
];
const TEXT_ACCEPTS = ['text/plain', 'text/occi', 'text/html', 'text/uri-list', 'text/*', 'text/plain;q=1, application/json;q=0.1', 'text/uri-list, */*;q=0.1'];

function accept(rng: Rng, jsonBias = 0.85): { header?: string; json: boolean } {
  if (rng.chance(jsonBias)) {
    const header = rng.pick(JSON_ACCEPTS);
    return header === undefined ? { json: true } : { header, json: true };
  }
  return { header: rng.pick(TEXT_ACCEPTS), json: false };
}

function jsonRequest(rng: Rng, generator: string, method: string, target: string, body: Buffer | undefined, extra: [string, string][] = []): FuzzCase {
  const a = accept(rng);
  const headers: [string, string][] = [];
  if (a.header !== undefined) headers.push(['Accept', a.header]);
  if (body !== undefined) headers.push(['Content-Type', rng.pick(['application/occi+json', 'application/occi+json', 'application/json', 'application/occi+json; charset=utf-8'])]);
  headers.push(...extra);
  const out: FuzzCase = { generator, method, target, headers, jsonClient: a.json };
  if (body !== undefined) out.body = body;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Mutated bodies stay below this many characters: copies of copies would otherwise grow without bound. */
const MUTATED_MAX = 48 * 1024;

function fixtureMutation(rng: Rng): FuzzCase {
  const target = rng.pick(TARGETS);
  let text = serialize(target.body);
  for (let i = rng.int(1, 3); i > 0; i -= 1) {
    const next = serialize(mutateOnce(rng, JSON.parse(text.replaceAll('"__proto__"', '"PROTO_PLACEHOLDER"')) as Json));
    if (next.length <= MUTATED_MAX) text = next;
  }
  return jsonRequest(rng, 'fixture-mutation', target.method, target.path, Buffer.from(text));
}

const NUMBER_TOKENS = ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e-400', '0x1F', '01', '.5', '+1', '1.', '1e', '-', '99999999999999999999999999999999', '1_000', '١'];
const JUNK = ['undefined', '// c\n', '/* x */', '}', ']', '{', '[', '"', '\\', ',', ':', "'", '\u0000', '\u0007', '\t\n', 'true false', 'nul'];

function malformedJson(rng: Rng): FuzzCase {
  const target = rng.pick(TARGETS);
  const text = JSON.stringify(target.body, null, rng.chance(0.5) ? 2 : undefined);
  let bytes: Buffer;
  const at = (length: number) => rng.int(0, Math.max(0, length - 1));
  const indexes = (re: RegExp) => [...text.matchAll(re)].map((m) => m.index);
  switch (rng.int(0, 13)) {
    case 0:
      bytes = Buffer.from(text.slice(0, at(text.length)));
      break;
    case 1: {
      const closers = indexes(/[}\]]/g);
      const i = closers.length > 0 ? rng.pick(closers) : 0;
      bytes = Buffer.from(`${text.slice(0, i)},${text.slice(i)}`);
      break;
    }
    case 2: {
      const numbers = [...text.matchAll(/(?<=[:[,]\s*)-?\d+(\.\d+)?/g)];
      const m = numbers.length > 0 ? rng.pick(numbers) : undefined;
      bytes = Buffer.from(m ? `${text.slice(0, m.index)}${rng.pick(NUMBER_TOKENS)}${text.slice(m.index + m[0].length)}` : `{"n": ${rng.pick(NUMBER_TOKENS)}}`);
      break;
    }
    case 3: {
      const i = at(text.length);
      bytes = Buffer.from(`${text.slice(0, i)}${rng.pick(JUNK)}${text.slice(i)}`);
      break;
    }
    case 4: {
      // invalid UTF-8 inside a string
      const quotes = indexes(/"/g);
      const i = (quotes.length > 0 ? rng.pick(quotes) : 0) + 1;
      const bad = rng.pick([[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]]);
      const raw = Buffer.from(text);
      const cut = Buffer.byteLength(text.slice(0, i));
      bytes = Buffer.concat([raw.subarray(0, cut), Buffer.from(bad), raw.subarray(cut)]);
      break;
    }
    case 5: {
      // a raw control character inside a string
      const quotes = indexes(/"/g);
      const i = (quotes.length > 0 ? rng.pick(quotes) : 0) + 1;
      bytes = Buffer.from(`${text.slice(0, i)}${rng.pick(['\u0000', '\u0001', '\n', '\t', '\u001b', '\u007f'])}${text.slice(i)}`);
      break;
    }
    case 6:
      bytes = Buffer.from(text.replaceAll('"', rng.chance(0.5) ? "'" : '')); // single quotes / unquoted keys
      break;
    case 7:
      bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]); // BOM
      break;
    case 8:
      bytes = Buffer.from(`\ufeff${text}`, 'utf16le'); // UTF-16 sent as UTF-8
      break;
    case 9:
      bytes = Buffer.from(rng.pick(['', ' ', '\n', 'null', 'true', 'false', '0', '-1', '"s"', '[]', '[{}]', '{}', '[[]]', '[null]', '[1,2]', '{"":""}', '{"a":1}{"b":2}', text + text]));
      break;
    case 10: {
      const colons = indexes(/:/g);
      const i = colons.length > 0 ? rng.pick(colons) : 0;
      bytes = Buffer.from(text.slice(0, i) + text.slice(i + 1));
      break;
    }
    case 11: {
      const commas = indexes(/,/g);
      const i = commas.length > 0 ? rng.pick(commas) : 0;
      bytes = Buffer.from(`${text.slice(0, i)},,${text.slice(i + 1)}`);
      break;
    }
    case 12:
      // duplicate keys
      bytes = Buffer.from(text.replace(/^\{/, `{"kind": ${JSON.stringify(rng.pick(IDENTIFIERS))}, "kind": 1, `));
      break;
    default:
      bytes = Buffer.from(text.replace(/"(\w+)":/, (_m, key: string) => `${key}:`));
  }
  return jsonRequest(rng, 'malformed-json', target.method, target.path, bytes);
}

function deep(depth: number, open: string, close: string, leaf: string): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

function extremeJson(rng: Rng, bodyLimit: number): FuzzCase {
  const depth = rng.pick([10_000, 10_000, 5_000, 1_000, 200]);
  const nested = deep(depth, '{"a":', '}', '1');
  const arrays = deep(depth, '[', ']', '1');
  const long = (n: number) => JSON.stringify('x'.repeat(n));
  const cases: [string, string, string][] = [
    ['POST', '/compute/', arrays],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":${nested}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{"occi":{"compute":${nested}}}}`],
    ['POST', '/compute/', `{"resources":[${deep(Math.min(depth, 3000), '{"resources":[', ']}', '{}')}]}`],
    ['POST', '/compute/vm1', `{"attributes":${nested}}`],
    ['PUT', '/compute/fzdeep', `{"kind":"${COMPUTE}","title":${arrays}}`],
    ['GET', '/compute/', `{"resources":[{"attributes":${nested}}]}`],
    ['DELETE', '/compute/', `{"resources":[{"attributes":${nested}}]}`],
    ['POST', '/-/', `{"kinds":[{"term":"deep","scheme":"http://example.com/deep#","location":"/deep/","attributes":${deep(depth, '{"a":', '}', '{"type":"string"}')}}]}`],
    ['GET', '/-/', `{"kinds":[{"attributes":${deep(depth, '{"a":', '}', '{"type":"string"}')}}]}`],
    ['PUT', '/-/', `{"mixins":[{"term":"medium","scheme":"http://example.com/template/resource#","attributes":${nested}}]}`],
    ['POST', '/compute/vm1?action=start', `{"action":"${COMPUTE_ACTION}start","attributes":${nested}}`],
    ['POST', '/template/resource/medium/', `{"X-OCCI-Location":${arrays}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","title":${long(Math.floor(bodyLimit * 3))}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","title":${long(Math.floor(bodyLimit * 0.9))}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","id":${long(Math.floor(bodyLimit * 0.5))}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{"occi.compute.hostname":${long(Math.floor(bodyLimit * 0.5))}}}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{${long(Math.floor(bodyLimit * 0.5))}:1}}`],
    ['POST', '/-/', `{"mixins":[{"term":${long(5000)},"scheme":"http://example.com/long#","location":"/long/"}]}`],
    ['POST', '/-/', `{"mixins":[{"term":"long","scheme":"http://example.com/long#","location":"/${'l/'.repeat(1000)}"}]}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{"occi.compute.memory":${rng.pick(['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-0', '1.7976931348623157e309'])}}}`],
    ['POST', '/compute/', `{"resources":[${Array.from({ length: rng.int(51, 400) }, () => '{}').join(',')}]}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","mixins":[${Array.from({ length: 2000 }, () => JSON.stringify(MEDIUM)).join(',')}]}`],
    ['POST', '/compute/', `{"kind":"${COMPUTE}","attributes":{${Array.from({ length: 2000 }, (_v, i) => `"k${i}":${i}`).join(',')}}}`],
    ['GET', '/compute/', `{"resources":[${Array.from({ length: 3000 }, () => '{"kind":"x"}').join(',')}]}`],
    ['DELETE', '/-/', `{"mixins":[${Array.from({ length: 2000 }, (_v, i) => `"http://example.com/none#m${i}"`).join(',')}]}`],
  ];
  const [method, path, text] = rng.pick(cases);
  return jsonRequest(rng, 'extreme-json', method, path, Buffer.from(text));
}

// ---------------------------------------------------------------------------------------------
// OCCI text renderings

interface TextTemplate {
  method: string;
  path: string;
  lines: [string, string][];
}

const TEXT_TEMPLATES: TextTemplate[] = [
  {
    method: 'POST',
    path: '/compute/',
    lines: [
      ['Category', `compute; scheme="${INFRA}"; class="kind"`],
      ['Category', `small; scheme="http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#"; class="mixin"`],
      ['X-OCCI-Attribute', 'occi.core.title="vm fuzz"'],
      ['X-OCCI-Attribute', 'occi.compute.hostname="vm.example.org"'],
      ['X-OCCI-Attribute', 'occi.compute.cores=2'],
      ['Link', `</storage/disk1>; rel="${STORAGE}"; category="${STORAGELINK}"; occi.storagelink.deviceid="vdc"`],
    ],
  },
  {
    method: 'POST',
    path: '/storage/',
    lines: [
      ['Category', `storage; scheme="${INFRA}"; class="kind"`],
      ['X-OCCI-Attribute', 'occi.storage.size=20'],
    ],
  },
  {
    method: 'POST',
    path: '/networkinterface/',
    lines: [
      ['Category', `networkinterface; scheme="${INFRA}"; class="kind"`],
      ['X-OCCI-Attribute', 'occi.core.source="/compute/vm1"'],
      ['X-OCCI-Attribute', 'occi.core.target="/network/net1"'],
      ['X-OCCI-Attribute', 'occi.networkinterface.interface="eth2"'],
      ['X-OCCI-Attribute', 'occi.networkinterface.mac="aa:bb:cc:dd:ee:ff"'],
    ],
  },
  {
    method: 'POST',
    path: '/compute/vm1',
    lines: [
      ['X-OCCI-Attribute', 'occi.compute.hostname="renamed"'],
      ['X-OCCI-Attribute', 'occi.compute.speed=3.5'],
    ],
  },
  {
    method: 'PUT',
    path: '/compute/vm3',
    lines: [
      ['Category', `compute; scheme="${INFRA}"; class="kind"`],
      ['X-OCCI-Attribute', 'occi.compute.cores=4'],
    ],
  },
  {
    method: 'PUT',
    path: '/compute/fztext',
    lines: [
      ['Category', `compute; scheme="${INFRA}"; class="kind"`],
      ['X-OCCI-Attribute', 'occi.compute.cores=1'],
    ],
  },
  {
    method: 'POST',
    path: '/compute/vm1?action=stop',
    lines: [
      ['Category', `stop; scheme="${COMPUTE_ACTION}"; class="action"`],
      ['X-OCCI-Attribute', 'method="graceful"'],
    ],
  },
  { method: 'POST', path: '/compute/?action=start', lines: [['Category', `start; scheme="${COMPUTE_ACTION}"; class="action"`]] },
  {
    method: 'POST',
    path: '/template/resource/medium/',
    lines: [
      ['X-OCCI-Location', '/compute/vm2'],
      ['X-OCCI-Location', '/compute/vm3'],
    ],
  },
  { method: 'PUT', path: '/template/resource/medium/', lines: [['X-OCCI-Location', '/compute/vm1']] },
  { method: 'DELETE', path: '/template/resource/medium/', lines: [['X-OCCI-Location', '/compute/vm3']] },
  { method: 'GET', path: '/compute/', lines: [['X-OCCI-Attribute', 'occi.compute.cores=2']] },
  { method: 'GET', path: '/-/', lines: [['Category', `storage; scheme="${INFRA}"; class="kind"`]] },
  {
    method: 'POST',
    path: '/-/',
    lines: [
      [
        'Category',
        `fzt; scheme="http://example.com/fuzztext#"; class="mixin"; title="Fuzz text"; rel="${INFRA}os_tpl"; location="/fzt/"; attributes="com.example.a{required} com.example.b{immutable}"; actions="${COMPUTE_ACTION}start"`,
      ],
    ],
  },
  { method: 'DELETE', path: '/-/', lines: [['Category', 'fzt; scheme="http://example.com/fuzztext#"; class="mixin"']] },
];

const BAD_TERMS = ['', '-x', 'a b', 'ä', 'x/y', '#', 'x;y', '"', 'x'.repeat(3000), '.', '_'];
const BAD_ATTRIBUTES = [
  'occi.compute.cores=',
  '=5',
  'occi..x=1',
  'occi.compute.cores=two words',
  'occi.compute.cores="2',
  'occi.compute.cores=1e5',
  'occi.compute.cores=--1',
  'occi.compute.cores=2; junk',
  'occi.compute.cores="2"',
  'occi.compute.cores=true',
  'occi.compute.state="active"',
  'occi.core.id="a/b"',
  'occi.core.id=""',
  'occi.compute.cores=99999999999999999999999',
  'occi.compute.speed=-0.0',
  'occi.compute.hostname="\\"',
  '__proto__=1',
  'constructor="x"',
  'x=y=z',
  'occi.compute.cores=2, occi.compute.cores=3',
  'occi.compute.architecture=arm',
  `occi.compute.hostname="${'h'.repeat(400)}"`,
];
const BAD_LINKS = [
  '</storage/disk1',
  '<>',
  '</x>; rel',
  '</storage/disk1>; rel="a"; rel="b"',
  '<http://evil.example/x>; rel="http://evil.example/#x"',
  '</storage/disk1>; category="http://example.com/none#x"',
  `</compute/vm1?action=start>; rel="${COMPUTE_ACTION}start"`,
  '</storage/ghost>; rel="' + STORAGE + '"; category="' + STORAGELINK + '"',
  '<//x>; rel="x"',
  '</storage/disk1>; rel="' + STORAGE + '"; occi.storagelink.deviceid=',
  '</storage/disk1>;;;;',
];
const BAD_LOCATIONS = [
  'not a url',
  'http://evil.example/compute/vm1',
  '/compute/../x',
  '<>',
  '/compute/ghost',
  '/-/',
  'compute/vm1',
  '/compute/vm1, /compute/vm2',
  '"/compute/vm1"',
  '/compute//vm1',
  '%2Fcompute%2Fvm1',
];

function corruptLine(rng: Rng, name: string, value: string): [string, string] {
  switch (rng.int(0, 11)) {
    case 0: {
      const last = value.lastIndexOf('"');
      return [name, last < 0 ? `${value}"` : value.slice(0, last) + value.slice(last + 1)];
    }
    case 1:
      return name === 'Category' ? [name, value.replace(/^[^;]*/, rng.pick(BAD_TERMS))] : [name, rng.pick(BAD_ATTRIBUTES)];
    case 2:
      return [name, value.replace(/;\s*scheme="[^"]*"/, '')];
    case 3:
      return [name, value.replace(/scheme="([^"]*)#"/, (_m, s: string) => `scheme="${rng.pick([s, 'http: //x', '', 'urn:x', `${s}#x#`])}"`)];
    case 4:
      return [name, value.replace(/class="[^"]*"/, rng.pick(['class="thing"', 'class=kind', 'class=""', 'class="kind"; class="mixin"', '']))];
    case 5: {
      const i = rng.int(0, value.length);
      return [name, value.slice(0, i) + rng.pick(['\u0000', '\u0001', '\u007f', '\r', '\u001b', '\u00ff', '\u0085', '\t', '\\', '"', ';', ',', '<', '>', '{', '}']) + value.slice(i)];
    }
    case 6:
      return ['X-OCCI-Attribute', rng.pick(BAD_ATTRIBUTES)];
    case 7:
      return ['Link', rng.pick(BAD_LINKS)];
    case 8:
      return ['X-OCCI-Location', rng.pick(BAD_LOCATIONS)];
    case 9:
      return [rng.pick(['Category', 'Link', 'X-OCCI-Attribute', 'X-OCCI-Location', 'Location', 'category', 'X-OCCI-Attr', 'Bad Name', '']), value];
    case 10:
      return [
        name,
        `${value}; ${rng.pick(['x', '=', 'a=', '=b', 'title="t"; title="u"', 'location="/compute/"', 'location="/-/"', 'rel="http://example.com/none#x"', 'attributes="a{bogus}"', 'attributes="{required}"', 'actions="nothash"'])}`,
      ];
    default:
      return [name, value.repeat(rng.int(2, 40))];
  }
}

function textRendering(rng: Rng): FuzzCase {
  const template = rng.pick(TEXT_TEMPLATES);
  const lines = template.lines.map(([n, v]) => [n, v] as [string, string]);
  for (let i = rng.int(1, 3); i > 0; i -= 1) {
    if (lines.length === 0 || rng.chance(0.1)) {
      lines.push(corruptLine(rng, 'Category', `compute; scheme="${INFRA}"; class="kind"`));
      continue;
    }
    const at = rng.int(0, lines.length - 1);
    if (rng.chance(0.1)) lines.splice(at, 1);
    // Each rng.chance() call draws anew: the two conditions are not the same one.
    // eslint-disable-next-line no-dupe-else-if
    else if (rng.chance(0.1)) lines.splice(at, 0, lines[at]!);
    else lines[at] = corruptLine(rng, lines[at]![0], lines[at]![1]);
  }
  const mode = rng.chance(0.55) ? 'text/plain' : 'text/occi';
  const a = rng.chance(0.6) ? { header: mode, json: false } : accept(rng);
  const headers: [string, string][] = [];
  if (a.header !== undefined) headers.push(['Accept', a.header]);
  if (mode === 'text/plain') {
    headers.push(['Content-Type', rng.pick(['text/plain', 'text/plain; charset=utf-8', 'TEXT/PLAIN'])]);
    const eol = rng.pick(['\n', '\r\n', '\r', '\n\n']);
    let text = lines.map(([n, v]) => (n === '' ? v : `${n}: ${v}`)).join(eol);
    if (rng.chance(0.1)) text = ` ${text}`; // a continuation line with nothing before it
    if (rng.chance(0.05)) text = lines.map(([n, v]) => `${n} ${v}`).join(eol); // no colons
    return { generator: 'text-plain', method: template.method, target: template.path, headers, body: Buffer.from(text, rng.chance(0.1) ? 'latin1' : 'utf8'), jsonClient: a.json };
  }
  if (rng.chance(0.7)) headers.push(['Content-Type', 'text/occi']);
  // Headers: joined by ", " into one, or repeated; names that are not tokens, or control characters, need a bare socket.
  const joined = rng.chance(0.5);
  const byName = new Map<string, string[]>();
  for (const [n, v] of lines) byName.set(n, [...(byName.get(n) ?? []), v]);
  for (const [n, values] of byName) {
    if (joined) headers.push([n, values.join(', ')]);
    else for (const v of values) headers.push([n, v]);
  }
  const httpLevel = headers.some(([n, v]) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(n) || /[^\t\x20-\x7e\x80-\xff]/.test(v));
  const out: FuzzCase = { generator: 'text-occi', method: template.method, target: template.path, headers, jsonClient: a.json };
  if (httpLevel) {
    out.raw = true;
    out.httpLevel = true;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paths, methods, headers, query strings

const PATH_PREFIXES = [
  '/',
  '/compute/',
  '/compute/vm1',
  '/-/',
  '/.well-known/org/ogf/occi/-/',
  '/.well-known/',
  '/template/resource/medium/',
  '/storage/',
  '/network/',
  '/users/x/',
  '/vm/',
  '/crtp/small/',
  '/link/',
];
const PATH_PIECES = [
  '%00',
  '%2F',
  '%2f',
  '..',
  '.',
  '%2e%2e',
  '%2E',
  '',
  '/',
  '//',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C3%28',
  '%F0%9F%98%80',
  '%FF',
  '%C0%AF',
  '~',
  ';',
  ';a=b',
  '@',
  ':',
  '*',
  '!',
  "'",
  '(',
  ')',
  '\u00e4',
  '\u00ff',
  '-',
  '-/x',
  '.well-known',
  'vm1',
  'vm1/',
  'ghost',
  '%20',
  '+',
  '%2B',
  '&',
  '=',
  '$',
  '..%2F..%2F',
  '%252F',
  'x'.repeat(300),
  '#frag',
  '?',
  '?x#y',
];

function oddPathTarget(rng: Rng): string {
  const n = rng.int(0, 9);
  if (n === 0) return '/' + 'a'.repeat(rng.pick([1023, 1024, 1025, 2000, 8000]));
  if (n === 1) return '/' + 'a/'.repeat(rng.pick([100, 600, 3000]));
  if (n === 2)
    return rng.pick([
      '*',
      'http://127.0.0.1/-/',
      'http://evil.example/compute/',
      '//',
      '///',
      '/-',
      '/-/-/',
      '/-/x',
      '/.well-known/x',
      '/.well-known/org/ogf/occi/-/x',
      '/./-/',
      '/compute/./vm1',
      '/compute/../-/',
      '/%2D/',
      '/compute%2F',
      '/COMPUTE/',
      '/Compute/vm1',
    ]);
  let path = rng.pick(PATH_PREFIXES) + rng.pick(PATH_PIECES);
  if (rng.chance(0.4)) path += (rng.chance(0.5) ? '/' : '') + rng.pick(PATH_PIECES);
  return path;
}

function oddPath(rng: Rng): FuzzCase {
  const target = oddPathTarget(rng);
  const method = rng.weighted<string>([
    [6, 'GET'],
    [1, 'HEAD'],
    [1, 'DELETE'],
    [1, 'POST'],
    [1, 'PUT'],
  ]);
  const body = method === 'POST' || method === 'PUT' ? Buffer.from(serialize(rng.chance(0.5) ? { kind: COMPUTE } : oddValue(rng))) : undefined;
  const out = jsonRequest(rng, 'odd-path', method, target, body);
  // Raw bytes above 0x7f in a request-target are refused by Node's HTTP parser, before ocni.
  if (/[^\x21-\x7e]/.test(target)) out.httpLevel = true;
  return out;
}

const METHODS = ['PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'MKCOL', 'LINK', 'PURGE', 'SEARCH', 'REPORT', 'COPY', 'MOVE', 'LOCK', 'QUERY', 'CONNECT'];

function oddMethod(rng: Rng): FuzzCase {
  const target = rng.pick(['/-/', '/compute/', '/compute/vm1', '/template/resource/medium/', '/', '/users/x/', '/compute/ghost', '/.well-known/org/ogf/occi/-/']);
  if (rng.chance(0.15)) {
    // Methods node:http will not send: lowercase, or not a token.
    const method = rng.pick(['get', 'Post', 'G ET', 'GET\u0000', 'DELETE\t']);
    return { generator: 'odd-method', method, target, headers: [['Accept', 'application/occi+json']], raw: true, httpLevel: true, jsonClient: true };
  }
  const method = rng.pick(METHODS);
  if (method === 'CONNECT') return { generator: 'odd-method', method, target: '127.0.0.1:1', headers: [['Accept', 'application/occi+json']], raw: true, httpLevel: true, jsonClient: true };
  const body = rng.chance(0.4) ? Buffer.from(serialize({ kind: COMPUTE, attributes: { 'occi.compute.cores': 2 } })) : undefined;
  return jsonRequest(rng, 'odd-method', method, target, body);
}

const CONTENT_TYPES = [
  'application/occi+json; charset=bogus',
  'application/occi+json; charset=utf-16le',
  'application/json; charset=latin1',
  'APPLICATION/OCCI+JSON',
  'application/occi+json;;',
  'application/vnd.foo+json',
  'application/json-patch+json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  '*/*',
  'application/occi+json, text/plain',
  'x'.repeat(2000),
  'text/plain',
  'text/occi',
  'application/xml',
  'application/occi+json; profile=pyocni',
];

function oddHeaders(rng: Rng): FuzzCase {
  const target = rng.pick(TARGETS);
  const json = Buffer.from(serialize(target.body));
  const headers: [string, string][] = [];
  let body: Buffer | undefined = json;
  let jsonClient = true;
  switch (rng.int(0, 9)) {
    case 0: {
      const a = accept(rng, 0.5);
      if (a.header !== undefined) headers.push(['Accept', rng.chance(0.2) ? `${a.header}, ${'x/y;q=0.1, '.repeat(300)}` : a.header]);
      jsonClient = a.json;
      headers.push(['Content-Type', 'application/occi+json']);
      break;
    }
    case 1:
      headers.push(['Accept', 'application/occi+json'], ['Content-Type', rng.pick(CONTENT_TYPES)]);
      break;
    case 2: {
      const encoding = rng.pick(['gzip', 'gzip', 'deflate', 'br', 'gzip, gzip', 'identity', 'bogus', 'GZIP', 'x-gzip', 'compress']);
      const garbage = rng.chance(0.5);
      headers.push(['Accept', 'application/occi+json'], ['Content-Type', 'application/occi+json'], ['Content-Encoding', encoding]);
      body = garbage ? Buffer.from(rng.pick(['garbage', '', '\u001f\u008b\u0008\u0000', json.toString('utf8')])) : encoding === 'gzip' ? gzipSync(json) : json;
      break;
    }
    case 3:
      headers.push(
        ['Accept', 'application/occi+json'],
        ['Content-Type', 'application/occi+json'],
        [rng.pick(['If-Match', 'If-None-Match']), rng.pick(['*', '"garbage"', 'W/"x"', '"1-a", "2-b"', '', '"', 'W/', '"\u00ff"'])],
      );
      break;
    case 4: {
      // Host headers a URL cannot hold
      headers.push(
        ['Host', rng.pick(['[::1', 'a b', 'evil.example', '', 'h:99999', '[::1]:1', 'xn--bcher-kva.example', 'a"b', 'a/b', 'a?b', 'a#b', '%', 'h:x', '\u00ff'])],
        ['Accept', 'application/occi+json'],
      );
      headers.push(['Content-Type', 'application/occi+json']);
      if (rng.chance(0.5)) {
        // A listing with a next page renders an absolute Link from the Host.
        return { generator: 'odd-headers', method: 'GET', target: rng.pick(['/compute/?number=1', '/?number=1', '/compute/?number=1&page=2']), headers: headers.slice(0, 2), jsonClient: true };
      }
      break;
    }
    case 5:
      headers.push(['Accept', 'application/occi+json'], ['Content-Type', 'application/occi+json'], ['Transfer-Encoding', 'chunked']);
      break;
    case 6:
      headers.push(['Accept', 'application/occi+json'], ['Content-Type', 'application/occi+json'], ['Content-Type', rng.pick(['text/plain', 'application/json'])]);
      break;
    case 7:
      headers.push(['Accept', 'application/occi+json'], ['Content-Type', 'application/occi+json'], ['Expect', '100-continue']);
      break;
    case 8:
      // OCCI filter/structure headers on a JSON request
      headers.push(
        ['Accept', 'application/occi+json'],
        ['Content-Type', 'application/occi+json'],
        [rng.pick(['Category', 'Link', 'X-OCCI-Attribute', 'X-OCCI-Location']), rng.pick([...BAD_ATTRIBUTES, ...BAD_LINKS, ...BAD_LOCATIONS].filter((v) => !/[^\t\x20-\x7e\x80-\xff]/.test(v)))],
      );
      break;
    default:
      headers.push(
        ['Accept', 'application/occi+json'],
        [
          rng.pick(['X-Request-Id', 'Authorization', 'X-Auth-Token', 'Origin', 'Cookie', 'Range', 'X-Forwarded-Host', 'X-Forwarded-Proto']),
          rng.pick(['x'.repeat(4000), 'Bearer ', 'Basic !!!', '\u00ff\u00fe', 'bytes=0-1', 'evil.example', 'gopher', '"', '']),
        ],
      );
      body = undefined;
  }
  return { generator: 'odd-headers', method: target.method, target: target.path, headers, ...(body !== undefined ? { body } : {}), jsonClient };
}

const QUERIES = [
  'page=-1',
  'page=0',
  'page=1.5',
  'page=',
  'page=abc',
  'page=99999999999999999999',
  'page=1e3',
  'number=1e9',
  'number=0',
  'number=-5',
  'number=1001',
  'number=99999999999999999999999',
  'number=1&number=2',
  'page=1&page=1',
  'action=',
  'action=%00',
  'action=start&action=stop',
  'action=..%2F',
  `action=${encodeURIComponent(`${COMPUTE_ACTION}start`)}`,
  'action=start%0d%0aX-Injected:%201',
  `action=${'a'.repeat(3000)}`,
  'action=stop',
  'action=fly',
  'action=%E0%A4%A',
  'category=',
  'category=%ZZ',
  `category=${encodeURIComponent(COMPUTE)}`,
  `category=${encodeURIComponent(MEDIUM)}`,
  `category=${encodeURIComponent(`${COMPUTE_ACTION}start`)}`,
  'category=x%23y',
  'attribute=occi.compute.cores',
  'value=2',
  'attribute=a&attribute=b&value=1',
  'attribute=occi.compute.cores&value=abc',
  'attribute=occi.compute.cores&value=1e400',
  'attribute=&value=',
  'attribute=occi.compute.cores&value=2&attribute=occi.compute.cores&value=3',
  'attribute=occi.core.id&value=vm1',
  'cascade=maybe',
  'cascade=true&cascade=false',
  'cascade=',
  'class=bogus',
  'class=kind&class=mixin',
  'class=action',
  'scheme=%00',
  'term=%FF',
  'a[b]=c',
  'page[]=1',
  '%=',
  '&&&',
  '=',
  'number=2&page=2',
  'number=1',
  'term=compute&scheme=http%3A%2F%2Fschemas.ogf.org%2Focci%2Finfrastructure%23',
  `x=${'q'.repeat(6000)}`,
];

function badQuery(rng: Rng): FuzzCase {
  const path = rng.pick(['/compute/', '/compute/vm1', '/-/', '/.well-known/org/ogf/occi/-/', '/template/resource/medium/', '/storage/', '/', '/users/x/', '/compute/ghost']);
  let query = rng.pick(QUERIES);
  if (rng.chance(0.3)) query += `&${rng.pick(QUERIES)}`;
  const method = rng.weighted<string>([
    [6, 'GET'],
    [2, 'POST'],
    [1, 'DELETE'],
    [1, 'PUT'],
  ]);
  let body: Buffer | undefined;
  if (method === 'POST' && rng.chance(0.5)) body = Buffer.from(serialize(rng.pick<Json>([{ action: `${COMPUTE_ACTION}start` }, {}, { attributes: { method: 'graceful' } }, { kind: COMPUTE }])));
  if (method === 'PUT') body = Buffer.from(serialize(rng.pick<Json>([{ kind: COMPUTE }, ['/compute/vm1'], { mixins: [] }])));
  if (method === 'DELETE' && path === '/-/') body = Buffer.from(serialize({ mixins: ['http://example.com/none#x'] }));
  return jsonRequest(rng, 'bad-query', method, `${path}?${query}`, body);
}

/** Requests only a bare socket can send: Node's HTTP parser may refuse them before ocni sees them. */
function rawBytes(rng: Rng): FuzzCase {
  const base = { generator: 'raw-socket', raw: true, httpLevel: true, jsonClient: true } as const;
  switch (rng.int(0, 7)) {
    case 0:
      return { ...base, method: 'GET', target: rng.pick(['/compute/a b', '/compute/\u0000', '/\u007f', '/compute/\ttab']), headers: [['Accept', 'application/occi+json']] };
    case 1:
      return {
        ...base,
        method: 'POST',
        target: '/compute/',
        headers: [
          ['Accept', 'application/occi+json'],
          ['Content-Type', 'text/occi'],
          ['Category', `compute\u0001; scheme="${INFRA}"; class="kind"`],
        ],
      };
    case 2:
      return {
        ...base,
        method: 'POST',
        target: '/compute/',
        headers: [
          ['Content-Type', 'application/occi+json'],
          ['Content-Length', '2'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: Buffer.from('0\r\n\r\n'),
      };
    case 3:
      return {
        ...base,
        method: 'POST',
        target: '/compute/',
        headers: [
          ['Content-Type', 'application/occi+json'],
          ['Content-Length', rng.pick(['abc', '-1', '1, 2'])],
        ],
        body: Buffer.from('{}'),
      };
    case 4:
      return {
        ...base,
        method: 'GET',
        target: '/-/',
        headers: [
          ['Accept', 'application/occi+json'],
          ['X-Big', 'x'.repeat(20_000)],
        ],
      };
    case 5:
      return {
        ...base,
        method: 'GET',
        target: '/-/',
        headers: [
          ['Accept', 'application/occi+json'],
          ['Bad Header', 'x'],
        ],
      };
    case 6: {
      // A well-formed request with a body node:http would also send; here with no Host header at all (HTTP/1.1 requires one).
      return {
        ...base,
        method: 'GET',
        target: '/compute/?number=1',
        headers: [
          ['Host', ''],
          ['Accept', 'application/occi+json'],
        ],
      };
    }
    default:
      return {
        ...base,
        method: 'POST',
        target: '/compute/',
        headers: [
          ['Accept', 'application/occi+json'],
          ['Content-Type', 'text/plain'],
        ],
        body: Buffer.from(`Category: compute; scheme="${INFRA}"; class="kind"\r\nX-OCCI-Attribute: occi.compute.hostname="a\u0000b"\r\n`),
      };
  }
}

/** One request of the mix. */
export function generate(rng: Rng, options: { bodyLimit: number }): FuzzCase {
  const which = rng.weighted<(r: Rng) => FuzzCase>([
    [28, fixtureMutation],
    [14, malformedJson],
    [6, (r) => extremeJson(r, options.bodyLimit)],
    [16, textRendering],
    [10, oddPath],
    [6, oddMethod],
    [9, oddHeaders],
    [9, badQuery],
    [2, rawBytes],
  ]);
  const c = which(rng);
  // Node's HTTP server refuses a head over 16 KiB (431) before ocni sees it.
  const head = c.target.length + c.headers.reduce((n, [name, value]) => n + name.length + value.length + 4, 0);
  if (head > 14 * 1024) c.httpLevel = true;
  return c;
}

// ---------------------------------------------------------------------------------------------
// The base state every phase starts from

/** The requests that (re)create the base state: categories, entities, the compute provider. */
export function baseState(): { method: string; path: string; body: Json; createOnly?: boolean }[] {
  const post = fixtureJson('post_categories.json') as { kinds: Json[]; mixins: Json[]; actions: Json[] };
  return [
    { method: 'POST', path: '/-/', body: { actions: post.actions } },
    { method: 'POST', path: '/-/', body: { mixins: post.mixins } },
    { method: 'POST', path: '/-/', body: { kinds: post.kinds } },
    { method: 'PUT', path: '/-/', body: fixtureJson('update_provider.json') },
    {
      method: 'PUT',
      path: '/compute/vm1',
      body: { kind: COMPUTE, mixins: [MEDIUM], title: 'vm1', attributes: { 'occi.compute.cores': 2, 'occi.compute.memory': 4, 'occi.compute.speed': 2 } },
      createOnly: true,
    },
    { method: 'PUT', path: '/compute/vm2', body: { kind: COMPUTE, title: 'vm2', attributes: { 'occi.compute.cores': 2, 'occi.compute.memory': 4 } }, createOnly: true },
    { method: 'PUT', path: '/compute/vm3', body: { kind: COMPUTE, title: 'vm3', attributes: { 'occi.compute.cores': 4, 'occi.compute.memory': 8 } }, createOnly: true },
    { method: 'PUT', path: '/storage/disk1', body: { kind: STORAGE, attributes: { 'occi.storage.size': 10 } }, createOnly: true },
    { method: 'PUT', path: '/network/net1', body: { kind: NETWORK, mixins: [IPNETWORK], attributes: { 'occi.network.address': '10.1.0.0/16' } }, createOnly: true },
    {
      method: 'PUT',
      path: '/networkinterface/ni1',
      body: { kind: NETWORKINTERFACE, source: '/compute/vm1', target: '/network/net1', attributes: { 'occi.networkinterface.interface': 'eth0', 'occi.networkinterface.mac': '00:11:22:33:44:55' } },
      createOnly: true,
    },
  ];
}
