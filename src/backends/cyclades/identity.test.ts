import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, DEMO_PROJECT_A, DEMO_PROJECT_B, DEMO_TOKEN, DEMO_USER_UUID, EXPIRED_TOKEN, OTHER_TOKEN, OTHER_USER_UUID } from '../../../test/cyclades-sim/simulator.ts';
import { at, computeEntity, osTpl, resourceTpl, startHarness, type Harness, matching } from './test-harness.ts';

const ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';

describe('cyclades identity: discovery, tokens, projects', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({}, { seed: { defaultServerNetworks: [] } });
  });
  afterEach(async () => {
    await h.close();
  });

  const create = (token = DEMO_TOKEN, project?: string) => h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'vm' }), h.ctx(token, project));

  it('discovers the endpoints once from the public catalog (POST /tokens without body or token)', async () => {
    await h.backend.templates(h.ctx());
    await create();
    h.tick(10 * 60_000);
    await h.backend.templates(h.ctx());
    const identity = await h.requests({ method: 'POST', pathRegex: '^/identity/v2\\.0/tokens$' });
    const publicCalls = identity.filter((r) => r.body === null);
    expect(publicCalls).toHaveLength(1);
    expect(publicCalls[0]!.headers).not.toHaveProperty('x-auth-token');
    expect(publicCalls[0]!.status).toBe(200);
  });

  it('calls the URLs the catalog names, not ones of its own', async () => {
    // The catalog now points somewhere the simulator does not serve: the calls must follow it.
    h.sim.state.baseUrl = `${h.url}/elsewhere`;
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'validation', message: 'API endpoint not found' });
    const paths = (await h.requests({ method: 'GET' })).map((r) => r.path).sort();
    expect(paths).toEqual(['/elsewhere/compute/v2.0/flavors/detail', '/elsewhere/compute/v2.0/images/detail']);
  });

  it('does not remember a failed discovery, and refuses a catalog without the needed services', async () => {
    await h.control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/identity/v2\\.0/tokens$', status: 503 });
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-unavailable', message: 'Service Unavailable' });
    // The failed catalog look-up is answered from memory briefly (10 s), then asked again.
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-unavailable' });
    h.tick(10_000);
    await expect(h.backend.templates(h.ctx())).resolves.toHaveLength(12); // 2 images + 5 flavors by id, the 5 flavors by snf-occi name

    const other = await startHarness();
    try {
      await other.control('POST', '/_sim/fault', {
        method: 'POST',
        pathRegex: '^/identity/v2\\.0/tokens$',
        status: 200,
        body: { access: { serviceCatalog: [{ type: 'compute', name: 'cyclades_compute', endpoints: [{ publicURL: `${other.url}/compute/v2.0` }] }] } },
      });
      await expect(other.backend.templates(other.ctx())).rejects.toMatchObject({ code: 'backend-failed', message: matching(/has no "network" service/) });
    } finally {
      await other.close();
    }
  });

  it('forwards the caller’s token unchanged on every Cyclades call', async () => {
    const outcome = await create();
    const entity = at(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]), outcome.id);
    h.sim.settle();
    await h.backend.retrieve(entity, h.ctx());
    await h.backend.action(entity, `${ACTION}stop`, {}, h.ctx());
    h.sim.settle();
    await h.backend.delete(entity, h.ctx());
    const calls = (await h.requests()).filter((r) => !(r.path === '/identity/v2.0/tokens' && r.body === null));
    expect(calls.length).toBeGreaterThanOrEqual(7);
    for (const call of calls) expect(call.headers['x-auth-token']).toBe(DEMO_TOKEN);
    const validation = calls.find((r) => r.path === '/identity/v2.0/tokens');
    expect(validation!.body).toEqual({ auth: { token: { id: DEMO_TOKEN } } });
  });

  it('charges the project the client chose, else the first non-system project, else the user’s own', async () => {
    await create(DEMO_TOKEN, DEMO_PROJECT_B);
    await create(DEMO_TOKEN);
    await create(OTHER_TOKEN);
    const projects = (await h.requests({ method: 'POST', pathRegex: '^/compute/v2\\.0/servers$' })).map((r) => (r.body as { server: { project: string } }).server.project);
    expect(projects).toEqual([DEMO_PROJECT_B, DEMO_PROJECT_A, OTHER_USER_UUID]);
    expect(projects).not.toContain(DEMO_USER_UUID);
  });

  it('asks Astakos about a token once per minute, and separately for every token', async () => {
    await create();
    await create();
    await create(OTHER_TOKEN);
    const validations = () => h.requests({ method: 'POST', pathRegex: '^/identity/v2\\.0/tokens$' }).then((rs) => rs.filter((r) => r.body !== null).map((r) => r.headers['x-auth-token']));
    expect(await validations()).toEqual([DEMO_TOKEN, OTHER_TOKEN]);
    h.tick(60_001);
    await create();
    expect(await validations()).toEqual([DEMO_TOKEN, OTHER_TOKEN, DEMO_TOKEN]);
  });

  it('never shares templates between tokens: each token sees its own catalog', async () => {
    const demo = (await h.backend.templates(h.ctx())).map((m) => m.term);
    const other = (await h.backend.templates(h.ctx(OTHER_TOKEN))).map((m) => m.term);
    // Flavor 6 is private to project A, which only the demo user belongs to.
    expect(demo).toContain('6');
    expect(other).not.toContain('6');
    const tokens = (await h.requests({ method: 'GET', pathRegex: '/flavors/detail$' })).map((r) => r.headers['x-auth-token']);
    expect(tokens).toEqual([DEMO_TOKEN, OTHER_TOKEN]);
  });

  it('answers unauthorized for a missing, invalid or expired token, without creating anything', async () => {
    await expect(h.backend.templates({ credentials: {}, requestId: 't', baseUrl: 'http://ocni.test' })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(await h.requests()).toEqual([]);
    await expect(create('no-such-token')).rejects.toMatchObject({ code: 'unauthorized', message: 'Invalid token' });
    // With the project given, Astakos is not asked: Cyclades itself refuses the token.
    await expect(create(EXPIRED_TOKEN, DEMO_PROJECT_A)).rejects.toMatchObject({ code: 'unauthorized', message: 'Authentication expired' });
    await expect(h.backend.templates(h.ctx('no-such-token'))).rejects.toMatchObject({ code: 'unauthorized', message: 'Invalid token' });
    const state = (await h.control('GET', '/_sim/state')) as { db: { servers: Record<string, unknown> } };
    expect(state.db.servers).toEqual({});
  });
});
