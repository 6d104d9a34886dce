/**
 * Measures how long the event loop stops while a hostile request is handled. The server under test
 * runs in this process, so a synchronous stall in it delays this loop too: `monitorEventLoopDelay`
 * sees it, and so does a second client whose requests wait behind it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { call } from './harness.ts';

/** What a second client saw while the hostile request ran. */
export interface StallReport {
  /** Longest event-loop delay observed, in milliseconds. */
  maxDelayMs: number;
  /** Slowest answer the second client got, in milliseconds. */
  slowestProbeMs: number;
  /** How many probe requests the second client completed. */
  probes: number;
  /** The bound for this run, from {@link stallBoundMs} measured just before the request. */
  boundMs: number;
}

/** The smallest bound: the stalls fixed took tens of seconds; a loaded machine running test files in parallel stays below it (2.6 s seen at load 15). */
export const STALL_FLOOR_MS = 5000;

/**
 * How long this machine takes, right now, for one linear pass over a megabyte: parsing and
 * writing back a JSON array of small objects. On a shared, busy machine everything is slower, the
 * reference too, so the bound below follows the load instead of failing on it.
 */
function referenceMs(): number {
  const text = `[${Array.from({ length: 60_000 }, (_, i) => `{"target":${i}}`).join(',')}]`;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    JSON.stringify(JSON.parse(text));
    runs.push(performance.now() - started);
  }
  return runs.sort((a, b) => a - b)[1]!;
}

/**
 * The longest acceptable stall now: the floor, or 40 linear passes over a megabyte when the
 * machine is slower than that. Work quadratic in a megabyte body is thousands of passes.
 */
export function stallBoundMs(): number {
  return Math.max(STALL_FLOOR_MS, 40 * referenceMs());
}

/**
 * Runs `hostile` while a second client keeps asking `probePath` (one request at a time, at most
 * 200) and the event-loop delay is recorded.
 */
export async function whileProbing<T>(base: string, probePath: string, hostile: () => Promise<T>): Promise<{ result: T; report: StallReport }> {
  const boundMs = stallBoundMs();
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let done = false;
  let slowest = 0;
  let probes = 0;
  const prober = (async () => {
    while (!done && probes < 200) {
      const started = performance.now();
      await call(base, 'GET', probePath);
      slowest = Math.max(slowest, performance.now() - started);
      probes++;
    }
  })();
  let result: T;
  try {
    result = await hostile();
  } finally {
    done = true;
    await prober;
    histogram.disable();
  }
  return { result, report: { maxDelayMs: histogram.max / 1e6, slowestProbeMs: slowest, probes, boundMs } };
}
