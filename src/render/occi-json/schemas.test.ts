import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { problemsFromAjv } from './schemas.ts';

const error = (instancePath: string, message: string, keyword = 'type'): ErrorObject => ({ instancePath, message, keyword, schemaPath: '#', params: {} });

describe('problemsFromAjv', () => {
  it('drops a generic oneOf line only when a problem lies at or below its pointer, segment by segment', () => {
    const problems = problemsFromAjv([
      error('/resources/1', 'must match exactly one schema in oneOf', 'oneOf'),
      error('/resources/10/target', 'must be string'),
      error('/resources/2', 'must match exactly one schema in oneOf', 'oneOf'),
      error('/resources/2/target', 'must be string'),
    ]);
    expect(problems).toEqual([
      { pointer: '/resources/1', message: 'must match exactly one schema in oneOf' },
      { pointer: '/resources/10/target', message: 'must be string' },
      { pointer: '/resources/2/target', message: 'must be string' },
    ]);
  });

  it('is linear in the errors', () => {
    const errors: ErrorObject[] = [];
    for (let i = 0; i < 20_000; i++) {
      errors.push(error(`/resources/${i}`, 'must match exactly one schema in oneOf', 'oneOf'), error(`/resources/${i}/target`, 'must be string'));
    }
    const started = performance.now();
    const problems = problemsFromAjv(errors);
    // Generous: the quadratic version needed minutes for this many.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(problems).toHaveLength(20_000);
    expect(problems[0]).toEqual({ pointer: '/resources/0/target', message: 'must be string' });
  });
});
