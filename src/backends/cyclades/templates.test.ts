import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID, UBUNTU_IMAGE_ID } from '../../../test/cyclades-sim/simulator.ts';
import { computeEntity, startHarness, type Harness, matching } from './test-harness.ts';

const OS = 'http://schemas.ocni.dev/cyclades/okeanos/os_tpl#';
const RESOURCE = 'http://schemas.ocni.dev/cyclades/okeanos/resource_tpl#';

describe('cyclades templates', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ templateTtlMs: 60_000 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('turns every image into an os_tpl mixin (term = id, title = name)', async () => {
    const mixins = await h.backend.templates(h.ctx());
    const os = mixins.filter((m) => m.scheme === OS);
    expect(os).toEqual([
      {
        class: 'mixin',
        scheme: OS,
        term: DEBIAN_IMAGE_ID,
        title: 'Debian Base 12',
        attributes: {},
        depends: ['http://schemas.ogf.org/occi/infrastructure#os_tpl'],
        applies: ['http://schemas.ogf.org/occi/infrastructure#compute'],
        actions: [],
        location: `/cyclades/okeanos/os_tpl/${DEBIAN_IMAGE_ID}/`,
      },
      expect.objectContaining({ term: UBUNTU_IMAGE_ID, title: 'Ubuntu Server 22.04 LTS', location: `/cyclades/okeanos/os_tpl/${UBUNTU_IMAGE_ID}/` }),
    ]);
  });

  it('turns every flavor one may create from into a resource_tpl with cores, memory (GiB) and disk defaults', async () => {
    const resource = (await h.backend.templates(h.ctx())).filter((m) => m.scheme === RESOURCE);
    // Flavor 5 has SNF:allow_create false and is left out.
    expect(resource.map((m) => m.term)).toEqual(['1', '2', '3', '4', '6']);
    const medium = resource.find((m) => m.term === '2')!;
    expect(medium).toMatchObject({
      title: 'C2R2048D20',
      depends: ['http://schemas.ogf.org/occi/infrastructure#resource_tpl'],
      applies: ['http://schemas.ogf.org/occi/infrastructure#compute'],
      location: '/cyclades/okeanos/resource_tpl/2/',
    });
    expect(Object.fromEntries(Object.entries(medium.attributes).map(([name, definition]) => [name, definition.default]))).toEqual({
      'occi.compute.cores': 2,
      'occi.compute.memory': 2,
      'occi.compute.ephemeral_storage.size': 20,
    });
    expect(resource.find((m) => m.term === '6')!.attributes['occi.compute.memory']!.default).toBe(32);
  });

  it('reuses a token’s catalog within the TTL and sees Cyclades’ changes after it', async () => {
    await h.backend.templates(h.ctx());
    await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-000000000001', name: 'Fedora 40' });
    await h.control('POST', '/_sim/flavor', { id: 2, deleted: true });
    await h.control('POST', '/_sim/flavor', { id: 7, name: 'C1R512D10', vcpus: 1, ram: 512, disk: 10 });
    h.tick(59_000);
    const cached = await h.backend.templates(h.ctx());
    expect(cached.map((m) => m.term)).not.toContain('c0ffee00-0000-4000-8000-000000000001');
    expect((await h.requests({ method: 'GET', pathRegex: '/images/detail$' })).length).toBe(1);
    h.tick(1_001);
    const fresh = await h.backend.templates(h.ctx());
    expect(fresh.find((m) => m.term === 'c0ffee00-0000-4000-8000-000000000001')).toMatchObject({ title: 'Fedora 40' });
    expect(fresh.filter((m) => m.scheme === RESOURCE).map((m) => m.term)).toEqual(['1', '3', '4', '6', '7']);
    expect(fresh.find((m) => m.term === '7')!.attributes['occi.compute.memory']!.default).toBe(0.5);
    expect((await h.requests({ method: 'GET', pathRegex: '/images/detail$' })).length).toBe(2);
  });

  it('hides images that are not ACTIVE', async () => {
    await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-000000000002', name: 'Half uploaded', status: 'SAVING' });
    const terms = (await h.backend.templates(h.ctx())).map((m) => m.term);
    expect(terms).not.toContain('c0ffee00-0000-4000-8000-000000000002');
  });

  it('offers flavors and images under their snf-occi names too, unambiguous names only', async () => {
    const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
    await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-00000000000a', name: 'Debian' });
    // Two images called "Twin": neither is offered by that name (both stay available by id).
    await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-00000000000b', name: 'Twin' });
    await h.control('POST', '/_sim/image', { id: 'c0ffee00-0000-4000-8000-00000000000c', name: 'Twin' });
    const mixins = await h.backend.templates(h.ctx());
    const named = mixins.filter((m) => m.scheme === INFRA);
    // Names that are not OCCI terms ("Debian Base 12") are not offered either.
    expect(named.map((m) => m.term).sort()).toEqual(['C16R32768D20', 'C1R1024D20', 'C2R2048D20', 'C2R2048D20drbd', 'C4R4096D40', 'Debian']);
    expect(named.find((m) => m.term === 'C2R2048D20')).toMatchObject({ depends: [`${INFRA}resource_tpl`], applies: [`${INFRA}compute`], location: '/cyclades/okeanos/snf-occi/C2R2048D20/' });
    expect(named.find((m) => m.term === 'Debian')).toMatchObject({ depends: [`${INFRA}os_tpl`] });
    expect(mixins.filter((m) => m.scheme === OS).map((m) => m.term)).toEqual(expect.arrayContaining(['c0ffee00-0000-4000-8000-00000000000b', 'c0ffee00-0000-4000-8000-00000000000c']));

    // A compute named by them is created from that image and flavor.
    const outcome = await h.backend.create(computeEntity([`${INFRA}Debian`, `${INFRA}C2R2048D20`], { title: 'by-name' }), h.ctx());
    const [post] = await h.requests({ method: 'POST', pathRegex: '^/compute/v2\\.0/servers$' });
    expect(outcome.id).toBeDefined();
    expect(post!.body).toMatchObject({ server: { imageRef: 'c0ffee00-0000-4000-8000-00000000000a', flavorRef: 2 } });
    // An ambiguous name is refused as a missing os_tpl, before anything is created.
    await expect(h.backend.create(computeEntity([`${INFRA}Twin`, `${INFRA}C2R2048D20`]), h.ctx())).rejects.toMatchObject({ code: 'validation', message: matching(/exactly one os_tpl/) });
  });
});
