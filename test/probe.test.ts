import { describe, expect, it } from '@jest/globals';
import { blameRegistries, explainingFinding, OWN_REGISTRIES, type ProbeFinding, probeKey, pullCause } from '../helpers/posture/probe.ts';

describe('the pull probe', () => {
  it("keeps the runtime's own cause: the TLS error whole, else the last two parts", () => {
    expect(
      pullCause(
        'Failed to pull image "r:5000/a:1": failed to pull and unpack image "r:5000/a:1": failed to resolve reference "r:5000/a:1": failed to do request: Head "https://r:5000/v2/a/manifests/1": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      ),
    ).toBe('tls: failed to verify certificate: x509: certificate signed by unknown authority');
    expect(pullCause('Failed to pull image "x": rpc error: code = NotFound desc = failed to resolve reference "x": x: not found')).toBe(
      'x: not found',
    );
  });

  it('names registries by kind: every registry pullcheck starts is one key, a vendor is its host', () => {
    expect(probeKey({ local: true, host: 'pullcheck-reg-abc-private:5000' })).toBe(OWN_REGISTRIES);
    expect(probeKey({ local: false, host: 'registry.example.com' })).toBe('registry.example.com');
  });

  it('explains a failure only by a registry the scenario used, on a node its own pods showed the same cause on (or the registry itself)', () => {
    const onWorker2: ProbeFinding = {
      source: 'probe',
      cause: 'cannot-pull',
      observed: 'pull-failed:tls',
      nodes: ['w2', 'w3'],
      registry: OWN_REGISTRIES,
      line: 'w2, w3 cannot pull',
      fails: true,
    };
    const vendor: ProbeFinding = {
      source: 'probe',
      cause: 'serves-anyone',
      capability: 'auth-enforced',
      nodes: [],
      registry: 'v.example',
      line: 'v.example serves anyone',
      fails: true,
    };
    const tlsOn = (node: string) => ({ pod: 'pod-1', observed: ['admitted:Always', 'pull-failed:tls'], node });
    const ranOn = (node: string) => ({ pod: 'pod-2', observed: ['admitted:Always', 'pulled', 'ran'], node });
    const refusedOn = (node: string) => ({ pod: 'pod-3', observed: ['admitted:Always', 'pull-failed:unauthorized'], node });
    expect(explainingFinding([onWorker2], [OWN_REGISTRIES], [tlsOn('w1')])).toBeUndefined();
    expect(explainingFinding([onWorker2], ['v.example'], [tlsOn('w2')])).toBeUndefined();
    expect(explainingFinding([onWorker2], [OWN_REGISTRIES], [tlsOn('w1'), tlsOn('w2')])).toBe(onWorker2);
    // On the flagged node, but its pod failed for another cause: the scenario's own failure.
    expect(explainingFinding([onWorker2], [OWN_REGISTRIES], [refusedOn('w2')])).toBeUndefined();
    expect(explainingFinding([onWorker2, vendor], ['v.example'], [ranOn('w1')])).toBe(vendor);
    expect(explainingFinding([vendor], ['v.example'], [refusedOn('w1')])).toBeUndefined();
  });

  it('blames the registry when every node fails it the same way and pulls from another', () => {
    const nodes = ['cp', 'w1', 'w2'];
    const failing: ProbeFinding = {
      source: 'probe',
      cause: 'cannot-pull',
      observed: 'pull-failed:unauthorized',
      nodes,
      registry: 'v.example',
      pull: { label: 'the registry v.example', cause: '401 invalid_token' },
      line: 'cp, w1, w2 cannot pull from the registry v.example: 401 invalid_token',
      fails: true,
    };
    const [blamed] = blameRegistries([failing], nodes, [OWN_REGISTRIES, 'v.example']);
    expect(blamed).toMatchObject({ cause: 'registry-refuses', nodes: [], capability: 'credentials-accepted', registry: 'v.example' });
    expect(blamed?.line).toBe(
      'every node fails to pull from the registry v.example: 401 invalid_token, and each pulls from pullcheck: the registry is at fault, not the nodes',
    );
    // No other registry pulled: the nodes stay named.
    expect(blameRegistries([failing], nodes, ['v.example'])).toEqual([failing]);
    // Some nodes only: theirs.
    expect(blameRegistries([{ ...failing, nodes: ['w1'] }], nodes, [OWN_REGISTRIES, 'v.example'])[0]?.nodes).toEqual(['w1']);
  });
});
