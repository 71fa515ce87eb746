// A tool self-test: the node agent (helpers/node/agent.ts), pullcheck's node access for clusters it
// did not create, checked on a kind cluster against `docker exec` (KindNodeAccess), which reaches the
// same nodes another way: the same namespaces and hostname, the same files byte for byte, stdin that
// arrives intact, the same verdicts for failing commands, and nothing left once it is removed.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { defineSuite, type ScenarioContext } from '../../helpers/framework/harness.ts';
import { hostPlatform } from '../../helpers/images/oci.ts';
import { echoImage } from '../../helpers/images/testimages.ts';
import { CommandError } from '../../helpers/infra/exec.ts';
import { KindNodeAccess, type NodeAccess } from '../../helpers/node/access.ts';
import { AGENT_REPOSITORY, agentNamespace, type DaemonSetNodeAccess, installNodeAgent, NodeAgentError } from '../../helpers/node/agent.ts';
import { nodeHasImage, preloadImage, removeNodeImage } from '../../helpers/node/preload.ts';

export const suite = defineSuite({ name: 'node-agent', registries: [{ name: 'private', auth: 'htpasswd' }], selftest: true });

/** Namespaces a command on the node must share with one `docker exec` starts in the node container. */
const NODE_NAMESPACES = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'user'] as const;
const NAMESPACE_SCRIPT = `for n in ${NODE_NAMESPACES.join(' ')}; do echo "$n $(readlink /proc/self/ns/$n)"; done`;
const STDIN_BYTES = 20 * 1024 * 1024;

async function installAgent(s: ScenarioContext): Promise<DaemonSetNodeAccess> {
  const agent = await installNodeAgent({
    kube: s.env.cluster.kube,
    registry: s.env.registry('private'),
    runId: s.env.runId,
    logger: s.env.logger,
  });
  s.defer(() => agent.dispose());
  s.collect('node agent pods', async () =>
    (await s.env.cluster.kube.core.listNamespacedPod({ namespace: agent.namespace })).items
      .map(
        (p) =>
          `${p.metadata?.name} on ${p.spec?.nodeName}: ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? {})}`,
      )
      .join('\n'),
  );
  return agent;
}

