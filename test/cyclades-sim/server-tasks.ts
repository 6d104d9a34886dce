/**
 * @module The server state machine (§1.5, §1.6, §4.5 of `cyclades-api.md`): which actions a
 * server accepts (`logic/commands.py:validate_server_action`), how status and task state are shown
 * (`logic/utils.py:get_rsapi_state`), and the delayed jobs that move a server, its ports and its
 * volumes to their next state, with quota roll-back when a job fails.
 */

import { buildInProgress, badRequest } from './faults.ts';
import type { ServerRecord, ServerTask, VolumeRecord } from './model.ts';
import { deletePortNow } from './nics.ts';
import { commission, negate, runningCharges, vmCharges, GIB, type QuotaDelta } from './quotas.ts';
import type { SeedFlavor, SimTimings } from './seed.ts';
import type { SimState } from './state.ts';

/** `SNF:task_state` for each pending task. */
export const TASK_STATES: Readonly<Record<ServerTask, string>> = {
  BUILD: 'BUILDING',
  START: 'STARTING',
  STOP: 'STOPPING',
  REBOOT: 'REBOOTING',
  RESIZE: 'RESIZING',
  DESTROY: 'DESTROYING',
  CONNECT: 'CONNECTING',
  DISCONNECT: 'DISCONNECTING',
  ATTACH_VOLUME: 'ATTACHING_VOLUME',
  DETACH_VOLUME: 'DETACHING_VOLUME',
};

/** Which timing drives each task. */
const TASK_TIMINGS: Readonly<Record<ServerTask, keyof SimTimings>> = {
  BUILD: 'build',
  START: 'start',
  STOP: 'stop',
  REBOOT: 'reboot',
  RESIZE: 'resize',
  DESTROY: 'destroy',
  CONNECT: 'connect',
  DISCONNECT: 'disconnect',
  ATTACH_VOLUME: 'volumeAttach',
  DETACH_VOLUME: 'volumeDetach',
};

/** Every job op the simulator runs (what `/_sim/fail-next` accepts). */
export const JOB_OPS: readonly string[] = [...Object.keys(TASK_STATES), 'DELETE_VOLUME'];

/** The API `status` of a server. */
export function rsapiStatus(server: ServerRecord): string {
  if (server.deleted) return 'DELETED';
  switch (server.operstate) {
    case 'BUILD':
      return 'BUILD';
    case 'STARTED':
      return server.task === 'REBOOT' ? 'REBOOT' : 'ACTIVE';
    case 'STOPPED':
      return server.task === 'RESIZE' ? 'RESIZE' : 'STOPPED';
    case 'ERROR':
      return 'ERROR';
    case 'DESTROYED':
      return 'DELETED';
  }
}

/**
 * Build progress, 0–100: linear over the build time while building; afterwards it stays where the
 * build left it (`buildpercentage`), i.e. 100, or 0 for a failed build.
 */
export function serverProgress(state: SimState, server: ServerRecord): number {
  if (server.operstate === 'ERROR') return 0;
  if (server.operstate !== 'BUILD') return 100;
  if (server.task !== 'BUILD' || server.taskStartedAt === null || server.taskDuration <= 0) return 0;
  const fraction = (state.now() - server.taskStartedAt) / server.taskDuration;
  return Math.max(0, Math.min(99, Math.floor(fraction * 100)));
}

/** Rejects an action the server cannot take now, with Cyclades' exact messages. */
export function validateServerAction(state: SimState, server: ServerRecord, action: string): void {
  if (server.deleted) throw badRequest(`Server '${server.id}' has been deleted.`);
  if (action === 'DESTROY') return;
  if (server.task !== null) {
    if (server.task === 'BUILD') throw buildInProgress(`Server '${server.id}' is being built.`);
    throw badRequest(`Cannot perform '${action}' action while there is a pending '${server.task}'.`);
  }
  if (action === 'REASSIGN') return;
  const operstate = server.operstate;
  if (operstate === 'ERROR') throw badRequest(`Cannot perform '${action}' action while server is in 'ERROR' state.`);
  if (operstate === 'BUILD' && action !== 'BUILD') throw buildInProgress(`Server '${server.id}' is being built.`);
  const needsStopped = ['CONNECT', 'DISCONNECT', 'ATTACH_VOLUME', 'DETACH_VOLUME'].includes(action) && !state.db.config.hotplug;
  if (
    (action === 'START' && operstate !== 'STOPPED') ||
    (action === 'STOP' && operstate !== 'STARTED') ||
    (action === 'RESIZE' && operstate !== 'STOPPED') ||
    (needsStopped && operstate !== 'STOPPED')
  ) {
    throw badRequest(`Cannot perform '${action}' action while server is in '${operstate}' state.`);
  }
}

/**
 * Marks `task` pending on the server and queues its job. `complete` runs when the job ends, with the
 * server as it is then (records are looked up afresh because a rolled-back request replaces them).
 */
