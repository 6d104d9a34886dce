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
export type SchemaName =
  | 'category-collection'
  | 'category-update'
  | 'category-delete'
  | 'category-filter'
  | 'entity'
  | 'entity-collection'
  | 'action-invocation'
  | 'entity-filter'
  | 'location-list';

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as object);
}
const validators = new Map<string, ValidateFunction>();

function validatorFor(name: SchemaName): ValidateFunction {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.getSchema(`${SCHEMA_BASE}${name}.json`);
    if (!validate) throw new Error(`no schema ${name}.json in schemas/`);
    validators.set(name, validate);
  }
  return validate;
}

/** Turns ajv's errors into field problems, dropping the noise that `oneOf`/`anyOf` branches add. */
export function problemsFromAjv(errors: ErrorObject[] | null | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
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
    problems.push({ pointer: pointer || '/', message });
  }
  // When a more specific problem exists below a pointer, the generic oneOf/anyOf line adds nothing.
  return problems.filter(
    (p) => !/must match (exactly one|a) schema/.test(p.message) || !problems.some((q) => q !== p && q.pointer.startsWith(p.pointer)),
  );
}

/**
 * Validates a parsed request body against one of the schemas.
 *
 * @throws ValidationError naming every violation with a JSON pointer
 */
export function assertSchema(name: SchemaName, body: unknown): void {
  const validate = validatorFor(name);
  if (!validate(body)) {
    const problems = problemsFromAjv(validate.errors);
    const first = problems[0];
    throw new ValidationError(
      first ? `the request body does not fit ${name}: ${first.pointer} ${first.message}` : `the request body does not fit ${name}`,
      problems,
    );
  }
}
