// KEP-2535, "ensure secret pulled images": with IfNotPresent, may a pod use an image the node already
// has without proving it may pull it? kubelet's imagePullCredentialsVerificationPolicy decides. For
// each policy the node's version supports, one worker's kubelet is switched to it (one restart per
// policy, undone afterwards), and each case is its own scenario pinned to that worker:
//
//   no-secret                      pod A pulled the image with Secret `regcred`; pod B names no Secret
//   invalid-secret                 … pod B names a Secret with a wrong password
//   same-secret                    … pod B names `regcred` itself
//   same-credentials-other-secret  … pod B names `regcred-copy`, another Secret with the same credentials
//   preloaded                      an admin imported the image (ctr); kubelet never pulled it; pod B names no Secret
//   allowlisted-*                  (NeverVerifyAllowlistedImages only) the same with an image on the allowlist
//
// Every expectation comes from verificationExpectation (helpers/kubelet/kep2535.ts, kubelet's documented
// rules), fed with the settings the group set and with what the scenario did (pod A pulled with
// `regcred`, or an admin preloaded the image). The node's configz only checks that the settings are
// in force; kubelet's pull record is checked against what the scenario did, never used to expect.
// Each scenario pushes its own image, so that the records kubelet keeps on disk never mix.
import type { CoreV1Event } from '@kubernetes/client-node';
import {
  CredentialVerificationPolicy,
  claim,
  commandLineFeatureGates,
  defineSuite,
  EnsureSecretPulledImagesGate,
  EventReason,
  echoImage,
  gateExists,
  hostPlatform,
  imageName,
  type KubeletConfigGroup,
  type KubeletConfigPlan,
  type KubeletPullSettings,
  kubeletArgv,
  kubeletCredentialHash,
  kubeletVersionMismatch,
  kubeletVersionOf,
  nodeRuntime,
  type PodSecret,
  type PodVerdict,
  type PullHistory,
  PullRecordKeyError,
  platformString,
  policyKebab,
  policyPlan,
  preloadImage,
  pulledRecordPath,
  pullRecordUnderPulledRef,
  type RanExpectation,
  type RegistryCredential,
  type RunEnv,
  readClusterShape,
  readKubeletPullSettings,
  readPullHistory,
  recordUnderPulledRefLine,
  rootDirOf,
  type ScenarioContext,
  UNAUTHORIZED,
  useKubeletConfigChange,
  type VerificationExpectation,
  verificationExpectation,
} from '../helpers/framework/harness.ts';

const SUITE = 'ensure-secret-pulled';

export const suite = defineSuite({
  name: SUITE,
  registries: [{ name: 'private', auth: 'htpasswd' }],
  nodes: 'locked',
  home: 'explicit',
});

/** Repositories under this path are on NeverVerifyAllowlistedImages' allowlist; every other one is not. */
const ALLOWLISTED_BASE = 'pullcheck-allowlisted';
const WRONG_PASSWORD = 'pullcheck-wrong-password';

type PodBSecret = 'none' | 'wrong' | 'same' | 'copy';

interface Case {
  name: string;
  /** How the image comes to the node: kubelet pulls it for pod A with `regcred`, or an admin imports it. */
  origin: 'kubelet-pull' | 'preload';
  podB: PodBSecret;
  allowlisted: boolean;
  /** For the title: what pod B presents. */
  says: string;
}

