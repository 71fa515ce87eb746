// The runner image inside a cluster, as Sonobuoy runs it: the plugin definition's container
// (deploy/sonobuoy/pullcheck-plugin.yaml) as a Job on a kind cluster, in a namespace enforcing
// restricted Pod Security, with a ServiceAccount for its in-cluster credentials, against a registry
// the nodes trust (pullcheck's standalone token-auth registry with its own CA, on a network the
// nodes join, as a vendor's would be). A sidecar plays Sonobuoy's worker: it takes the plugin's
// progress updates on localhost:8099/progress, waits for the `done` file and hands over the file it
// names, whose JUnit is read here and rendered again by `pullcheck report` from the results.json
// beside it. The selection and the registry reach the plugin through its environment, as
// `sonobuoy run --plugin-env pullcheck.NAME=VALUE` sets it. A wrong registry URL must turn the result red.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import YAML from 'yaml';
import { resolveRunnerImage, SONOBUOY_ENTRYPOINT } from '../../helpers/build/runnerimage/index.ts';
import { pluginDefinition } from '../../helpers/build/runnerimage/plugin.ts';
import { kindBinary } from '../../helpers/cluster/cluster.ts';
import { type Kube, kubeFromString, waitFor } from '../../helpers/cluster/kube.ts';
import { cacheDir } from '../../helpers/infra/cache.ts';
import { docker } from '../../helpers/infra/docker.ts';
import { run } from '../../helpers/infra/exec.ts';
import { defaultLogFile, Logger } from '../../helpers/infra/log.ts';
import { KindNodeAccess } from '../../helpers/node/access.ts';
import { trustRegistryOnNodes, untrustRegistryOnNodes } from '../../helpers/registry/nodetrust.ts';
import { type StandaloneRegistry, startStandalone } from '../../helpers/registry/standalone.ts';
import type { RunResults } from '../../helpers/report/schema.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
/** Its own kind cluster, so that it can run beside others' (default: made and deleted here). */
const CLUSTER = process.env['PULLCHECK_RUNNER_TEST_CLUSTER'] ?? 'pullcheck-runner';
const NAMESPACE = 'pullcheck-runner-test';

interface PluginDefinition {
  'sonobuoy-config': { driver: string; 'plugin-name': string; 'result-format': string; 'result-files'?: string[] };
  'extra-volumes'?: unknown[];
  spec: {
    name: string;
    image: string;
    command: string[];
    args?: string[];
    env: { name: string; value?: string }[];
    volumeMounts: unknown[];
    securityContext?: Record<string, unknown>;
  };
}

const plugin = YAML.parse(readFileSync(join(ROOT, 'deploy/sonobuoy/pullcheck-plugin.yaml'), 'utf8')) as PluginDefinition;

/** The port Sonobuoy's worker takes progress updates on, which Sonobuoy names to the plugin in SONOBUOY_PROGRESS_PORT. */
const PROGRESS_PORT = '8099';

/**
 * The worker beside the plugin: a tiny HTTP listener for progress updates (each printed as a
 * `PROGRESS` line), then, once `done` appears, the file it names printed as one base64 `RESULT` line.
 */
const WORKER = `
const http = require('node:http');
const fs = require('node:fs');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => { console.log('PROGRESS ' + req.method + ' ' + req.url + ' ' + body.replace(/\\n/g, ' ')); res.end(); });
}).listen(${PROGRESS_PORT});
const d = '/tmp/sonobuoy/results';
setInterval(() => {
  if (!fs.existsSync(d + '/done')) return;
  console.log('RESULT ' + fs.readFileSync(fs.readFileSync(d + '/done', 'utf8').trim()).toString('base64'));
  process.exit(0);
}, 1000);
`;

/**
 * The plugin's pod as Sonobuoy makes it for driver Job: its container with the environment
 * `--plugin-env` overrides (`env`, by name) and SONOBUOY_PROGRESS_PORT, the results volume, a worker beside it.
 */
