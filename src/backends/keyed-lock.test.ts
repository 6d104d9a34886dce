import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('KeyedLock', () => {
  it('runs the tasks of one key one at a time, in arrival order, even when some fail', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        inside += 1;
        most = Math.max(most, inside);
        log.push(`start ${name}`);
        await tick();
        log.push(`end ${name}`);
        inside -= 1;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([lock.run('a', task('1')), lock.run('a', task('2', true)), lock.run('a', task('3'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(most).toBe(1);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(lock.size).toBe(0);
  });

  it('lets different keys run at the same time', async () => {
    const lock = new KeyedLock();
    let inside = 0;
    let most = 0;
    const task = async () => {
      inside += 1;
      most = Math.max(most, inside);
      await tick();
      inside -= 1;
    };
    await Promise.all([lock.run('a', task), lock.run('b', task), lock.run('c', task)]);
    expect(most).toBe(3);
  });
});
