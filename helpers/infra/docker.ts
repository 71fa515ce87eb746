// The docker CLI, and the labels that mark everything pullcheck creates so that leftovers of a killed
// run can be found and removed.
import { type RunOptions, type RunResult, run } from './exec.ts';

export const LABEL_MANAGED = 'pullcheck.io/managed';
export const LABEL_RUN = 'pullcheck.io/run';
/** The selector of everything pullcheck made: containers, namespaces, RBAC objects, locks. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED}=true`;

/** The labels of an object pullcheck makes: the managed label, then `more`. A fresh object each call. */
export function managedLabels(more: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', ...more };
}

export function docker(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(['docker', ...args], options);
}

export async function imageLabel(image: string, label: string, options: RunOptions = {}): Promise<string | undefined> {
  const r = await docker(['image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, image], {
    ...options,
    allowFailure: true,
  });
  if (r.exitCode !== 0) return undefined;
  const value = r.stdout.trim();
  return value === '' || value === '<no value>' ? undefined : value;
}

export async function imageExists(image: string, options: RunOptions = {}): Promise<boolean> {
  const r = await docker(['image', 'inspect', '--format', '{{.Id}}', image], { ...options, allowFailure: true });
  return r.exitCode === 0;
}
