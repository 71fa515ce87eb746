// htpasswd lines as CNCF distribution reads them: bcrypt only.
import bcrypt from 'bcryptjs';

// bcrypt's lowest cost: distribution checks the hash on every request (a pull is dozens), and at
// the usual cost 10 the test registries' password checks were a sixth of a run's CPU. These
// passwords are made per run and never leave the machine, so hashing slowly protects nothing.
const HTPASSWD_BCRYPT_COST = 4;

export function htpasswdLine(username: string, password: string): string {
  if (username.includes(':')) throw new Error('an htpasswd user name cannot contain ":"');
  return `${username}:${bcrypt.hashSync(password, HTPASSWD_BCRYPT_COST)}`;
}

export function verifyHtpasswd(line: string, username: string, password: string): boolean {
  const [user, hash] = line.split(':', 2);
  return user === username && hash !== undefined && bcrypt.compareSync(password, hash);
}
