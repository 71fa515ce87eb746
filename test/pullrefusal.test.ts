// The matchers a negative scenario's cause is checked with, on containerd's own words as kubelet's
// Failed events carry them (collected from pullcheck runs; REF stands for the image reference).
import {
  failedImageOf,
  NOT_FOUND,
  PULL_ATTEMPT_FAILED,
  pulledWithoutSecretsLine,
  pullFailedEventFor,
  refusalKind,
  refusingRegistryHosts,
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
  // A registry refusing with 403 (an authenticated account without the grant): containerd v2.3 follows
  // a HEAD 403 with a GET and joins the registry's JSON errors on the next line (errcode.go, errors.Join).
  forbidden: failed(`unexpected status from HEAD request to ${URL}: 403 Forbidden`),
  'forbidden, with the registry errors': failed(
    `unexpected status from HEAD request to ${URL}: 403 Forbidden\ndenied: requested access to the resource is denied`,
  ),
  // A wrong password at the token realm, after containerd's fallback from POST to GET (authorizer.go v2.3.4).
  'token realm, wrong password, GET': failed(
    'failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://172.18.0.1:40123/token?scope=repository%3Apullcheck%2Fx%3Apull&service=pullcheck-registry-4a1f2c-private: 401 Unauthorized',
  ),
  // A token realm that refuses an anonymous token with 403 (as some vendors' do for a private repository).
  'token realm, anonymous refused': failed(
    'failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth.example.invalid/token?scope=repository%3Ateam%2Fapp%3Apull&service=registry.example.invalid: 403 Forbidden',
  ),
};

/**
 * Words of refusal from a hop that is not the registry nor its token realm, in containerd's own
 * wording (format strings of core/remotes/docker v2.3.4, Go's net/http): none is the registry
 * refusing the credentials, so none may pass for "unauthorized".
 */
const OTHER_HOPS = {
  // An HTTPS proxy refusing the CONNECT: Go's transport returns the status text alone.
  'proxy CONNECT 403': failed(`failed to do request: Head "${URL}": Forbidden`),
  // The same through a proxy that words it in its own status line.
  'proxy CONNECT 407': failed(`failed to do request: Head "${URL}": Proxy Authentication Required`),
  // An image verifier plugin blocking the pull (containerd's image verifier transfer service).
  'image verifier': failed(`image verifier bindir blocked pull of ${REF} with digest sha256:0123 for reason: denied: unsigned image`),
  // Blob storage the registry redirected to refusing the blob (fetcher.go withErrorCheck on the redirected request).
  'storage behind a redirect': `Failed to pull image "${REF}": failed to pull and unpack image "${REF}": failed to copy: httpReadSeeker: failed open: unexpected status from GET request to https://storage.example.invalid/blobs/sha256:0123?sig=x: 403 Forbidden`,
  // Docker's (moby's) wording, not containerd's: no kubelet on containerd prints it.
  "docker's wording": failed(
    'pull access denied, repository does not exist or may require authorization: server message: denied: requested access to the resource is denied',
  ),
  // A token the registry cannot verify: the token service and the registry disagree (a registry fault, not a refusal).
  'invalid token': failed(
    'pull access denied, repository does not exist or may require authorization: server message: invalid_token: authorization failed',
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

  it.each(Object.entries(OTHER_HOPS))("does not take another hop's forbidden or denied for the registry's refusal: %s", (_, message) => {
    expect(UNAUTHORIZED.test(message)).toBe(false);
    expect(refusalKind(message)).toBe('other');
  });

  it('names the registry host that refused, so that a mirror or proxy refusing is told apart', () => {
    expect(refusingRegistryHosts(REFUSED['htpasswd, wrong password'])).toEqual(['172.31.200.10:5000']);
    expect(refusingRegistryHosts(REFUSED.forbidden)).toEqual(['pullcheck-reg-4a1f2c-private:5000']);
    expect(refusingRegistryHosts(REFUSED['htpasswd, no credentials'])).toEqual([]);
    expect(refusingRegistryHosts(REFUSED['token realm, wrong password, GET'])).toEqual([]);
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

describe("kubelet's Failed event must name the image whose pull failed", () => {
  it('matches the quoted image exactly: not another tag, not a longer name, not the limiter', () => {
    const own = pullFailedEventFor(REF);
    expect(own.test(failed('401 Unauthorized'))).toBe(true);
    expect(own.test(failed('401 Unauthorized').replace(`"${REF}"`, `"${REF}0"`))).toBe(false);
    expect(own.test(`Failed to pull image "other:5000/x:1": failed to resolve reference "${REF}": 401 Unauthorized`)).toBe(false);
    expect(own.test(`Failed to pull image "${REF}": pull QPS exceeded`)).toBe(false);
    expect(pullFailedEventFor('reg:5000/a.b/c:1').test('Failed to pull image "reg:5000/aXb/c:1": x')).toBe(false);
  });

  it('is the image of the container that waits with the failure, not the first container', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'main', image: 'reg/a:1' },
          { name: 'second', image: 'reg/b:1' },
        ],
      },
      status: {
        containerStatuses: [
          { name: 'main', state: { terminated: { exitCode: 0 } } },
          { name: 'second', state: { waiting: { reason: 'ErrImagePull', message: 'x' } } },
        ],
      },
    };
    expect(failedImageOf({ kind: 'pull-failed', pod, reason: 'ErrImagePull', message: 'x' } as never)).toBe('reg/b:1');
  });
});