export function startTask(state: SimState, server: ServerRecord, task: ServerTask, complete: (server: ServerRecord, failed: boolean) => void, waitMs = 0): void {
  const serverId = server.id;
  const duration = state.timings[TASK_TIMINGS[task]];
  const now = state.now();
  server.task = task;
  server.taskStartedAt = now + waitMs;
  server.taskDuration = duration;
  server.updated = now;
  const jobId = state.jobs.schedule(task, `server:${serverId}`, waitMs + duration, (failed) => {
    const current = state.db.servers[String(serverId)];
    if (current === undefined) return;
    if (current.taskJobId !== jobId) {
      // Superseded by a DESTROY queued behind it: Ganeti still runs the job, and what it does to
      // the server's NICs and volumes happens; what it would do to the server itself is moot.
      if (SURVIVES_DESTROY.has(task)) complete(current, failed);
      return;
    }
    current.task = null;
    current.taskJobId = null;
    current.taskStartedAt = null;
    current.updated = state.now();
    complete(current, failed);
  });
  server.taskJobId = jobId;
}

/** Jobs whose effect outlives a DESTROY queued behind them (NICs and volumes change state). */
const SURVIVES_DESTROY: ReadonlySet<ServerTask> = new Set(['BUILD', 'CONNECT', 'DISCONNECT', 'ATTACH_VOLUME', 'DETACH_VOLUME']);

/** Completion of BUILD: ACTIVE with ports and volumes in use, or ERROR with them in error. */
export function completeBuild(state: SimState, server: ServerRecord, failed: boolean): void {
  const now = state.now();
  server.operstate = failed ? 'ERROR' : 'STARTED';
  for (const port of Object.values(state.db.ports)) {
    if (port.machineId !== server.id) continue;
    port.status = failed ? 'ERROR' : 'ACTIVE';
    port.updated = now;
  }
  for (const volume of volumesOf(state, server.id)) {
    volume.status = failed ? 'ERROR' : 'IN_USE';
    volume.updated = now;
  }
}

/** Queues START: charges the running-VM quota now, releases it again if the job fails. */
export function startServer(state: SimState, server: ServerRecord): void {
  const flavor = flavorOf(state, server);
  commission(state, server.project, runningCharges(flavor));
  server.cpuCharged = true;
  startTask(state, server, 'START', (current, failed) => {
    if (failed) {
      releaseRunning(state, current);
      return;
    }
    current.operstate = 'STARTED';
  });
}

/** Queues STOP: the running-VM quota is released now and re-charged if the job fails. */
export function stopServer(state: SimState, server: ServerRecord): void {
  releaseRunning(state, server);
  startTask(state, server, 'STOP', (current, failed) => {
    if (failed) {
      const flavor = flavorOf(state, current);
      commission(state, current.project, runningCharges(flavor), { force: true });
      current.cpuCharged = true;
      return;
    }
    current.operstate = 'STOPPED';
  });
}

/** Queues REBOOT; rebooting a STOPPED server starts it, so it is charged like START. */
export function rebootServer(state: SimState, server: ServerRecord): void {
  const wasStopped = server.operstate === 'STOPPED';
  if (wasStopped) {
    commission(state, server.project, runningCharges(flavorOf(state, server)));
    server.cpuCharged = true;
  }
  startTask(state, server, 'REBOOT', (current, failed) => {
    if (failed) {
      if (wasStopped) releaseRunning(state, current);
      return;
    }
    current.operstate = 'STARTED';
  });
}

/** Queues RESIZE (server STOPPED): charges the cpu/ram difference now, undone if the job fails. */
export function resizeServer(state: SimState, server: ServerRecord, flavorId: number): void {
  const delta = resizeDelta(state, server, flavorId);
  commission(state, server.project, delta);
  server.resizeTo = flavorId;
  startTask(state, server, 'RESIZE', (current, failed) => {
    current.resizeTo = null;
    if (failed) {
      commission(state, current.project, negate(delta), { force: true });
      return;
    }
    current.flavorId = flavorId;
  });
}

/**
 * Queues DESTROY (always allowed). A pending job is not cancelled: as in Synnefo
 * (`logic/servers.py:destroy` submits OP_INSTANCE_REMOVE to Ganeti, which runs the instance's jobs
 * one after the other), the pending job runs to its end and DESTROY runs after it; the server
 * shows the DESTROY task meanwhile, so every other action is refused. Everything the server
 * holds is released now and re-charged if the job fails; on success its ports go (floating IPs
 * stay with the user) and its volumes still attached are deleted.
 */
