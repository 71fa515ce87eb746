import YAML from 'yaml';
import { clearSecrets, redact } from '../helpers/infra/redact.ts';
import {
  audienceGrant,
  audienceRestriction,
  credentialProviderFlags,
  describePluginRequest,
  execProviderSupport,
  featureGatesFromArgs,
  nodeLayout,
  parsePluginLog,
  pluginArgs,
  renderCredentialProviderConfig,
  renderPluginCredentials,
  requestedImage,
  tokenModeSupport,
  withKubeletExtraArgs,
} from '../helpers/kubelet/credprovider.ts';

const LAYOUT = nodeLayout('/var/lib/pc');
const REGISTRY = 'reg.example:5000';
const TOKEN = { serviceAccountTokenAudience: 'registry.example', requireServiceAccount: true, cacheType: 'Token' as const };

afterEach(() => clearSecrets());

describe('CredentialProviderConfig', () => {
  it('names the plugin, matches the registry with its port, and hands the plugin its files as args', () => {
    const config = YAML.parse(renderCredentialProviderConfig({ registry: REGISTRY }, LAYOUT)) as Record<string, unknown>;
    expect(config).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1',
      kind: 'CredentialProviderConfig',
      providers: [
        {
          name: 'pullcheck-credprovider',
          matchImages: [REGISTRY],
          defaultCacheDuration: '10s',
          apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
          args: [
            `-registry=${REGISTRY}`,
            '-credentials=/var/lib/pc/credentials.json',
            '-log=/var/lib/pc/requests.log',
            '-cache-duration=10s',
          ],
        },
      ],
    });
  });

  it('matchImages may differ from the registry served; no tokenAttributes unless asked', () => {
    const config = YAML.parse(
      renderCredentialProviderConfig(
        { registry: REGISTRY, matchImages: ['other.example:5000'], defaultCacheDuration: '0s', responseCacheDuration: '1s' },
        LAYOUT,
      ),
    ) as { providers: Record<string, unknown>[] };
    const [p] = config.providers;
    expect(p?.['matchImages']).toEqual(['other.example:5000']);
    expect(p?.['defaultCacheDuration']).toBe('0s');
    expect(p?.['args']).toContain('-cache-duration=1s');
    expect(p).not.toHaveProperty('tokenAttributes');
  });

  it('token mode: tokenAttributes as kubelet requires them, and the plugin told to require the token for that audience', () => {
    const config = YAML.parse(renderCredentialProviderConfig({ registry: REGISTRY, tokenAttributes: TOKEN }, LAYOUT)) as {
      providers: Record<string, unknown>[];
    };
    expect(config.providers[0]?.['tokenAttributes']).toEqual({
      serviceAccountTokenAudience: 'registry.example',
      requireServiceAccount: true,
      cacheType: 'Token',
    });
    expect(pluginArgs({ registry: REGISTRY, tokenAttributes: TOKEN }, LAYOUT).slice(-2)).toEqual([
      '-require-token',
      '-audience=registry.example',
    ]);
  });

  it('the credentials file is JSON the plugin reads, and its password is registered for redaction', () => {
    const text = renderPluginCredentials({ username: 'alice', password: 's3cret-pw' });
    expect(JSON.parse(text)).toEqual({ username: 'alice', password: 's3cret-pw' });
    expect(redact(`x ${text}`)).not.toContain('s3cret-pw');
  });
});

describe('kubelet flags in /etc/default/kubelet', () => {
  const flags = credentialProviderFlags(LAYOUT);

  it('are the config and the bin dir', () => {
    expect(flags).toEqual([
      '--image-credential-provider-config=/var/lib/pc/config.yaml',
      '--image-credential-provider-bin-dir=/var/lib/pc/bin',
    ]);
  });

  it("extend kind's KUBELET_EXTRA_ARGS (one line, no final newline) and keep what it had", () => {
    expect(withKubeletExtraArgs('KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service', flags)).toBe(
      `KUBELET_EXTRA_ARGS="--runtime-cgroups=/system.slice/containerd.service ${flags.join(' ')}"\n`,
    );
  });

  it('unquote an existing value and leave other lines alone', () => {
    expect(withKubeletExtraArgs('# admin\nFOO=1\nKUBELET_EXTRA_ARGS="--v=2 --max-pods=50"\n', flags)).toBe(
      `# admin\nFOO=1\nKUBELET_EXTRA_ARGS="--v=2 --max-pods=50 ${flags.join(' ')}"\n`,
    );
  });

  it('add the line to a file without one, or make the file', () => {
    expect(withKubeletExtraArgs('FOO=1\n', flags)).toBe(`FOO=1\nKUBELET_EXTRA_ARGS="${flags.join(' ')}"\n`);
    expect(withKubeletExtraArgs(undefined, flags)).toBe(`KUBELET_EXTRA_ARGS="${flags.join(' ')}"\n`);
  });

  it('refuse a file that already turns a credential provider on', () => {
    expect(() => withKubeletExtraArgs(`KUBELET_EXTRA_ARGS="${flags.join(' ')}"`, flags)).toThrow(/already sets a credential provider/);
  });
});

