// The Engine API's attached stream split into stdout and stderr, and when the CLI is used instead.
import { demultiplex, engineSocket } from '../helpers/infra/dockerexec.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('demultiplex', () => {
  it('splits frames by stream, in order', () => {
    const d = demultiplex(Buffer.concat([frame(1, 'a'), frame(2, 'x'), frame(1, 'bc')]));
    expect(d.stdout.toString()).toBe('abc');
    expect(d.stderr.toString()).toBe('x');
    expect(d.rest.length).toBe(0);
  });

  it('keeps a frame cut by the end of a chunk for the next one', () => {
    const whole = Buffer.concat([frame(1, 'hello'), frame(2, 'world')]);
    const first = demultiplex(whole.subarray(0, 17));
    expect(first.stdout.toString()).toBe('hello');
    expect(first.stderr.length).toBe(0);
    const second = demultiplex(Buffer.concat([first.rest, whole.subarray(17)]));
    expect(second.stderr.toString()).toBe('world');
    expect(second.rest.length).toBe(0);
  });
});

describe('engineSocket', () => {
  it('leaves a daemon that is not a local socket to the CLI', () => {
    expect(engineSocket('tcp://127.0.0.1:2375')).toBeUndefined();
    expect(engineSocket('ssh://somewhere')).toBeUndefined();
    expect(engineSocket('npipe:////./pipe/docker_engine')).toBeUndefined();
  });

  it('takes a unix endpoint only where its socket is', () => {
    expect(engineSocket('unix:///nonexistent/docker.sock')).toBeUndefined();
    expect(engineSocket('unix:///dev/null')).toBe('/dev/null');
  });
});
