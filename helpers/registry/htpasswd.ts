// htpasswd lines as CNCF distribution reads them: bcrypt only.
import bcrypt from 'bcryptjs';

export function htpasswdLine(username: string, password: string): string {
  if (username.includes(':')) throw new Error('an htpasswd user name cannot contain ":"');
  return `${username}:${bcrypt.hashSync(password, 10)}`;
}

export function verifyHtpasswd(line: string, username: string, password: string): boolean {
  const [user, hash] = line.split(':', 2);
  return user === username && hash !== undefined && bcrypt.compareSync(password, hash);
}
