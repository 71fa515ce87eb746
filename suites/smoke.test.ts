// The cluster, the registries and the images work end to end: if this fails, nothing else can pass.
import { hostPlatform } from '../helpers/images/oci.ts';
import { echoImage, platformString } from '../helpers/images/testimages.ts';
import { scenario, useEnv } from '../helpers/framework/harness.ts';
import { EventReason, PULL_FAILED_REASONS, UNAUTHORIZED, waitForEvent, ranToCompletion } from '../helpers/framework/pods.ts';

const getEnv = useEnv({ suite: 'smoke', registries: [{ name: 'public', auth: 'none' }, { name: 'private', auth: 'htpasswd' }] });

describe('smoke', () => {
  scenario(getEnv, 'smoke/public-image-runs', 'a pod runs an image from the anonymous registry over TLS and logs SUCCESS', async (s) => {
    const test = await echoImage(hostPlatform(), s.env.logger);
    const pushed = await s.push(s.env.registry('public'), test.image);
    const verdict = await s.runPod({ image: pushed.ref });
    ranToCompletion(verdict);
    if (verdict.kind !== 'completed') return;
    expect(verdict.exitCode).toBe(0);
    const log = await s.log(verdict.pod);
    expect(log).toContain('SUCCESS');
    expect(log).toContain(`pullcheck-marker platform=${platformString(hostPlatform())} build=${test.buildId}`);
    expect(verdict.pod.status?.containerStatuses?.[0]?.imageID).toContain(pushed.digest);
  });

  scenario(getEnv, 'smoke/private-image-without-credentials-fails', 'a pod without credentials cannot pull from the htpasswd registry: ErrImagePull, unauthorized', async (s) => {
    const test = await echoImage(hostPlatform(), s.env.logger);
    const pushed = await s.push(s.env.registry('private'), test.image);
    const verdict = await s.runPod({ name: 'no-creds', image: pushed.ref });
    expect(verdict.kind).toBe('pull-failed');
    if (verdict.kind !== 'pull-failed') return;
    expect(PULL_FAILED_REASONS).toContain(verdict.reason);
    const failed = await waitForEvent(s.env.cluster.kube, s.namespace, 'no-creds', EventReason.Failed, /Failed to pull image/);
    expect(failed.message).toMatch(UNAUTHORIZED);
  });
});
