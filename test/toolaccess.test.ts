import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ownerOfTempDir, sweepDeadTempDirs } from '../helpers/infra/tempfiles.ts';
import { toolAccess } from '../helpers/registry/toolaccess.ts';

describe('host tool access to a registry (skopeo)', () => {
  it('puts the CA and the credentials in private files, never on the command line, and removes them', () => {
    const access = toolAccess({ host: 'r.example:5000', ca: 'PEM', username: 'u', password: 'tool-canary' });
    try {
      expect(statSync(access.dir).mode & 0o777).toBe(0o700);
      expect(access.skopeoArgs).toEqual(['--cert-dir', access.certDir, '--authfile', access.authFile]);
      expect(access.skopeoArgs.join(' ')).not.toContain('tool-canary');
      expect(readFileSync(`${access.certDir}/ca.crt`, 'utf8')).toBe('PEM');
      const auth = JSON.parse(readFileSync(access.authFile ?? '', 'utf8')) as { auths: Record<string, { auth: string }> };
      expect(Buffer.from(auth.auths['r.example:5000']?.auth ?? '', 'base64').toString()).toBe('u:tool-canary');
      expect(statSync(access.authFile ?? '').mode & 0o777).toBe(0o600);
    } finally {
      access.remove();
    }
    expect(existsSync(access.dir)).toBe(false);
    access.remove();
  });

  it('is a private temp dir named with its owner: once the owner is gone (a worker stopped by a signal), the sweep removes it', () => {
    const access = toolAccess({ host: 'r.example:5000', ca: 'PEM', username: 'u', password: 'tool-canary' });
    try {
      expect(ownerOfTempDir(basename(access.dir))).toBe(process.pid);
      // Only this process counts as gone: other processes' directories in the host's tmpdir stay.
      expect(sweepDeadTempDirs(() => true, dirname(access.dir))).not.toContain(access.dir);
      expect(existsSync(access.dir)).toBe(true);
      expect(sweepDeadTempDirs((pid) => pid !== process.pid, dirname(access.dir))).toContain(access.dir);
      expect(existsSync(access.dir)).toBe(false);
    } finally {
      access.remove();
    }
  });

  it('gives no options for a registry the system roots verify and that takes no credentials', () => {
    const access = toolAccess({ host: 'r.example', ca: undefined, username: undefined, password: undefined });
    expect(access.skopeoArgs).toEqual([]);
    access.remove();
    expect(existsSync(access.dir)).toBe(false);
  });
});
