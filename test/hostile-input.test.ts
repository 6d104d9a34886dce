/**
 * Issue 12: one hostile request must not stall the others. Each request here is at the configured
 * maximum body size, and a second client measures the event-loop delay and its own latency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { STALL_BOUND_MS, whileProbing } from './support/stall.ts';

type Json = Record<string, unknown>;
const COMPUTE = 'http://schemas.ogf.org/occi/infrastructure#compute';
const prefix = freshPrefix('hostile');
let s: RunningServer;
let maxBody: number;

beforeAll(async () => {
  s = await startTestServer({ prefix });
  maxBody = s.services.config.limits.bodyBytes;
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

/** A text/plain body padded with `filler` up to exactly the maximum body size. */
function paddedText(head: string, tail: string, filler = ' '): string {
  const room = maxBody - Buffer.byteLength(head) - Buffer.byteLength(tail);
  return head + filler.repeat(Math.floor(room / filler.length)) + tail;
}

describe('text parsing is linear in the body (issue 12 item 1)', () => {
  const cases: [string, string, string][] = [
    ['a quoted value followed by a long run of spaces', 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nX-OCCI-Attribute: occi.compute.hostname="h"', 'x'],
    ['a bare value followed by a long run of spaces', 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nX-OCCI-Attribute: occi.compute.hostname=h', 'x'],
    ['a Link whose parameters are spaces and one last "<"', 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nLink: ', '<'],
  ];
  for (const [label, head, tail] of cases) {
    it(`${label}: 400 at ${'maximum'} size, other clients keep being answered`, async () => {
      const body = paddedText(head, tail);
      expect(Buffer.byteLength(body)).toBe(maxBody);
      const { result, report } = await whileProbing(s.url, '/-/?class=kind', () =>
        call(s.url, 'POST', '/compute/', { raw: body, headers: { 'content-type': 'text/plain', accept: 'text/plain' } }),
      );
      expect(result.status).toBe(400);
      expect(report.maxDelayMs).toBeLessThan(STALL_BOUND_MS);
      expect(report.slowestProbeMs).toBeLessThan(STALL_BOUND_MS * 2);
    });
  }

  it('a Link line with many attributes is parsed in linear time', async () => {
    const head = 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nLink: </network/x>; rel="http://schemas.ogf.org/occi/infrastructure#network"';
    const body = paddedText(head, '; a=1', '; a1=1');
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () =>
      call(s.url, 'POST', '/compute/', { raw: body, headers: { 'content-type': 'text/plain', accept: 'application/json' } }),
    );
    expect(result.status).toBe(400);
    expect(report.maxDelayMs).toBeLessThan(STALL_BOUND_MS);
  });

  it('a trailing ";" after a value is still tolerated', async () => {
    const res = await call(s.url, 'POST', '/compute/', {
      raw: 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nX-OCCI-Attribute: occi.compute.hostname="semi" ;  \nX-OCCI-Attribute: occi.compute.cores=2 ;\n',
      headers: { 'content-type': 'text/plain', accept: 'application/occi+json' },
    });
    expect(res.status).toBe(201);
    const created = await call(s.url, 'GET', res.headers.get('location')!.replace(s.url, ''));
    expect(((created.json as Json).attributes as Json)['occi.compute.hostname']).toBe('semi');
    expect(((created.json as Json).attributes as Json)['occi.compute.cores']).toBe(2);
  });
});
