/**
 * @module The write phases: a bulk create of 1,000 against `_bulk_docs` of the same documents, and
 * creates one at a time.
 */
import type { Entity } from '../../src/model/entity.ts';
import type { EntityDoc } from '../../src/store/entity-store.ts';
import { newId } from '../../src/backends/entity-service.ts';
import { JSON_TYPE, repeat, say, type Bench } from './context.ts';
import { fetchJson, median, timed } from './measure.ts';
import { waitIdle } from './procs.ts';
import { num, type Row } from './report.ts';
import { COMPUTE, computeAttributes, computeDoc, computeEntity } from './seed.ts';

const BULK_SIZE = 1000;
// Twelve pairs: on a shared 2-core machine one pair's timings ranged 84-192 ms (ocni) and 47-121 ms
// (the store alone) within one run, and a median of five moved the ratio by a tenth between runs.
const BULK_REPETITIONS = 12;
const BULK_MIN = 3;
const BULK_BUDGET_MS = 40_000;
const SINGLES = 1000;
const SINGLES_MIN = 4;
const SINGLES_BUDGET_MS = 16_000;

/**
 * The store requests of ocni's create, made alone through ocni's own EntityStore (into ocni's
 * database, as ocni would): write the documents, then look up the links of what was created (the
 * response renders them). Best of `tries` for each, since one-off timings on a shared machine are
 * noisy.
 *
 * @returns milliseconds of the write and of the links lookup
 */
async function storeSteps(b: Bench, count: number, tries: number): Promise<[number, number]> {
  let write = Infinity;
  let links = Infinity;
  for (let i = 0; i < tries; i += 1) {
    const entities = Array.from({ length: count }, () => computeEntity(b.registry, newId(), b.counter++));
    await waitIdle(b.busyPids);
    let created: Entity[] = [];
    write = Math.min(write, await timed(async () => (created = await b.entityStore.createMany(entities))));
    links = Math.min(links, await timed(() => b.entityStore.linksFrom(created)));
  }
  return [write, links];
}

/** `POST /compute/` with 1,000 resources against `_bulk_docs` of 1,000 documents. */
export async function measureBulk(b: Bench): Promise<Row> {
  const body = () => JSON.stringify({ resources: Array.from({ length: BULK_SIZE }, () => ({ kind: COMPUTE, attributes: computeAttributes(b.counter++) })) });
  // Direct documents are built before timing: building them is ocni's work, not the store's. They
  // are the documents ocni writes, ids included (ocni's ids are longer than a counter's, and the
  // store's work grows with them: 6-12% for 1,000 documents in three interleaved runs).
  const docs = () => Array.from({ length: BULK_SIZE }, () => computeDoc(b.registry, newId(), b.counter++));
  const viaOcni = async (text: string) => {
    const created = (await fetchJson(`${b.ocni.url}/compute/`, { method: 'POST', headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE }, body: text, expect: 201 })) as { resources?: unknown[] };
    if (created.resources?.length !== BULK_SIZE) throw new Error(`ocni created ${created.resources?.length ?? 0} of ${BULK_SIZE}`);
  };
  const direct = async (list: EntityDoc[]) => {
    const results = await b.writeDb.bulk({ docs: list });
    if (results.some((r) => r.error)) throw new Error('the store refused a bulk document');
  };
  await viaOcni(body());
  await direct(docs());
  const ocniRates: number[] = [];
  const directRates: number[] = [];
  const n = await repeat(
    (i, elapsed) => i < BULK_REPETITIONS && (i < BULK_MIN || elapsed < BULK_BUDGET_MS),
    async (i) => {
      const text = body();
      const list = docs();
      for (const side of i % 2 === 0 ? (['ocni', 'direct'] as const) : (['direct', 'ocni'] as const)) {
        // The store may still be finishing the other side's request; neither side pays for that.
        await waitIdle(b.busyPids);
        const ms = side === 'ocni' ? await timed(() => viaOcni(text)) : await timed(() => direct(list));
        (side === 'ocni' ? ocniRates : directRates).push(BULK_SIZE / (ms / 1000));
      }
    },
  );
  // Where a bulk create's time goes: the store requests ocni's create makes (write the documents,
  // then look up the links of what it created to render them), made here through ocni's own
  // EntityStore so that each can be timed; ocni's HTTP, validation and rendering are the rest.
  const [writeMs, linksMs] = await storeSteps(b, BULK_SIZE, 2);
  b.notes.push(
    `Where a bulk create's time goes: ocni's store requests for ${num(BULK_SIZE)} resources, made alone through its EntityStore (best of 2): write (_bulk_docs) ${num(writeMs)} ms, then the links of the created resources, for the response, ${num(linksMs)} ms; ocni's whole request took a median ${num((BULK_SIZE / median(ocniRates)) * 1000)} ms.`,
  );
  const o = median(ocniRates);
  const d = median(directRates);
  say(`bulk: ocni ${num(o)} items/s, direct ${num(d)} items/s (median of ${n})`);
  return {
    operation: `Bulk create ${num(BULK_SIZE)} in one request (median of ${n}${n < BULK_REPETITIONS ? ', cut by the time budget' : ''})`,
    ocni: `${num(o)} items/s`,
    direct: `${num(d)} items/s`,
    ratio: o / d,
    target: '≥ 0.6×',
    met: o / d >= 0.6,
    key: 'bulk create 1,000',
    value: o,
    unit: 'items/s',
  };
}

