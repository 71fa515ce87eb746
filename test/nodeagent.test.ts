import type { V1Node, V1Pod, V1Status } from '@kubernetes/client-node';
import { clearSecrets } from '../helpers/infra/redact.ts';
import {
  AGENT_BINARY,
  AGENT_CONTAINER,
  AGENT_PULL_SECRET,
  agentCommand,
  agentNamespace,
  describeAgentPod,
  distinctPlatforms,
  exitCodeOfStatus,
  nodeAgentManifests,
  nodePlatform,
  readyAgentPods,
  stripFinalNewline,
} from '../helpers/node/agent.ts';

const IMAGE = 'pullcheck-reg-abc123-private:5000/pullcheck/node-agent@sha256:0123';
const CRED = { server: 'pullcheck-reg-abc123-private:5000', username: 'user-private', password: 'pw-123456' };

afterEach(() => clearSecrets());

describe('node agent manifests', () => {
  const m = nodeAgentManifests({ runId: 'abc123', image: IMAGE, pullCredential: CRED });
  const pod = m.daemonSet.spec?.template.spec;
  const container = pod?.containers[0];

  it('a namespace of its own, labelled for the run, that admits privileged pods', () => {
    expect(m.namespace.metadata?.name).toBe('pullcheck-agent-abc123');
    expect(agentNamespace('abc123')).toBe('pullcheck-agent-abc123');
    expect(m.namespace.metadata?.labels).toMatchObject({
      'pullcheck.io/managed': 'true',
      'pullcheck.io/run': 'abc123',
      'pod-security.kubernetes.io/enforce': 'privileged',
    });
  });

  it('a DaemonSet on every node (all taints tolerated) sharing the node PID, network and IPC namespaces', () => {
    expect(m.daemonSet.metadata?.namespace).toBe('pullcheck-agent-abc123');
    expect(pod?.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod?.nodeName).toBeUndefined();
    expect(pod).toMatchObject({ hostPID: true, hostNetwork: true, hostIPC: true, automountServiceAccountToken: false });
    expect(container).toMatchObject({
      name: AGENT_CONTAINER,
      image: IMAGE,
      command: [AGENT_BINARY, 'sleep'],
      securityContext: { privileged: true, runAsUser: 0 },
    });
    // Commands run in the agent container's cgroup: no memory limit to kill an image import.
    expect(container?.resources?.limits).toBeUndefined();
  });

  it('the selector matches the pod template, and everything carries the run label', () => {
    const selector = m.daemonSet.spec?.selector.matchLabels ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    expect(m.daemonSet.spec?.template.metadata?.labels).toMatchObject(selector);
    for (const labels of [m.daemonSet.metadata?.labels, m.daemonSet.spec?.template.metadata?.labels, m.pullSecret?.metadata?.labels]) {
      expect(labels).toMatchObject({ 'pullcheck.io/run': 'abc123', 'pullcheck.io/managed': 'true' });
    }
  });

  it('pulls with a dockerconfigjson Secret for the registry, and without one from an anonymous registry', () => {
    expect(pod?.imagePullSecrets).toEqual([{ name: AGENT_PULL_SECRET }]);
    expect(m.pullSecret?.type).toBe('kubernetes.io/dockerconfigjson');
    expect(m.pullSecret?.metadata?.namespace).toBe('pullcheck-agent-abc123');
    const config = JSON.parse(Buffer.from(m.pullSecret?.data?.['.dockerconfigjson'] ?? '', 'base64').toString()) as {
      auths: Record<string, { username: string }>;
    };
    expect(config.auths[CRED.server]?.username).toBe('user-private');

    const anonymous = nodeAgentManifests({ runId: 'abc123', image: IMAGE });
    expect(anonymous.pullSecret).toBeUndefined();
    expect(anonymous.daemonSet.spec?.template.spec?.imagePullSecrets).toBeUndefined();
  });

  it('a command runs as `nodeagent run -- argv`, argv untouched', () => {
    expect(agentCommand(['sh', '-c', 'echo "$1"', 'sh', '--', 'a b'])).toEqual([
      AGENT_BINARY,
      'run',
      '--',
      'sh',
      '-c',
      'echo "$1"',
      'sh',
      '--',
      'a b',
    ]);
  });
});

describe('exec status → exit code', () => {
  it('Success is 0', () => {
    expect(exitCodeOfStatus({ metadata: {}, status: 'Success' })).toBe(0);
  });

  it('NonZeroExitCode carries the code in its ExitCode cause', () => {
    const status: V1Status = {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    };
    expect(exitCodeOfStatus(status)).toBe(3);
    expect(exitCodeOfStatus({ ...status, details: { causes: [{ reason: 'ExitCode', message: '127' }] } })).toBe(127);
  });

  it('any other failure has no exit code (the command did not run to an exit)', () => {
    expect(
      exitCodeOfStatus({ metadata: {}, status: 'Failure', reason: 'InternalError', message: 'container not found ("agent")' }),
    ).toBeUndefined();
    expect(exitCodeOfStatus({ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [] } })).toBeUndefined();
    expect(
      exitCodeOfStatus({
        metadata: {},
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: 'x' }] },
      }),
    ).toBeUndefined();
  });

  it('output loses one final newline, as KindNodeAccess output does', () => {
    expect(stripFinalNewline('node-1\n')).toBe('node-1');
    expect(stripFinalNewline('a\r\n')).toBe('a');
    expect(stripFinalNewline('a\n\n')).toBe('a\n');
    expect(stripFinalNewline('')).toBe('');
  });
});

describe('agent pods and nodes', () => {
  const pod = (name: string, node: string | undefined, ready: boolean, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name, ...extra },
    spec: { containers: [], ...(node ? { nodeName: node } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  it('maps each node to its Ready, not terminating, agent pod', () => {
    const map = readyAgentPods([
      pod('a-1', 'worker', true),
      pod('a-2', 'worker2', false),
      pod('a-3', 'control-plane', true, { deletionTimestamp: new Date() }),
      pod('a-4', undefined, true),
    ]);
    expect([...map]).toEqual([['worker', 'a-1']]);
  });

  it('describes a pod that waits with its reason, for the wait-timeout error', () => {
    const p = pod('a-1', 'worker', false);
    p.status = {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'agent',
          image: IMAGE,
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
        },
      ],
    };
    expect(describeAgentPod(p)).toBe('a-1 on worker: Pending waiting ImagePullBackOff: Back-off pulling image');
  });

  it('builds for the platforms of the nodes, once each', () => {
    const node = (architecture: string): V1Node => ({
      status: { nodeInfo: { architecture, operatingSystem: 'linux' } as NonNullable<NonNullable<V1Node['status']>['nodeInfo']> },
    });
    expect(nodePlatform(node('arm'))).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    const platforms = distinctPlatforms([node('arm64'), node('amd64'), node('arm64')].map(nodePlatform));
    expect(platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
  });
});
