// Progress a person can follow: the heartbeat names the phase at work (not its ancestors) with its
// own last output line; under GitHub Actions each outermost phase is a group; a cold build says
// beforehand what it builds and about how long it takes here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { coldBuildLine, nodeImageSeconds, roughly, scaledSeconds } from '../helpers/build/estimate.ts';
import { heartbeatLine, Logger } from '../helpers/infra/log.ts';

function capture(): { out: Writable; lines: () => string[] } {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { out, lines: () => text.split('\n').filter(Boolean) };
}

const dirs: string[] = [];
function logFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-log-'));
  dirs.push(dir);
  return join(dir, 'x.log');
}

afterEach(() => {
  jest.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('heartbeat', () => {
  it('names only phases with no running phase inside, each with its own last line', () => {
    const now = 100_000;
    expect(
      heartbeatLine(
        [
          { name: 'v1.37.2: cluster up', started: 0, children: 1, lastLine: 'outer line' },
          { name: 'build Kubernetes v1.37.2', started: 40_000, children: 0, lastLine: 'k8s.io/kubernetes/cmd/kubelet' },
          { name: 'write component images archive', started: 90_000, children: 0, lastLine: '' },
        ],
        now,
        'some command',
      ),
    ).toBe(
      '... running: build Kubernetes v1.37.2 (60s) — k8s.io/kubernetes/cmd/kubelet; write component images archive (10s) — some command',
    );
  });

  it('a logger attributes command output to the phase it ran in, and prints the innermost phases only', async () => {
    jest.useFakeTimers({ now: 0 });
    const { out, lines } = capture();
    const logger = new Logger(logFile(), out);
    const release: (() => void)[] = [];
    const wait = () => new Promise<void>((r) => release.push(r));
    const outer = logger.phase('outer', async () => {
      await Promise.all([
        logger.phase('inner a', async () => {
          logger.detail('a: step 1\na: step 2\n');
          await wait();
        }),
        logger.phase('inner b', async () => {
          logger.detail('b: step 1\n');
          await wait();
        }),
      ]);
    });
    await jest.advanceTimersByTimeAsync(30_000);
    const beat = lines().find((l) => l.includes('... running:'));
    expect(beat).toMatch(/\.\.\. running: inner a \(30s\) — a: step 2; inner b \(30s\) — b: step 1$/);
    expect(beat).not.toMatch(/outer/);
    for (const r of release) r();
    await outer;
  });
});

describe('indentation', () => {
  it('side-by-side phases are siblings: indented by their ancestors, not by how many run at once', async () => {
    const { out, lines } = capture();
    const logger = new Logger(logFile(), out);
    await logger.phase('suite', async () => {
      let release = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      await Promise.all([
        logger.phase('registry a', async () => {
          await gate;
          logger.info('inside a');
        }),
        logger.phase('registry b', async () => {
          release();
          await logger.phase('inner b', async () => undefined);
        }),
      ]);
    });
    const shown = lines().map((l) => l.slice(9).replace(/ \([\d.]+s\)$/, ''));
    expect(shown).toEqual([
      'START suite',
      '  START registry a',
      '  START registry b',
      '    START inner b',
      '    inside a',
      '    DONE inner b',
      '  DONE registry a',
      '  DONE registry b',
      'DONE suite',
    ]);
  });
});

describe('GitHub Actions groups', () => {
  it('wraps each outermost phase in ::group::/::endgroup::, never nested', async () => {
    const { out, lines } = capture();
    const logger = new Logger(logFile(), out, { githubGroups: true });
    await logger.phase('cluster up', () => logger.phase('nodes', async () => undefined));
    await logger.phase('suites', async () => undefined).catch(() => undefined);
    const shown = lines().map((l) => l.replace(/^\d\d:\d\d:\d\d /, '').replace(/\(\d+(\.\d+)?s\)/, '(Ns)'));
    expect(shown).toEqual([
      '::group::cluster up',
      'START cluster up',
      '  START nodes',
      '  DONE nodes (Ns)',
      'DONE cluster up (Ns)',
      '::endgroup::',
      '::group::suites',
      'START suites',
      'DONE suites (Ns)',
      '::endgroup::',
    ]);
    const plain = capture();
    await new Logger(logFile(), plain.out).phase('x', async () => undefined);
    expect(plain.lines().some((l) => l.startsWith('::'))).toBe(false);
  });
});

describe('cold build estimate', () => {
  it('scales the measured figures by cores and says what it builds', () => {
    expect(scaledSeconds(600, 2)).toBe(600);
    expect(scaledSeconds(600, 4)).toBe(300);
    expect(scaledSeconds(600, 64)).toBe(200);
    expect(scaledSeconds(600, 1)).toBe(1200);
    expect(roughly(676)).toBe('~11 min');
    expect(roughly(42)).toBe('~40s');
    expect(nodeImageSeconds({ cores: 2, kubernetesCached: false })).toBe(676);
    expect(nodeImageSeconds({ cores: 2, kubernetesCached: true })).toBe(200);
    expect(
      coldBuildLine({
        what: 'node image v1.37.2',
        seconds: nodeImageSeconds({ cores: 2, kubernetesCached: false }),
        cores: 2,
        hint: '`pullcheck images build` warms a CI cache',
      }),
    ).toBe('node image v1.37.2: ~11 min on 2 cores; `pullcheck images build` warms a CI cache');
  });
});