function pluginJob(name: string, image: string, env: Record<string, string>): string {
  const given = plugin.spec.env.filter((e) => !(e.name in env));
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'pullcheck-runner-test': name } },
        spec: {
          serviceAccountName: 'pullcheck',
          restartPolicy: 'Never',
          containers: [
            {
              ...plugin.spec,
              image,
              imagePullPolicy: 'Never',
              env: [
                ...Object.entries(env).map(([n, value]) => ({ name: n, value })),
                { name: 'PULLCHECK_REGISTRY_PUBLIC_PREFIX', value: 'public' },
                // The registry's CA for pullcheck's own pushes; the nodes trust it already.
                { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/pullcheck-ca/ca.crt' },
                { name: 'SONOBUOY_PROGRESS_PORT', value: PROGRESS_PORT },
                ...given,
              ],
              volumeMounts: [...plugin.spec.volumeMounts, { name: 'ca', mountPath: '/etc/pullcheck-ca' }],
            },
            {
              name: 'worker',
              image,
              imagePullPolicy: 'Never',
              command: ['node', '-e', WORKER],
              securityContext: plugin.spec.securityContext,
              volumeMounts: [{ name: 'results', mountPath: '/tmp/sonobuoy/results' }],
            },
          ],
          volumes: [
            { name: 'results', emptyDir: {} },
            { name: 'ca', configMap: { name: 'pullcheck-registry-ca' } },
            ...(plugin['extra-volumes'] ?? []),
          ],
        },
      },
    },
  };
  return YAML.stringify(job);
}

/** The finished pod of job `name`: its phase, the plugin container's exit code and the worker's output. */
async function finishedJob(kube: Kube, name: string): Promise<{ phase: string; exitCode: number | undefined; worker: string }> {
  const labelSelector = `pullcheck-runner-test=${name}`;
  const pod = await waitFor<V1Pod, V1Pod>({
    kube,
    what: `the pod of job ${name} to finish`,
    path: `/api/v1/namespaces/${NAMESPACE}/pods`,
    labelSelector,
    timeoutMs: 1_500_000,
    list: async () => {
      const l = await kube.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (pods) => pods.find((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed'),
    describe: (p) => `${p.metadata?.name}: ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((c) => c.state))}`,
  });
  const podName = pod.metadata?.name ?? '';
  const plugged = pod.status?.containerStatuses?.find((c) => c.name === plugin.spec.name);
  const worker = await kube.core.readNamespacedPodLog({ name: podName, namespace: NAMESPACE, container: 'worker' });
  const log = await kube.core.readNamespacedPodLog({ name: podName, namespace: NAMESPACE, container: plugin.spec.name });
  writeFileSync(join(tmpdir(), `pullcheck-runner-${name}.log`), log);
  return { phase: pod.status?.phase ?? '?', exitCode: plugged?.state?.terminated?.exitCode, worker };
}

/** The worker's RESULT line (the file `done` named, base64) unpacked into `dir`. */
async function unpack(worker: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const result = worker.split('\n').find((l) => l.startsWith('RESULT '));
  if (!result) throw new Error(`the worker printed no RESULT line:\n${worker.slice(-2000)}`);
  await run(['tar', '-xzf', '-', '-C', dir], { input: Buffer.from(result.slice('RESULT '.length).trim(), 'base64') });
}

interface ProgressSeen {
  request: string;
  msg: string;
  total: number;
  completed: number;
  failures?: string[];
}

/** The progress updates the worker took, in order: the request line and Sonobuoy's ProgressUpdate body. */
function progressUpdates(worker: string): ProgressSeen[] {
  return worker
    .split('\n')
    .filter((l) => l.startsWith('PROGRESS '))
    .map((l) => {
      const [, method, url, ...body] = l.split(' ');
      return { request: `${method} ${url}`, ...(JSON.parse(body.join(' ')) as Omit<ProgressSeen, 'request'>) };
    });
}

function testcases(junit: string): { name: string; failed: boolean; skipped: boolean }[] {
  return [...junit.matchAll(/<testcase\b[^>]*\bname="([^"]+)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: m[1] ?? '',
    failed: /<failure\b/.test(m[3] ?? ''),
    skipped: /<skipped\b/.test(m[3] ?? ''),
  }));
}

