/**
 * @module Who is asking: a principal with a tenant and a role. Operators manage kinds, actions and
 * providers and see every tenant; users manage their own entities and mixins (tags).
 */

/** An authenticated caller. */
export interface Principal {
  /** The user's name or id, for logs (never a secret). */
  id: string;
  /** The tenant (project) whose entities and tags the caller owns; undefined for the anonymous operator. */
  tenant?: string;
  operator: boolean;
}

/** Everyone, when authentication is off (mode `none`, for local development). */
export const ANONYMOUS_OPERATOR: Principal = { id: 'anonymous', operator: true };

/** True when `principal` may see something owned by `owner` (undefined owner: shared, operator-made). */
export function canSee(principal: Principal, owner: string | undefined): boolean {
  return principal.operator || owner === undefined || owner === principal.tenant;
}

/** True when `principal` may change something owned by `owner`. */
export function canChange(principal: Principal, owner: string | undefined): boolean {
  return principal.operator || (owner !== undefined && owner === principal.tenant);
}
