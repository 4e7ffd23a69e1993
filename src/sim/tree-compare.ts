// Comparing two regions' trees. zxids (czxid, mzxid, pzxid) are positions in
// each region's own log and differ by design (MAESTRO.md section 6); every
// other part of a znode, and the set of live sessions, must be identical.

import type { DataTree } from "../tree/data-tree.js";
import type { NodeRecord } from "../tree/node.js";

function describe(record: NodeRecord): string {
  return JSON.stringify({
    data: record.data === null ? null : record.data.toString("base64"),
    acl: record.acl,
    ctime: record.ctime.toString(),
    mtime: record.mtime.toString(),
    version: record.version,
    cversion: record.cversion,
    aversion: record.aversion,
    ephemeralOwner: record.ephemeralOwner.toString(),
    numChildren: record.numChildren,
  });
}

/** Human-readable differences between two trees, ignoring zxids; empty when they agree. */
export function treeDifferences(a: DataTree, b: DataTree): string[] {
  const differences: string[] = [];
  const pathsA = new Set(a.paths());
  for (const path of b.paths()) if (!pathsA.has(path)) differences.push(`${path} only in the second`);
  for (const path of pathsA) {
    const recordA = a.node(path)!;
    const recordB = b.node(path);
    if (recordB === undefined) {
      differences.push(`${path} only in the first`);
      continue;
    }
    const left = describe(recordA);
    const right = describe(recordB);
    if (left !== right) differences.push(`${path}: ${left} vs ${right}`);
  }
  const sessionsA = [...a.sessions().keys()].sort().join(",");
  const sessionsB = [...b.sessions().keys()].sort().join(",");
  if (sessionsA !== sessionsB) differences.push(`sessions ${sessionsA} vs ${sessionsB}`);
  return differences;
}
