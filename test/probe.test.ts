import { describe, expect, it } from '@jest/globals';
import { explainingFinding, OWN_REGISTRIES, probeKey, pullCause } from '../helpers/posture/probe.ts';

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

  it('explains a failure only by a registry the scenario used, on a node its pods ran on (or the registry itself)', () => {
    const onWorker2 = { nodes: ['w2', 'w3'], registry: OWN_REGISTRIES, line: 'w2 cannot pull' };
    const vendor = { nodes: [], registry: 'v.example', line: 'v.example serves anyone' };
    expect(explainingFinding([onWorker2], [OWN_REGISTRIES], ['w1'])).toBeUndefined();
    expect(explainingFinding([onWorker2], ['v.example'], ['w2'])).toBeUndefined();
    expect(explainingFinding([onWorker2], [OWN_REGISTRIES], ['w1', 'w2'])).toBe(onWorker2);
    expect(explainingFinding([onWorker2, vendor], ['v.example'], [])).toBe(vendor);
  });
});
