// One typed options object for `pullcheck run`, resolved in one place from (in this order of
// precedence) the command line, PULLCHECK_* environment variables and a YAML config file. Every
// mistake is a UsageError whose one line names the fix.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { inClusterProblem } from '../cluster/incluster.ts';
import { type KubernetesVersion, parseKubernetesVersion } from '../infra/versions.ts';
import { type PostureDeclaration, parsePostureDeclaration } from '../posture/posture.ts';
import { type PreseededEntry, readPreseededFile } from '../registry/preseeded.ts';
import { readResults } from '../report/assemble.ts';
import type { RunResults } from '../report/schema.ts';
import { parseProfiles, profileListConflict } from './matrix.ts';
import { parseShard, type Shard } from './shard.ts';
import { type UpstreamOptions, upstreamOption } from './upstream.ts';
import { UsageError } from './usage.ts';

export { UsageError };

export interface VendorRegistryOptions {
  /** https://host[:port]; the host is what image references name. */
  url: string;
  host: string;
  username?: string;
  password?: string;
  /** PEM of the CA that signed the registry's certificate, when nodes and host do not trust it already. */
  caPem?: string;
  caFile?: string;
  /** Every repository pullcheck pushes goes under it (a vendor's project or namespace). */
  repositoryPrefix?: string;
  /** A namespace anonymous clients may read: the vendor stands in for the suites' anonymous registries too. */
  publicPrefix?: string;
  /** `flat`: every repository at depth 2, `prefix/name` (--registry-repository-layout). */
  repositoryLayout?: 'nested' | 'flat';
  /** `--registry-upstream`: the registry is a pull-through cache of this one (helpers/run/upstream.ts). */
  upstream?: UpstreamOptions;
  /** `--registry-preseeded FILE`: pull-only, the references the vendor seeded (helpers/registry/preseeded.ts). */
  preseeded?: PreseededEntry[];
  /** The file they were read from, as given. */
  preseededFile?: string;
}

export interface RunOptions {
  /** The profile, or the first of a list. */
  profile: string;
  /** `--profile a,b`: a cluster per profile, side by side in the report (helpers/run/matrix.ts); absent for one profile. */
  profiles?: string[];
  /** Empty: the profile's version. */
  versions: KubernetesVersion[];
  suites: string[];
  /** --suites-dir DIR (or `suitesDirs` in --config): a vendor's suites beside the built-in ones, as given (checked by the catalog). */
  suitesDirs: string[];
  focus?: string;
  skip?: string;
  kubeconfig?: string;
  context?: string;
  /** --in-cluster: the pod's own cluster, with its ServiceAccount's credentials. */
  inCluster: boolean;
  registry?: VendorRegistryOptions;
  keep: boolean;
  parallel: number;
  timeoutMs?: number;
  reportDir: string;
  allowPull: boolean;
  /** --name: the kind cluster's name instead of the profile's. */
  name?: string;
  /** --selftest: the framework's self-test suites run too (npm test). */
  selftest: boolean;
  /** `pullcheck certify`: the registry's certification decides the exit code. */
  certify: boolean;
  /** --shard I/N: only the selected scenarios whose ID falls in part I of N. */
  shard?: Shard;
  /** --archive: the run directory also as one pullcheck-<run>.tar.gz beside it. */
  archive: boolean;
  /** --posture FILE or `posture:` in --config: what the cluster is meant to be (over a profile's own). */
  posture?: { declaration: PostureDeclaration; where: string };
  /** `pullcheck upgrade --from --to` (or `upgrade: {from, to}` in --config): the in-place upgrade to validate. */
  upgrade?: { from: KubernetesVersion; to: KubernetesVersion };
  /**
   * `pullcheck upgrade --kubeconfig K --before`, then the user's own upgrade, then `--after
   * --baseline FILE` (the before run's results.json, with what its halves recorded).
   */
  upgradeHalf?: { half: 'before' } | { half: 'after'; baseline: { file: string; results: RunResults } };
  /** --baseline FILE: a results.json this run's observations and verdicts are compared with. */
  baseline?: { file: string; results: RunResults };
  /** --accept-changes: a difference from the baseline is reported, not failed. */
  acceptChanges: boolean;
  /** GitHub Actions' variables (`GITHUB_*`) as the command line read them: the step summary and outputs (helpers/report/github.ts). */
  github?: NodeJS.ProcessEnv;
}

