// Registry credentials as Kubernetes and docker write them. Every password that passes through here
// is registered for redaction.
import type { V1Secret } from '@kubernetes/client-node';
import { LABEL_MANAGED } from '../infra/docker.ts';
import { registerCredentials } from '../infra/redact.ts';

export interface RegistryCredential {
  server: string;
  username: string;
  password: string;
  email?: string;
}

/** A docker config.json `auths` document, shaped as `kubectl create secret docker-registry` makes it. */
export function dockerConfigJson(credentials: readonly RegistryCredential[]): string {
  const auths: Record<string, Record<string, string>> = {};
  for (const c of credentials) {
    registerCredentials(c.username, c.password);
    auths[c.server] = {
      username: c.username,
      password: c.password,
      ...(c.email ? { email: c.email } : {}),
      auth: Buffer.from(`${c.username}:${c.password}`).toString('base64'),
    };
  }
  return JSON.stringify({ auths });
}

/** The legacy `.dockercfg` format: servers at the top level, no `auths` wrapper. */
export function dockerCfg(credentials: readonly RegistryCredential[]): string {
  const servers: Record<string, Record<string, string>> = {};
  for (const c of credentials) {
    registerCredentials(c.username, c.password);
    servers[c.server] = {
      auth: Buffer.from(`${c.username}:${c.password}`).toString('base64'),
      email: c.email ?? 'pullcheck@example.invalid',
    };
  }
  return JSON.stringify(servers);
}

/** A registry-credentials Secret of either type, holding `content` under the key its type requires. */
function registrySecret(
  name: string,
  namespace: string,
  type: 'kubernetes.io/dockercfg' | 'kubernetes.io/dockerconfigjson',
  content: string,
): V1Secret {
  const key = type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace, labels: { [LABEL_MANAGED]: 'true' } },
    data: { [key]: Buffer.from(content).toString('base64') },
  };
}

export function dockerCfgSecret(name: string, namespace: string, credentials: readonly RegistryCredential[]): V1Secret {
  return registrySecret(name, namespace, 'kubernetes.io/dockercfg', dockerCfg(credentials));
}

/** A dockerconfigjson Secret from the bytes of an existing docker config file, as `kubectl create secret generic --from-file=.dockerconfigjson=FILE --type=kubernetes.io/dockerconfigjson` makes it. */
export function secretFromConfigFile(name: string, namespace: string, configFileContent: string): V1Secret {
  return registrySecret(name, namespace, 'kubernetes.io/dockerconfigjson', configFileContent);
}

/** A dockerconfigjson Secret shaped as `kubectl create secret docker-registry` makes it. */
export function dockerConfigJsonSecret(name: string, namespace: string, credentials: readonly RegistryCredential[]): V1Secret {
  return registrySecret(name, namespace, 'kubernetes.io/dockerconfigjson', dockerConfigJson(credentials));
}
