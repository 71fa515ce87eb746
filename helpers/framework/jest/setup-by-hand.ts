// Global setup of a jest run started by hand (npm run test:e2e): bring the run context's cluster up
// once, sweep what killed runs left, and remember whether this run made the cluster, so that
// teardown removes only what it created. Its own module: `pullcheck run` never loads it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sweepClusterLeftovers } from '../../cluster/leftovers.ts';
import { providerFor } from '../../cluster/provider.ts';
import { cacheDir } from '../../infra/cache.ts';
import { onInterrupt } from '../../infra/lifecycle.ts';
import { defaultLogFile, Logger } from '../../infra/log.ts';
import { sweepOrphans } from '../../infra/sweep.ts';
import type { RunContext } from '../../model/context.ts';
import { replayJournals } from '../../node/replay.ts';
import { e2eStateFile } from './state.ts';

export async function setUpClusterByHand(ctx: RunContext): Promise<void> {
  const logger = new Logger(defaultLogFile(cacheDir(), 'e2e-setup'));
  const provider = providerFor(ctx.cluster);
  await sweepOrphans(logger);
  // Jest runs no global teardown after Ctrl-C: a cluster this run creates is deleted here instead.
  const created = !(await provider.exists(logger));
  if (created && !ctx.keep) onInterrupt('the e2e cluster', () => provider.down(logger));
  const { cluster } = await provider.up({ logger, allowPull: ctx.allowPull });
  await sweepClusterLeftovers({
    kube: cluster.kube,
    ...(cluster.nodes.how === 'none' ? {} : { nodes: cluster.nodes }),
    logger,
  });
  // What killed runs changed on the nodes (the node-change journal); without node access, each suite does it.
  if (cluster.nodes.how !== 'none')
    await replayJournals({ kube: cluster.kube, nodes: cluster.nodes, nodeNames: cluster.nodeNames, logger });
  const file = e2eStateFile();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ created, keep: ctx.keep }));
}
