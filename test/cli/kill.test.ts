// SIGKILL at four points of `pullcheck run` (what a CI runner's kill does to the whole process
// group), each followed by an ordinary run on the same kind cluster: the ordinary run undoes what the
// dead one left on the nodes (the node-change journal), removes its namespaces, locks, RBAC and
// containers, and its pull probe names no node. Checked on the nodes themselves: no journal entry,
// no file holding the dead run's registry password (searched across each node's filesystem), no
// drop-in, static pod or certs.d entry of the dead run. One cluster serves the four cases.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { docker, LABEL_MANAGED } from '../../helpers/infra/docker.ts';
import { alive, LABEL_OWNER_PID } from '../../helpers/infra/sweep.ts';
import { JOURNAL_ROOT, LIST_SHELL, parseListing } from '../../helpers/node/journal.ts';
import type { RunResults } from '../../helpers/report/schema.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
/** Its own kind cluster (the default profile's shape), kept between the cases. */
const CLUSTER = process.env['PULLCHECK_KILL_CLUSTER'] ?? 'pullcheck-kill';
const DROP_IN = '/etc/systemd/system/kubelet.service.d/90-pullcheck-home.conf';
const FOCUS_ORDINARY = '^smoke/public-image-runs$';

const reports = mkdtempSync(join(tmpdir(), 'pullcheck-kill-'));

function cli(args: string[], env: Record<string, string> = {}, detached = false): ResultPromise<{ all: true; reject: false }> {
  return execa('node', ['bin/pullcheck.js', ...args, '--name', CLUSTER], {
    cwd: ROOT,
    reject: false,
    all: true,
    detached,
    env: { ...process.env, CI: 'true', ...env },
  }) as ResultPromise<{ all: true; reject: false }>;
}

async function nodes(): Promise<string[]> {
  const { stdout } = await docker(['ps', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER}`, '--format', '{{.Names}}']);
  return stdout.split('\n').filter(Boolean).sort();
}

async function onNode(node: string, script: string, ...args: string[]): Promise<string> {
  return (await docker(['exec', node, 'sh', '-c', script, 'sh', ...args], { allowFailure: true })).stdout;
}

async function kubectlJson<T>(args: string[]): Promise<T> {
  const cp = `${CLUSTER}-control-plane`;
  const { stdout } = await docker(['exec', cp, 'kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', ...args, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

interface Item {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

/**
 * Starts a run in a process group of its own; it is killed with SIGKILL, the whole group, either
 * by its own hook (`killAt`, PULLCHECK_TEST_KILL_AT) or here once `marker` is printed.
 */
async function killedRun(args: string[], o: { killAt?: string; marker?: RegExp }): Promise<{ signal: string | undefined; output: string }> {
  const child = cli(['run', ...args, '--report-dir', reports], o.killAt ? { PULLCHECK_TEST_KILL_AT: o.killAt } : {}, true);
  let output = '';
  let sent = false;
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (o.marker && !sent && o.marker.test(output) && child.pid) {
      sent = true;
      process.kill(-child.pid, 'SIGKILL');
    }
  });
  const r = await child;
  return { signal: r.signal, output };
}

/** The journal entries on every node, and the passwords in the credential files they name (the canaries). */
async function leftovers(): Promise<{ entries: string[]; canaries: string[] }> {
  const entries: string[] = [];
  const canaries: string[] = [];
  for (const node of await nodes()) {
    const listed = parseListing(await onNode(node, LIST_SHELL, JOURNAL_ROOT));
    for (const e of listed.entries) {
      entries.push(`${node}:${e.kind}:${e.target}`);
      if (e.kind !== 'file' || !/(config\.json|\.dockercfg)$/.test(e.target)) continue;
      const text = await onNode(node, 'cat "$1" 2>/dev/null', e.target);
      for (const m of text.matchAll(/"auth"\s*:\s*"([^"]+)"/g)) {
        const password = Buffer.from(m[1] ?? '', 'base64')
          .toString('utf8')
          .split(':')
          .slice(1)
          .join(':');
        if (password) canaries.push(password);
      }
    }
  }
  return { entries, canaries: [...new Set(canaries)] };
}

/** Files on the node holding any of `needles` (clear or base64 of user:password), outside /proc, /sys, /dev and image layers. */
async function filesHolding(node: string, needles: readonly string[]): Promise<string[]> {
  if (needles.length === 0) return [];
  const script = [
    'find / \\( -path /proc -o -path /sys -o -path /dev -o -path /var/lib/containerd -o -path /run/containerd -o -path /usr \\) -prune',
    '  -o -type f -size -4M -print0 | xargs -0 grep -lsF "$@" || true',
  ].join(' ');
  const args = needles.flatMap((n) => ['-e', n]);
  return (await onNode(node, script, ...args)).split('\n').filter(Boolean);
}

function canaryForms(passwords: readonly string[]): string[] {
  return passwords.flatMap((p) => [p, Buffer.from(p).toString('base64').replace(/=+$/, '')]);
}

/** The latest results.json the runs wrote. */
function latestResults(): RunResults {
  const runs = readdirSync(reports)
    .filter((d) => /^\d/.test(d))
    .sort();
  const last = runs.at(-1);
  if (!last) throw new Error(`no run directory in ${reports}`);
  return JSON.parse(readFileSync(join(reports, last, 'results.json'), 'utf8')) as RunResults;
}

/** Containers pullcheck labelled with an owner that is gone (another developer's live run is not ours). */
async function deadOwnersContainers(): Promise<string[]> {
  const { stdout } = await docker([
    'ps',
    '-a',
    '--filter',
    `label=${LABEL_MANAGED}=true`,
    '--format',
    `{{.Names}} {{.Label "${LABEL_OWNER_PID}"}}`,
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter(([, pid]) => pid && !alive(Number(pid)))
    .map(([name]) => name ?? '');
}

/** What the ordinary run must have left: nothing of the dead run, anywhere. */
async function expectClean(canaries: readonly string[], certsBefore: Map<string, string>): Promise<void> {
  const found: string[] = [];
  for (const node of await nodes()) {
    const journal = await onNode(node, 'find "$1" -type f 2>/dev/null', JOURNAL_ROOT);
    if (journal.trim()) found.push(`${node}: journal entries ${journal.trim().split('\n').join(', ')}`);
    for (const f of await filesHolding(node, canaryForms(canaries))) found.push(`${node}: ${f} holds the dead run's registry password`);
    const stray = await onNode(
      node,
      'for f in "$@"; do [ -e "$f" ] && echo "$f"; done; ls /etc/kubernetes/manifests | grep pullcheck; true',
      DROP_IN,
      '/var/lib/pullcheck-credprovider',
      '/.docker/config.json',
    );
    if (stray.trim()) found.push(`${node}: ${stray.trim().split('\n').join(', ')}`);
    const certs = await onNode(node, 'ls /etc/containerd/certs.d');
    if (certs !== certsBefore.get(node))
      found.push(`${node}: certs.d holds ${certs.split('\n').join(' ')} (before: ${certsBefore.get(node)})`);
  }
  const managed = `${LABEL_MANAGED}=true`;
  for (const ns of (await kubectlJson<{ items: Item[] }>(['get', 'namespaces', '-l', managed])).items)
    if (ns.status?.phase !== 'Terminating') found.push(`namespace ${ns.metadata.name}`);
  for (const kind of ['clusterroles', 'clusterrolebindings'])
    for (const o of (await kubectlJson<{ items: Item[] }>(['get', kind, '-l', managed])).items) found.push(`${kind} ${o.metadata.name}`);
  for (const l of (await kubectlJson<{ items: Item[] }>(['get', 'leases', '-n', 'default', '-l', managed])).items)
    found.push(`lease ${l.metadata.name}`);
  for (const p of (await kubectlJson<{ items: Item[] }>(['get', 'pods', '-n', 'kube-system', '-l', managed])).items)
    if (!p.metadata.deletionTimestamp) found.push(`static pod ${p.metadata.name}`);
  for (const c of await deadOwnersContainers()) found.push(`container ${c}`);
  expect(found).toEqual([]);
}

