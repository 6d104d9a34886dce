import { runBackendContract } from '../backend.case.test.ts';
import { INFRA_SCHEME } from '../../model/category.ts';
import { createStoreBackend } from './store-backend.ts';

const COMPUTE_KIND = `${INFRA_SCHEME}compute`;

let n = 0;
runBackendContract({
  name: 'store',
  create: () =>
    Promise.resolve({
      backend: createStoreBackend('local'),
      ctx: { credentials: {}, requestId: 'contract', baseUrl: 'http://ocni.test' },
      compute: () => ({ location: `/compute/contract-${(n += 1)}`, kind: COMPUTE_KIND, mixins: [], attributes: { 'occi.compute.state': 'inactive' } }),
      action: { id: 'http://schemas.ogf.org/occi/infrastructure/compute/action#start', state: 'active' },
      settle: () => Promise.resolve(),
      teardown: () => Promise.resolve(),
    }),
  // The store backend keeps nothing of its own: the entity store is the truth about what exists.
  skip: { gone: true },
});
