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
}

/** A stall of seconds fails; scheduling noise on a shared, busy machine does not. */
export const STALL_BOUND_MS = 2500;

/**
 * Runs `hostile` while a second client keeps asking `probePath` (one request at a time, at most
 * 200) and the event-loop delay is recorded.
 */
export async function whileProbing<T>(base: string, probePath: string, hostile: () => Promise<T>): Promise<{ result: T; report: StallReport }> {
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
  return { result, report: { maxDelayMs: histogram.max / 1e6, slowestProbeMs: slowest, probes } };
}
