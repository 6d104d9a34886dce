/**
 * @module Counts every backend call in `ocni_backend_calls_total` by backend, operation and
 * outcome, by wrapping the backend once when the configuration builds it: backends and the entity
 * service stay unaware of metrics.
 */
import { isOcciError } from '../errors.ts';
import { backendCalls } from '../metrics.ts';
import type { Entity } from '../model/entity.ts';
import type { Backend, BackendContext } from './backend.ts';

type Operation = 'create' | 'retrieve' | 'update' | 'replace' | 'delete' | 'action';
const OPERATIONS: readonly Operation[] = ['create', 'retrieve', 'update', 'replace', 'delete', 'action'];

/** The outcome label of a failure: the domain error code (a fixed set), else `error`. */
function outcomeOf(err: unknown): string {
  return isOcciError(err) ? err.code : 'error';
}

/**
 * The same backend, with each contract call counted. Other members (`dispose`, a template
 * source's `templates`) are passed through unchanged, so capabilities are kept.
 */
export function instrumentBackend(backend: Backend): Backend {
  const counted = new Map<string | symbol, unknown>();
  for (const operation of OPERATIONS) {
    const call = Reflect.get(backend, operation) as (...args: unknown[]) => Promise<unknown>;
    counted.set(operation, async (...args: unknown[]) => {
      try {
        const result = await call.apply(backend, args);
        backendCalls.inc({ backend: backend.name, operation, outcome: 'ok' });
        return result;
      } catch (err) {
        backendCalls.inc({ backend: backend.name, operation, outcome: outcomeOf(err) });
        throw err;
      }
    });
  }
  if (backend.createMany) {
    // Counted as the creations it stands for.
    counted.set('createMany', async (entities: Entity[], ctx: BackendContext) => {
      try {
        const outcomes = await backend.createMany!(entities, ctx);
        backendCalls.inc({ backend: backend.name, operation: 'create', outcome: 'ok' }, entities.length);
        return outcomes;
      } catch (err) {
        backendCalls.inc({ backend: backend.name, operation: 'create', outcome: outcomeOf(err) }, entities.length);
        throw err;
      }
    });
  }
  return new Proxy(backend, {
    get(target, property) {
      if (counted.has(property)) return counted.get(property);
      // Read with the backend itself as `this`: its private fields are not on the proxy.
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
