/**
 * Sends fuzzed requests over real HTTP on 127.0.0.1: through node:http for most (any method, raw
 * request-target, repeated headers, binary bodies), or byte for byte over a bare socket for what
 * node:http refuses to send (control characters in headers, a lowercase method, a malformed
 * request line).
 */
import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** One request, as sent on the wire. */
export interface WireRequest {
  method: string;
  /** The request-target exactly as sent (path and query, not re-encoded). */
  target: string;
  /** In order; names may repeat. `Host` and `Content-Length` are added when absent. */
  headers: [string, string][];
  body?: Buffer;
  /** Sent byte for byte over a bare socket (`Connection: close`). */
  raw?: boolean;
}

/** What came back; `error` when no response arrived at all. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
  json: unknown;
  ms: number;
  error?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** Closes the keep-alive sockets (call in afterAll). */
export function closeAgent(): void {
  agent.destroy();
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function has(headers: [string, string][], name: string): boolean {
  return headers.some(([n]) => n.toLowerCase() === name);
}

/** Sends one request and resolves with its response, or with `error` after `timeoutMs` or a transport failure. */
export function send(base: string, req: WireRequest, timeoutMs = 10_000): Promise<WireResponse> {
  return req.raw ? sendRaw(base, req, timeoutMs) : sendHttp(base, req, timeoutMs);
}

function sendHttp(base: string, req: WireRequest, timeoutMs: number): Promise<WireResponse> {
  const url = new URL(base);
  const headers = [...req.headers];
  if (!has(headers, 'host')) headers.unshift(['Host', url.host]);
  if (req.body !== undefined && !has(headers, 'content-length') && !has(headers, 'transfer-encoding')) headers.push(['Content-Length', String(req.body.length)]);
  // Without a body, say so as curl does; node:http would otherwise send POST and PUT chunked.
  if (req.body === undefined && ['POST', 'PUT', 'PATCH'].includes(req.method) && !has(headers, 'content-length') && !has(headers, 'transfer-encoding')) headers.push(['Content-Length', '0']);
  const flat = headers.flat();
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (res: WireResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(res);
    };
    const fail = (error: string) => done({ status: 0, headers: {}, body: Buffer.alloc(0), text: '', json: undefined, ms: performance.now() - started, error });
    let http: ReturnType<typeof request>;
    try {
      http = request({ host: url.hostname, port: url.port, method: req.method, path: req.target, headers: flat, agent, setHost: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(`response stream: ${err.message}`));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
          done({ status: res.statusCode ?? 0, headers: out, body, text, json: parseJson(text), ms: performance.now() - started });
        });
      });
    } catch (err) {
      // node:http refused to send it (an invalid path or header): the fuzzer's mistake, reported as such.
      fail(`node:http refused the request: ${(err as Error).message}`);
      return;
    }
    const timer = setTimeout(() => {
      http.destroy(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    http.on('error', (err) => fail(err.message));
    http.end(req.body);
  });
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function sendRaw(base: string, req: WireRequest, timeoutMs: number): Promise<WireResponse> {
  const url = new URL(base);
  const headers = [...req.headers.filter(([n]) => n.toLowerCase() !== 'connection'), ['Connection', 'close'] as [string, string]];
  if (!has(headers, 'host')) headers.unshift(['Host', url.host]);
  if (req.body !== undefined && !has(headers, 'content-length') && !has(headers, 'transfer-encoding')) headers.push(['Content-Length', String(req.body.length)]);
  const head = Buffer.from(`${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) {
        resolve({ status: 0, headers: {}, body: Buffer.alloc(0), text: '', json: undefined, ms: performance.now() - started, error: error ?? `no complete response (${all.length} bytes)` });
        return;
      }
      const lines = all.subarray(0, split).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const out: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
      }
      let body: Buffer = all.subarray(split + 4);
      if (req.method === 'HEAD') body = Buffer.alloc(0);
      else if (/chunked/i.test(out['transfer-encoding'] ?? '')) body = dechunk(body);
      else if (out['content-length'] !== undefined) body = body.subarray(0, Number(out['content-length']));
      const text = body.toString('utf8');
      resolve({ status, headers: out, body, text, json: parseJson(text), ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(`no response within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(err.message));
    socket.write(req.body ? Buffer.concat([head, req.body]) : head);
  });
}

/** A request as one line a person can replay (method, target, headers, a body preview). */
export function describeRequest(req: WireRequest, max = 600): string {
  const headers = req.headers.map(([n, v]) => `${n}: ${v.length > 200 ? `${v.slice(0, 200)}…(${v.length} chars)` : v}`).join(' | ');
  let body = '';
  if (req.body !== undefined) {
    const text = req.body.toString('utf8');
    body = text.length > max ? `${JSON.stringify(text.slice(0, max))}…(${req.body.length} bytes)` : JSON.stringify(text);
  }
  const target = req.target.length > 300 ? `${req.target.slice(0, 300)}…(${req.target.length} chars)` : req.target;
  return `${req.raw ? '[raw socket] ' : ''}${req.method} ${target}${headers ? ` [${headers}]` : ''}${body ? ` body=${body}` : ''}`;
}

/** A response in a few hundred characters. */
export function describeResponse(res: WireResponse, max = 500): string {
  if (res.error) return `no response: ${res.error} after ${Math.round(res.ms)} ms`;
  const text = res.text.length > max ? `${res.text.slice(0, max)}…` : res.text;
  return `${res.status} (${Math.round(res.ms)} ms) content-type=${res.headers['content-type'] ?? '(none)'} body=${JSON.stringify(text)}`;
}
