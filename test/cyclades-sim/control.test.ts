import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, getServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

interface RequestLog {
  requests: Array<{ method: string; path: string; headers: Record<string, string>; body: unknown; status: number }>;
}

describe('cyclades simulator: control API', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  beforeEach(async () => {
    await h.control('POST', '/_sim/reset');
  });

  it('injects a JSON 503 for the matching method and path, once by default', async () => {
    const set = await h.control('POST', '/_sim/fault', {
      method: 'POST',
      pathRegex: '^/compute/v2\\.0/servers$',
      status: 503,
      body: { serviceUnavailable: { code: 503, message: 'No available backends', details: '' } },
    });
    expect(set.status).toBe(200);
    expect((await h.call('GET', '/compute/v2.0/servers')).status).toBe(200);
    const hit = await createServer(h);
    expect(hit.status).toBe(503);
    expect(hit.body as unknown).toEqual({ serviceUnavailable: { code: 503, message: 'No available backends', details: '' } });
    expect((await createServer(h)).status).toBe(202);
  });

  it('injects a non-JSON 500 (e.g. a proxy page) as many times as asked, and clears on request', async () => {
    await h.control('POST', '/_sim/fault', { pathRegex: '^/network/', status: 500, body: '<html><body>Internal Server Error</body></html>', contentType: 'text/html', count: -1 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const res = await h.call('GET', '/network/v2.0/networks');
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('text/html');
      expect(res.text).toBe('<html><body>Internal Server Error</body></html>');
    }
    await h.control('DELETE', '/_sim/fault');
    expect((await h.call('GET', '/network/v2.0/networks')).status).toBe(200);
  });

  it('renders a default fault body when none is given', async () => {
    await h.control('POST', '/_sim/fault', { pathRegex: 'flavors', status: 503 });
    const res = await h.call<FaultBody>('GET', '/compute/v2.0/flavors');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ serviceUnavailable: { code: 503, message: 'Service Unavailable', details: '' } });
  });

  it('makes the next matching job fail (fail-next BUILD → ERROR) and validates the op', async () => {
    const bad = await h.control<{ error: string }>('POST', '/_sim/fail-next', { op: 'EXPLODE' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('BUILD');
    await h.control('POST', '/_sim/fail-next', { op: 'BUILD' });
    const failing = await createServer(h);
    const fine = await createServer(h);
    const settled = await h.control<{ ran: number }>('POST', '/_sim/settle');
    expect(settled.body.ran).toBe(2);
    expect((await getServer(h, failing.body.server.id)).status).toBe('ERROR');
    expect((await getServer(h, fine.body.server.id)).status).toBe('ACTIVE');
  });

  it('adds latency to API responses but not to control calls', async () => {
    // The injected delay is made large next to request times, so that a busy machine cannot blur
    // "delayed" and "not delayed"; only the delayed side is bounded from below.
    const delay = 1500;
    await h.control('POST', '/_sim/latency', { ms: delay });
    const started = Date.now();
    expect((await h.call('GET', '/compute/v2.0/flavors')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(delay - 10);
    const controlStarted = Date.now();
    await h.control('GET', '/_sim/state');
    expect(Date.now() - controlStarted).toBeLessThan(delay);
    await h.control('POST', '/_sim/latency', { ms: 0 });
    const quick = Date.now();
    await h.call('GET', '/compute/v2.0/flavors');
    expect(Date.now() - quick).toBeLessThan(delay);
  });

  it('logs API requests with headers, parsed bodies and status, filterable by method', async () => {
    await createServer(h, { name: 'logged' });
    await h.call('GET', '/compute/v2.0/servers');
    const log = await h.control<RequestLog>('GET', '/_sim/requests?method=POST');
    expect(log.body.requests).toHaveLength(1);
    const [entry] = log.body.requests;
    expect(entry).toMatchObject({ method: 'POST', path: '/compute/v2.0/servers', status: 202, body: { server: { name: 'logged', flavorRef: 1 } } });
    expect(entry?.headers['x-auth-token']).toBe('demo-token');
    expect(entry?.headers['content-type']).toBe('application/json');
    await h.control('DELETE', '/_sim/requests');
    expect((await h.control<RequestLog>('GET', '/_sim/requests')).body.requests).toEqual([]);
  });

  it('dumps state with pending jobs, and advance/settle report what ran', async () => {
    const created = await createServer(h);
    const state = await h.control<{ mode: string; jobs: Array<{ op: string; scope: string; dueInMs: number }>; db: { servers: Record<string, unknown> } }>('GET', '/_sim/state');
    expect(state.body.mode).toBe('manual');
    expect(state.body.jobs).toEqual([expect.objectContaining({ op: 'BUILD', scope: `server:${created.body.server.id}`, dueInMs: 3000 })]);
    expect(Object.keys(state.body.db.servers)).toEqual([String(created.body.server.id)]);
    expect((await h.control<{ ran: number }>('POST', '/_sim/advance', { ms: 2999 })).body.ran).toBe(0);
    expect((await h.control<{ ran: number; pending: number }>('POST', '/_sim/advance', { ms: 1 })).body).toMatchObject({ ran: 1, pending: 0 });
  });

  it('resets to the seed', async () => {
    await createServer(h);
    await h.control('POST', '/_sim/reset');
    expect((await h.call<{ servers: unknown[] }>('GET', '/compute/v2.0/servers')).body.servers).toEqual([]);
    expect((await h.control('GET', '/_sim/nothing')).status).toBe(404);
  });

  it('changes the image and flavor catalog at run time', async () => {
    const state = await h.control<{ now: string }>('GET', '/_sim/state');
    await h.control('POST', '/_sim/advance', { ms: 10 });
    const since = encodeURIComponent(new Date(Date.parse(state.body.now) + 5).toISOString());
    expect((await h.call('GET', `/compute/v2.0/images/detail?changes-since=${since}`)).status).toBe(304);

    const added = await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-000000000001', name: 'CentOS Stream 9', metadata: { os: 'centos', users: 'root' } });
    expect(added.status).toBe(200);
    const changed = await h.call<{ images: Array<{ id: string; name: string }> }>('GET', `/compute/v2.0/images/detail?changes-since=${since}`);
    expect(changed.body.images.map((image) => image.name)).toEqual(['CentOS Stream 9']);

    await h.control('POST', '/_sim/flavor', { id: 7, name: 'C2R4096D20', vcpus: 2, ram: 4096, disk: 20 });
    await h.control('POST', '/_sim/flavor', { id: 1, deleted: true });
    const flavors = await h.call<{ flavors: Array<{ id: number }> }>('GET', '/compute/v2.0/flavors');
    expect(flavors.body.flavors.map((flavor) => flavor.id)).toEqual([2, 3, 4, 5, 6, 7]);
    const refused = await h.control<{ error: string }>('POST', '/_sim/flavor', { id: 8 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("'name' is required");
  });

  it('changes timings at run time', async () => {
    await h.control('POST', '/_sim/timings', { build: 10 });
    const created = await createServer(h);
    await h.control('POST', '/_sim/advance', { ms: 10 });
    expect((await getServer(h, created.body.server.id)).status).toBe('ACTIVE');
  });
});

describe('cyclades simulator: realtime clock', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ mode: 'realtime', timings: { build: 400, stop: 20 } }); // long enough that the first read still sees BUILD on a loaded machine
  });

  afterAll(async () => {
    await h.close();
  });

  it('completes jobs from timers without any control call', async () => {
    const created = await createServer(h);
    const id = created.body.server.id;
    expect((await getServer(h, id)).status).toBe('BUILD');
    const deadline = Date.now() + 5000;
    let status = 'BUILD';
    while (status === 'BUILD' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await getServer(h, id)).status;
    }
    expect(status).toBe('ACTIVE');
  });
});

describe('cyclades simulator: CLI', () => {
  it('prints the identity URL and token, serves the catalog, and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    // node with the tsx loader, not the tsx CLI: the CLI runs a second process and relays signals,
    // which makes the exit code racy on a busy machine.
    const child = spawn(process.execPath, ['--import', 'tsx', main], { env: { ...process.env, CYCLADES_SIM_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('\n')) resolve(output.trim());
        });
        child.once('exit', (code) => reject(new Error(`cli exited early with ${String(code)}`)));
      });
      const match = /^cyclades-sim: identity (http:\/\/127\.0\.0\.1:\d+\/identity\/v2\.0) token demo-token$/.exec(line);
      expect(match).not.toBeNull();
      const response = await fetch(`${match?.[1] ?? ''}/tokens`, { method: 'POST' });
      expect(response.status).toBe(200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
