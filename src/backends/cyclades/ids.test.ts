import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors.ts';
import { linkEndIds } from './ids.ts';

describe('linkEndIds', () => {
  it('reads the server and the target ids from local paths and from URLs', () => {
    expect(linkEndIds({ source: '/compute/1001', target: 'https://other.example/occi/network/7' }, 'networkinterface', { kind: 'network', object: 'network' }, 'cyc')).toEqual({
      serverId: '1001',
      targetId: '7',
    });
  });

  it('refuses, naming the end, a source that is not a Cyclades compute and a target of the wrong kind', () => {
    const storage = { kind: 'storage', object: 'volume' } as const;
    expect(() => linkEndIds({ source: '/compute/web', target: '/storage/3' }, 'storagelink', storage, 'cyc')).toThrow(ValidationError);
    expect(() => linkEndIds({ source: '/compute/web', target: '/storage/3' }, 'storagelink', storage, 'cyc')).toThrow(
      'the source of a storagelink of backend "cyc" must be a Cyclades compute (/compute/<server id>), not /compute/web',
    );
    expect(() => linkEndIds({ source: '/compute/1', target: undefined }, 'storagelink', storage, 'cyc')).toThrow(
      'the target of a storagelink of backend "cyc" must be a Cyclades storage (/storage/<volume id>), not nothing',
    );
  });
});
