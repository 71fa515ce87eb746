// `pullcheck registry serve` (helpers/run/serve.ts, helpers/registry/standalone.ts): the --kind
// check, the certify command it prints, and the subnet it picks for the registry's own network.
import { certificateHosts, containerOn } from '../helpers/registry/registry.ts';
import {
  addressIn,
  CANDIDATE_SUBNETS,
  certifyCommand,
  cidrRange,
  freeSubnets,
  publicPrefixOf,
  STANDALONE_KINDS,
  shellWord,
  subnetsOf,
} from '../helpers/registry/standalone.ts';
import { UsageError } from '../helpers/run/options.ts';
import { missingClusterMessage, standaloneKindArg } from '../helpers/run/serve.ts';

describe('--kind', () => {
  it('takes each kind pullcheck starts', () => {
    for (const k of STANDALONE_KINDS) expect(standaloneKindArg(k)).toBe(k);
  });

  it('refuses another, or none, in one line naming every choice', () => {
    for (const text of ['harbor', '', 'GGCR', undefined]) {
      let thrown: unknown;
      try {
        standaloneKindArg(text);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(UsageError);
      const message = (thrown as Error).message;
      expect(message).not.toContain('\n');
      for (const k of STANDALONE_KINDS) expect(message).toContain(k);
    }
  });

  it('says how to start a missing cluster, with the flags that named it', () => {
    expect(missingClusterMessage('pullcheck', {})).toMatch(/no kind cluster pullcheck .*start it with `npx pullcheck cluster up`$/);
    expect(missingClusterMessage('pc-serve', { name: 'pc-serve' })).toContain('`npx pullcheck cluster up --name pc-serve`');
  });
});

describe('the printed certify command', () => {
  const base = { url: 'https://172.31.200.10:5000', caFile: '/tmp/pullcheck-ca-x/ca.crt' };

  it('reads the password from a file on standard input, never from the line', () => {
    const line = certifyCommand({ ...base, username: 'user-distribution-htpasswd', passwordFile: '/tmp/pullcheck-secret-a/password' });
    expect(line).toBe(
      'npx pullcheck certify --registry https://172.31.200.10:5000 --registry-ca /tmp/pullcheck-ca-x/ca.crt --registry-username user-distribution-htpasswd --registry-password-stdin < /tmp/pullcheck-secret-a/password',
    );
    expect(line.split('\n')).toHaveLength(1);
  });

  it('names the existing cluster certify is to use, and the public namespace where the kind has one', () => {
    const line = certifyCommand({ ...base, name: 'pc-serve', username: 'u', passwordFile: '/p', publicPrefix: 'public' });
    expect(line).toContain(' --name pc-serve ');
    expect(line).toContain(' --registry-public-prefix public ');
    expect(line.endsWith('< /p')).toBe(true);
  });

  it('has no credentials for an anonymous kind', () => {
    expect(certifyCommand(base)).toBe(
      'npx pullcheck certify --registry https://172.31.200.10:5000 --registry-ca /tmp/pullcheck-ca-x/ca.crt',
    );
  });

  it('quotes what a shell would split', () => {
    expect(shellWord('/tmp/a b/ca.crt')).toBe("'/tmp/a b/ca.crt'");
    expect(shellWord("it's")).toBe(`'it'"'"'s'`);
    expect(shellWord('https://1.2.3.4:5000')).toBe('https://1.2.3.4:5000');
  });

  it('gives the token kind its anonymous namespace, the others none', () => {
    expect(publicPrefixOf('distribution-token')).toBe('public');
    expect(publicPrefixOf('distribution-htpasswd')).toBeUndefined();
    expect(publicPrefixOf('ggcr')).toBeUndefined();
  });
});

describe("the registry network's subnet", () => {
  it('reads every subnet docker network inspect lists, IPv6 too', () => {
    const json = JSON.stringify([
      { Name: 'bridge', IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } },
      { Name: 'pullcheck', IPAM: { Config: [{ Subnet: 'fc00:f853:ccd:e793::/64' }, { Subnet: '172.18.0.0/16' }] } },
      { Name: 'none', IPAM: { Config: null } },
      { Name: 'host', IPAM: {} },
    ]);
    expect(subnetsOf(json)).toEqual(['172.17.0.0/16', 'fc00:f853:ccd:e793::/64', '172.18.0.0/16']);
    expect(subnetsOf('')).toEqual([]);
  });

  it('skips candidates any subnet in use overlaps, whatever its size', () => {
    expect(freeSubnets([])[0]).toBe('172.31.200.0/24');
    expect(freeSubnets(['172.31.200.0/24', '172.31.201.128/25'])[0]).toBe('172.31.202.0/24');
    // A /16 docker took from its pool covers every candidate.
    expect(freeSubnets(['172.31.0.0/16'])).toEqual([]);
    expect(freeSubnets(['fc00::/64', '10.0.0.0/8'])).toHaveLength(CANDIDATE_SUBNETS.length);
  });

  it('parses IPv4 CIDRs to their range, nothing else', () => {
    expect(cidrRange('172.31.200.0/24')).toEqual({ first: 0xac1fc800, last: 0xac1fc8ff });
    expect(cidrRange('172.31.200.7/24')).toEqual(cidrRange('172.31.200.0/24'));
    expect(cidrRange('fc00::/64')).toBeUndefined();
    expect(cidrRange('300.1.1.1/24')).toBeUndefined();
  });

  it('gives fixed addresses inside the subnet', () => {
    expect(addressIn('172.31.213.0/24', 10)).toBe('172.31.213.10');
    expect(addressIn('172.31.213.0/24', 11)).toBe('172.31.213.11');
    expect(() => addressIn('172.31.213.0/30', 10)).toThrow(/no address 10/);
  });
});

describe('a registry at a fixed address', () => {
  it('asks docker for the address and the alias on that network in the create request', () => {
    const c = containerOn('img', 'net', 'alias', '172.31.200.10') as unknown as { createOpts: Record<string, unknown> };
    expect(c.createOpts['NetworkingConfig']).toEqual({
      EndpointsConfig: { net: { IPAMConfig: { IPv4Address: '172.31.200.10' }, Aliases: ['alias'] } },
    });
  });

  it('has its certificate name the address as well as the alias and loopback', () => {
    expect(certificateHosts('pullcheck-reg-x-a', '172.31.200.10')).toEqual([
      'pullcheck-reg-x-a',
      'localhost',
      '127.0.0.1',
      '172.31.200.10',
    ]);
    expect(certificateHosts('pullcheck-reg-x-a')).toEqual(['pullcheck-reg-x-a', 'localhost', '127.0.0.1']);
  });
});
