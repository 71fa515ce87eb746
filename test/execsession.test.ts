// The exec session's framing (helpers/infra/execsession.ts): what `nodeagent serve` reads and writes.
import { bootstrapArgv, encodeFrame, FrameReader, SERVER_FILE_PREFIX } from '../helpers/infra/execsession.ts';

describe('exec session frames', () => {
  it('a frame is its JSON length (4 bytes, big-endian), then the JSON', () => {
    const frame = encodeFrame({ id: 1, argv: ['true'] });
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(JSON.parse(frame.subarray(4).toString('utf8'))).toEqual({ id: 1, argv: ['true'] });
  });

  it('reads frames however the stream cuts them, and keeps what is not whole yet', () => {
    const values = [
      { id: 0, ready: true, exit: 0 },
      { id: 7, stdout: 'aGk=', exit: 3 },
      { id: 8, argv: ['é', '$x'] },
    ];
    const bytes = Buffer.concat(values.map(encodeFrame));
    for (const cut of [1, 3, 4, 5, 17, bytes.length - 1]) {
      const reader = new FrameReader();
      const read = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(read).toEqual(values);
    }
    const reader = new FrameReader();
    expect(reader.push(bytes.subarray(0, 6))).toEqual([]);
  });

  it("starts the server from a file where kind's nodes can run one (not /tmp or /run: noexec), and removes it whatever happens", () => {
    const [sh, c, script, name, size] = bootstrapArgv(1234);
    expect([sh, c, name, size]).toEqual(['sh', '-c', 'sh', '1234']);
    expect(SERVER_FILE_PREFIX.startsWith('/var/tmp/')).toBe(true);
    expect(script).toContain(`mktemp ${SERVER_FILE_PREFIX}XXXXXX`);
    expect(script).toContain('head -c "$1"');
    expect(script).toMatch(/serve --remove "\$f"; rc=\$\?; rm -f "\$f"; exit \$rc$/);
  });
});
