// npm run mutants [-- --only NAME[,NAME]] [--cheap] [--list] [--name CLUSTER]
//
// The mutation kit: ways to break a kind cluster, one documented rule each, across the layers a pull
// goes through (API server admission, kubelet configuration, node runtime, node credentials). Each
// mutant is applied to a fresh kind cluster (pullcheck-mutants), the suites it concerns run against
// it with `pullcheck run --kubeconfig` (`--name`: another kind cluster), and the mutant counts as caught only when the named
// scenarios fail with the cause in their first line. Every mutant is undone before the next; the
// cluster is deleted at the end, whatever happens. Exit 0: every mutant caught.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { admittedPolicy, changeApiServer, withAdmissionPlugin } from '../helpers/cluster/apiserver.ts';
import type { Cluster } from '../helpers/cluster/cluster.ts';
import { providerFor } from '../helpers/cluster/provider.ts';
import { readClusterShape } from '../helpers/cluster/shape.ts';
import { cacheDir } from '../helpers/infra/cache.ts';
import { interrupted, onInterrupt } from '../helpers/infra/lifecycle.ts';
import { defaultLogFile, Logger } from '../helpers/infra/log.ts';
import { changeKubeletConfig, type KubeletConfigChange } from '../helpers/kubelet/config.ts';
import { EnsureSecretPulledImagesGate } from '../helpers/kubelet/kep2535.ts';
import { nodeConfigJson, restartKubelet } from '../helpers/kubelet/nodecreds.ts';
import { DEFAULT_KUBELET_ROOT_DIR } from '../helpers/kubelet/process.ts';
import { type ProxyFault, startFaultyProxy } from '../helpers/registry/authproxy.ts';
import { startStandalone } from '../helpers/registry/standalone.ts';
import type { RunResults, ScenarioRecord } from '../helpers/report/schema.ts';
import { FAILING, summaryLine, tally } from '../helpers/report/verdict.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_CLUSTER = 'pullcheck-mutants';

interface Ctx {
  cluster: Cluster;
  logger: Logger;
  workers: string[];
  controlPlane: string;
}

interface Mutant {
  name: string;
  layer: 'API server admission' | 'kubelet configuration' | 'node runtime' | 'node credentials' | 'registry' | 'declaration';
  /** The documented rule the broken cluster violates. */
  rule: string;
  /** Cheap enough for every CI run (no API server restart). */
  cheap: boolean;
  /** `pullcheck run` selection. */
  suites: string[];
  focus: string;
  /**
   * Scenarios that must fail, each with the cause its first line must name; `blocked`: the run's
   * posture check found the cause first, and the scenario is blocked by it instead of failing alone.
   */
  expect: { scenario: string; headline: RegExp; blocked?: boolean }[];
  /** When set, every other red scenario of the selection must be blocked, its first line matching this. */
  othersBlockedBy?: RegExp;
  /** When set, the run must also report a failing finding before the suites whose line matches this. */
  finding?: RegExp;
  /** Breaks the cluster (or stands up a broken registry); returns how to undo it, and `pullcheck run` arguments. */
  apply(c: Ctx): Promise<(() => Promise<void>) | Applied>;
}

interface Applied {
  undo(): Promise<void>;
  /** More `pullcheck run` arguments (a vendor registry), and its standard input. */
  args: string[];
  input?: string;
}

/**
 * A vendor-like registry over TLS with its own CA, at an address the host and the nodes both reach
 * (helpers/registry/standalone.ts), for `pullcheck run --registry`. `none`: distribution without an
 * `auth:` section, which takes any credentials and enforces none (a vendor's registry with auth
 * switched off), so the run is given some.
 */
async function mutantRegistry(c: Ctx, auth: 'none' | 'htpasswd'): Promise<Applied & { host: string; username: string; password: string }> {
  const registry = await startStandalone({
    kind: auth === 'htpasswd' ? 'distribution-htpasswd' : 'distribution-anonymous',
    nodes: c.cluster.nodeNames,
    logger: c.logger,
  });
  const username = registry.username ?? 'mutant';
  const password = registry.password ?? 'any-password-will-do';
  return {
    args: ['--registry', registry.url, '--registry-username', username, '--registry-password-stdin', '--registry-ca', registry.caFile],
    input: password,
    host: registry.host,
    username,
    password,
    undo: () => registry.stop(),
  };
}

