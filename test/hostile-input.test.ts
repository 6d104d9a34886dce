/**
 * Issue 12: one hostile request must not stall the others. Each request here is at the configured
 * maximum body size, and a second client measures the event-loop delay and its own latency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';
import { whileProbing } from './support/stall.ts';

type Json = Record<string, unknown>;
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
  ];
  for (const [label, head, tail] of cases) {
    it(`${label}: 400 at ${'maximum'} size, other clients keep being answered`, async () => {
      const body = paddedText(head, tail);
      expect(Buffer.byteLength(body)).toBe(maxBody);
      const { result, report } = await whileProbing(s.url, '/-/?class=kind', () => call(s.url, 'POST', '/compute/', { raw: body, headers: { 'content-type': 'text/plain', accept: 'text/plain' } }));
      expect(result.status).toBe(400);
      expect(report.maxDelayMs).toBeLessThan(report.boundMs);
      expect(report.slowestProbeMs).toBeLessThan(report.boundMs * 2);
    });
  }

  it('a Link line with a megabyte of attributes is refused without parsing each', async () => {
    const head = 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\nLink: </network/x>; rel="http://schemas.ogf.org/occi/infrastructure#network"';
    // Distinct names: each is looked up among those before it.
    const parts = [head];
    let size = Buffer.byteLength(head);
    for (let i = 0; size < maxBody - 32; i++) {
      const part = `; a${i}=1`;
      parts.push(part);
      size += part.length;
    }
    const body = parts.join('');
    expect(parts.length).toBeGreaterThan(50_000);
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () =>
      call(s.url, 'POST', '/compute/', { raw: body, headers: { 'content-type': 'text/plain', accept: 'application/json' } }),
    );
    expect(result.status).toBe(400);
    expect((result.json as Json).detail).toContain('more than 1024 parameters');
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
  });

  it('a flood of X-OCCI-Attribute lines: one answer of bounded size, no stall', async () => {
    const head = 'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n';
    const parts = [head];
    let size = Buffer.byteLength(head);
    for (let i = 0; size < maxBody - 32; i++) {
      const part = `X-OCCI-Attribute: a${i}=1\n`;
      parts.push(part);
      size += part.length;
    }
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () =>
      call(s.url, 'POST', '/compute/', { raw: parts.join(''), headers: { 'content-type': 'text/plain', accept: 'application/json' } }),
    );
    expect(result.status).toBe(400);
    expect(result.text.length).toBeLessThan(64 * 1024);
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
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

describe('error reporting is linear and counts come first (issue 12 item 5)', () => {
  /** `{"resources":[{"target":1}, …]}` with as many invalid items as fit in `bytes`. */
  function invalidItems(bytes: number): { body: string; count: number } {
    const item = '{"target":1}';
    const count = Math.floor((bytes - '{"resources":[]}'.length) / (item.length + 1));
    return { body: `{"resources":[${Array.from({ length: count }, () => item).join(',')}]}`, count };
  }

  it('16,000 invalid items: 413 before any validation, other clients keep being answered', async () => {
    const item = '{"target":1}';
    const body = `{"resources":[${Array.from({ length: 16_000 }, () => item).join(',')}]}`;
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () => call(s.url, 'POST', '/compute/', { raw: body }));
    expect(result.status).toBe(413);
    expect((result.json as Json).detail).toContain('at most 1000 items');
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
  });

  it('a body at the maximum size full of invalid items: 413, no stall', async () => {
    const { body, count } = invalidItems(maxBody);
    expect(count).toBeGreaterThan(16_000);
    const { result, report } = await whileProbing(s.url, '/-/?class=kind', () => call(s.url, 'POST', '/compute/', { raw: body }));
    expect(result.status).toBe(413);
    expect(report.maxDelayMs).toBeLessThan(report.boundMs);
  });

  it('with the item limit lifted, validation stops at the first bad item: linear, no stall', async () => {
    const roomy = await startTestServer({ prefix, overrides: { limits: { itemsPerRequest: 1_000_000 } } });
    try {
      const { body, count } = invalidItems(maxBody);
      expect(count).toBeGreaterThan(16_000);
      const { result, report } = await whileProbing(roomy.url, '/-/?class=kind', () => call(roomy.url, 'POST', '/compute/', { raw: body }));
      expect(result.status).toBe(400);
      const errors = (result.json as { errors: { pointer: string; detail: string }[] }).errors;
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => e.pointer.startsWith('/resources/0/'))).toBe(true);
      expect(report.maxDelayMs).toBeLessThan(report.boundMs);
    } finally {
      await roomy.close();
    }
  });

  it('a small body gets every problem listed, the answer at most 100 of them', async () => {
    const { body } = invalidItems(100 * 13 + 16);
    const res = await call(s.url, 'POST', '/compute/', { raw: body });
    expect(res.status).toBe(400);
    const errors = (res.json as { errors: { pointer: string; detail: string }[] }).errors;
    expect(errors).toHaveLength(101);
    expect(errors.some((e) => e.pointer.startsWith('/resources/40/'))).toBe(true);
    expect(errors.at(-1)!.detail).toMatch(/^and \d+ more problems not listed$/);
  });

  it('a location list or a mixin list longer than the item limit is refused the same way', async () => {
    const locations = Array.from({ length: 1001 }, (_, i) => `/compute/x${i}`);
    expect((await call(s.url, 'POST', '/-/', { body: { mixins: Array.from({ length: 1001 }, (_, i) => ({ term: `m${i}`, scheme: 'http://example.org/many#', location: `/m${i}/` })) } })).status).toBe(
      413,
    );
    expect((await call(s.url, 'PUT', '/compute/', { body: locations })).status).toBe(413);
  });
});
