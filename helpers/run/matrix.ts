// The runtime matrix: `pullcheck run --profile default,cri-o` runs one kind cluster per profile, as
// `--k8s a,b` runs one per version, and the report sets their verdicts and observations side by side.
// A profile list is its own matrix: combined with a --k8s list, --kubeconfig, --in-cluster or an
// upgrade it is bad input (exit 2), refused before anything is created.
import { ProfileError, profileFor } from '../cluster/profile.ts';
import type { ClusterTarget } from '../model/context.ts';
import type { PostureDeclaration } from '../model/posture.ts';
import { compareMatrix, describeComparison } from '../report/diff.ts';
import { matrixKind, targetLabel } from '../report/matrix.ts';
import type { RunResults, TargetResult } from '../report/schema.ts';
import { summaryLine, tally } from '../report/verdict.ts';
import { UsageError } from './usage.ts';

/** `--profile a,b`: the profiles in order, blanks and repeats dropped (one name: no list). */
export function parseProfiles(text: string): string[] {
  const names = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--profile needs a profile name, e.g. --profile default or --profile default,cri-o');
  return names.filter((p, i) => names.indexOf(p) === i);
}

/** The one line a profile list combined with what chooses its clusters otherwise is refused with, or undefined. */
export function profileListConflict(o: {
  versions: readonly unknown[];
  kubeconfig?: string | undefined;
  inCluster?: boolean | undefined;
  upgrade?: unknown;
}): string | undefined {
  if (o.versions.length > 1)
    return '--profile a,b runs one cluster per profile and --k8s a,b one per version: give a list to one of them (a single --k8s applies to every profile)';
  if (o.kubeconfig) return '--profile a,b makes a kind cluster per profile; with --kubeconfig the cluster is yours: drop one of them';
  if (o.inCluster) return '--in-cluster tests the cluster the pod runs in: drop the profile list';
  if (o.upgrade) return '--from/--to upgrade one kind cluster: give one --profile';
  return undefined;
}

/**
 * The cluster name of a profile in a list. Without --name, the profile's own (profiles name their
 * clusters apart: `pullcheck`, `pullcheck-crio`). With --name N, the profile's own with its
 * `pullcheck` replaced by N (`N`, `N-crio`), or `N-<profile>` for a name that does not start so.
 */
export function matrixClusterName(profileClusterName: string, profileName: string, name?: string): string | undefined {
  if (!name) return undefined;
  if (profileClusterName === 'pullcheck' || profileClusterName.startsWith('pullcheck-'))
    return `${name}${profileClusterName.slice('pullcheck'.length)}`;
  return `${name}-${profileName}`;
}

/** One kind target per profile, named by the profile; distinct cluster names and target names, or one line (exit 2). */
export function profileTargets(o: {
  profiles: readonly string[];
  versions: readonly { raw: string }[];
  name?: string | undefined;
}): { name: string; cluster: ClusterTarget }[] {
  const k8s = o.versions[0]?.raw;
  const targets = o.profiles.map((profile) => {
    const own = profileFor({ profile });
    const name = matrixClusterName(own.clusterName, own.name, o.name);
    const cluster: Extract<ClusterTarget, { provider: 'kind' }> = {
      provider: 'kind',
      profile,
      ...(k8s ? { k8s } : {}),
      ...(name ? { name } : {}),
    };
    // Checks the name (length, characters) and the version now, before anything is created.
    return { profile, name: own.name, cluster, clusterName: profileFor(cluster).clusterName };
  });
  for (const key of ['name', 'clusterName'] as const) {
    const seen = new Map<string, string>();
    for (const t of targets) {
      const earlier = seen.get(t[key]);
      if (earlier !== undefined)
        throw new ProfileError(
          `profiles ${earlier} and ${t.profile} both ${key === 'name' ? 'are named' : 'make the cluster'} ${t[key]}: a profile list needs one cluster per profile`,
        );
      seen.set(t[key], t.profile);
    }
  }
  return targets.map(({ name, cluster }) => ({ name, cluster }));
}

/** The runtime a target is declared to run, as targetPosture resolves it (a --posture declaration replaces the profile's). */
export function declaredRuntime(
  target: ClusterTarget,
  declared?: { declaration: PostureDeclaration },
): NonNullable<TargetResult['runtime']> {
  if (declared) return declared.declaration.runtime ?? 'containerd';
  if (target.provider !== 'kind') return 'containerd';
  try {
    return profileFor(target).posture.runtime ?? 'containerd';
  } catch {
    return 'containerd';
  }
}

/**
 * What a run of several targets logs after its summary line: each target's own counts, then what
 * differs between consecutive targets ("between runtimes: …", "between versions: …").
 */
export function matrixLines(run: RunResults): string[] {
  if (run.targets.length < 2) return [];
  const kind = matrixKind(run);
  return [
    ...run.targets.map((t) => `${targetLabel(t, run.targets)}: ${summaryLine(tally({ targets: [t] }))}`),
    ...describeComparison(compareMatrix(run)).map((line) => `between ${kind}: ${line}`),
  ];
}
