// A command on a kind node through the Engine API (helpers/infra/dockerexec.ts) against the real
// Docker Engine, beside the same command through the docker CLI: the same output, exit code and
// refusal, with input from a string or a file; and through an exec session (helpers/infra/
// execsession.ts), beside the Engine API's own exec. The container is made of this host's own sh
// and coreutils (no image can be pulled here).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { hostPlatform } from '../../helpers/images/oci.ts';
import { programBinary } from '../../helpers/images/testimages.ts';
import { docker } from '../../helpers/infra/docker.ts';
import { dockerExec, engineSocket } from '../../helpers/infra/dockerexec.ts';
import { ExecSession, SERVER_FILE_PREFIX } from '../../helpers/infra/execsession.ts';
import { Logger } from '../../helpers/infra/log.ts';
import { ownedLabelArgs } from '../../helpers/infra/sweep.ts';
import { KindNodeAccess } from '../../helpers/node/access.ts';

const id = randomBytes(3).toString('hex');
const IMAGE = `pullcheck/hostsh:dockerexec-test-${id}`;
const NAME = `pullcheck-dockerexec-${id}`;
const TOOLS = ['sh', 'cat', 'wc', 'sleep', 'head', 'base64', 'tr', 'mktemp', 'chmod', 'rm', 'ls'];

/** An image of this host's sh and a few coreutils with the libraries they load. */
async function buildHostShImage(dir: string): Promise<void> {
  const root = join(dir, 'root');
  const files = new Set<string>();
  for (const tool of TOOLS) {
    const path = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(path, join(root, 'bin', tool));
    const libs = (await execa('ldd', [path], { reject: false })).stdout.match(/\/\S+/g) ?? [];
    for (const l of libs) files.add(l);
  }
  for (const f of files) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
  }
  mkdirSync(join(root, 'var/tmp'), { recursive: true, mode: 0o1777 });
  await execa('sh', ['-c', `tar -C "$1" -cf - . | docker import - "$2"`, 'sh', root, IMAGE]);
}

