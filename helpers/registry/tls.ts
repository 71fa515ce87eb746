// A CA made per run and a server certificate for each registry it starts, with openssl (on every
// Debian). Nodes trust the CA through containerd's certs.d; the host through the `ca` option.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../infra/exec.ts';
import { privateTempDir } from '../infra/tempfiles.ts';

export interface CertificateAuthority {
  certPem: string;
  keyFile: string;
  certFile: string;
  dir: string;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

export async function createCA(commonName = 'pullcheck run CA'): Promise<CertificateAuthority> {
  // Its key signs certificates nodes trust: a private dir, removed on any exit (a SIGKILL: by the next run).
  const dir = privateTempDir('ca');
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  await run([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPem: readFileSync(certFile, 'utf8'), keyFile, certFile, dir };
}

/** subjectAltName entries: `DNS:name` and `IP:1.2.3.4`. */
export function subjectAltNames(hosts: readonly string[]): string {
  return hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
}

export async function issueServerCertificate(ca: CertificateAuthority, hosts: readonly string[]): Promise<ServerCertificate> {
  const dir = mkdtempSync(join(ca.dir, 'server-'));
  const key = join(dir, 'tls.key');
  const csr = join(dir, 'tls.csr');
  const crt = join(dir, 'tls.crt');
  const ext = join(dir, 'ext.cnf');
  writeFileSync(
    ext,
    `subjectAltName=${subjectAltNames(hosts)}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  await run([
    'openssl',
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `/CN=${hosts[0] ?? 'registry'}`,
  ]);
  await run([
    'openssl',
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    // A random serial, not -CAcreateserial: registries start concurrently and would race on one ca.srl file.
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-out',
    crt,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}
