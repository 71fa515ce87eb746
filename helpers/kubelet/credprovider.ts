// Kubelet image credential providers on a node (KEP-2133, GA in 1.26) and their service account
// token mode (KEP-4412): pullcheck's own plugin (programs/credprovider) installed on one node, a
// CredentialProviderConfig naming it, kubelet restarted with the two flags that enable it, and all
// of it undone afterwards.
//
// What kubelet does (pkg/credentialprovider/plugin in k8s.io/kubernetes, the same in v1.36.3 and v1.37.2):
// - Only flags turn providers on: --image-credential-provider-config (a file, or a directory of
//   them) and --image-credential-provider-bin-dir; the KubeletConfiguration has no such fields. On
//   a kind (kubeadm) node the admin's place for extra flags is KUBELET_EXTRA_ARGS in
//   /etc/default/kubelet, an EnvironmentFile of kubeadm's kubelet drop-in, read at each start; kind
//   itself writes one line there already, which is kept.
// - The config is read once, at start. A provider is run only for an image whose name matches one of
//   its matchImages (host with port, path prefix); the request names the repository without tag
//   (`host:port/repo`). A plugin that fails (exit non-zero) is logged by kubelet and contributes no
//   credentials: the pull goes on without them.
// - tokenAttributes (gate KubeletServiceAccountTokenForCredentialProviders: alpha 1.33, beta and on
//   since 1.34) makes kubelet request a token for the pod's service account, bound to the pod, with
//   serviceAccountTokenAudience as its only audience, and put it in the request. The API server's
//   NodeRestriction admission (gate ServiceAccountNodeAudienceRestriction: beta, on since 1.33) lets
//   a node request that audience only when a pod on it projects a token for it, or when the node is
//   authorized to `request-serviceaccounts-token-audience` on the resource named like the audience
//   (API group ""), which pullcheck grants with a labelled ClusterRole and binding.
import { AuthorizationV1Api, VersionApi } from '@kubernetes/client-node';
import YAML from 'yaml';
import type { Kube } from '../cluster/kube.ts';
import { registerCredentials } from '../infra/redact.ts';
import type { NodeAccess } from '../node/access.ts';
import { NodeAudienceRestrictionGate, nodeAudienceRestrictionDefault } from '../posture/posture.ts';

/** The provider's name in the config, which kubelet runs as `{bin dir}/{name}`. */
export const PLUGIN_NAME = 'pullcheck-credprovider';
export const CREDENTIAL_PROVIDER_API = 'credentialprovider.kubelet.k8s.io/v1';
export const KUBELET_ENV_FILE = '/etc/default/kubelet';
export const TokenGate = 'KubeletServiceAccountTokenForCredentialProviders';
export const AudienceRestrictionGate = NodeAudienceRestrictionGate;
/** The verb NodeRestriction asks the authorizer about, on a "resource" named like the audience. */
export const AUDIENCE_VERB = 'request-serviceaccounts-token-audience';

/** Where everything pullcheck puts on the node lives: one directory, removed as a whole. */
export interface NodeLayout {
  dir: string;
  binDir: string;
  config: string;
  credentials: string;
  log: string;
}

export function nodeLayout(dir = '/var/lib/pullcheck-credprovider'): NodeLayout {
  return { dir, binDir: `${dir}/bin`, config: `${dir}/config.yaml`, credentials: `${dir}/credentials.json`, log: `${dir}/requests.log` };
}

export interface TokenAttributes {
  serviceAccountTokenAudience: string;
  requireServiceAccount: boolean;
  /** Token: kubelet caches the answer per token (the conservative choice); ServiceAccount: per service account. */
  cacheType: 'Token' | 'ServiceAccount';
}

export interface ProviderSpec {
  /** The registry (host:port) the plugin returns credentials for. */
  registry: string;
  /** Which images kubelet runs the plugin for; the registry by default. */
  matchImages?: string[];
  /** Kubelet's cache when the answer names no duration. */
  defaultCacheDuration?: string;
  /** The cacheDuration the plugin answers with (cacheKeyType is always Image). */
  responseCacheDuration?: string;
  /** Service account token mode: kubelet sends the pod's token, the plugin refuses without it. */
  tokenAttributes?: TokenAttributes;
}

