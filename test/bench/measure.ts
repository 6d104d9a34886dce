/**
 * @module Measuring helpers: throughput with autocannon, latency of sequential requests, and small
 * statistics. Every helper refuses results that contain errors, so a misconfigured run (404s, 413s)
 * fails loudly instead of reporting the speed of error responses.
 */
import autocannon from 'autocannon';

/** Throughput of one autocannon run. */
export interface Throughput {
  /** Successful (2xx) responses per second over the whole run. */
  rps: number;
  requests: number;
  latencyMeanMs: number;
  latencyP99Ms: number;
}

/** A URL without credentials, and the Authorization header they stand for (autocannon takes no userinfo). */
export function splitCredentials(url: string): { base: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  const headers: Record<string, string> = {};
  if (parsed.username) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  }
  parsed.username = '';
  parsed.password = '';
  return { base: parsed.toString().replace(/\/+$/, ''), headers };
}

/**
 * Runs autocannon: `connections` keep-alive connections, each cycling through `paths` with GET,
 * for `seconds`.
 *
 * @throws Error when any response was not 2xx or any connection failed
 */
export async function throughput(options: { base: string; paths: string[]; headers: Record<string, string>; connections: number; seconds: number }): Promise<Throughput> {
  const result = await autocannon({
    url: options.base,
    connections: options.connections,
    duration: options.seconds,
    // autocannon's default 10 s would abandon (and count as errors) answers that a slow server
    // still gives; the run's duration bounds the wait anyway.
    timeout: 120,
    headers: options.headers,
    requests: options.paths.map((path) => ({ method: 'GET', path })),
  });
  // Requests still pending when the run ends count as nothing (neither answers nor errors): a
  // caller that sees zero answers must say so rather than report 0 req/s as a rate.
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`autocannon against ${options.base}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  // 2xx over the measured duration, not requests.average: that averages whole seconds only.
  const ok = result['2xx'];
  return { rps: ok / result.duration, requests: ok, latencyMeanMs: result.latency.mean, latencyP99Ms: result.latency.p99 };
}

/** Milliseconds one call of `fn` takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Mean, median and 99th percentile of latencies in ms. */
export interface LatencyStats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

/** The value below which `p` (0–1) of the sorted values lie (nearest rank). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Statistics of a list of latencies in ms. */
export function latencyStats(values: number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Sends a request with fetch and checks its status; the body is read fully so the timing covers the
 * whole response.
 *
 * @returns the parsed JSON body
 * @throws Error when the status is not `expect`
 */
export async function fetchJson(url: string, init: RequestInit & { expect: number }): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}, expected ${init.expect}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}
