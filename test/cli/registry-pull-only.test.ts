// Pull-only mode (`certify --registry-preseeded FILE`, issue 25 item 3) through the CLI, as a vendor
// whose registry pullcheck may not push to would meet it: `registry serve --kind
// distribution-htpasswd` serves a registry, the test itself (not pullcheck's run) seeds it with
// pullcheck's own images through pullcheck's client and names them in a pre-seeded file, then the
// certify line runs with that file, narrowed to the scenarios that prove the required capabilities
// by reading and to two that push. The reading ones pass on the seeded digests, the pushing ones
// are not applicable with the reason, the registry's access log shows no write from the run, and
// certification.json says certified in pull-only mode.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { hostPlatform } from '../../helpers/images/oci.ts';
import { echoImage, echoIndex, INDEX_PLATFORMS } from '../../helpers/images/testimages.ts';
import { Logger } from '../../helpers/infra/log.ts';
import { LABEL_OWNER_PID } from '../../helpers/infra/sweep.ts';
import { parseAccessLog } from '../../helpers/registry/accesslog.ts';
import { RegistryClient } from '../../helpers/registry/client.ts';
import type { RunResults } from '../../helpers/report/schema.ts';
import { parseCertifyLine, ROOT, servedRegistry } from './served-registry.ts';

/** The scenarios that read (each required capability but tag moves) and two that push. */
const READING = [
  'registry/node-pulls-oci-manifest-from-private',
  'registry/node-pulls-docker-manifest-from-private',
  'registry/node-pulls-oci-index-from-private',
  'registry/node-pulls-docker-manifest-list-from-private',
  'registry/private-index-selects-node-platform',
  'registry/private-requires-auth',
  'registry/anonymous-manifest-and-blob-refused',
  'image-pull-secrets/dockerconfigjson-secret-pulls',
];
const PUSHING = ['registry/private-tag-moves', 'registry/private-deletion'];

const arg = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1] ?? '?';

describe('certify --registry-preseeded: pull-only', () => {
  const served = servedRegistry('pull-only');

  it('pulls the seeded digests, rules out what pushes with the reason, writes nothing, and certifies pull-only', async () => {
    const line = await served.serve('distribution-htpasswd', (l) => l.startsWith('npx pullcheck certify'));
    const { args, passwordFile } = parseCertifyLine(line);
    const password = readFileSync(passwordFile, 'utf8');
    const host = arg(args, '--registry').replace('https://', '');

    // The vendor's part, done by the test: seed the registry and name what it seeded.
    const logger = new Logger(join(served.work(), 'seed.log'));
    const seeder = new RegistryClient({
      host,
      ca: readFileSync(arg(args, '--registry-ca'), 'utf8'),
      username: arg(args, '--registry-username'),
      password,
    });
    const seeded: { name: string; reference: string; digest: string; platforms?: string[] }[] = [];
    for (const format of ['oci', 'docker'] as const) {
      const image = await echoImage(hostPlatform(), logger, { format });
      const repository = `vendor/seeded-${format}`;
      seeded.push({
        name: `private-${format}-manifest`,
        reference: `${host}/${repository}:v1`,
        digest: await seeder.pushImage(repository, 'v1', image.image),
      });
      const idx = await echoIndex(INDEX_PLATFORMS, logger, { format });
      const list = `vendor/seeded-${format}-multi`;
      seeded.push({
        name: format === 'oci' ? 'private-oci-index' : 'private-docker-manifest-list',
        reference: `${host}/${list}:v1`,
        digest: await seeder.pushIndex(
          list,
          'v1',
          idx.children.map((c) => c.image),
          idx.index,
          idx.mediaType,
        ),
        platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      });
    }
    const file = join(served.work(), 'preseeded.yaml');
    writeFileSync(file, YAML.stringify(seeded));
    const seededAt = new Date();

    const reportDir = join(served.work(), 'reports');
    const r = await execa(
      'node',
      [
        'bin/pullcheck.js',
        'certify',
        ...args,
        '--registry-preseeded',
        file,
        '--suite',
        'registry,image-pull-secrets',
        '--focus',
        `^(${[...READING, ...PUSHING].join('|')})$`,
        '--report-dir',
        reportDir,
      ],
      { cwd: ROOT, input: password, reject: false, all: true, env: { ...process.env, CI: 'true' } },
    );
    const console = r.all ?? '';
    const results = JSON.parse(readFileSync(join(reportDir, 'latest', 'results.json'), 'utf8')) as RunResults;
    const scenarios = new Map((results.targets[0]?.scenarios ?? []).map((s) => [s.id, s]));
    const status = (id: string) => `${scenarios.get(id)?.status}: ${scenarios.get(id)?.reason?.split('\n')[0] ?? ''}`;
    expect(Object.fromEntries(READING.map((id) => [id, status(id)]))).toEqual(Object.fromEntries(READING.map((id) => [id, 'passed: '])));
    for (const id of PUSHING)
      expect(status(id)).toMatch(
        /^not-applicable: pull-only: the registry is certified with --registry-preseeded, pullcheck does not push to it/,
      );
    // Each node pull ran the digest the file names.
    for (const id of READING.filter((i) => i.includes('node-pulls')))
      expect(scenarios.get(id)?.rules.join('\n')).toMatch(
        /pull-only: the image is the vendor's pre-seeded private-.* with an imageID naming sha256:/,
      );

    const certification = JSON.parse(readFileSync(join(reportDir, 'latest', 'certification.json'), 'utf8')) as {
      verdict: string;
      certified: boolean;
      pullOnly?: boolean;
      capabilities: { key?: string; status: string; note?: string }[];
      registryCleanup?: unknown;
    };
    expect(certification).toMatchObject({ certified: true, pullOnly: true });
    expect(certification.verdict).toContain('pull-only registry (--registry-preseeded)');
    expect(certification.capabilities.find((c) => c.key === 'tag-moves')?.status).toBe('out of scope');
    expect(certification.capabilities.find((c) => c.key === 'oci-index')?.note).toContain('pull-only');
    expect(certification.registryCleanup).toBeUndefined();
    // The exit code is the certificate's: certified, every selected scenario passed or not applicable.
    expect({ exitCode: r.exitCode, tail: console.split('\n').slice(-15).join('\n') }).toEqual({
      exitCode: 0,
      tail: expect.stringContaining('0 failed') as unknown,
    });

    // The registry's own record: from the run, reads only.
    const containers = (await execa('docker', ['ps', '-q', '--filter', `label=${LABEL_OWNER_PID}=${served.pid()}`], { cwd: ROOT })).stdout
      .split('\n')
      .filter(Boolean);
    expect(containers.length).toBeGreaterThan(0);
    const log = (await Promise.all(containers.map((id) => execa('docker', ['logs', id], { all: true, reject: false }))))
      .map((l) => l.all ?? '')
      .join('\n');
    const fromRun = parseAccessLog(log).filter((e) => e.time >= seededAt);
    expect(fromRun.filter((e) => e.uri.includes('/manifests/')).length).toBeGreaterThan(0);
    expect(fromRun.filter((e) => e.method !== 'GET' && e.method !== 'HEAD').map((e) => `${e.method} ${e.uri}`)).toEqual([]);
    expect(console).not.toContain(password);
  }, 1_800_000);
});
