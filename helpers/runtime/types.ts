// The types of the runtime seam (runtime.ts), apart so that each implementation imports them without a circle.
import type { Posture } from '../model/posture.ts';
import type { NodeAccess } from '../node/access.ts';

export type RuntimeName = Posture['runtime'];

/** A file the runtime reads, as pullcheck writes it on a node (journaled, under the node lock). */
export interface NodeFile {
  path: string;
  content: string;
}

export interface MirrorSpec {
  /** The registry host (host:port) pods name. */
  upstream: string;
  /** Mirror hosts, tried first in this order. */
  mirrors: readonly string[];
  /** The CA that verifies the mirrors (and the upstream). */
  caPem: string;
  /** containerd's hosts.toml capabilities for each mirror; CRI-O's mirrors always resolve and pull. */
  capabilities?: readonly ('pull' | 'resolve' | 'push')[];
}

export interface NodeRuntime {
  readonly name: RuntimeName;
  /** The systemd unit whose journal holds the runtime's pulls (kubelet's is the same for both). */
  readonly unit: string;
  /** How the runtime's own registry requests show in an access log (its User-Agent). */
  readonly userAgent: RegExp;
  /** Files that make a node pull from `host` over TLS verified by `caPem`, or over plain HTTP when it is undefined. */
  trustFiles(host: string, caPem: string | undefined): NodeFile[];
  /** The directories (or files) `trustFiles` writes under, each removed whole when the host is untrusted. */
  trustPaths(host: string): string[];
  /** True when the runtime must be told to re-read its configuration after `trustFiles` change. */
  trustNeedsReload(caPem: string | undefined): boolean;
  /** Files that put `mirrors` in front of `upstream` on a node. */
  mirrorFiles(o: MirrorSpec): NodeFile[];
  /** True when the runtime must re-read its configuration after `mirrorFiles` change. */
  readonly mirrorsNeedReload: boolean;
  /** Makes the runtime re-read its registry configuration (no-op where it reads it at each pull). */
  reload(nodes: NodeAccess, node: string): Promise<void>;
  /** Imports the OCI archive `archive` (on this host) under `ref` into the node's CRI image store, unpacked. */
  importImage(nodes: NodeAccess, node: string, ref: string, archive: string): Promise<void>;
  /** True when the runtime refuses to remove an image a container (of a pod not yet gone) still uses. */
  readonly removalWaitsForContainers: boolean;
  /**
   * Removes the exited containers that still hold `ref` (of pods already deleted), where the runtime
   * refuses to remove an image in use and kubelet's container GC would take its minute; no-op elsewhere.
   */
  releaseImage(nodes: NodeAccess, node: string, ref: string): Promise<void>;
  /** Removes `ref` from the node's image store whichever name it has (after `crictl rmi`); may find nothing. */
  removeImage(nodes: NodeAccess, node: string, ref: string): Promise<void>;
}
