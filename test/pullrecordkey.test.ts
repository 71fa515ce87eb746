// Where kubelet filed a pull record: under the image ID it looks records up by, or under the
// name@digest a runtime's PullImage answered (CRI-O). A node is a map of files here; the record's
// content is kubelet v1.37.2's ImagePulledRecord shape.
import { describe, expect, it } from '@jest/globals';
import { pulledRecordPath, pullRecordUnderPulledRef, readPullRecord, recordUnderPulledRefLine } from '../helpers/kubelet/kep2535.ts';
import type { NodeAccess } from '../helpers/node/access.ts';

const ROOT = '/var/lib/kubelet';
const REF = 'reg:5000/pullcheck/app:v1';
const DIGEST = 'sha256:ec035045aaaa';

function nodeWith(files: Record<string, string>): NodeAccess {
  return {
    how: 'docker-exec',
    exec: async (_node, argv) => {
      const path = argv.at(-1) ?? '';
      const content = files[path];
      return content === undefined ? { stdout: '', stderr: '', exitCode: 3 } : { stdout: content, stderr: '', exitCode: 0 };
    },
    writeFile: async () => {},
  };
}

function record(imageRef: string): string {
  return JSON.stringify({
    kind: 'ImagePulledRecord',
    apiVersion: 'kubelet.config.k8s.io/v1alpha1',
    imageRef,
    credentialMapping: {
      'reg:5000/pullcheck/app': {
        kubernetesSecrets: [{ uid: 'u1', namespace: 'ns', name: 'regcred', credentialHash: 'abc' }],
      },
    },
  });
}

describe('a pull record filed under PullImage’s name@digest', () => {
  it('is found there, with the Secret it lists, when none is under the image ID', async () => {
    const key = `reg:5000/pullcheck/app@${DIGEST}`;
    const nodes = nodeWith({ [pulledRecordPath(ROOT, key)]: record(key) });
    expect(await readPullRecord(nodes, 'w', ROOT, 'c2fb1b7b', REF)).toEqual({ kind: 'no-record' });
    const found = await pullRecordUnderPulledRef(nodes, 'w', ROOT, REF, DIGEST);
    expect(found?.path).toBe(pulledRecordPath(ROOT, key));
    expect(found?.history.kind === 'record' && found.history.credentials?.secrets.map((s) => s.name)).toEqual(['regcred']);
  });

  it('is not claimed when kubelet has no record of the pull anywhere', async () => {
    expect(await pullRecordUnderPulledRef(nodeWith({}), 'w', ROOT, REF, DIGEST)).toBeUndefined();
  });

  it('is named in one line with both keys and what followed', () => {
    const line = recordUnderPulledRefLine({ node: 'w', ref: REF, imageRef: 'c2fb1b7b', path: '/p', consequence: 'X' });
    expect(line).toBe(
      "w: kubelet filed its pull record of reg:5000/pullcheck/app:v1 under the ref the runtime's PullImage answered (/p), not under the image's ID c2fb1b7b it looks records up by, so X",
    );
  });
});