describe("the plugin's log", () => {
  const lines = [
    'pullcheck-credprovider: not json',
    JSON.stringify({ time: 't1', image: `${REGISTRY}/a/b`, registry: REGISTRY, decision: 'served', token: { present: false } }),
    JSON.stringify({
      time: 't2',
      image: `${REGISTRY}/a/c`,
      registry: REGISTRY,
      decision: 'served',
      token: { present: true, audiences: ['aud'], subject: 'system:serviceaccount:ns:sa', pod: 'p' },
    }),
    '',
  ].join('\n');

  it('is one JSON record per request; other lines are ignored', () => {
    const records = parsePluginLog(lines);
    expect(records.map((r) => [r.image, r.decision, r.token.present])).toEqual([
      [`${REGISTRY}/a/b`, 'served', false],
      [`${REGISTRY}/a/c`, 'served', true],
    ]);
    const second = records[1];
    expect(second && describePluginRequest(second)).toBe(`served ${REGISTRY}/a/c (token aud=aud sub=system:serviceaccount:ns:sa pod=p)`);
  });

  it('names repositories as kubelet asks for them: without tag or digest, the port kept', () => {
    expect(requestedImage(`${REGISTRY}/a/b:v1`)).toBe(`${REGISTRY}/a/b`);
    expect(requestedImage(`${REGISTRY}/a/b@sha256:${'0'.repeat(64)}`)).toBe(`${REGISTRY}/a/b`);
    expect(requestedImage(`${REGISTRY}/a/b`)).toBe(`${REGISTRY}/a/b`);
  });
});

describe('what the version supports, and the rule applied', () => {
  it('exec providers: GA since 1.26, and only where kubelet has the flags', () => {
    expect(execProviderSupport('v1.37.2', true).supported).toBe(true);
    expect(execProviderSupport('v1.25.9', true)).toMatchObject({
      supported: false,
      rule: expect.stringMatching(/KubeletCredentialProviders/) as unknown,
    });
    expect(execProviderSupport('v1.37.2', false)).toMatchObject({
      supported: false,
      rule: expect.stringMatching(/no --image-credential-provider-config/) as unknown,
    });
  });

  it('token mode: absent before 1.33, off by default in 1.33, on since 1.34; an explicit gate wins', () => {
    expect(tokenModeSupport('v1.32.5', {}).supported).toBe(false);
    expect(tokenModeSupport('v1.33.1', {})).toMatchObject({
      supported: false,
      rule: expect.stringMatching(/=false \(default for v1\.33\.1/) as unknown,
    });
    expect(tokenModeSupport('v1.33.1', { KubeletServiceAccountTokenForCredentialProviders: true }).supported).toBe(true);
    expect(tokenModeSupport('v1.36.3', {})).toMatchObject({
      supported: true,
      rule: expect.stringMatching(/=true \(default for v1\.36\.3/) as unknown,
    });
    expect(tokenModeSupport('v1.37.2', { KubeletServiceAccountTokenForCredentialProviders: false })).toMatchObject({
      supported: false,
      rule: expect.stringMatching(/set in the kubelet configuration/) as unknown,
    });
  });

  it('audience restriction: on by default since 1.33, or as --feature-gates says', () => {
    expect(audienceRestriction('v1.32.0', {}).restricted).toBe(false);
    expect(audienceRestriction('v1.36.3', {})).toMatchObject({
      restricted: true,
      rule: expect.stringMatching(/request-serviceaccounts-token-audience/) as unknown,
    });
    expect(
      audienceRestriction(
        'v1.37.2',
        featureGatesFromArgs(['kube-apiserver', '--feature-gates=Foo=true,ServiceAccountNodeAudienceRestriction=false']),
      ).restricted,
    ).toBe(false);
  });

  it('feature gates from argv: every --feature-gates flag, booleans only', () => {
    expect(featureGatesFromArgs(['--feature-gates=A=true,B=false', '--v=2', '--feature-gates=C=true,D=maybe'])).toEqual({
      A: true,
      B: false,
      C: true,
    });
  });
});

describe('RBAC for the audience', () => {
  it('grants the node the NodeRestriction verb on a core-group resource named like the audience', () => {
    const { role, binding } = audienceGrant('g', 'worker', 'registry.example', { 'pullcheck.io/managed': 'true' });
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['registry.example'], verbs: ['request-serviceaccounts-token-audience'] }]);
    expect(role.metadata.labels).toEqual({ 'pullcheck.io/managed': 'true' });
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:node:worker' }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'g' });
  });
});
