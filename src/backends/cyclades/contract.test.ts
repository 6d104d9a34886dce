import { DEBIAN_IMAGE_ID } from '../../../test/cyclades-sim/simulator.ts';
import { runBackendContract } from '../backend.case.test.ts';
import { computeEntity, osTpl, resourceTpl, startHarness } from './test-harness.ts';

let n = 0;
runBackendContract({
  name: 'cyclades',
  create: async () => {
    // Servers without networks: the contract is about the backend, not the deployment's defaults.
    const h = await startHarness({}, { seed: { defaultServerNetworks: [] } });
    return {
      backend: h.backend,
      ctx: h.ctx(),
      compute: () => computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)], { location: `/compute/contract-${(n += 1)}`, title: 'contract' }),
      action: { id: 'http://schemas.ogf.org/occi/infrastructure/compute/action#stop', state: 'inactive' },
      settle: async () => {
        h.sim.settle();
      },
      teardown: () => h.close(),
    };
  },
});