/** The mutant's change to the cluster's own API server (helpers/cluster/apiserver.ts). */
function apiServer(c: Ctx, what: string, edit: (yaml: string) => string, applied: () => Promise<boolean>): Promise<() => Promise<void>> {
  return changeApiServer({ nodes: c.cluster.nodes, controlPlane: c.controlPlane, logger: c.logger, what, edit, applied });
}

/** A server-side dry run of a pod: admission runs, nothing is stored. */
async function dryRunPod(c: Ctx) {
  return c.cluster.kube.core.createNamespacedPod({
    namespace: 'default',
    dryRun: 'All',
    body: { metadata: { name: 'mutant-probe' }, spec: { containers: [{ name: 'main', image: 'pullcheck.invalid/probe:1' }] } },
  });
}

/** Changes every worker's kubelet configuration; the undo restores each. */
async function changeKubelets(
  c: Ctx,
  fields: Record<string, unknown>,
  featureGates: Record<string, boolean> | undefined,
  who: string,
): Promise<() => Promise<void>> {
  const changes: KubeletConfigChange[] = [];
  try {
    for (const node of c.workers) {
      changes.push(
        await changeKubeletConfig({
          nodes: c.cluster.nodes,
          kube: c.cluster.kube,
          node,
          logger: c.logger,
          who,
          patch: { fields, ...(featureGates ? { featureGates } : {}) },
        }),
      );
    }
  } catch (error) {
    for (const ch of changes.reverse()) await ch.restore();
    throw error;
  }
  return async () => {
    for (const ch of changes.reverse()) await ch.restore();
  };
}

/** The leak itself, behind the posture line that explains it (the run names the kubelet mismatch first). */
const LEAK =
  /^blocked: the cluster is not what its posture declares \(kubelet does not run as declared .*\); then: .*should have failed to pull .* but it ran to the end/;

/** The pull probe's line for a worker whose containerd does not read certs.d (so not the run's CA). */
const PROBE_X509 = /^blocked: the pull probe found before the suites that \S+-worker cannot pull from pullcheck's registries .*x509/;

