/**
 * A fault-injecting HTTP proxy in front of the real CouchDB-protocol server (not a mock: every
 * request reaches the real store, and the faults are what a CouchDB 3 cluster or a network does):
 *
 * - `accepted`: the write is forwarded and its 201 answered as 202 Accepted, as a cluster does when
 *   fewer than `w` copies confirmed it (CouchDB docs, "Cluster theory": 201 when the write quorum
 *   was met, 202 when fewer copies answered).
 * - `split`: the write is applied to the revision it names whatever the document's current
 *   revision, as one copy of a cluster accepts a write the others refuse, and answered 202. It is
 *   stored with the documented `new_edits=false` of `_bulk_docs` and an explicit `_revisions`
 *   history, so a write based on a stale revision leaves a conflicting leaf, as a split write does.
 * - `cut-body`: the answer's status and headers are sent, then half its body, then the connection
 *   is closed.
 * - `drop-after-forward`: the request reaches the store (and its effect stays), then the client's
 *   connection is closed without an answer.
 * - `unavailable`: answered 503 without forwarding.
 *
 * {@link FaultProxy.plantConflict} plants a conflicting leaf revision of a document directly.
 * Listens on 127.0.0.1 only; every fault applies to a bounded number of requests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { couchFetch } from './couch-fetch.ts';

/** What happens to a request a rule matches. */
export type Fault = 'accepted' | 'split' | 'cut-body' | 'drop-after-forward' | 'unavailable';

/** A fault for the next `times` requests that match `method` and `path` (the path after the host, query included). */
export interface FaultRule {
  fault: Fault;
  method?: string;
  path: RegExp;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Of the matching requests, apply it to this fraction only (default 1), decided by `random`. */
  probability?: number;
}

/** One request as it went through. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  fault?: Fault;
}

interface Upstream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface RevisedDoc {
  _id: string;
  _rev?: string;
  _revisions?: { start: number; ids: string[] };
  [field: string]: unknown;
}

const hash = () => randomBytes(16).toString('hex');

/** A running fault-injecting proxy. */
export class FaultProxy {
  readonly #target: URL;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #rules: (FaultRule & { left: number })[] = [];
  #random: () => number = Math.random;
  /** Every request, in the order answered. */
  readonly log: ProxiedRequest[] = [];
  /** When set, requests without these Basic credentials are answered 401 (they are not forwarded). */
  requireAuth: { user: string; password: string } | undefined;
  url = '';

