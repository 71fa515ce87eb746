// `--registry-upstream URL` (with `--upstream-username U --upstream-password-env VAR --upstream-ca
// FILE`): the registry to certify is a pull-through cache of URL (distribution's proxy mode, a
// Harbor proxy project, an Artifactory remote repository). pullcheck pushes its test images to the
// upstream and reads them back there (its client, the cleanup); image references, pull Secrets and
// node trust name the cache, so that every pod pulls through it (helpers/registry/vendor.ts).
// The password never travels in the run context: suites read the variable it names.

import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from '../infra/log.ts';
import { registerCredentials, registerSecret } from '../infra/redact.ts';
import type { UpstreamTarget } from '../model/context.ts';
import { checkVendorRegistry, type UpstreamSpec } from '../registry/vendor.ts';
import { parseRegistryUrl } from './options.ts';
import { UsageError } from './usage.ts';

export interface UpstreamOptions {
  url: string;
  host: string;
  username?: string;
  /** The environment variable holding the password (read by the run and by each suite process). */
  passwordEnv?: string;
  password?: string;
  caFile?: string;
  caPem?: string;
}

/** The CLI's parsed values as resolveRunOptions' flags. */
export function upstreamFlags(values: Record<string, unknown>): {
  registryUpstream?: string;
  upstreamUsername?: string;
  upstreamPasswordEnv?: string;
  upstreamCa?: string;
} {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const url = str('registry-upstream');
  const username = str('upstream-username');
  const passwordEnv = str('upstream-password-env');
  const ca = str('upstream-ca');
  if (!url && (username || passwordEnv || ca))
    throw new UsageError('--upstream-username/--upstream-password-env/--upstream-ca need --registry-upstream URL');
  return {
    ...(url ? { registryUpstream: url } : {}),
    ...(username ? { upstreamUsername: username } : {}),
    ...(passwordEnv ? { upstreamPasswordEnv: passwordEnv } : {}),
    ...(ca ? { upstreamCa: ca } : {}),
  };
}

/** The upstream of `--registry`, checked: its URL, a username with a password variable that is set, a CA file with a PEM. */
export function upstreamOption(
  flags: { registryUpstream?: string; upstreamUsername?: string; upstreamPasswordEnv?: string; upstreamCa?: string },
  env: NodeJS.ProcessEnv,
): { upstream?: UpstreamOptions } {
  if (!flags.registryUpstream) return {};
  let parsed: { url: string; host: string };
  try {
    parsed = parseRegistryUrl(flags.registryUpstream);
  } catch (e) {
    throw new UsageError(String(e instanceof Error ? e.message : e).replace('--registry ', '--registry-upstream '));
  }
  const { upstreamUsername: username, upstreamPasswordEnv: passwordEnv, upstreamCa: caFile } = flags;
  if (username && !passwordEnv)
    throw new UsageError('--upstream-username without a password: name the variable holding it with --upstream-password-env VAR');
  const password = passwordEnv ? env[passwordEnv] : undefined;
  if (passwordEnv && !password) throw new UsageError(`--upstream-password-env ${passwordEnv}: the variable is not set`);
  if (caFile && !existsSync(caFile)) throw new UsageError(`--upstream-ca ${caFile} does not exist`);
  const caPem = caFile ? readFileSync(caFile, 'utf8') : undefined;
  if (caPem !== undefined && !caPem.includes('-----BEGIN CERTIFICATE-----'))
    throw new UsageError(`--upstream-ca ${caFile} holds no PEM certificate`);
  return {
    upstream: {
      ...parsed,
      ...(username ? { username } : {}),
      ...(passwordEnv ? { passwordEnv } : {}),
      ...(password ? { password } : {}),
      ...(caFile ? { caFile } : {}),
      ...(caPem ? { caPem } : {}),
    },
  };
}

/** What the run context carries of the upstream: no password, the variable's name. */
export type { UpstreamTarget } from '../model/context.ts';

export function upstreamTarget(u: UpstreamOptions | undefined, absolute: (file: string) => string): { upstream?: UpstreamTarget } {
  if (!u) return {};
  return {
    upstream: {
      url: u.url,
      host: u.host,
      ...(u.username ? { username: u.username } : {}),
      ...(u.passwordEnv ? { passwordEnv: u.passwordEnv } : {}),
      ...(u.caFile ? { caFile: absolute(u.caFile) } : {}),
    },
  };
}

/** The upstream as a VendorRegistry pushes to it, in the run (options) or a suite (context + its environment). */
export function upstreamSpec(
  u: UpstreamTarget | UpstreamOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { upstream?: UpstreamSpec } {
  if (!u) return {};
  const password = ('password' in u ? u.password : undefined) ?? (u.passwordEnv ? env[u.passwordEnv] : undefined);
  const caPem = ('caPem' in u ? u.caPem : undefined) ?? (u.caFile ? readFileSync(u.caFile, 'utf8') : undefined);
  return {
    upstream: {
      url: u.url,
      host: u.host,
      ...(u.username ? { username: u.username } : {}),
      ...(password ? { password } : {}),
      ...(caPem ? { caPem } : {}),
    },
  };
}

/** Before anything starts: the upstream answers and takes its credentials (as checkVendorRegistry does the cache). */
export async function checkUpstream(u: UpstreamOptions | undefined, logger: Logger): Promise<void> {
  const spec = upstreamSpec(u).upstream;
  if (!spec) return;
  if (spec.password) registerSecret(spec.password);
  if (spec.username && spec.password) registerCredentials(spec.username, spec.password);
  await checkVendorRegistry(spec);
  logger.info(
    `upstream ${spec.url} answers${spec.username ? ` and takes the credentials of ${spec.username}` : ''}: test images are pushed there and pulled through the cache`,
  );
}
