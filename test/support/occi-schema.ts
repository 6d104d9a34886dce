/**
 * GFD.226's appendix JSON Schema, loaded with ajv as the reference folder's README says, and only
 * its listed errata applied: `#definitions/x` references become `#/definitions/x`, and draft-04's
 * `$schema` and `id` members are dropped (their keywords mean the same in draft-07, ajv 8's default).
 */
import { readFileSync } from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';

/** The shared reference folder (`../shared/reference/occi-json` from the repository root). */
export const OCCI_JSON_REFERENCE = new URL('../../../shared/reference/occi-json/', import.meta.url);

/** Reads a file of the reference folder as JSON. */
export function referenceJson(name: string): unknown {
  return JSON.parse(readFileSync(new URL(name, OCCI_JSON_REFERENCE), 'utf8'));
}

function withErrata(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withErrata);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // `id` as a keyword holds a string; a property *named* id (resource.properties.id) holds a schema.
    if ((key === 'id' && typeof value === 'string') || key === '$schema') continue;
    out[key] = key === '$ref' && typeof value === 'string' ? value.replace(/^#definitions\//, '#/definitions/') : withErrata(value);
  }
  return out;
}

/** The appendix definitions a response can be checked against. */
export type AppendixDefinition = 'resource' | 'link' | 'resource_collection' | 'link_collection' | 'model' | 'kind' | 'mixin' | 'action' | 'action_invocation';

/** A validator per appendix definition, and the root schema (the appendix's `anyOf`). */
export function appendixValidators(): { definition: (name: AppendixDefinition) => ValidateFunction; root: ValidateFunction } {
  const schema = withErrata(referenceJson('gfd226-appendix-schema.json')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema({ ...schema, $id: 'gfd226' });
  return {
    definition: (name) => ajv.getSchema(`gfd226#/definitions/${name}`)!,
    root: ajv.getSchema('gfd226')!,
  };
}
