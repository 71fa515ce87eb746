import { nodeAttemptsOn, parseAuthAttempts } from '../helpers/registry/authlog.ts';
import { type CredentialAttempt, refusalUnproven } from '../helpers/registry/credentialrecord.ts';

const at = (s: string) => new Date(`2026-12-04T22:00:0${s}Z`);
const refused: CredentialAttempt = { time: at('1'), accepted: false, where: 'registry /v2/x/manifests/t' };
const accepted: CredentialAttempt = { time: at('2'), accepted: true, where: 'registry /v2/x/manifests/t' };

describe('a negative check proves that the credential was sent and refused', () => {
  it('holds when the registry refused the credential and never accepted it', () => {
    expect(refusalUnproven([refused, { ...refused, time: at('3') }], "alice's credential")).toBeUndefined();
  });

  it('fails when the node sent no credential at all (an anonymous pull fails the same way on the node)', () => {
    expect(refusalUnproven([], "alice's credential")).toMatch(/no record of alice's credential being presented and refused/);
  });

  it('fails when the registry accepted it, whatever failed the pull', () => {
    expect(refusalUnproven([refused, accepted], "alice's credential")).toMatch(/^the registry accepted alice's credential/);
  });

  it("reads distribution's htpasswd log: an anonymous challenge is no attempt, a wrong password is a refusal", () => {
    const log = [
      '{"http.request.uri":"/v2/x/manifests/t","http.request.useragent":"containerd/v2.3.4","level":"warning","msg":"error authorizing context: basic authentication challenge for realm \\"pullcheck\\": invalid authorization credential","time":"2026-12-04T22:00:01Z","vars.name":"x"}',
      '{"http.request.uri":"/v2/x/manifests/t","http.request.useragent":"containerd/v2.3.4","level":"info","msg":"user failed to authenticate","time":"2026-12-04T22:00:02Z","username":"alice","vars.name":"x"}',
    ].join('\n');
    const anonymousOnly = nodeAttemptsOn(parseAuthAttempts(log.split('\n')[0] ?? ''), 'x', at('0'));
    expect(
      refusalUnproven(
        anonymousOnly.map((a) => ({ time: a.time, accepted: a.accepted, where: a.uri })),
        'x',
      ),
    ).toBeDefined();
    const withPassword = nodeAttemptsOn(parseAuthAttempts(log), 'x', at('0'));
    expect(
      refusalUnproven(
        withPassword.map((a) => ({ time: a.time, accepted: a.accepted, where: a.uri })),
        'x',
      ),
    ).toBeUndefined();
  });
});
