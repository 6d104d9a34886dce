/**
 * @module Test knobs that make the simulator misbehave on purpose: injected HTTP faults
 * (`/_sim/fault`), jobs that end in error (`/_sim/fail-next`) and response latency
 * (`/_sim/latency`).
 */

/** An injected response for requests matching `method` and `pathRegex`. */
export interface FaultRule {
  id: number;
  /** Upper-case method, or null for any. */
  method: string | null;
  pathRegex: string;
  status: number;
  /** A JSON value, or a string sent verbatim (a non-JSON body such as a proxy's HTML page). */
  body: unknown;
  contentType: string;
  headers: Record<string, string>;
  /** Matches left; `Infinity` for a permanent rule. */
  remaining: number;
  /**
   * The request is carried out first and only its answer is lost: replaced by this rule's
   * response (create-then-fail), or held back `hangMs` before the real answer goes out
   * (create-then-hang, the client having timed out by then).
   */
  after: boolean;
  /** With `after`: how long the real answer is held back (ms); 0 = replaced by this rule's response. */
  hangMs: number;
}

/** A request for the next matching job(s) to end in error. */
export interface FailNextRule {
  op: string;
  /** Restrict to one object, e.g. `server:1001`; null matches any. */
  scope: string | null;
  remaining: number;
}

/** Added latency, optionally restricted to some paths. */
export interface LatencyRule {
  ms: number;
  pathRegex: string | null;
}

/** Data-only description of the knobs, for `/_sim/state`. */
export interface InjectionInfo {
  faults: Array<Omit<FaultRule, 'remaining'> & { remaining: number | 'unlimited' }>;
  failNext: FailNextRule[];
  latency: LatencyRule;
}

/** Holds and applies the fault, failure and latency knobs. */
export class Injection {
  private faults: FaultRule[] = [];
  private failNext: FailNextRule[] = [];
  private latency: LatencyRule = { ms: 0, pathRegex: null };
  private seq = 0;

  /** Adds a fault rule; returns it. */
  addFault(rule: Omit<FaultRule, 'id'>): FaultRule {
    this.seq += 1;
    const stored = { ...rule, id: this.seq };
    this.faults.push(stored);
    return stored;
  }

  /** Removes every fault rule. */
  clearFaults(): void {
    this.faults = [];
  }

  /** Consumes and returns the first fault rule matching the request, if any. */
  takeFault(method: string, path: string): FaultRule | null {
    for (const rule of this.faults) {
      if (rule.method !== null && rule.method !== method) continue;
      if (!new RegExp(rule.pathRegex).test(path)) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.faults = this.faults.filter((other) => other !== rule);
      return rule;
    }
    return null;
  }

  /** Queues a job failure. */
  addFailNext(rule: FailNextRule): void {
    this.failNext.push({ ...rule });
  }

  /** Called as each job completes: true (and one use consumed) when a rule claims it. */
  consumeFailure(op: string, scope: string): boolean {
    const rule = this.failNext.find((candidate) => candidate.op === op && (candidate.scope === null || candidate.scope === scope));
    if (rule === undefined) return false;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.failNext = this.failNext.filter((other) => other !== rule);
    return true;
  }

  /** Sets the latency knob (0 disables it). */
  setLatency(rule: LatencyRule): void {
    this.latency = { ...rule };
  }

  /** The delay to apply before answering a request to `path`. */
  latencyFor(path: string): number {
    if (this.latency.ms <= 0) return 0;
    if (this.latency.pathRegex !== null && !new RegExp(this.latency.pathRegex).test(path)) return 0;
    return this.latency.ms;
  }

  /** Drops every knob. */
  reset(): void {
    this.faults = [];
    this.failNext = [];
    this.latency = { ms: 0, pathRegex: null };
  }

  /** Data-only view of the knobs. */
  info(): InjectionInfo {
    return {
      faults: this.faults.map((rule) => ({ ...rule, remaining: Number.isFinite(rule.remaining) ? rule.remaining : 'unlimited' })),
      failNext: this.failNext.map((rule) => ({ ...rule })),
      latency: { ...this.latency },
    };
  }
}
