// What a host tool a scenario runs (skopeo) needs to reach a registry as pullcheck's own client
// does: the registry's CA (a vendor's --registry-ca, else the run CA) and its credentials, in files
// of a 0700 directory — never on a command line, where `ps` shows them — removed at the scenario's
// end, on Ctrl-C/SIGTERM where the process hears it, at the process's exit, and otherwise (a jest
// worker stopped by a signal, a SIGKILL) by the sweep of private temp dirs whose owner is gone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onInterrupt } from '../infra/lifecycle.ts';
import { privateTempDir, removePrivateTempDir } from '../infra/tempfiles.ts';
import { dockerConfigJson } from './secrets.ts';

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
  // Named with this process's pid: `sweepDeadTempDirs` removes it once the process is gone.
  const dir = privateTempDir('tool');
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    forget();
    removePrivateTempDir(dir);
  };
  const forget = onInterrupt(`host tool files ${dir}`, remove);
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
