// Registry credentials a node gives every pod: docker config files kubelet reads itself (its
// "legacy" docker-config provider, pkg/credentialprovider in k8s.io/kubernetes), where kubelet
// looks for them, and restarting kubelet so that it reads them.
//
// What kubelet does (config.go, provider.go, v1.37):
// - config.json is searched in the kubelet root dir (`--root-dir`, default /var/lib/kubelet), the
//   working directory, `$HOME/.docker`, `/.docker`; the first readable, parsable file wins. Only
//   when none is found, `.dockercfg` is searched in the root dir, the working directory, `$HOME`, `/`.
// - `$HOME` comes from os.UserHomeDir(). kubelet under systemd has no HOME in its environment, so the
//   home directory is "" and the "home" paths are relative: filepath.Abs makes them
//   `{cwd}/.docker/config.json` and `{cwd}/.dockercfg`. The working directory is "" too, i.e. the
//   process's cwd, which systemd sets to `/`.
// - Only `auths` is read from config.json (credsStore and credHelpers are ignored).
// - The provider is built once when kubelet starts and caches what it read, an empty result
//   included, for 5 minutes (CachingDockerConfigProvider, Lifetime 5m); every pull on the node
//   refreshes an expired cache. A new or deleted file is therefore seen after a kubelet restart, or
//   by the first pull once the cache has expired (up to 5 minutes later): scenarios restart kubelet
//   after writing and after removing a file (node-credentials/new-file-unseen-until-restart shows it).
import { CoordinationV1Api, type V1Lease, type V1Node, type V1Pod } from '@kubernetes/client-node';
import YAML from 'yaml';
import { type Kube, waitFor } from '../cluster/kube.ts';
import { testKillPoint } from '../infra/killpoint.ts';
import { registerCredentials } from '../infra/redact.ts';
import type { NodeAccess } from '../node/access.ts';
import { journaledWrite, type Restart } from '../node/journal.ts';
import { dockerCfg, type RegistryCredential } from '../registry/secrets.ts';
import { KUBELET_PID_SHELL, rootDirOf } from './process.ts';

export type CredentialFileFormat = 'config.json' | '.dockercfg';

export type SearchPlace = 'root-dir' | 'cwd' | 'home' | 'root';

export interface KubeletProcessFacts {
  pid: number;
  rootDir: string;
  /** `/proc/<pid>/cwd`. */
  cwd: string;
  /** `$HOME` in kubelet's environment; undefined when it has none. */
  home: string | undefined;
}

export interface CredentialSearchPath {
  format: CredentialFileFormat;
  place: SearchPlace;
  /** How kubelet names it: `{root-dir}/config.json`. */
  template: string;
  /** The absolute file kubelet opens on this node. */
  path: string;
}

