/**
 * @module The Astakos subset: `POST /identity/v2.0/tokens` (public catalog, token validation),
 * `GET /identity/v2.0/tokens/<id>` (OAuth2-only, so 404 for user tokens) and
 * `GET /account/v1.0/quotas` (`astakos/api/tokens.py`, `docs/quota-api-guide.rst`).
 */

import { validateToken } from './auth.ts';
import { badRequest, itemNotFound, unauthorized } from './faults.ts';
import { authed, isRecord, ok, open, type Route, type SimRequest, type SimResponse } from './http.ts';
import { quotasView } from './quotas.ts';
import type { SimState } from './state.ts';

/** One service of the catalog. */
interface CatalogService {
  name: string;
  type: string;
  path: string;
  version: string;
}

const SERVICES: readonly CatalogService[] = [
  { name: 'astakos_identity', type: 'identity', path: '/identity/v2.0', version: 'v2.0' },
  { name: 'astakos_account', type: 'account', path: '/account/v1.0', version: 'v1.0' },
  { name: 'cyclades_compute', type: 'compute', path: '/compute/v2.0', version: 'v2.0' },
  { name: 'cyclades_network', type: 'network', path: '/network/v2.0', version: 'v2.0' },
  { name: 'cyclades_volume', type: 'volume', path: '/volume/v2.0', version: 'v2.0' },
];

/** The Astakos service catalog, with URLs under the simulator's base URL. */
export function serviceCatalog(state: SimState): unknown[] {
  return SERVICES.map((service) => ({
    name: service.name,
    type: service.type,
    endpoints: [
      {
        versionId: service.version,
        publicURL: `${state.baseUrl}${service.path}`,
        'SNF:uiURL': `${state.baseUrl}/ui`,
        region: 'default',
      },
    ],
    endpoints_links: [],
  }));
}

/** Identity and account routes. */
export function identityRoutes(): Route[] {
  return [
    open('POST', '/identity/v2\\.0/tokens', authenticate),
    open('GET', '/identity/v2\\.0/tokens/([^/]+)', () => {
      throw itemNotFound('Token not found');
    }),
    authed('GET', '/account/v1\\.0/quotas', (req, state) => ok(200, quotasView(state, req.user)), { auth: 'astakos' }),
  ];
}

function authenticate(req: SimRequest, state: SimState): SimResponse {
  if (req.rawBody.trim() === '') return ok(200, { access: { serviceCatalog: serviceCatalog(state) } });
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody) as unknown;
  } catch {
    throw badRequest('Could not decode request body as JSON');
  }
  const auth = isRecord(body) ? body['auth'] : undefined;
  if (!isRecord(auth)) throw badRequest('Malformed request: missing credentials');
  const tokenSection = auth['token'];
  const password = auth['passwordCredentials'];
  let token: unknown;
  let claimedUuid: unknown;
  if (isRecord(tokenSection) && 'id' in tokenSection) {
    token = tokenSection['id'];
  } else if (isRecord(password) && 'password' in password && 'username' in password) {
    token = password['password'];
    claimedUuid = password['username'];
  } else {
    throw badRequest('Malformed request: missing credentials');
  }
  if (typeof token !== 'string' || token === '') throw badRequest('Malformed request: missing token');
  const verdict = validateToken(state, token);
  if (!verdict.ok) return { status: verdict.status, json: verdict.body };
  if (claimedUuid !== undefined && claimedUuid !== verdict.user.uuid) throw unauthorized('Invalid credentials');
  const tenant = auth['tenantName'];
  if (tenant !== undefined && tenant !== verdict.user.uuid) throw badRequest('Not conforming tenantName');
  const { user, record } = verdict;
  return ok(200, {
    access: {
      token: { id: token, expires: record.tokenExpires, tenant: { id: user.uuid, name: user.name } },
      user: {
        id: user.uuid,
        name: user.name,
        roles: [{ id: 1, name: 'default' }],
        roles_links: [],
        projects: user.projects,
      },
      serviceCatalog: serviceCatalog(state),
    },
  });
}
