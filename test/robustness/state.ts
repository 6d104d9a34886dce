/**
 * What a server holds, seen from outside: its listings and `/-/` over HTTP, and the documents of
 * its two databases read directly from the CouchDB-protocol server. Used to prove that a refused
 * request stored nothing.
 */
import { createHash } from 'node:crypto';
import { call } from '../support/harness.ts';
import { couchFetch } from '../support/couch-fetch.ts';

/** The listings a snapshot reads (JSON, so the text is the byte-exact rendering); `/` lists every entity. */
export const LISTINGS = ['/?number=1000', '/compute/?number=1000', '/storage/', '/network/', '/networkinterface/', '/storagelink/', '/template/resource/medium/', '/-/'];
/** What a quick snapshot reads over HTTP: the categories held in memory (the documents come from the store). */
export const QUICK_LISTINGS = ['/-/'];

/** Named texts: `GET <listing>` bodies, and `<db> _all_docs` as `id rev digest` lines. */
export type Snapshot = Map<string, string>;

/**
 * GET on the CouchDB-protocol server; credentials in the URL (`http://admin:secret@…`, as with an
 * external CouchDB) become an Authorization header, since fetch refuses URLs that carry them.
 */
export function couchGet(couchUrl: string, path: string, init: RequestInit = {}): Promise<Response> {
  return couchFetch(couchUrl, path, init);
}

/** Every document of a database as `id rev digest` lines, the digest over its body without `_rev`. */
async function allDocs(couchUrl: string, db: string): Promise<string> {
  const res = await couchGet(couchUrl, `${db}/_all_docs?include_docs=true`);
  if (!res.ok) throw new Error(`reading ${db}/_all_docs answered ${res.status}`);
  const body = (await res.json()) as { rows: { id: string; value: { rev: string }; doc?: Record<string, unknown> }[] };
  return body.rows
    .map((r) => {
      const { _rev: _ignored, ...content } = r.doc ?? {};
      return `${r.id} ${r.value.rev} ${createHash('sha1').update(JSON.stringify(content)).digest('hex').slice(0, 12)}`;
    })
    .join('\n');
}

/** The store's update sequences of both databases: unchanged means nothing was written. */
export async function updateSeqs(couchUrl: string, prefix: string): Promise<string> {
  const seqs = await Promise.all(
    ['categories', 'entities'].map(async (name) => {
      const res = await couchGet(couchUrl, `${prefix}${name}`);
      const body = (await res.json()) as { update_seq?: unknown };
      return JSON.stringify(body.update_seq);
    }),
  );
  return seqs.join(' ');
}

async function listingText(base: string, path: string): Promise<string> {
  const res = await call(base, 'GET', path);
  return `${res.status} ${res.text}`;
}

/** `GET /-/` as a snapshot holds it: the bytes, or with `sorted` each class sorted by identifier. */
export async function categoriesText(base: string, sorted: boolean): Promise<string> {
  const res = await call(base, 'GET', '/-/');
  if (!sorted || !res.json) return `${res.status} ${res.text}`;
  const body = res.json as Record<string, { scheme: string; term: string }[]>;
  for (const key of Object.keys(body)) body[key] = [...(body[key] ?? [])].sort((a, b) => (a.scheme + a.term).localeCompare(b.scheme + b.term));
  return `${res.status} ${JSON.stringify(body)}`;
}

/**
 * Reads everything a request could have changed.
 *
 * @param sortCategories - compare `/-/` as a set (its order may follow the changes feed), not as bytes
 */
export async function snapshot(base: string, couchUrl: string, prefix: string, sortCategories = false, listings: readonly string[] = LISTINGS): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const path of listings) out.set(`GET ${path}`, path === '/-/' ? await categoriesText(base, sortCategories) : await listingText(base, path));
  const [categories, entities] = await Promise.all(['categories', 'entities'].map((name) => allDocs(couchUrl, `${prefix}${name}`)));
  out.set('categories _all_docs', categories!);
  out.set('entities _all_docs', entities!);
  return out;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  const from = Math.max(0, i - 80);
  return `at character ${i}: before …${JSON.stringify(a.slice(from, i + 160))}… after …${JSON.stringify(b.slice(from, i + 160))}…`;
}

/** Line-level differences of `_all_docs` (added, removed, re-revisioned documents). */
function docsDifference(a: string, b: string): string {
  // Ids may hold spaces; the revision and the digest are the last two fields.
  const parse = (text: string) =>
    new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const parts = l.split(' ');
          const digest = parts.pop()!;
          const rev = parts.pop()!;
          return [parts.join(' '), { rev, digest }] as const;
        }),
    );
  const before = parse(a);
  const after = parse(b);
  const lines: string[] = [];
  for (const [id, now] of after) {
    const then = before.get(id);
    if (!then) lines.push(`added ${id} (${now.rev})`);
    else if (then.rev !== now.rev) lines.push(`rewritten ${id} (${then.rev} → ${now.rev}, ${then.digest === now.digest ? 'same content' : 'content changed'})`);
  }
  for (const id of before.keys()) if (!after.has(id)) lines.push(`removed ${id}`);
  return lines.slice(0, 8).join('; ') + (lines.length > 8 ? `; … ${lines.length - 8} more` : '');
}

/** The differences between two snapshots, one sentence each; empty when identical. */
export function differences(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [name, text] of before) {
    const now = after.get(name) ?? '';
    if (now === text) continue;
    out.push(name.endsWith('_all_docs') ? `${name}: ${docsDifference(text, now)}` : `${name} changed ${firstDifference(text, now)}`);
  }
  return out;
}
