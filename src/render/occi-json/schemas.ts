/**
 * @module The JSON Schemas of `schemas/`, compiled once with ajv, and the check that turns a
 * schema violation into a {@link ValidationError} with one JSON pointer per problem.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError, type FieldProblem } from '../../errors.ts';

const SCHEMA_DIR = new URL('../../../schemas/', import.meta.url);
const SCHEMA_BASE = 'https://ocni.example/schemas/';

/** The request-body schemas, by file name without `.json`. */
export type SchemaName = 'category-collection' | 'category-update' | 'category-delete' | 'category-filter' | 'entity' | 'entity-collection' | 'action-invocation' | 'entity-filter' | 'location-list';

/**
 * Two compilations of every schema. `first` stops at the first problem and costs time linear in
 * the body. `every` lists every problem, but ajv appends the problems of each `$ref`'d item by
 * copying the list so far, which is quadratic in the number of bad items: it runs only on bodies
 * of at most {@link FULL_REPORT_ITEMS} items.
 */
function compileAll(allErrors: boolean): Ajv {
  const ajv = new Ajv({ allErrors, strict: false, verbose: true });
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as object);
  }
  return ajv;
}
const engines = { first: compileAll(false), every: compileAll(true) };
const validators = new Map<string, ValidateFunction>();

/** Bodies with at most this many items get every problem listed; larger ones the first. */
export const FULL_REPORT_ITEMS = 100;

function validatorFor(name: SchemaName, mode: keyof typeof engines): ValidateFunction {
  const key = `${mode} ${name}`;
  let validate = validators.get(key);
  if (!validate) {
    validate = engines[mode].getSchema(`${SCHEMA_BASE}${name}.json`);
    if (!validate) throw new Error(`no schema ${name}.json in schemas/`);
    validators.set(key, validate);
  }
  return validate;
}

/**
 * Counts the items of a JSON body the way a request is limited: every entry of a top-level array
 * (resources, links, kinds, mixins, actions, locations, or a bare array body) plus the inline
 * `links` of those entries. One pass over two levels, whatever the body holds.
 */
export function itemCount(body: unknown): number {
  const arrays = Array.isArray(body) ? [body] : typeof body === 'object' && body !== null ? Object.values(body).filter(Array.isArray) : [];
  let count = 0;
  for (const array of arrays) {
    count += array.length;
    for (const entry of array as unknown[]) {
      const links = typeof entry === 'object' && entry !== null ? (entry as { links?: unknown }).links : undefined;
      if (Array.isArray(links)) count += links.length;
    }
  }
  return count;
}

/** The pointers strictly above `pointer`, segment by segment (`/a/b` → `''`, `/a`). */
function ancestors(pointer: string): string[] {
  const out: string[] = [];
  for (let i = pointer.lastIndexOf('/'); i >= 0; i = pointer.lastIndexOf('/', i - 1)) {
    out.push(pointer.slice(0, i));
    if (i === 0) break;
  }
  return out;
}

/**
 * Turns ajv's errors into field problems, dropping the noise that `oneOf`/`anyOf` branches add
 * (the error document lists at most the first hundred). Linear in the errors: each is looked at once, and whether a
 * more specific problem lies below a generic one is a set lookup, not a search of the list.
 */
export function problemsFromAjv(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  const problems: { raw: string; pointer: string; message: string }[] = [];
  const seen = new Set<string>();
  /** Pointers with a problem strictly below them. */
  const covered = new Set<string>();
  /** How many problems sit exactly at each pointer. */
  const at = new Map<string, number>();
  for (const error of errors ?? []) {
    let pointer = error.instancePath || '';
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperty?: string }).additionalProperty ?? '';
      pointer = `${pointer}/${extra.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      message = 'is not allowed here';
    } else if (error.keyword === 'required') {
      const missing = (error.params as { missingProperty?: string }).missingProperty ?? '';
      pointer = `${pointer}/${missing}`;
      message = 'is required';
    } else if (error.keyword === 'pattern') {
      const described = (error.parentSchema as { description?: string } | undefined)?.description;
      if (described) message = `must be ${described.charAt(0).toLowerCase()}${described.slice(1)}`;
    }
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ raw: pointer, pointer: pointer || '/', message });
    at.set(pointer, (at.get(pointer) ?? 0) + 1);
    for (const above of ancestors(pointer)) {
      if (covered.has(above)) break;
      covered.add(above);
    }
  }
  // When a more specific problem exists at or below a pointer, the generic oneOf/anyOf line adds nothing.
  const generic = /must match (exactly one|a) schema/;
  return problems.filter((p) => !generic.test(p.message) || !(covered.has(p.raw) || (at.get(p.raw) ?? 0) > 1)).map(({ pointer, message }) => ({ pointer, message }));
}

/**
 * Validates a parsed request body against one of the schemas.
 *
 * @throws ValidationError naming the violations with JSON pointers: every one for bodies of up
 *   to {@link FULL_REPORT_ITEMS} items, else the first
 */
export function assertSchema(name: SchemaName, body: unknown): void {
  const first = validatorFor(name, 'first');
  if (!first(body)) {
    let errors = first.errors;
    if (itemCount(body) <= FULL_REPORT_ITEMS) {
      const every = validatorFor(name, 'every');
      every(body);
      errors = every.errors;
    }
    const problems = problemsFromAjv(errors);
    const top = problems[0];
    throw new ValidationError(top ? `the request body does not fit ${name}: ${top.pointer} ${top.message}` : `the request body does not fit ${name}`, problems);
  }
}
