// Pull-only mode in a scenario (`--registry-preseeded`, helpers/registry/preseeded.ts): a registry
// pullcheck may not write to hands out the references the vendor seeded; a scenario that pushes to
// it is not applicable, with the reason, whether it asked through `s.push` or its client refused.

import { ReadOnlyRegistryError } from '../registry/client.ts';
import {
  type PreseededFormat,
  type PreseededKind,
  PULL_ONLY_PUSH_REASON,
  preseededEntry,
  pullOnlyMissing,
  splitReference,
} from '../registry/preseeded.ts';
import type { TestRegistry } from '../registry/registry.ts';
import { ScenarioSkipped } from '../report/records.ts';
import { podWhere } from './expectations.ts';
import type { PodVerdict } from './pods.ts';
import { imageIdOf } from './pods.ts';

/** A reference the vendor seeded, as a scenario pulls it (the digest it names: what the pod must run). */
export interface PreseededImage {
  kind: PreseededKind;
  ref: string;
  repository: string;
  tag: string;
  digest: string;
  platforms?: readonly string[];
}

/** The rule a scenario in pull-only mode records: what it asserts, and what it cannot. */
export function preseededRule(image: PreseededImage): string {
  return `pull-only: the image is the vendor's pre-seeded ${image.kind} ${image.ref}; pullcheck did not build it, so its build marker cannot be asserted: the pod must run to the end (any exit code) with an imageID naming ${image.digest}`;
}

/**
 * The pre-seeded reference of `format` for `registry` (private-… when it is read with credentials),
 * or undefined for a registry pullcheck pushes to. Throws a not-applicable skip when the registry
 * is pull-only and the file names none of that kind.
 */
export function preseededFor(registry: TestRegistry, format: PreseededFormat): PreseededImage | undefined {
  if (!registry.preseeded) return undefined;
  const { kind, entry } = preseededEntry(registry.preseeded, format, Boolean(registry.username));
  if (!entry) throw new ScenarioSkipped(pullOnlyMissing(kind), 'not-applicable');
  const parts = splitReference(entry.reference);
  if (!parts) throw new Error(`pre-seeded ${kind} ${entry.reference} is not host/repository:tag (checked when read: a bug)`);
  return {
    kind,
    ref: entry.reference,
    repository: parts.repository,
    tag: parts.tagOrDigest,
    digest: entry.digest,
    ...(entry.platforms ? { platforms: entry.platforms } : {}),
  };
}

/** Before a push: a pull-only registry is never written to, and the scenario is not applicable. */
export function refusePushToPullOnly(registry: TestRegistry): void {
  if (registry.preseeded) throw new ScenarioSkipped(PULL_ONLY_PUSH_REASON, 'not-applicable');
}

/** A write the pull-only client refused (a scenario's own client call): not applicable, with the request named. */
export function pullOnlySkip(error: unknown): unknown {
  if (!(error instanceof ReadOnlyRegistryError)) return error;
  return new ScenarioSkipped(`${error.reason} (it asked ${error.method} ${error.path.split('?')[0]})`, 'not-applicable');
}

/**
 * The pod pulled and ran the pre-seeded image: it ran to the end (its exit code is the vendor
 * image's business) and its imageID names the digest the file gives.
 */
export function expectRanPreseeded(verdict: PodVerdict, image: PreseededImage): void {
  const at = podWhere(verdict.pod);
  if (verdict.kind === 'pull-failed')
    throw new Error(
      `${at} should have pulled the pre-seeded ${image.kind} ${image.ref}, but its pull failed (${verdict.reason}): ${verdict.message}`,
    );
  const imageId = imageIdOf(verdict.pod);
  if (!imageId.includes(image.digest))
    throw new Error(
      `${at} ran the pre-seeded ${image.kind} ${image.ref} as ${imageId || '(no imageID)'}, not the digest the pre-seeded file names, ${image.digest}`,
    );
}