function join(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, '')}/${file}`;
}

/** Go's filepath.Abs(filepath.Join(dir, file)) as kubelet calls it, relative to kubelet's cwd. */
function absolute(dir: string, file: string, cwd: string): string {
  const joined = dir === '' ? file : join(dir, file);
  return joined.startsWith('/') ? joined : join(cwd, joined);
}

/** kubelet's search order for node credential files, resolved for this kubelet process. */
export function credentialSearchPaths(f: Pick<KubeletProcessFacts, 'rootDir' | 'cwd' | 'home'>): CredentialSearchPath[] {
  const home = f.home ?? '';
  const homeDocker = home === '' ? '.docker' : join(home, '.docker');
  const places: [SearchPlace, string, string, string][] = [
    ['root-dir', f.rootDir, '{root-dir}', f.rootDir],
    ['cwd', '', '{cwd}', ''],
    ['home', homeDocker, '${HOME}/.docker', home],
    ['root', '/.docker', '/.docker', '/'],
  ];
  const dockercfgTemplates: Record<SearchPlace, string> = { 'root-dir': '{root-dir}', cwd: '{cwd}', home: '${HOME}', root: '' };
  return [
    ...places.map(([place, dir, template]) => ({
      format: 'config.json' as const,
      place,
      template: `${template}/config.json`,
      path: absolute(dir, 'config.json', f.cwd),
    })),
    ...places.map(([place, , , dir]) => ({
      format: '.dockercfg' as const,
      place,
      template: `${dockercfgTemplates[place]}/.dockercfg`,
      path: absolute(dir, '.dockercfg', f.cwd),
    })),
  ];
}

/**
 * The file kubelet takes its node credentials from when the files at `present` exist: the first
 * config.json in search order, else the first .dockercfg (ReadDockerConfigFile, config.go). It reads
 * that one file only, so a later file never adds to or corrects it.
 */
export function fileKubeletReads(
  paths: readonly CredentialSearchPath[],
  present: readonly CredentialSearchPath[],
): CredentialSearchPath | undefined {
  const found = new Set(present.map((p) => p.path));
  return (
    paths.find((p) => p.format === 'config.json' && found.has(p.path)) ?? paths.find((p) => p.format === '.dockercfg' && found.has(p.path))
  );
}

/** The other search paths that are the same file as `p` on this node (e.g. cwd is `/`, HOME unset). */
export function sameFileAs(p: CredentialSearchPath, all: readonly CredentialSearchPath[]): CredentialSearchPath[] {
  return all.filter((o) => o !== p && o.path === p.path);
}

function auth(c: RegistryCredential): string {
  registerCredentials(c.username, c.password);
  return Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

/** A config.json with nothing but `auths` → `auth` (base64 user:password), as an admin writes it. */
export function nodeConfigJson(credentials: readonly RegistryCredential[]): string {
  return `${JSON.stringify({ auths: Object.fromEntries(credentials.map((c) => [c.server, { auth: auth(c) }])) }, null, 2)}\n`;
}

/** The legacy `.dockercfg`: server → {auth, email}, without the `auths` wrapper. */
export function nodeDockercfg(credentials: readonly RegistryCredential[]): string {
  return `${dockerCfg(credentials)}\n`;
}

/** A config.json that names credential helpers only: what docker login writes with a store. */
export function credsStoreOnlyConfigJson(servers: readonly string[]): string {
  return `${JSON.stringify({ credsStore: 'pullcheck-none', credHelpers: Object.fromEntries(servers.map((s) => [s, 'pullcheck-none'])) }, null, 2)}\n`;
}

/** A config.json with only top-level `HttpHeaders` (what the docs say kubelet honours). */
export function httpHeadersOnlyConfigJson(headers: Record<string, string>): string {
  return `${JSON.stringify({ HttpHeaders: headers }, null, 2)}\n`;
}

export function renderCredentialFile(format: CredentialFileFormat, credentials: readonly RegistryCredential[]): string {
  return format === 'config.json' ? nodeConfigJson(credentials) : nodeDockercfg(credentials);
}

/** Reads `/proc/<pid>` of the node's kubelet: argv, cwd and environment. */
export async function kubeletProcessFacts(nodes: NodeAccess, node: string): Promise<KubeletProcessFacts> {
  const script = `${KUBELET_PID_SHELL}\necho "$pid" && readlink "/proc/$pid/cwd" && tr "\\0" "\\n" < "/proc/$pid/cmdline" && echo "--environ--" && tr "\\0" "\\n" < "/proc/$pid/environ"`;
  const { stdout } = await nodes.exec(node, ['sh', '-c', script]);
  const [pidLine = '', cwd = '', ...rest] = stdout.split('\n');
  const split = rest.indexOf('--environ--');
  const argv = rest.slice(0, split);
  const environ = rest.slice(split + 1);
  const home = environ.find((l) => l.startsWith('HOME='))?.slice('HOME='.length);
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !cwd.startsWith('/') || split < 0)
    throw new Error(`${node}: cannot read kubelet's process from /proc:\n${stdout}`);
  return { pid, rootDir: rootDirOf(argv), cwd, home: home === '' ? undefined : home };
}

function isReady(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Restarts kubelet and waits until the new process has renewed the node's Lease (microsecond times,
 * unlike node conditions) and the node is Ready: only then does a new pod meet the new kubelet.
 */
