// The one place pullcheck creates a namespace: labelled as managed, with the run that made it and the
// process that owns it (so that the next run on this host removes it if that process was killed),
// and ready for pods once its default ServiceAccount exists (pods are refused until then).
import { LABEL_RUN, managedLabels } from '../infra/docker.ts';
import { type Kube, waitForServiceAccount } from './kube.ts';
import { ownerLabels } from './leftovers.ts';

export interface ManagedNamespace {
  name: string;
  /** The run (or probe, or agent) that made it: `pullcheck.io/run`. */
  runId: string;
  /** More labels (a scenario's, Pod Security's). */
  labels?: Readonly<Record<string, string>>;
  /** Who owns it, for the sweep: this process by default; another (an upgrade half's parent), or none. */
  owner?: Readonly<Record<string, string>>;
  /** Wait for its default ServiceAccount (default true). */
  ready?: boolean;
}

/** The labels `createManagedNamespace` gives a namespace: for a manifest that is created elsewhere. */
export function managedNamespaceLabels(o: Omit<ManagedNamespace, 'name' | 'ready'>): Record<string, string> {
  return managedLabels({ [LABEL_RUN]: o.runId, ...o.labels, ...(o.owner ?? ownerLabels()) });
}

/** Creates the namespace pullcheck's way; returns its name. */
export async function createManagedNamespace(kube: Kube, o: ManagedNamespace): Promise<string> {
  await kube.core.createNamespace({ body: { metadata: { name: o.name, labels: managedNamespaceLabels(o) } } });
  if (o.ready ?? true) await waitForServiceAccount(kube, o.name, 'default');
  return o.name;
}

/**
 * Ends a scenario's namespace: deleted, or, when the run deletes the cluster it made
 * (`clusterGoesWithRun`), only its pods, so that nothing keeps pulling: the namespace goes with the
 * cluster, and the namespace controller's sweep of every resource type (a seventh of a run's CPU)
 * is not paid for a cluster about to be deleted.
 */
export async function endNamespace(kube: Kube, name: string, clusterGoesWithRun: boolean | undefined): Promise<void> {
  if (clusterGoesWithRun) await kube.core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 });
  else await kube.core.deleteNamespace({ name });
}