/** The other way onto the nodes the agent is checked against: `docker exec`, which only kind nodes have. */
function dockerExec(s: ScenarioContext): NodeAccess {
  if (!(s.env.cluster.nodes instanceof KindNodeAccess)) s.skip('the agent is checked against docker exec, which needs a kind cluster');
  return s.env.cluster.nodes;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(2)}s`;
}

suite.section('node-agent', () => {
  suite.scenario(
    'commands-reach-every-node',
    'on every node a command runs in the namespaces docker exec runs in (same hostname); failures are CommandErrors with exit code and stderr; systemctl, crictl and journalctl work',
    { needs: ['node-access', 'kind'] },
    async (s) => {
      const kind = dockerExec(s);
      const agent = await installAgent(s);
      const registry = s.env.registry('private');
      expect(agent.nodeNames).toEqual(s.env.cluster.nodeNames);
      for (const node of s.env.cluster.nodeNames) {
        const started = Date.now();
        const hostname = await agent.exec(node, ['cat', '/etc/hostname']);
        s.env.logger.info(`[${s.id}] [${node}] EXEC OK cat /etc/hostname in ${seconds(started)}`);
        expect(hostname.stdout).toBe((await kind.exec(node, ['cat', '/etc/hostname'])).stdout);
        expect(hostname.stdout).toBe(node);

        expect((await agent.exec(node, ['sh', '-c', NAMESPACE_SCRIPT])).stdout).toBe(
          (await kind.exec(node, ['sh', '-c', NAMESPACE_SCRIPT])).stdout,
        );

        const failing = ['sh', '-c', 'echo partial; echo "boom on $(hostname)" >&2; exit 3'];
        const error: unknown = await agent.exec(node, failing).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(CommandError);
        expect(error).toMatchObject({ exitCode: 3, stderr: `boom on ${node}` });
        expect((error as CommandError).argv).toEqual(['node-agent', node, ...failing]);
        expect(await agent.exec(node, failing, { allowFailure: true })).toEqual({
          exitCode: 3,
          stdout: 'partial',
          stderr: `boom on ${node}`,
        });

        const missing = await agent.exec(node, ['pullcheck-no-such-command'], { allowFailure: true });
        expect(missing.exitCode).toBe(127);
        expect(missing.stderr).toContain('pullcheck-no-such-command: not found');

        expect((await agent.exec(node, ['systemctl', 'is-active', 'kubelet'])).stdout).toBe('active');
        // The node pulled the agent's own image through the CRI: crictl talks to the node's containerd.
        expect((await agent.exec(node, ['crictl', 'images'])).stdout).toContain(`${registry.host}/${AGENT_REPOSITORY}`);
        expect((await agent.exec(node, ['journalctl', '-u', 'kubelet', '-n', '5', '--no-pager'])).exitCode).toBe(0);
      }
    },
  );

  suite.scenario(
    'files-and-stdin-arrive-intact',
    'a file the agent writes reads back through docker exec with the same bytes and mode; 20 MiB of binary stdin arrive intact; an image archive imports with ctr',
    { needs: ['node-access', 'kind'] },
    async (s) => {
      const kind = dockerExec(s);
      const agent = await installAgent(s);
      const dir = mkdtempSync(join(tmpdir(), 'pullcheck-agent-'));
      s.defer(() => rmSync(dir, { recursive: true, force: true }));
      const blob = join(dir, 'blob.bin');
      const bytes = randomBytes(STDIN_BYTES);
      writeFileSync(blob, bytes);
      const digest = createHash('sha256').update(bytes).digest('hex');
      const content = `first line\nünïcödé ✓ "quotes" $HOME \`ticks\`\n\ttab, no final newline`;
      const echo = await echoImage(hostPlatform(), s.env.logger);
      const ref = s.env.registry('private').ref(s.uniqueRepository('preloaded'), s.uniqueTag());

      for (const node of s.env.cluster.nodeNames) {
        const path = `/tmp/pullcheck-agent-${s.env.runId}/sub dir/file.txt`;
        s.defer(() => kind.exec(node, ['rm', '-rf', `/tmp/pullcheck-agent-${s.env.runId}`]));
        await agent.writeFile(node, path, content, '0600');
        const readBack = await kind.exec(node, ['sh', '-c', 'base64 -w0 "$1"; echo; stat -c %a "$1"', 'sh', path]);
        const [b64, mode] = readBack.stdout.split('\n');
        expect(Buffer.from(b64 ?? '', 'base64').toString('utf8')).toBe(content);
        expect(mode).toBe('600');

        const started = Date.now();
        const sum = await agent.exec(node, ['sha256sum'], { inputFile: blob });
        s.env.logger.info(`[${s.id}] [${node}] STDIN OK ${STDIN_BYTES / 1024 / 1024} MiB in ${seconds(started)}`);
        expect(sum.stdout).toBe(`${digest}  -`);

        s.defer(() => removeNodeImage(kind, node, ref));
        await preloadImage({ nodes: agent, node, ref, image: echo.image });
        expect(await nodeHasImage(kind, node, ref)).toBe(true);
      }
    },
  );

  suite.scenario(
    'dispose-leaves-nothing',
    'dispose deletes the agent namespace with its DaemonSet and waits until it is gone; a second dispose is harmless; the removed agent refuses commands',
    { needs: ['node-access'] },
    async (s) => {
      const { kube } = s.env.cluster;
      const agent = await installAgent(s);
      const namespace = agentNamespace(s.env.runId);
      expect(agent.namespace).toBe(namespace);
      const labels = (await kube.core.readNamespace({ name: namespace })).metadata?.labels ?? {};
      expect(labels).toMatchObject({
        'pullcheck.io/managed': 'true',
        'pullcheck.io/run': s.env.runId,
        'pod-security.kubernetes.io/enforce': 'privileged',
      });

      await agent.dispose();
      const gone: unknown = await kube.core.readNamespace({ name: namespace }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(gone).toBeInstanceOf(ApiException);
      expect((gone as ApiException<unknown>).code).toBe(404);
      await agent[Symbol.asyncDispose]();
      const [node] = s.env.cluster.nodeNames;
      await expect(agent.exec(node ?? '', ['true'])).rejects.toBeInstanceOf(NodeAgentError);
    },
  );
});