/** Lines in which a run's pull probe or posture check names a cause. */
function probeCauses(output: string): string[] {
  return output.split('\n').filter((l) => /WARN posture of /.test(l));
}

describe('SIGKILL during pullcheck run leaves nothing the next run does not undo', () => {
  let created = false;
  const certsBefore = new Map<string, string>();
  const started = Date.now();
  const canaries: string[] = [];
  /** What the previous killed run left, which the next run (killed or not) must say it restored. */
  let previous: RegExp | undefined;

  beforeAll(async () => {
    created = (await nodes()).length === 0;
    const up = await cli(['cluster', 'up']);
    if (up.exitCode !== 0) throw new Error(`cluster up failed:\n${up.all.slice(-3000)}`);
    // The nodes as they are before any run of this test: what the last run must leave them as.
    for (const node of await nodes()) certsBefore.set(node, await onNode(node, 'ls /etc/containerd/certs.d'));
  }, 1_800_000);

  afterAll(async () => {
    process.stdout.write(`kill tests: ${Math.round((Date.now() - started) / 1000)}s\n`);
    if (created) await cli(['cluster', 'down']);
    rmSync(reports, { recursive: true, force: true });
  }, 600_000);

  // Chained to keep the test cheap: each killed run is also the "next run" of the one before it
  // (its start undoes what that one left, before its probe), and an ordinary run ends the chain.
  // The kubelet-restart kill comes after a run that left nothing to restart kubelet for: else it
  // would fire in that replay's restart, before the scenario's own.
  const cases: { when: string; args: string[]; killAt?: string; marker?: RegExp; left: RegExp; restored: RegExp }[] = [
    {
      when: 'in the shared phase (a scenario has started)',
      args: ['--suite', 'smoke', '--focus', FOCUS_ORDINARY],
      marker: /\[smoke\/public-image-runs\] START/,
      left: /:file:\/etc\/containerd\/certs\.d\//,
      restored: /removed \/etc\/containerd\/certs\.d\/\S+\/hosts\.toml left by run/,
    },
    {
      when: 'during a kubelet restart (HOME drop-in, its directory and a credential file in place)',
      args: ['--suite', 'node-credentials', '--focus', '^node-credentials/with-home-home-docker-config-json$'],
      killAt: 'kubelet-restart',
      left: /:file:\/etc\/systemd\/system\/kubelet\.service\.d\/90-pullcheck-home\.conf$/,
      restored: /removed \/etc\/systemd\/system\/kubelet\.service\.d\/90-pullcheck-home\.conf left by run/,
    },
    {
      when: 'right after a node credential file is written',
      args: ['--suite', 'node-credentials', '--focus', '^node-credentials/root-docker-config-json$'],
      killAt: 'node-file-written:/.docker/config.json',
      left: /:file:\/\.docker\/config\.json$/,
      restored: /removed \/\.docker\/config\.json left by run/,
    },
    {
      when: 'while the second API server runs',
      args: ['--suite', 'always-pull-images', '--focus', '^always-pull-images/mutates-policy$'],
      killAt: 'second-apiserver',
      left: /:file:\/etc\/kubernetes\/manifests\/pullcheck-apiserver-/,
      restored: /removed \/etc\/kubernetes\/manifests\/pullcheck-apiserver-\S+ left by run/,
    },
  ];
  for (const c of cases) {
    it(`SIGKILL ${c.when}`, async () => {
      const t0 = Date.now();
      const killed = await killedRun(c.args, c);
      expect({ signal: killed.signal, tail: killed.signal === 'SIGKILL' ? '' : killed.output.slice(-3000) }).toEqual({
        signal: 'SIGKILL',
        tail: '',
      });
      // This run was the next one after the previous kill: it restored what that one left, and its probe named nothing.
      if (previous) expect(killed.output.split('\n').filter((l) => previous?.test(l))).not.toEqual([]);
      expect(probeCauses(killed.output)).toEqual([]);
      const left = await leftovers();
      // What the kill left is there (else the case proves nothing).
      expect(left.entries.filter((e) => c.left.test(e))).not.toEqual([]);
      canaries.push(...left.canaries);
      if (c.killAt?.startsWith('node-file-written') || c.killAt === 'kubelet-restart') expect(left.canaries).not.toEqual([]);
      previous = c.restored;
      process.stdout.write(`kill ${c.when}: ${Math.round((Date.now() - t0) / 1000)}s\n`);
    }, 1_200_000);
  }

  it('an ordinary run after them restores the last one, exits 0, names no cause and leaves nothing', async () => {
    const t0 = Date.now();
    const r = await cli(['run', '--suite', 'smoke', '--focus', FOCUS_ORDINARY, '--report-dir', reports]);
    expect({ exitCode: r.exitCode, probe: probeCauses(r.all), tail: r.exitCode === 0 ? '' : r.all.slice(-3000) }).toEqual({
      exitCode: 0,
      probe: [],
      tail: '',
    });
    const results = latestResults();
    const restored = results.targets[0]?.restored ?? [];
    expect(restored.filter((x) => previous?.test(`${x.what} left by run`))).not.toEqual([]);
    expect(restored.every((x) => x.run !== results.runId)).toBe(true);
    await expectClean(canaries, certsBefore);
    process.stdout.write(`ordinary run after the kills: ${Math.round((Date.now() - t0) / 1000)}s\n`);
  }, 1_200_000);

  // SIGTERM is not a kill: the run stops jest's group, then removes and undoes what its suites left
  // itself (their registry, namespace, lock, the credential file), with no next run to do it.
  it('SIGTERM to the run alone right after a node credential file is written: it undoes the file itself, exits 143, leaves nothing', async () => {
    const t0 = Date.now();
    const r = await cli(
      ['run', '--suite', 'node-credentials', '--focus', '^node-credentials/root-docker-config-json$', '--report-dir', reports],
      { PULLCHECK_TEST_KILL_AT: 'SIGTERM@node-file-written:/.docker/config.json' },
      true,
    );
    expect({ exitCode: r.exitCode, tail: r.exitCode === 143 ? '' : r.all.slice(-3000) }).toEqual({ exitCode: 143, tail: '' });
    // The hook fired where it was meant to (else the case proves nothing), and the run itself undid the file.
    expect(r.all).toMatch(/SIGTERM to the run at node-file-written \S*\/\.docker\/config\.json/);
    expect(r.all.split('\n').filter((l) => /restored \S+: removed \/\.docker\/config\.json left by run/.test(l))).not.toEqual([]);
    await expectClean(canaries, certsBefore);
    process.stdout.write(`SIGTERM after a credential file: ${Math.round((Date.now() - t0) / 1000)}s\n`);
  }, 1_200_000);
});