describe('the runner image as a Sonobuoy plugin Job', () => {
  const logger = new Logger(defaultLogFile(cacheDir(), 'test-runner-image'));
  let work = '';
  let kube: Kube;
  let image = '';
  let registry: StandaloneRegistry | undefined;
  let host = '';
  let nodes: string[] = [];
  let createdCluster = false;
  const kubectl = (args: string[], input?: string) =>
    execa('kubectl', ['--context', `kind-${CLUSTER}`, ...args], { ...(input ? { input } : {}) });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pullcheck-runner-'));
    expect(plugin['sonobuoy-config']).toEqual(
      expect.objectContaining({ driver: 'Job', 'plugin-name': 'pullcheck', 'result-format': 'junit' }),
    );
    expect(plugin.spec.command).toEqual([SONOBUOY_ENTRYPOINT]);
    expect(plugin['sonobuoy-config']['result-files']).toEqual(['junit.xml']);
    // Named by its content tag, filled in by `pullcheck images runner -o yaml`; never :latest.
    expect(plugin.spec.image).not.toMatch(/:latest$/);
    // Settings are environment variables (`--plugin-env`), not arguments to edit.
    expect(plugin.spec.args ?? []).toEqual([]);
    expect(plugin.spec.env.map((e) => e.name)).toEqual(expect.arrayContaining(['PULLCHECK_SUITES', 'PULLCHECK_FOCUS', 'PULLCHECK_SKIP']));
    // Restricted Pod Security: the Job below runs it so, and would fail where it needed root or wrote outside /tmp.
    expect(plugin.spec.securityContext).toEqual(
      expect.objectContaining({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }),
    );
    const kind = await kindBinary(logger);
    const status = await execa('node', ['bin/pullcheck.js', 'cluster', 'status', '--name', CLUSTER], { cwd: ROOT, reject: false });
    createdCluster = status.exitCode !== 0;
    await execa('node', ['bin/pullcheck.js', 'cluster', 'up', '--name', CLUSTER], { cwd: ROOT });
    kube = kubeFromString((await execa(kind, ['get', 'kubeconfig', '--name', CLUSTER])).stdout);
    ({ ref: image } = await resolveRunnerImage(logger));
    expect((YAML.parse(pluginDefinition(image)) as PluginDefinition).spec.image).toBe(image);
    nodes = (await docker(['ps', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER}`, '--format', '{{.Names}}'])).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    // Pods run on the workers (kind taints the control plane).
    const workers = nodes.filter((n) => !n.endsWith('-control-plane'));
    await execa(kind, ['load', 'docker-image', image, '--name', CLUSTER, '--nodes', workers.join(',')]);

    // The registry: token auth with an anonymous public/ namespace (the suites' private and public
    // registries in one), on its own network with the nodes attached, which trust it already, as
    // an operator's registry would be.
    registry = await startStandalone({ kind: 'distribution-token', nodes, logger });
    host = registry.host;
    await trustRegistryOnNodes(new KindNodeAccess(logger), nodes, host, registry.caPem);

    // What Sonobuoy sets up for a plugin: its namespace, a ServiceAccount bound to cluster-admin.
    const setup = [
      // Restricted Pod Security enforced: the API server refuses the Job's pod if the plugin needs more.
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pullcheck', namespace: NAMESPACE } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'pullcheck-runner-test' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'pullcheck', namespace: NAMESPACE }],
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pullcheck-registry', namespace: NAMESPACE },
        stringData: { username: registry.username ?? '', password: registry.password ?? '' },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'pullcheck-registry-ca', namespace: NAMESPACE },
        data: { 'ca.crt': registry.caPem },
      },
    ];
    await kubectl(['apply', '-f', '-'], setup.map((o) => YAML.stringify(o)).join('---\n'));
  }, 1_800_000);

  afterAll(async () => {
    await kubectl(['delete', 'namespace', NAMESPACE, '--timeout=180s']).catch(() => undefined);
    await kubectl(['delete', 'clusterrolebinding', 'pullcheck-runner-test']).catch(() => undefined);
    if (host) await untrustRegistryOnNodes(new KindNodeAccess(logger), nodes, host).catch(() => undefined);
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    if (createdCluster) await execa('node', ['bin/pullcheck.js', 'cluster', 'down', '--name', CLUSTER], { cwd: ROOT, reject: false });
  }, 300_000);

  it('a wrong registry URL: the plugin exits 2 and its JUnit holds one failure', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      pluginJob('wrong-registry', image, { PULLCHECK_REGISTRY: `https://${host.replace(/:5000$/, ':5999')}` }),
    );
    const r = await finishedJob(kube, 'wrong-registry');
    expect({ phase: r.phase, exitCode: r.exitCode }).toEqual({ phase: 'Failed', exitCode: 2 });
    await unpack(r.worker, join(work, 'wrong'));
    const cases = testcases(readFileSync(join(work, 'wrong', 'junit.xml'), 'utf8'));
    expect(cases).toEqual([{ name: 'pullcheck run', failed: true, skipped: false }]);
  }, 600_000);

  it('runs the suites in-cluster as its environment selects them and posts its progress to the worker; its JUnit names every scenario, none failed, and lands in a pullcheck report', async () => {
    const skipped = 'pull-policy/policy-fixed-at-creation';
    await kubectl(
      ['apply', '-f', '-'],
      pluginJob('suites', image, { PULLCHECK_REGISTRY: `https://${host}`, PULLCHECK_SUITES: 'pull-policy,smoke', PULLCHECK_SKIP: skipped }),
    );
    const r = await finishedJob(kube, 'suites');
    expect({ phase: r.phase, exitCode: r.exitCode }).toEqual({ phase: 'Succeeded', exitCode: 0 });
    const out = join(work, 'suites');
    await unpack(r.worker, out);
    const cases = testcases(readFileSync(join(out, 'junit.xml'), 'utf8'));
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    const [target] = results.targets;
    expect(target?.name).toBe('in-cluster');
    expect(target?.registry).toEqual({ mode: 'vendor', url: `https://${host}`, credentials: true });
    const ids = target?.scenarios.map((s) => s.id).sort() ?? [];
    expect(cases.map((c) => c.name).sort()).toEqual(ids);
    expect(ids.filter((id) => id.startsWith('smoke/')).length).toBeGreaterThan(0);
    expect(ids.filter((id) => id.startsWith('pull-policy/')).length).toBeGreaterThan(0);
    // The selection came from the environment.
    expect(results.selection.skip).toBe(skipped);
    expect(ids).not.toContain(skipped);
    // Progress reached the worker as Sonobuoy's ProgressUpdate, counting up to every scenario.
    const updates = progressUpdates(r.worker);
    expect(updates.length).toBeGreaterThan(0);
    expect(new Set(updates.map((u) => u.request))).toEqual(new Set(['POST /progress']));
    expect(updates.map((u) => u.completed)).toEqual([...updates.map((u) => u.completed)].sort((a, b) => a - b));
    const last = updates.at(-1);
    expect(last?.total).toBe(ids.length);
    expect(last?.completed).toBe(ids.length);
    expect(last?.msg).toMatch(new RegExp(`^\\[${ids.length}/${ids.length}\\] \\S+ `));
    expect(last?.failures ?? []).toEqual([]);
    expect(cases.filter((c) => c.failed)).toEqual([]);
    const passed = cases.filter((c) => !c.failed && !c.skipped);
    expect(passed.length).toBeGreaterThan(ids.length / 2);
    // Scenarios ran against the registry, with the credentials from the Secret.
    expect(target?.scenarios.filter((s) => s.registries?.includes(host)).length).toBeGreaterThan(0);

    // pullcheck renders its report from the plugin's results.json (junit.xml and index.html anew).
    const pluginJunit = readFileSync(join(out, 'junit.xml'), 'utf8');
    rmSync(join(out, 'junit.xml'));
    await execa('node', ['bin/pullcheck.js', 'report', join(out, 'results.json')], { cwd: ROOT });
    const rendered = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(testcases(rendered)).toEqual(testcases(pluginJunit));
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain(ids[0]);
  }, 1_800_000);
});
