/**
 * @module The benchmark's view of processes (Linux `/proc`): its children, their command lines and
 * CPU time. Used to find the embedded store's process, to wait until ocni and the store have
 * finished the work a load run left behind before the next measurement starts, and to check that
 * nothing is left running at the end.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process's command line, or `gone`. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return 'gone';
  }
}

/** Pids of this process's live children (empty off Linux). */
export function childPids(): number[] {
  try {
    return readdirSync(`/proc/${process.pid}/task`).flatMap((tid) => readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** User plus system CPU time of a process in clock ticks, or undefined when it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Clock ticks per second: 100 on every Linux the benchmark runs on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/**
 * Waits until every process in `pids` has used under 10% of a core for half a second: a load run
 * that ended with requests still in flight leaves ocni and the store working on them, and the next
 * measurement must not pay for that.
 *
 * @returns the milliseconds waited; at most `maxMs` (then it gives up and lets the caller go on)
 */
export async function waitIdle(pids: number[], maxMs = 60_000): Promise<number> {
  const start = performance.now();
  const windowMs = 500;
  for (;;) {
    const before = pids.map(cpuTicks);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = pids.map(cpuTicks);
    const busy = after.some((ticks, i) => ticks !== undefined && before[i] !== undefined && ticks - before[i] > (0.1 * TICKS_PER_SECOND * windowMs) / 1000);
    const waited = performance.now() - start;
    if (!busy || waited >= maxMs) return waited;
  }
}
