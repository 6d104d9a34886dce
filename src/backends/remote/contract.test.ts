import { call, dropDatabases, freshPrefix, startTestServer } from '../../../test/support/harness.ts';
import { runBackendContract } from '../backend.case.test.ts';
import { INFRA_SCHEME } from '../../model/category.ts';
import { createRemoteBackend } from './remote-backend.ts';

const COMPUTE_KIND = `${INFRA_SCHEME}compute`;

let n = 0;
runBackendContract({
  name: 'remote',
  create: async () => {
    // The other end is a second ocni on the store backend.
    const prefix = freshPrefix('contract');
    const peer = await startTestServer({ prefix });
    const up = await call(peer.url, 'GET', '/-/');
    if (up.status !== 200) throw new Error(`peer not ready: ${up.status}`);
    return {
      backend: createRemoteBackend({ name: 'peer', type: 'remote', url: peer.url, timeoutMs: 5000 }, { warn: () => undefined }),
      ctx: { credentials: {}, requestId: 'contract', baseUrl: 'http://ocni.test' },
      compute: () => ({ location: `/compute/contract-${(n += 1)}`, kind: COMPUTE_KIND, mixins: [], attributes: { 'occi.compute.state': 'inactive' } }),
      action: { id: 'http://schemas.ogf.org/occi/infrastructure/compute/action#start', state: 'active' },
      settle: async () => undefined,
      teardown: async () => {
        await peer.close();
        await dropDatabases(prefix);
      },
    };
  },
});
