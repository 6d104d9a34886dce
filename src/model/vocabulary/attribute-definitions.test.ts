import { describe, expect, it } from 'vitest';
import type { FieldProblem } from '../../errors.ts';
import { parseAttributeDefinitions, parsePartialAttributeDefinitions, renderAttributeDefinitions } from './attribute-definitions.ts';

describe('parseAttributeDefinitions', () => {
  it('reads OCCI 1.2 flat definitions with GFD.226 defaults (immutable, optional, string)', () => {
    const problems: FieldProblem[] = [];
    const defs = parseAttributeDefinitions({ 'com.example.a': {}, 'com.example.b': { type: 'number', mutable: true, pattern: { type: 'integer' } } }, '/attributes', problems);
    expect(problems).toEqual([]);
    expect(defs['com.example.a']).toEqual({ type: 'string', mutable: false, required: false });
    expect(defs['com.example.b']).toEqual({ type: 'number', mutable: true, required: false, pattern: { type: 'integer' } });
  });

  it('reads pyOCNI nested definitions: mutable by default, regex and bounds turned into a JSON Schema', () => {
    const problems: FieldProblem[] = [];
    const defs = parseAttributeDefinitions(
      { occi: { compute: { hostname: { type: 'string', pattern: '[a-z]+', minimum: '1', maximum: '255' }, speed: { type: 'number', default: 2.8, minimum: 0 } } } },
      '/attributes',
      problems,
    );
    expect(problems).toEqual([]);
    expect(defs['occi.compute.hostname']).toEqual({ type: 'string', mutable: true, required: false, pattern: { type: 'string', pattern: '^(?:[a-z]+)$', minLength: 1, maxLength: 255 } });
    expect(defs['occi.compute.speed']).toEqual({ type: 'number', mutable: true, required: false, default: 2.8, pattern: { minimum: 0 } });
  });

  it('names each problem with a JSON pointer', () => {
    const problems: FieldProblem[] = [];
    parseAttributeDefinitions({ 'a.b': { type: 'text' }, c: { pattern: '(' }, 'bad name!': {}, d: 3 }, '/kinds/0/attributes', problems);
    expect(problems.map((p) => p.pointer)).toEqual(['/kinds/0/attributes/d', '/kinds/0/attributes/a.b/type', '/kinds/0/attributes/c/pattern', '/kinds/0/attributes/bad name!']);
  });

  it('reads partial definitions for filters without filling in defaults', () => {
    const problems: FieldProblem[] = [];
    expect(parsePartialAttributeDefinitions({ method: { mutable: true } }, '/', problems)).toEqual({ method: { mutable: true } });
  });
});

describe('renderAttributeDefinitions', () => {
  it('renders every property explicitly, flat', () => {
    expect(renderAttributeDefinitions({ 'x.y': { type: 'boolean', mutable: true, required: true, default: false, description: 'd' } })).toEqual({
      'x.y': { type: 'boolean', mutable: true, required: true, default: false, description: 'd' },
    });
  });
});
