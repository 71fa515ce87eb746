// jest's global setup, in every phase of every run. Under `pullcheck run` the cluster is ready and
// this only makes jest's process group end when orphaned; a jest run started by hand brings the
// cluster up first, with code loaded only then (setup-by-hand.ts).
import { endGroupWhenOrphaned } from '../../infra/processgroup.ts';
import { loadRunContext } from '../../run/context.ts';

export async function setUpCluster(): Promise<void> {
  const ctx = loadRunContext();
  // Under `pullcheck run` jest leads a process group of its own, which the run stops on a signal;
  // a run killed outright cannot, so jest ends the group itself once it finds itself orphaned.
  if (ctx.clusterReady) return endGroupWhenOrphaned();
  const { setUpClusterByHand } = await import('./setup-by-hand.ts');
  await setUpClusterByHand(ctx);
}

/** jest's global hook in the package (compiled): the default export. */
export default setUpCluster;