/**
 * 1,000 sequential `POST /compute/` against 1,000 sequential single-document inserts, in ABBA
 * blocks: ocni, store, store, ocni. Blocks rather than alternating requests, because the store
 * finishes ocni's heavier requests (and collects their garbage) after answering, and a direct insert
 * right behind each one would pay for it.
 */
export async function measureSingles(b: Bench): Promise<Row> {
  const viaOcni = () =>
    fetchJson(`${b.ocni.url}/compute/`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, accept: JSON_TYPE },
      body: JSON.stringify({ kind: COMPUTE, attributes: computeAttributes(b.counter++) }),
      expect: 201,
    });
  const direct = async () => {
    const doc = computeDoc(b.registry, `single-${b.counter}`, b.counter++);
    return timed(() => b.writeDb.insert(doc));
  };
  await repeat(
    (i, elapsed) => i < 20 && elapsed < 2000,
    async () => {
      await viaOcni();
      await direct();
    },
  );
  let ocniMs = 0;
  let directMs = 0;
  // The first ocni block sets the block size: a quarter of the count, or what fits in its share of
  // the budget; every other block then does exactly as many.
  await waitIdle(b.busyPids);
  const size = await repeat(
    (i, elapsed) => i < SINGLES / 4 && (i < SINGLES_MIN / 2 || elapsed < SINGLES_BUDGET_MS / 2),
    async () => void (ocniMs += await timed(viaOcni)),
  );
  for (const side of ['direct', 'direct', 'ocni'] as const) {
    await waitIdle(b.busyPids);
    for (let i = 0; i < size; i += 1) {
      if (side === 'ocni') ocniMs += await timed(viaOcni);
      else directMs += await direct();
    }
  }
  const n = 2 * size;
  const [writeMs, linksMs] = await storeSteps(b, 1, 5);
  b.notes.push(
    `Where a single create's time goes: ocni's store requests for one resource, made alone through its EntityStore (best of 5): write ${num(writeMs, 1)} ms, then its links ${num(linksMs, 1)} ms; ocni's whole request took a mean ${num(ocniMs / n, 1)} ms.`,
  );
  const o = n / (ocniMs / 1000);
  const d = n / (directMs / 1000);
  say(`one at a time: ocni ${num(o, 1)} items/s, direct ${num(d)} items/s (${n} each)`);
  return {
    operation: `Create ${num(SINGLES)} one at a time (sequential${n < SINGLES ? `; ${n} per side in the time budget` : ''})`,
    ocni: `${num(o, o < 10 ? 2 : 0)} items/s (mean ${num(ocniMs / n, 1)} ms)`,
    direct: `${num(d)} items/s (mean ${num(directMs / n, 1)} ms)`,
    ratio: o / d,
    target: '(reported)',
    met: undefined,
  };
}
