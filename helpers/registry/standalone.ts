// One registry of a kind pullcheck can start, standing alone, for `pullcheck certify --registry`
// (`pullcheck registry serve`, scripts/mutants.ts): a vendor's registry must have one name for the
// host and the nodes, so it gets a docker network of its own with a subnet chosen here, the kind
// nodes attached to it as to a company network, and a fixed address there (the host reaches it
// through the bridge). kind's own network has no user-configured IPv4 subnet, so no fixed address.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { docker, LABEL_RUN } from '../infra/docker.ts';
import { onInterrupt } from '../infra/lifecycle.ts';
import type { Logger } from '../infra/log.ts';
import { ownedLabelArgs } from '../infra/sweep.ts';
import { RegistryClient, RegistryError } from './client.ts';
import { type KindSpec, startRegistry } from './kinds.ts';
import { PullThroughRegistry } from './pullthrough.ts';
import { TOKEN_PUBLIC_PREFIXES } from './registry.ts';
import { createCA } from './tls.ts';
import { networkGateway } from './tokenserver.ts';

export const STANDALONE_KINDS = [
  'distribution-htpasswd',
  'distribution-anonymous',
  'distribution-token',
  'distribution-no-delete',
  'distribution-proxy',
  'ggcr',
  'redirect',
] as const;
export type StandaloneKind = (typeof STANDALONE_KINDS)[number];

/** What each kind is, as a suite would ask for it (helpers/framework/env.ts RegistryRequest). */
const KINDS: Record<StandaloneKind, Pick<KindSpec, 'auth' | 'implementation' | 'redirectBlobs' | 'deletion' | 'pullThrough'>> = {
  'distribution-htpasswd': { auth: 'htpasswd' },
  'distribution-anonymous': { auth: 'none' },
  'distribution-token': { auth: 'token' },
  // As Debian's docker-registry and most deployments leave distribution: deletion disabled (405 UNSUPPORTED).
  'distribution-no-delete': { auth: 'htpasswd', deletion: false },
  // distribution's proxy mode with credentials of its own, in front of an htpasswd upstream it holds the credentials of.
  'distribution-proxy': { auth: 'htpasswd', pullThrough: { upstreamAuth: 'htpasswd' } },
  ggcr: { auth: 'none', implementation: 'ggcr' },
  redirect: { auth: 'htpasswd', redirectBlobs: true },
};

export function isStandaloneKind(text: string | undefined): text is StandaloneKind {
  return (STANDALONE_KINDS as readonly string[]).includes(text ?? '');
}

/**
 * A namespace anonymous clients may read, where the kind has one: the token server gives anonymous
 * pull tokens under public/, so `--registry-public-prefix` lets certify exercise anonymous pulls too.
 */
export function publicPrefixOf(kind: StandaloneKind): string | undefined {
  return KINDS[kind].auth === 'token' ? TOKEN_PUBLIC_PREFIXES[0].replace(/\/$/, '') : undefined;
}

/** Subnets pullcheck picks from: 172.31.200.0/24 … 172.31.249.0/24, clear of docker's default pools' start. */
export const CANDIDATE_SUBNETS: readonly string[] = Array.from({ length: 50 }, (_, i) => `172.31.${200 + i}.0/24`);

/** An IPv4 CIDR as its first and last address (as numbers); undefined for IPv6 or a malformed one. */
export function cidrRange(cidr: string): { first: number; last: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const first = Math.floor(address / size) * size;
  return { first, last: first + size - 1 };
}

/** Every subnet of `docker network inspect NET…` output (a JSON array of networks). */
export function subnetsOf(inspectJson: string): string[] {
  const networks = JSON.parse(inspectJson || '[]') as { IPAM?: { Config?: { Subnet?: string }[] | null } }[];
  return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter(Boolean);
}

/** The candidates no subnet in use overlaps, in order. */
export function freeSubnets(inUse: readonly string[], candidates: readonly string[] = CANDIDATE_SUBNETS): string[] {
  const used = inUse.map(cidrRange).filter((r) => r !== undefined);
  return candidates.filter((c) => {
    const r = cidrRange(c);
    return r !== undefined && !used.some((u) => u.first <= r.last && r.first <= u.last);
  });
}

/** The `n`th address of an IPv4 subnet: addressIn('172.31.200.0/24', 10) is 172.31.200.10. */
export function addressIn(subnet: string, n: number): string {
  const r = cidrRange(subnet);
  if (!r || n <= 0 || r.first + n >= r.last) throw new Error(`no address ${n} in ${subnet}`);
  const a = r.first + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(a / 2 ** shift) % 256).join('.');
}

