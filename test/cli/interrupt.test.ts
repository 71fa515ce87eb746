// Ctrl-C at several points of `pullcheck run`: whatever the run created (its kind cluster, its
// registries, networks, volumes) is gone when the process has exited, and nothing that was there
// before is touched. The run gets its own profile (cluster pullcheck-interrupt), so that a cluster
// another run uses is never the one deleted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { docker } from '../../helpers/infra/docker.ts';
import { alive, LABEL_OWNER_PID } from '../../helpers/infra/sweep.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLUSTER = 'pullcheck-interrupt';

interface DockerState {
  containers: Set<string>;
  networks: Set<string>;
  volumes: Set<string>;
}

async function lines(args: string[]): Promise<Set<string>> {
  const { stdout } = await docker(args);
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

async function dockerState(): Promise<DockerState> {
  return {
    containers: await lines(['ps', '-a', '--format', '{{.Names}}']),
    networks: await lines(['network', 'ls', '--format', '{{.Name}}']),
    volumes: await lines(['volume', 'ls', '--format', '{{.Name}}']),
  };
}

/**
 * Containers that exist now and did not before, among what a pullcheck run could have made. A
 * registry whose owner process still lives belongs to another run going on beside this test.
 */
async function added(before: DockerState, after: DockerState): Promise<string[]> {
  const ours = (name: string) => name.startsWith(CLUSTER) || name.startsWith('pullcheck-reg-') || name === 'pullcheck';
  const leftover: string[] = [];
  for (const c of [...after.containers].filter((x) => !before.containers.has(x) && ours(x))) {
    const { stdout } = await docker(['inspect', '--format', `{{ index .Config.Labels "${LABEL_OWNER_PID}" }}`, c], { allowFailure: true });
    const owner = Number(stdout.trim());
    if (c.startsWith('pullcheck-reg-') && owner > 0 && alive(owner)) continue;
    leftover.push(`container ${c}`);
  }
  return [
    ...leftover,
    ...[...after.networks].filter((n) => !before.networks.has(n) && ours(n)).map((n) => `network ${n}`),
    ...[...after.volumes].filter((v) => !before.volumes.has(v)).map((v) => `volume ${v}`),
  ];
}

/** Starts a run in its own process group (as a terminal would) and sends SIGINT to the group once `marker` is printed. */
async function interruptAt(profile: string, marker: RegExp): Promise<{ exitCode: number | undefined; output: string }> {
  const child: ResultPromise = execa(
    'node',
    ['bin/pullcheck.js', 'run', '--profile', profile, '--suite', 'smoke', '--report-dir', join(dirname(profile), 'reports')],
    {
      cwd: ROOT,
      detached: true,
      reject: false,
      all: true,
      env: { ...process.env, CI: 'true' },
    },
  );
  let output = '';
  let sent = false;
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (!sent && marker.test(output) && child.pid) {
      sent = true;
      process.kill(-child.pid, 'SIGINT');
    }
  });
  const r = await child;
  if (!sent) throw new Error(`the run ended before ${marker} was printed:\n${output.slice(-3000)}`);
  return { exitCode: r.exitCode, output };
}

describe('Ctrl-C during pullcheck run leaves nothing behind', () => {
  let dir: string;
  let profile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pullcheck-interrupt-'));
    profile = join(dir, 'interrupt.yaml');
    writeFileSync(
      profile,
      [
        'name: interrupt',
        `clusterName: ${CLUSTER}`,
        'kubernetesVersion: v1.37.2',
        'cluster:',
        '  kind: Cluster',
        '  apiVersion: kind.x-k8s.io/v1alpha4',
        '  nodes:',
        '    - role: control-plane',
        '    - role: worker',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await execa('node', ['bin/pullcheck.js', 'cluster', 'down', '--profile', profile], { cwd: ROOT, reject: false });
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  const points: [string, RegExp][] = [
    ['while kind creates the cluster', /START kind create cluster pullcheck-interrupt/],
    ['while a registry starts', /START start registry private/],
    ['while a scenario runs', /\[smoke\/private-image-without-credentials-fails\] START/],
  ];
  for (const [when, marker] of points) {
    it(when, async () => {
      const before = await dockerState();
      const { exitCode, output } = await interruptAt(profile, marker);
      expect({ exitCode, tail: output.split('\n').slice(-8).join('\n') }).toEqual({ exitCode: 130, tail: expect.any(String) as unknown });
      expect(await added(before, await dockerState())).toEqual([]);
      const kinds = await lines(['ps', '-a', '--filter', `label=io.x-k8s.kind.cluster=${CLUSTER}`, '--format', '{{.Names}}']);
      expect([...kinds]).toEqual([]);
    }, 900_000);
  }
});
