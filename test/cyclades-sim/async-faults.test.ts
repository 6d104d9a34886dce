import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { activeServer, createServer, getServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

interface VolumeBody {
  id: string;
  status: string;
}

describe('cyclades simulator: one job per server, delete behind a pending job, lost answers', () => {
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

  async function attachedVolume(serverId: number): Promise<string> {
    const created = await h.call<{ volume: VolumeBody }>('POST', '/volume/v2.0/volumes', { volume: { size: 1, display_name: 'data', volume_type: 1 } });
    expect(created.status).toBe(202);
    const id = created.body.volume.id;
    await h.control('POST', '/_sim/settle');
    expect((await h.call('POST', `/compute/v2.0/servers/${serverId}/os-volume_attachments`, { volumeAttachment: { volumeId: id } })).status).toBe(202);
    await h.control('POST', '/_sim/settle');
    return id;
  }

  it("refuses a second job on a server with Cyclades' message while one is pending", async () => {
    const server = await activeServer(h);
    const volume = await attachedVolume(server.id);
    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}/os-volume_attachments/${volume}`)).status).toBe(202);
    const second = await h.call<FaultBody>('POST', `/compute/v2.0/servers/${server.id}/action`, { shutdown: {} });
    expect(second.status).toBe(400);
    expect(second.body['badRequest']?.message).toBe("Cannot perform 'STOP' action while there is a pending 'DETACH_VOLUME'.");
  });

  it('queues a delete behind the pending job instead of cancelling it (Ganeti runs both, in order)', async () => {
    const server = await activeServer(h);
    const volume = await attachedVolume(server.id);
    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}/os-volume_attachments/${volume}`)).status).toBe(202);
    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}`)).status).toBe(204);
    expect(await getServer(h, server.id)).toMatchObject({ 'SNF:task_state': 'DESTROYING' });
    await h.control('POST', '/_sim/settle');
    // The detach finished before the destroy, so the volume survives the server.
    const after = await h.call<{ volume: VolumeBody }>('GET', `/volume/v2.0/volumes/${volume}`);
    expect(after.body.volume.status).toBe('available');
    expect((await getServer(h, server.id)).status).toBe('DELETED');
  });

  it('deletes the volumes still attached when the server goes', async () => {
    const server = await activeServer(h);
    const volume = await attachedVolume(server.id);
    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}`)).status).toBe(204);
    await h.control('POST', '/_sim/settle');
    expect((await h.call<{ volume: VolumeBody }>('GET', `/volume/v2.0/volumes/${volume}`)).body.volume.status).toBe('deleted');
  });

  it('create-then-fail: carries out the request, then answers 500', async () => {
    await h.control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/compute/v2.0/servers$', status: 500, after: true });
    const lost = await createServer(h, { name: 'lost' });
    expect(lost.status).toBe(500);
    const listing = await h.call<{ servers: { name: string }[] }>('GET', '/compute/v2.0/servers');
    expect(listing.body.servers.map((s) => s.name)).toContain('lost');
  });

  it('create-then-hang: carries out the request and holds the answer back', async () => {
    await h.control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/compute/v2.0/servers$', status: 200, hangMs: 400 });
    const started = Date.now();
    const held = await createServer(h, { name: 'held' });
    expect(held.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    const bad = await h.control('POST', '/_sim/fault', { status: 200, hangMs: 600_000 });
    expect(bad.status).toBe(400);
  });
});
