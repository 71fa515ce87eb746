// What a suite and its scenarios declare about themselves, as data: read by the catalog (listing,
// selection, the run's phases) and the certification, without running any scenario body.
import type { ShapeNeed } from '../cluster/shape.ts';

/**
 * Registry capabilities a vendor's registry is certified for; a scenario names those it proves.
 * Which are required is helpers/run/certification.ts's; docs/capabilities.md gives the spec's words.
 */
export const CAPABILITIES = {
  tls: 'TLS: nodes pull over HTTPS',
  'auth-enforced': 'auth enforced: no or wrong credentials are refused',
  'credentials-accepted': 'credentials from Secrets, ServiceAccounts and nodes accepted',
  'oci-index': 'OCI image index',
  'docker-manifest-list': 'Docker manifest list',
  'platform-selection': 'platform selection',
  'tag-moves': 'tag moves: a manifest pushed to a tag again replaces it',
  deletion: 'deletion of tags and manifests',
  'chunked-upload': 'chunked blob uploads',
  'pull-through': 'pull-through cache: nodes pull through it what was pushed to its upstream, a tag as the upstream moves it',
} as const;

export type Capability = keyof typeof CAPABILITIES;

/**
 * What a scenario needs of the target beyond a cluster and a registry: `access-log` (the registry's
 * own request log: only pullcheck's registries), `node-access` (commands on nodes), `kind` (kind's
 * node containers or control plane, e.g. a second API server), and the cluster's shape: `worker`
 * (a node without a control-plane role), `two-workers`, `schedulable-control-plane` (a control-plane
 * node a pinned pod runs on). A target that lacks one makes the scenario not applicable, with the reason.
 */
export type Need = 'access-log' | 'node-access' | 'kind' | ShapeNeed;

/** What each need means, for `pullcheck list` and the docs. */
export const NEEDS: Readonly<Record<Need, string>> = {
  'access-log': "the registry's own request log (pullcheck's registries only)",
  'node-access': 'commands on nodes (docker exec on kind, else the node agent)',
  kind: "kind's node containers or control plane",
  worker: 'a worker: a node without a node-role.kubernetes.io/control-plane label',
  'two-workers': 'two workers',
  'schedulable-control-plane': 'a control-plane node a pinned pod runs on',
};

/** A program on the host (beside Go, which every run needs for its test images) that a scenario runs. */
export type HostTool = 'skopeo';

/**
 * How a suite treats nodes: 'shared' suites leave them alone and run beside any other; 'locked'
 * suites change nodes (credential files, kubelet configuration, restarts) and run beside each other
 * only under per-node locks, every pod on a node the scenario holds.
 */
export type NodePolicy = 'shared' | 'locked';

export interface ScenarioDeclaration {
  /** Stable ID, `group/name`; the group is the suite's name unless the scenario names another. */
  id: string;
  /** The suite (file) that declares it. */
  suite: string;
  /** The ID's prefix: what `--suite` selects by. */
  group: string;
  title: string;
  capabilities: readonly Capability[];
  needs: readonly Need[];
  /** Host programs it runs: checked before anything starts, so that a missing one is one line, not a red scenario. */
  tools?: readonly HostTool[];
  /** Declared by a framework self-test suite. */
  selftest?: boolean;
  /** The registry variant it runs under (its ID's middle part), e.g. `token-auth`: pullcheck's own kind, never a vendor's registry. */
  variant?: string;
}

export interface SuiteDeclaration {
  name: string;
  nodes: NodePolicy;
  /** A framework self-test: run by `npm test`, never part of the conformance catalog or report counts. */
  selftest: boolean;
  /** Runs in two halves around an in-place upgrade: only `pullcheck upgrade` selects it. */
  upgrade?: boolean;
  scenarios: ScenarioDeclaration[];
  /** Registry variants: each re-declares the named scenarios under `<group>/<variant>/<name>`. */
  variants?: readonly { name: string; scenarios: readonly string[] }[];
}
