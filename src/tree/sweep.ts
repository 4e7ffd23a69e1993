// Which containers and TTL nodes the periodic sweep should delete
// (ContainerManager.getCandidates). The server turns each path into a
// deleteContainer request; prepare re-checks, because the node may change
// between the sweep and the delete.

import type { DataTree } from "./data-tree.js";
import { ttlExpired } from "./node.js";

export interface SweepOptions {
  /** Delete a container that never had a child once it is this old (by
   *  mtime). 0 keeps unused containers forever, as ZooKeeper releases do. */
  containerNeverUsedMs: bigint;
  /** Paths one sweep may return (znode.container.maxPerMinute analogue);
   *  sweepPathsMaxDefault when absent. */
  pathsMax?: number;
}

export const sweepPathsMaxDefault = 10_000;

export const defaultSweepOptions: SweepOptions = {
  containerNeverUsedMs: 0n,
  pathsMax: sweepPathsMaxDefault,
};

/** Containers first, then TTL nodes, each in the order they were created. */
export function expiredContainersAndTtls(tree: DataTree, nowMs: bigint, options: SweepOptions): string[] {
  const pathsMax = options.pathsMax ?? sweepPathsMaxDefault;
  const paths: string[] = [];
  for (const path of tree.containerPaths()) {
    if (paths.length >= pathsMax) return paths;
    const node = tree.node(path);
    if (node === undefined || node.numChildren > 0) continue;
    // Stored cversion > 0: it had a child once, and all are gone now.
    const used = node.cversion > 0;
    const neverUsedTooLong = options.containerNeverUsedMs > 0n && nowMs - node.mtime > options.containerNeverUsedMs;
    if (used || neverUsedTooLong) paths.push(path);
  }
  for (const path of tree.ttlPaths()) {
    if (paths.length >= pathsMax) return paths;
    const node = tree.node(path);
    if (node !== undefined && node.numChildren === 0 && ttlExpired(node, nowMs)) paths.push(path);
  }
  return paths;
}