export async function restartKubelet(nodes: NodeAccess, kube: Kube, node: string, timeoutMs = 120_000): Promise<void> {
  const before = new Date();
  // systemctl returns once the old process is gone and the new one is started.
  await nodes.exec(node, ['systemctl', 'restart', 'kubelet']);
  testKillPoint('kubelet-restart', node);
  const coordination = kube.config.makeApiClient(CoordinationV1Api);
  const namespace = 'kube-node-lease';
  await waitFor({
    kube,
    what: `lease of ${node} renewed by the restarted kubelet (after ${before.toISOString()})`,
    path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
    fieldSelector: `metadata.name=${node}`,
    timeoutMs,
    list: async () => {
      const l = await coordination.listNamespacedLease({ namespace, fieldSelector: `metadata.name=${node}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (leases: V1Lease[]) => {
      const renewed = leases[0]?.spec?.renewTime;
      return renewed && new Date(renewed).getTime() > before.getTime() ? true : undefined;
    },
    describe: (l) => `lease ${l.metadata?.name} renewed ${l.spec?.renewTime ? new Date(l.spec.renewTime).toISOString() : '(never)'}`,
  });
  await waitFor({
    kube,
    what: `node ${node} Ready after kubelet restart`,
    path: '/api/v1/nodes',
    fieldSelector: `metadata.name=${node}`,
    timeoutMs,
    list: async () => {
      const l = await kube.core.listNode({ fieldSelector: `metadata.name=${node}` });
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    until: (all: V1Node[]) => (all[0] && isReady(all[0]) ? true : undefined),
    describe: (n) => `${n.metadata?.name}: ${(n.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(' ')}`,
  });
}

export interface NodeFileOptions {
  nodes: NodeAccess;
  node: string;
  path: string;
  content: string;
  /** What a replay must restart after removing it (default: kubelet, which caches what it read). */
  restart?: readonly Restart[];
}

/**
 * Writes a file that must not exist yet (an admin's own credentials are never overwritten),
 * journaled on the node, and returns what removes it again, with any directory it had to create.
 */
export async function writeNewNodeFile(o: NodeFileOptions): Promise<() => Promise<void>> {
  const change = await journaledWrite(o.nodes, o.node, o.path, o.content, {
    mode: '0600',
    exclusive: true,
    restart: o.restart ?? ['kubelet'],
  });
  return () => change.undo();
}

/** The credential files among kubelet's search paths that exist on the node now. */
export async function presentCredentialFiles(nodes: NodeAccess, node: string, paths: readonly CredentialSearchPath[]): Promise<string[]> {
  const unique = [...new Set(paths.map((p) => p.path))];
  const { stdout } = await nodes.exec(node, ['sh', '-c', 'for f in "$@"; do [ -e "$f" ] && echo "$f"; done; true', 'sh', ...unique]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** pullcheck's drop-in giving kubelet a HOME: read after kubeadm's 10- and kind's 11- drop-ins. */
export const KUBELET_HOME_DROP_IN = '/etc/systemd/system/kubelet.service.d/90-pullcheck-home.conf';

/**
 * A systemd drop-in that sets kubelet's HOME, as the docs suggest ("set HOME=/root explicitly in the
 * environment file for kubelet"): kubelet reads os.UserHomeDir() once, when it starts.
 */
export function kubeletHomeDropIn(home: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(home)) throw new Error(`not an absolute path systemd takes unquoted: ${JSON.stringify(home)}`);
  return `# pullcheck: kubelet's HOME while a node-credentials scenario runs; removed when it ends\n[Service]\nEnvironment=HOME=${home}\n`;
}

export interface NodeCredentialSetup {
  /** Files to write; none may exist yet. */
  files: readonly { path: string; content: string }[];
  /** Gives kubelet this HOME (a directory that must not exist yet) through a systemd drop-in. */
  home?: string;
}

/**
 * The page's own check after copying config.json to the nodes ("Verify by creating a Pod that uses a
 * private image"), verbatim: kubectl apply of this manifest, with $PRIVATE_IMAGE_NAME filled in.
 */
export const PAGE_VERIFICATION_POD = `apiVersion: v1
kind: Pod
metadata:
  name: private-image-test-1
spec:
  containers:
    - name: uses-private-image
      image: $PRIVATE_IMAGE_NAME
      imagePullPolicy: Always
      command: [ "echo", "SUCCESS" ]
`;

/** The page's verification pod for `image`, as kubectl apply would send it (the shell substitutes the variable). */
export function pageVerificationPod(image: string): V1Pod {
  if (!/^[A-Za-z0-9._:/@-]+$/.test(image)) throw new Error(`not an image reference: ${JSON.stringify(image)}`);
  return YAML.parse(PAGE_VERIFICATION_POD.replace('$PRIVATE_IMAGE_NAME', image)) as V1Pod;
}

export type AuthOutcome = 'accepted' | 'refused';
