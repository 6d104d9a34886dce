/**
 * @module Attribute values checked against their definitions: the value's JSON type and the
 * definition's `pattern` (a JSON Schema, compiled and run safely by `value-schema.ts`).
 */
import type { AttributeDefinition, AttributeType, AttributeValue } from './category.ts';
import { compileValueSchema } from './value-schema.ts';

/** The OCCI JSON type of a value (`null` has none). */
export function valueType(value: unknown): AttributeType | 'null' | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isFinite(value) ? 'number' : undefined;
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return undefined;
  }
}

/**
 * Checks one value against its definition.
 *
 * @returns undefined when the value fits, else a sentence saying why it does not
 */
export function checkAttributeValue(value: AttributeValue, definition: AttributeDefinition): string | undefined {
  const actual = valueType(value);
  if (actual !== definition.type) {
    return `must be of type ${definition.type}, got ${actual ?? typeof value}`;
  }
  if (definition.pattern) {
    let validate;
    try {
      validate = compileValueSchema(definition.pattern);
    } catch (err) {
      // Only a definition stored before today's checks can get here; say so rather than answer 500.
      return `cannot be checked: its definition's pattern is unusable (${(err as Error).message}); an operator must correct the definition`;
    }
    if (!validate(value)) {
      const first = validate.errors?.[0];
      const where = first?.instancePath ? ` at ${first.instancePath}` : '';
      return `does not match its pattern${where}: ${first?.message ?? 'invalid'}`;
    }
  }
  return undefined;
}
