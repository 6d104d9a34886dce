/**
 * @module Token handling shared by Astakos and Cyclades: where a request carries its token and how
 * Astakos judges it (`astakos/api/util.py:validate_user`).
 */

import type { IncomingHttpHeaders } from 'node:http';
import { faultBody } from './faults.ts';
import type { SeedUser } from './seed.ts';
import type { SimState } from './state.ts';

/** The authenticated caller of a request. */
export interface AuthUser {
  uuid: string;
  name: string;
  token: string;
  /** The system project (the user's uuid) first, then accepted memberships. */
  projects: string[];
}

/** Astakos' verdict on a token: a user, or the 401 it answers with. */
export type TokenVerdict = { ok: true; user: AuthUser; record: SeedUser } | { ok: false; status: number; body: Record<string, unknown> };

/** The token of a request: `X-Auth-Token` header, else the `X-Auth-Token` query parameter. */
export function tokenFrom(headers: IncomingHttpHeaders, query: URLSearchParams): string | null {
  const header = headers['x-auth-token'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && value !== '') return value;
  const fromQuery = query.get('X-Auth-Token');
  return fromQuery !== null && fromQuery !== '' ? fromQuery : null;
}

/** Validates a user token against the seeded users and the simulator clock. */
export function validateToken(state: SimState, token: string): TokenVerdict {
  const record = state.db.users.find((user) => user.token === token);
  const reject = (message: string): TokenVerdict => ({ ok: false, status: 401, body: faultBody('unauthorized', 401, message) });
  if (record === undefined) return reject('Invalid token');
  if (!record.active) return reject('User inactive');
  if (Date.parse(record.tokenExpires) <= state.now()) return reject('Authentication expired');
  return {
    ok: true,
    record,
    user: { uuid: record.uuid, name: record.name, token, projects: [record.uuid, ...record.projects.filter((id) => id !== record.uuid)] },
  };
}