/** What the command line gave, before defaults (undefined = not given). */
export interface RunFlags {
  config?: string;
  profile?: string;
  k8s?: string;
  suite?: string[];
  suitesDir?: string[];
  focus?: string;
  skip?: string;
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  registry?: string;
  registryUsername?: string;
  /** Read from stdin by the CLI when --registry-password-stdin was given. */
  registryPassword?: string;
  registryCa?: string;
  registryRepositoryPrefix?: string;
  registryPublicPrefix?: string;
  registryRepositoryLayout?: string;
  registryUpstream?: string;
  upstreamUsername?: string;
  upstreamPasswordEnv?: string;
  upstreamCa?: string;
  registryPreseeded?: string;
  keep?: boolean;
  parallel?: string;
  timeout?: string;
  reportDir?: string;
  noPull?: boolean;
  name?: string;
  selftest?: boolean;
  posture?: string;
  certify?: boolean;
  shard?: string;
  archive?: boolean;
  from?: string;
  to?: string;
  /** `pullcheck upgrade --kubeconfig`: which half this command runs. */
  before?: boolean;
  after?: boolean;
  baseline?: string;
  acceptChanges?: boolean;
}

/**
 * Suites run at once by default (those that leave nodes alone, then those under per-node locks, there
 * at most one per node: plan.ts, phaseLanes). Four on two cores: the first phase waits on kubelet and
 * containerd more than on the cores (docs/measurements.md).
 */
export const DEFAULT_PARALLEL = 4;

const CONFIG_KEYS = [
  'profile',
  'k8s',
  'suites',
  'suitesDirs',
  'focus',
  'skip',
  'kubeconfig',
  'context',
  'registry',
  'keep',
  'parallel',
  'timeout',
  'reportDir',
  'name',
  'shard',
  'archive',
  'upgrade',
] as const;
const REGISTRY_KEYS = [
  'url',
  'username',
  'passwordEnv',
  'ca',
  'repositoryPrefix',
  'publicPrefix',
  'repositoryLayout',
  'preseeded',
] as const;

interface ConfigFile {
  profile?: string;
  name?: string;
  posture?: unknown;
  k8s?: string;
  suites?: string[];
  suitesDirs?: string[];
  focus?: string;
  skip?: string;
  kubeconfig?: string;
  context?: string;
  registry?: {
    url?: string;
    username?: string;
    passwordEnv?: string;
    ca?: string;
    repositoryPrefix?: string;
    publicPrefix?: string;
    repositoryLayout?: string;
    preseeded?: string;
  };
  keep?: boolean;
  parallel?: number;
  timeout?: string;
  reportDir?: string;
  shard?: string;
  archive?: boolean;
  upgrade?: { from?: string; to?: string };
}

/** `--config FILE`: the same settings as the flags, for a vendor's or a CI's checked-in setup. */
export function readConfigFile(file: string): ConfigFile {
  if (!existsSync(file)) throw new UsageError(`config file ${file} does not exist: pass the path of a pullcheck YAML config`);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new UsageError(`config file ${file} must be a YAML mapping (keys: ${CONFIG_KEYS.join(', ')})`);
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key))
      throw new UsageError(`config file ${file}: unknown key "${key}" (allowed: ${CONFIG_KEYS.join(', ')})`);
  }
  const reg = r['registry'];
  if (reg !== undefined) {
    if (typeof reg !== 'object' || reg === null || Array.isArray(reg))
      throw new UsageError(`config file ${file}: registry must be a mapping (${REGISTRY_KEYS.join(', ')})`);
    for (const key of Object.keys(reg)) {
      if (key === 'password')
        throw new UsageError(
          `config file ${file}: do not put the registry password in a file; name an environment variable with registry.passwordEnv`,
        );
      if (!(REGISTRY_KEYS as readonly string[]).includes(key))
        throw new UsageError(`config file ${file}: unknown key "registry.${key}" (allowed: ${REGISTRY_KEYS.join(', ')})`);
    }
  }
  if (r['suites'] !== undefined && !(Array.isArray(r['suites']) && r['suites'].every((s) => typeof s === 'string'))) {
    throw new UsageError(`config file ${file}: suites must be a list of suite names`);
  }
  const dirs = r['suitesDirs'];
  if (dirs !== undefined) {
    if (!(Array.isArray(dirs) && dirs.every((d) => typeof d === 'string')))
      throw new UsageError(`config file ${file}: suitesDirs must be a list of directories (relative to the config file)`);
    // Relative to the file, as a checked-in config is read from anywhere.
    r['suitesDirs'] = dirs.map((d: string) => resolve(dirname(file), d));
  }
  const preseeded = (reg as { preseeded?: unknown } | undefined)?.preseeded;
  if (preseeded !== undefined) {
    if (typeof preseeded !== 'string')
      throw new UsageError(`config file ${file}: registry.preseeded must be the path of the pre-seeded references file`);
    (reg as { preseeded: string }).preseeded = resolve(dirname(file), preseeded);
  }
  return r as ConfigFile;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's duration syntax (`90s`, `5m`, `1m30s`, `1h`, `500ms`, `1.5m`), or a bare number of seconds. */
