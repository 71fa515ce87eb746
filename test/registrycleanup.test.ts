import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { cleanupLine, deletionPlan, journalPush, readJournal } from '../helpers/registry/cleanup.ts';
import { underPrefix } from '../helpers/registry/registry.ts';
import { runIdArg } from '../helpers/run/clean.ts';
import { repositoryLayoutArg } from '../helpers/run/options.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const C1 = `sha256:${'c'.repeat(64)}`;

describe("a vendor registry's push journal and cleanup", () => {
  it('reads back what was journalled, skipping a torn last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pullcheck-journal-'));
    try {
      // The target's directory need not exist yet (the probe pushes first).
      const file = join(dir, 'v1', 'registry-pushes.jsonl');
      journalPush(file, { registry: 'r:5000', repository: 'p/a', reference: 't1', digest: D1 });
      writeFileSync(file, `${JSON.stringify({ registry: 'r:5000', repository: 'p/a', reference: 't1', digest: D2 })}\n{"registry":"r:5`, {
        flag: 'a',
      });
      expect(readJournal(file).map((e) => e.digest)).toEqual([D1, D2]);
      expect(readJournal(join(dir, 'none.jsonl'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deletes tags first, then every digest newest first (an index before its children, a moved tag’s old manifest too)', () => {
    const plan = deletionPlan([
      { registry: 'r', repository: 'p/a', reference: C1, digest: C1 },
      { registry: 'r', repository: 'p/a', reference: 't', digest: D1 },
      { registry: 'r', repository: 'p/a', reference: 't', digest: D2 },
      { registry: 'r', repository: 'p/b', reference: 'u', digest: D1 },
    ]);
    expect(plan).toEqual([
      { repository: 'p/a', tags: ['t'], digests: [D2, D1, C1] },
      { repository: 'p/b', tags: ['u'], digests: [D1] },
    ]);
  });

  it('says what is left and why in one line', () => {
    expect(cleanupLine({ registry: 'r:5000', deleted: 3, left: [] })).toBe('registry r:5000: deleted the 3 manifests this run pushed');
    expect(
      cleanupLine({
        registry: 'r:5000',
        deleted: 0,
        left: [
          { repository: 'p/a', answer: '405 UNSUPPORTED' },
          { repository: 'p/b', answer: '405 UNSUPPORTED' },
        ],
      }),
    ).toBe('registry r:5000: 2 repositories of this run left (405 UNSUPPORTED), 0 manifests deleted');
  });
});

describe('repository layout', () => {
  it('nests under the prefix by default, and flattens to depth 2 with --registry-repository-layout flat', () => {
    expect(underPrefix({ repositoryPrefix: 'proj' }, 'pullcheck/smoke-x-run-1')).toBe('proj/pullcheck/smoke-x-run-1');
    expect(underPrefix({ repositoryPrefix: 'proj', repositoryLayout: 'flat' }, 'pullcheck/smoke-x-run-1')).toBe(
      'proj/pullcheck-smoke-x-run-1',
    );
    // Idempotent: a repository already under the prefix stays as it is.
    expect(underPrefix({ repositoryPrefix: 'proj', repositoryLayout: 'flat' }, 'proj/pullcheck-smoke-x-run-1')).toBe(
      'proj/pullcheck-smoke-x-run-1',
    );
    expect(underPrefix({ repositoryLayout: 'flat' }, 'pullcheck/smoke-x-run-1')).toBe('pullcheck/smoke-x-run-1');
    expect(underPrefix({ repositoryLayout: 'flat' }, 'pullcheck/a/b')).toBe('pullcheck/a-b');
    expect(underPrefix({}, 'pullcheck/a/b')).toBe('pullcheck/a/b');
  });

  it('takes flat or nested, and names both when given anything else', () => {
    expect(repositoryLayoutArg('flat')).toBe('flat');
    expect(repositoryLayoutArg('nested')).toBeUndefined();
    expect(repositoryLayoutArg(undefined)).toBeUndefined();
    expect(() => repositoryLayoutArg('deep')).toThrow(/--registry-repository-layout "deep": choose flat .* or nested/);
  });

  it('registry clean takes a run ID, nothing that leaves the report directory', () => {
    expect(runIdArg('20261204-213000-ab12')).toBe('20261204-213000-ab12');
    expect(() => runIdArg(undefined)).toThrow(/needs --run RUN/);
    expect(() => runIdArg('../etc')).toThrow(/is not a run ID/);
    expect(() => runIdArg('a/b')).toThrow(/is not a run ID/);
  });
});
