// The matchers a negative scenario's cause is checked with, on containerd's own words as kubelet's
// Failed events carry them (collected from pullcheck runs; REF stands for the image reference).
import {
  NOT_FOUND,
  PULL_ATTEMPT_FAILED,
  pulledWithoutSecretsLine,
  refusalKind,
  SECRET_NOT_READ,
  secretsNotRead,
  UNAUTHORIZED,
  verdictOf,
} from '../helpers/framework/pods.ts';

const REF = 'pullcheck-reg-4a1f2c-private:5000/pullcheck/smoke-private-4a1f2c-1:4a1f2c-smoke-1';
const URL = 'https://pullcheck-reg-4a1f2c-private:5000/v2/pullcheck/smoke-private-4a1f2c-1/manifests/4a1f2c-smoke-1';
const failed = (cause: string) =>
  `Failed to pull image "${REF}": failed to pull and unpack image "${REF}": failed to resolve reference "${REF}": ${cause}`;

const REFUSED = {
  // distribution with htpasswd, no Secret (smoke/private-image-without-credentials-fails).
  'htpasswd, no credentials': failed(
    'pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
  ),
  // distribution with token auth, an anonymous token or one for another repository (registry-token/*).
  'token, insufficient scope': failed(
    'pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
  ),
  // A wrong password at the token realm (registry-token/token-auth-wrong-password-refused).
  'token realm, wrong password': failed(
    'failed to authorize: failed to fetch oauth token: unexpected status from POST request to https://172.18.0.1:40123/token: 401 Unauthorized',
  ),
  // A wrong Basic password (HEAD has no body: the status line alone), verbatim from pc-loop-worker2.
  'htpasswd, wrong password':
    'Failed to pull image "172.31.200.10:5000/collect/echo:v1": failed to pull and unpack image "172.31.200.10:5000/collect/echo:v1": failed to resolve reference "172.31.200.10:5000/collect/echo:v1": unexpected status from HEAD request to https://172.31.200.10:5000/v2/collect/echo/manifests/v1: 401 Unauthorized',
  // A registry refusing with 403 (an authenticated account without the grant).
  forbidden: failed(`unexpected status from HEAD request to ${URL}: 403 Forbidden`),
  // Docker Hub's wording of a refused pull.
  'denied: requested access': failed(
    'pull access denied, repository does not exist or may require authorization: server message: denied: requested access to the resource is denied',
  ),
};

const NOT_FOUND_ANSWERS = {
  // containerd's resolver after a 404 on every host: "<ref>: not found", code NotFound (verbatim, a missing repository).
  'resolver 404':
    'Failed to pull image "172.31.200.10:5000/collect/nothing:v1": rpc error: code = NotFound desc = failed to pull and unpack image "172.31.200.10:5000/collect/nothing:v1": failed to resolve reference "172.31.200.10:5000/collect/nothing:v1": 172.31.200.10:5000/collect/nothing:v1: not found',
  // A registry that quotes its error code in a GET fallback.
  'manifest unknown': failed(`unexpected status from GET request to ${URL}: 404 Not Found: MANIFEST_UNKNOWN: manifest unknown`),
  // A registry that hides a private repository behind a 404, with containerd's may-require-authorization prefix.
  'name unknown behind a 404': failed(
    'pull access denied, repository does not exist or may require authorization: server message: NAME_UNKNOWN: repository name not known to registry: not found',
  ),
};

const OTHER = {
  tls: failed(`failed to do request: Head "${URL}": tls: failed to verify certificate: x509: certificate signed by unknown authority`),
  dns: failed(`failed to do request: Head "${URL}": dial tcp: lookup pullcheck-reg-4a1f2c-private on 172.18.0.1:53: no such host`),
};