const CASES: readonly Case[] = [
  { name: 'no-secret', origin: 'kubelet-pull', podB: 'none', allowlisted: false, says: 'pod B without a Secret' },
  {
    name: 'invalid-secret',
    origin: 'kubelet-pull',
    podB: 'wrong',
    allowlisted: false,
    says: 'pod B with a Secret holding a wrong password',
  },
  { name: 'same-secret', origin: 'kubelet-pull', podB: 'same', allowlisted: false, says: 'pod B with the Secret pod A pulled it with' },
  {
    name: 'same-credentials-other-secret',
    origin: 'kubelet-pull',
    podB: 'copy',
    allowlisted: false,
    says: 'pod B with another Secret holding the same credentials',
  },
  { name: 'preloaded', origin: 'preload', podB: 'none', allowlisted: false, says: 'an image an admin preloaded, pod B without a Secret' },
];
const ALLOWLIST_CASES: readonly Case[] = [
  {
    name: 'allowlisted-no-secret',
    origin: 'kubelet-pull',
    podB: 'none',
    allowlisted: true,
    says: 'an allowlisted image pod A pulled with a Secret, pod B without one',
  },
  {
    name: 'allowlisted-preloaded',
    origin: 'preload',
    podB: 'none',
    allowlisted: true,
    says: 'an allowlisted image an admin preloaded, pod B without a Secret',
  },
];

function casesFor(policy: CredentialVerificationPolicy): readonly Case[] {
  return policy === CredentialVerificationPolicy.NeverVerifyAllowlistedImages ? [...CASES, ...ALLOWLIST_CASES] : CASES;
}

function allowlistFor(env: RunEnv, policy: CredentialVerificationPolicy): string[] {
  return policy === CredentialVerificationPolicy.NeverVerifyAllowlistedImages
    ? [`${env.registry('private').host}/${ALLOWLISTED_BASE}/*`]
    : [];
}

/**
 * The last worker, switched to `policy` (with the gate turned on where the version has it off). The
 * last: the other node-changing suites that run beside this one start from the first.
 */
async function planFor(
  env: RunEnv,
  policy: CredentialVerificationPolicy,
  lock: (node: string) => Promise<void>,
): Promise<KubeletConfigPlan> {
  // Its scenarios skip by declaration under AlwaysPullImages: no kubelet change for them.
  if (env.posture.admission.alwaysPullImages)
    return { skip: 'the cluster is declared with AlwaysPullImages', declared: true, rests: ['admission'] };
  const node = (await readClusterShape(env.cluster.kube)).workers.at(-1);
  if (!node)
    return { skip: 'the cluster has no worker to change (a node without a node-role.kubernetes.io/control-plane label)', declared: true };
  // The version the posture declares for the node decides whether KEP-2535 applies; what the node
  // reports only checks it (a kubelet an upgrade left behind fails here, it does not skip).
  const declared = kubeletVersionOf(env.posture, node);
  if (!gateExists(declared))
    return {
      skip: `kubelet ${declared} is declared on ${node} (${env.posture.sources.kubelet}): KEP-2535 (${EnsureSecretPulledImagesGate}) came as alpha in v1.33, so there is no imagePullCredentialsVerificationPolicy`,
      declared: true,
      rests: ['kubelet'],
    };
  await lock(node);
  const argv = await kubeletArgv(env.cluster.nodes, node);
  const current = await readKubeletPullSettings(env.cluster.kube, node);
  const mismatch = kubeletVersionMismatch(env.posture, node, current.kubeletVersion);
  if (mismatch) return { skip: `posture: ${mismatch}` };
  const plan = policyPlan(current, { policy, allowlist: allowlistFor(env, policy) }, commandLineFeatureGates(argv));
  return 'skip' in plan ? plan : { node, argv, patch: plan.patch, note: plan.note };
}

/**
 * The title's expected behaviour: what the rules give on a version with the gate on (v1.35+); on
 * another version the scenario derives and records its own.
 */
