import { describe, expect, it } from 'vitest';
import { createAuthenticator, DEFAULT_THROTTLE, type AuthConfig } from './authenticate.ts';
import { FailureThrottle } from './failure-throttle.ts';
import { costOf, hashSecret, verifySecret } from './secrets.ts';
import { WorkLimiter } from './work-limiter.ts';
import { TooManyRequestsError, UnauthorizedError } from '../errors.ts';

const alice = { name: 'alice', tenant: 'a', password: hashSecret('alice-pw', 2048) };
const config = (throttle = {}): AuthConfig => ({ mode: 'basic', realm: 'ocni', users: [alice], throttle: { ...DEFAULT_THROTTLE, ...throttle } });

/** A verify that records what it was asked to check, and checks for real. */
function countingVerify() {
  const checked: string[] = [];
  return {
    checked,
    verify: (secret: string, stored: string) => {
      checked.push(stored);
      return verifySecret(secret, stored);
    },
  };
}

describe('basic authentication', () => {
  it('checks passwords off the event loop (the check is a promise, not a blocking call)', async () => {
    const pending = verifySecret('alice-pw', alice.password);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBe(true);
    await expect(verifySecret('wrong', alice.password)).resolves.toBe(false);
  });

  it('spends one hash at the same cost for an unknown user as for a known one', async () => {
    const counting = countingVerify();
    const authenticate = createAuthenticator(config(), { verify: counting.verify });
    await expect(authenticate({ basic: { username: 'alice', password: 'nope' }, client: '10.0.0.1' })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(authenticate({ basic: { username: 'mallory', password: 'nope' }, client: '10.0.0.1' })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(counting.checked).toHaveLength(2);
    expect(counting.checked[0]).toBe(alice.password);
    // The decoy is not alice's hash, but costs what hers costs.
    expect(counting.checked[1]).not.toBe(alice.password);
    expect(costOf(counting.checked[1]!)).toBe(costOf(alice.password));
    // The answers are the same.
    const messages = await Promise.all(['alice', 'mallory'].map((username) => authenticate({ basic: { username, password: 'x' }, client: '10.0.0.2' }).catch((err: Error) => err.message)));
    expect(messages[0]).toBe(messages[1]);
  });

  it('throttles failures per user (429 with a retry time) without hashing, and lets the window pass', async () => {
    let clock = 1_000_000;
    const counting = countingVerify();
    const authenticate = createAuthenticator(config({ failuresPerUser: 3, failuresPerAddress: 100, windowMs: 60_000 }), { verify: counting.verify, now: () => clock });
    for (let i = 0; i < 3; i += 1) await expect(authenticate({ basic: { username: 'alice', password: `bad${i}` }, client: `10.0.0.${i}` })).rejects.toBeInstanceOf(UnauthorizedError);
    const throttled = await authenticate({ basic: { username: 'alice', password: 'alice-pw' }, client: '10.9.9.9' }).catch((err: unknown) => err);
    expect(throttled).toBeInstanceOf(TooManyRequestsError);
    expect((throttled as TooManyRequestsError).retryAfterSeconds).toBe(60);
    expect(counting.checked).toHaveLength(3);
    clock += 61_000;
    await expect(authenticate({ basic: { username: 'alice', password: 'alice-pw' }, client: '10.9.9.9' })).resolves.toMatchObject({ id: 'alice', tenant: 'a' });
  });

  it('throttles failures per client address, whatever names it tries', async () => {
    const counting = countingVerify();
    const authenticate = createAuthenticator(config({ failuresPerUser: 100, failuresPerAddress: 4 }), { verify: counting.verify });
    for (let i = 0; i < 4; i += 1) await expect(authenticate({ basic: { username: `user${i}`, password: 'x' }, client: '10.0.0.7' })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(authenticate({ basic: { username: 'alice', password: 'alice-pw' }, client: '10.0.0.7' })).rejects.toBeInstanceOf(TooManyRequestsError);
    expect(counting.checked).toHaveLength(4);
    // Another address is not affected.
    await expect(authenticate({ basic: { username: 'alice', password: 'alice-pw' }, client: '10.0.0.8' })).resolves.toMatchObject({ id: 'alice' });
  });
});

describe('FailureThrottle', () => {
  it('remembers at most maxTracked keys, the most recently failing ones', () => {
    const throttle = new FailureThrottle({ limit: 1, windowMs: 60_000, maxTracked: 100 });
    for (let i = 0; i < 10_000; i += 1) throttle.fail(`k${i}`);
    expect(throttle.size).toBe(100);
    expect(throttle.retryAfter('k9999')).toBeGreaterThan(0);
    expect(throttle.retryAfter('k0')).toBe(0);
  });
});

describe('WorkLimiter', () => {
  it('runs at most `concurrency` jobs, queues at most `maxWaiting`, and refuses beyond with 429', async () => {
    const limiter = new WorkLimiter(2, 1);
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const job = () =>
      new Promise<void>((done) => {
        running += 1;
        most = Math.max(most, running);
        release.push(() => {
          running -= 1;
          done();
        });
      });
    const jobs = [limiter.run(job), limiter.run(job), limiter.run(job)];
    await expect(limiter.run(job)).rejects.toBeInstanceOf(TooManyRequestsError);
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(jobs);
    expect(most).toBe(2);
  });
});
