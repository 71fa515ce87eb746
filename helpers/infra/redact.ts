// Every secret that passes through a run is registered here, and everything printed or written goes
// through redact(). Registering is cheap, forgetting is a leak: register at the point of creation.
const secrets = new Set<string>();
const MASK = '***';

export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < 4) return;
  secrets.add(value);
  // The same secret also travels base64-encoded (docker config "auth", Basic headers).
  secrets.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
}

export function registerCredentials(username: string, password: string): void {
  registerSecret(password);
  registerSecret(`${username}:${password}`);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out.replace(/(Authorization:\s*(?:Basic|Bearer)\s+)\S+/gi, `$1${MASK}`);
}

/** For tests: forget what was registered. */
export function clearSecrets(): void {
  secrets.clear();
}