function title(policy: CredentialVerificationPolicy, c: Case): string {
  const nominal: KubeletPullSettings = {
    kubeletVersion: 'v1.35+',
    gate: { enabled: true, source: 'default for v1.35+' },
    policy: { value: policy, source: 'configz' },
    allowlist: policy === CredentialVerificationPolicy.NeverVerifyAllowlistedImages ? [`reg/${ALLOWLISTED_BASE}/*`] : [],
  };
  const regcred = { namespace: 'ns', name: 'regcred', uid: 'a', credentialHash: 'good' };
  const podSecrets: Record<PodBSecret, PodSecret[]> = {
    none: [],
    wrong: [{ namespace: 'ns', name: 'wrong', uid: 'b', credentialHash: 'wrong', acceptedByRegistry: false }],
    same: [{ ...regcred, acceptedByRegistry: true }],
    copy: [{ namespace: 'ns', name: 'regcred-copy', uid: 'c', credentialHash: 'good', acceptedByRegistry: true }],
  };
  const history: PullHistory =
    c.origin === 'preload'
      ? { kind: 'no-record' }
      : { kind: 'record', credentials: { nodePodsAccessible: false, secrets: [regcred], serviceAccounts: 0 } };
  const e = verificationExpectation(nominal, {
    ref: `reg/${c.allowlisted ? ALLOWLISTED_BASE : 'pullcheck'}/app:1`,
    history,
    podSecrets: podSecrets[c.podB],
  });
  const outcome =
    e.outcome === 'runs-without-pull'
      ? "runs from the node's copy without a pull"
      : e.outcome === 'pull-fails'
        ? 'must pull it and fails unauthorized'
        : 'pulls it and runs';
  return `${policy}, IfNotPresent, ${c.says}: pod B ${outcome}`;
}

/** A dockerconfigjson Secret in the scenario's namespace, described as kubelet will see it. */
async function createSecret(
  s: ScenarioContext,
  o: { name: string; credential: RegistryCredential; acceptedByRegistry: boolean },
): Promise<PodSecret> {
  const name = await s.pullSecret(o.credential, { name: o.name });
  const secret = await s.env.cluster.kube.core.readNamespacedSecret({ name, namespace: s.namespace });
  return {
    namespace: s.namespace,
    name,
    uid: secret.metadata?.uid ?? '',
    credentialHash: kubeletCredentialHash(o.credential),
    acceptedByRegistry: o.acceptedByRegistry,
  };
}

/** The settings the group set must be the ones kubelet runs with now; otherwise say what it runs with. */
function assertInForce(
  settings: KubeletPullSettings,
  policy: CredentialVerificationPolicy,
  allowlist: readonly string[],
  node: string,
): void {
  const problems = [
    ...(settings.gate.enabled ? [] : [`${EnsureSecretPulledImagesGate} is off (${settings.gate.source})`]),
    ...(settings.policy.value === policy
      ? []
      : [`imagePullCredentialsVerificationPolicy is ${settings.policy.value} (${settings.policy.source}), not ${policy}`]),
    ...(JSON.stringify(settings.allowlist) === JSON.stringify(allowlist)
      ? []
      : [`preloadedImagesVerificationAllowlist is [${settings.allowlist.join(' ')}], not [${allowlist.join(' ')}]`]),
  ];
  if (problems.length > 0)
    throw new Error(`kubelet on ${node} (${settings.kubeletVersion}) does not run with the policy this group set: ${problems.join('; ')}`);
}

/** Pod B's Pulled event, which must say `message`: any other Pulled (a pull where none was due, or none where one was) ends the wait. */
async function pulledSaying(s: ScenarioContext, message: RegExp): Promise<void> {
  const pulled = await s.waitForEvent('pod-b', EventReason.Pulled);
  claim(
    message.test(pulled.message ?? ''),
    () => `kubelet's Pulled event for pod B should match ${message}, but it says: ${pulled.message}`,
  );
}

/** How many times kubelet reported `reason` in `events` (an event's count folds its repeats). */
function timesReported(events: readonly CoreV1Event[], reason: string): number {
  return events.filter((ev) => ev.reason === reason).reduce((n, ev) => n + (ev.count ?? 1), 0);
}

/**
 * Attempts in which kubelet could not read pod B's Secret: its Secret cache gives a new Secret 1 s
 * for its first list (watch_based_manager.go), which a loaded node can miss; kubelet then pulls
 * without it (FailedToRetrieveImagePullSecret) and retries. Such attempts are not the rule's.
 */
