/**
 * @module Waiting for Cyclades' jobs. Cyclades (Ganeti underneath) runs one job per server at a
 * time and refuses another while one is pending (400 `Cannot perform 'DETACH_VOLUME' action
 * while there is a pending 'DISCONNECT'.`), so before the bridge starts a job on a server
 * (connect, disconnect, attach, detach, an action, a delete) it waits until the server has none
 * pending, polling `GET /servers/<id>` every `jobPollMs`, for at most the backend's `timeoutMs`.
 * A server still building is not waited for: a build takes minutes, and Cyclades answers what
 * it allows during one (409 `buildInProgress`, or DELETE accepted).
 */
import { OcciError } from '../../errors.ts';
import { isError } from './errors.ts';
import { member, text, type JsonObject } from './json.ts';
import type { CycladesSession } from './session.ts';

/** Sleeps `ms` (timers are unref'd: a pending wait never keeps the process alive). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A server as Cyclades shows it now; undefined when it is gone (404 or DELETED). */
export async function readServer(id: string, session: CycladesSession): Promise<JsonObject | undefined> {
  try {
    const server = member(await session.get('compute', `/servers/${id}`), 'server', 'a server');
    return text(server, 'status') === 'DELETED' || server['deleted'] === true ? undefined : server;
  } catch (error) {
    if (isError(error, ['not-found'])) return undefined;
    throw error;
  }
}

/** The task a server has pending (`SNF:task_state`), or undefined. */
export function pendingTask(server: JsonObject): string | undefined {
  const task = text(server, 'SNF:task_state');
  return task === undefined || task === '' ? undefined : task;
}

/**
 * Polls `read` until `done` says so, for at most the backend's timeout.
 *
 * @throws OcciError `backend-timeout` naming `what` when the time is up
 */
export async function pollUntil<T>(session: CycladesSession, what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const { timeoutMs, jobPollMs } = session.services.options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() + jobPollMs > deadline) throw new OcciError('backend-timeout', `Cyclades: ${what} did not happen within ${timeoutMs} ms; try again later`);
    await sleep(jobPollMs);
  }
}

/**
 * Waits until the server has no job pending (or is gone, or is building; see the module
 * comment). Returns the server as last read, undefined when it is gone.
 */
export function serverIdle(id: string, session: CycladesSession): Promise<JsonObject | undefined> {
  return pollUntil(
    session,
    `the pending job of server ${id} to finish`,
    () => readServer(id, session),
    (server) => server === undefined || text(server, 'status') === 'BUILD' || pendingTask(server) === undefined,
  );
}

/** Waits until Cyclades no longer has the server (after a DELETE). */
export async function serverGone(id: string, session: CycladesSession): Promise<void> {
  await pollUntil(
    session,
    `the deletion of server ${id}`,
    () => readServer(id, session),
    (server) => server === undefined,
  );
}

/** The volumes attached to a server other than its root volume (device index 0), by id. */
export function extraVolumes(server: JsonObject): string[] {
  const ids = Array.isArray(server['volumes']) ? server['volumes'].map(String) : [];
  // Cyclades lists a server's volumes in device order; the first is the root volume.
  return ids.slice(1);
}

/** Volume states in which Cyclades refuses to delete or attach (a job is still on it). */
export const BUSY_VOLUME = new Set(['attaching', 'detaching', 'creating', 'deleting']);

/** Cyclades' refusal of a job while another is pending on the server. */
const PENDING_JOB = /while there is a pending/i;

/**
 * Runs `start` (a request that starts a job on the server) once the server is idle. Another
 * client may start a job in between: when Cyclades refuses because of it, the bridge waits again
 * and tries once more.
 */
export async function whenIdle<T>(serverId: string, session: CycladesSession, start: () => Promise<T>): Promise<T> {
  await serverIdle(serverId, session);
  try {
    return await start();
  } catch (error) {
    if (!isError(error, ['validation'], PENDING_JOB)) throw error;
    await serverIdle(serverId, session);
    return start();
  }
}
