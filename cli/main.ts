// pullcheck's command line. Exit codes: 0 done, 1 a run or scenario failed, 2 bad usage or environment.
import { parseArgs } from 'node:util';
import { cacheDir } from '../helpers/cache.ts';
import { clusterDown, clusterStatus, clusterUp } from '../helpers/cluster/cluster.ts';
import { loadProfile, ProfileError } from '../helpers/cluster/profile.ts';
import { defaultLogFile, Logger } from '../helpers/log.ts';
import { resolveNodeImage } from '../helpers/nodeimage/index.ts';
import { checkBuildTools, checkDocker, EnvironmentError } from '../helpers/preflight.ts';
import { parseKubernetesVersion } from '../helpers/versions.ts';

const USAGE = `usage: pullcheck <command> [options]

commands:
  cluster up      create the profile's kind cluster (builds kind and the node image when needed)
  cluster down    delete it, with every container and network it made
  cluster status  say whether it runs
  images build    build (or pull) the node image alone, e.g. to warm a CI cache

options:
  --profile NAME|FILE   cluster profile from clusters/ (default: default)
  --k8s VERSION         Kubernetes version instead of the profile's (e.g. v1.37.2)
  --no-pull             do not try docker pull before building
  --force               images build: rebuild even when cached
  -h, --help            this text`;

class UsageError extends Error {
  override name = 'UsageError';
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      profile: { type: 'string', default: 'default' },
      k8s: { type: 'string' },
      'no-pull': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const command = positionals.join(' ');
  const logger = new Logger(defaultLogFile(cacheDir(), positionals.join('-')));
  const profile = loadProfile(values.profile);
  if (values.k8s) profile.kubernetesVersion = parseKubernetesVersion(values.k8s);
  const allowPull = !values['no-pull'];
  switch (command) {
    case 'cluster up': {
      const cluster = await clusterUp({ profile, logger, allowPull });
      logger.info(`cluster ${cluster.name} ready: ${cluster.nodeNames.length} nodes; kubectl --context ${cluster.context} get nodes`);
      return 0;
    }
    case 'cluster down':
      await clusterDown(profile.clusterName, logger);
      return 0;
    case 'cluster status':
      process.stdout.write(`${await clusterStatus(profile.clusterName, logger)}\n`);
      return 0;
    case 'images build': {
      await checkDocker();
      await checkBuildTools();
      const image = await resolveNodeImage(profile.kubernetesVersion, logger, { allowPull, forceBuild: values.force });
      logger.info(`node image ${image.ref} (${image.source})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}": see pullcheck --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof ProfileError || error instanceof EnvironmentError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pullcheck: ${message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
