/**
 * @module The store requests ocni makes for an operation, captured from ocni's own store code (its
 * `CouchClient.observe` hook) and sent again directly with nano. The direct side of a comparison is
 * then exactly what ocni asks of the store, whatever ocni's query code looks like this week (a
 * Mango `_find`, a view by keys...), and never a hand-written guess of it.
 */
import type { ServerScope } from 'nano';
import type { CouchClient, CouchRequestRecord } from '../../src/store/couch.ts';

/** Runs `fn` and returns every store request it sent through `client`, in order. */
export async function capture(client: CouchClient, fn: () => Promise<unknown>): Promise<CouchRequestRecord[]> {
  const sent: CouchRequestRecord[] = [];
  const stop = client.observe((record) => sent.push(record));
  try {
    await fn();
  } finally {
    stop();
  }
  return sent;
}

/** Sends one captured request again through nano, as `CouchClient.request` sends it. */
export function replay(couch: ServerScope, record: CouchRequestRecord): Promise<unknown> {
  return couch.relax({ db: record.db, method: record.method, path: record.path, qs: record.qs, body: record.body });
}

/** Sends captured requests again one after the other; resolves with the last answer. */
export async function replayAll(couch: ServerScope, records: CouchRequestRecord[]): Promise<unknown> {
  let last: unknown;
  for (const record of records) last = await replay(couch, record);
  return last;
}

/** One line describing a request, e.g. `POST /db/_find {"selector":…}`, for the report. */
export function describe(record: CouchRequestRecord): string {
  const qs =
    Object.keys(record.qs).length > 0
      ? `?${Object.entries(record.qs)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join('&')}`
      : '';
  const body = record.body === undefined ? '' : ` ${JSON.stringify(record.body)}`;
  return `${record.method.toUpperCase()} /${record.db}/${record.path}${qs}${body}`;
}
