import { describe, expect, it } from 'vitest';
import { checkAttributeValue } from './attribute.ts';
import { anchored, compileValueSchema, patternProblems, regexProblem } from './value-schema.ts';

describe('value schemas on the linear-time engine', () => {
  it('two patterns compiled by one engine keep their own expressions', () => {
    const zz = compileValueSchema({ type: 'string', pattern: 'zz' });
    const letters = compileValueSchema({ type: 'string', pattern: '[a-z]+' });
    expect(zz('azz')).toBe(true);
    expect(zz('abc')).toBe(false);
    expect(letters('Bad name!')).toBe(true);
    expect(letters('BAD!')).toBe(false);
  });

  it('runs a catastrophic expression on a long input in linear time', () => {
    const validate = compileValueSchema({ type: 'string', pattern: '^(a|a)*$' });
    const started = performance.now();
    expect(validate(`${'a'.repeat(100_000)}!`)).toBe(false);
    // Generous: the backtracking engine needs longer than the age of the universe here.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('names expressions it cannot run', () => {
    expect(regexProblem('(a)\\1')).toContain('linear-time engine');
    expect(regexProblem('(?<=a)b')).toContain('linear-time engine');
    expect(regexProblem('(')).toContain('not a valid regular expression');
    expect(regexProblem('^[a-z]+$')).toBeUndefined();
  });

  it('refuses a pattern whose program would cost too much per character', () => {
    expect(patternProblems({ type: 'string', pattern: '(a|b|ab|ba){1000}x' })[0]?.message).toContain('RE2 instructions');
    expect(patternProblems({ type: 'string', pattern: '(a|b|ab|ba){100}x' })).toEqual([]);
  });

  it('anchors regex strings around alternations', () => {
    const validate = compileValueSchema({ type: 'string', pattern: anchored('inactive|active') });
    expect(validate('active')).toBe(true);
    expect(validate('not-inactive-at-all')).toBe(false);
  });

  it('reports references leaving the pattern with pointers inside it', () => {
    expect(patternProblems({ properties: { a: { $ref: 'https://example.org/x' } } }).map((p) => p.pointer)).toEqual(['/properties/a/$ref']);
    expect(patternProblems({ definitions: { s: { type: 'string' } }, $ref: '#/definitions/s' })).toEqual([]);
    // A property named $id is data, not an identifier.
    expect(patternProblems({ type: 'object', properties: { $id: { type: 'string' } } })).toEqual([]);
  });

  it('a stored pattern that cannot compile gives a problem, not an exception', () => {
    const why = checkAttributeValue('x', { type: 'string', mutable: true, required: false, pattern: { $ref: 'https://example.org/gone' } });
    expect(why).toContain('cannot be checked');
  });
});
