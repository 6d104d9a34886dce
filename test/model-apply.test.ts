/**
 * A model in a file (issue 14): `GET /-/?origin=runtime` saved and applied with
 * `PUT /-/?apply=true`, idempotently, with dry runs, change rules and pruning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, fixture, freshPrefix, startTestServer } from './support/harness.ts';

type Json = Record<string, unknown>;
interface Report {
  dryRun: boolean;
  summary: string;
  created: string[];
  changed: { id: string; generation: number; changes: { change: string; class: string }[] }[];
  removed: string[];
  unchanged: string[];
}
const NET = 'http://example.net/occi/network#';
const MIX = 'http://example.net/occi/network/mixin#';

describe('applying a model file', () => {
  const prefixes = [freshPrefix('applya'), freshPrefix('applyb')];
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    [a, b] = (await Promise.all(prefixes.map((prefix) => startTestServer({ prefix, overrides: { seedCategories: [] } })))) as [RunningServer, RunningServer];
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    for (const prefix of prefixes) await dropDatabases(prefix);
  });

  const apply = async (server: RunningServer, body: unknown, query = '') => {
    const res = await call(server.url, 'PUT', `/-/?apply=true${query}`, typeof body === 'string' ? { raw: body } : { body });
    return { status: res.status, report: res.json as Report, text: res.text };
  };
  const model = () => JSON.parse(fixture('operator/model.json')) as { kinds: Json[]; mixins: Json[]; actions: Json[] };

  it('a dry run on an empty server says what would be created and creates nothing', async () => {
    const { status, report } = await apply(a, fixture('operator/model.json'), '&dry-run=true');
    expect(status).toBe(200);
    expect(report.dryRun).toBe(true);
    expect(report.created).toHaveLength(10);
    const runtime = (await call(a.url, 'GET', '/-/?origin=runtime')).json as Json;
    expect(runtime).toEqual({ kinds: [], mixins: [], actions: [] });
  });

  it('creates the whole model, and a second apply changes nothing and says so', async () => {
    const first = await apply(a, fixture('operator/model.json'));
    expect(first.status, first.text).toBe(200);
    expect(first.report.created).toHaveLength(10);
    const second = await apply(a, fixture('operator/model.json'));
    expect(second.report.summary).toBe('unchanged');
    expect(second.report.unchanged).toHaveLength(10);
  });

  it('GET /-/?origin=runtime is the model: applied to another server it is the same, and applied back it is unchanged', async () => {
    const saved = (await call(a.url, 'GET', '/-/?origin=runtime')).text;
    const parsed = JSON.parse(saved) as { kinds: Json[] };
    expect(parsed.kinds.map((k) => k.term)).toEqual(['device', 'router', 'switch', 'uplink']);
    expect((await apply(b, saved)).report.created).toHaveLength(10);
    expect((await apply(a, saved)).report.summary).toBe('unchanged');
    expect((await call(b.url, 'GET', '/-/?origin=runtime')).json).toEqual(JSON.parse(saved));
  });

  it('changes what differs under the change rules: compatible applied, breaking refused while entities exist', async () => {
    expect((await call(a.url, 'POST', '/router/', { body: { resources: [{ kind: `${NET}router`, id: 'r1', attributes: { 'net.device.hostname': 'r1', 'net.router.asn': 65002 } }] } })).status).toBe(
      201,
    );
    const next = model();
    next.kinds[1]!.title = 'Core router';
    const dry = await apply(a, next, '&dry-run=true');
    expect(dry.report.changed.map((c) => c.id)).toEqual([`${NET}router`]);
    expect(dry.report.changed[0]!.changes).toEqual([expect.objectContaining({ change: 'title-changed', class: 'compatible' })]);
    const done = await apply(a, next);
    expect(done.report.changed[0]!.generation).toBe(2);
    const narrowed = model();
    Object.assign((narrowed.kinds[1]!.attributes as Json)['net.router.asn'] as Json, { default: 100, pattern: { type: 'integer', minimum: 1, maximum: 1000 } });
    const refused = await apply(a, narrowed);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('/router/r1');
    // Nothing of a refused apply happened, not even its compatible parts.
    narrowed.kinds[1]!.title = 'Edge router';
    expect((await apply(a, narrowed)).status).toBe(409);
    const router = ((await call(a.url, 'GET', `/-/?category=${encodeURIComponent(`${NET}router`)}`)).json as { kinds: Json[] }).kinds[0]!;
    expect(router.title).toBe('Core router');
    expect((await apply(a, narrowed, '&entities=keep')).status).toBe(200);
  });

  it('prunes runtime categories the file does not have only when asked, refusing what is still used', async () => {
    const smaller = model();
    smaller.mixins = smaller.mixins.filter((m) => m.term !== 'monitored');
    const kept = await apply(b, smaller);
    expect(kept.report.summary).toBe('unchanged');
    const pruned = await apply(b, smaller, '&prune=true');
    expect(pruned.report.removed).toEqual([`${MIX}monitored`]);
    // The routing mixin is still used by bgp, which the file keeps: refused, nothing removed.
    const withoutRouting = model();
    withoutRouting.mixins = withoutRouting.mixins.filter((m) => m.term !== 'routing' && m.term !== 'monitored');
    const refused = await apply(b, withoutRouting, '&prune=true');
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(`${MIX}bgp`);
  });

  it('built-in categories cannot be part of a model', async () => {
    const res = await call(a.url, 'PUT', '/-/?apply=true', { body: { kinds: [{ scheme: 'http://schemas.ogf.org/occi/infrastructure#', term: 'compute', location: '/compute/' }] } });
    expect(res.status).toBe(403);
  });
});
