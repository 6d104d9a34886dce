import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_PROJECT_A, DEMO_PROJECT_B, DEMO_USER_UUID, EXPIRED_TOKEN, INACTIVE_TOKEN } from './simulator.ts';
import { createServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

interface CatalogEntry {
  name: string;
  type: string;
  endpoints: Array<{ publicURL: string; versionId: string; region: string }>;
  endpoints_links: unknown[];
}

interface Access {
  access: {
    token?: { id: string; expires: string; tenant: { id: string } };
    user?: { id: string; name: string; projects: string[]; roles: unknown[] };
    serviceCatalog: CatalogEntry[];
  };
}

type Quotas = Record<string, Record<string, { usage: number; limit: number; pending: number; project_usage: number; project_limit: number }>>;

describe('cyclades simulator: identity and account', () => {
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

  it('answers a body-less POST /tokens with only the service catalog', async () => {
    const res = await h.call<Access>('POST', '/identity/v2.0/tokens', undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.body.access.token).toBeUndefined();
    const byType = Object.fromEntries(res.body.access.serviceCatalog.map((entry) => [entry.type, entry]));
    expect(Object.keys(byType).sort()).toEqual(['account', 'compute', 'identity', 'network', 'volume']);
    expect(byType['compute']?.name).toBe('cyclades_compute');
    expect(byType['compute']?.endpoints[0]?.publicURL).toBe(`${h.url}/compute/v2.0`);
    expect(byType['volume']?.endpoints[0]?.region).toBe('default');
  });

  it('serves the compute API at the URL the catalog advertises', async () => {
    const catalog = await h.call<Access>('POST', '/identity/v2.0/tokens', undefined, { token: null });
    const compute = catalog.body.access.serviceCatalog.find((entry) => entry.type === 'compute')?.endpoints[0]?.publicURL ?? '';
    const flavors = await fetch(`${compute}/flavors`, { headers: { 'X-Auth-Token': 'demo-token' } });
    expect(flavors.status).toBe(200);
    const body = (await flavors.json()) as { flavors: Array<{ id: number }> };
    expect(body.flavors.map((flavor) => flavor.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('validates a good token and returns user, projects and tenant', async () => {
    const res = await h.call<Access>('POST', '/identity/v2.0/tokens', { auth: { token: { id: 'demo-token' } } }, { token: null });
    expect(res.status).toBe(200);
    expect(res.body.access.user?.id).toBe(DEMO_USER_UUID);
    expect(res.body.access.user?.projects).toEqual([DEMO_USER_UUID, DEMO_PROJECT_A, DEMO_PROJECT_B]);
    expect(res.body.access.token?.tenant.id).toBe(DEMO_USER_UUID);
    expect(res.body.access.serviceCatalog).toHaveLength(5);
  });

  it('accepts passwordCredentials and rejects a mismatched uuid', async () => {
    const good = await h.call<Access>('POST', '/identity/v2.0/tokens', { auth: { passwordCredentials: { username: DEMO_USER_UUID, password: 'demo-token' } } }, { token: null });
    expect(good.status).toBe(200);
    expect(good.body.access.user?.id).toBe(DEMO_USER_UUID);
    const bad = await h.call<FaultBody>('POST', '/identity/v2.0/tokens', { auth: { passwordCredentials: { username: 'someone-else', password: 'demo-token' } } }, { token: null });
    expect(bad.status).toBe(401);
    expect(bad.body['unauthorized']?.message).toBe('Invalid credentials');
  });

  it.each([
    ['no-such-token', 'Invalid token'],
    [EXPIRED_TOKEN, 'Authentication expired'],
    [INACTIVE_TOKEN, 'User inactive'],
  ])('rejects token %s with 401 "%s"', async (token, message) => {
    const res = await h.call<FaultBody>('POST', '/identity/v2.0/tokens', { auth: { token: { id: token } } }, { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ unauthorized: { code: 401, message, details: '' } });
  });

  it('answers 400 for missing credentials and a foreign tenantName', async () => {
    const missing = await h.call<FaultBody>('POST', '/identity/v2.0/tokens', { auth: {} }, { token: null });
    expect(missing.status).toBe(400);
    expect(missing.body['badRequest']?.message).toBe('Malformed request: missing credentials');
    const tenant = await h.call<FaultBody>('POST', '/identity/v2.0/tokens', { auth: { token: { id: 'demo-token' }, tenantName: DEMO_PROJECT_A } }, { token: null });
    expect(tenant.status).toBe(400);
    expect(tenant.body['badRequest']?.message).toBe('Not conforming tenantName');
  });

  it('treats GET /tokens/<id> as OAuth2-only (404 for user tokens)', async () => {
    const res = await h.call<FaultBody>('GET', '/identity/v2.0/tokens/demo-token', undefined, { token: null });
    expect(res.status).toBe(404);
    expect(res.body['itemNotFound']?.code).toBe(404);
  });

  it('requires a token on Cyclades calls and wraps Astakos rejections in a generic fault', async () => {
    const none = await h.call<FaultBody>('GET', '/compute/v2.0/servers', undefined, { token: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ unauthorized: { code: 401, message: 'Access denied. No authentication token', details: '' } });

    const bad = await h.call<FaultBody>('GET', '/compute/v2.0/servers', undefined, { token: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.body['fault']?.message).toBe('UNAUTHORIZED');
    expect(JSON.parse(bad.body['fault']?.details ?? '{}')).toEqual({ unauthorized: { code: 401, message: 'Invalid token', details: '' } });

    const expired = await h.call<FaultBody>('GET', '/network/v2.0/networks', undefined, { token: EXPIRED_TOKEN });
    expect(expired.status).toBe(401);
    expect(expired.body['fault']?.details).toContain('Authentication expired');
  });

  it('accepts the token as the X-Auth-Token query parameter', async () => {
    const res = await h.call<{ servers: unknown[] }>('GET', '/compute/v2.0/servers?X-Auth-Token=demo-token', undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.body.servers).toEqual([]);
  });

  it('expires a token mid-test on the simulator clock', async () => {
    await h.control('POST', '/_sim/user', { token: 'demo-token', tokenExpiresInMs: 1000 });
    expect((await h.call('GET', '/compute/v2.0/servers')).status).toBe(200);
    await h.control('POST', '/_sim/advance', { ms: 1000 });
    const after = await h.call<FaultBody>('GET', '/compute/v2.0/servers');
    expect(after.status).toBe(401);
    expect(after.body['fault']?.details).toContain('Authentication expired');
  });

  it('reports quotas per project from live usage', async () => {
    const before = await h.call<Quotas>('GET', '/account/v1.0/quotas');
    expect(before.status).toBe(200);
    expect(Object.keys(before.body).sort()).toEqual([DEMO_USER_UUID, DEMO_PROJECT_A, DEMO_PROJECT_B].sort());
    expect(before.body[DEMO_USER_UUID]?.['cyclades.vm']).toEqual({ usage: 0, limit: 5, pending: 0, project_usage: 0, project_limit: 5, project_pending: 0 });

    expect((await createServer(h)).status).toBe(202);
    const after = await h.call<Quotas>('GET', '/account/v1.0/quotas');
    const mine = after.body[DEMO_USER_UUID];
    expect(mine?.['cyclades.vm']?.usage).toBe(1);
    expect(mine?.['cyclades.cpu']?.usage).toBe(1);
    expect(mine?.['cyclades.ram']?.usage).toBe(1024 * 1024 ** 2);
    expect(mine?.['cyclades.disk']?.usage).toBe(20 * 1024 ** 3);

    const noToken = await h.call<FaultBody>('GET', '/account/v1.0/quotas', undefined, { token: 'nope' });
    expect(noToken.status).toBe(401);
    expect(noToken.body['unauthorized']?.message).toBe('Invalid token');
  });
});
