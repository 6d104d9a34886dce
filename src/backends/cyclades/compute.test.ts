import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, DEMO_PROJECT_A, DEMO_PROJECT_B, UBUNTU_IMAGE_ID } from '../../../test/cyclades-sim/simulator.ts';
import { at, computeEntity, osTpl, resourceTpl, startHarness, type Harness, matching } from './test-harness.ts';
import type { Entity } from '../../model/entity.ts';

const ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyForTests demo@example.org';

describe('cyclades compute (no default networks)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({}, { seed: { defaultServerNetworks: [] } });
  });
  afterEach(async () => {
    await h.close();
  });

  /** Creates a compute and returns it at its Cyclades location. */
  async function create(flavor = 1, extra: Parameters<typeof computeEntity>[1] = {}, image = DEBIAN_IMAGE_ID): Promise<Entity> {
    const entity = computeEntity([osTpl(image), resourceTpl(flavor)], { title: 'vm1', ...extra });
    const outcome = await h.backend.create(entity, h.ctx());
    return at(entity, outcome.id);
  }

  async function active(flavor = 1): Promise<Entity> {
    const entity = await create(flavor);
    h.sim.settle();
    return entity;
  }

  it('creates with exactly one POST /servers: name, imageRef, flavorRef (int), project; networks left out', async () => {
    const entity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(2)], { title: 'web-1' });
    const outcome = await h.backend.create(entity, h.ctx());
    expect(outcome.id).toBe('1001');
    expect(outcome.attributes).toEqual({
      'occi.compute.state': 'inactive',
      'occi.compute.state.message': 'BUILDING (0%)',
      'occi.compute.cores': 2,
      'occi.compute.memory': 2,
      'occi.compute.hostname': 'snf-1001.vm.example.org',
    });
    const posts = await h.requests({ method: 'POST', pathRegex: '^/compute/v2\\.0/servers$' });
    expect(posts).toHaveLength(1);
    // Marked with the entity's ocni id and the backend, so a lost answer can be found again.
    expect(posts[0]!.body).toEqual({
      server: { name: 'web-1', imageRef: DEBIAN_IMAGE_ID, flavorRef: 2, project: DEMO_PROJECT_A, metadata: { ocni_entity: '0190f0e0a1b2-new', ocni_backend: 'okeanos', ocni_request: 'test' } },
    });
    expect(posts[0]!.status).toBe(202);
  });

  it('refuses a compute without an os_tpl or resource_tpl of this backend before calling Cyclades', async () => {
    await h.clearRequests();
    await expect(h.backend.create(computeEntity([resourceTpl(1)]), h.ctx())).rejects.toMatchObject({ code: 'validation', message: matching(/exactly one os_tpl/) });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID)]), h.ctx())).rejects.toMatchObject({ code: 'validation', message: matching(/exactly one resource_tpl/) });
    const foreign = 'http://schemas.ocni.dev/cyclades/other/resource_tpl#1';
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), foreign]), h.ctx())).rejects.toMatchObject({ code: 'validation' });
    expect(await h.requests()).toEqual([]);
  });

  it('surfaces unknown templates (404) and forbidden flavors (403) with Cyclades’ messages', async () => {
    await expect(h.backend.create(computeEntity([osTpl('no-such-image'), resourceTpl(1)]), h.ctx())).rejects.toMatchObject({ code: 'not-found', message: "Image 'no-such-image' not found" });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(99)]), h.ctx())).rejects.toMatchObject({ code: 'not-found', message: 'Flavor not found.' });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(6)]), h.ctx(undefined, DEMO_PROJECT_B))).rejects.toMatchObject({
      code: 'forbidden',
      message: 'Insufficient access',
    });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(5)]), h.ctx())).rejects.toMatchObject({ code: 'forbidden', message: matching(/allow_create/) });
  });

  it('follows the build: inactive BUILDING with progress, then active with no message', async () => {
    const entity = await create();
    // A building server allows no action (Cyclades answers 409), though OCCI's inactive would offer start.
    expect(await h.backend.retrieve(entity, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state': 'inactive', 'occi.compute.state.message': 'BUILDING (0%)' }, allowedActions: [] });
    h.sim.advance(1500);
    expect(await h.backend.retrieve(entity, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state': 'inactive', 'occi.compute.state.message': 'BUILDING (50%)' } });
    h.sim.advance(1500);
    expect(await h.backend.retrieve(entity, h.ctx())).toEqual({
      attributes: { 'occi.compute.state': 'active', 'occi.compute.state.message': null, 'occi.compute.cores': 1, 'occi.compute.memory': 1, 'occi.compute.hostname': 'snf-1001.vm.example.org' },
      allowedActions: [`${ACTION}stop`, `${ACTION}restart`],
    });
  });

  it('reports a failed build as error, not as a failure of the call', async () => {
    await h.control('POST', '/_sim/fail-next', { op: 'BUILD' });
    const entity = await create();
    h.sim.settle();
    expect(await h.backend.retrieve(entity, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state': 'error', 'occi.compute.state.message': 'Cyclades reports the server in ERROR' } });
  });

  it('stop, start and restart send the exact bodies; states change only when the jobs complete', async () => {
    const entity = await active();
    const stopped = await h.backend.action(entity, `${ACTION}stop`, { method: 'poweroff' }, h.ctx());
    expect(stopped.attributes).toMatchObject({ 'occi.compute.state': 'active', 'occi.compute.state.message': 'STOPPING' });
    expect(stopped.allowedActions).toEqual([]);
    h.sim.advance(1000);
    expect(await h.backend.retrieve(entity, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state': 'inactive', 'occi.compute.state.message': null } });

    const started = await h.backend.action(entity, `${ACTION}start`, {}, h.ctx());
    expect(started.attributes).toMatchObject({ 'occi.compute.state': 'inactive', 'occi.compute.state.message': 'STARTING' });
    h.sim.settle();

    const restarted = await h.backend.action(entity, `${ACTION}restart`, { method: 'cold' }, h.ctx());
    expect(restarted.attributes).toMatchObject({ 'occi.compute.state': 'active', 'occi.compute.state.message': 'REBOOTING' });
    const bodies = (await h.requests({ method: 'POST', pathRegex: '/servers/1001/action$' })).map((r) => r.body);
    expect(bodies).toEqual([{ shutdown: {} }, { start: {} }, { reboot: { type: 'SOFT' } }]);
  });

  it('maps refused actions: during BUILD → conflict, start on ACTIVE → validation, suspend/save → not-implemented', async () => {
    const entity = await create();
    await expect(h.backend.action(entity, `${ACTION}stop`, {}, h.ctx())).rejects.toMatchObject({ code: 'conflict', message: "Server '1001' is being built." });
    h.sim.settle();
    await expect(h.backend.action(entity, `${ACTION}start`, {}, h.ctx())).rejects.toMatchObject({ code: 'validation', message: "Cannot perform 'START' action while server is in 'STARTED' state." });
    await h.clearRequests();
    await expect(h.backend.action(entity, `${ACTION}suspend`, { method: 'suspend' }, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
    await expect(h.backend.action(entity, `${ACTION}save`, { method: 'hot' }, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
    expect(await h.requests()).toEqual([]);
  });

  it('maps quota exhaustion on create and on start to payload-too-large with the readable limit', async () => {
    await h.control('POST', '/_sim/quota', { project: DEMO_PROJECT_A, resource: 'cyclades.vm', limit: 0 });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]), h.ctx())).rejects.toMatchObject({
      code: 'payload-too-large',
      message: "Resource Limit Exceeded for your account. (Limit for resource 'Virtual Machine' exceeded for your account. Available: 0, Requested: 1)",
    });
    await h.control('POST', '/_sim/quota', { project: DEMO_PROJECT_A, resource: 'cyclades.vm', limit: 5 });
    const entity = await active();
    await h.backend.action(entity, `${ACTION}stop`, {}, h.ctx());
    h.sim.settle();
    await h.control('POST', '/_sim/quota', { project: DEMO_PROJECT_A, resource: 'cyclades.cpu', limit: 0 });
    await expect(h.backend.action(entity, `${ACTION}start`, {}, h.ctx())).rejects.toMatchObject({ code: 'payload-too-large', message: matching(/^Resource Limit Exceeded.*'CPU'/) });
  });

  it('resizes on a new resource_tpl: refused while running, sent as {"resize":{"flavorRef":N}} when stopped', async () => {
    const entity = await active(1);
    const bigger = { ...entity, mixins: [osTpl(DEBIAN_IMAGE_ID), resourceTpl(2)] };
    await expect(h.backend.update(entity, bigger, h.ctx())).rejects.toMatchObject({ code: 'validation', message: "Cannot perform 'RESIZE' action while server is in 'STARTED' state." });
    await h.backend.action(entity, `${ACTION}stop`, {}, h.ctx());
    h.sim.settle();
    const outcome = await h.backend.replace(entity, bigger, h.ctx());
    expect(outcome.attributes).toMatchObject({ 'occi.compute.state': 'inactive', 'occi.compute.state.message': 'RESIZING', 'occi.compute.cores': 1 });
    expect((await h.requests({ method: 'POST', pathRegex: '/action$' })).at(-1)!.body).toEqual({ resize: { flavorRef: 2 } });
    h.sim.settle();
    expect(await h.backend.retrieve(bigger, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state': 'inactive', 'occi.compute.cores': 2, 'occi.compute.memory': 2 } });
    const otherDisk = { ...bigger, mixins: [osTpl(DEBIAN_IMAGE_ID), resourceTpl(3)] };
    await expect(h.backend.update(bigger, otherDisk, h.ctx())).rejects.toMatchObject({ code: 'validation', message: "Cannot change instance's disk size." });
    await expect(h.backend.update(bigger, { ...bigger, mixins: [osTpl(UBUNTU_IMAGE_ID), resourceTpl(2)] }, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
  });

  it('renames on a new title with PUT /servers/<id>', async () => {
    const entity = await active();
    await h.backend.update(entity, { ...entity, title: 'renamed' }, h.ctx());
    const puts = await h.requests({ method: 'PUT', pathRegex: '^/compute/v2\\.0/servers/1001$' });
    expect(puts.map((r) => [r.body, r.status])).toEqual([[{ server: { name: 'renamed' } }, 204]]);
  });

  it('sends the SSH key and user data as personality files and user_data (base64)', async () => {
    await create(1, { attributes: { 'occi.credentials.ssh.publickey': SSH_KEY, 'occi.compute.userdata': '#cloud-config\npackages: [nginx]\n' } });
    await create(1, { attributes: { 'occi.credentials.ssh.publickey': SSH_KEY, 'occi.compute.userdata': 'I2Nsb3VkLWNvbmZpZwo=' } }, UBUNTU_IMAGE_ID);
    const [debian, ubuntu] = (await h.requests({ method: 'POST', pathRegex: '^/compute/v2\\.0/servers$' })).map((r) => (r.body as { server: Record<string, unknown> }).server);
    const key = Buffer.from(`${SSH_KEY}\n`).toString('base64');
    const data = Buffer.from('#cloud-config\npackages: [nginx]\n').toString('base64');
    expect(debian!['user_data']).toBe(data);
    expect(debian!['personality']).toEqual([
      { path: '/root/.ssh/authorized_keys', contents: key, owner: 'root', group: 'root', mode: 384 },
      { path: '/var/lib/cloud/seed/nocloud-net/user-data', contents: data, owner: 'root', group: 'root', mode: 384 },
    ]);
    // Already base64: sent unchanged; the key goes to the image's own user.
    expect(ubuntu!['user_data']).toBe('I2Nsb3VkLWNvbmZpZwo=');
    expect((ubuntu!['personality'] as { path: string }[])[0]!.path).toBe('/home/user/.ssh/authorized_keys');
  });

  it('surfaces oversized contextualization as payload-too-large', async () => {
    const big = `#!/bin/sh\n${'echo hello\n'.repeat(1100)}`; // 12 KiB of text, over the 10 KiB limit
    await expect(create(1, { attributes: { 'occi.compute.userdata': big } })).rejects.toMatchObject({ code: 'payload-too-large', message: 'Maximum size of personality exceeded' });
  });

  it('deletes with DELETE /servers/<id>; the compute is gone once destroyed; a second delete is fine', async () => {
    const entity = await active();
    await h.backend.delete(entity, h.ctx());
    expect((await h.requests({ method: 'DELETE' })).map((r) => [r.path, r.status])).toEqual([['/compute/v2.0/servers/1001', 204]]);
    // Destroying is asynchronous: still there with DESTROYING until the job ends.
    expect(await h.backend.retrieve(entity, h.ctx())).toMatchObject({ attributes: { 'occi.compute.state.message': 'DESTROYING' } });
    h.sim.settle();
    expect(await h.backend.retrieve(entity, h.ctx())).toBe('gone');
    await expect(h.backend.delete(entity, h.ctx())).resolves.toBeUndefined();
    await expect(h.backend.action(entity, `${ACTION}start`, {}, h.ctx())).rejects.toMatchObject({ code: 'validation', message: "Server '1001' has been deleted." });
  });

  it('deletes during BUILD, and surfaces the 409 race when Cyclades refuses it', async () => {
    const first = await create();
    await h.backend.delete(first, h.ctx());
    h.sim.settle();
    expect(await h.backend.retrieve(first, h.ctx())).toBe('gone');
    await h.control('POST', '/_sim/config', { deleteDuringBuild: 'conflict' });
    const second = await create();
    await expect(h.backend.delete(second, h.ctx())).rejects.toMatchObject({ code: 'conflict', message: 'Server is being build' });
  });

  it('answers gone for a server of another user, an unknown server and a non-numeric id (without calling Cyclades)', async () => {
    const entity = await active();
    expect(await h.backend.retrieve(entity, h.ctx('other-token'))).toBe('gone');
    expect(await h.backend.retrieve({ ...entity, location: '/compute/999999' }, h.ctx())).toBe('gone');
    await h.clearRequests();
    const odd = { ...entity, location: '/compute/not-a-number' };
    expect(await h.backend.retrieve(odd, h.ctx())).toBe('gone');
    await expect(h.backend.action(odd, `${ACTION}start`, {}, h.ctx())).rejects.toMatchObject({ code: 'not-found' });
    await expect(h.backend.delete(odd, h.ctx())).resolves.toBeUndefined();
    expect(await h.requests()).toEqual([]);
  });
});

describe('cyclades compute networks', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it('under the deployment default (SNF:ANY_PUBLIC_IPV4) allocates a floating IP once on the 409 and retries once', async () => {
    h = await startHarness();
    const entity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'pub' });
    const outcome = await h.backend.create(entity, h.ctx());
    expect(outcome.id).toBe('1001');
    const log = (await h.requests({ method: 'POST', pathRegex: '^/(compute|network)/v2\\.0/(servers|floatingips)$' })).map((r) => [r.path, r.status]);
    expect(log).toEqual([
      ['/compute/v2.0/servers', 409],
      ['/network/v2.0/floatingips', 200],
      ['/compute/v2.0/servers', 202],
    ]);
    expect((await h.requests({ pathRegex: '^/compute/v2\\.0/servers$' }))[0]!.body).not.toHaveProperty('server.networks');
  });

  it('releases the floating IP it allocated once the deleted server is gone; keepFloatingIps keeps it', async () => {
    for (const keep of [false, true]) {
      h = await startHarness({ keepFloatingIps: keep });
      const entity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'pub' });
      const outcome = await h.backend.create(entity, h.ctx());
      expect(JSON.parse(outcome.ref!)).toEqual({ floatingIps: ['5001'] });
      h.sim.settle();
      const placed = { ...at(entity, outcome.id), ref: outcome.ref! };
      const deleting = h.backend.delete(placed, h.ctx());
      // The address is released only after DESTROY, when the server's port is gone.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await h.requests({ method: 'DELETE', pathRegex: '/floatingips/' })).toEqual([]);
      h.sim.settle();
      await deleting;
      const ips = (await h.control('GET', '/_sim/state')) as { db: { ips: Record<string, { floating: boolean }> } };
      expect(Object.values(ips.db.ips).filter((ip) => ip.floating)).toHaveLength(keep ? 1 : 0);
      await h.close();
      h = undefined;
    }
  });

  it('waits for a pending job before the next one, bounded by timeoutMs (504 naming the job)', async () => {
    h = await startHarness({ timeoutMs: 400, serverNetworks: 'none' });
    const entity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]);
    const placed = at(entity, (await h.backend.create(entity, h.ctx())).id);
    h.sim.settle();
    await h.backend.action(placed, `${ACTION}stop`, {}, h.ctx());
    // The simulator's clock stands still: STOP never ends, so restart is never sent.
    await expect(h.backend.action(placed, `${ACTION}restart`, {}, h.ctx())).rejects.toMatchObject({ code: 'backend-timeout', message: matching(/pending job of server 1001/) });
    expect((await h.requests({ method: 'POST', pathRegex: '/action$' })).map((r) => r.body)).toEqual([{ shutdown: {} }]);
    // Once it ends, the next job goes.
    h.sim.settle();
    await h.backend.action(placed, `${ACTION}start`, {}, h.ctx());
    expect((await h.requests({ method: 'POST', pathRegex: '/action$' })).map((r) => r.body)).toEqual([{ shutdown: {} }, { start: {} }]);
  });

  it('does not loop: when the retry fails too, the allocated floating IP is released and the error surfaces', async () => {
    h = await startHarness();
    await h.control('POST', '/_sim/fault', {
      method: 'POST',
      pathRegex: '^/compute/v2\\.0/servers$',
      status: 409,
      body: { conflict: { code: 409, message: 'Cannot find an unused floating IP to connect server to a public network. Please create a floating IP.', details: '' } },
      count: 2,
    });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]), h.ctx())).rejects.toMatchObject({ code: 'conflict', message: matching(/Please create a floating IP/) });
    expect((await h.requests({ pathRegex: '^/compute/v2\\.0/servers$' })).length).toBe(2);
    expect((await h.requests({ method: 'DELETE', pathRegex: '/floatingips/' })).map((r) => r.status)).toEqual([204]);
  });

  it('with serverNetworks "none" sends networks: []', async () => {
    h = await startHarness({ serverNetworks: 'none' });
    await h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'n' }), h.ctx());
    const [post] = await h.requests({ method: 'POST', pathRegex: '^/compute/v2\\.0/servers$' });
    expect(post!.body).toMatchObject({ server: { networks: [] } });
    expect(post!.status).toBe(202);
  });
});
