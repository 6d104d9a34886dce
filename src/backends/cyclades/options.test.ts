import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { createCycladesBackend, CYCLADES_BACKEND } from './cyclades-backend.ts';
import { parseCycladesOptions } from './options.ts';

const deps = { warn: () => undefined };

describe('cyclades options', () => {
  it('needs identityUrl, naming the backend', () => {
    expect(() => createCycladesBackend({ name: 'okeanos', type: CYCLADES_BACKEND }, deps)).toThrow(ConfigError);
    expect(() => createCycladesBackend({ name: 'okeanos', type: CYCLADES_BACKEND }, deps)).toThrow('[cyclades] backend "okeanos": missing required option "identityUrl"');
    expect(() => createCycladesBackend({ name: 'okeanos', type: CYCLADES_BACKEND, identityUrl: 'accounts.example.org' }, deps)).toThrow(/option "identityUrl" must be an http\(s\) URL/);
  });

  it('has defaults: 10 s timeout, 5 min template TTL, first detachable volume type, the deployment’s networks', () => {
    expect(parseCycladesOptions({ name: 'c', type: 'cyclades', identityUrl: 'https://accounts.example.org/identity/v2.0' })).toEqual({
      identityUrl: 'https://accounts.example.org/identity/v2.0',
      timeoutMs: 10_000,
      templateTtlMs: 300_000,
      volumeType: undefined,
      serverNetworks: 'default',
      jobPollMs: 1000,
      keepFloatingIps: false,
    });
    expect(parseCycladesOptions({ name: 'c', type: 'cyclades', identityUrl: 'http://a/identity/v2.0', timeoutMs: 500, templateTtlMs: 0, volumeType: 2, serverNetworks: 'none' })).toMatchObject({
      timeoutMs: 500,
      templateTtlMs: 0,
      volumeType: '2',
      serverNetworks: 'none',
    });
  });

  it('refuses invalid and unknown options', () => {
    const base = { name: 'okeanos', type: 'cyclades', identityUrl: 'http://a/identity/v2.0' };
    expect(() => parseCycladesOptions({ ...base, timeoutMs: 0 })).toThrow('[cyclades] backend "okeanos": option "timeoutMs" must be a positive integer (ms), not 0');
    expect(() => parseCycladesOptions({ ...base, templateTtlMs: '5m' })).toThrow(/option "templateTtlMs" must be a non-negative integer/);
    expect(() => parseCycladesOptions({ ...base, volumeType: 'archipelago' })).toThrow(/option "volumeType" must be a volume type id/);
    expect(() => parseCycladesOptions({ ...base, serverNetworks: 'public' })).toThrow(/option "serverNetworks" must be "default" or "none"/);
    expect(() => parseCycladesOptions({ ...base, identityURL: 'x' })).toThrow(/unknown option "identityURL"/);
  });

  it('builds a backend of type cyclades under its configured name without contacting anything', () => {
    const backend = createCycladesBackend({ name: 'okeanos', type: CYCLADES_BACKEND, identityUrl: 'http://127.0.0.1:9/identity/v2.0' }, deps);
    expect(backend.name).toBe('okeanos');
    expect(backend.type).toBe('cyclades');
    expect(typeof backend.templates).toBe('function');
  });
});