/** The plugin's argv after its name, as the config's `args` hands it over. */
export function pluginArgs(spec: ProviderSpec, layout: NodeLayout): string[] {
  return [
    `-registry=${spec.registry}`,
    `-credentials=${layout.credentials}`,
    `-log=${layout.log}`,
    `-cache-duration=${spec.responseCacheDuration ?? '10s'}`,
    ...(spec.tokenAttributes ? ['-require-token', `-audience=${spec.tokenAttributes.serviceAccountTokenAudience}`] : []),
  ];
}

/** The CredentialProviderConfig (kubelet.config.k8s.io/v1) naming pullcheck's plugin. */
export function renderCredentialProviderConfig(spec: ProviderSpec, layout: NodeLayout): string {
  const provider: Record<string, unknown> = {
    name: PLUGIN_NAME,
    matchImages: spec.matchImages ?? [spec.registry],
    defaultCacheDuration: spec.defaultCacheDuration ?? '10s',
    apiVersion: CREDENTIAL_PROVIDER_API,
    args: pluginArgs(spec, layout),
    ...(spec.tokenAttributes ? { tokenAttributes: { ...spec.tokenAttributes } } : {}),
  };
  return YAML.stringify({ apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig', providers: [provider] });
}

/** The file the plugin reads its answer from (0600 on the node). */
export function renderPluginCredentials(c: { username: string; password: string }): string {
  registerCredentials(c.username, c.password);
  return `${JSON.stringify({ username: c.username, password: c.password })}\n`;
}

export function credentialProviderFlags(layout: NodeLayout): string[] {
  return [`--image-credential-provider-config=${layout.config}`, `--image-credential-provider-bin-dir=${layout.binDir}`];
}

const EXTRA_ARGS = 'KUBELET_EXTRA_ARGS';

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0] ? t.slice(1, -1) : t;
}

/**
 * /etc/default/kubelet with `flags` added to KUBELET_EXTRA_ARGS (kept as it was otherwise, and the
 * line added when there is none). `original` undefined: the file does not exist. Refuses a file that
 * already turns a credential provider on: a leftover, or an admin's own, is never silently extended.
 */
export function withKubeletExtraArgs(original: string | undefined, flags: readonly string[]): string {
  const lines = (original ?? '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const i = lines.findIndex((l) => l.trimStart().startsWith(`${EXTRA_ARGS}=`));
  const current = i >= 0 ? unquote((lines[i] ?? '').trimStart().slice(EXTRA_ARGS.length + 1)) : '';
  if (current.includes('--image-credential-provider-'))
    throw new Error(`${KUBELET_ENV_FILE} already sets a credential provider (${current}); refusing to change it`);
  const line = `${EXTRA_ARGS}="${[current, ...flags].filter(Boolean).join(' ')}"`;
  if (i >= 0) lines[i] = line;
  else lines.push(line);
  return `${lines.join('\n')}\n`;
}

/** One line of the plugin's log: one request kubelet made. */
export interface PluginRequest {
  time: string;
  image: string;
  registry: string;
  decision: 'served' | 'other-registry' | 'refused-no-token' | 'refused-audience' | 'error';
  detail?: string;
  token: {
    present: boolean;
    audiences?: string[];
    subject?: string;
    namespace?: string;
    serviceAccount?: string;
    pod?: string;
    podUID?: string;
    node?: string;
    expires?: string;
    error?: string;
  };
  annotationKeys?: string[];
}

export function parsePluginLog(text: string): PluginRequest[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PluginRequest);
}

/** One log line for a request, without anything secret (the plugin never records the token itself). */
export function describePluginRequest(r: PluginRequest): string {
  const t = r.token;
  const token = t.present
    ? `token aud=${(t.audiences ?? []).join(',') || '?'} sub=${t.subject ?? '?'} pod=${t.pod ?? '?'}${t.node ? ` node=${t.node}` : ''}${t.error ? ` (${t.error})` : ''}`
    : 'no token';
  return `${r.decision} ${r.image} (${token})${r.detail ? `: ${r.detail}` : ''}`;
}