export function parseDuration(text: string, flag = '--timeout'): number {
  const t = text.trim();
  const bad = () => new UsageError(`${flag} "${text}" is not a duration: write e.g. 90s, 5m or 1m30s`);
  let ms = 0;
  if (/^\d+(?:\.\d+)?$/.test(t)) ms = Number(t) * 1000;
  else {
    if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(t)) throw bad();
    for (const [, n, unit] of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * (UNIT_MS[unit ?? 's'] ?? 1000);
  }
  if (ms <= 0) throw new UsageError(`${flag} must be more than zero`);
  return ms;
}

export function parseVersions(text: string): KubernetesVersion[] {
  const versions = text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      try {
        return parseKubernetesVersion(v);
      } catch (error) {
        throw new UsageError(`--k8s: ${(error as Error).message}`);
      }
    });
  if (versions.length === 0) throw new UsageError('--k8s needs at least one version, e.g. --k8s v1.37.2 or --k8s v1.36.3,v1.37.2');
  return versions.filter((v, i) => versions.findIndex((w) => w.raw === v.raw) === i);
}

function checkRegex(flag: string, text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    new RegExp(text);
  } catch (error) {
    throw new UsageError(`${flag} "${text}" is not a regular expression: ${(error as Error).message}`);
  }
  return text;
}

/** A repository namespace as the distribution spec allows it: lowercase path components, no leading or trailing slash. */
export function repositoryPath(flag: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const component = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
  if (!value.split('/').every((c) => component.test(c)))
    throw new UsageError(
      `${flag} "${value}" is not a repository namespace: write lowercase path components such as myproject or team/pullcheck`,
    );
  return value;
}

export function parseRegistryUrl(url: string): { url: string; host: string } {
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `https://${url}`);
  } catch {
    throw new UsageError(`--registry "${url}" is not a URL: write https://registry.example.com[:port]`);
  }
  if (u.protocol !== 'https:') throw new UsageError(`--registry ${url}: vendor registries are tested over HTTPS; write https://…`);
  if (u.pathname !== '/' && u.pathname !== '')
    throw new UsageError(`--registry ${url}: give the registry's root, without a path (repositories are made per scenario)`);
  return { url: `https://${u.host}`, host: u.host };
}

