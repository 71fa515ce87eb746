// The command line's conventions (kubectl's, kind's): --version, help per command, flags that do
// not apply refused, -o json|yaml, cluster status's exit code. The real CLI, as users run it; none
// of these cases creates anything (the cluster asked about does not exist).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import YAML from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin/pullcheck.js');
const NO_CLUSTER = 'pullcheck-conventions-none';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [CLI, ...args], { cwd: ROOT, reject: false, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('command-line conventions', () => {
  it('--version prints one line naming the tool, kind, the default Kubernetes and the schema', async () => {
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(
      /^pullcheck \d+\.\d+\.\d+ \(kind v\d+\.\d+\.\d+, Kubernetes v\d+\.\d+\.\d+ by default, pullcheck\.io\/results\/v\d+/,
    );
  });

  it('version -o json is the same facts as data', async () => {
    const r = await cli('version', '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      pullcheck: expect.any(String),
      kind: expect.stringMatching(/^v/),
      resultsSchema: expect.any(String),
    });
  });

  it('help CMD and CMD --help print that command and only its flags', async () => {
    const [help, flag] = await Promise.all([cli('help', 'cluster', 'down'), cli('cluster', 'down', '--help')]);
    expect(help.code).toBe(0);
    expect(flag.stdout).toBe(help.stdout);
    expect(help.stdout).toMatch(/^usage: pullcheck cluster down/);
    expect(help.stdout).toContain('--name NAME');
    expect(help.stdout).not.toContain('--kubeconfig');
    const run = await cli('help', 'run');
    expect(run.stdout).toContain('--kubeconfig PATH');
    expect(run.stdout).toContain('--timeout DURATION');
  });

  it('a flag the command does not take is exit 2 with one line, not ignored', async () => {
    const r = await cli('cluster', 'down', '--kubeconfig', '/nonexistent', '--name', NO_CLUSTER);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('pullcheck: --kubeconfig does not apply to `pullcheck cluster down`: see pullcheck help cluster down');
  });

  it('help for an unknown command is exit 2', async () => {
    const r = await cli('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('cluster status exits 1 when the cluster is not running, and says so as text, JSON and YAML', async () => {
    const [text, json, yaml] = await Promise.all([
      cli('cluster', 'status', '--name', NO_CLUSTER),
      cli('cluster', 'status', '--name', NO_CLUSTER, '-o', 'json'),
      cli('cluster', 'status', '--name', NO_CLUSTER, '-o', 'yaml'),
    ]);
    expect([text.code, json.code, yaml.code]).toEqual([1, 1, 1]);
    expect(text.stdout.trim()).toBe(`${NO_CLUSTER}: not running`);
    expect(JSON.parse(json.stdout)).toEqual({ name: NO_CLUSTER, running: false, nodes: [] });
    expect(YAML.parse(yaml.stdout)).toEqual({ name: NO_CLUSTER, running: false, nodes: [] });
  });

  it('list -o json lists the scenarios as data', async () => {
    const r = await cli('list', '--suite', 'smoke', '-o', 'json');
    expect(r.code).toBe(0);
    const { scenarios } = JSON.parse(r.stdout) as { scenarios: { id: string; suite: string }[] };
    expect(scenarios.map((s) => s.id)).toContain('smoke/public-image-runs');
    expect(scenarios.every((s) => s.suite === 'smoke')).toBe(true);
  });

  it('-o with another format is exit 2 naming the two it takes', async () => {
    const r = await cli('list', '-o', 'table');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('pullcheck: -o "table" is not an output format: write -o json or -o yaml');
  });
});
