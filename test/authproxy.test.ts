import { describe, expect, it } from '@jest/globals';
import { decide } from '../helpers/registry/authproxy.ts';

const host = '172.31.0.1';

describe('the mutation kit’s faulty registry fronts', () => {
  it('auth-on-ping-only guards the ping alone and lends its credentials to everything else', () => {
    expect(decide('auth-on-ping-only', { path: '/v2/', authorization: undefined, remoteAddress: host, host })).toMatchObject({
      forward: false,
      status: 401,
    });
    expect(decide('auth-on-ping-only', { path: '/v2/', authorization: 'Basic x', remoteAddress: host, host })).toEqual({
      forward: true,
      addCredentials: false,
    });
    expect(decide('auth-on-ping-only', { path: '/v2/p/manifests/1', authorization: undefined, remoteAddress: '172.31.0.3', host })).toEqual(
      {
        forward: true,
        addCredentials: true,
      },
    );
  });

  it('refuses-the-nodes admits the host (also as an IPv4-mapped address) and denies any other address', () => {
    const ask = (remoteAddress: string) =>
      decide('refuses-the-nodes', { path: '/v2/p/manifests/1', authorization: 'Basic x', remoteAddress, host });
    expect(ask(host)).toEqual({ forward: true, addCredentials: false });
    expect(ask(`::ffff:${host}`)).toEqual({ forward: true, addCredentials: false });
    const denied = ask('172.31.0.3');
    expect(denied).toMatchObject({ forward: false, status: 403 });
    expect(denied.forward === false && denied.body).toContain('DENIED');
  });
});

describe('hostSourceAddress', () => {
  it('learns the address this host connects from', async () => {
    const { hostSourceAddress } = await import('../helpers/registry/authproxy.ts');
    expect(await hostSourceAddress('127.0.0.1')).toBe('127.0.0.1');
  });
});
