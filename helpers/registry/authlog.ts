// Which credentials a client presented, in the order the registry saw them: distribution's htpasswd
// controller logs `user failed to authenticate` (field `username`) for a known user with a wrong
// password, and `authorized request` (field `auth.user.name`) for every request it lets in. The
// access log proper ("response completed") has no line for a refused request, hence this reader.

import { ANY_NODE_RUNTIME_AGENT } from '../runtime/useragent.ts';
import { jsonLogRecords } from './accesslog.ts';

export interface AuthAttempt {
  time: Date;
  /** The user name the request's Basic credentials carried. */
  username: string;
  /** True when the registry accepted the credentials. */
  accepted: boolean;
  uri: string;
  /** The repository the request named (`vars.name`); undefined for `/v2/`. */
  repository: string | undefined;
  userAgent: string;
}

const OUTCOMES: Readonly<Record<string, { accepted: boolean; userField: string }>> = {
  'authorized request': { accepted: true, userField: 'auth.user.name' },
  'user failed to authenticate': { accepted: false, userField: 'username' },
};

/** Every accepted or refused Basic-auth attempt in a distribution registry's JSON log, in log order. */
export function parseAuthAttempts(log: string): AuthAttempt[] {
  const attempts: AuthAttempt[] = [];
  for (const record of jsonLogRecords(log)) {
    const outcome = OUTCOMES[String(record['msg'])];
    const username = outcome ? record[outcome.userField] : undefined;
    if (!outcome || typeof username !== 'string') continue;
    const repository = record['vars.name'];
    attempts.push({
      time: new Date(String(record['time'])),
      username,
      accepted: outcome.accepted,
      uri: String(record['http.request.uri'] ?? ''),
      repository: typeof repository === 'string' ? repository : undefined,
      userAgent: String(record['http.request.useragent'] ?? ''),
    });
  }
  return attempts;
}

/** The attempts a node's runtime (containerd's or CRI-O's user agent) made on `repository` since `since`. */
export function nodeAttemptsOn(attempts: readonly AuthAttempt[], repository: string, since: Date): AuthAttempt[] {
  return attempts.filter((a) => a.repository === repository && a.time >= since && ANY_NODE_RUNTIME_AGENT.test(a.userAgent));
}