/** A posture file for `--posture`: the declaration is the mutant, the cluster is left alone. */
function declaring(yaml: string): Applied {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-posture-'));
  const file = join(dir, 'posture.yaml');
  writeFileSync(file, yaml);
  return { args: ['--posture', file], undo: async () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * htpasswd distribution on a network of its own, and in front of it (on that network's gateway,
 * which nodes and the host both reach) a proxy with one fault (helpers/registry/authproxy.ts).
 */
async function faultyRegistry(c: Ctx, fault: ProxyFault): Promise<Applied> {
  const registry = await startStandalone({ kind: 'distribution-htpasswd', nodes: c.cluster.nodeNames, logger: c.logger });
  const username = registry.username ?? '';
  const password = registry.password ?? '';
  const proxy = await startFaultyProxy({
    fault,
    upstream: { host: registry.host, caPem: registry.caPem, username, password },
    listenHost: registry.network.gateway,
    logger: c.logger,
  }).catch(async (e: unknown) => {
    await registry.stop();
    throw e;
  });
  return {
    args: ['--registry', proxy.url, '--registry-username', username, '--registry-password-stdin', '--registry-ca', proxy.caFile],
    input: password,
    undo: async () => {
      await proxy.stop();
      await registry.stop();
    },
  };
}

/** The probe's line when every node fails one registry and pulls from pullcheck's own: the registry's fault. */
const PROBE_REGISTRY_AT_FAULT =
  /^blocked: the pull probe found before the suites that every node fails to pull from the registry \S+: .*denied.*, and each pulls from pullcheck: the registry is at fault, not the nodes; then: /;

const MUTANTS: Mutant[] = [
  {
    name: 'posture-declared-wrong',
    layer: 'declaration',
    rule: 'expectations come from the declared posture, and the run checks the cluster against it: a declaration the cluster does not match fails the run, never passes it with nothing tested',
    cheap: true,
    suites: ['posture', 'pre-pulled'],
    focus: '^(posture/always-pull-images|pre-pulled/ifnotpresent-runs-without-credentials)$',
    expect: [
      { scenario: 'posture/always-pull-images', headline: /does not run AlwaysPullImages.*declares it on/ },
      {
        scenario: 'pre-pulled/ifnotpresent-runs-without-credentials',
        headline: /^blocked: the cluster is not what its posture declares \(the cluster's API server does not run AlwaysPullImages/,
        blocked: true,
      },
    ],
    apply: async () => declaring('admission:\n  alwaysPullImages: true\n'),
  },
  {
    name: 'registry-auth-off',
    layer: 'registry',
    rule: 'a private registry refuses a pull without credentials (401): a registry certified with credentials must enforce them',
    cheap: false,
    suites: ['smoke'],
    focus: '^smoke/private-image-without-credentials-fails$',
    expect: [
      {
        scenario: 'smoke/private-image-without-credentials-fails',
        headline:
          /^blocked: the pull probe found before the suites that the registry .* serves its private images to anyone: .*answered 200; then: .*should have failed to pull .*but it ran to the end/,
        blocked: true,
      },
    ],
    apply: (c) => mutantRegistry(c, 'none'),
  },
  {
    name: 'registry-auth-on-ping-only',
    layer: 'registry',
    rule: 'a private registry refuses every read of a private repository without credentials (manifests and blobs), not only GET /v2/',
    cheap: false,
    suites: ['registry'],
    focus: '^registry/anonymous-manifest-and-blob-refused$',
    expect: [
      {
        // Its own client saw the leak (it runs no pod): a failure of its own, beside the probe's finding.
        scenario: 'registry/anonymous-manifest-and-blob-refused',
        headline:
          /^the private registry \S+ must refuse every read .* but it served a client without credentials: GET \/v2\/\S+\/manifests\/\S+ answered 200/,
      },
    ],
    finding: /^the registry \S+ serves its private images to anyone: every node pulled one with no pull Secret/,
    apply: (c) => faultyRegistry(c, 'auth-on-ping-only'),
  },
  {
    name: 'registry-refuses-the-nodes',
    layer: 'registry',
    rule: 'when every node fails against one registry and pulls from another, the cause is that registry, named once, not each node',
    cheap: false,
    suites: ['registry'],
    focus: '^registry/node-pulls-(oci-manifest|docker-manifest)-from-private$',
    expect: [
      { scenario: 'registry/node-pulls-oci-manifest-from-private', headline: PROBE_REGISTRY_AT_FAULT, blocked: true },
      { scenario: 'registry/node-pulls-docker-manifest-from-private', headline: PROBE_REGISTRY_AT_FAULT, blocked: true },
    ],
    othersBlockedBy: PROBE_REGISTRY_AT_FAULT,
    apply: (c) => faultyRegistry(c, 'refuses-the-nodes'),
  },
  {
    name: 'node-config-json-covers-registry',
    layer: 'node credentials',
    rule: "a pod without a pull Secret cannot pull a private image, unless a node credential covers the registry: a node's config.json gives every pod on it the registry",
    cheap: false,
    suites: ['smoke'],
    focus: '^smoke/',
    expect: [
      {
        scenario: 'smoke/private-image-without-credentials-fails',
        headline:
          /^blocked: the pull probe found before the suites that \S+-worker, \S+-worker2 pulled a private image from the registry .* with no pull Secret: a credential of the node's own/,
        blocked: true,
      },
    ],
    othersBlockedBy: /with no pull Secret/,
    apply: async (c) => {
      const registry = await mutantRegistry(c, 'htpasswd');
      const { nodes } = c.cluster;
      const file = `${DEFAULT_KUBELET_ROOT_DIR}/config.json`;
      const config = nodeConfigJson([{ server: registry.host, username: registry.username, password: registry.password }]);
      try {
        for (const node of c.workers) {
          await nodes.writeFile(node, file, config);
          await restartKubelet(nodes, c.cluster.kube, node);
        }
      } catch (error) {
        await registry.undo();
        throw error;
      }
      return {
        ...registry,
        undo: async () => {
          for (const node of c.workers) {
            await nodes.exec(node, ['rm', '-f', file]);
            await restartKubelet(nodes, c.cluster.kube, node);
          }
          await registry.undo();
        },
      };
    },
  },
  {
    name: 'kubelet-never-verify-undeclared',
    layer: 'kubelet configuration',
    rule: 'KEP-2535 (default NeverVerifyPreloadedImages): an image kubelet pulled with a Secret is not used for a pod without credentials',
    cheap: true,
    suites: ['posture', 'pre-pulled'],
    focus: '^(posture/kubelet-credential-verification|pre-pulled/kubelet-pulled-image-needs-credentials)$',
    expect: [
      {
        scenario: 'posture/kubelet-credential-verification',
        headline: /imagePullCredentialsVerificationPolicy=NeverVerify .*declared NeverVerifyPreloadedImages/,
      },
      { scenario: 'pre-pulled/kubelet-pulled-image-needs-credentials', headline: LEAK, blocked: true },
    ],
    apply: (c) => changeKubelets(c, { imagePullCredentialsVerificationPolicy: 'NeverVerify' }, undefined, 'mutant kubelet-never-verify'),
  },
  {
    name: 'kubelet-gate-off-undeclared',
    layer: 'kubelet configuration',
    rule: `${EnsureSecretPulledImagesGate} is on by default from v1.35: pods must prove they may use an image another pod pulled with a Secret`,
    cheap: false,
    suites: ['posture', 'pre-pulled'],
    focus: '^(posture/kubelet-credential-verification|pre-pulled/kubelet-pulled-image-needs-credentials)$',
    expect: [
      {
        scenario: 'posture/kubelet-credential-verification',
        headline: new RegExp(`${EnsureSecretPulledImagesGate}=false .*declared true`),
      },
      { scenario: 'pre-pulled/kubelet-pulled-image-needs-credentials', headline: LEAK, blocked: true },
    ],
    apply: (c) => changeKubelets(c, {}, { [EnsureSecretPulledImagesGate]: false }, 'mutant kubelet-gate-off'),
  },
  {
    name: 'containerd-ignores-certs-d',
    layer: 'node runtime',
    rule: "a node trusts a registry through containerd's certs.d hosts.toml (its CA): pulls over TLS verify against it",
    cheap: true,
    suites: ['pull-policy'],
    focus: '^pull-policy/',
    expect: [
      {
        scenario: 'pull-policy/always-repulls-moved-tag',
        headline: PROBE_X509,
        blocked: true,
      },
    ],
    // One cause, one line: every other red scenario of the suite is blocked by the same probe finding.
    othersBlockedBy: PROBE_X509,
    apply: async (c) => {
      const node = c.workers[0] ?? '';
      const { nodes } = c.cluster;
      const config = '/etc/containerd/config.toml';
      const original = (await nodes.exec(node, ['cat', config])).stdout;
      if (!original.includes('/etc/containerd/certs.d')) throw new Error(`${node}: ${config} does not name /etc/containerd/certs.d`);
      await nodes.writeFile(node, config, original.replaceAll('/etc/containerd/certs.d', '/etc/containerd/certs.d.mutant'));
      await nodes.exec(node, ['systemctl', 'restart', 'containerd']);
      return async () => {
        await nodes.writeFile(node, config, original);
        await nodes.exec(node, ['systemctl', 'restart', 'containerd']);
      };
    },
  },
  {
    name: 'node-credential-provider-undeclared',
    layer: 'node credentials',
    rule: 'kubelet runs credential provider plugins only where the posture declares them (they give every pod on the node credentials)',
    cheap: false,
    suites: ['posture'],
    focus: '^posture/credential-providers$',
    expect: [
      {
        scenario: 'posture/credential-providers',
        headline: /credential providers are declared absent .*kubelet runs with --image-credential-provider-config/,
      },
    ],
    apply: async (c) => {
      const { nodes } = c.cluster;
      const flags = '/var/lib/kubelet/kubeadm-flags.env';
      const originals = new Map<string, string>();
      // One provider for images nobody pulls, its binary a stand-in: kubelet checks the binary exists.
      const provider = [
        'apiVersion: kubelet.config.k8s.io/v1',
        'kind: CredentialProviderConfig',
        'providers:',
        '  - name: mutant-provider',
        '    apiVersion: credentialprovider.kubelet.k8s.io/v1',
        '    matchImages: ["*.mutant.invalid"]',
        '    defaultCacheDuration: 1m',
        '',
      ].join('\n');
      for (const node of c.workers) {
        const original = (await nodes.exec(node, ['cat', flags])).stdout;
        originals.set(node, original);
        await nodes.writeFile(node, '/etc/kubernetes/mutant-credential-providers.yaml', provider);
        await nodes.exec(node, [
          'sh',
          '-c',
          'mkdir -p /etc/kubernetes/mutant-credential-providers && ln -sf /bin/true /etc/kubernetes/mutant-credential-providers/mutant-provider',
        ]);
        await nodes.writeFile(
          node,
          flags,
          original.replace(
            /"\s*$/,
            ' --image-credential-provider-config=/etc/kubernetes/mutant-credential-providers.yaml --image-credential-provider-bin-dir=/etc/kubernetes/mutant-credential-providers"\n',
          ),
        );
        await nodes.exec(node, ['systemctl', 'restart', 'kubelet']);
      }
      return async () => {
        for (const [node, original] of originals) {
          await nodes.writeFile(node, flags, original);
          await nodes.exec(node, [
            'rm',
            '-rf',
            '/etc/kubernetes/mutant-credential-providers.yaml',
            '/etc/kubernetes/mutant-credential-providers',
          ]);
          await nodes.exec(node, ['systemctl', 'restart', 'kubelet']);
        }
      };
    },
  },
  {
    name: 'apiserver-always-pull-images-undeclared',
    layer: 'API server admission',
    rule: 'AlwaysPullImages is not among the default admission plugins: a cluster that runs it must declare it (every IfNotPresent pod becomes Always)',
    cheap: false,
    suites: ['posture'],
    focus: '^posture/always-pull-images$',
    expect: [{ scenario: 'posture/always-pull-images', headline: /API server runs AlwaysPullImages .*declares it off/ }],
    apply: (c) =>
      apiServer(
        c,
        'AlwaysPullImages',
        (y) => withAdmissionPlugin(y, 'AlwaysPullImages', true),
        async () => (await admittedPolicy(c.cluster.kube)) === 'Always',
      ),
  },
  {
    name: 'apiserver-serviceaccount-off',
    layer: 'API server admission',
    rule: "the ServiceAccount admission plugin (on by default) copies the ServiceAccount's imagePullSecrets into a pod that lists none",
    cheap: false,
    suites: ['service-account'],
    focus: '^service-account/injects-image-pull-secrets$',
    expect: [
      {
        scenario: 'service-account/injects-image-pull-secrets',
        headline: /ServiceAccount admission plugin must copy .*admitted with \[\] and no serviceAccountName/,
      },
    ],
    apply: (c) =>
      apiServer(
        c,
        'the ServiceAccount plugin off',
        (y) => y.replace(/(\n(\s+)- --enable-admission-plugins=[^\n]*)/, '$1\n$2- --disable-admission-plugins=ServiceAccount'),
        async () => (await dryRunPod(c)).spec?.serviceAccountName === undefined,
      ),
  },
];

interface Outcome {
  mutant: Mutant;
  caught: boolean;
  lines: string[];
  otherFailures: number;
  seconds: number;
}

/** Whether junit.xml has a `<failure>` (or `<error>`) for the scenario: what a CI view shows. */
function junitFails(xml: string, id: string): boolean {
  const at = xml.indexOf(` name="${id}"`);
  if (at < 0) return false;
  const end = xml.indexOf('</testcase>', at);
  const closed = xml.indexOf('/>', at);
  if (end < 0 || (closed >= 0 && closed < xml.indexOf('>', at) + 1)) return false;
  const body = xml.slice(at, end);
  return body.includes('<failure') || body.includes('<error');
}

function firstLine(r: ScenarioRecord | undefined): string {
  return (r?.reason ?? '').split('\n')[0] ?? '';
}

/** The undo of the mutant in force, for Ctrl-C (a broken registry must go before the cluster's network). */
let activeUndo: (() => Promise<void>) | undefined;

async function runMutant(m: Mutant, c: Ctx, kubeconfig: string, work: string): Promise<Outcome> {
  const started = Date.now();
  const reportDir = join(work, m.name);
  const applied = await c.logger.phase(`mutant ${m.name}: apply`, () => m.apply(c));
  const { undo, args, input } = typeof applied === 'function' ? { undo: applied, args: [] as string[], input: undefined } : applied;
  activeUndo = undo;
  let results: RunResults | undefined;
  let exitCode: number | undefined;
  let junit = '';
  try {
    const argv = [
      join(ROOT, 'bin/pullcheck.js'),
      'run',
      '--kubeconfig',
      kubeconfig,
      '--suite',
      m.suites.join(','),
      '--focus',
      m.focus,
      '--report-dir',
      reportDir,
      ...args,
    ];
    const child = await c.logger.phase(`mutant ${m.name}: pullcheck run --suite ${m.suites.join(',')}`, () =>
      execa(process.execPath, argv, {
        cwd: ROOT,
        reject: false,
        stdout: 'inherit',
        stderr: 'inherit',
        ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
      }),
    );
    exitCode = child.exitCode;
    results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    junit = readFileSync(join(reportDir, 'latest', 'junit.xml'), 'utf8');
  } finally {
    activeUndo = undefined;
    await c.logger.phase(`mutant ${m.name}: undo`, undo);
  }
  const scenarios = results?.targets.flatMap((t) => t.scenarios) ?? [];
  const lines = m.expect.map((e) => {
    const r = scenarios.find((s) => s.id === e.scenario);
    // Blocked: the probe or posture check named the cause, and the scenario failed on its own too.
    // (or the declaration ruled it out, and the cluster does not match that declaration).
    const own =
      r?.status === 'blocked'
        ? (firstLine(r).split('; then: ')[1] ?? firstLine(r).split('ruled out by that declaration: ')[1] ?? '')
        : firstLine(r);
    const red = e.blocked ? r?.status === 'blocked' && own !== '' : r?.status === 'failed';
    const inJUnit = r !== undefined && junitFails(junit, r.id);
    const ok = red && inJUnit && e.headline.test(firstLine(r));
    return `${ok ? 'caught' : 'MISSED'} ${e.scenario}: ${r ? `${r.status}${inJUnit ? '' : ' (no <failure> in junit.xml)'}${r.reason ? ` — ${firstLine(r)}` : ''}` : 'did not run'}`;
  });
  const expected = new Set(m.expect.map((e) => e.scenario));
  const red = scenarios.filter((s) => FAILING.includes(s.status));
  const others = red.filter((s) => !expected.has(s.id));
  if (m.othersBlockedBy) {
    const stray = others.filter((s) => !(s.status === 'blocked' && m.othersBlockedBy?.test(firstLine(s))));
    lines.push(
      stray.length === 0
        ? `caught: ${others.length} other red scenario(s), each blocked by the same cause`
        : `MISSED: ${stray.length} other red scenario(s) not blocked by the cause: ${stray.map((s) => `${s.id} — ${firstLine(s)}`).join('; ')}`,
    );
  }
  if (m.finding) {
    const findings = results?.targets.flatMap((t) => t.findings ?? []) ?? [];
    const named = findings.find((f) => f.fails && m.finding?.test(f.line));
    lines.push(
      named
        ? `caught: the finding before the suites — ${named.line}`
        : `MISSED: no failing finding matches ${m.finding}: ${findings.map((f) => f.line).join('; ') || '(none)'}`,
    );
  }
  // A mutant no scenario turned red, or whose run still exited 0, was not caught, whatever else matched.
  if (red.length === 0) lines.push('MISSED: no scenario of the selection is red');
  lines.push(exitCode === 1 ? 'caught: pullcheck run exited 1' : `MISSED: pullcheck run exited ${exitCode ?? '(did not finish)'}, not 1`);
  return {
    mutant: m,
    caught: lines.every((l) => l.startsWith('caught')),
    lines,
    otherFailures: others.length,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The union of the mutants' selections, run on the cluster before any mutant: it must exit 0 with every scenario passed. */
async function runBaseline(chosen: readonly Mutant[], c: Ctx, kubeconfig: string, work: string): Promise<{ green: boolean; line: string }> {
  const reportDir = join(work, 'baseline');
  const suites = [...new Set(chosen.flatMap((m) => m.suites))];
  const focus = chosen.map((m) => `(?:${m.focus})`).join('|');
  const argv = [join(ROOT, 'bin/pullcheck.js'), 'run', '--kubeconfig', kubeconfig, '--suite', suites.join(','), '--focus', focus];
  const child = await c.logger.phase(`baseline: pullcheck run --suite ${suites.join(',')} on the unmutated cluster`, () =>
    execa(process.execPath, [...argv, '--report-dir', reportDir], {
      cwd: ROOT,
      reject: false,
      stdout: 'inherit',
      stderr: 'inherit',
      stdin: 'ignore',
    }),
  );
  const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
  const counted = tally(results);
  const line = `${summaryLine(counted)}; exit ${child.exitCode}`;
  return { green: child.exitCode === 0 && counted.passed === counted.scenarios && counted.scenarios > 0, line };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      cheap: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      name: { type: 'string', default: DEFAULT_CLUSTER },
    },
  });
  const only = values.only?.split(',').filter(Boolean);
  for (const n of only ?? [])
    if (!MUTANTS.some((m) => m.name === n)) throw new Error(`unknown mutant ${n}: choose from ${MUTANTS.map((m) => m.name).join(', ')}`);
  const chosen = MUTANTS.filter((m) => (only ? only.includes(m.name) : !values.cheap || m.cheap));
  if (values.list) {
    for (const m of MUTANTS) process.stdout.write(`${m.name}  [${m.layer}${m.cheap ? ', cheap' : ''}]  ${m.rule}\n`);
    return 0;
  }
  const logger = new Logger(defaultLogFile(cacheDir(), 'mutants'));
  const clusterName = values.name;
  const provider = providerFor({ provider: 'kind', profile: 'default', name: clusterName });
  const work = mkdtempSync(join(tmpdir(), 'pullcheck-mutants-'));
  const created = !(await provider.exists(logger));
  const down = async () => {
    if (created) await provider.down(logger);
    rmSync(work, { recursive: true, force: true });
  };
  onInterrupt('the mutants cluster', async () => {
    await activeUndo?.();
    await down();
  });
  const outcomes: Outcome[] = [];
  try {
    const { cluster } = await logger.phase(`cluster ${clusterName}`, () => provider.up({ logger }));
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, cluster.kubeconfig, { mode: 0o600 });
    // Roles from the node-role labels, not from kind's names.
    const shape = await readClusterShape(cluster.kube);
    const ctx: Ctx = {
      cluster,
      logger,
      workers: shape.workers,
      controlPlane: shape.controlPlanes[0] ?? '',
    };
    // The kit proves itself first: the same selections on the unmutated cluster must be green, or
    // a mutant "caught" would only show a cluster that was broken already.
    const baseline = await runBaseline(chosen, ctx, kubeconfig, work);
    process.stdout.write(`baseline: ${baseline.line}\n`);
    if (!baseline.green) throw new Error(`the unmutated cluster is not green, so no mutant can be judged: ${baseline.line}`);
    for (const m of chosen) {
      if (interrupted()) break;
      outcomes.push(await runMutant(m, ctx, kubeconfig, work));
    }
  } finally {
    await down();
  }
  process.stdout.write('\n| mutant | layer | rule | verdict | first line of the failure |\n|---|---|---|---|---|\n');
  for (const o of outcomes) {
    process.stdout.write(
      `| ${o.mutant.name} | ${o.mutant.layer} | ${o.mutant.rule} | ${o.caught ? 'caught' : '**missed**'} (${Math.round(o.seconds)} s, ${o.otherFailures} other failure(s)) | ${o.lines.join('<br>')} |\n`,
    );
  }
  const missed = outcomes.filter((o) => !o.caught);
  process.stdout.write(`\nmutants: ${outcomes.length - missed.length} caught, ${missed.length} missed\n`);
  return missed.length === 0 && outcomes.length === chosen.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mutants: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
