import { owedFirst, owedMarkerPath, owedNodes, owedRestart, takeOwedRestart } from '../helpers/kubelet/owedrestart.ts';
import { entryHeader, parseEntry } from '../helpers/node/journal.ts';

describe('a kubelet restart owed to a node', () => {
  it('is journaled under a path the journal takes, one per process, whose undo restarts kubelet', () => {
    expect(owedMarkerPath(4242)).toBe('/var/lib/pullcheck/kubelet-restart-owed-4242');
    const header = entryHeader('file', owedMarkerPath(4242), ['kubelet']);
    const entry = parseEntry('/x/000001', `${header}\nprevious absent`);
    expect(entry?.restart).toEqual(['kubelet']);
    expect(entry?.previous).toBeUndefined();
  });

  it('is owed to no node until a scenario leaves one: nothing to take, the nodes in their order', () => {
    expect(owedNodes()).toEqual([]);
    expect(owedRestart('w1')).toBeUndefined();
    expect(takeOwedRestart('w1')).toBeUndefined();
    expect(owedFirst(['w1', 'w2'])).toEqual(['w1', 'w2']);
  });
});
