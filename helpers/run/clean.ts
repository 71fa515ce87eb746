// `pullcheck registry clean --registry URL --run RUN`: deletes again what run RUN pushed to the
// registry (its push journals, helpers/registry/cleanup.ts), for a registry that refused deletion
// at the run's end and allows it now, or a run that was killed before its end.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../infra/log.ts';
import { cleanPushed, cleanupLine, readJournal, runJournals } from '../registry/cleanup.ts';
import { RegistryClient } from '../registry/client.ts';
import { checkVendorRegistry } from '../registry/vendor.ts';
import { UsageError, type VendorRegistryOptions } from './options.ts';

/** `--run`: a run ID as `reports/` names its directories, nothing that leaves the report directory. */
export function runIdArg(text: string | undefined): string {
  if (!text) throw new UsageError('registry clean needs --run RUN: the run ID (its directory under reports/) whose pushes to delete');
  if (!/^[\w][\w.-]*$/.test(text) || text.includes('..'))
    throw new UsageError(
      `--run "${text}" is not a run ID: give the name of its directory under the report directory, e.g. 20261204-213000-ab12`,
    );
  return text;
}

export async function cleanRegistryRun(o: {
  registry: VendorRegistryOptions;
  runId: string;
  reportDir: string;
  logger: Logger;
}): Promise<0 | 1> {
  const runDir = resolve(o.reportDir, o.runId);
  if (!existsSync(runDir))
    throw new UsageError(`no run ${o.runId} in ${resolve(o.reportDir)}: pass --report-dir where its report is (default: reports)`);
  const entries = runJournals(runDir).flatMap(readJournal);
  const mine = entries.filter((e) => e.registry === o.registry.host);
  if (!mine.length) {
    const others = [...new Set(entries.map((e) => e.registry))];
    throw new UsageError(
      `run ${o.runId} pushed nothing to ${o.registry.host}${others.length ? `: it pushed to ${others.join(', ')}` : ' (it used no vendor registry, or was from before push journals)'}`,
    );
  }
  await checkVendorRegistry(o.registry);
  const client = new RegistryClient({
    host: o.registry.host,
    ...(o.registry.caPem ? { ca: o.registry.caPem } : {}),
    ...(o.registry.username && o.registry.password ? { username: o.registry.username, password: o.registry.password } : {}),
  });
  const result = await cleanPushed(client, mine);
  for (const l of result.left) o.logger.warn(`registry ${result.registry}: left ${l.repository} (${l.answer})`);
  o.logger.info(cleanupLine(result));
  return result.left.length ? 1 : 0;
}