describe('UNAUTHORIZED', () => {
  it.each(Object.entries(REFUSED))('matches a 401/403 refusal: %s', (_, message) => {
    expect(UNAUTHORIZED.test(message)).toBe(true);
    expect(NOT_FOUND.test(message)).toBe(false);
    expect(refusalKind(message)).toBe('unauthorized (401/403)');
  });

  it.each(Object.entries(NOT_FOUND_ANSWERS))('does not match a 404, which NOT_FOUND names: %s', (_, message) => {
    expect(UNAUTHORIZED.test(message)).toBe(false);
    expect(NOT_FOUND.test(message)).toBe(true);
    expect(refusalKind(message)).toBe('not found (404)');
  });

  it.each(Object.entries(OTHER))('matches neither for another cause: %s', (_, message) => {
    expect(UNAUTHORIZED.test(message)).toBe(false);
    expect(NOT_FOUND.test(message)).toBe(false);
    expect(refusalKind(message)).toBe('other');
  });

  it('is not fooled by a repository or tag that spells a word of the other', () => {
    const ref = 'reg:5000/team/not-found-unauthorized:v1';
    expect(UNAUTHORIZED.test(`Failed to pull image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`)).toBe(false);
    expect(NOT_FOUND.test(`Failed to pull image "${ref}": unexpected status from HEAD request: 401 Unauthorized`)).toBe(false);
  });
});

describe("kubelet's own pull limiter", () => {
  it('is not the answer a negative scenario judges, nor a verdict: the next attempt, which reached the registry, is', () => {
    expect(PULL_ATTEMPT_FAILED.test(`Failed to pull image "${REF}": pull QPS exceeded`)).toBe(false);
    expect(PULL_ATTEMPT_FAILED.test(failed('unexpected status from HEAD request to x: 401 Unauthorized'))).toBe(true);
    expect(PULL_ATTEMPT_FAILED.test(`Error: ImagePullBackOff`)).toBe(false);
    const waiting = (reason: string, message: string) =>
      verdictOf({
        spec: { containers: [{ name: 'main' }] },
        status: { containerStatuses: [{ name: 'main', state: { waiting: { reason, message } } }] },
      } as never);
    expect(waiting('ErrImagePull', 'pull QPS exceeded')).toBeUndefined();
    expect(waiting('ImagePullBackOff', `Back-off pulling image "${REF}": ErrImagePull: pull QPS exceeded`)).toBeUndefined();
    expect(waiting('ErrImagePull', failed('401 Unauthorized'))?.kind).toBe('pull-failed');
  });
});

describe('a pull kubelet made without a pull Secret it could not read', () => {
  const event = (reason: string, message: string) => ({ reason, message }) as never;

  it('names the Secrets from kubelet FailedToRetrieveImagePullSecret events, once each', () => {
    const events = [
      event('Pulling', `Pulling image "${REF}"`),
      event(
        SECRET_NOT_READ,
        'Unable to retrieve some image pull secrets (regcred-copy, other); attempting to pull the image may not succeed.',
      ),
      event(SECRET_NOT_READ, 'Unable to retrieve some image pull secrets (regcred-copy); attempting to pull the image may not succeed.'),
    ];
    expect(secretsNotRead(events)).toEqual(['regcred-copy', 'other']);
    expect(secretsNotRead([event('Failed', failed('401 Unauthorized'))])).toEqual([]);
  });

  it('is one line naming the node, the pod, the Secret and kubelet lag, not the rule', () => {
    const line = pulledWithoutSecretsLine(
      {
        kind: 'pull-failed',
        reason: 'ErrImagePull',
        message: 'authorization failed: no basic auth credentials',
        pod: { metadata: { name: 'pod-b', namespace: 'ns' }, spec: { nodeName: 'w2', containers: [] } },
      },
      ['regcred-copy'],
    );
    expect(line).toMatch(/^kubelet on w2 could not read pod ns\/pod-b's pull Secret regcred-copy, which exists, and pulled without it/);
    expect(line).toContain('FailedToRetrieveImagePullSecret');
    expect(line).not.toContain('\n');
  });
});
