// Pull-only mode (`--registry-preseeded`, issue 25 item 3): the file and its checks, the client
// that never writes, the options, the scenario fixtures and the certification it gives.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { PodVerdict } from '../helpers/framework/pods.ts';
import { expectRanPreseeded, preseededFor, pullOnlySkip, refusePushToPullOnly } from '../helpers/framework/pullonly.ts';
import { probeReference } from '../helpers/posture/probe.ts';
import { ReadOnlyRegistryError, RegistryClient } from '../helpers/registry/client.ts';
import { PULL_ONLY_PUSH_REASON, parsePreseeded, readPreseededFile, splitReference } from '../helpers/registry/preseeded.ts';
import { VendorRegistry } from '../helpers/registry/vendor.ts';
import { certificationVerdict } from '../helpers/report/html.ts';
import { ScenarioSkipped } from '../helpers/report/records.ts';
import type { ScenarioRecord, TargetResult } from '../helpers/report/schema.ts';
import { certify, PULL_ONLY_NOTE, PULL_ONLY_PROVEN } from '../helpers/run/certification.ts';
import { resolveRunOptions, UsageError } from '../helpers/run/options.ts';

const HOST = 'reg.example:5000';
const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const ENTRIES = [
  { name: 'oci-manifest', reference: `${HOST}/seed/app:1`, digest: D1 },
  { name: 'private-oci-index', reference: `${HOST}/team/multi:2`, digest: D2, platforms: ['linux/amd64', 'linux/arm/v7'] },
];

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-preseeded-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('the pre-seeded file', () => {
  it('reads a YAML list or a JSON {references}, each entry checked', () => {
    const yaml = file(
      'seeded.yaml',
      `- name: oci-manifest\n  reference: ${HOST}/seed/app:1\n  digest: ${D1}\n- name: private-oci-index\n  reference: ${HOST}/team/multi:2\n  digest: ${D2}\n  platforms: [linux/amd64, linux/arm/v7]\n`,
    );
    expect(readPreseededFile(yaml, HOST)).toEqual(ENTRIES);
    const json = file('seeded.json', JSON.stringify({ references: ENTRIES }));
    expect(readPreseededFile(json, HOST)).toEqual(ENTRIES);
  });

  it('refuses what a scenario could not pull, each with one line naming the entry', () => {
    const bad = (entries: unknown) => () => parsePreseeded(entries, 'f', HOST);
    expect(bad([])).toThrow(/write a list of \{name, reference, digest\}/);
    expect(bad([{ ...ENTRIES[0], name: 'single' }])).toThrow(/entry 1: name "single" is not one of oci-manifest/);
    expect(bad([ENTRIES[0], ENTRIES[0]])).toThrow(/entry 2: oci-manifest is named twice/);
    expect(bad([{ ...ENTRIES[0], reference: 'other.example/seed/app:1' }])).toThrow(/not on the registry under test \(reg.example:5000\)/);
    expect(bad([{ ...ENTRIES[0], reference: `${HOST}/seed/app` }])).toThrow(/is not host\/repository:tag/);
    expect(bad([{ ...ENTRIES[0], digest: 'sha256:abc' }])).toThrow(/digest "sha256:abc" is not sha256:<64 hex digits>/);
    expect(bad([{ ...ENTRIES[0], reference: `${HOST}/seed/app@${D2}` }])).toThrow(
      /the reference names sha256:b+, the digest says sha256:a+/,
    );
    expect(bad([{ ...ENTRIES[0], private: true }])).toThrow(/unknown key "private"/);
    expect(bad([{ ...ENTRIES[1], platforms: ['amd64'] }])).toThrow(/platforms must be a list/);
    expect(() => readPreseededFile('/nonexistent/seeded.yaml', HOST)).toThrow(/does not exist/);
  });

  it('splits references by tag and by digest', () => {
    expect(splitReference(`${HOST}/a/b:v1`)).toEqual({ host: HOST, repository: 'a/b', tagOrDigest: 'v1' });
    expect(splitReference(`${HOST}/a@${D1}`)).toEqual({ host: HOST, repository: 'a', tagOrDigest: D1 });
    expect(splitReference(`${HOST}/A:v1`)).toBeUndefined();
  });
});

