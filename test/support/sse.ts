/**
 * A minimal Server-Sent Events client for tests: opens a stream over node:http, parses events as
 * they arrive (id, event, data; comments counted), and waits for the ones a test expects, bounded
 * in time.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

/** One dispatched event. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
  json: Record<string, unknown>;
}

/** An open stream. */
export interface SseStream {
  status: number;
  headers: IncomingMessage['headers'];
  /** The response body when the server refused to stream (status ≠ 200). */
  body: string;
  events: SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments: number;
  /** The last event id the stream set (also by an id-only block), as a browser would keep it. */
  lastEventId: string | undefined;
  /** Resolves with the first event after `from` (an index into `events`) that matches, or rejects after `timeoutMs`. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  /** Resolves once `n` comments were seen. */
  waitComments(n: number, timeoutMs?: number): Promise<void>;
  close(): void;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
}

/** Opens `path?watch=true` (the path is given whole) with the headers given. */
export function openStream(base: string, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(new URL(path, base), { method: 'GET', headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const waiters = new Set<() => void>();
      let buffer = '';
      let endedResolve!: () => void;
      const ended = new Promise<void>((done) => (endedResolve = done));
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        events: [],
        comments: 0,
        lastEventId: undefined,
        ended,
        next(match, timeoutMs = 10_000, from = 0) {
          return new Promise((done, fail) => {
            const check = () => {
              const found = stream.events.slice(from).find(match);
              if (found) {
                waiters.delete(check);
                clearTimeout(timer);
                done(found);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(stream.events.map((e) => [e.event, e.data.slice(0, 120)]))}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        waitComments(n, timeoutMs = 10_000) {
          return new Promise((done, fail) => {
            const check = () => {
              if (stream.comments >= n) {
                waiters.delete(check);
                clearTimeout(timer);
                done();
              }
            };
            const timer = setTimeout(() => fail(new Error(`fewer than ${n} comments within ${timeoutMs} ms`)), timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
        },
      };
      res.setEncoding('utf8');
      let current: { id?: string; event?: string; data: string[] } = { data: [] };
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          stream.body += chunk;
          return;
        }
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (current.id !== undefined) stream.lastEventId = current.id;
            if (current.data.length > 0) {
              const data = current.data.join('\n');
              let json: Record<string, unknown> = {};
              try {
                json = JSON.parse(data) as Record<string, unknown>;
              } catch {
                json = {};
              }
              stream.events.push({ id: current.id, event: current.event ?? 'message', data, json });
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(':')) {
            stream.comments += 1;
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') current.id = value;
          else if (field === 'event') current.event = value;
          else if (field === 'data') current.data.push(value);
        }
        for (const waiter of [...waiters]) waiter();
      });
      res.on('end', () => endedResolve());
      res.on('close', () => endedResolve());
      if (stream.status !== 200) res.on('end', () => resolve(stream));
      else resolve(stream);
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}
