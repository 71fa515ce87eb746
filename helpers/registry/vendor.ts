// A registry pullcheck did not start: a vendor's, named with `pullcheck run --registry URL`. Test
// images go there under per-scenario repositories; the nodes must reach it by the same name as
// this host does. pullcheck cannot read its access log, so scenarios that prove "no request was
// made" skip there with the reason.

import { EnvironmentError } from '../infra/preflight.ts';
import type { AccessEntry } from './accesslog.ts';
import { journalPush } from './cleanup.ts';
import { RegistryClient, RegistryError } from './client.ts';
import { type PreseededEntry, PULL_ONLY_PUSH_REASON } from './preseeded.ts';
import { imageRef, type TestRegistry } from './registry.ts';
import type { RegistryCredential } from './secrets.ts';
import { HttpTranscript } from './transcript.ts';

function journalTo(file: string, host: string) {
  return (p: { repository: string; reference: string; digest: string }) => journalPush(file, { registry: host, ...p });
}

export interface VendorRegistrySpec {
  url: string;
  host: string;
  username?: string;
  password?: string;
  caPem?: string;
  /** Every repository pushed here goes under it. */
  repositoryPrefix?: string;
  /** `flat`: `prefix/name` (depth 2), for registries that allow no deeper nesting (see underPrefix). */
  repositoryLayout?: 'nested' | 'flat';
  /** The file every manifest pushed here is journalled in, for the run's cleanup (helpers/registry/cleanup.ts). */
  pushJournal?: string;
  /**
   * The registry is a pull-through cache of this one (`--registry-upstream`): pullcheck's client
   * (pushes, reads back, deletes, the cleanup) speaks to the upstream; image references, pull
   * credentials and node trust name the cache, so that every pod pulls through it.
   */
  upstream?: UpstreamSpec;
  /**
   * Pull-only (`--registry-preseeded`): the references the vendor seeded, which scenarios read;
   * the client refuses every write (helpers/registry/preseeded.ts).
   */
  preseeded?: readonly PreseededEntry[];
}

export interface UpstreamSpec {
  url: string;
  host: string;
  username?: string;
  password?: string;
  caPem?: string;
}

export class VendorRegistry implements TestRegistry {
  readonly local = false;
  readonly client: RegistryClient;
  readonly spec: TestRegistry['spec'];

  /**
   * `public`: the registry standing in for an anonymous one, under the namespace anonymous clients
   * may read: pullcheck still pushes with the credentials, pods pull with none.
   */
  private readonly anonymous: boolean;

  constructor(
    private readonly vendor: VendorRegistrySpec,
    name: string,
    role: 'as-given' | 'public' = 'as-given',
  ) {
    this.anonymous = role === 'public' || !vendor.username;
    this.spec = { name, auth: this.anonymous ? 'none' : 'htpasswd', tls: true };
    const to = vendor.upstream ?? vendor;
    this.client = new RegistryClient({
      host: to.host,
      ...(to.caPem ? { ca: to.caPem } : {}),
      ...(to.username && to.password ? { username: to.username, password: to.password } : {}),
      ...(vendor.pushJournal ? { onPushed: journalTo(vendor.pushJournal, to.host) } : {}),
      transcript: new HttpTranscript(),
      ...(vendor.preseeded ? { readOnly: PULL_ONLY_PUSH_REASON } : {}),
    });
  }

  /** Pull-only: the references the vendor seeded (undefined: pullcheck pushes its own images). */
  get preseeded(): readonly PreseededEntry[] | undefined {
    return this.vendor.preseeded;
  }

  get host(): string {
    return this.vendor.host;
  }

  /** The upstream pullcheck pushes to when the registry is a pull-through cache (`--registry-upstream`). */
  get upstream(): UpstreamSpec | undefined {
    return this.vendor.upstream;
  }

  get repositoryPrefix(): string | undefined {
    return this.vendor.repositoryPrefix;
  }

  get repositoryLayout(): 'nested' | 'flat' | undefined {
    return this.vendor.repositoryLayout;
  }

  get username(): string | undefined {
    return this.anonymous ? undefined : this.vendor.username;
  }

  get password(): string | undefined {
    return this.anonymous ? undefined : this.vendor.password;
  }

  get caPem(): string | undefined {
    return this.vendor.caPem;
  }

  ref(repository: string, tagOrDigest: string): string {
    return imageRef(this.host, repository, tagOrDigest);
  }

  credential(password = this.password): RegistryCredential {
    if (!this.username || password === undefined)
      throw new Error(`registry ${this.spec.name} (${this.host}) has no credentials: the scenario needs an authenticated registry`);
    return { server: this.host, username: this.username, password };
  }

  accessLog(): Promise<AccessEntry[] | undefined> {
    return Promise.resolve(undefined);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Before anything starts: the registry answers, its certificate verifies, and it takes the
 * credentials (an authenticated /v2/ ping), each failure one line naming the fix.
 */
export async function checkVendorRegistry(v: VendorRegistrySpec): Promise<void> {
  const client = new RegistryClient({
    host: v.host,
    ...(v.caPem ? { ca: v.caPem } : {}),
    ...(v.username && v.password ? { username: v.username, password: v.password } : {}),
  });
  let status: number;
  try {
    status = (await client.ping()).status;
  } catch (error) {
    if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) {
      // With credentials, a refusal comes from the token endpoint (a Bearer registry): they are wrong.
      throw new EnvironmentError(
        v.username
          ? `registry ${v.url} refused the credentials of user ${v.username} (${error.message}): check --registry-username and the password given with --registry-password-stdin`
          : `registry ${v.url} needs credentials: pass --registry-username and --registry-password-stdin`,
      );
    }
    const chain = describeChain(error);
    if (/certificate|self.signed|unable to verify|CERT_|issuer/i.test(chain)) {
      throw new EnvironmentError(
        `registry ${v.url}: its TLS certificate does not verify (${chain}): pass --registry-ca FILE with the CA that signed it`,
      );
    }
    throw new EnvironmentError(
      `registry ${v.url} is unreachable (${chain}): check the URL and that this machine and the cluster's nodes can reach it`,
    );
  }
  if (status === 401 || status === 403) {
    throw new EnvironmentError(
      v.username
        ? `registry ${v.url} refused the credentials of user ${v.username} (HTTP ${status}): check --registry-username and the password given with --registry-password-stdin`
        : `registry ${v.url} needs credentials (HTTP ${status}): pass --registry-username and --registry-password-stdin`,
    );
  }
  if (status >= 400)
    throw new EnvironmentError(`registry ${v.url} answered /v2/ with HTTP ${status}: it does not look like an OCI distribution registry`);
}

function describeChain(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  while (e instanceof Error && parts.length < 4) {
    const code = 'code' in e ? ` ${String(e.code)}` : '';
    parts.push(`${e.message.split('\n')[0]}${code}`);
    e = e.cause;
  }
  return parts.join(': ') || String(error);
}