describe('the pull-only client', () => {
  it('sends GET and HEAD, and refuses every write before it leaves the process', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      // No blob here: pushBlob goes on to its upload (a POST), which must never be sent.
      res.writeHead(req.url?.includes('/blobs/') ? 404 : 200, { 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new RegistryClient({ host, insecure: true, readOnly: PULL_ONLY_PUSH_REASON });
    expect((await client.ping()).status).toBe(200);
    await client.fetch('HEAD', '/v2/seed/app/manifests/1');
    for (const [method, call] of [
      ['PUT', () => client.putManifest('seed/app', '1', { bytes: Buffer.from('{}'), digest: D1 } as never, 'x')],
      ['DELETE', () => client.tryDelete('seed/app', '1')],
      ['POST', () => client.pushBlob('seed/app', D1, Buffer.from('x'))],
      ['PATCH', () => client.fetch('PATCH', '/v2/seed/app/blobs/uploads/u')],
    ] as const) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReadOnlyRegistryError);
      expect((error as ReadOnlyRegistryError).method).toBe(method);
      expect((error as Error).message).toContain('pull-only');
    }
    expect(seen.filter((s) => !/^(GET|HEAD) /.test(s))).toEqual([]);
    expect(seen).toContain(`HEAD /v2/seed/app/blobs/${D1}`);
  });

  it('is what a vendor registry given pre-seeded references uses', () => {
    const pullOnly = new VendorRegistry({ url: `https://${HOST}`, host: HOST, preseeded: parsePreseeded(ENTRIES, 'f', HOST) }, 'public');
    expect(pullOnly.client.options.readOnly).toBe(PULL_ONLY_PUSH_REASON);
    expect(new VendorRegistry({ url: `https://${HOST}`, host: HOST }, 'public').client.options.readOnly).toBeUndefined();
  });
});

