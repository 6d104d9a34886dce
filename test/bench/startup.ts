/**
 * @module Timing one start of the stack, from stopped to the first 200 of a listing: the store's
 * process (when embedded), then ocni answering, then the listing, with the CPU time each process
 * used meanwhile. Starting is loading code (ocni's modules through the TypeScript loader, PouchDB's),
 * so its wall time follows the machine's load far more than the store's size; the CPU time does not,
 * and tells the two apart.
 */
import { loadavg } from 'node:os';
import { cpuTicks } from './procs.ts';
import { num } from './report.ts';

/** One start, in ms (and CPU seconds). */
export interface StartTimes {
  totalMs: number;
  /** The embedded store's process to listening; 0 for an external store. */
  storeMs: number;
  /** ocni's process to answering `GET /-/`. */
  ocniMs: number;
  /** Then the first listing. */
  listingMs: number;
  ocniCpuS: number;
  /** The store's CPU seconds from its start to the end of the listing; undefined for an external store. */
  storeCpuS: number | undefined;
  /** The machine's load average (1 min) when it ended. */
  load: number;
}

/**
 * Starts the store (if `startStore` is given) and then ocni, and makes the first listing.
 *
 * @param startStore - starts the embedded store; resolves to its process id
 * @param startOcni - starts ocni; resolves to its process id
 * @param listing - the first listing, resolved once answered 200
 */
export async function timeStart(startStore: (() => Promise<number | undefined>) | undefined, startOcni: () => Promise<number>, listing: () => Promise<unknown>): Promise<StartTimes> {
  const t = performance.now();
  const storePid = startStore ? await startStore() : undefined;
  const storeMs = startStore ? performance.now() - t : 0;
  const ocniPid = await startOcni();
  const ocniMs = performance.now() - t - storeMs;
  const listed = performance.now();
  await listing();
  const end = performance.now();
  const cpu = (pid: number | undefined) => (pid === undefined ? undefined : (cpuTicks(pid) ?? 0) / 100);
  return { totalMs: end - t, storeMs, ocniMs, listingMs: end - listed, ocniCpuS: cpu(ocniPid) ?? 0, storeCpuS: cpu(storePid), load: loadavg()[0]! };
}

/** The start with the median total, and every total, in words. */
export function describeStarts(starts: StartTimes[]): { median: StartTimes; text: string } {
  const sorted = [...starts].sort((x, y) => x.totalMs - y.totalMs);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const parts = [
    ...(median.storeCpuS !== undefined ? [`store ${num(median.storeMs)} ms (CPU ${num(median.storeCpuS, 2)} s)`] : []),
    `ocni answering \`/-/\` ${num(median.ocniMs)} ms (CPU ${num(median.ocniCpuS, 2)} s)`,
    `the listing ${num(median.listingMs)} ms`,
  ];
  const all = starts.map((s) => `${num(s.totalMs)} ms at load ${num(s.load, 1)}`).join(', ');
  return { median, text: `median of ${starts.length} starts ${num(median.totalMs)} ms: ${parts.join(', then ')} (every start: ${all})` };
}
