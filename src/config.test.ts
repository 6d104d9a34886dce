import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, mergeConfig, redactUrl } from './config.ts';
import { ConfigError } from './errors.ts';

describe('loadConfig', () => {
  it('starts from config/default.json: port 8090 on loopback, embedded store under ./data', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8090, host: '127.0.0.1', dataDir: './data', couchdb: { url: null } });
  });

  it('has quotas, login throttling and a Keystone refusal TTL by default, each settable and checked', () => {
    const config = loadConfig({});
    expect(config.limits).toMatchObject({ tagsPerTenant: 100, entitiesPerTenant: 10_000 });
    expect(config.auth.throttle).toEqual({ failuresPerUser: 5, failuresPerAddress: 20, windowMs: 60_000, maxTracked: 10_000, hashConcurrency: 2, hashQueue: 64 });
    const keystone = loadConfig({}, { auth: { mode: 'keystone', users: [], keystone: { url: 'http://127.0.0.1:1/identity/v2.0' } } }).auth.keystone;
    expect(keystone).toMatchObject({ refusalTtlMs: 10_000, cacheTtlMs: 60_000 });
    expect(loadConfig({}, { auth: { mode: 'none', users: [], throttle: { failuresPerUser: 2 } } }).auth.throttle.failuresPerUser).toBe(2);
    expect(() => loadConfig({}, { auth: { mode: 'none', users: [], throttle: { failuresPerUser: 0 } } })).toThrow(ConfigError);
    expect(() => loadConfig({}, { limits: { entitiesPerTenant: -1 } })).toThrow(ConfigError);
  });

  it('lets the environment override the files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocni-cfg-'));
    const file = join(dir, 'over.json');
    writeFileSync(file, JSON.stringify({ port: 9000, limits: { bodyBytes: 4096 } }));
    const config = loadConfig({ OCNI_CONFIG: file, OCNI_PORT: '9100', OCNI_HOST: '0.0.0.0', OCNI_DATA_DIR: '/var/ocni', COUCHDB_URL: 'http://admin:pw@db:5984' });
    expect(config.port).toBe(9100);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/var/ocni');
    expect(config.couchdb.url).toBe('http://admin:pw@db:5984');
    expect(config.limits).toMatchObject({ bodyBytes: 4096, itemsPerRequest: 1000 });
  });

  it('refuses providers that name undeclared backends', () => {
    expect(() => loadConfig({}, { defaultProvider: { local: ['nope'], remote: [] } })).toThrow(/defaultProvider names backend "nope"/);
  });

  it('refuses a malformed CouchDB URL and an unreadable file with a ConfigError', () => {
    expect(() => loadConfig({ COUCHDB_URL: 'couch.local:5984' })).toThrow(ConfigError);
    expect(() => loadConfig({ OCNI_CONFIG: '/no/such/file.json' })).toThrow(/cannot read OCNI_CONFIG file/);
  });
});

describe('mergeConfig', () => {
  it('merges objects key by key and replaces arrays whole', () => {
    expect(mergeConfig({ a: { b: 1, c: 2 }, list: [1, 2] }, { a: { c: 3 }, list: [9] })).toEqual({ a: { b: 1, c: 3 }, list: [9] });
  });
});

describe('redactUrl', () => {
  it('hides the password', () => {
    expect(redactUrl('http://admin:secret@127.0.0.1:5984')).toBe('http://admin:***@127.0.0.1:5984/');
  });
});

describe('CouchDB credentials given apart from the URL', () => {
  const password = 'p@ss/w#rd:?%20&x';

  it('are percent-encoded into the URL, so that no character changes what it means', () => {
    const config = loadConfig({ COUCHDB_URL: 'http://db.example:5984', COUCHDB_USER: 'ad@min', COUCHDB_PASSWORD: password });
    const url = new URL(config.couchdb.url!);
    expect(url.host).toBe('db.example:5984');
    expect(url.pathname).toBe('/');
    expect(decodeURIComponent(url.username)).toBe('ad@min');
    expect(decodeURIComponent(url.password)).toBe(password);
    expect(redactUrl(config.couchdb.url!)).not.toContain('w%23rd');
  });

  it('reach CouchDB intact as HTTP Basic credentials', async () => {
    const { createServer } = await import('node:http');
    const { CouchClient } = await import('./store/couch.ts');
    let authorization = '';
    const server = createServer((req, res) => {
      authorization = req.headers.authorization ?? '';
      res.setHeader('content-type', 'application/json');
      res.end('{"couchdb":"Welcome"}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    try {
      const port = (server.address() as { port: number }).port;
      const config = loadConfig({ COUCHDB_URL: `http://127.0.0.1:${port}`, COUCHDB_USER: 'ad@min', COUCHDB_PASSWORD: password });
      await new CouchClient({ url: config.couchdb.url!, requestTimeoutMs: 2000 }).info();
      expect(Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8')).toBe(`ad@min:${password}`);
    } finally {
      server.close();
    }
  });

  it('need a URL', () => {
    expect(() => loadConfig({ COUCHDB_PASSWORD: password })).toThrow(ConfigError);
  });
});