/** The repository kubelet names in its request: the image reference without tag or digest. */
export function requestedImage(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

function minorOf(version: string): { major: number; minor: number } {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`cannot read a Kubernetes version from "${version}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function atLeast(version: string, major: number, minor: number): boolean {
  const v = minorOf(version);
  return v.major > major || (v.major === major && v.minor >= minor);
}

export interface Support {
  supported: boolean;
  /** The rule applied, with the facts it was applied to: for s.rule, or s.skip's reason. */
  rule: string;
}

/** Exec credential providers: flags since 1.20 (gate KubeletCredentialProviders until GA in 1.26). */
export function execProviderSupport(kubeletVersion: string, helpHasFlags: boolean): Support {
  if (!helpHasFlags)
    return {
      supported: false,
      rule: `kubelet ${kubeletVersion} has no --image-credential-provider-config/--image-credential-provider-bin-dir flags`,
    };
  if (!atLeast(kubeletVersion, 1, 26))
    return {
      supported: false,
      rule: `kubelet ${kubeletVersion}: exec credential providers are GA only since 1.26 (earlier they need the KubeletCredentialProviders gate, which pullcheck does not set)`,
    };
  return {
    supported: true,
    rule: `kubelet ${kubeletVersion}: exec credential providers are GA (since 1.26); kubelet runs a provider only for images its matchImages match, and uses what it returns for the pull`,
  };
}

/**
 * KEP-4412 on the node: absent before 1.33, gate alpha (off) in 1.33, beta (on) since 1.34; an
 * explicit gate in the kubelet's configuration wins over the version's default.
 */
export function tokenModeSupport(kubeletVersion: string, gates: Readonly<Record<string, boolean>>): Support {
  if (!atLeast(kubeletVersion, 1, 33))
    return {
      supported: false,
      rule: `kubelet ${kubeletVersion} predates service account tokens for credential providers (KEP-4412, alpha in 1.33)`,
    };
  const explicit = gates[TokenGate];
  const enabled = explicit ?? atLeast(kubeletVersion, 1, 34);
  const source =
    explicit === undefined ? `default for ${kubeletVersion} (alpha, off in 1.33; beta, on since 1.34)` : 'set in the kubelet configuration';
  if (!enabled)
    return { supported: false, rule: `kubelet ${kubeletVersion}: ${TokenGate}=false (${source}); tokenAttributes would be rejected` };
  return {
    supported: true,
    rule: `kubelet ${kubeletVersion}: ${TokenGate}=true (${source}); with tokenAttributes kubelet sends the pod's service account token for serviceAccountTokenAudience`,
  };
}

/**
 * Whether NodeRestriction limits the audiences a node may request (API server 1.32 beta off, on since
 * 1.33; --feature-gates wins over the default).
 */
export function audienceRestriction(
  apiServerVersion: string,
  gates: Readonly<Record<string, boolean>>,
): { restricted: boolean; rule: string } {
  const explicit = gates[AudienceRestrictionGate];
  const restricted = explicit ?? nodeAudienceRestrictionDefault(apiServerVersion);
  const source =
    explicit === undefined
      ? `default for API server ${apiServerVersion} (beta: off in 1.32, on since 1.33)`
      : "set by the API server's --feature-gates";
  return restricted
    ? {
        restricted,
        rule: `${AudienceRestrictionGate}=true (${source}): the node may request a token for an audience no pod on it projects only when RBAC grants it ${AUDIENCE_VERB} on that audience`,
      }
    : { restricted, rule: `${AudienceRestrictionGate}=false (${source}): the node may request tokens for any audience` };
}

/** `--feature-gates=A=true,B=false` (all occurrences) → {A: true, B: false}. */
export function featureGatesFromArgs(argv: readonly string[]): Record<string, boolean> {
  const gates: Record<string, boolean> = {};
  for (const a of argv) {
    if (!a.startsWith('--feature-gates=')) continue;
    for (const kv of a.slice('--feature-gates='.length).split(',')) {
      const [k, v] = kv.split('=');
      if (k && (v === 'true' || v === 'false')) gates[k.trim()] = v === 'true';
    }
  }
  return gates;
}

