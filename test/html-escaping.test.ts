import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>&amp;`;
const prefix = freshPrefix('html');
let s: RunningServer;
beforeAll(async () => {
  s = await startTestServer({ prefix });
  const mixin = {
    mixins: [
      {
        term: 'notes',
        scheme: 'http://example.com/x#',
        title: HOSTILE,
        location: '/notes/',
        attributes: { 'com.example.note': { type: 'string', mutable: true, description: HOSTILE, default: HOSTILE } },
      },
    ],
  };
  expect((await call(s.url, 'POST', '/-/', { body: mixin })).status).toBe(200);
  const compute = {
    kind: 'http://schemas.ogf.org/occi/infrastructure#compute',
    id: 'h1',
    title: HOSTILE,
    summary: HOSTILE,
    mixins: ['http://example.com/x#notes'],
    attributes: { 'com.example.note': HOSTILE },
  };
  expect((await call(s.url, 'POST', '/compute/', { body: compute })).status).toBe(201);
});
afterAll(async () => {
  await s.close();
  await dropDatabases(prefix);
});

/** Markup the page itself did not write: any script element, any event handler, the raw payload. */
function assertInert(html: string): void {
  expect(html).not.toContain('<script');
  expect(html).not.toMatch(/<img[^>]*onerror/i);
  expect(html).not.toContain(HOSTILE);
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
}

describe('the HTML rendering of hostile stored values', () => {
  it.each(['/compute/h1', '/compute/', '/notes/', '/-/'])('escapes everything on %s', async (path) => {
    const res = await call(s.url, 'GET', path, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    assertInert(res.text);
  });
});
