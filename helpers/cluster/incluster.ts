// Inside a pod (the runner image as a Job or a Sonobuoy plugin) there is no kubeconfig and no
// Docker: the API server comes from the pod's environment and the credentials from its
// ServiceAccount, written as a kubeconfig that names the token's file (the token is never copied).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { privateTempDir } from '../infra/tempfiles.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Why this process cannot use in-cluster credentials, or undefined when it can. */
export function inClusterProblem(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): string | undefined {
  if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT'])
    return '--in-cluster runs inside a pod: KUBERNETES_SERVICE_HOST/PORT are not set here (outside a cluster, pass --kubeconfig)';
  for (const file of ['token', 'ca.crt'])
    if (!existsSync(join(dir, file)))
      return `--in-cluster needs the pod's ServiceAccount token: ${join(dir, file)} is missing (set automountServiceAccountToken: true)`;
  return undefined;
}

/** A kubeconfig file for the pod's own cluster and ServiceAccount, for everything that reads one. */
export function writeInClusterKubeconfig(): string {
  const config = new KubeConfig();
  config.loadFromCluster();
  // The ServiceAccount's token: in a private dir removed on any exit.
  const file = join(privateTempDir('in-cluster'), 'kubeconfig');
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}