export function destroyServer(state: SimState, server: ServerRecord): void {
  const pendingDue = server.taskJobId === null ? undefined : state.jobs.dueAt(server.taskJobId);
  const waitMs = pendingDue === undefined ? 0 : Math.max(0, pendingDue - state.now());
  if (server.task === 'RESIZE' && server.resizeTo !== null) {
    commission(state, server.project, negate(resizeDelta(state, server, server.resizeTo)), { force: true });
  }
  server.resizeTo = null;
  server.taskJobId = null;
  const released = vmCharges(flavorOf(state, server), server.cpuCharged);
  const disk = volumesOf(state, server.id)
    .filter((volume) => volume.status !== 'DELETING')
    .reduce((sum, volume) => sum + volume.size * GIB, 0);
  released['cyclades.disk'] = disk;
  commission(state, server.project, negate(released));
  const wasCharged = server.cpuCharged;
  server.cpuCharged = false;
  startTask(
    state,
    server,
    'DESTROY',
    (current, failed) => {
      if (failed) {
        commission(state, current.project, released, { force: true });
        current.cpuCharged = wasCharged;
        return;
      }
      const now = state.now();
      current.operstate = 'DESTROYED';
      current.deleted = true;
      for (const port of Object.values(state.db.ports)) {
        if (port.machineId === current.id) deletePortNow(state, port);
      }
      for (const volume of volumesOf(state, current.id)) {
        volume.status = 'DELETED';
        volume.deleted = true;
        volume.updated = now;
      }
      delete state.db.passwords[String(current.id)];
    },
    waitMs,
  );
}

/** Queues CONNECT for a port already associated with the server: port ACTIVE, or ERROR on failure. */
export function connectPort(state: SimState, server: ServerRecord, portId: number): void {
  startTask(state, server, 'CONNECT', (_current, failed) => {
    const port = state.db.ports[String(portId)];
    if (port === undefined) return;
    port.status = failed ? 'ERROR' : 'ACTIVE';
    port.updated = state.now();
  });
}

/** Queues DISCONNECT: the port disappears when the job succeeds. */
export function disconnectPort(state: SimState, server: ServerRecord, portId: number): void {
  startTask(state, server, 'DISCONNECT', (_current, failed) => {
    const port = state.db.ports[String(portId)];
    if (port === undefined || failed) return;
    deletePortNow(state, port);
  });
}

/** Queues ATTACH_VOLUME: the volume goes `in_use`, or `error` on failure. */
export function attachVolumeJob(state: SimState, server: ServerRecord, volumeId: number): void {
  startTask(state, server, 'ATTACH_VOLUME', (_current, failed) => {
    const volume = state.db.volumes[String(volumeId)];
    if (volume === undefined) return;
    volume.status = failed ? 'ERROR' : 'IN_USE';
    volume.updated = state.now();
  });
}

/**
 * Queues DETACH_VOLUME: the volume becomes `available` (or `deleted` when `deleteAfter`). A failed
 * delete re-charges the disk quota released at request time.
 */
export function detachVolumeJob(state: SimState, server: ServerRecord, volumeId: number, deleteAfter: boolean): void {
  startTask(state, server, 'DETACH_VOLUME', (_current, failed) => {
    const volume = state.db.volumes[String(volumeId)];
    if (volume === undefined) return;
    volume.updated = state.now();
    if (failed) {
      volume.status = 'ERROR';
      if (deleteAfter) commission(state, volume.project, { 'cyclades.disk': volume.size * GIB }, { force: true });
      return;
    }
    volume.machineId = null;
    volume.index = null;
    if (deleteAfter) {
      volume.status = 'DELETED';
      volume.deleted = true;
    } else {
      volume.status = 'AVAILABLE';
    }
  });
}

function releaseRunning(state: SimState, server: ServerRecord): void {
  if (!server.cpuCharged) return;
  commission(state, server.project, negate(runningCharges(flavorOf(state, server))));
  server.cpuCharged = false;
}

function resizeDelta(state: SimState, server: ServerRecord, flavorId: number): QuotaDelta {
  const from = flavorOf(state, server);
  const to = state.db.flavors.find((flavor) => flavor.id === flavorId) ?? from;
  const delta: QuotaDelta = {
    'cyclades.total_cpu': to.vcpus - from.vcpus,
    'cyclades.total_ram': (to.ram - from.ram) * 1024 ** 2,
  };
  if (server.cpuCharged) {
    delta['cyclades.cpu'] = to.vcpus - from.vcpus;
    delta['cyclades.ram'] = (to.ram - from.ram) * 1024 ** 2;
  }
  return delta;
}

/** The flavor of a server (seeded flavors are never deleted). */
export function flavorOf(state: SimState, server: ServerRecord): SeedFlavor {
  const flavor = state.db.flavors.find((candidate) => candidate.id === server.flavorId);
  if (flavor === undefined) throw new Error(`flavor ${server.flavorId} of server ${server.id} vanished`);
  return flavor;
}

function volumesOf(state: SimState, serverId: number): VolumeRecord[] {
  return Object.values(state.db.volumes).filter((volume) => volume.machineId === serverId && !volume.deleted);
}
