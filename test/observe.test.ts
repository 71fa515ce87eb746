import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import {
  answerWord,
  isObservation,
  nodeRole,
  OBSERVATIONS,
  observePod,
  type PodFacts,
  PushedDigests,
  pullFailureCause,
  ranExpectedDigest,
  scenarioObservations,
} from '../helpers/framework/observe.ts';
import type { PodVerdict } from '../helpers/framework/pods.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const HOST = 'pullcheck-reg-ab12-public:5000';
const REF = `${HOST}/pullcheck/x-1:t-1`;

function pod(image: string, policy: string, imageID = ''): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: [{ name: 'main', image, imagePullPolicy: policy }] },
    status: { containerStatuses: [{ name: 'main', image, imageID, ready: false, restartCount: 0 }] },
  };
}

function event(reason: string, message = ''): CoreV1Event {
  return { reason, message, involvedObject: { kind: 'Pod', name: 'p' }, metadata: {} };
}

function pushed(...entries: [string, string][]): PushedDigests {
  const p = new PushedDigests();
  for (const [ref, digest] of entries) p.add(ref, digest);
  return p;
}

/** What a pod of `image` expects, had it been created after these pushes. */
const expectedAfter = (image: string, ...entries: [string, string][]) => pushed(...entries).expectedFor(image);
const NONE: ReadonlySet<string> = new Set();

describe('the observation vocabulary', () => {
  it('is closed: every word observePod can return is in it, exit codes as exited:N', () => {
    for (const w of OBSERVATIONS) expect(isObservation(w)).toBe(true);
    expect(isObservation('exited:3')).toBe(true);
    expect(isObservation('exited:0')).toBe(false);
    expect(isObservation(`digest:${D1}`)).toBe(false);
    expect(isObservation('pull-failed:401')).toBe(false);
  });

  it.each([
    [
      'failed to resolve reference "r": unexpected status from HEAD request to https://r/v2/x/manifests/t: 401 Unauthorized',
      'unauthorized',
    ],
    ['failed to authorize: failed to fetch anonymous token: authorization failed', 'unauthorized'],
    ['unexpected status from GET request to https://r/v2/x/manifests/t: 403 Forbidden', 'forbidden'],
    [
      'pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
      'forbidden',
    ],
    [
      'pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
      'unauthorized',
    ],
    ['requested access to the resource is denied', 'forbidden'],
    // CRI-O 1.34 (containers/image): the registry's own message, or its token client's.
    ['initializing source docker://r/x:t: reading manifest t in r/x: authentication required', 'unauthorized'],
    ['initializing source docker://r/x:t: unable to retrieve auth token: invalid username/password: unauthorized', 'unauthorized'],
    ['reading manifest t in r/x: manifest unknown', 'not-found'],
    [
      'choosing an image from manifest list docker://r/x:t: no image found in image index for architecture "amd64", variant "", OS "linux"',
      'no-match',
    ],
    ['failed to resolve reference "r/x:t": r/x:t: not found', 'not-found'],
    ['unexpected status code 404 Not Found', 'not-found'],
    ['MANIFEST_UNKNOWN: manifest unknown', 'not-found'],
    ['tls: failed to verify certificate: x509: certificate signed by unknown authority', 'tls'],
    ['no match for platform in manifest: not found', 'no-match'],
    ['connection refused', 'other'],
  ])('names the cause of %s', (message, cause) => {
    expect(pullFailureCause(message)).toBe(`pull-failed:${cause}`);
  });
});

