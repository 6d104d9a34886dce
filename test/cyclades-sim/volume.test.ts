import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USER_UUID, OTHER_TOKEN } from './simulator.ts';
import { activeServer, getServer, startHarness, type FaultBody, type Harness } from './test-support.ts';

interface VolumeBody {
  id: string;
  display_name: string;
  status: string;
  size: number;
  volume_type: number;
  deleted: boolean;
  attachments: Array<{ server_id: number; volume_id: number; device_index: number }>;
  links?: unknown[];
}

interface AttachmentBody {
  id: number;
  volumeId: number;
  serverId: number;
  device: string;
}

async function detachedVolume(h: Harness, size = 10): Promise<string> {
  const res = await h.call<{ volume: VolumeBody }>('POST', '/volume/v2.0/volumes', { volume: { size, display_name: 'data', volume_type: 1 } });
  if (res.status !== 202) throw new Error(`create volume: ${res.text}`);
  return res.body.volume.id;
}

async function volume(h: Harness, id: string | number): Promise<VolumeBody> {
  const res = await h.call<{ volume: VolumeBody }>('GET', `/volume/v2.0/volumes/${id}`);
  if (res.status !== 200) throw new Error(`GET volume ${id}: ${res.text}`);
  return res.body.volume;
}

describe('cyclades simulator: volumes', () => {
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

  it('lists volume types with their detachability', async () => {
    const res = await h.call<{ volume_types: Array<Record<string, unknown>> }>('GET', '/volume/v2.0/types');
    expect(res.status).toBe(200);
    expect(res.body.volume_types).toEqual([
      { id: 1, name: 'archipelago', deleted: false, 'SNF:disk_template': 'ext_archipelago', 'SNF:detachable': true },
      { id: 2, name: 'drbd', deleted: false, 'SNF:disk_template': 'drbd', 'SNF:detachable': false },
    ]);
  });

  it('creates a detachable volume: 202 with the brief dict, then available; charges disk quota', async () => {
    const res = await h.call<{ volume: VolumeBody }>('POST', '/volume/v2.0/volumes', { volume: { size: 10, display_name: 'data', volume_type: 1 } });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body.volume).sort()).toEqual(['display_name', 'id', 'links']);
    expect(res.body.volume.id).toMatch(/^\d+$/);
    expect(await volume(h, res.body.volume.id)).toMatchObject({ status: 'available', size: 10, volume_type: 1, attachments: [], deleted: false });
    const quotas = await h.call<Record<string, Record<string, { usage: number }>>>('GET', '/account/v1.0/quotas');
    expect(quotas.body[DEMO_USER_UUID]?.['cyclades.disk']?.usage).toBe(10 * 1024 ** 3);
    expect((await h.call('GET', `/volume/v2.0/volumes/${res.body.volume.id}`, undefined, { token: OTHER_TOKEN })).status).toBe(404);
  });

  it.each([
    [{ volume: { size: 0, display_name: 'v', volume_type: 1 } }, "Volume 'size' needs to be a positive integer value. '0' cannot be accepted."],
    [{ volume: { size: 5, volume_type: 1 } }, "Malformed request. Missing attribute 'display_name'."],
    [{ volume: { size: 5, display_name: 'v', volume_type: 2 } }, "Cannot create a detached volume of volume type '2': disk template 'drbd' is not detachable"],
  ])('refuses %j with 400', async (body, message) => {
    const res = await h.call<FaultBody>('POST', '/volume/v2.0/volumes', body);
    expect(res.status).toBe(400);
    expect(res.body['badRequest']?.message).toBe(message);
  });

  it('attaches (attaching → in_use) and detaches (detaching → available) through the compute API', async () => {
    const server = await activeServer(h);
    const volumeId = await detachedVolume(h);

    const attach = await h.call<{ volumeAttachment: AttachmentBody }>('POST', `/compute/v2.0/servers/${server.id}/os-volume_attachments`, { volumeAttachment: { volumeId } });
    expect(attach.status).toBe(202);
    expect(attach.body.volumeAttachment).toEqual({ id: Number(volumeId), volumeId: Number(volumeId), serverId: server.id, device: '' });
    expect((await volume(h, volumeId)).status).toBe('attaching');
    expect((await getServer(h, server.id))['SNF:task_state']).toBe('ATTACHING_VOLUME');

    await h.control('POST', '/_sim/advance', { ms: 1000 });
    expect(await volume(h, volumeId)).toMatchObject({ status: 'in_use', attachments: [{ server_id: server.id, volume_id: Number(volumeId), device_index: 1 }] });
    expect((await getServer(h, server.id)).volumes).toEqual([server.volumes[0], Number(volumeId)]);
    const list = await h.call<{ volumeAttachments: AttachmentBody[] }>('GET', `/compute/v2.0/servers/${server.id}/os-volume_attachments`);
    expect(list.body.volumeAttachments.map((entry) => entry.volumeId)).toEqual([server.volumes[0], Number(volumeId)]);

    const again = await h.call<FaultBody>('POST', `/compute/v2.0/servers/${server.id}/os-volume_attachments`, { volumeAttachment: { volumeId } });
    expect(again.status).toBe(400);
    expect(again.body['badRequest']?.message).toBe("Cannot attach volume while volume is in 'IN_USE' status.");

    const root = await h.call<FaultBody>('DELETE', `/compute/v2.0/servers/${server.id}/os-volume_attachments/${server.volumes[0] ?? 0}`);
    expect(root.status).toBe(400);
    expect(root.body['badRequest']?.message).toBe('Cannot detach the root volume of a server');

    expect((await h.call('DELETE', `/compute/v2.0/servers/${server.id}/os-volume_attachments/${volumeId}`)).status).toBe(202);
    expect((await volume(h, volumeId)).status).toBe('detaching');
    await h.control('POST', '/_sim/settle');
    expect(await volume(h, volumeId)).toMatchObject({ status: 'available', attachments: [] });

    const detached = await h.call<FaultBody>('DELETE', `/compute/v2.0/servers/${server.id}/os-volume_attachments/${volumeId}`);
    expect(detached.status).toBe(400);
    expect(detached.body['badRequest']?.message).toBe('Volume is already detached');

    const missing = await h.call<FaultBody>('POST', `/compute/v2.0/servers/${server.id}/os-volume_attachments`, { volumeAttachment: { volumeId: '999999' } });
    expect(missing.status).toBe(400);
  });

  it('refuses to attach a volume of another type', async () => {
    const server = await activeServer(h, { flavorRef: 4 });
    const volumeId = await detachedVolume(h);
    const res = await h.call<FaultBody>('POST', `/compute/v2.0/servers/${server.id}/os-volume_attachments`, { volumeAttachment: { volumeId } });
    expect(res.status).toBe(400);
    expect(res.body['badRequest']?.message).toBe("Volume and server must have the same volume type. Volume has volume type '1' while server has '2'");
  });

  it('creates a volume on a server (creating → in_use) and deletes an attached one (deleting → deleted)', async () => {
    const server = await activeServer(h);
    const res = await h.call<{ volume: VolumeBody }>('POST', '/volume/v2.0/volumes', { volume: { size: 5, display_name: 'logs', server_id: String(server.id) } });
    expect(res.status).toBe(202);
    const id = res.body.volume.id;
    expect((await volume(h, id)).status).toBe('creating');
    await h.control('POST', '/_sim/settle');
    expect((await volume(h, id)).status).toBe('in_use');

    expect((await h.call('DELETE', `/volume/v2.0/volumes/${id}`)).status).toBe(202);
    expect((await volume(h, id)).status).toBe('deleting');
    await h.control('POST', '/_sim/settle');
    expect(await volume(h, id)).toMatchObject({ status: 'deleted', deleted: true });
    const list = await h.call<{ volumes: VolumeBody[] }>('GET', '/volume/v2.0/volumes');
    expect(list.body.volumes.map((entry) => entry.id)).toEqual([String(server.volumes[0])]);
  });

  it('deletes a detached volume asynchronously and releases its quota', async () => {
    const id = await detachedVolume(h, 7);
    expect((await h.call('DELETE', `/volume/v2.0/volumes/${id}`)).status).toBe(202);
    expect((await volume(h, id)).status).toBe('deleting');
    await h.control('POST', '/_sim/advance', { ms: 1000 });
    expect((await volume(h, id)).status).toBe('deleted');
    const quotas = await h.call<Record<string, Record<string, { usage: number }>>>('GET', '/account/v1.0/quotas');
    expect(quotas.body[DEMO_USER_UUID]?.['cyclades.disk']?.usage).toBe(0);
  });

  it("deletes a server's volumes with the server", async () => {
    const server = await activeServer(h);
    const id = await detachedVolume(h);
    await h.call('POST', `/compute/v2.0/servers/${server.id}/os-volume_attachments`, { volumeAttachment: { volumeId: id } });
    await h.control('POST', '/_sim/settle');
    await h.call('DELETE', `/compute/v2.0/servers/${server.id}`);
    await h.control('POST', '/_sim/settle');
    expect(await volume(h, id)).toMatchObject({ status: 'deleted', deleted: true });
    expect((await volume(h, server.volumes[0] ?? 0)).status).toBe('deleted');
  });

  it('serves /volume/v2 as an alias and answers a wrong method with a bare 405', async () => {
    const alias = await h.call<{ volumes: unknown[] }>('GET', '/volume/v2/volumes/detail');
    expect(alias.status).toBe(200);
    expect(alias.body.volumes).toEqual([]);
    const wrong = await h.call('PATCH', '/volume/v2.0/volumes');
    expect(wrong.status).toBe(405);
    expect(wrong.text).toBe('');
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });

  it('refuses delete_on_termination false with 501 for detachable volumes', async () => {
    const id = await detachedVolume(h);
    const res = await h.call<FaultBody>('PUT', `/volume/v2.0/volumes/${id}`, { volume: { delete_on_termination: false } });
    expect(res.status).toBe(501);
    const rename = await h.call<{ volume: VolumeBody }>('PUT', `/volume/v2.0/volumes/${id}`, { volume: { display_name: 'renamed' } });
    expect(rename.status).toBe(200);
    expect(rename.body.volume.display_name).toBe('renamed');
  });
});
