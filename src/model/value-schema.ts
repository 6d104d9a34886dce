/**
 * @module Attribute patterns (value schemas) as clients may write them, made safe to run: every
 * regular expression runs on RE2's linear-time engine (re2js), each pattern is self-contained (no
 * reference leaves it, so deleting another category or restarting cannot break it), each names
 * its JSON Schema dialect (draft-04, -06, -07, 2019-09, 2020-12; draft-07 when it names none), and
 * its cost is bounded before it is compiled. Compiled patterns live in one bounded LRU cache.
 */
import { Ajv, type CodeOptions, type Options, type ValidateFunction } from 'ajv';
import { LRUCache } from 'lru-cache';
import { createRequire } from 'node:module';
import { RE2JS } from 're2js';
import type { ValueSchema } from './category.ts';

/** A pattern that cannot be used, with where in it (a JSON pointer inside the pattern) and why. */
export interface PatternProblem {
  /** Pointer relative to the pattern itself (`''` for the whole pattern). */
  pointer: string;
  message: string;
}

/** Bounds on what one pattern may cost, so a definition cannot buy a stall with its size. */
export interface PatternLimits {
  /** Largest pattern, as JSON text. */
  bytes: number;
  /** Most regular expressions (`pattern` keywords and `patternProperties` keys) in one pattern. */
  regexes: number;
}

/** Defaults of {@link PatternLimits}. */
export const DEFAULT_PATTERN_LIMITS: PatternLimits = { bytes: 8192, regexes: 8 };

/** Thrown by the regular-expression engine adapter; carries the expression for the message. */
export class PatternEngineError extends Error {
  override readonly name = 'PatternEngineError';
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`the regular expression ${JSON.stringify(expression)} ${reason}`);
  }
}

/**
 * Why `expression` cannot be a pattern, or undefined when it can: it must be an ECMA-262 regular
 * expression (the dialect JSON Schema names) that RE2 can also run. RE2 has no backreferences or
 * lookaround; what it does run, it runs in time linear in the input, whatever the expression.
 */
export function regexProblem(expression: string): string | undefined {
  const checked = checkRegex(expression);
  return typeof checked === 'string' ? checked : undefined;
}

