// The Sonobuoy plugin definition (deploy/sonobuoy/pullcheck-plugin.yaml) naming a runner image by
// its content tag: the file in the repository holds a placeholder that cannot be pulled, so that a
// definition nobody filled fails at once instead of running whatever :latest happens to be.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../infra/paths.ts';

export const PLUGIN_DEFINITION = join(PACKAGE_ROOT, 'deploy', 'sonobuoy', 'pullcheck-plugin.yaml');

/** The plugin definition with `image:` set to `ref` (comments and layout kept). */
export function pluginDefinition(ref: string, template = readFileSync(PLUGIN_DEFINITION, 'utf8')): string {
  const image = /^(spec:\n(?:[ \t]+.*\n|\n)*?[ \t]+image:[ \t]*)(\S+)(.*)$/m;
  if (!image.test(template)) throw new Error('the plugin definition has no spec.image to fill');
  return template.replace(image, (_m, head: string, _old: string, tail: string) => `${head}${ref}${tail}`);
}