describe('scenarios in pull-only mode', () => {
  const entries = parsePreseeded(ENTRIES, 'f', HOST);
  const anonymous = new VendorRegistry({ url: `https://${HOST}`, host: HOST, preseeded: entries }, 'public');
  const withCredentials = new VendorRegistry(
    { url: `https://${HOST}`, host: HOST, username: 'u', password: 'p', preseeded: entries },
    'private',
  );
  const pushing = new VendorRegistry({ url: `https://${HOST}`, host: HOST }, 'public');

  it('take the reference of their kind, private-… with credentials, and are not applicable without one', () => {
    expect(preseededFor(anonymous, 'oci-manifest')).toMatchObject({
      ref: `${HOST}/seed/app:1`,
      repository: 'seed/app',
      tag: '1',
      digest: D1,
    });
    expect(preseededFor(withCredentials, 'oci-index')).toMatchObject({ kind: 'private-oci-index', digest: D2 });
    expect(preseededFor(pushing, 'oci-manifest')).toBeUndefined();
    const missing = (() => {
      try {
        preseededFor(withCredentials, 'oci-manifest');
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(ScenarioSkipped);
    expect((missing as ScenarioSkipped).kind).toBe('not-applicable');
    expect((missing as Error).message).toBe(
      'pull-only: the registry was given no pre-seeded private-oci-manifest reference (--registry-preseeded)',
    );
  });

  it('that push are not applicable, by s.push or by a write the client refused', () => {
    expect(() => refusePushToPullOnly(anonymous)).toThrow(ScenarioSkipped);
    expect(() => refusePushToPullOnly(pushing)).not.toThrow();
    const skip = pullOnlySkip(new ReadOnlyRegistryError(HOST, 'DELETE', '/v2/a/manifests/1', PULL_ONLY_PUSH_REASON));
    expect(skip).toBeInstanceOf(ScenarioSkipped);
    expect((skip as Error).message).toMatch(/^pull-only: .* \(it asked DELETE \/v2\/a\/manifests\/1\)$/);
    const other = new Error('x');
    expect(pullOnlySkip(other)).toBe(other);
  });

  it('assert the digest the file names, whatever the image prints or exits with', () => {
    const image = preseededFor(anonymous, 'oci-manifest');
    if (!image) throw new Error('no image');
    const pod = (imageID: string) =>
      ({
        metadata: { name: 'p', namespace: 'n' },
        spec: { nodeName: 'w' },
        status: { containerStatuses: [{ name: 'main', imageID }] },
      }) as never;
    const ran = (imageID: string, exitCode = 3): PodVerdict => ({ kind: 'completed', pod: pod(imageID), exitCode });
    expect(() => expectRanPreseeded(ran(`${HOST}/seed/app@${D1}`), image)).not.toThrow();
    expect(() => expectRanPreseeded(ran(`${HOST}/seed/app@${D2}`), image)).toThrow(/not the digest the pre-seeded file names, sha256:a+/);
    expect(() => expectRanPreseeded({ kind: 'pull-failed', pod: pod(''), reason: 'ErrImagePull', message: 'not found' }, image)).toThrow(
      /its pull failed \(ErrImagePull\): not found/,
    );
  });

  it('the pull probe pulls a pre-seeded manifest the registry is read as, or none', () => {
    expect(probeReference(anonymous)).toEqual({ ref: `${HOST}/seed/app:1`, repository: 'seed/app', tag: '1' });
    expect(probeReference(withCredentials)).toEqual({ ref: `${HOST}/team/multi:2`, repository: 'team/multi', tag: '2' });
    expect(probeReference(pushing)).toBeUndefined();
  });
});

describe('--registry-preseeded', () => {
  it('reads the file for the registry given, from the flag or registry.preseeded in --config (relative to it)', () => {
    const seeded = file('seeded.yaml', JSON.stringify(ENTRIES));
    const o = resolveRunOptions({ registry: `https://${HOST}`, registryPreseeded: seeded, certify: true }, {});
    expect(o.registry?.preseeded).toEqual(ENTRIES);
    expect(o.registry?.preseededFile).toBe(seeded);
    const config = join(seeded, '..', 'pullcheck.yaml');
    writeFileSync(config, `registry:\n  url: https://${HOST}\n  preseeded: seeded.yaml\n`);
    expect(resolveRunOptions({ config }, {}).registry?.preseeded).toEqual(ENTRIES);
  });

  it('refuses what cannot work with it', () => {
    const seeded = file('seeded.yaml', JSON.stringify(ENTRIES));
    expect(() => resolveRunOptions({ registryPreseeded: seeded }, {})).toThrow(UsageError);
    expect(() => resolveRunOptions({ registry: 'https://other.example', registryPreseeded: seeded }, {})).toThrow(
      /not on the registry under test \(other.example\)/,
    );
    expect(() =>
      resolveRunOptions({ registry: `https://${HOST}`, registryPreseeded: seeded, registryUpstream: 'https://up.example' }, {}),
    ).toThrow(/exclude each other/);
    expect(() =>
      resolveRunOptions(
        {
          registry: `https://${HOST}`,
          registryPreseeded: seeded,
          registryUsername: 'u',
          registryPassword: 'p',
          registryPublicPrefix: 'pub',
        },
        {},
      ),
    ).toThrow(/pull-only pushes nothing/);
  });
});

describe('certification of a pull-only registry', () => {
  const record = (id: string, capabilities: string[], status: ScenarioRecord['status'] = 'passed') =>
    ({ id, suite: 'registry', title: id, status, capabilities, rules: [], evidence: [], registries: [HOST] }) as unknown as ScenarioRecord;
  const target = (scenarios: ScenarioRecord[]) =>
    ({
      name: 'v1',
      kubernetesVersion: 'v1.37.2',
      nodes: [],
      cluster: { mode: 'kind', name: 'k' },
      registry: { mode: 'vendor', url: `https://${HOST}`, credentials: true, pullOnly: true },
      startedAt: '',
      finishedAt: '',
      scenarios,
    }) as unknown as TargetResult;

  it('puts what needs a push out of scope and says the rest was proven pull-only', () => {
    const items = certify([
      target([
        record('registry/node-pulls-oci-index-from-private', ['tls', 'oci-index']),
        record('registry/node-pulls-docker-manifest-list-from-private', ['tls', 'docker-manifest-list']),
        record('registry/private-index-selects-node-platform', ['platform-selection', 'oci-index']),
        record('registry/private-requires-auth', ['auth-enforced']),
        record('image-pull-secrets/dockerconfigjson-secret-pulls', ['credentials-accepted']),
      ]),
    ]);
    const by = new Map(items.map((c) => [c.key, c]));
    for (const key of ['tag-moves', 'deletion', 'chunked-upload'])
      expect(by.get(key)).toMatchObject({ status: 'out of scope', note: PULL_ONLY_NOTE });
    expect(by.get('oci-index')).toMatchObject({ status: 'passed', note: PULL_ONLY_PROVEN });
    expect(certificationVerdict(items)).toBe(`certified: every required capability passed (${PULL_ONLY_NOTE})`);
  });

  it('is not certified when a required capability was not proven on the pre-seeded references', () => {
    const items = certify([target([record('registry/node-pulls-oci-manifest-from-private', ['tls'])])]);
    expect(items.find((c) => c.key === 'oci-index')?.status).toBe('not tested');
    expect(certificationVerdict(items)).toMatch(/^not certified/);
  });
});
