/**
 * @module Resident set size of a process, sampled every 100 ms from `/proc/<pid>/status` (`VmRSS`):
 * what the kernel actually holds in memory for it, including native and V8 heaps and compiled code,
 * which `process.memoryUsage()` of another process cannot see.
 */
import { readFileSync } from 'node:fs';

/** Reads one process's VmRSS in bytes, or undefined once it has exited (or off Linux). */
export function readRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS until stopped and keeps the maximum. */
export class RssSampler {
  #max = 0;
  #samples = 0;
  readonly #timer: NodeJS.Timeout;

  /**
   * Starts sampling right away.
   *
   * @param read - returns the current RSS in bytes (undefined: no reading this time)
   */
  constructor(private readonly read: () => number | undefined) {
    this.#sample();
    // unref: a forgotten sampler must not keep the benchmark alive.
    this.#timer = setInterval(() => this.#sample(), 100).unref();
  }

  #sample(): void {
    const rss = this.read();
    if (rss === undefined) return;
    this.#samples += 1;
    if (rss > this.#max) this.#max = rss;
  }

  /** Takes a last sample and stops; returns the maximum seen in bytes and how many samples. */
  stop(): { maxBytes: number; samples: number } {
    this.#sample();
    clearInterval(this.#timer);
    return { maxBytes: this.#max, samples: this.#samples };
  }
}

/**
 * Entities held by ocni's read cache, from its `/metrics` (`ocni_cache_entries{cache="read"}`;
 * the benchmark's ocni runs without authentication, and metrics answer over loopback). 0 when the
 * cache is off.
 */
export async function cachedEntities(ocniUrl: string): Promise<number> {
  const text = await (await fetch(`${ocniUrl}/metrics`)).text();
  const line = /^ocni_cache_entries\{cache="read"\} (\d+)/m.exec(text);
  return line ? Number(line[1]) : 0;
}
