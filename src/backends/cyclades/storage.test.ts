import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, DEMO_PROJECT_A } from '../../../test/cyclades-sim/simulator.ts';
import type { Entity } from '../../model/entity.ts';
import { STORAGE_KIND, STORAGELINK_KIND } from './ids.ts';
import { at, computeEntity, osTpl, resourceTpl, startHarness, type Harness, matching } from './test-harness.ts';

function storageEntity(size: number, title = 'data'): Entity {
  return { location: '/storage/new-disk', kind: STORAGE_KIND, mixins: [], attributes: { 'occi.storage.size': size, 'occi.storage.state': 'offline' }, title };
}

function storageLink(source: string, target: string): Entity {
  return { location: '/storagelink/new-attachment', kind: STORAGELINK_KIND, mixins: [], attributes: { 'occi.storagelink.deviceid': 'vdb', 'occi.storagelink.state': 'inactive' }, source, target };
}

describe('cyclades storage and storagelinks', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ serverNetworks: 'none' });
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates a volume of the first detachable type in the project, then reads its details', async () => {
    const outcome = await h.backend.create(storageEntity(10), h.ctx());
    expect(outcome).toEqual({ id: '6001', attributes: { 'occi.storage.state': 'online', 'occi.storage.state.message': 'available', 'occi.storage.size': 10 }, allowedActions: [] });
    const [post] = await h.requests({ method: 'POST', pathRegex: '^/volume/' });
    expect([post!.body, post!.status]).toEqual([
      { volume: { size: 10, display_name: 'data', volume_type: 1, project: DEMO_PROJECT_A, metadata: { ocni_entity: expect.any(String) as string, ocni_backend: 'okeanos', ocni_request: 'test' } } },
      202,
    ]);
    expect((await h.requests({ method: 'GET', pathRegex: '^/volume/' })).map((r) => r.path)).toEqual(['/volume/v2.0/types', '/volume/v2.0/volumes/6001']);
  });

  it('surfaces Cyclades’ refusals: non-positive size, a non-detachable configured type; refuses fractional GiB itself', async () => {
    await expect(h.backend.create(storageEntity(0), h.ctx())).rejects.toMatchObject({ code: 'validation', message: "Volume 'size' needs to be a positive integer value. '0' cannot be accepted." });
    await h.clearRequests();
    await expect(h.backend.create(storageEntity(1.5), h.ctx())).rejects.toMatchObject({ code: 'validation', message: matching(/whole number of GiB/) });
    expect(await h.requests()).toEqual([]);
    const drbd = await startHarness({ volumeType: 2 });
    try {
      await expect(drbd.backend.create(storageEntity(5), drbd.ctx())).rejects.toMatchObject({
        code: 'validation',
        message: "Cannot create a detached volume of volume type '2': disk template 'drbd' is not detachable",
      });
    } finally {
      await drbd.close();
    }
  });

  it('attaches (attaching → active), detaches (→ gone), then deletes the volume', async () => {
    const vmEntity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { title: 'vm' });
    const vm = at(vmEntity, (await h.backend.create(vmEntity, h.ctx())).id);
    h.sim.settle();
    const disk = at(storageEntity(5), (await h.backend.create(storageEntity(5), h.ctx())).id);
    expect(disk.location).toBe('/storage/6002');

    const created = await h.backend.create(storageLink(vm.location, disk.location), h.ctx());
    expect(created).toEqual({ id: '1001_6002', attributes: { 'occi.storagelink.state': 'inactive', 'occi.storagelink.state.message': 'attaching' }, allowedActions: [] });
    const [attach] = await h.requests({ method: 'POST', pathRegex: '/os-volume_attachments$' });
    expect([attach!.path, attach!.body, attach!.status]).toEqual(['/compute/v2.0/servers/1001/os-volume_attachments', { volumeAttachment: { volumeId: '6002' } }, 202]);
    const link = at(storageLink(vm.location, disk.location), created.id);
    h.sim.settle();
    expect(await h.backend.retrieve(link, h.ctx())).toEqual({ attributes: { 'occi.storagelink.state': 'active', 'occi.storagelink.state.message': null }, allowedActions: [] });
    expect(await h.backend.retrieve(disk, h.ctx())).toMatchObject({ attributes: { 'occi.storage.state': 'online', 'occi.storage.state.message': 'in_use' } });

    await h.backend.delete(link, h.ctx());
    const [detach] = await h.requests({ method: 'DELETE', pathRegex: '/os-volume_attachments/' });
    expect([detach!.path, detach!.status]).toEqual(['/compute/v2.0/servers/1001/os-volume_attachments/6002', 202]);
    expect(await h.backend.retrieve(link, h.ctx())).toMatchObject({ attributes: { 'occi.storagelink.state': 'inactive', 'occi.storagelink.state.message': 'detaching' } });
    // Cyclades refuses to delete a volume while it is being detached: the bridge waits for the
    // detach job (here: until the simulator's clock moves) and deletes it then.
    const deleting = h.backend.delete(disk, h.ctx());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await h.requests({ method: 'DELETE', pathRegex: '^/volume/' })).toEqual([]);
    h.sim.settle();
    await deleting;
    expect(await h.backend.retrieve(link, h.ctx())).toBe('gone');
    await expect(h.backend.delete(link, h.ctx())).resolves.toBeUndefined();
    expect((await h.requests({ method: 'DELETE', pathRegex: '^/volume/' })).map((r) => r.status)).toEqual([202]);
    h.sim.settle();
    expect(await h.backend.retrieve(disk, h.ctx())).toBe('gone');
    await expect(h.backend.delete(disk, h.ctx())).resolves.toBeUndefined();
  });

  it('renames a volume; refuses to resize it', async () => {
    const disk = at(storageEntity(5), (await h.backend.create(storageEntity(5), h.ctx())).id);
    await h.backend.update(disk, { ...disk, title: 'logs' }, h.ctx());
    expect((await h.requests({ method: 'PUT' })).map((r) => r.body)).toEqual([{ volume: { display_name: 'logs' } }]);
    await expect(h.backend.replace(disk, { ...disk, attributes: { ...disk.attributes, 'occi.storage.size': 6 } }, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
    await expect(h.backend.action(disk, 'http://schemas.ogf.org/occi/infrastructure/storage/action#snapshot', {}, h.ctx())).rejects.toMatchObject({ code: 'not-implemented' });
  });

  it("cannot attach a volume of the default type to a compute of another disk template (Cyclades' 400, kept as said)", async () => {
    // Flavor 4 is drbd (volume type 2); new volumes get the first detachable type (1, archipelago).
    const vmEntity = computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(4)], { title: 'drbd-vm' });
    const vm = at(vmEntity, (await h.backend.create(vmEntity, h.ctx())).id);
    h.sim.settle();
    const disk = at(storageEntity(1), (await h.backend.create(storageEntity(1), h.ctx())).id);
    await expect(h.backend.create(storageLink(vm.location, disk.location), h.ctx())).rejects.toMatchObject({ code: 'validation', message: matching(/same volume type/) });
  });
});
