// What a host tool a scenario runs (skopeo) needs to reach a registry as pullcheck's own client
// does: the registry's CA (a vendor's --registry-ca, else the run CA) and its credentials, in files
// of a 0700 directory — never on a command line, where `ps` shows them — removed on every exit path
// the process sees: the scenario's end, Ctrl-C/SIGTERM, and the process's exit.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onInterrupt } from '../infra/lifecycle.ts';
import { dockerConfigJson } from './secrets.ts';

/** The prefix of the directories: a sweep of what a SIGKILL left can find them by it. */
export const TOOL_DIR_PREFIX = 'pullcheck-tool-';

export interface ToolAccess {
  dir: string;
  /** A directory holding `ca.crt` (skopeo's `--cert-dir`, containers-certs.d's layout), when a CA is given. */
  certDir?: string;
  /** A containers-auth.json / docker config.json with the credentials (skopeo's `--authfile`), when given. */
  authFile?: string;
  /** The options of a `skopeo inspect|copy` for this registry. */
  skopeoArgs: string[];
  /** Removes the directory; idempotent. */
  remove(): void;
}

export function toolAccess(o: {
  host: string;
  ca?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}): ToolAccess {
  const dir = mkdtempSync(join(tmpdir(), TOOL_DIR_PREFIX));
  chmodSync(dir, 0o700);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    forget();
    process.off('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onInterrupt(`host tool files ${dir}`, remove);
  process.on('exit', remove);
  try {
    let certDir: string | undefined;
    if (o.ca) {
      certDir = join(dir, 'certs');
      mkdirSync(certDir, { mode: 0o700 });
      writeFileSync(join(certDir, 'ca.crt'), o.ca, { mode: 0o600 });
    }
    let authFile: string | undefined;
    if (o.username && o.password) {
      authFile = join(dir, 'auth.json');
      writeFileSync(authFile, dockerConfigJson([{ server: o.host, username: o.username, password: o.password }]), { mode: 0o600 });
    }
    return {
      dir,
      ...(certDir ? { certDir } : {}),
      ...(authFile ? { authFile } : {}),
      skopeoArgs: [...(certDir ? ['--cert-dir', certDir] : []), ...(authFile ? ['--authfile', authFile] : [])],
      remove,
    };
  } catch (error) {
    remove();
    throw error;
  }
}