function postureOrUsage(raw: unknown, where: string): PostureDeclaration {
  try {
    return parsePostureDeclaration(raw, where);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--posture FILE`: a YAML mapping with admission, kubelet, nodes, credentialProviders, runtime. */
export function readPostureFile(file: string): { declaration: PostureDeclaration; where: string } {
  if (!existsSync(file))
    throw new UsageError(`--posture ${file} does not exist: pass a YAML file declaring the cluster's posture (see docs/posture.md)`);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--posture ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return { declaration: postureOrUsage(raw, `posture file ${file}`), where: `posture file ${file}` };
}

/**
 * A results.json given on the command line (`diff A B`, `run --baseline FILE`), read and checked
 * before anything else happens; `what` names the argument in the one-line error.
 */
export function readResultsArgument(file: string, what: string): RunResults {
  const fix = 'pass the results.json a pullcheck run wrote, e.g. reports/latest/results.json';
  if (!existsSync(file)) throw new UsageError(`${what} ${file} does not exist: ${fix}`);
  let results: RunResults;
  try {
    results = readResults(file);
  } catch (error) {
    throw new UsageError(`${what} ${(error as Error).message}: ${fix}`);
  }
  const bad = results.targets.find((t) => !(t && typeof t.name === 'string' && Array.isArray(t.scenarios)));
  if (bad !== undefined) throw new UsageError(`${what} ${file}: a target without a name or scenarios: ${fix}`);
  return results;
}

/** `--registry-repository-layout`: nested (default, `prefix/pullcheck/name`) or flat (`prefix/name`). */
export function repositoryLayoutArg(text: string | undefined): 'nested' | 'flat' | undefined {
  if (text === undefined || text === 'nested') return undefined;
  if (text === 'flat') return 'flat';
  throw new UsageError(
    `--registry-repository-layout "${text}": choose flat (every repository at depth 2, prefix/name, for registries that allow no deeper nesting) or nested (the default)`,
  );
}

/** `--registry-preseeded FILE`: read and checked now, one line naming the fix. */
function preseededOption(file: string | undefined, host: string): { preseeded: PreseededEntry[]; preseededFile: string } | undefined {
  if (!file) return undefined;
  try {
    return { preseeded: readPreseededFile(file, host), preseededFile: file };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--registry` and its companion flags (or the config file's `registry:`), checked: the vendor registry the run stands on. */
function registryOptions(flags: RunFlags, env: NodeJS.ProcessEnv, file: ConfigFile): VendorRegistryOptions | undefined {
  const registryUrl = flags.registry ?? env['PULLCHECK_REGISTRY'] ?? file.registry?.url;
  if (flags.certify && !registryUrl)
    throw new UsageError('pullcheck certify needs the registry to certify: --registry https://host[:port] (or PULLCHECK_REGISTRY)');
  if (registryUrl) {
    const caFile = flags.registryCa ?? env['PULLCHECK_REGISTRY_CA'] ?? file.registry?.ca;
    if (caFile && !existsSync(caFile))
      throw new UsageError(`--registry-ca ${caFile} does not exist: pass the PEM file of the CA that signed the registry's certificate`);
    const caPem = caFile ? readFileSync(caFile, 'utf8') : undefined;
    if (caPem !== undefined && !caPem.includes('-----BEGIN CERTIFICATE-----'))
      throw new UsageError(`--registry-ca ${caFile} holds no PEM certificate`);
    const username = flags.registryUsername ?? env['PULLCHECK_REGISTRY_USERNAME'] ?? file.registry?.username;
    const passwordEnv = file.registry?.passwordEnv;
    const password = flags.registryPassword ?? env['PULLCHECK_REGISTRY_PASSWORD'] ?? (passwordEnv ? env[passwordEnv] : undefined);
    if (username && !password)
      throw new UsageError(
        'a registry username without a password: pipe it to --registry-password-stdin or set PULLCHECK_REGISTRY_PASSWORD',
      );
    const repositoryPrefix = repositoryPath(
      '--registry-repository-prefix',
      flags.registryRepositoryPrefix ?? env['PULLCHECK_REGISTRY_REPOSITORY_PREFIX'] ?? file.registry?.repositoryPrefix,
    );
    const publicPrefix = repositoryPath(
      '--registry-public-prefix',
      flags.registryPublicPrefix ?? env['PULLCHECK_REGISTRY_PUBLIC_PREFIX'] ?? file.registry?.publicPrefix,
    );
    if (publicPrefix && !username)
      throw new UsageError(
        '--registry-public-prefix names where pullcheck pushes images anonymous pods pull: it needs --registry-username (an anonymous registry stands in for the anonymous registries already)',
      );
    const repositoryLayout = repositoryLayoutArg(flags.registryRepositoryLayout ?? file.registry?.repositoryLayout);
    const parsed = parseRegistryUrl(registryUrl);
    const preseeded = preseededOption(flags.registryPreseeded ?? file.registry?.preseeded, parsed.host);
    if (preseeded && flags.registryUpstream)
      throw new UsageError(
        '--registry-preseeded (pull-only) and --registry-upstream (pushes to the upstream) exclude each other: drop one of them',
      );
    if (preseeded && publicPrefix)
      throw new UsageError(
        '--registry-public-prefix names where pullcheck pushes images anonymous pods pull; pull-only pushes nothing: name anonymous references (oci-manifest …) in the --registry-preseeded file instead',
      );
    return {
      ...parsed,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(caPem ? { caPem } : {}),
      ...(caFile ? { caFile } : {}),
      ...(repositoryPrefix ? { repositoryPrefix } : {}),
      ...(publicPrefix ? { publicPrefix } : {}),
      ...(repositoryLayout ? { repositoryLayout } : {}),
      ...upstreamOption(flags, env),
      ...preseeded,
    };
  }
  if (
    flags.registryUsername ||
    flags.registryPassword ||
    flags.registryCa ||
    flags.registryRepositoryPrefix ||
    flags.registryPublicPrefix ||
    flags.registryRepositoryLayout ||
    flags.registryUpstream ||
    flags.registryPreseeded
  ) {
    throw new UsageError(
      '--registry-username/--registry-password-stdin/--registry-ca/--registry-*-prefix/--registry-repository-layout need --registry URL',
    );
  }
  return undefined;
}

export function resolveRunOptions(flags: RunFlags, env: NodeJS.ProcessEnv): RunOptions {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const registry = registryOptions(flags, env, file);
  const kubeconfig = flags.kubeconfig ?? env['PULLCHECK_KUBECONFIG'] ?? file.kubeconfig;
  if (kubeconfig && !existsSync(kubeconfig))
    throw new UsageError(`--kubeconfig ${kubeconfig} does not exist: pass the path of a kubeconfig file for the cluster to test`);
  const context = flags.context ?? file.context;
  if (context && !kubeconfig) throw new UsageError('--context needs --kubeconfig (without it pullcheck creates its own kind cluster)');
  const k8s = flags.k8s ?? file.k8s;
  const versions = k8s ? parseVersions(k8s) : [];
  if (kubeconfig && versions.length > 0)
    throw new UsageError(
      '--k8s chooses the version of clusters pullcheck creates; with --kubeconfig the cluster has its own: drop one of them',
    );
  const parallelText = flags.parallel ?? (file.parallel === undefined ? undefined : String(file.parallel));
  const parallel = parallelText === undefined ? DEFAULT_PARALLEL : Number(parallelText);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 8)
    throw new UsageError(`--parallel "${parallelText}" must be a whole number from 1 to 8`);
  const timeout = flags.timeout ?? file.timeout;
  const focus = checkRegex('--focus', flags.focus ?? file.focus);
  const name = flags.name ?? file.name;
  const posture = flags.posture
    ? readPostureFile(flags.posture)
    : file.posture !== undefined && flags.config
      ? { declaration: postureOrUsage(file.posture, `config file ${flags.config}: posture`), where: `config file ${flags.config}` }
      : undefined;
  if (name && kubeconfig)
    throw new UsageError('--name names the kind cluster pullcheck creates; with --kubeconfig the cluster is yours: drop one of them');
  const skip = checkRegex('--skip', flags.skip ?? file.skip);
  const shard = flags.shard ?? file.shard;
  const upgrade = upgradeVersions(flags.from ?? file.upgrade?.from, flags.to ?? file.upgrade?.to);
  if (upgrade && kubeconfig)
    throw new UsageError(
      '--from/--to make a kind cluster at --from and upgrade it; your own cluster (--kubeconfig) you upgrade yourself: drop --from/--to and run --before, your upgrade, then --after --baseline reports/<run>/results.json',
    );
  if (upgrade && versions.length) throw new UsageError('--from/--to name both versions of the upgrade: drop --k8s');
  if (flags.inCluster) {
    if (kubeconfig || versions.length || name || upgrade)
      throw new UsageError('--in-cluster tests the cluster the pod runs in: drop --kubeconfig, --k8s, --name and --from/--to');
    if (!registry)
      throw new UsageError(
        "--in-cluster needs --registry URL: a pod has no Docker to start pullcheck's own registries (pass a registry the nodes can pull from)",
      );
    const problem = inClusterProblem(env);
    if (problem) throw new UsageError(problem);
  }
  const profiles = parseProfiles(flags.profile ?? env['PULLCHECK_PROFILE'] ?? file.profile ?? 'default');
  const profileList = profiles.length > 1 ? profileListConflict({ versions, kubeconfig, inCluster: flags.inCluster, upgrade }) : undefined;
  if (profileList) throw new UsageError(profileList);
  const upgradeHalf = upgradeHalfOf(flags, kubeconfig);
  const baseline =
    flags.baseline && upgradeHalf?.half !== 'after'
      ? { file: flags.baseline, results: readResultsArgument(flags.baseline, '--baseline') }
      : undefined;
  return {
    profile: profiles[0] ?? 'default',
    ...(profiles.length > 1 ? { profiles } : {}),
    versions,
    suites: (flags.suite?.length ? flags.suite : (file.suites ?? []))
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
    suitesDirs: flags.suitesDir?.length ? flags.suitesDir : (file.suitesDirs ?? []),
    ...(focus ? { focus } : {}),
    ...(skip ? { skip } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(context ? { context } : {}),
    inCluster: flags.inCluster ?? false,
    ...(registry ? { registry } : {}),
    keep: flags.keep ?? file.keep ?? false,
    parallel,
    ...(timeout ? { timeoutMs: parseDuration(timeout) } : {}),
    reportDir: flags.reportDir ?? file.reportDir ?? 'reports',
    allowPull: !flags.noPull,
    ...(name ? { name } : {}),
    selftest: flags.selftest ?? false,
    certify: flags.certify ?? false,
    ...(posture ? { posture } : {}),
    ...(shard ? { shard: parseShard(shard) } : {}),
    archive: flags.archive ?? file.archive ?? false,
    ...(upgrade ? { upgrade } : {}),
    ...(upgradeHalf ? { upgradeHalf } : {}),
    ...(baseline ? { baseline } : {}),
    acceptChanges: flags.acceptChanges ?? false,
    ...githubEnv(env),
  };
}

/** The `GITHUB_*` variables of `env`, when there are any. */
function githubEnv(env: NodeJS.ProcessEnv): { github?: NodeJS.ProcessEnv } {
  const github = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('GITHUB_')));
  return Object.keys(github).length ? { github } : {};
}

