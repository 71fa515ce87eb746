import type { Kube } from '../helpers/cluster/kube.ts';
import { claim, expectRan } from '../helpers/framework/expectations.ts';
import { logTail } from '../helpers/framework/pods.ts';

describe('claim', () => {
  it('passes silently when the check holds, without wording the failure', () => {
    let worded = 0;
    expect(() =>
      claim(true, () => {
        worded++;
        return 'never read';
      }),
    ).not.toThrow();
    expect(worded).toBe(0);
  });

  it('fails with exactly the sentence, given or worded on failure', () => {
    const status: number = 200;
    const sentence = `the htpasswd registry reg:5000 must refuse a wrong password with 401, but GET /v2/ answered ${status}`;
    expect(() => claim(status === 401, sentence)).toThrow(new Error(sentence));
    expect(() => claim(status === 401, () => sentence)).toThrow(new Error(sentence));
  });

  it('narrows like an assertion', () => {
    const value: string | undefined = ['x'].find((v) => v === 'x');
    claim(value !== undefined, 'test setup: the value is there');
    expect(value.length).toBe(1);
  });
});

describe('expectRan', () => {
  // Only the log read is exercised: the pod is what a watch saw, the log what the API server answers.
  const pod = { metadata: { namespace: 'ns', name: 'p' }, spec: { nodeName: 'w1', containers: [{ name: 'main', image: 'reg:5000/r:t' }] } };
  const kubeLogging = (log: string) => ({ core: { readNamespacedPodLog: async () => log } }) as unknown as Kube;

  const ended = (message?: string) => ({
    ...pod,
    status: {
      containerStatuses: [
        {
          name: 'main',
          image: 'reg:5000/r:t',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, ...(message ? { message } : {}) } },
        },
      ],
    },
  });

  it('names an empty log as the runtime losing the output, not as another image', async () => {
    await expect(expectRan(kubeLogging(''), { kind: 'completed', pod: ended(), exitCode: 0 }, { buildId: 'b1' })).rejects.toThrow(
      /^pod ns\/p on w1 ran reg:5000\/r:t and exited 0, but its log stayed empty \(read again for 10 s\): the runtime kept none of its output, and its termination message \(empty\) lacks the marker "build=b1": nothing proves which image ran$/,
    );
  }, 20_000);

  it("takes the marker from the termination message when the runtime kept no output, and not another image's", async () => {
    const marker = (build: string) => `pullcheck-marker platform=linux/amd64 build=${build}\n`;
    await expect(
      expectRan(kubeLogging(''), { kind: 'completed', pod: ended(marker('b1')), exitCode: 0 }, { buildId: 'b1' }),
    ).resolves.toBeDefined();
    await expect(
      expectRan(kubeLogging(''), { kind: 'completed', pod: ended(marker('other')), exitCode: 0 }, { buildId: 'b1' }),
    ).rejects.toThrow(/its termination message \(pullcheck-marker platform=linux\/amd64 build=other\) lacks the marker "build=b1"/);
    // A log there is the proof: a marker in the termination message does not excuse a log naming another image.
    await expect(
      expectRan(
        kubeLogging(`SUCCESS\n${marker('other')}`),
        { kind: 'completed', pod: ended(marker('b1')), exitCode: 0 },
        { buildId: 'b1' },
      ),
    ).rejects.toThrow(/its log lacks "build=b1"/);
  }, 60_000);

  it('names another image when the log lacks the marker', async () => {
    await expect(
      expectRan(
        kubeLogging('SUCCESS\npullcheck-marker platform=linux/amd64 build=other\n'),
        { kind: 'completed', pod, exitCode: 0 },
        { buildId: 'b1' },
      ),
    ).rejects.toThrow(/but not the image pushed for this scenario \(its log lacks "build=b1"\)/);
  }, 20_000);
});

describe('logTail', () => {
  it('keeps the last three lines of a log, one line', () => {
    expect(logTail('a\nb\nc\nd\n')).toBe('b | c | d');
  });

  it("names an empty log as the runtime's loss, not as a marker missing", () => {
    expect(logTail('  \n')).toMatch(/^\(empty log, read again for 10 s: the runtime kept none of the container's output\)$/);
  });
});
