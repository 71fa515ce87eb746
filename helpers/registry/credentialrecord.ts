// Whether a node presented a credential, and what became of it, as pullcheck's own registries record
// it: an htpasswd registry's log (helpers/registry/authlog.ts), a token registry's token server. A
// negative check ("a wrong password is refused") is proven only when the credential was sent and
// refused; a pull that carried no credential fails the same way on the node's side.
import { nodeAttemptsOn, parseAuthAttempts } from './authlog.ts';
import type { TestRegistry } from './registry.ts';

export interface CredentialAttempt {
  time: Date;
  accepted: boolean;
  /** Where it was recorded, e.g. `registry GET /v2/x/manifests/t` or `token realm POST`. */
  where: string;
}

/**
 * The attempts made with `username`'s credentials on `repository` since `since`, by a node's
 * runtime (containerd's user agent; for the token server, a request from `nodeAddress`); undefined
 * where the registry is not pullcheck's and its record cannot be read.
 */
export async function credentialAttempts(
  registry: TestRegistry,
  o: { repository: string; username: string; since: Date; nodeAddress?: string },
): Promise<CredentialAttempt[] | undefined> {
  if (!registry.logs) return undefined;
  const tokens = registry.tokenServer;
  if (tokens)
    return tokens.requests
      .filter(
        (r) =>
          r.time >= o.since &&
          r.account === o.username &&
          (o.nodeAddress === undefined || r.remoteAddress === o.nodeAddress) &&
          r.requested.some((x) => x.type === 'repository' && x.name === o.repository),
      )
      .map((r) => ({ time: r.time, accepted: r.status === 200, where: `token realm ${r.method} → ${r.status}` }));
  if (registry.spec.auth !== 'htpasswd') return [];
  return nodeAttemptsOn(parseAuthAttempts(await registry.logs()), o.repository, o.since)
    .filter((a) => a.username === o.username)
    .map((a) => ({ time: a.time, accepted: a.accepted, where: `registry ${a.uri}` }));
}

/**
 * Undefined when the record proves the credential was sent and refused (at least one refusal, no
 * acceptance); otherwise the sentence saying what the registry saw instead.
 */
export function refusalUnproven(attempts: readonly CredentialAttempt[], what: string): string | undefined {
  const accepted = attempts.filter((a) => a.accepted);
  const refused = attempts.filter((a) => !a.accepted);
  const seen = attempts.map((a) => `${a.time.toISOString()} ${a.accepted ? 'accepted' : 'refused'} (${a.where})`).join('; ');
  if (accepted.length > 0) return `the registry accepted ${what} (${seen}), so the pull's failure is not its refusal`;
  if (refused.length === 0)
    return `the registry has no record of ${what} being presented and refused: the node pulled without it (anonymously), so its failure does not prove the refusal`;
  return undefined;
}
