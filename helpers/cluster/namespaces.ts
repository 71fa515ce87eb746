// The one place pullcheck creates a namespace: labelled as managed, with the run that made it and the
// process that owns it (so that the next run on this host removes it if that process was killed),
// and ready for pods once its default ServiceAccount exists (pods are refused until then).
import { ApiException } from '@kubernetes/client-node';
import { LABEL_MANAGED, LABEL_RUN, managedLabels } from '../infra/docker.ts';
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

/** On a scenario's namespace under `pullcheck run`: the run, which deletes it at its end (a suite's own run ID is `pullcheck.io/run`). */
export const LABEL_ENDS_WITH_RUN = 'pullcheck.io/ends-with-run';

/** The label that hands a scenario's namespace to the run that ends it, when there is one. */
export function endsWithRunLabel(ctx: { namespacesEndWithRun?: boolean; runId: string }): Record<string, string> {
  return ctx.namespacesEndWithRun && ctx.runId ? { [LABEL_ENDS_WITH_RUN]: ctx.runId } : {};
}

/**
 * Ends a scenario's namespace. Under `pullcheck run` (`namespacesEndWithRun`) only its pods go, so
 * that nothing keeps pulling; the namespace goes with the cluster the run deletes, or the run
 * deletes it at its end (`deleteRunNamespaces`): the namespace controller's sweep of every resource
 * type, a seventh of a run's CPU, then no longer competes with the scenarios. A jest started by hand
 * has no run to end them: it deletes the namespace.
 */
export async function endNamespace(kube: Kube, name: string, namespacesEndWithRun: boolean | undefined): Promise<void> {
  if (namespacesEndWithRun) await kube.core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 });
  else await kube.core.deleteNamespace({ name });
}

/**
 * A run's end on a cluster that stays: the namespaces its scenarios left to it are deleted (not one
 * an upgrade's before half hands to its after half: that one is not the scenario's own). The cluster
 * empties them after the run; returns how many were deleted.
 */
export async function deleteRunNamespaces(kube: Kube, runId: string): Promise<number> {
  const selector = `${LABEL_MANAGED}=true,${LABEL_ENDS_WITH_RUN}=${runId}`;
  const live = (await kube.core.listNamespace({ labelSelector: selector })).items.filter((ns) => ns.status?.phase !== 'Terminating');
  const names = live.map((ns) => ns.metadata?.name ?? '').filter(Boolean);
  // A few at a time over the kept-alive connections; one already gone is not an error.
  for (let i = 0; i < names.length; i += 8)
    await Promise.all(
      names.slice(i, i + 8).map((name) =>
        kube.core.deleteNamespace({ name }).catch((e: unknown) => {
          if (!(e instanceof ApiException && e.code === 404)) throw e;
        }),
      ),
    );
  return names.length;
}