describe('docker exec through the Engine API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pullcheck-dockerexec-'));

  beforeAll(async () => {
    await buildHostShImage(dir);
    await docker(['run', '-d', '--name', NAME, '--network', 'none', ...ownedLabelArgs(), IMAGE, '/bin/sleep', '600']);
  }, 60_000);

  afterAll(async () => {
    await docker(['rm', '-f', NAME], { allowFailure: true });
    await docker(['image', 'rm', IMAGE], { allowFailure: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the daemon's local socket (not the CLI)", async () => {
    const endpoint = await docker(['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}']);
    expect(engineSocket(endpoint.stdout.trim())).toBeDefined();
  });

  const cases: [string, string[], { input?: string }][] = [
    ['output on both streams and an exit code', ['sh', '-c', 'echo out; echo err >&2; exit 3'], {}],
    ['input from a string, to its end', ['sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' }],
    ['empty input', ['sh', '-c', 'wc -c'], { input: '' }],
    ['large output', ['sh', '-c', 'head -c 3000000 /dev/zero | base64'], {}],
    ['argv passed as it is, no shell between', ['sh', '-c', 'printf "%s|" "$@"', 'sh', 'a b', '$HOME', "'q'"], {}],
    ['a program that is not there', ['no-such-program'], {}],
  ];
  it.each(cases)('%s: as the CLI', async (_what, argv, o) => {
    const api = await dockerExec(NAME, argv, { ...o, allowFailure: true });
    const cli = await docker(['exec', ...(o.input !== undefined ? ['-i'] : []), NAME, ...argv], { ...o, allowFailure: true });
    expect(api).toEqual(cli);
  });

  describe('through one exec session', () => {
    const logger = new Logger(join(dir, 'session.log'));
    let session: ExecSession | undefined;
    const shown = (argv: string[]) => ['docker', 'exec', NAME, ...argv];

    beforeAll(async () => {
      session = await ExecSession.open(NAME, await programBinary('nodeagent', hostPlatform(), logger), logger);
    }, 120_000);
    afterAll(() => session?.close());

    it('starts, and leaves no file of its server in the container', async () => {
      expect(session?.open).toBe(true);
      const listing = await dockerExec(NAME, ['ls', '-A', '/var/tmp']);
      expect(listing.stdout).not.toContain(SERVER_FILE_PREFIX.split('/').pop());
    });

    it.each(cases)('%s: as its own exec', async (_what, argv, o) => {
      const own = await dockerExec(NAME, argv, { ...o, allowFailure: true });
      const through = await session?.exec(argv, { ...o, allowFailure: true, shown: shown(argv) });
      expect(through).toEqual(own);
    });

    it('runs commands side by side, each answer to its own command', async () => {
      const n = 20;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          session?.exec(['sh', '-c', 'sleep 0.$(( $1 % 3 )); echo "$1"; cat', 'sh', String(i)], { input: `in${i}`, shown: [] }),
        ),
      );
      expect(results.map((r) => r?.stdout)).toEqual(Array.from({ length: n }, (_, i) => `${i}\nin${i}`));
    });

    it('throws as its own exec would for a failed command, and after its end', async () => {
      const argv = ['sh', '-c', 'echo why >&2; exit 4'];
      await expect(session?.exec(argv, { shown: shown(argv) })).rejects.toThrow(
        new RegExp(`^command failed \\(exit 4\\): docker exec ${NAME} sh -c echo why >&2; exit 4\\nwhy$`),
      );
      const other = await ExecSession.open(NAME, await programBinary('nodeagent', hostPlatform(), logger), logger);
      other?.close();
      await expect(other?.exec(['true'], { shown: shown(['true']) })).rejects.toThrow(/exec session .* was closed/);
    });

    /** Host PIDs of the session servers running in the container. */
    const servers = async () =>
      (await docker(['top', NAME, '-o', 'pid,args'])).stdout
        .split('\n')
        .filter((l) => /nodeagent\.\w+ serve --remove/.test(l))
        .map((l) => l.trim().split(/\s+/)[0] ?? '');

    it('KindNodeAccess: commands that come at once share one session, and one opens again after it ended', async () => {
      const before = await servers();
      const access = new KindNodeAccess(logger);
      const many = () => Promise.all(Array.from({ length: 5 }, (_, i) => access.exec(NAME, ['sh', '-c', `echo ${i}`])));
      expect((await many()).map((r) => r.stdout)).toEqual(['0', '1', '2', '3', '4']);
      const opened = (await servers()).filter((p) => !before.includes(p));
      expect(opened).toHaveLength(1);
      await execa('kill', opened);
      await new Promise((r) => setTimeout(r, 500));
      expect((await many()).map((r) => r.stdout)).toEqual(['0', '1', '2', '3', '4']);
      expect((await servers()).filter((p) => !before.includes(p))).toHaveLength(1);
      access.close();
    });
  });

  it('streams a file to stdin', async () => {
    const file = join(dir, 'input');
    writeFileSync(file, Buffer.alloc(8 * 1024 * 1024 + 3, 7));
    expect((await dockerExec(NAME, ['sh', '-c', 'wc -c'], { inputFile: file })).stdout.trim()).toBe(String(8 * 1024 * 1024 + 3));
  });

  it('throws what the CLI prints, with its argv, for a failed command and for a container that is not there', async () => {
    await expect(dockerExec(NAME, ['sh', '-c', 'echo why >&2; exit 4'])).rejects.toThrow(
      new RegExp(`^command failed \\(exit 4\\): docker exec ${NAME} sh -c echo why >&2; exit 4\\nwhy$`),
    );
    const gone = `${NAME}-gone`;
    const cli = await docker(['exec', gone, 'true'], { allowFailure: true });
    await expect(dockerExec(gone, ['true'])).rejects.toThrow(
      `command failed (exit ${cli.exitCode}): docker exec ${gone} true\n${cli.stderr}`,
    );
  });

  it('gives up after its timeout', async () => {
    await expect(dockerExec(NAME, ['sleep', '5'], { timeoutMs: 300 })).rejects.toThrow(/timed out after 300ms/);
  });
});
