// `--registry-upstream` and its flags, checked before anything starts (helpers/run/upstream.ts), and
// the certify line `registry serve --kind distribution-proxy` prints (helpers/registry/standalone.ts).
import { describe, expect, it } from '@jest/globals';
import { certifyCommand, UPSTREAM_PASSWORD_ENV } from '../helpers/registry/standalone.ts';
import { upstreamFlags, upstreamOption, upstreamSpec, upstreamTarget } from '../helpers/run/upstream.ts';

describe('--registry-upstream', () => {
  it('reads the URL, the username and the password from the variable it names; the context carries the name, never the password', () => {
    const { upstream } = upstreamOption(
      { registryUpstream: 'up.example:5000', upstreamUsername: 'u', upstreamPasswordEnv: 'UP_PW' },
      { UP_PW: 's3cret' },
    );
    expect(upstream).toEqual({
      url: 'https://up.example:5000',
      host: 'up.example:5000',
      username: 'u',
      passwordEnv: 'UP_PW',
      password: 's3cret',
    });
    const target = upstreamTarget(upstream, (f) => f).upstream;
    expect(JSON.stringify(target)).not.toContain('s3cret');
    expect(upstreamSpec(target, { UP_PW: 's3cret' }).upstream).toEqual({
      url: 'https://up.example:5000',
      host: 'up.example:5000',
      username: 'u',
      password: 's3cret',
    });
  });

  it('refuses what cannot work, each with its fix', () => {
    expect(() => upstreamOption({ registryUpstream: 'http://up' }, {})).toThrow(
      /--registry-upstream http:\/\/up: vendor registries are tested over HTTPS/,
    );
    expect(() => upstreamOption({ registryUpstream: 'up', upstreamUsername: 'u' }, {})).toThrow(/--upstream-password-env VAR/);
    expect(() => upstreamOption({ registryUpstream: 'up', upstreamUsername: 'u', upstreamPasswordEnv: 'NOPE' }, {})).toThrow(
      /--upstream-password-env NOPE: the variable is not set/,
    );
    expect(() => upstreamOption({ registryUpstream: 'up', upstreamCa: '/nonexistent/ca.pem' }, {})).toThrow(
      /--upstream-ca \/nonexistent\/ca.pem does not exist/,
    );
    expect(() => upstreamFlags({ 'upstream-username': 'u' })).toThrow(/need --registry-upstream URL/);
    expect(upstreamOption({}, {})).toEqual({});
  });
});

describe("a cache's certify line", () => {
  it('passes the upstream password through a variable read from its file, the cache password on standard input', () => {
    const line = certifyCommand({
      url: 'https://10.0.0.10:5000',
      caFile: '/tmp/ca.crt',
      username: 'user-cache',
      passwordFile: '/tmp/a/password',
      name: 'pc',
      upstream: { url: 'https://10.0.0.12:5000', username: 'user-up', passwordFile: '/tmp/b/password' },
    });
    expect(line).toBe(
      `${UPSTREAM_PASSWORD_ENV}="$(cat /tmp/b/password)" npx pullcheck certify --registry https://10.0.0.10:5000 --registry-ca /tmp/ca.crt --name pc --registry-username user-cache --registry-password-stdin --registry-upstream https://10.0.0.12:5000 --upstream-ca /tmp/ca.crt --upstream-username user-up --upstream-password-env ${UPSTREAM_PASSWORD_ENV} < /tmp/a/password`,
    );
  });
});
