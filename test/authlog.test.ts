import { nodeAttemptsOn, parseAuthAttempts } from '../helpers/registry/authlog.ts';

// Lines as distribution v3.1.2 (htpasswd, JSON formatter) writes them, trimmed of unrelated fields.
const LOG = [
  '{"http.request.method":"GET","http.request.uri":"/v2/foo/manifests/x","http.request.useragent":"curl/7.88.1","level":"warning","msg":"error authorizing context: basic authentication challenge for realm \\"pullcheck\\": invalid authorization credential","time":"2026-11-29T00:18:54.033763191Z","vars.name":"foo"}',
  '127.0.0.1 - - [29/Nov/2026:00:18:54 +0000] "GET /v2/foo/manifests/x HTTP/1.1" 401 146 "" "curl/7.88.1"',
  '{"error":"crypto/bcrypt: hashedPassword is not the hash of the given password","http.request.uri":"/v2/foo/manifests/x","http.request.useragent":"containerd/v2.3.4","level":"info","msg":"user failed to authenticate","time":"2026-11-29T00:18:54.315184425Z","username":"alice","vars.name":"foo"}',
  '{"auth.user.name":"alice","http.request.uri":"/v2/","http.request.useragent":"containerd/v2.3.4","level":"info","msg":"authorized request","time":"2026-11-29T00:18:54.468446519Z"}',
  '{"auth.user.name":"alice","http.request.uri":"/v2/foo/manifests/x","http.request.useragent":"containerd/v2.3.4","level":"info","msg":"authorized request","time":"2026-11-29T00:18:54.632686389Z","vars.name":"foo"}',
  '{"auth.user.name":"alice","http.request.uri":"/v2/foo/manifests/x","http.request.useragent":"pullcheck","level":"info","msg":"authorized request","time":"2026-11-29T00:18:55Z","vars.name":"foo"}',
].join('\n');

describe("the registry's record of credentials", () => {
  it('reads refused and accepted Basic credentials with their user, in log order; challenges without credentials are not attempts', () => {
    expect(parseAuthAttempts(LOG).map((a) => `${a.username} ${a.accepted} ${a.uri} ${a.repository ?? '-'}`)).toEqual([
      'alice false /v2/foo/manifests/x foo',
      'alice true /v2/ -',
      'alice true /v2/foo/manifests/x foo',
      'alice true /v2/foo/manifests/x foo',
    ]);
  });

  it("keeps the node runtime's attempts on one repository since a time", () => {
    const mine = nodeAttemptsOn(parseAuthAttempts(LOG), 'foo', new Date('2026-11-29T00:18:54.3Z'));
    expect(mine.map((a) => a.accepted)).toEqual([false, true]);
    expect(nodeAttemptsOn(parseAuthAttempts(LOG), 'foo', new Date('2026-11-29T00:18:54.4Z')).map((a) => a.accepted)).toEqual([true]);
  });
});