  private constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a proxy to `target` (a CouchDB URL without credentials) on a free loopback port. */
  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    proxy.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return proxy;
  }

  /** Adds a fault rule; rules are tried in the order added. */
  inject(rule: FaultRule): void {
    this.#rules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules = [];
  }

  /** A seeded source of randomness for `probability`, so that a run can be replayed. */
  seed(random: () => number): void {
    this.#random = random;
  }

  /** How many requests a fault was applied to. */
  applied(fault: Fault): number {
    return this.log.filter((r) => r.fault === fault).length;
  }

  /**
   * Plants a leaf revision beside the document's current one (a sibling: same generation, same
   * parent), holding `change(current body)`, with the documented `new_edits=false`. With
   * `wins`, its revision id sorts above the current one (CouchDB picks the winner among leaves of
   * one generation by revision id), else below.
   *
   * @returns the planted revision
   */
  async plantConflict(db: string, id: string, change: (doc: Record<string, unknown>) => Record<string, unknown>, wins = false): Promise<string> {
    const res = await this.#store(`${encodeURIComponent(db)}/${encodeURIComponent(id)}?revs=true`);
    if (!res.ok) throw new Error(`plantConflict: reading ${id} answered ${res.status}`);
    const current = (await res.json()) as RevisedDoc;
    const revisions = current._revisions!;
    const leaf = wins ? 'f'.repeat(32) : '0'.repeat(32);
    const { _rev: _unused, _revisions: _unusedRevisions, ...body } = current;
    const planted: RevisedDoc = { ...change(body), _id: id, _rev: `${revisions.start}-${leaf}`, _revisions: { start: revisions.start, ids: [leaf, ...revisions.ids.slice(1)] } };
    const written = await this.#store(`${encodeURIComponent(db)}/_bulk_docs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docs: [planted], new_edits: false }),
    });
    if (!written.ok) throw new Error(`plantConflict: writing answered ${written.status} ${await written.text()}`);
    return planted._rev!;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #store(path: string, init: RequestInit = {}): Promise<Response> {
    return couchFetch(this.#target.toString(), path, init);
  }

  #match(method: string, path: string): Fault | undefined {
    for (const rule of this.#rules) {
      if (rule.left <= 0 || (rule.method !== undefined && rule.method.toUpperCase() !== method) || !rule.path.test(path)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      rule.left -= 1;
      return rule.fault;
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = (req.method ?? 'GET').toUpperCase();
    const path = req.url ?? '/';
    if (this.requireAuth) {
      const expected = `Basic ${Buffer.from(`${this.requireAuth.user}:${this.requireAuth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        this.log.push({ method, path, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized', reason: 'Name or password is incorrect.' }));
        return;
      }
    }
    const fault = this.#match(method, path);
    try {
      if (fault === 'unavailable') {
        this.log.push({ method, path, status: 503, fault });
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'service_unavailable', reason: 'injected by the fault proxy' }));
        return;
      }
      if (fault === 'split') {
        const answer = await this.#split(method, path, body);
        if (answer) {
          this.log.push({ method, path, status: answer.status, fault });
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
          return;
        }
      }
      const upstream = await this.#forward(req, method, path, body);
      const applied = fault === 'split' ? undefined : fault;
      this.log.push({ method, path, status: applied === 'drop-after-forward' ? 0 : upstream.status, ...(applied ? { fault: applied } : {}) });
      if (applied === 'drop-after-forward') {
        req.socket.destroy();
        return;
      }
      const status = applied === 'accepted' && upstream.status === 201 ? 202 : upstream.status;
      const headers = { ...upstream.headers };
      delete headers['transfer-encoding'];
      delete headers.connection;
      headers['content-length'] = String(upstream.body.length);
      res.writeHead(status, headers);
      if (applied === 'cut-body') {
        res.write(upstream.body.subarray(0, Math.floor(upstream.body.length / 2)));
        // Let the half reach the client before the connection goes.
        setTimeout(() => req.socket.destroy(), 10);
        return;
      }
      res.end(upstream.body);
    } catch (err) {
      this.log.push({ method, path, status: 502 });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad_gateway', reason: (err as Error).message }));
      else req.socket.destroy();
    }
  }

  #forward(req: IncomingMessage, method: string, path: string, body: Buffer): Promise<Upstream> {
    const headers = { ...req.headers, host: this.#target.host };
    delete headers.authorization;
    if (this.#target.username || this.#target.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(this.#target.username)}:${decodeURIComponent(this.#target.password)}`).toString('base64')}`;
    }
    return new Promise((resolve, reject) => {
      const out = httpRequest({ host: this.#target.hostname, port: this.#target.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  /**
   * A write applied to the revision it names, as a lone copy of a cluster applies it: a document
   * PUT (or each document of a `_bulk_docs`) becomes a child of the revision it was based on
   * (a new root when it names none), written with `new_edits=false`. Never refused with 409; a
   * stale base leaves a conflict. Answered 202 with what CouchDB answers a write.
   */
  async #split(method: string, path: string, body: Buffer): Promise<{ status: number; body: unknown } | undefined> {
    const url = new URL(path, 'http://proxy');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const db = parts[0];
    if (!db) return undefined;
    let docs: RevisedDoc[];
    let bulk = false;
    if (method === 'PUT' && parts.length === 2 && !parts[1]!.startsWith('_')) {
      const doc = JSON.parse(body.toString('utf8')) as RevisedDoc;
      doc._id = parts[1]!;
      if (!doc._rev && url.searchParams.get('rev')) doc._rev = url.searchParams.get('rev')!;
      docs = [doc];
    } else if (method === 'POST' && parts[1] === '_bulk_docs' && parts.length === 2) {
      docs = (JSON.parse(body.toString('utf8')) as { docs: RevisedDoc[] }).docs;
      bulk = true;
    } else {
      return undefined;
    }
    const results: { ok: true; id: string; rev: string }[] = [];
    const written: RevisedDoc[] = [];
    for (const doc of docs) {
      const leaf = hash();
      let revisions: { start: number; ids: string[] } = { start: 1, ids: [leaf] };
      if (doc._rev) {
        const parent = await this.#store(`${encodeURIComponent(db)}/${encodeURIComponent(doc._id)}?rev=${encodeURIComponent(doc._rev)}&revs=true`);
        if (parent.ok) {
          const known = ((await parent.json()) as RevisedDoc)._revisions!;
          revisions = { start: known.start + 1, ids: [leaf, ...known.ids] };
        } else {
          await parent.arrayBuffer();
          const generation = Number(doc._rev.split('-')[0]);
          revisions = { start: generation + 1, ids: [leaf, doc._rev.split('-')[1]!] };
        }
      }
      const rev = `${revisions.start}-${leaf}`;
      written.push({ ...doc, _rev: rev, _revisions: revisions });
      results.push({ ok: true, id: doc._id, rev });
    }
    const res = await this.#store(`${encodeURIComponent(db)}/_bulk_docs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docs: written, new_edits: false }),
    });
    const answer = await res.text();
    if (!res.ok) return { status: res.status, body: JSON.parse(answer) as unknown };
    return { status: 202, body: bulk ? results : results[0] };
  }
}