/** {@link regexProblem}, or the size of RE2's program for the expression (its cost per input character). */
function checkRegex(expression: string): string | number {
  try {
    new RegExp(expression, 'u');
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  try {
    return RE2JS.compile(RE2JS.translateRegExp(expression)).programSize();
  } catch (err) {
    return `cannot run on the linear-time engine (RE2 has no backreferences, no lookaround, no repeat count above 1000): ${(err as Error).message}`;
  }
}

/**
 * Most RE2 program instructions the regular expressions of one pattern may add up to. Matching is
 * linear in the input but, at worst, proportional to the program too: `(a|b|ab|ba){1000}x` (9,003
 * instructions) needed about a second per 64 KiB value. Real patterns need tens to hundreds (the
 * built-in IPv4-or-IPv6 address pattern, the largest, about 1,150).
 */
export const MAX_PROGRAM_SIZE = 2000;

/** A regular expression compiled by RE2, shaped as ajv expects (`test`, and `toString` as its cache key). */
class LinearRegExp {
  readonly #compiled: RE2JS;
  constructor(readonly source: string) {
    this.#compiled = RE2JS.compile(RE2JS.translateRegExp(source));
  }

  test(input: string): boolean {
    return this.#compiled.test(input);
  }

  /** ajv shares compiled expressions between schemas by this text: it must differ per expression. */
  toString(): string {
    return `/${this.source}/re2`;
  }
}

/** ajv's `code.regExp`: RE2 instead of the backtracking engine, for `pattern` and `patternProperties`. */
const linearRegExp: NonNullable<CodeOptions['regExp']> = Object.assign(
  (expression: string): LinearRegExp => {
    const problem = regexProblem(expression);
    if (problem) throw new PatternEngineError(expression, problem);
    return new LinearRegExp(expression);
  },
  { code: 'linearRegExp' },
);

const OPTIONS: Options = { strict: false, allErrors: false, validateSchema: true, logger: false, code: { regExp: linearRegExp } };

// The other dialects' classes are loaded when a pattern first asks for them, not at start-up.
const load = createRequire(import.meta.url);

/** One ajv per dialect, created on first use; each compiles only self-contained patterns. */
const DIALECTS: Record<string, () => Ajv> = {
  'draft-04': () => new (load('ajv-draft-04') as typeof import('ajv-draft-04')).default(OPTIONS),
  'draft-06': () => {
    const ajv = new Ajv(OPTIONS);
    ajv.addMetaSchema(load('ajv/dist/refs/json-schema-draft-06.json') as object);
    return ajv;
  },
  'draft-07': () => new Ajv(OPTIONS),
  '2019-09': () => new (load('ajv/dist/2019.js') as typeof import('ajv/dist/2019.js')).Ajv2019(OPTIONS),
  '2020-12': () => new (load('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020(OPTIONS),
};
const engines = new Map<string, { ajv: Ajv; compiles: number }>();
/**
 * ajv keeps what every compilation shares (compiled expressions, referenced functions) in its
 * instance for good; an engine is replaced after this many compilations, so that memory stays
 * bounded too. Validators already compiled keep working: they hold what they use.
 */
const COMPILES_PER_ENGINE = 1000;

/** The dialect a `$schema` names (http or https, with or without the empty fragment). */
function dialectOf(schema: ValueSchema): string | PatternProblem {
  const declared = schema.$schema;
  if (declared === undefined) return 'draft-07';
  const match = typeof declared === 'string' ? /^https?:\/\/json-schema\.org\/(?:(draft-0[467])|draft\/(2019-09|2020-12))\/schema#?$/.exec(declared) : null;
  const dialect = match?.[1] ?? match?.[2];
  if (!dialect) {
    return { pointer: '/$schema', message: `names a JSON Schema dialect this server does not know (${JSON.stringify(declared)}); use draft-04, draft-06, draft-07, 2019-09 or 2020-12` };
  }
  return dialect;
}

function engineFor(dialect: string): Ajv {
  let engine = engines.get(dialect);
  if (!engine || engine.compiles >= COMPILES_PER_ENGINE) {
    engine = { ajv: DIALECTS[dialect]!(), compiles: 0 };
    engines.set(dialect, engine);
  }
  engine.compiles++;
  return engine.ajv;
}

type Json = { [key: string]: unknown };
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const token = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Keywords whose value is one subschema, a list of them, or a map of names to them (all drafts). */
const ONE = ['additionalItems', 'additionalProperties', 'contains', 'propertyNames', 'if', 'then', 'else', 'not', 'items', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema'];
const LIST = ['allOf', 'anyOf', 'oneOf', 'items', 'prefixItems'];
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas', 'dependencies'];
const REFERENCES = ['$ref', '$dynamicRef', '$recursiveRef'];
/** Item types ajv checks for uniqueness with a hash; any other item compares with every other one. */
const SCALAR = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Above this many items, pairwise uniqueness costs too much (ajv compares objects pair by pair). */
const PAIRWISE_UNIQUE_MAX = 256;

/**
 * Walks the subschemas of a pattern and reports what would make it unsafe: references that leave
 * it, identifiers below its root, too many regular expressions, quadratic `uniqueItems`, and
 * regular expressions RE2 cannot run. Data-holding keywords (`enum`, `const`, `default`,
 * `examples`) are not schemas and are not walked.
 */
function walk(schema: unknown, pointer: string, root: boolean, found: PatternProblem[], regexes: { count: number; size: number }): void {
  if (!isObject(schema)) return;
  for (const keyword of REFERENCES) {
    const ref = schema[keyword];
    if (ref !== undefined && (typeof ref !== 'string' || !ref.startsWith('#'))) {
      found.push({
        pointer: `${pointer}/${token(keyword)}`,
        message: `refers outside the pattern (${JSON.stringify(ref)}); a pattern is self-contained: only references inside it ("#…") are allowed`,
      });
    }
  }
  for (const keyword of ['$id', 'id']) {
    // `id` is draft-04's `$id`; as a keyword it must be a string (a property named `id` sits under `properties`).
    if (!root && typeof schema[keyword] === 'string') {
      found.push({ pointer: `${pointer}/${keyword}`, message: 'is not allowed below the root of a pattern: a nested identifier would let its references reach elsewhere' });
    }
  }
  const regex = (expression: string, at: string): void => {
    regexes.count++;
    const checked = checkRegex(expression);
    if (typeof checked === 'string') found.push({ pointer: at, message: `${JSON.stringify(expression)} ${checked}` });
    else regexes.size += checked;
  };
  if (typeof schema.pattern === 'string') regex(schema.pattern, `${pointer}/pattern`);
  if (isObject(schema.patternProperties)) {
    for (const key of Object.keys(schema.patternProperties)) regex(key, `${pointer}/patternProperties/${token(key)}`);
  }
  if (schema.uniqueItems === true) {
    const items = schema.items;
    const types = isObject(items) ? (Array.isArray(items.type) ? items.type : [items.type]) : [];
    const scalar = types.length > 0 && types.every((t) => typeof t === 'string' && SCALAR.has(t));
    const bounded = typeof schema.maxItems === 'number' && schema.maxItems <= PAIRWISE_UNIQUE_MAX;
    if (!scalar && !bounded) {
      found.push({ pointer: `${pointer}/uniqueItems`, message: `needs items of a scalar type or "maxItems" of at most ${PAIRWISE_UNIQUE_MAX}: otherwise every item is compared with every other one` });
    }
  }
  for (const keyword of ONE) if (isObject(schema[keyword])) walk(schema[keyword], `${pointer}/${keyword}`, false, found, regexes);
  for (const keyword of LIST) {
    const list = schema[keyword];
    if (Array.isArray(list)) list.forEach((sub, i) => walk(sub, `${pointer}/${keyword}/${i}`, false, found, regexes));
  }
  for (const keyword of MAP) {
    const map = schema[keyword];
    if (isObject(map)) for (const [name, sub] of Object.entries(map)) walk(sub, `${pointer}/${keyword}/${token(name)}`, false, found, regexes);
  }
}

/**
 * Everything that makes a pattern unusable, checked without compiling it first: size, dialect,
 * references, regular expressions, quadratic keywords; then compilation itself.
 *
 * @returns the problems, empty when the pattern is safe to use
 */
export function patternProblems(schema: ValueSchema, limits: PatternLimits = DEFAULT_PATTERN_LIMITS): PatternProblem[] {
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > limits.bytes) return [{ pointer: '', message: `is ${bytes} bytes as JSON, more than the limit of ${limits.bytes}` }];
  const dialect = dialectOf(schema);
  if (typeof dialect !== 'string') return [dialect];
  const found: PatternProblem[] = [];
  const regexes = { count: 0, size: 0 };
  walk(schema, '', true, found, regexes);
  if (regexes.count > limits.regexes) found.push({ pointer: '', message: `holds ${regexes.count} regular expressions, more than the limit of ${limits.regexes}` });
  if (regexes.size > MAX_PROGRAM_SIZE) {
    found.push({
      pointer: '',
      message: `its regular expressions compile to ${regexes.size} RE2 instructions, more than the limit of ${MAX_PROGRAM_SIZE} (each costs time on every character checked)`,
    });
  }
  if (found.length > 0) return found;
  try {
    compileValueSchema(schema);
  } catch (err) {
    return [{ pointer: '', message: `is not a usable JSON Schema: ${(err as Error).message}` }];
  }
  return [];
}

/** Compiled patterns by dialect and JSON text; bounded, so patterns seen once do not pile up. */
const compiled = new LRUCache<string, ValidateFunction>({ max: 1000 });
// Definitions live as long as their category: the object itself is the fast key, the JSON text
// the shared one (equal patterns of different categories compile once).
const byObject = new WeakMap<ValueSchema, ValidateFunction>();

/**
 * Compiles a pattern (cached). Patterns reach here checked by {@link patternProblems}; one stored
 * before those checks existed may still fail, and the caller reports that instead of answering 500.
 *
 * @throws Error with ajv's or the engine's message when the pattern cannot be compiled
 */
export function compileValueSchema(schema: ValueSchema): ValidateFunction {
  let validate = byObject.get(schema);
  if (validate) return validate;
  const dialect = dialectOf(schema);
  if (typeof dialect !== 'string') throw new Error(`$schema ${dialect.message}`);
  const key = `${dialect} ${JSON.stringify(schema)}`;
  validate = compiled.get(key);
  if (!validate) {
    const ajv = engineFor(dialect);
    const { $schema: _declared, ...plain } = schema;
    try {
      validate = ajv.compile(plain);
    } finally {
      // ajv keeps every compiled schema (and registers its `$id`) for good: forget it, so the
      // cache above is the only one and one pattern's `$id` can never be seen by another.
      ajv.removeSchema(plain);
    }
    compiled.set(key, validate);
  }
  byObject.set(schema, validate);
  return validate;
}

/**
 * Anchors a regular expression written as a string (pyOCNI's vocabulary, OCCI 1.1): such a pattern
 * constrains the whole value, unlike JSON Schema's unanchored `pattern` keyword.
 */
export function anchored(expression: string): string {
  return `^(?:${expression})$`;
}
