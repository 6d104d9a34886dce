import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USER_UUID } from './simulator.ts';
import { action, activeServer, createServer, getServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

type Quotas = Record<string, Record<string, { usage: number }>>;

async function usage(h: Harness, resource: string): Promise<number> {
  const quotas = await h.call<Quotas>('GET', '/account/v1.0/quotas');
  return quotas.body[DEMO_USER_UUID]?.[resource]?.usage ?? Number.NaN;
}

describe('cyclades simulator: server actions and state machine', () => {
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

  it('refuses actions while the server builds with 409 buildInProgress', async () => {
    const created = await createServer(h);
    const id = created.body.server.id;
    const res = await action(h, id, { shutdown: {} });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ buildInProgress: { code: 409, message: `Server '${id}' is being built.`, details: '' } });
  });

  it('shuts down (ACTIVE + STOPPING until the job ends) and starts again, releasing and re-charging cpu/ram', async () => {
    const server = await activeServer(h);
    expect(await usage(h, 'cyclades.cpu')).toBe(1);

    expect((await action(h, server.id, { shutdown: {} })).status).toBe(202);
    expect(await getServer(h, server.id)).toMatchObject({ status: 'ACTIVE', 'SNF:task_state': 'STOPPING' });
    const pending = await action(h, server.id, { start: {} });
    expect(pending.status).toBe(400);
    expect(pending.body['badRequest']?.message).toBe("Cannot perform 'START' action while there is a pending 'STOP'.");

    await h.control('POST', '/_sim/advance', { ms: 1000 });
    expect(await getServer(h, server.id)).toMatchObject({ status: 'STOPPED', 'SNF:task_state': '' });
    expect(await usage(h, 'cyclades.cpu')).toBe(0);
    expect(await usage(h, 'cyclades.total_cpu')).toBe(1);

    const again = await action(h, server.id, { shutdown: {} });
    expect(again.status).toBe(400);
    expect(again.body['badRequest']?.message).toBe("Cannot perform 'STOP' action while server is in 'STOPPED' state.");

    expect((await action(h, server.id, { start: {} })).status).toBe(202);
    expect(await getServer(h, server.id)).toMatchObject({ status: 'STOPPED', 'SNF:task_state': 'STARTING' });
    await h.control('POST', '/_sim/advance', { ms: 1000 });
    expect((await getServer(h, server.id)).status).toBe('ACTIVE');
    expect(await usage(h, 'cyclades.cpu')).toBe(1);
  });

  it('rejects start on an ACTIVE server with the state message', async () => {
    const server = await activeServer(h);
    const res = await action(h, server.id, { start: {} });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ badRequest: { code: 400, message: "Cannot perform 'START' action while server is in 'STARTED' state.", details: '' } });
  });

  it('shows REBOOT while a reboot runs and validates the reboot type', async () => {
    const server = await activeServer(h);
    const bad = await action(h, server.id, { reboot: { type: 'GENTLE' } });
    expect(bad.status).toBe(400);
    expect(bad.body['badRequest']?.message).toBe("Invalid 'type' attribute.");
    expect((await action(h, server.id, { reboot: { type: 'SOFT' } })).status).toBe(202);
    expect(await getServer(h, server.id)).toMatchObject({ status: 'REBOOT', 'SNF:task_state': 'REBOOTING' });
    await h.control('POST', '/_sim/settle');
    expect((await getServer(h, server.id)).status).toBe('ACTIVE');
  });

  it('resizes only STOPPED servers to a flavor with the same disk, showing RESIZE meanwhile', async () => {
    const server = await activeServer(h);
    const running = await action(h, server.id, { resize: { flavorRef: 2 } });
    expect(running.status).toBe(400);
    expect(running.body['badRequest']?.message).toBe("Cannot perform 'RESIZE' action while server is in 'STARTED' state.");

    await action(h, server.id, { shutdown: {} });
    await h.control('POST', '/_sim/settle');
    const same = await action(h, server.id, { resize: { flavorRef: 1 } });
    expect(same.status).toBe(400);
    expect(same.body['badRequest']?.message).toBe(`Server '${server.id}' flavor is already 'C1R1024D20'.`);
    const disk = await action(h, server.id, { resize: { flavorRef: 3 } });
    expect(disk.body['badRequest']?.message).toBe("Cannot change instance's disk size.");
    const missing = await action(h, server.id, { resize: {} });
    expect(missing.body['badRequest']?.message).toBe("Missing 'flavorRef' attribute.");

    expect((await action(h, server.id, { resize: { flavorRef: 2 } })).status).toBe(202);
    expect(await getServer(h, server.id)).toMatchObject({ status: 'RESIZE', 'SNF:task_state': 'RESIZING', flavor: { id: 1 } });
    await h.control('POST', '/_sim/advance', { ms: 1000 });
    expect(await getServer(h, server.id)).toMatchObject({ status: 'STOPPED', flavor: { id: 2 } });
    expect(await usage(h, 'cyclades.total_cpu')).toBe(2);
  });

  it('answers 413 when starting would exceed the running-cpu quota', async () => {
    const server = await activeServer(h);
    await action(h, server.id, { shutdown: {} });
    await h.control('POST', '/_sim/settle');
    await h.control('POST', '/_sim/quota', { project: DEMO_USER_UUID, resource: 'cyclades.cpu', limit: 0 });
    const res = await action(h, server.id, { start: {} });
    expect(res.status).toBe(413);
    expect(res.body['overLimit']?.details).toBe("Limit for resource 'CPU' exceeded for your account. Available: 0, Requested: 1");
    expect(await getServer(h, server.id)).toMatchObject({ status: 'STOPPED', 'SNF:task_state': '' });
  });

  it('turns a build that fail-next marks into ERROR, where actions are refused but delete works', async () => {
    await h.control('POST', '/_sim/fail-next', { op: 'BUILD' });
    const created = await createServer(h);
    await h.control('POST', '/_sim/settle');
    const server = await getServer(h, created.body.server.id);
    expect(server.status).toBe('ERROR');
    const res = await action(h, server.id, { start: {} });
    expect(res.body['badRequest']?.message).toBe("Cannot perform 'START' action while server is in 'ERROR' state.");
    const volume = await h.call<{ volume: { status: string } }>('GET', `/volume/v2.0/volumes/${server.volumes[0] ?? 0}`);
    expect(volume.body.volume.status).toBe('error');

    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}`)).status).toBe(204);
    await h.control('POST', '/_sim/settle');
    expect((await getServer(h, server.id)).status).toBe('DELETED');
  });

  it('rolls a failed START back: still STOPPED, cpu quota released', async () => {
    const server = await activeServer(h);
    await action(h, server.id, { shutdown: {} });
    await h.control('POST', '/_sim/settle');
    await h.control('POST', '/_sim/fail-next', { op: 'START', scope: server.id });
    expect((await action(h, server.id, { start: {} })).status).toBe(202);
    expect(await usage(h, 'cyclades.cpu')).toBe(1);
    await h.control('POST', '/_sim/settle');
    expect(await getServer(h, server.id)).toMatchObject({ status: 'STOPPED', 'SNF:task_state': '' });
    expect(await usage(h, 'cyclades.cpu')).toBe(0);
  });

  it('accepts DELETE during BUILD by default, and reproduces the 409 race when configured', async () => {
    const first = await createServer(h);
    expect((await h.call('DELETE', `/compute/v2.0/servers/${first.body.server.id}`)).status).toBe(204);
    expect(await getServer(h, first.body.server.id)).toMatchObject({ status: 'BUILD', 'SNF:task_state': 'DESTROYING' });
    await h.control('POST', '/_sim/settle');
    expect((await getServer(h, first.body.server.id)).status).toBe('DELETED');

    await h.control('POST', '/_sim/config', { deleteDuringBuild: 'conflict' });
    const second = await createServer(h);
    const race = await h.call<FaultBody>('DELETE', `/compute/v2.0/servers/${second.body.server.id}`);
    expect(race.status).toBe(409);
    expect(race.body['buildInProgress']?.message).toBe('Server is being build');
  });

  it('refuses every action on an administratively suspended server with 403', async () => {
    const server = await activeServer(h);
    await h.control('POST', '/_sim/server', { id: server.id, suspended: true });
    const res = await action(h, server.id, { reboot: { type: 'HARD' } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ forbidden: { code: 403, message: 'Administratively Suspended VM', details: '' } });
    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}`)).status).toBe(403);
    expect((await getServer(h, server.id)).suspended).toBe(true);
  });

  it.each([
    [{ frobnicate: {} }, 400, 'badRequest', 'Action frobnicate not supported'],
    [{ start: {}, shutdown: {} }, 400, 'badRequest', 'Malformed request'],
    [{ suspend: {} }, 403, 'forbidden', 'User is not allowed to suspend his server'],
    [{ rebuild: {} }, 501, 'notImplemented', 'Rebuild not supported.'],
    [{ rescue: {} }, 404, 'featureNotEnabled', 'Rescue feature is not enabled'],
    [{ console: { type: 'rdp' } }, 400, 'badRequest', 'Supported types: vnc, vnc-ws, vnc-wss'],
  ])('answers %j with %i %s', async (body, status, fault, message) => {
    const server = await activeServer(h);
    const res = await action(h, server.id, body);
    expect(res.status).toBe(status);
    expect(res.body[fault]?.message).toBe(message);
  });

  it('returns console credentials with 200 for an ACTIVE server', async () => {
    const server = await activeServer(h);
    const res = await h.call<{ console: { type: string; host: string; port: number; password: string } }>('POST', `/compute/v2.0/servers/${server.id}/action`, { console: { type: 'vnc' } });
    expect(res.status).toBe(200);
    expect(res.body.console.type).toBe('vnc');
    expect(res.body.console.port).toBeGreaterThan(5900);
    expect(res.body.console.password).toMatch(/^[0-9a-f]{12}$/);
  });

  it('answers 404 for an action on a server that is not there and 400 for a deleted one', async () => {
    expect((await action(h, 424242, { start: {} })).status).toBe(404);
    const server = await activeServer(h);
    await h.call('DELETE', `/compute/v2.0/servers/${server.id}`);
    await h.control('POST', '/_sim/settle');
    const res = await action(h, server.id, { start: {} });
    expect(res.status).toBe(400);
    expect(res.body['badRequest']?.message).toBe(`Server '${server.id}' has been deleted.`);
  });
});
