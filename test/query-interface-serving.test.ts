/**
 * `GET /-/` is served, not rebuilt (issue 10 item 5): one rendering per registry version and caller
 * view, a strong ETag over its bytes, 304 for a client that has them, and never one caller's view
 * served to another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/authenticate.ts';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const users = [
  { name: 'alice', tenant: 'tenant-a', token: hashToken('alice-token') },
  { name: 'bob', tenant: 'tenant-b', token: hashToken('bob-token') },
  { name: 'olga', operator: true, token: hashToken('olga-token') },
];
const as = (token: string) => ({ 'x-auth-token': token });
const prefix = freshPrefix('qiserve');
let s: RunningServer;

beforeAll(async () => {
  s = await startTestServer({ prefix, overrides: { auth: { mode: 'static', users } } });
});
afterAll(async () => {
  await s?.close();
  await dropDatabases(prefix);
});

describe('GET /-/ served with an ETag', () => {
  it('answers the same bytes with the same strong tag, and 304 to If-None-Match', async () => {
    const first = await call(s.url, 'GET', '/-/', { headers: as('olga-token') });
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const second = await call(s.url, 'GET', '/-/', { headers: as('olga-token') });
    expect(second.headers.get('etag')).toBe(etag);
    expect(second.text).toBe(first.text);
    const again = await call(s.url, 'GET', '/-/', { headers: { ...as('olga-token'), 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    const weak = await call(s.url, 'GET', '/-/', { headers: { ...as('olga-token'), 'if-none-match': `"other", W/${etag!}` } });
    expect(weak.status).toBe(304);
    // Another rendering, another tag.
    const text = await call(s.url, 'GET', '/-/', { headers: { ...as('olga-token'), accept: 'text/plain', 'if-none-match': etag! } });
    expect(text.status).toBe(200);
    expect(text.headers.get('etag')).not.toBe(etag);
    // A filter is part of the view.
    const kinds = await call(s.url, 'GET', '/-/?class=kind', { headers: as('olga-token') });
    expect(kinds.headers.get('etag')).not.toBe(etag);
    expect((kinds.json as { mixins?: unknown[] }).mixins ?? []).toEqual([]);
  });

  it('changes its tag when the registry changes, and keeps each tenant’s tags to the tenant', async () => {
    const before = await call(s.url, 'GET', '/-/', { headers: as('bob-token') });
    const tag = { mixins: [{ term: 'mine', scheme: 'http://example.com/alice#', location: '/alice-mine/' }] };
    expect((await call(s.url, 'POST', '/-/', { body: tag, headers: as('alice-token') })).status).toBe(200);
    const alice = await call(s.url, 'GET', '/-/', { headers: as('alice-token') });
    expect(alice.text).toContain('http://example.com/alice#');
    const bob = await call(s.url, 'GET', '/-/', { headers: { ...as('bob-token'), 'if-none-match': before.headers.get('etag')! } });
    // Bob's view did not change in content, but the registry did: he gets his own view, without Alice's tag.
    expect(bob.text).not.toContain('http://example.com/alice#');
    expect(bob.headers.get('etag')).not.toBe(alice.headers.get('etag'));
    const operator = await call(s.url, 'GET', '/-/', { headers: as('olga-token') });
    expect(operator.text).toContain('http://example.com/alice#');
  });
});
