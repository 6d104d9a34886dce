/**
 * @module The backend contract as one suite, run once per backend (as unjs/unstorage's
 * `testDriver` runs one suite per driver): every backend (store, remote, Cyclades) creates,
 * reads, changes, acts on and deletes a compute the same way, answers in domain errors, and
 * treats deleting what is gone as done. Backend-specific behaviour (Cyclades' jobs, faults) is
 * tested on top, in each backend's own files. Not a test file itself (`*.case.test.ts` is
 * excluded from the run): each backend's `contract.test.ts` calls {@link runBackendContract}.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOcciError } from '../errors.ts';
import { checkId, type Entity } from '../model/entity.ts';
import type { Backend, BackendContext, BackendOutcome } from './backend.ts';

/** What one backend brings to the suite. */
export interface ContractSetup {
  backend: Backend;
  ctx: BackendContext;
  /** A compute this backend can create, at a fresh location, in state `inactive` or `active` once created. */
  compute(): Entity;
  /** An action the compute accepts once created and settled (e.g. `stop` when active), with what it does to the state. */
  action: { id: string; state: string };
  /** Lets asynchronous work finish (Cyclades jobs); resolves at once for synchronous backends. */
  settle(): Promise<void>;
  teardown(): Promise<void>;
}

/** Options of {@link runBackendContract}. */
export interface ContractOptions {
  name: string;
  create(): Promise<ContractSetup>;
  /** Contract items this backend cannot show: `gone` = it cannot tell that an entity is gone (the store is the truth). */
  skip?: { gone?: boolean };
}

/** The entity at the location the backend's id gives it, with its outcome applied. */
function placed(entity: Entity, outcome: BackendOutcome): Entity {
  const location = outcome.id === undefined ? entity.location : entity.location.slice(0, entity.location.lastIndexOf('/') + 1) + outcome.id;
  const next: Entity = { ...entity, location, attributes: { ...entity.attributes } };
  for (const [name, value] of Object.entries(outcome.attributes ?? {})) {
    if (value === null) delete next.attributes[name];
    else next.attributes[name] = value;
  }
  if (outcome.ref !== undefined) next.ref = outcome.ref;
  return next;
}

/** Runs the contract suite for one backend. */
export function runBackendContract(options: ContractOptions): void {
  describe(`backend contract: ${options.name}`, () => {
    let setup: ContractSetup;
    beforeAll(async () => {
      setup = await options.create();
    });
    afterAll(async () => {
      await setup.teardown();
    });

    it('names itself and its type', () => {
      expect(setup.backend.name).toMatch(/\S/);
      expect(setup.backend.type).toMatch(/^[a-z]+$/);
    });

    it('creates, reads back what it created, and gives only valid ids', async () => {
      const entity = setup.compute();
      const outcome = await setup.backend.create(entity, setup.ctx);
      if (outcome.id !== undefined) expect(checkId(outcome.id)).toBeUndefined();
      const created = placed(entity, outcome);
      await setup.settle();
      const read = await setup.backend.retrieve(created, setup.ctx);
      expect(read).not.toBe('gone');
      expect(typeof read).toBe('object');
      await setup.backend.delete(created, setup.ctx);
    });

    it('changes a title and still has the entity', async () => {
      const entity = setup.compute();
      const created = placed(entity, await setup.backend.create(entity, setup.ctx));
      await setup.settle();
      const renamed = { ...created, title: 'renamed by the contract' };
      const outcome = await setup.backend.update(created, renamed, setup.ctx);
      expect(typeof outcome).toBe('object');
      expect(await setup.backend.retrieve(renamed, setup.ctx)).not.toBe('gone');
      await setup.backend.delete(renamed, setup.ctx);
    });

    it('carries out an action the current state allows, reporting the new state', async () => {
      const entity = setup.compute();
      let created = placed(entity, await setup.backend.create(entity, setup.ctx));
      await setup.settle();
      const read = await setup.backend.retrieve(created, setup.ctx);
      if (read !== 'gone') created = placed(created, read);
      const acted = await setup.backend.action(created, setup.action.id, {}, setup.ctx);
      await setup.settle();
      const after = await setup.backend.retrieve(created, setup.ctx);
      expect(after).not.toBe('gone');
      // A backend that keeps no state of its own (the store) reports it in the action's outcome.
      const state = (after === 'gone' ? undefined : after.attributes?.['occi.compute.state']) ?? acted.attributes?.['occi.compute.state'];
      expect(state).toBe(setup.action.state);
      await setup.backend.delete(created, setup.ctx);
    });

    it('refuses an action the current state does not allow, with a domain error', async () => {
      const entity = setup.compute();
      const created = placed(entity, await setup.backend.create(entity, setup.ctx));
      await setup.settle();
      await setup.backend.action(created, setup.action.id, {}, setup.ctx);
      await setup.settle();
      // Now in the action's target state, the same action no longer applies.
      const now = { ...created, attributes: { ...created.attributes, 'occi.compute.state': setup.action.state } };
      const refusal = await setup.backend.action(now, setup.action.id, {}, setup.ctx).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isOcciError(refusal), String(refusal)).toBe(true);
      expect(['validation', 'conflict']).toContain((refusal as { code: string }).code);
      await setup.backend.delete(created, setup.ctx);
    });

    it('treats deleting what is already gone as done', async () => {
      const entity = setup.compute();
      const created = placed(entity, await setup.backend.create(entity, setup.ctx));
      await setup.settle();
      await setup.backend.delete(created, setup.ctx);
      await setup.settle();
      await expect(setup.backend.delete(created, setup.ctx)).resolves.toBeUndefined();
      if (!options.skip?.gone) expect(await setup.backend.retrieve(created, setup.ctx)).toBe('gone');
    });

    it('creates several in one call, when it offers to, with one outcome per entity in order and no ids', async (t) => {
      if (!setup.backend.createMany) return t.skip();
      const entities = [setup.compute(), setup.compute(), setup.compute()];
      const outcomes = await setup.backend.createMany(entities, setup.ctx);
      expect(outcomes).toHaveLength(entities.length);
      for (const outcome of outcomes) expect(outcome.id).toBeUndefined();
      await setup.settle();
      for (const [i, entity] of entities.entries()) {
        const created = placed(entity, outcomes[i]!);
        expect(await setup.backend.retrieve(created, setup.ctx)).not.toBe('gone');
        await setup.backend.delete(created, setup.ctx);
      }
    });
  });
}