function attemptsWithoutTheSecret(s: ScenarioContext, node: string, events: readonly CoreV1Event[]): number {
  const unread = timesReported(events, EventReason.FailedToRetrieveImagePullSecret);
  if (unread > 0)
    s.rule(
      `[${node}] kubelet could not yet read pod B's Secret ${unread === 1 ? 'once' : `${unread} times`} (FailedToRetrieveImagePullSecret) and pulled without it: the verdict rests on kubelet's attempts with the Secret`,
    );
  return unread;
}

/** Pod B's verdict checked against the expectation; a mismatch names the rule it broke. */
async function expectOutcome(
  s: ScenarioContext,
  verdict: PodVerdict,
  e: VerificationExpectation,
  ran: RanExpectation,
  refused: () => Promise<void>,
): Promise<void> {
  const node = verdict.pod.spec?.nodeName ?? '';
  try {
    switch (e.outcome) {
      case 'runs-without-pull': {
        await s.expectRan(verdict, ran);
        await pulledSaying(s, e.presentMessage ?? /already present on machine/);
        // Pulled is recorded where Pulling would have been, so once it is there a Pulling would be too.
        const events = await s.events('pod-b');
        const pulls = timesReported(events, EventReason.Pulling);
        if (pulls > 0 && pulls > attemptsWithoutTheSecret(s, node, events))
          throw new Error('kubelet pulled the image for pod B (a Pulling event), though the node had it and the rule lets pod B use it');
        break;
      }
      case 'pulls-and-runs':
        await s.expectRan(verdict, ran);
        await pulledSaying(s, /Successfully pulled image/);
        break;
      case 'pull-fails':
        await s.expectPullFailure(verdict, UNAUTHORIZED);
        // It went to the registry although the node has the image: that is the check.
        if (timesReported(await s.events('pod-b'), EventReason.Pulling) === 0)
          throw new Error('pod B failed without kubelet trying to pull (no Pulling event)');
        await refused();
        break;
    }
  } catch (error) {
    // Already the one line of its cause (the harness found kubelet's record under another key).
    if (error instanceof PullRecordKeyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`pod B did not do what the KEP-2535 rule says (${e.outcome}).\nrule: ${e.rule}\nwhat happened: ${message}`, {
      cause: error,
    });
  }
}

/** The KEP-2535 settings this policy group set on its node (the gate on, the policy, its allowlist). */
function groupSettings(s: ScenarioContext, node: string, policy: CredentialVerificationPolicy): KubeletPullSettings {
  return {
    kubeletVersion: kubeletVersionOf(s.env.posture, node),
    gate: { enabled: true, source: 'declared' },
    policy: { value: policy, source: 'declared' },
    allowlist: allowlistFor(s.env, policy),
  };
}

