/**
 * @module Attribute values checked against their definitions: the value's JSON type and the
 * definition's `pattern` (a JSON Schema, compiled once per distinct schema with ajv).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { AttributeDefinition, AttributeType, AttributeValue, ValueSchema } from './category.ts';

const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: true });
const compiled = new Map<string, ValidateFunction>();
// Definitions live as long as their category: the object itself is the fast key, the JSON text
// the shared one (equal schemas of different categories compile once).
const byObject = new WeakMap<ValueSchema, ValidateFunction>();

/** Compiles a value schema (cached); throws with ajv's message when it is not a valid schema. */
export function compileValueSchema(schema: ValueSchema): ValidateFunction {
  let validate = byObject.get(schema);
  if (validate) return validate;
  const key = JSON.stringify(schema);
  validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  byObject.set(schema, validate);
  return validate;
}

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
    const validate = compileValueSchema(definition.pattern);
    if (!validate(value)) {
      const first = validate.errors?.[0];
      const where = first?.instancePath ? ` at ${first.instancePath}` : '';
      return `does not match its pattern${where}: ${first?.message ?? 'invalid'}`;
    }
  }
  return undefined;
}
