import { describe, expect, it } from 'vitest';
import { faultError, transportError } from './faults.ts';
import { isLostAnswer, readRef, writeRef } from './marks.ts';

describe('cyclades marks', () => {
  it('tells a lost answer (Cyclades may have done it) from a refusal (it did not)', () => {
    const fault = (status: number, name: string, message: string) => faultError(status, '', JSON.stringify({ [name]: { code: status, message, details: '' } }), 'compute');
    expect(isLostAnswer(fault(500, 'internalServerError', 'boom'))).toBe(true);
    expect(isLostAnswer(faultError(502, 'Bad Gateway', '<html>proxy</html>', 'compute'))).toBe(true);
    expect(isLostAnswer(transportError(Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'compute', 100))).toBe(true);
    expect(isLostAnswer(transportError(new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }), 'compute', 100))).toBe(true);
    expect(isLostAnswer(fault(503, 'serviceUnavailable', 'No available backends'))).toBe(false);
    expect(isLostAnswer(fault(400, 'badRequest', 'no'))).toBe(false);
    expect(isLostAnswer(fault(413, 'overLimit', 'quota'))).toBe(false);
    expect(isLostAnswer(new Error('not a domain error'))).toBe(false);
  });

  it('keeps the floating IPs it allocated in the entity ref, and reads anything else as none', () => {
    expect(readRef({ ref: writeRef({ floatingIps: ['5001'] })! })).toEqual({ floatingIps: ['5001'] });
    expect(writeRef({})).toBeUndefined();
    expect(readRef({ ref: 'not json' })).toEqual({});
    expect(readRef({})).toEqual({});
  });
});