/** Addresses in the network: the gateway (the host, where a token server listens) is .1. */
const GATEWAY = 1;
const REGISTRY_HOST = 10;
const BLOB_HOST = 11;
const UPSTREAM_HOST = 12;

export interface OwnNetwork {
  name: string;
  subnet: string;
  gateway: string;
}

/**
 * Creates a network of pullcheck's own whose subnet is user-configured (so that a container can be
 * given a fixed address in it, known before its certificate is made): a free candidate subnet, else
 * one Docker's own pools give. Docker hands its pools out in turn, and on a daemon that has made many
 * networks one of them is 172.31.0.0/16 for a while, over every candidate: then Docker picks a subnet
 * no network uses, and the network is made again with that subnet named. Another creator may win a
 * race for a subnet, so each is tried.
 */
export async function createOwnNetwork(name: string, labels: readonly string[], logger?: Logger): Promise<OwnNetwork> {
  const opts = logger ? { logger } : {};
  const ids = (await docker(['network', 'ls', '-q'], opts)).stdout.split('\n').filter(Boolean);
  const inUse = ids.length ? subnetsOf((await docker(['network', 'inspect', ...ids], { ...opts, allowFailure: true })).stdout) : [];
  const withSubnet = async (subnet: string): Promise<OwnNetwork | undefined> => {
    // The gateway named, not left to docker: recent docker leaves it out of the IPAM config otherwise.
    const create = ['network', 'create', '--subnet', subnet, '--gateway', addressIn(subnet, GATEWAY), ...labels, name];
    if ((await docker(create, { ...opts, allowFailure: true })).exitCode !== 0) return undefined;
    // Read back, not assumed: a token server listens there, and its certificate names it.
    const gateway = await networkGateway(name).catch(async (e: unknown) => {
      await docker(['network', 'rm', name], { ...opts, allowFailure: true });
      throw e;
    });
    return { name, subnet, gateway };
  };
  for (const subnet of freeSubnets(inUse)) {
    const made = await withSubnet(subnet);
    if (made) return made;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    await docker(['network', 'create', ...labels, name], opts);
    const { stdout } = await docker(['network', 'inspect', name], opts);
    await docker(['network', 'rm', name], opts);
    const subnet = subnetsOf(stdout).find((c) => cidrRange(c) !== undefined);
    const made = subnet ? await withSubnet(subnet) : undefined;
    if (made) return made;
  }
  throw new Error(
    `no free subnet for network ${name}: none of ${CANDIDATE_SUBNETS[0]} … ${CANDIDATE_SUBNETS.at(-1)}, and none Docker's pools gave could be named`,
  );
}