describe('observePod', () => {
  it('a pod that pulled and ran the pushed image', () => {
    const created = pod(REF, 'Always');
    const verdict: PodVerdict = { kind: 'completed', pod: pod(REF, 'Always', `${HOST}/pullcheck/x-1@${D1}`), exitCode: 0 };
    const events = [event('Pulling', `Pulling image "${REF}"`), event('Pulled', 'Successfully pulled image')];
    expect(observePod({ created, expected: expectedAfter(REF, [REF, D1]), verdict, events })).toEqual([
      'admitted:Always',
      'pulled',
      'ran',
      'digest:pushed',
    ]);
  });

  it('a pod that used the cached image, which is not the one last pushed under its tag (a moved tag)', () => {
    const created = pod(REF, 'IfNotPresent');
    const verdict: PodVerdict = { kind: 'completed', pod: pod(REF, 'IfNotPresent', `${HOST}/pullcheck/x-1@${D1}`), exitCode: 7 };
    const events = [event('Pulled', `Container image "${REF}" already present on machine`)];
    // Created after the tag moved to D2: it should have got D2, and ran the D1 the node had.
    expect(observePod({ created, expected: expectedAfter(REF, [REF, D1], [REF, D2]), verdict, events })).toEqual([
      'admitted:IfNotPresent',
      'cached',
      'exited:7',
      'digest:other',
    ]);
  });

  it('a tag the scenario set itself (:latest) counts a digest pushed to its repository; a digest reference its own', () => {
    const p = pushed([REF, D1]);
    // imageID as containerd reports it: the repository and the digest it ran.
    const ran = (image: string, digest: string) => ranExpectedDigest(`${HOST}/pullcheck/x-1@${digest}`, p.expectedFor(image));
    expect(ran(`${HOST}/pullcheck/x-1:latest`, D1)).toBe(true);
    expect(ran(`${HOST}/pullcheck/x-1@${D1}`, D1)).toBe(true);
    expect(ran(`${HOST}/pullcheck/x-1@${D2}`, D2)).toBe(false);
    // A tag and a digest: the digest is the one expected, whatever the tag.
    expect(ran(`${HOST}/pullcheck/x-1:t-1@${D1}`, D1)).toBe(true);
    expect(ran(`${HOST}/pullcheck/other:t`, D1)).toBe(false);
    // The tag moves after the first pod was created: that pod still expects the first digest.
    const first = p.expectedFor(REF);
    p.add(REF, D2);
    expect([...first]).toEqual([D1]);
    expect([...p.expectedFor(REF)]).toEqual([D2]);
  });

  it('a failed pull: the cause from kubelet’s Failed event, else the waiting message; a Never pod refused', () => {
    const created = pod(REF, 'IfNotPresent');
    const failed: PodVerdict = { kind: 'pull-failed', pod: created, reason: 'ImagePullBackOff', message: 'Back-off pulling image' };
    const events = [
      event('FailedToRetrieveImagePullSecret', 'Unable to retrieve some image pull secrets (regcred)'),
      event('Pulling'),
      event('Failed', `Failed to pull image "${REF}": ... 401 Unauthorized`),
    ];
    expect(observePod({ created, expected: NONE, verdict: failed, events })).toEqual([
      'admitted:IfNotPresent',
      'secret-missing',
      'pulled',
      'pull-failed:unauthorized',
    ]);
    const waiting: PodVerdict = {
      kind: 'pull-failed',
      pod: created,
      reason: 'ErrImagePull',
      message: 'x509: certificate signed by unknown authority',
    };
    expect(observePod({ created, expected: NONE, verdict: waiting, events: [] })).toEqual(['admitted:IfNotPresent', 'pull-failed:tls']);
    const never: PodVerdict = { kind: 'pull-failed', pod: pod(REF, 'Never'), reason: 'ErrImageNeverPull', message: '' };
    expect(observePod({ created: pod(REF, 'Never'), expected: NONE, verdict: never, events: [] })).toEqual([
      'admitted:Never',
      'never-pull',
    ]);
  });

  it('a pod created without waiting records only what the API server admitted', () => {
    expect(observePod({ created: pod(REF, 'Always'), expected: NONE, events: [event('Pulling')] })).toEqual(['admitted:Always']);
  });

  it('orders pods by name, numbers as numbers', () => {
    const facts: PodFacts = { created: pod(REF, 'Always'), expected: NONE, events: [] };
    const pods = new Map([
      ['pod-10', facts],
      ['pod-2', facts],
      ['anonymous', facts],
    ]);
    expect(scenarioObservations(pods).map((o) => o.pod)).toEqual(['anonymous', 'pod-2', 'pod-10']);
  });
});

describe('what is not a pod', () => {
  const origin = 'https://reg:5000';
  const word = (method: string, url: string, status: number) => answerWord({ method, url: new URL(url), status }, origin);

  it('names a registry answer by method, route and status, never the repository, digest or host', () => {
    expect(word('GET', `${origin}/v2/`, 401)).toBe('GET ping 401');
    expect(word('GET', `${origin}/v2/pullcheck/x-1/manifests/t-1`, 200)).toBe('GET manifest 200');
    expect(word('HEAD', `${origin}/v2/a/b/c/manifests/${D1}`, 404)).toBe('HEAD manifest 404');
    expect(word('GET', `${origin}/v2/pullcheck/x-1/blobs/${D1}`, 307)).toBe('GET blob 307');
    expect(word('POST', `${origin}/v2/pullcheck/x-1/blobs/uploads/`, 202)).toBe('POST upload 202');
    expect(word('PATCH', `${origin}/v2/pullcheck/x-1/blobs/uploads/abc-123`, 202)).toBe('PATCH upload 202');
    expect(word('GET', `${origin}/v2/pullcheck/x-1/tags/list`, 200)).toBe('GET tags 200');
    expect(word('GET', 'https://auth:5001/token?service=reg&scope=repository:x:pull', 200)).toBe('GET token 200');
    expect(word('GET', `${origin}/auth?scope=repository:x:pull`, 200)).toBe('GET token 200');
    expect(word('GET', 'https://storage:9000/bucket/blob?sig=1', 200)).toBe('GET storage 200');
  });

  it("a node's role is its name without the cluster's", () => {
    expect(nodeRole('pc-page-worker2', 'pc-page')).toBe('worker2');
    expect(nodeRole('pullcheck-control-plane', 'pullcheck')).toBe('control-plane');
    expect(nodeRole('gke-node-1', 'staging')).toBe('gke-node-1');
  });
});