/** A ClusterRole that lets a node request tokens for `audience`, and its binding to that node. */
export function audienceGrant(name: string, node: string, audience: string, labels: Record<string, string>) {
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: [{ apiGroups: [''], resources: [audience], verbs: [AUDIENCE_VERB] }],
    },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${node}` }],
    },
  };
}

// ---- on the cluster ----

/** True when the node's kubelet binary knows both flags (`kubelet --help`). */
export async function kubeletHasProviderFlags(nodes: NodeAccess, node: string): Promise<boolean> {
  const r = await nodes.exec(node, ['kubelet', '--help'], { allowFailure: true });
  const help = `${r.stdout}\n${r.stderr}`;
  return help.includes('--image-credential-provider-config') && help.includes('--image-credential-provider-bin-dir');
}

export async function reportedKubeletVersion(kube: Kube, node: string): Promise<string> {
  const v = (await kube.core.readNode({ name: node })).status?.nodeInfo?.kubeletVersion;
  if (!v) throw new Error(`node ${node} reports no kubeletVersion`);
  return v;
}

/** The feature gates set in the node's running kubelet configuration (configz); unset ones are absent. */
export async function kubeletFeatureGates(kube: Kube, node: string): Promise<Record<string, boolean>> {
  // The generated client is typed as string but hands back parsed JSON; accept both.
  const raw: unknown = await kube.core.connectGetNodeProxyWithPath({ name: node, path: 'configz' });
  const configz = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { kubeletconfig?: { featureGates?: Record<string, unknown> } };
  if (!configz.kubeletconfig) throw new Error(`${node}: configz answer has no "kubeletconfig" object`);
  const gates: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(configz.kubeletconfig.featureGates ?? {})) if (typeof v === 'boolean') gates[k] = v;
  return gates;
}

/** The API server's version and the gates its static pod sets (`component=kube-apiserver`). */
export async function apiServerFacts(kube: Kube): Promise<{ version: string; gates: Record<string, boolean> }> {
  const version = (await kube.config.makeApiClient(VersionApi).getCode()).gitVersion;
  const pods = (await kube.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'component=kube-apiserver' })).items;
  const argv = pods.flatMap((p) => (p.spec?.containers ?? []).flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]));
  return { version, gates: featureGatesFromArgs(argv) };
}

export interface InstalledProvider {
  node: string;
  layout: NodeLayout;
  /** Every request the plugin has answered on the node so far. */
  requests(): Promise<PluginRequest[]>;
  /** kubelet's journal since it was restarted with the provider. */
  kubeletJournal(): Promise<string>;
}

export async function readOptionalFile(nodes: NodeAccess, node: string, path: string): Promise<string | undefined> {
  // base64, so that the file comes back byte for byte (the command runner trims output).
  const r = await nodes.exec(node, ['sh', '-c', 'if [ -e "$1" ]; then base64 -w0 "$1"; echo; else echo absent; fi', 'sh', path]);
  const out = r.stdout.trim();
  return out === 'absent' ? undefined : Buffer.from(out, 'base64').toString('utf8');
}

/**
 * What the authorizer answers when NodeRestriction asks whether `node` may request a token for
 * `audience` for the service account `default` in `namespace` (a SubjectAccessReview as the node).
 */
export async function nodeMayRequestAudience(
  kube: Kube,
  node: string,
  audience: string,
  namespace: string,
  serviceAccount = 'default',
): Promise<{ allowed: boolean; reason: string }> {
  const authz = kube.config.makeApiClient(AuthorizationV1Api);
  const review = await authz.createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:node:${node}`,
        groups: ['system:nodes', 'system:authenticated'],
        resourceAttributes: { verb: AUDIENCE_VERB, group: '', version: 'v1', resource: audience, namespace, name: serviceAccount },
      },
    },
  });
  return { allowed: review.status?.allowed ?? false, reason: review.status?.reason ?? '' };
}