export interface StandaloneRegistry extends AsyncDisposable {
  kind: StandaloneKind;
  /** https://IP:5000: what `--registry` takes, the same for the host and the nodes. */
  url: string;
  /** IP:5000, as image references name it. */
  host: string;
  /** undefined for the anonymous kinds. */
  username: string | undefined;
  password: string | undefined;
  /** PEM of the CA the registry's (and its token server's, blob host's) certificates are from. */
  caFile: string;
  caPem: string;
  network: OwnNetwork;
  /** The upstream of a pull-through cache (distribution-proxy): where certify pushes (`--registry-upstream`). */
  upstream?: { url: string; host: string; username: string | undefined; password: string | undefined };
  /** Removes the containers, disconnects the nodes, removes the network and the CA's files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a registry of `kind` on a network of its own, `nodes` (kind node containers) attached to
 * it. Whatever was made is removed on failure, on stop(), and on Ctrl-C meanwhile.
 */
export async function startStandalone(o: { kind: StandaloneKind; nodes: readonly string[]; logger: Logger }): Promise<StandaloneRegistry> {
  const { kind, nodes, logger } = o;
  const runId = randomBytes(3).toString('hex');
  const undo: (() => Promise<unknown>)[] = [];
  let undoing: Promise<void> | undefined;
  const undoAll = () =>
    (undoing ??= (async () => {
      for (const u of undo.reverse()) await u().catch((e: unknown) => logger.warn(`removing the ${kind} registry: ${String(e)}`));
    })());
  const forget = onInterrupt(`standalone registry ${kind}`, undoAll);
  const stop = async () => {
    forget();
    await undoAll();
  };
  try {
    const ca = await createCA(`pullcheck ${kind} registry ${runId}`);
    undo.push(async () => rmSync(ca.dir, { recursive: true, force: true }));
    const network = await createOwnNetwork(
      `pullcheck-standalone-${runId}`,
      [...ownedLabelArgs(), '--label', `${LABEL_RUN}=${runId}`],
      logger,
    );
    undo.push(() => docker(['network', 'rm', network.name], { logger, allowFailure: true }));
    // Nodes leave the network before it goes (docker refuses to remove a network in use).
    undo.push(async () => {
      for (const n of nodes) await docker(['network', 'disconnect', '-f', network.name, n], { logger, allowFailure: true });
    });
    for (const n of nodes) await docker(['network', 'connect', network.name, n], { logger });
    const ip = addressIn(network.subnet, REGISTRY_HOST);
    const spec = KINDS[kind];
    const registry = await startRegistry(
      {
        ...spec,
        ...(spec.pullThrough ? { pullThrough: { ...spec.pullThrough, upstreamIp: addressIn(network.subnet, UPSTREAM_HOST) } } : {}),
        name: kind,
        ca,
        network: network.name,
        runId,
        ip,
        blobHostIp: addressIn(network.subnet, BLOB_HOST),
      },
      logger,
    );
    undo.push(() => registry.stop());
    const host = `${ip}:5000`;
    // The host must reach the registry at the address the nodes use: a docker VM would not route it.
    const answer = await new RegistryClient({ host, ca: ca.certPem })
      .ping()
      .then((r) => String(r.status))
      .catch((e: unknown) => (e instanceof RegistryError && e.status === 401 ? '401' : String(e)));
    if (answer !== '200' && answer !== '401')
      throw new Error(
        `the ${kind} registry at https://${host} does not answer this host (${answer}): the host must route to docker networks`,
      );
    logger.info(`registry ${kind} at https://${host} on network ${network.name} (${network.subnet}), nodes ${nodes.join(', ')} attached`);
    return {
      kind,
      url: `https://${host}`,
      host,
      username: registry.username,
      password: registry.password,
      caFile: ca.certFile,
      caPem: ca.certPem,
      network,
      ...(registry instanceof PullThroughRegistry
        ? {
            upstream: {
              url: `https://${registry.upstream.host}`,
              host: registry.upstream.host,
              username: registry.upstream.username,
              password: registry.upstream.password,
            },
          }
        : {}),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The variable the printed certify line passes a cache's upstream password in (`--upstream-password-env`). */
export const UPSTREAM_PASSWORD_ENV = 'PULLCHECK_UPSTREAM_PASSWORD';

/** A word safe to paste into a POSIX shell as it is, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The one command that certifies a standalone registry on the cluster it serves: `--name` (and
 * `--profile`) select that existing kind cluster, which certify then uses and leaves; the password
 * comes from a file on standard input, never on the command line.
 */
export function certifyCommand(o: {
  url: string;
  caFile: string;
  username?: string | undefined;
  passwordFile?: string | undefined;
  publicPrefix?: string | undefined;
  name?: string | undefined;
  profile?: string | undefined;
  /** A pull-through cache's upstream: its password comes from a file through UPSTREAM_PASSWORD_ENV. */
  upstream?: { url: string; username?: string | undefined; passwordFile?: string | undefined } | undefined;
}): string {
  const words = [
    'npx',
    'pullcheck',
    'certify',
    '--registry',
    o.url,
    '--registry-ca',
    o.caFile,
    ...(o.profile ? ['--profile', o.profile] : []),
    ...(o.name ? ['--name', o.name] : []),
    ...(o.publicPrefix ? ['--registry-public-prefix', o.publicPrefix] : []),
    ...(o.username && o.passwordFile ? ['--registry-username', o.username, '--registry-password-stdin'] : []),
    ...(o.upstream ? ['--registry-upstream', o.upstream.url, '--upstream-ca', o.caFile] : []),
    ...(o.upstream?.username && o.upstream.passwordFile
      ? ['--upstream-username', o.upstream.username, '--upstream-password-env', UPSTREAM_PASSWORD_ENV]
      : []),
  ];
  const upstreamPassword =
    o.upstream?.username && o.upstream.passwordFile ? `${UPSTREAM_PASSWORD_ENV}="$(cat ${shellWord(o.upstream.passwordFile)})" ` : '';
  const command = upstreamPassword + words.map(shellWord).join(' ');
  return o.username && o.passwordFile ? `${command} < ${shellWord(o.passwordFile)}` : command;
}
