import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_IMAGE_ID } from '../../../test/cyclades-sim/simulator.ts';
import { createCycladesBackend } from './cyclades-backend.ts';
import { faultError } from './faults.ts';
import { computeEntity, osTpl, resourceTpl, startHarness, type Harness, matching } from './test-harness.ts';

/** Every fault shape of §5 item 20: name, status, the domain code it must become. */
const SHAPES: [string, number, string][] = [
  ['badRequest', 400, 'validation'],
  ['itemNotFound', 404, 'not-found'],
  ['buildInProgress', 409, 'conflict'],
  ['conflict', 409, 'conflict'],
  ['overLimit', 413, 'payload-too-large'],
  ['forbidden', 403, 'forbidden'],
  ['resizeNotAllowed', 403, 'forbidden'],
  ['notImplemented', 501, 'not-implemented'],
  ['unauthorized', 401, 'unauthorized'],
  ['serviceUnavailable', 503, 'backend-unavailable'],
  ['internalServerError', 500, 'backend-failed'],
  ['fault', 400, 'validation'],
  ['fault', 404, 'not-found'],
  ['fault', 409, 'conflict'],
  ['fault', 413, 'payload-too-large'],
  ['fault', 500, 'backend-failed'],
  ['fault', 502, 'backend-failed'],
  ['fault', 503, 'backend-unavailable'],
];

describe('cyclades faults over HTTP', () => {
  let h: Harness;
  beforeEach(async () => {
    // A bound generous enough for a loaded machine: these tests are about shapes, not time (a
    // 300 ms bound made the first request of a run time out under load).
    h = await startHarness({ timeoutMs: 5000 }, { seed: { defaultServerNetworks: [] } });
  });
  afterEach(async () => {
    await h.close();
  });

  it.each(SHAPES)('%s (%i) becomes %s and keeps Cyclades’ message', async (name, status, code) => {
    const message = `message of ${name} ${status}`;
    await h.control('POST', '/_sim/fault', { method: 'POST', pathRegex: '^/compute/v2\\.0/servers$', status, body: { [name]: { code: status, message, details: '' } } });
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]), h.ctx())).rejects.toMatchObject({ code, message });
  });

  it('maps non-JSON and empty error bodies without crashing', async () => {
    await h.control('POST', '/_sim/fault', { pathRegex: '/images/detail$', status: 502, body: '<html><body>Bad Gateway</body></html>', contentType: 'text/html' });
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({
      code: 'backend-failed',
      message: 'Cyclades compute answered 502 Bad Gateway with a non-JSON body: <html><body>Bad Gateway</body></html>',
    });
    h.tick(10_000);
    await h.control('POST', '/_sim/fault', { pathRegex: '/images/detail$', status: 503, body: 'upstream down' });
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-unavailable', message: matching(/503 Service Unavailable with a non-JSON body: upstream down/) });
    h.tick(10_000);
    await h.control('POST', '/_sim/fault', { pathRegex: '/images/detail$', status: 500, body: '' });
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-failed', message: 'Cyclades compute answered 500 Internal Server Error with no Cyclades fault' });
    h.tick(10_000);
    await h.control('POST', '/_sim/fault', { pathRegex: '/images/detail$', status: 200, body: 'not json at all' });
    await expect(h.backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-failed', message: matching(/non-JSON body: not json at all/) });
    // The backend still works afterwards (once the failure is no longer remembered).
    h.tick(10_000);
    await expect(h.backend.templates(h.ctx())).resolves.toHaveLength(12); // 2 images + 5 flavors by id, the 5 flavors by snf-occi name
  });

  it('times out slow answers as backend-timeout, within the configured timeout', async () => {
    await h.close();
    h = await startHarness({ timeoutMs: 1000 }, { seed: { defaultServerNetworks: [] } });
    await h.backend.templates(h.ctx());
    await h.control('POST', '/_sim/latency', { ms: 4000, pathRegex: '^/compute/' });
    const started = Date.now();
    await expect(h.backend.create(computeEntity([osTpl(DEBIAN_IMAGE_ID), resourceTpl(1)]), h.ctx())).rejects.toMatchObject({
      code: 'backend-timeout',
      message: 'Cyclades compute did not answer within 1000 ms',
    });
    expect(Date.now() - started).toBeLessThan(3500);
    await h.control('POST', '/_sim/latency', { ms: 0 });
  });

  it('answers backend-unavailable when Cyclades cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const backend = createCycladesBackend({ name: 'dead', type: 'cyclades', identityUrl: `http://127.0.0.1:${port}/identity/v2.0`, timeoutMs: 1000 }, { warn: () => undefined });
    await expect(backend.templates(h.ctx())).rejects.toMatchObject({ code: 'backend-unavailable', message: matching(/^Cyclades identity cannot be reached \(ECONNREFUSED\)/) });
  });
});

describe('faultError', () => {
  it('keeps readable details, prefers Astakos’ message inside a wrapped rejection, drops tracebacks', () => {
    expect(
      faultError(
        413,
        'Request Entity Too Large',
        JSON.stringify({ overLimit: { code: 413, message: 'Resource Limit Exceeded for your account.', details: "Limit for resource 'CPU' exceeded" } }),
        'compute',
      ),
    ).toMatchObject({
      code: 'payload-too-large',
      message: "Resource Limit Exceeded for your account. (Limit for resource 'CPU' exceeded)",
    });
    const wrapped = JSON.stringify({ fault: { code: 401, message: 'UNAUTHORIZED', details: JSON.stringify({ unauthorized: { code: 401, message: 'User inactive', details: '' } }) } });
    expect(faultError(401, 'Unauthorized', wrapped, 'compute')).toMatchObject({ code: 'unauthorized', message: 'User inactive' });
    expect(
      faultError(500, 'Internal Server Error', JSON.stringify({ internalServerError: { code: 500, message: 'Unexpected error', details: 'Traceback (most recent call last): ...' } }), 'compute'),
    ).toMatchObject({ code: 'backend-failed', message: 'Unexpected error' });
    expect(faultError(404, 'Not Found', JSON.stringify({ featureNotEnabled: { code: 404, message: 'Rescue feature is not enabled', details: '' } }), 'compute')).toMatchObject({
      code: 'not-implemented',
    });
    expect(faultError(405, 'Method Not Allowed', JSON.stringify({ notAllowed: { code: 405, message: 'Method not allowed', details: '' } }), 'compute')).toMatchObject({ code: 'backend-failed' });
  });
});
