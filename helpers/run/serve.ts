// `pullcheck registry serve --kind KIND`: one registry of a kind pullcheck can start, standing alone
// beside an existing kind cluster, for certifying it by hand. It prints the certify command on
// standard output (one line; the password stays in a 0600 file), then serves until Ctrl-C/SIGTERM,
// when the registry, its network and its files go.
import { clusterExists, kindBinary, kindNodeNames } from '../cluster/cluster.ts';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { checkDocker } from '../infra/preflight.ts';
import {
  certifyCommand,
  isStandaloneKind,
  publicPrefixOf,
  STANDALONE_KINDS,
  type StandaloneKind,
  startStandalone,
} from '../registry/standalone.ts';
import { writeSecretFile } from './context.ts';
import { UsageError } from './options.ts';

/** `--kind`, checked before anything is created. */
export function standaloneKindArg(text: string | undefined): StandaloneKind {
  if (isStandaloneKind(text)) return text;
  throw new UsageError(
    `${text === undefined ? 'registry serve needs --kind' : `--kind "${text}" is not a registry kind pullcheck starts`}: choose one of ${STANDALONE_KINDS.join(', ')}`,
  );
}

/** The line for a kind cluster that is not there. */
export function missingClusterMessage(cluster: string, flags: { name?: string | undefined; profile?: string | undefined }): string {
  const extra = `${flags.profile ? ` --profile ${flags.profile}` : ''}${flags.name ? ` --name ${flags.name}` : ''}`;
  return `no kind cluster ${cluster} to attach the registry to: start it with \`npx pullcheck cluster up${extra}\``;
}

export async function serveRegistry(o: {
  kind: StandaloneKind;
  /** The kind cluster's name (the profile's, or --name). */
  cluster: string;
  /** The flags that named the cluster, repeated in the printed commands. */
  flags: { name?: string | undefined; profile?: string | undefined };
  logger: Logger;
}): Promise<never> {
  await checkDocker();
  const kind = await kindBinary(o.logger);
  if (!(await clusterExists(kind, o.cluster))) throw new UsageError(missingClusterMessage(o.cluster, o.flags));
  const nodes = await kindNodeNames(kind, o.cluster);
  const registry = await startStandalone({ kind: o.kind, nodes, logger: o.logger });
  const secret = registry.password ? writeSecretFile(registry.password) : undefined;
  const upstreamSecret = registry.upstream?.password ? writeSecretFile(registry.upstream.password) : undefined;
  // Registered after the registry's own: runs first, then the registry goes.
  onInterrupt('the password file', () => {
    secret?.remove();
    upstreamSecret?.remove();
  });
  process.stdout.write(
    `${certifyCommand({
      url: registry.url,
      caFile: registry.caFile,
      username: registry.username,
      passwordFile: secret?.file,
      publicPrefix: publicPrefixOf(o.kind),
      ...(registry.upstream
        ? { upstream: { url: registry.upstream.url, username: registry.upstream.username, passwordFile: upstreamSecret?.file } }
        : {}),
      ...o.flags,
    })}\n`,
  );
  o.logger.info(`serving the ${o.kind} registry on cluster ${o.cluster}; Ctrl-C removes it`);
  // A pending promise alone would let the process end; the timer keeps it until the signal handler exits.
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
}
