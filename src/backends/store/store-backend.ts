/**
 * @module The `store` backend: persistence only, which the entity service already does, plus the
 * OCCI Infrastructure state machines so that actions change state locally.
 */
import type { AttributeValue } from '../../model/category.ts';
import { applyActionLocally, type Entity } from '../../model/entity.ts';
import type { Backend, BackendOutcome } from '../backend.ts';

/** The backend type name used in configuration. */
export const STORE_BACKEND = 'store';

/** Creates the store backend; it takes no options. */
export function createStoreBackend(name: string): Backend {
  const nothing = (): Promise<BackendOutcome> => Promise.resolve({});
  return {
    name,
    type: STORE_BACKEND,
    create: nothing,
    // A bulk creation of a thousand asks once, not a thousand times, for nothing.
    createMany: (entities: Entity[]) => Promise.resolve(entities.map(() => ({}))),
    retrieve: nothing,
    update: nothing,
    replace: nothing,
    delete: () => Promise.resolve(),
    // async although it awaits nothing: a refused action must reach the caller as a rejected
    // promise, as the Backend interface says, not as a synchronous throw.
    // eslint-disable-next-line @typescript-eslint/require-await
    async action(entity: Entity, actionId: string, parameters: Record<string, AttributeValue>): Promise<BackendOutcome> {
      // The state machine refuses an action that does not apply in the current state (400).
      const after = applyActionLocally(entity, actionId, parameters);
      const attributes: Record<string, AttributeValue> = {};
      for (const [name, value] of Object.entries(after.attributes)) {
        if (JSON.stringify(entity.attributes[name]) !== JSON.stringify(value)) attributes[name] = value;
      }
      return { attributes };
    },
  };
}
