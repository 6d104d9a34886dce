/**
 * @module Quota commissions against per-project limits, resolved at once (Astakos'
 * issue-and-accept), and the `/account/v1.0/quotas` view. A commission that would exceed a
 * limit fails with the 413 Astakos renders (`astakosclient/utils.py:render_overlimit_exception`).
 */

import type { AuthUser } from './auth.ts';
import { overLimit } from './faults.ts';
import { QUOTA_RESOURCES, type QuotaResource, type SeedFlavor } from './seed.ts';
import type { SimState } from './state.ts';

/** Signed quota changes: positive charges, negative releases. */
export type QuotaDelta = Partial<Record<QuotaResource, number>>;

/** Names Astakos shows in the over-limit message. */
const DISPLAY_NAMES: Readonly<Record<QuotaResource, string>> = {
  'cyclades.vm': 'Virtual Machine',
  'cyclades.total_cpu': 'CPU',
  'cyclades.cpu': 'CPU',
  'cyclades.total_ram': 'RAM',
  'cyclades.ram': 'RAM',
  'cyclades.disk': 'Disk',
  'cyclades.floating_ip': 'Floating IP address',
  'cyclades.network.private': 'Private Network',
};

/** MiB to bytes, as quotas count RAM. */
export const MIB = 1024 ** 2;
/** GiB to bytes, as quotas count disk. */
export const GIB = 1024 ** 3;

/** Options of {@link commission}. */
export interface CommissionOptions {
  /** Skip limit checks; used to undo a release when a job fails. */
  force?: boolean;
  /** The requesting user: Astakos holds nothing for a non-member, so every limit is 0 for them. */
  user?: AuthUser;
}

/**
 * Applies `delta` to `project`. Unless forced, any positive change that would exceed the limit
 * throws 413 and nothing is applied.
 */
export function commission(state: SimState, project: string, delta: QuotaDelta, options: CommissionOptions = {}): void {
  const usage = (state.db.usage[project] ??= {});
  const member = options.user === undefined || options.user.projects.includes(project);
  const limits = member ? (state.db.quotas[project] ?? {}) : {};
  if (options.force !== true) {
    for (const resource of QUOTA_RESOURCES) {
      const change = delta[resource] ?? 0;
      if (change <= 0) continue;
      const used = usage[resource] ?? 0;
      const limit = limits[resource] ?? 0;
      if (used + change > limit) {
        throw overLimit(
          'Resource Limit Exceeded for your account.',
          `Limit for resource '${DISPLAY_NAMES[resource]}' exceeded for your account. Available: ${Math.max(0, limit - used)}, Requested: ${change}`,
        );
      }
    }
  }
  for (const resource of QUOTA_RESOURCES) {
    const change = delta[resource];
    if (change === undefined || change === 0) continue;
    usage[resource] = Math.max(0, (usage[resource] ?? 0) + change);
  }
}

/** Negates every entry of a delta. */
export function negate(delta: QuotaDelta): QuotaDelta {
  const result: QuotaDelta = {};
  for (const resource of QUOTA_RESOURCES) {
    const change = delta[resource];
    if (change !== undefined) result[resource] = -change;
  }
  return result;
}

/** What a VM of `flavor` holds besides its disks: `cpu`/`ram` only while it runs. */
export function vmCharges(flavor: SeedFlavor, running: boolean, countVm = true): QuotaDelta {
  const delta: QuotaDelta = {
    'cyclades.total_cpu': flavor.vcpus,
    'cyclades.total_ram': flavor.ram * MIB,
  };
  if (countVm) delta['cyclades.vm'] = 1;
  if (running) {
    delta['cyclades.cpu'] = flavor.vcpus;
    delta['cyclades.ram'] = flavor.ram * MIB;
  }
  return delta;
}

/** The running-VM share of a flavor (`cyclades.cpu`, `cyclades.ram`). */
export function runningCharges(flavor: SeedFlavor): QuotaDelta {
  return { 'cyclades.cpu': flavor.vcpus, 'cyclades.ram': flavor.ram * MIB };
}

/** `GET /account/v1.0/quotas` for a user: every project of the user, every resource. */
export function quotasView(state: SimState, user: AuthUser): Record<string, Record<string, Record<string, number>>> {
  const view: Record<string, Record<string, Record<string, number>>> = {};
  for (const project of user.projects) {
    const usage = state.db.usage[project] ?? {};
    const limits = state.db.quotas[project] ?? {};
    const entry: Record<string, Record<string, number>> = {};
    for (const resource of QUOTA_RESOURCES) {
      const used = usage[resource] ?? 0;
      const limit = limits[resource] ?? 0;
      entry[resource] = { usage: used, limit, pending: 0, project_usage: used, project_limit: limit, project_pending: 0 };
    }
    view[project] = entry;
  }
  return view;
}
