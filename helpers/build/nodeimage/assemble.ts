// Puts a node image together the way kind's base image and `kind build node-image` do, from parts
// built here: Debian root filesystem + kind's base-image files (read from the kind module) + the
// binaries + the component images imported into the node's containerd, then `docker commit`.

import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, LABEL_MANAGED } from '../../infra/docker.ts';
import type { Logger } from '../../infra/log.ts';
import { IMPORT_COMPONENT_IMAGES } from './componentimages.ts';

export interface NodeImageParts {
  tag: string;
  inputsKey: string;
  kubernetesVersion: string;
  rootfsTar: string;
  kindModuleDir: string;
  kubernetesBin: string;
  containerdBin: string;
  crictlBin: string;
  runcBin: string;
  /** The OCI archive of the component images (control plane, etcd, CoreDNS, kube-proxy, pause). */
  componentArchive: string;
  stagingDir: string;
}

export const LABEL_NODE_INPUTS = 'pullcheck.io/node-inputs';

/** Lays out on the host every file the node needs, with the modes kind's Dockerfile gives them. */
export function stageNodeFiles(p: NodeImageParts): void {
  const files = join(p.kindModuleDir, 'images', 'base', 'files');
  const root = p.stagingDir;
  mkdirSync(root, { recursive: true });
  // The module zip keeps no executable bits: restore them as the Dockerfile's COPY --chmod does.
  cpSync(files, root, { recursive: true });
  const setModes = (dir: string, mode: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        chmodSync(path, 0o755);
        setModes(path, mode);
      } else chmodSync(path, mode);
    }
  };
  setModes(root, 0o644);
  setModes(join(root, 'usr', 'local', 'bin'), 0o755);
  setModes(join(root, 'kind', 'bin'), 0o755);
  const install = (from: string, to: string) => {
    mkdirSync(join(root, to, '..'), { recursive: true });
    copyFileSync(from, join(root, to));
    chmodSync(join(root, to), 0o755);
  };
  for (const b of ['kubelet', 'kubeadm', 'kubectl']) install(join(p.kubernetesBin, b), `usr/bin/${b}`);
  for (const b of ['containerd', 'ctr', 'containerd-shim-runc-v2']) install(join(p.containerdBin, b), `usr/local/bin/${b}`);
  install(join(p.crictlBin, 'crictl'), 'usr/local/bin/crictl');
  install(join(p.runcBin, 'runc'), 'usr/local/sbin/runc');
  writeFileSync(join(root, 'kind', 'version'), p.kubernetesVersion);
  mkdirSync(join(root, 'etc', 'kubernetes', 'manifests'), { recursive: true });
  mkdirSync(join(root, 'opt', 'cni', 'bin'), { recursive: true });
}

/** The same edits kind's base Dockerfile makes after installing packages: a quiet systemd with only the node's services. */
const SYSTEM_SETUP = `set -eu
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/*
rm -f /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
# Debian installs the CNI plugins in /usr/lib/cni; containerd looks in /opt/cni/bin.
for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done
`;

/** kind generates cri-base.json from \`ctr oci spec\`: add its product-uuid hook, drop rlimits. */
export function criBaseSpec(ctrOciSpec: string): string {
  const spec = JSON.parse(ctrOciSpec) as { hooks?: { createContainer?: { path: string }[] }; process?: { rlimits?: unknown } };
  spec.hooks ??= {};
  spec.hooks.createContainer = [...(spec.hooks.createContainer ?? []), { path: '/kind/bin/mount-product-files.sh' }];
  if (spec.process) delete spec.process.rlimits;
  return `${JSON.stringify(spec, null, 2)}\n`;
}

export async function assembleNodeImage(p: NodeImageParts, logger: Logger): Promise<void> {
  const base = `pullcheck/node-base:${p.inputsKey}`;
  await logger.phase('import root filesystem into docker', () =>
    docker(['import', '--change', 'ENV container=docker', p.rootfsTar, base], { logger }),
  );
  const name = `pullcheck-node-build-${process.pid}`;
  await docker(['rm', '-f', name], { logger, allowFailure: true });
  try {
    await docker(
      ['run', '-d', '--name', name, '--label', `${LABEL_MANAGED}=true`, '--privileged', '--entrypoint', 'sleep', base, 'infinity'],
      { logger },
    );
    const exec = (args: string[], extra: { inputFile?: string } = {}) =>
      docker(['exec', ...(extra.inputFile ? ['-i'] : []), name, ...args], { logger, ...extra });
    await logger.phase('copy kind base files and binaries into the node', async () => {
      stageNodeFiles(p);
      await docker(['cp', `${p.stagingDir}/.`, `${name}:/`], { logger });
      await exec(['bash', '-c', SYSTEM_SETUP]);
      const spec = await exec(['ctr', 'oci', 'spec']);
      await docker(['exec', '-i', name, 'bash', '-c', 'cat > /etc/containerd/cri-base.json'], { logger, input: criBaseSpec(spec.stdout) });
    });
    await logger.phase('import component images into the node containerd', async () => {
      await exec(['bash', '-c', 'nohup containerd > /var/log/containerd-build.log 2>&1 &']);
      await exec([
        'bash',
        '-c',
        'for i in $(seq 1 50); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /var/log/containerd-build.log; exit 1',
      ]);
      await exec([...IMPORT_COMPONENT_IMAGES], { inputFile: p.componentArchive });
      const listed = await exec(['ctr', '--namespace=k8s.io', 'images', 'list', '-q']);
      logger.detail(`images in the node:\n${listed.stdout}`);
      // PID 1 here is `sleep`, which reaps nobody: a stopped containerd stays a zombie, so wait for no live one.
      await exec([
        'bash',
        '-c',
        'pkill -x containerd; for i in $(seq 1 50); do [ -z "$(ps -o stat= -C containerd | grep -v ^Z)" ] && exit 0; sleep 0.2; done; exit 1',
      ]);
      await exec(['rm', '-f', '/var/log/containerd-build.log']);
    });
    await commitNodeImage(name, p.tag, p.inputsKey, logger);
  } finally {
    await docker(['rm', '-f', name], { logger, allowFailure: true });
    await docker(['rmi', base], { logger, allowFailure: true });
  }
}

/** The build container `name` committed as node image `tag`: kind's entrypoint and stop signal, labelled with its inputs' key. */
export function commitNodeImage(name: string, tag: string, inputsKey: string, logger: Logger): Promise<unknown> {
  return logger.phase(`commit ${tag}`, () =>
    docker(
      [
        'commit',
        '--change',
        'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
        '--change',
        'CMD []',
        '--change',
        'ENV container=docker',
        '--change',
        'STOPSIGNAL SIGRTMIN+3',
        '--change',
        `LABEL ${LABEL_NODE_INPUTS}=${inputsKey}`,
        name,
        tag,
      ],
      { logger },
    ),
  );
}
