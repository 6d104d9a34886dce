import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger, startServer, type RunningServer } from '../src/server.ts';
import { call, couchUrl, dropDatabases, freshPrefix } from './support/harness.ts';

const TOKEN = 'tok-7f3a9c-secret-value';
const BASIC = Buffer.from('alice:pw-5b2e-secret').toString('base64');
const prefix = freshPrefix('loghyg');
const lines: string[] = [];
let s: RunningServer;

beforeAll(async () => {
  // The server's own logger (createLogger), writing JSON lines into memory.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      couchdb: { url: couchUrl(), dbPrefix: prefix },
      log: { level: 'info', pretty: false },
      auth: { mode: 'static', users: [{ name: 'alice', token: hashToken(TOKEN) }] },
    },
  );
  s = await startServer(config, createLogger(config, sink));
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

/** Sends raw bytes and returns what came back before the server closed (bounded by a timer). */
function raw(text: string): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((done) => {
    let got = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done(got);
    });
  });
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('log hygiene', () => {
  it('logs a broken chunked body as one line with message and code: no raw request, no credentials', async () => {
    const before = lines.length;
    const head = `POST /compute/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: ${TOKEN}\r\nAuthorization: Basic ${BASIC}\r\nContent-Type: application/occi+json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const answer = await raw(`${head}5\r\n{"a":\r\nZZZ-not-a-size\r\n${'x'.repeat(50_000)}`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/X-Content-Type-Options: nosniff/i);
    await settle();
    const logged = lines.slice(before).join('\n');
    expect(logged).toMatch(/HPE_INVALID_CHUNK_SIZE/);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain(BASIC);
    expect(logged).not.toContain('rawPacket');
    expect(logged).not.toMatch(/"level":50/);
    // A few short lines, not the request: 55 KB once became 166 KB of log.
    expect(logged.length).toBeLessThan(2000);
  });

  it('logs other unreadable requests (bad header line, oversized head) the same way', async () => {
    const before = lines.length;
    expect(await raw(`GET /-/ HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN}\r\nBad Header Line\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(`GET /-/ HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    await settle();
    const logged = lines.slice(before).join('\n');
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain('rawPacket');
    expect(logged.length).toBeLessThan(2000);
  });

  it('logs refused methods (TRACE, PROPFIND) as one info line (the request line), without a stack', async () => {
    for (const method of ['TRACE', 'PROPFIND']) {
      const before = lines.length;
      const res = await call(s.url, method, '/-/', { headers: { 'x-auth-token': TOKEN } });
      expect(res.status).toBe(501);
      await settle();
      const logged = lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 30, msg: 'request', method, status: 501 });
      expect(JSON.stringify(logged[0])).not.toContain('stack');
    }
  });

  it('sends X-Content-Type-Options: nosniff on every response, errors too', async () => {
    const auth = { 'x-auth-token': TOKEN };
    const responses = [
      await call(s.url, 'GET', '/-/', { headers: auth }),
      await call(s.url, 'GET', '/-/'),
      await call(s.url, 'GET', '/nothing/here', { headers: auth }),
      await call(s.url, 'POST', '/compute/', { raw: '{bad', headers: auth }),
      await call(s.url, 'TRACE', '/', { headers: auth }),
      await call(s.url, 'PUT', '/compute/', { body: {}, headers: auth }),
      await call(s.url, 'GET', '/-/', { headers: { ...auth, accept: 'image/png' } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 400, 501, 405, 406]);
    for (const r of responses) expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
