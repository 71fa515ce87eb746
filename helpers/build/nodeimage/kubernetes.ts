// Kubernetes' own binaries, built from the k8s.io/kubernetes module. That module replaces every
// k8s.io/* staging module with a path inside its repository, which a module download does not
// have; the generated wrapper replaces each with the published v0.MINOR.PATCH instead.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedDir, cachePath } from '../../infra/cache.ts';
import { run } from '../../infra/exec.ts';
import type { Logger } from '../../infra/log.ts';
import type { KubernetesVersion } from '../../infra/versions.ts';
import { goBuild, goModDownload, prepareWrapper } from '../go.ts';

export const KUBERNETES_COMMANDS = [
  'kubelet',
  'kubeadm',
  'kubectl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
] as const;

/** Lines `k8s.io/x => ./staging/src/k8s.io/x` of the kubernetes go.mod, as `k8s.io/x => k8s.io/x v0.M.P`. */
export function stagingReplacements(kubernetesGoMod: string, v: KubernetesVersion): string[] {
  const out: string[] = [];
  for (const line of kubernetesGoMod.split('\n')) {
    const m = /^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\/src\/\1\s*$/.exec(line);
    if (m) out.push(`${m[1]} => ${m[1]} v0.${v.minor}.${v.patch}`);
  }
  return out;
}

export function goDirective(goMod: string): string {
  const m = /^go\s+(\S+)\s*$/m.exec(goMod);
  if (!m) throw new Error('go.mod has no go directive');
  return m[1] as string;
}

export function renderKubernetesWrapper(kubernetesGoMod: string, v: KubernetesVersion): { goMod: string; toolsGo: string } {
  const replaces = stagingReplacements(kubernetesGoMod, v);
  if (replaces.length === 0)
    throw new Error(`k8s.io/kubernetes ${v.raw}: no staging replace directives found; the wrapper cannot be generated`);
  const goMod = [
    'module pullcheck.local/kubernetes',
    '',
    `go ${goDirective(kubernetesGoMod)}`,
    '',
    `require k8s.io/kubernetes ${v.raw}`,
    '',
    'replace (',
    ...replaces.map((r) => `\t${r}`),
    ')',
    '',
  ].join('\n');
  const toolsGo = [
    '//go:build tools',
    '',
    '// Package tools pins the commands built from k8s.io/kubernetes so that go mod tidy keeps their dependencies.',
    'package tools',
    '',
    'import (',
    ...KUBERNETES_COMMANDS.map((c) => `\t_ "k8s.io/kubernetes/cmd/${c}"`),
    ')',
    '',
  ].join('\n');
  return { goMod, toolsGo };
}

/** The -X flags kubeadm and `kubectl version` read; kubeadm derives its version-skew checks from them. */
export function versionLdflags(v: KubernetesVersion): string {
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=${v.raw}`,
      `-X ${pkg}.gitMajor=${v.major}`,
      `-X ${pkg}.gitMinor=${v.minor}`,
      `-X ${pkg}.gitCommit=0000000000000000000000000000000000000000`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

/** Returns the directory holding the seven binaries for `v`, building them when not cached. */
export async function buildKubernetes(v: KubernetesVersion, logger: Logger): Promise<string> {
  const { dir, hit } = await cachedDir(cachePath('bin', `kubernetes-${v.raw}`), async (out) => {
    await logger.phase(`build Kubernetes ${v.raw} (${KUBERNETES_COMMANDS.length} binaries from k8s.io/kubernetes)`, async () => {
      const mod = await goModDownload('k8s.io/kubernetes', v.raw, logger);
      const { goMod, toolsGo } = renderKubernetesWrapper(readFileSync(mod.goMod, 'utf8'), v);
      const wrapper = await prepareWrapper({ name: `kubernetes-${v.raw}`, goMod, files: { 'tools.go': toolsGo } }, logger);
      await goBuild(
        wrapper,
        KUBERNETES_COMMANDS.map((c) => `k8s.io/kubernetes/cmd/${c}`),
        out,
        logger,
        { ldflags: versionLdflags(v) },
      );
    });
  });
  if (hit) logger.info(`cached Kubernetes ${v.raw} binaries: ${dir}`);
  return dir;
}

/** `kubeadm config images list`, which runs offline: the image names kubeadm will ask containerd for. */
export async function kubeadmImages(binDir: string, v: KubernetesVersion, logger: Logger): Promise<string[]> {
  const { stdout } = await run([join(binDir, 'kubeadm'), 'config', 'images', 'list', '--kubernetes-version', v.raw], { logger });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
