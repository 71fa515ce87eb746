// Cluster profiles (clusters/*.yaml): a kind Cluster config plus pullcheck's own fields. Loaded and
// validated in one place; every error names the file and the fix.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';
import { isRecord } from '../infra/guards.ts';
import { PACKAGE_ROOT } from '../infra/paths.ts';
import { type KubernetesVersion, parseKubernetesVersion } from '../infra/versions.ts';
import { type PostureDeclaration, parsePostureDeclaration } from '../posture/posture.ts';

export const PROFILES_DIR = join(PACKAGE_ROOT, 'clusters');

export interface KindNode {
  role: 'control-plane' | 'worker';
  [key: string]: unknown;
}

export interface KindClusterConfig {
  kind: 'Cluster';
  apiVersion: 'kind.x-k8s.io/v1alpha4';
  nodes: KindNode[];
  networking?: Record<string, unknown>;
  containerdConfigPatches?: string[];
  kubeadmConfigPatches?: string[];
  [key: string]: unknown;
}

export interface Profile {
  name: string;
  description: string;
  clusterName: string;
  kubernetesVersion: KubernetesVersion;
  cluster: KindClusterConfig;
  /** What the cluster is meant to be (admission, KEP-2535, credential providers); see helpers/posture. */
  posture: PostureDeclaration;
  file: string;
}

export class ProfileError extends Error {
  override name = 'ProfileError';
}

export function listProfiles(dir = PROFILES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

export function loadProfile(nameOrPath: string, dir = PROFILES_DIR): Profile {
  const file = nameOrPath.endsWith('.yaml') ? nameOrPath : join(dir, `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    throw new ProfileError(
      `unknown cluster profile "${nameOrPath}": choose one of ${listProfiles(dir).join(', ') || '(none)'} or pass a path to a .yaml file`,
    );
  }
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = (error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)).replace(/:\s*$/, '');
    throw new ProfileError(`cluster profile ${file} is not valid YAML (${why}): fix it there; clusters/default.yaml shows the format`);
  }
  return validateProfile(raw, file);
}

export function validateProfile(raw: unknown, file: string, versionOverride?: string): Profile {
  const fail = (msg: string): never => {
    throw new ProfileError(`cluster profile ${file}: ${msg}`);
  };
  const postureOf = (v: unknown): PostureDeclaration => {
    try {
      return parsePostureDeclaration(v, 'posture');
    } catch (error) {
      return fail((error as Error).message);
    }
  };
  if (!isRecord(raw)) return fail('must be a YAML mapping with name, kubernetesVersion and cluster');
  const known = new Set(['name', 'description', 'clusterName', 'kubernetesVersion', 'posture', 'cluster']);
  for (const key of Object.keys(raw))
    if (!known.has(key))
      fail(`unknown field "${key}": remove it or use one of ${[...known].join(', ')} (kind's settings go under cluster:)`);
  const name = typeof raw['name'] === 'string' ? raw['name'] : basename(file, '.yaml');
  const clusterName = typeof raw['clusterName'] === 'string' ? raw['clusterName'] : `pullcheck-${name}`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterName) || clusterName.length > 40) {
    fail(`clusterName "${clusterName}" must be lower-case letters, digits and dashes (at most 40)`);
  }
  let kubernetesVersion: KubernetesVersion;
  try {
    kubernetesVersion = parseKubernetesVersion(versionOverride ?? String(raw['kubernetesVersion'] ?? ''));
  } catch (error) {
    return fail(`kubernetesVersion: ${(error as Error).message}`);
  }
  const cluster = raw['cluster'];
  if (!isRecord(cluster))
    return fail('"cluster" must be a kind Cluster config (kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, nodes: [...])');
  if (cluster['kind'] !== 'Cluster' || cluster['apiVersion'] !== 'kind.x-k8s.io/v1alpha4') {
    fail('"cluster" must say kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4');
  }
  const nodes = cluster['nodes'] ?? [{ role: 'control-plane' }];
  if (!Array.isArray(nodes) || nodes.length === 0) return fail('"cluster.nodes" must list at least one node');
  for (const [i, n] of nodes.entries()) {
    if (!isRecord(n) || (n['role'] !== 'control-plane' && n['role'] !== 'worker'))
      fail(`cluster.nodes[${i}].role must be control-plane or worker`);
    if (isRecord(n) && 'image' in n) fail(`cluster.nodes[${i}].image: pullcheck chooses the node image from kubernetesVersion; remove it`);
  }
  if (!nodes.some((n) => isRecord(n) && n['role'] === 'control-plane')) fail('"cluster.nodes" needs a control-plane node');
  for (const key of ['containerdConfigPatches', 'kubeadmConfigPatches'] as const) {
    const v = cluster[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((p) => typeof p !== 'string'))) fail(`cluster.${key} must be a list of strings`);
  }
  return {
    name,
    description: typeof raw['description'] === 'string' ? raw['description'] : '',
    clusterName,
    kubernetesVersion,
    cluster: { ...(cluster as KindClusterConfig), nodes: nodes as KindNode[] },
    posture: postureOf(raw['posture']),
    file,
  };
}

/**
 * The profile a run uses: `k8s` (--k8s) replaces its version, and a version other than the
 * profile's own gets its own cluster name, so that a version matrix never reuses a cluster of
 * another version; `name` (--name) replaces the cluster name, for a second cluster of the same shape.
 */
export function profileForRun(nameOrPath: string, k8s?: string, dir = PROFILES_DIR, name?: string): Profile {
  const profile = loadProfile(nameOrPath, dir);
  if (name && (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 40))
    throw new ProfileError(`--name "${name}" must be lower-case letters, digits and dashes (at most 40)`);
  return withVersion(name ? { ...profile, clusterName: name } : profile, k8s);
}

/** A run target's or a command's profile (`--profile`, `--k8s`, `--name`), from `clusters/`. */
export function profileFor(o: { profile: string; k8s?: string | undefined; name?: string | undefined }): Profile {
  return profileForRun(o.profile, o.k8s, PROFILES_DIR, o.name);
}

function withVersion(profile: Profile, k8s: string | undefined): Profile {
  if (!k8s) return profile;
  let version: KubernetesVersion;
  try {
    version = parseKubernetesVersion(k8s);
  } catch (error) {
    throw new ProfileError(`--k8s: ${(error as Error).message}`);
  }
  if (version.raw === profile.kubernetesVersion.raw) return profile;
  return { ...profile, kubernetesVersion: version, clusterName: `${profile.clusterName}-${version.raw.replace(/\./g, '-')}` };
}
