import { describe, expect, it } from '@jest/globals';
import { formatTranscript, HttpTranscript } from '../helpers/registry/transcript.ts';

describe("the HTTP transcript of pullcheck's registry client (a vendor registry's evidence)", () => {
  it('shows method, URL, status and the telling headers, never a credential', () => {
    const t = new HttpTranscript();
    const basic = `Basic ${Buffer.from('u:transcript-canary').toString('base64')}`;
    t.record({
      method: 'DELETE',
      url: new URL('https://r.example:5000/v2/p/a/manifests/t1'),
      requestHeaders: { authorization: basic, 'content-length': '0' },
      status: 405,
      responseHeaders: { 'content-type': 'application/json', date: 'x' },
      body: Buffer.from('{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}\n'),
    });
    t.record({
      method: 'GET',
      url: new URL('https://blobs.example/x?X-Amz-Signature=abc&X-Amz-Credential=def&part=1'),
      requestHeaders: {},
      error: new Error('connect ECONNREFUSED'),
    });
    const text = formatTranscript(t.since(0));
    expect(text).toContain('> DELETE https://r.example:5000/v2/p/a/manifests/t1');
    expect(text).toContain('  > authorization: Basic <redacted>');
    expect(text).toContain('  < 405');
    expect(text).toContain('  < content-type: application/json');
    expect(text).toContain('"code":"UNSUPPORTED"');
    expect(text).toContain('(no answer: connect ECONNREFUSED)');
    expect(text).not.toContain('transcript-canary');
    expect(text).not.toContain(basic.split(' ')[1]);
    expect(text).not.toMatch(/abc|def/);
    expect(text).not.toContain('content-length');
    expect(text).not.toContain('date:');
  });

  it("gives a scenario its own window of a suite's shared client", () => {
    const t = new HttpTranscript();
    t.record({ method: 'GET', url: new URL('https://r/v2/'), requestHeaders: {}, status: 200 });
    const later = Date.now() + 60_000;
    expect(t.since(later)).toEqual([]);
    expect(t.since(0)).toHaveLength(1);
  });
});
