/**
 * @module Attribute definitions on the wire. Two vocabularies are read: OCCI 1.2 JSON (flat, keys
 * are dotted names, `pattern` a JSON Schema, `mutable` defaults to false per GFD.226) and pyOCNI
 * (nested by name segments, `pattern` a regular expression that must match the whole value, `minimum`/`maximum`, and — since
 * pyOCNI enforced nothing and OCCI 1.1 text marks only `{immutable}` — `mutable` defaults to true).
 * Output is always OCCI 1.2.
 */
import { ATTRIBUTE_TYPES, type AttributeDefinition, type AttributeDefinitions, type AttributeType, type ValueSchema } from '../category.ts';
import { anchored, regexProblem } from '../value-schema.ts';
import type { FieldProblem } from '../../errors.ts';

const DEFINITION_KEYS = new Set(['type', 'mutable', 'required', 'default', 'pattern', 'description', 'minimum', 'maximum', 'title']);

type Json = { [key: string]: unknown };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON pointer escaping of one reference token (RFC 6901). */
export function pointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Is this object an attribute definition rather than a namespace of the nested vocabulary? pyOCNI's
 * rule, made explicit: every key is a definition key, or at least one value is not an object.
 */
function looksLikeDefinition(value: Json): boolean {
  const keys = Object.keys(value);
  if (keys.length === 0) return true;
  return keys.every((k) => DEFINITION_KEYS.has(k)) || keys.some((k) => !isObject(value[k]));
}

interface RawDefinition {
  name: string;
  raw: Json;
  pointer: string;
  nested: boolean;
}

