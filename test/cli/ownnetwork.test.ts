// A network of pullcheck's own with a subnet it names (for fixed addresses), against the real
// Docker Engine, when Docker's own pools have handed out 172.31.0.0/16, over every candidate subnet:
// Docker hands pools out in turn, so a daemon that has made many networks gets there.
import { randomBytes } from 'node:crypto';
import { docker } from '../../helpers/infra/docker.ts';
import { ownedLabelArgs } from '../../helpers/infra/sweep.ts';
import { cidrRange, createOwnNetwork } from '../../helpers/registry/standalone.ts';

const id = randomBytes(3).toString('hex');

describe("a network of pullcheck's own", () => {
  const blocker = `pullcheck-ownnet-blocker-${id}`;
  const mine = `pullcheck-ownnet-${id}`;
  let blocked = false;

  afterAll(async () => {
    await docker(['network', 'rm', mine], { allowFailure: true });
    if (blocked) await docker(['network', 'rm', blocker], { allowFailure: true });
  });

  it('takes a subnet from Docker and names it when every candidate overlaps a network in use', async () => {
    // Held only as long as this test, by a live owner: the sweep leaves it to us.
    blocked =
      (await docker(['network', 'create', '--subnet', '172.31.0.0/16', ...ownedLabelArgs(), blocker], { allowFailure: true })).exitCode ===
      0;
    const network = await createOwnNetwork(mine, ownedLabelArgs());
    const range = cidrRange(network.subnet);
    const blockerRange = cidrRange('172.31.0.0/16');
    expect(range).toBeDefined();
    if (blocked && range && blockerRange) expect(range.first > blockerRange.last || range.last < blockerRange.first).toBe(true);
    const { stdout } = await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', mine]);
    expect(stdout.trim()).toBe(`${network.subnet} ${network.gateway}`);
  });
});