async function runCase(s: ScenarioContext, group: KubeletConfigGroup, policy: CredentialVerificationPolicy, c: Case): Promise<void> {
  s.skipIfAlwaysPullImages("what kubelet's credential verification does with pod B's IfNotPresent");
  const { node } = group.ready(s);
  const { nodes, kube } = s.env.cluster;
  // The settings this group set are the expectation; the node's configz only checks they are in force.
  const settings = groupSettings(s, node, policy);
  assertInForce(await readKubeletPullSettings(kube, node), policy, allowlistFor(s.env, policy), node);

  const registry = s.env.registry('private');
  const test = await echoImage(hostPlatform(), s.env.logger);
  const pushed = await s.push(registry, test.image, { repository: s.uniqueRepository(c.allowlisted ? ALLOWLISTED_BASE : undefined) });
  // Registered before anything reaches the node, so that a half-done import or pull is undone too.
  s.removeImageAtEnd(node, pushed.ref);
  const good = registry.credential();
  const rootDir = rootDirOf(await kubeletArgv(nodes, node));

  let regcred: PodSecret | undefined;
  if (c.origin === 'preload') {
    await s.env.logger.phase(`[${s.id}] [${node}] PRELOAD ${pushed.ref}`, () =>
      preloadImage({ nodes, node, ref: pushed.ref, image: test.image, runtime: nodeRuntime(s.env.posture) }),
    );
  } else {
    regcred = await createSecret(s, { name: 'regcred', credential: good, acceptedByRegistry: true });
    const podA = (name: string) =>
      s.runPod({ name, image: pushed.ref, pullPolicy: 'IfNotPresent', nodeName: node, imagePullSecrets: ['regcred'] });
    let a = await podA('pod-a');
    // Pod A only sets the scene. Right after the group's kubelet restart, kubelet's Secret cache may
    // not have `regcred` yet (FailedToRetrieveImagePullSecret, an anonymous pull refused): once more.
    if (a.kind === 'pull-failed' && (await s.events('pod-a')).some((e) => e.reason === EventReason.FailedToRetrieveImagePullSecret)) {
      s.env.logger.warn(
        `[${s.id}] [${node}] kubelet could not yet read Secret regcred for pod-a (its restart for this policy group): pod A again`,
      );
      a = await podA('pod-a-again');
    }
    await s.expectRan(a, { buildId: test.buildId, digest: pushed.digest, platform: platformString(hostPlatform()) });
    await s.waitForEvent(a.pod.metadata?.name ?? '', EventReason.Pulled, /Successfully pulled image/);
  }

  // The facts the rule is applied to, as kubelet keeps them: its pull record of the image (or none).
  const { imageRef, history: underId } = await readPullHistory(nodes, node, rootDir, pushed.ref);
  // kubelet may file its record under the name@digest PullImage answered (CRI-O): its content is
  // checked there, and pod B's outcome decides whether that key made a difference (docs/cri-o.md).
  const elsewhere =
    c.origin !== 'preload' && underId.kind === 'no-record'
      ? await pullRecordUnderPulledRef(nodes, node, rootDir, pushed.ref, pushed.digest)
      : undefined;
  const history = elsewhere?.history ?? underId;
  if (elsewhere) s.observe('pull record', [`under the pulled ref (${elsewhere.path}), none under the image ID ${imageRef}`]);
  // A kubelet pull reports the manifest digest (repo@sha256:…); an imported image has no repo digest
  // in containerd's CRI, so its imageID is the image id itself, where CRI-O names the copied manifest's.
  const ran = {
    buildId: test.buildId,
    digest: c.origin === 'preload' ? imageRef : pushed.digest,
    ...(c.origin === 'preload' ? { importedDigests: [pushed.digest] } : {}),
    platform: platformString(hostPlatform()),
  };
  const recordFile = elsewhere?.path ?? pulledRecordPath(rootDir, imageRef);
  // The credential hashes are cut: they are hashes of the registry password.
  s.collect('pull record', async () =>
    ((await nodes.exec(node, ['cat', recordFile], { allowFailure: true })).stdout || `(no ${recordFile})`).replace(
      /("credentialHash":")([0-9a-f]{12})[0-9a-f]*/g,
      '$1$2…',
    ),
  );
  // What kubelet must know of the image, from what the scenario did: the rule is applied to this,
  // and kubelet's own record (read above) must say the same.
  let expectedHistory: PullHistory = { kind: 'no-record' };
  if (c.origin === 'preload') {
    if (history.kind !== 'no-record')
      throw new Error(`${node}: kubelet has a pull record (${recordFile}) of ${pushed.ref}, which it never pulled`);
  } else {
    if (history.kind === 'record' && history.credentials?.nodePodsAccessible)
      throw new Error(
        `${node}: kubelet's pull record of ${imageName(pushed.ref)} marks it nodePodsAccessible (usable by any pod), though pod A pulled it with Secret ${s.namespace}/regcred (${recordFile})`,
      );
    if (regcred) expectedHistory = { kind: 'record', credentials: { nodePodsAccessible: false, secrets: [regcred], serviceAccounts: 0 } };
    const recorded = history.kind === 'record' ? (history.credentials?.secrets ?? []) : [];
    const mine = recorded.find((r) => r.uid === regcred?.uid);
    if (!mine)
      throw new Error(
        `${node}: kubelet's pull record of ${imageName(pushed.ref)} does not list Secret ${s.namespace}/regcred (${recordFile}: ${JSON.stringify(history)})`,
      );
    // What "same credentials" rests on: kubelet hashes a Secret's credentials as pullcheck does.
    if (mine.credentialHash !== regcred?.credentialHash)
      throw new Error(
        `${node}: kubelet's credential hash of ${s.namespace}/regcred differs from pullcheck's (kubeletCredentialHash no longer matches kubelet ${settings.kubeletVersion})`,
      );
  }

  let podSecrets: PodSecret[] = [];
  if (c.podB === 'same' && regcred) podSecrets = [regcred];
  if (c.podB === 'copy') podSecrets = [await createSecret(s, { name: 'regcred-copy', credential: good, acceptedByRegistry: true })];
  if (c.podB === 'wrong')
    podSecrets = [await createSecret(s, { name: 'wrong', credential: registry.credential(WRONG_PASSWORD), acceptedByRegistry: false })];

  const expected = verificationExpectation(settings, { ref: pushed.ref, history: expectedHistory, podSecrets });
  s.rule(`[${node}] ${expected.rule}`);
  const since = new Date();
  const verdict = await s.runPod({
    name: 'pod-b',
    image: pushed.ref,
    pullPolicy: 'IfNotPresent',
    nodeName: node,
    imagePullSecrets: podSecrets.map((x) => x.name),
  });
  // A refusal of the wrong Secret, not a pull that carried no credential: the registry saw it and refused it.
  const refused = async () => {
    if (c.podB !== 'wrong') return;
    // Until kubelet could read the Secret its pulls carried none: the refusal comes with a retry (backoff 10 s, then 20 s).
    const deadline = Date.now() + attemptsWithoutTheSecret(s, node, await s.events('pod-b')) * 45_000;
    for (;;) {
      try {
        return await s.expectCredentialRefused(registry, { repository: pushed.repository, since });
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  };
  try {
    await expectOutcome(s, verdict, expected, ran, refused);
  } catch (error) {
    if (!elsewhere || error instanceof PullRecordKeyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new PullRecordKeyError(
      recordUnderPulledRefLine({
        node,
        ref: pushed.ref,
        imageRef,
        path: elsewhere.path,
        consequence: `KEP-2535 took the image pod A pulled with a Secret for preloaded: ${message}`,
      }),
      { cause: error },
    );
  }
}

const POLICIES: readonly CredentialVerificationPolicy[] = [
  CredentialVerificationPolicy.NeverVerify,
  CredentialVerificationPolicy.NeverVerifyPreloadedImages,
  CredentialVerificationPolicy.NeverVerifyAllowlistedImages,
  CredentialVerificationPolicy.AlwaysVerify,
];

// A group's cases run side by side on its node: they share its kubelet configuration, change nothing
// else there but their own images (each its own build, so kubelet's pull records never mix), and
// each has its own namespace, Secrets and repository.
const SIDE_BY_SIDE = { concurrency: 3 };

for (const policy of POLICIES) {
  const group = `${SUITE}/${policyKebab(policy)}`;
  suite.section(
    `${SUITE}: imagePullCredentialsVerificationPolicy ${policy} on one worker`,
    () => {
      const kubelet = useKubeletConfigChange(suite, group, (env, lock) => planFor(env, policy, lock));
      for (const c of casesFor(policy)) {
        suite.scenario(`${policyKebab(policy)}/${c.name}`, title(policy, c), { needs: ['node-access'] }, (s) =>
          runCase(s, kubelet, policy, c),
        );
      }
    },
    SIDE_BY_SIDE,
  );
}