/** Walks flat and nested definition trees down to the definitions, with their dotted names. */
function collect(tree: Json, pointer: string, prefix: string[], out: RawDefinition[], problems: FieldProblem[]): void {
  for (const [key, value] of Object.entries(tree)) {
    const here = `${pointer}/${pointerToken(key)}`;
    if (!isObject(value)) {
      problems.push({ pointer: here, message: 'must be an attribute definition (an object)' });
      continue;
    }
    const path = [...prefix, key];
    if (looksLikeDefinition(value)) out.push({ name: path.join('.'), raw: value, pointer: here, nested: prefix.length > 0 });
    else collect(value, here, path, out, problems);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
/** Names JavaScript objects already have: as attribute names they would shadow or reach the prototype. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/**
 * Builds the value schema from either vocabulary: a JSON Schema object as is, or pyOCNI's regex
 * string plus `minimum`/`maximum` (lengths for strings, bounds for numbers).
 */
function valueSchema(raw: Json, type: AttributeType, pointer: string, problems: FieldProblem[]): ValueSchema | undefined {
  const { pattern } = raw;
  let schema: ValueSchema | undefined;
  if (isObject(pattern)) schema = { ...pattern };
  else if (typeof pattern === 'string') {
    const problem = regexProblem(pattern);
    if (problem) {
      problems.push({ pointer: `${pointer}/pattern`, message: `${JSON.stringify(pattern)} ${problem}` });
      return undefined;
    }
    // A regular expression written as a string constrains the whole value (pyOCNI, OCCI 1.1);
    // only GFD.226's JSON Schema object keeps JSON Schema's unanchored `pattern`.
    schema = { type: 'string', pattern: anchored(pattern) };
  } else if (pattern !== undefined) {
    problems.push({ pointer: `${pointer}/pattern`, message: 'must be a JSON Schema object or a regular expression string' });
    return undefined;
  }
  for (const bound of ['minimum', 'maximum'] as const) {
    if (raw[bound] === undefined) continue;
    const n = toNumber(raw[bound]);
    if (n === undefined) {
      problems.push({ pointer: `${pointer}/${bound}`, message: 'must be a number' });
      continue;
    }
    schema ??= {};
    if (type === 'string') schema[bound === 'minimum' ? 'minLength' : 'maxLength'] = n;
    else schema[bound] = n;
  }
  return schema;
}

/**
 * Reads one definition. In `partial` mode (filters) only the properties given are returned and no
 * default is filled in.
 */
function readDefinition(def: RawDefinition, problems: FieldProblem[], partial: boolean): Partial<AttributeDefinition> | undefined {
  const { raw, pointer } = def;
  const before = problems.length;
  const out: Partial<AttributeDefinition> = {};
  if (raw.type !== undefined) {
    if (typeof raw.type === 'string' && (ATTRIBUTE_TYPES as readonly string[]).includes(raw.type)) out.type = raw.type as AttributeType;
    else if (raw.type === 'integer') out.type = 'number';
    else problems.push({ pointer: `${pointer}/type`, message: `must be one of ${ATTRIBUTE_TYPES.join(', ')}` });
  } else if (!partial) out.type = 'string';
  for (const flag of ['mutable', 'required'] as const) {
    if (raw[flag] === undefined) continue;
    if (typeof raw[flag] === 'boolean') out[flag] = raw[flag];
    else problems.push({ pointer: `${pointer}/${flag}`, message: 'must be true or false' });
  }
  if (!partial) {
    out.mutable ??= def.nested;
    out.required ??= false;
  }
  if (raw.description !== undefined || raw.title !== undefined) {
    const text = raw.description ?? raw.title;
    if (typeof text === 'string') out.description = text;
    else problems.push({ pointer: `${pointer}/description`, message: 'must be a string' });
  }
  const schema = valueSchema(raw, out.type ?? 'string', pointer, problems);
  if (raw.type === 'integer') out.pattern = { type: 'integer', ...schema };
  else if (schema) out.pattern = schema;
  if (raw.default !== undefined) out.default = raw.default as AttributeDefinition['default'];
  return problems.length > before ? undefined : out;
}

/**
 * Reads the `attributes` of a category in either vocabulary.
 *
 * @param pointer - JSON pointer of the `attributes` member, for problems
 * @returns the definitions by dotted name; problems are appended to `problems`
 */
export function parseAttributeDefinitions(tree: unknown, pointer: string, problems: FieldProblem[]): AttributeDefinitions {
  const out: AttributeDefinitions = {};
  if (tree === undefined) return out;
  if (!isObject(tree)) {
    problems.push({ pointer, message: 'must be an object of attribute definitions' });
    return out;
  }
  const raws: RawDefinition[] = [];
  collect(tree, pointer, [], raws, problems);
  for (const raw of raws) {
    if (!NAME.test(raw.name) || raw.name.length > 255 || raw.name.split('.').some((segment) => RESERVED.has(segment))) {
      problems.push({ pointer: raw.pointer, message: `"${raw.name}" is not a valid attribute name (dot-separated segments of letters, digits, '_' and '-')` });
      continue;
    }
    if (out[raw.name]) {
      problems.push({ pointer: raw.pointer, message: `attribute "${raw.name}" is defined twice` });
      continue;
    }
    const definition = readDefinition(raw, problems, false);
    if (definition) out[raw.name] = definition as AttributeDefinition;
  }
  return out;
}

/** Reads the attribute part of a filter: partial definitions, only the properties given. */
export function parsePartialAttributeDefinitions(tree: unknown, pointer: string, problems: FieldProblem[]): Record<string, Partial<AttributeDefinition>> {
  const out: Record<string, Partial<AttributeDefinition>> = {};
  if (!isObject(tree)) return out;
  const raws: RawDefinition[] = [];
  collect(tree, pointer, [], raws, problems);
  for (const raw of raws) {
    const definition = readDefinition(raw, problems, true);
    if (definition) out[raw.name] = definition;
  }
  return out;
}

/**
 * Renders definitions in OCCI 1.2 JSON (flat names, every property explicit). GFD.226's appendix
 * schema allows only a number, string or boolean `default`; an array or object default (its text
 * allows the attribute's own type) is rendered only when `structuredDefaults` asks for it (the
 * `ocni` profile). The server applies it either way.
 */
export function renderAttributeDefinitions(definitions: AttributeDefinitions, structuredDefaults = true): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, d] of Object.entries(definitions)) {
    const rendered: Json = { type: d.type, mutable: d.mutable, required: d.required };
    const scalar = typeof d.default === 'string' || typeof d.default === 'number' || typeof d.default === 'boolean';
    if (d.default !== undefined && d.default !== null && (scalar || structuredDefaults)) rendered.default = d.default;
    if (d.pattern) rendered.pattern = d.pattern;
    if (d.description !== undefined) rendered.description = d.description;
    out[name] = rendered;
  }
  return out;
}
