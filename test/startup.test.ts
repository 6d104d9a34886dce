import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './support/harness.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocni-start-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `npm start`'s node arguments: the heap bound and dist/main.js. */
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1);

/** Runs the server from its TypeScript sources (tsx src/main.ts), or, with `compiled`, as `npm start` does: `node dist/main.js` with a heap bound. */
function ocni(env: Record<string, string>, compiled = false): ChildProcessWithoutNullStreams {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCNI_') && k !== 'COUCHDB_URL'));
  return spawn(process.execPath, compiled ? START : ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...clean, ...env } });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Starts ocni on a free port and resolves with its URL once it logs that it listens. */
function listening(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`ocni did not start: ${buffer}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"ocni listening"/.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`ocni exited with ${code}: ${buffer}`)));
  });
}

describe('start-up', () => {
  it('exits with one clear line on a bad port', async () => {
    const result = await exitOf(ocni({ OCNI_PORT: 'eighty', OCNI_DATA_DIR: tempDir() }));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['ocni: OCNI_PORT must be a port number from 0 to 65535, got "eighty"']);
  });

  it('exits with one clear line on a bad configuration file', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ limits: { bodyBytes: 'lots' } }));
    const result = await exitOf(ocni({ OCNI_CONFIG: file, OCNI_DATA_DIR: dir }));
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('ocni: configuration limits.bodyBytes must be integer');
  });

  it('exits with one clear line when CouchDB cannot be reached, without printing its password', async () => {
    const result = await exitOf(ocni({ COUCHDB_URL: 'http://admin:s3cret@127.0.0.1:9', OCNI_PORT: '0' }));
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ocni: CouchDB at http:\/\/admin:\*\*\*@127\.0\.0\.1:9\/ is not usable: /);
    expect(result.stderr + result.stdout).not.toContain('s3cret');
  });

  it('runs on the embedded store, logs one line per request without credentials, and keeps its data across a graceful restart', async () => {
    const dir = tempDir();
    const env = { OCNI_PORT: '0', OCNI_DATA_DIR: dir };
    const first = ocni(env);
    const done = exitOf(first);
    const url = await listening(first);
    const mixin = { mixins: [{ term: 'kept', scheme: 'http://example.com/restart#', location: '/kept/' }] };
    expect((await call(url, 'POST', '/-/', { body: mixin, headers: { 'x-auth-token': 'tok-SECRET-1' } })).status).toBe(200);
    expect((await call(url, 'GET', '/-/?token=tok-SECRET-2')).status).toBe(200);
    first.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const requests = result.stdout
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/-/', 200],
      ['GET', '/-/', 200],
    ]);
    for (const r of requests) {
      expect(typeof r.reqId).toBe('string');
      expect(typeof r.ms).toBe('number');
    }
    expect(result.stdout).not.toContain('SECRET');
    expect(result.stdout).toContain('"msg":"shutting down"');
    expect(result.stdout).toContain('authentication is OFF');

    const second = ocni(env);
    const closed = exitOf(second);
    const url2 = await listening(second);
    const all = await call(url2, 'GET', `/-/?category=${encodeURIComponent('http://example.com/restart#kept')}`);
    expect((all.json as { mixins: unknown[] }).mixins).toHaveLength(1);
    second.kill('SIGINT');
    expect((await closed).code).toBe(0);
  }, 90_000); // two embedded-store start-ups: slow on a loaded machine

  it('runs compiled (npm start, the Dockerfile): dist/ finds its copied files and those it shares with src/', async () => {
    execFileSync(process.execPath, ['config/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
    const child = ocni({ OCNI_PORT: '0', OCNI_DATA_DIR: tempDir() }, true);
    const done = exitOf(child);
    const url = await listening(child);
    // The built-in categories (registry/builtin/*.json, copied) and the embedded store (store/embedded/child.mjs, copied) ...
    const kinds = ((await call(url, 'GET', '/-/')).json as { kinds: { term: string }[] }).kinds.map((k) => k.term);
    expect(kinds).toEqual(expect.arrayContaining(['entity', 'resource', 'link', 'compute']));
    const created = await call(url, 'POST', '/compute/', { body: { kind: 'http://schemas.ogf.org/occi/infrastructure#compute', attributes: { 'occi.compute.cores': 2 } } });
    expect(created.status).toBe(201);
    // ... the JSON Schemas (../../schemas), the configuration's defaults (../config) and the version (../package.json).
    const openapi = await call(url, 'GET', '/openapi.json');
    expect(openapi.status).toBe(200);
    expect((openapi.json as { info: { version: string } }).info.version).toBe(VERSION);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  }, 90_000);
});
