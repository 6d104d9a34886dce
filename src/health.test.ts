import { describe, expect, it } from 'vitest';
import { Readiness } from './health.ts';

describe('Readiness', () => {
  it('is ready when every check is, and says what is wrong otherwise (a thrown error too)', async () => {
    const ready = await new Readiness([
      { name: 'a', check: () => undefined },
      { name: 'b', check: () => Promise.resolve(undefined) },
    ]).evaluate();
    expect(ready).toEqual({ ready: true, checks: { a: 'ok', b: 'ok' } });
    const failing = await new Readiness([
      { name: 'a', check: () => undefined },
      { name: 'b', check: () => 'b is behind' },
      {
        name: 'c',
        check: () => {
          throw new Error('c cannot be reached');
        },
      },
    ]).evaluate();
    expect(failing).toEqual({ ready: false, checks: { a: 'ok', b: 'b is behind', c: 'c cannot be reached' } });
  });

  it('runs the checks at most once per interval, sharing one run between concurrent callers', async () => {
    let runs = 0;
    const readiness = new Readiness([{ name: 'store', check: () => Promise.resolve(void (runs += 1)) }], 200);
    await Promise.all([readiness.evaluate(), readiness.evaluate(), readiness.evaluate()]);
    await readiness.evaluate();
    expect(runs).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await readiness.evaluate();
    expect(runs).toBe(2);
  });
});
