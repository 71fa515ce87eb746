// A registry as most deployments leave distribution — deletion disabled — through the CLI as a
// vendor would meet it: `registry serve --kind distribution-no-delete` prints a certify line, its
// options run (as `run`, narrowed to the tag-move and deletion scenarios: `certify` would judge a
// selection by the whole certification, which needs the full catalog): deletion reads "not supported
// (405 UNSUPPORTED)" in certification.json and .html, never a failure; the run lists the repositories
// it could not delete, and `registry clean --run` retries them and says the registry still refuses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { RunResults } from '../../helpers/report/schema.ts';
import { parseCertifyLine, ROOT, servedRegistry } from './served-registry.ts';

describe('registry serve --kind distribution-no-delete, then its certify line', () => {
  const served = servedRegistry('no-delete');

  it('certifies deletion as not supported (405 UNSUPPORTED), lists what it left, and registry clean says the registry still refuses', async () => {
    const line = await served.serve('distribution-no-delete', (l) => l.startsWith('npx pullcheck certify'));
    const { args, passwordFile } = parseCertifyLine(line);
    const password = readFileSync(passwordFile, 'utf8');
    const reportDir = join(served.work(), 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'run',
        ...args,
        '--suite',
        'registry',
        '--focus',
        '^registry/(private-)?(tag-moves|deletion)$',
        '--report-dir',
        reportDir,
      ],
      { cwd: ROOT, input: password, reject: false, all: true, env: { ...process.env, CI: 'true' } },
    );
    const console = r.all ?? '';
    // A selection: the exit code rests on the scenarios, and a declared skip fails nothing.
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });
    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const host = results.targets[0]?.registry.url?.replace('https://', '') ?? '?';
    const deletion = results.targets[0]?.scenarios.find((s) => s.id === 'registry/private-deletion');
    expect(deletion).toMatchObject({
      status: 'not-applicable',
      notSupported: { capability: 'deletion', detail: '405 UNSUPPORTED' },
    });
    expect(results.targets[0]?.scenarios.find((s) => s.id === 'registry/private-tag-moves')?.status).toBe('passed');

    const certification = JSON.parse(readFileSync(join(reportDir, 'latest', 'certification.json'), 'utf8')) as {
      verdict: string;
      capabilities: { key?: string; status: string; required?: boolean; note?: string }[];
      registryCleanup?: RunResults['registryCleanup'];
    };
    expect(certification.capabilities.find((c) => c.key === 'deletion')).toMatchObject({
      status: 'not supported',
      required: false,
      note: '405 UNSUPPORTED',
    });
    expect(certification.capabilities.find((c) => c.key === 'tag-moves')?.status).toBe('passed');
    expect(certification.verdict).toContain('deletion: not supported (405 UNSUPPORTED)');
    expect(readFileSync(join(reportDir, 'latest', 'certification.html'), 'utf8')).toContain('deletion: not supported (405 UNSUPPORTED)');

    // Not left as found, and said so: every repository the run pushed to, with the registry's answer.
    const left = certification.registryCleanup?.left ?? [];
    expect(left.length).toBeGreaterThan(0);
    expect([...new Set(left.map((l) => l.answer))]).toEqual(['405 UNSUPPORTED']);
    expect(console).toContain(`pullcheck registry clean --registry https://${host} --run ${results.runId}`);

    const caFile = args[args.indexOf('--registry-ca') + 1] ?? '?';
    const username = args[args.indexOf('--registry-username') + 1] ?? '?';
    const clean = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'registry',
        'clean',
        '--registry',
        `https://${host}`,
        '--registry-ca',
        caFile,
        '--registry-username',
        username,
        '--registry-password-stdin',
        '--run',
        results.runId,
        '--report-dir',
        reportDir,
      ],
      { cwd: ROOT, input: password, reject: false, all: true },
    );
    expect({ exitCode: clean.exitCode, out: clean.all }).toEqual({
      exitCode: 1,
      out: expect.stringMatching(new RegExp(`${left.length} repositor(y|ies) of this run left \\(405 UNSUPPORTED\\)`)) as unknown,
    });
    expect(`${console}${clean.all ?? ''}`).not.toContain(password);
  }, 1_800_000);
});
