// A pull-through cache through the CLI as a vendor would meet it: `registry serve --kind
// distribution-proxy` (distribution's proxy mode with credentials of its own, in front of an htpasswd
// upstream whose credentials it holds) prints a certify line with --registry-upstream; its options
// run (as `run`, narrowed to the pull-through scenarios and one node pull of the registry suite:
// `certify` judges a selection by the whole certification, which the full line proves by hand,
// docs/measurements.md): images are pushed to the upstream, pods pull them through the cache,
// certification.json has pull-through passed and required, and the cleanup deleted on the upstream.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { RunResults } from '../../helpers/report/schema.ts';
import { ROOT, servedRegistry } from './served-registry.ts';

/** The printed line: `VAR="$(cat UPSTREAM_FILE)" npx pullcheck certify ARGS < FILE`. */
function parseCertifyLine(line: string): { args: string[]; passwordFile: string; upstreamEnv: string; upstreamFile: string } {
  const m = /^(\w+)="\$\(cat (\S+)\)" (.*) < (\S+)$/.exec(line);
  if (!m) throw new Error(`not the certify line of a cache: ${line}`);
  const [, upstreamEnv = '', upstreamFile = '', command = '', passwordFile = ''] = m;
  const words = command.split(' ');
  expect(words.slice(0, 3)).toEqual(['npx', 'pullcheck', 'certify']);
  return { args: words.slice(3), passwordFile, upstreamEnv, upstreamFile };
}

describe('registry serve --kind distribution-proxy, then its certify line', () => {
  const served = servedRegistry('proxy');

  it('pushes to the upstream, pulls through the cache, certifies pull-through and cleans the upstream', async () => {
    const line = await served.serve('distribution-proxy', (l) => l.includes('npx pullcheck certify'));
    const { args, passwordFile, upstreamEnv, upstreamFile } = parseCertifyLine(line);
    expect(args).toEqual(expect.arrayContaining(['--registry-upstream', '--upstream-username', '--upstream-password-env', upstreamEnv]));
    const password = readFileSync(passwordFile, 'utf8');
    const upstreamPassword = readFileSync(upstreamFile, 'utf8');
    const reportDir = join(served.work(), 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'run',
        ...args,
        '--suite',
        'registry-proxy,registry',
        '--focus',
        '^registry-proxy/pull-through-private-|^registry/node-pulls-oci-manifest-from-private$',
        '--report-dir',
        reportDir,
      ],
      {
        cwd: ROOT,
        input: password,
        reject: false,
        all: true,
        env: { ...process.env, CI: 'true', [upstreamEnv]: upstreamPassword },
      },
    );
    const console = r.all ?? '';
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });
    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const target = results.targets[0];
    const upstreamUrl = args[args.indexOf('--registry-upstream') + 1];
    expect(target?.registry).toMatchObject({ mode: 'vendor', upstream: upstreamUrl });
    const statuses = Object.fromEntries((target?.scenarios ?? []).map((s) => [s.id, s.status]));
    expect(statuses).toEqual({
      'registry-proxy/pull-through-private-upstream': 'passed',
      'registry-proxy/pull-through-private-tag-moved-upstream': 'passed',
      'registry/node-pulls-oci-manifest-from-private': 'passed',
    });
    // The pods named the cache, never the upstream.
    const cacheHost = new URL(target?.registry.url ?? 'https://?').host;
    for (const s of target?.scenarios ?? []) expect(s.registries).toContain(cacheHost);

    const certification = JSON.parse(readFileSync(join(reportDir, 'latest', 'certification.json'), 'utf8')) as {
      capabilities: { key?: string; status: string; required?: boolean }[];
      registryCleanup?: RunResults['registryCleanup'];
    };
    expect(certification.capabilities.find((c) => c.key === 'pull-through')).toMatchObject({ status: 'passed', required: true });
    // What the run pushed went to the upstream, and was deleted there.
    expect(certification.registryCleanup?.left ?? []).toEqual([]);
    expect(certification.registryCleanup?.deleted ?? 0).toBeGreaterThan(0);
    expect(console).not.toContain(password);
    expect(console).not.toContain(upstreamPassword);
  }, 1_800_000);
});