/** `--from`/`--to` (or `upgrade:` in --config): both or neither. */
function upgradeVersions(from: string | undefined, to: string | undefined): RunOptions['upgrade'] {
  if (from === undefined && to === undefined) return undefined;
  if (!from || !to) throw new UsageError('an upgrade needs both --from and --to, e.g. --from v1.36.3 --to v1.37.2');
  const parse = (flag: string, v: string) => {
    try {
      return parseKubernetesVersion(v);
    } catch (error) {
      throw new UsageError(`${flag}: ${(error as Error).message}`);
    }
  };
  return { from: parse('--from', from), to: parse('--to', to) };
}

/**
 * `--before`/`--after --baseline FILE` of the --kubeconfig form; the baseline must be the report
 * of a before run (it carries what the before halves recorded for the after halves).
 */
function upgradeHalfOf(flags: RunFlags, kubeconfig: string | undefined): RunOptions['upgradeHalf'] {
  if (!flags.before && !flags.after) return undefined;
  if (flags.before && flags.after)
    throw new UsageError(
      '--before and --after are two commands with your own upgrade between them: give --before first, then --after --baseline reports/<run>/results.json',
    );
  if (!kubeconfig)
    throw new UsageError(
      '--before/--after test an upgrade of your own cluster: add --kubeconfig PATH (or use --from vX --to vY for a kind cluster pullcheck upgrades)',
    );
  if (flags.before) return { half: 'before' };
  if (!flags.baseline) throw new UsageError('--after needs --baseline reports/<run>/results.json, the report the --before run wrote');
  const results = readResultsArgument(flags.baseline, '--baseline');
  const u = results.upgrade;
  if (u?.half !== 'before' || typeof u.clusterUid !== 'string' || typeof u.state !== 'object' || u.state === null)
    throw new UsageError(
      `--baseline ${flags.baseline} is not the report of a pullcheck upgrade --before run: pass the results.json that run wrote (reports/<run>/results.json)`,
    );
  return { half: 'after', baseline: { file: flags.baseline, results } };
}
