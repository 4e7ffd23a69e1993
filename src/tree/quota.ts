// ZooKeeper's quota statistics. A quota on path P is the node
// /zookeeper/quota/P/zookeeper_limits; its sibling zookeeper_stats holds
// "count=N,bytes=M" for P's subtree (P included), which every server keeps up
// to date as nodes below P are created, deleted and changed, without a
// transaction of its own (DataTree.updateQuotaStat). The update is derived
// deterministically from the applied state, so every replica computes the
// same bytes. Pure: no I/O, no clock.

import { basename, parentOf } from "./paths.js";

export const quotaRootPath = "/zookeeper/quota";
export const quotaLimitsName = "zookeeper_limits";
export const quotaStatsName = "zookeeper_stats";

/** What quota upkeep needs of the tree. */
export interface QuotaHost {
  dataOf(path: string): Buffer | null | undefined;
  setDataKeepingStat(path: string, data: Buffer): void;
  /** Node count and data bytes of the subtree at path, the node included. */
  subtreeCounts(path: string): { count: number; bytes: number };
}

/** "/zookeeper/quota/a/b" → "/a/b"; undefined outside the quota tree. */
function quotedPath(quotaNodeParent: string): string | undefined {
  if (!quotaNodeParent.startsWith(`${quotaRootPath}/`)) return undefined;
  return quotaNodeParent.slice(quotaRootPath.length);
}

function statsPathOf(path: string): string {
  return `${quotaRootPath}${path}/${quotaStatsName}`;
}

/** Parses "count=1,bytes=2[,k=v…]" keeping every pair and its order. */
function parseStats(text: string): Array<[string, string]> {
  return text
    .split(",")
    .map((pair) => pair.split("="))
    .filter((parts): parts is [string, string] => parts.length === 2)
    .map(([key, value]) => [key.trim(), value.trim()]);
}

export class QuotaTracker {
  /** Paths that carry a quota (a limits node exists for them). */
  readonly #roots = new Set<string>();

  /** Rebuilds the set of quota roots from the paths of a loaded tree. */
  load(paths: Iterable<string>): void {
    this.#roots.clear();
    for (const path of paths) {
      const parent = parentOf(path);
      const quoted = parent === undefined ? undefined : quotedPath(parent);
      if (quoted !== undefined && basename(path) === quotaLimitsName) this.#roots.add(quoted);
    }
  }

  /** The deepest quota root at or above path, as ZooKeeper's trie finds it; "/" does not count. */
  #quotaRootOf(path: string): string | undefined {
    for (let current: string | undefined = path; current !== undefined && current !== "/"; current = parentOf(current)) {
      if (this.#roots.has(current)) return current;
    }
    return undefined;
  }

  created(host: QuotaHost, path: string, dataBytes: number): void {
    const parent = parentOf(path);
    const quoted = parent === undefined ? undefined : quotedPath(parent);
    if (quoted !== undefined && basename(path) === quotaLimitsName) this.#roots.add(quoted);
    if (quoted !== undefined && basename(path) === quotaStatsName) this.#recount(host, quoted);
    this.#adjust(host, path, dataBytes, 1);
  }

  deleted(host: QuotaHost, path: string, dataBytes: number): void {
    const parent = parentOf(path);
    const quoted = parent === undefined ? undefined : quotedPath(parent);
    if (quoted !== undefined && basename(path) === quotaLimitsName) this.#roots.delete(quoted);
    this.#adjust(host, path, -dataBytes, -1);
  }

  dataChanged(host: QuotaHost, path: string, bytesBefore: number, bytesAfter: number): void {
    this.#adjust(host, path, bytesAfter - bytesBefore, 0);
  }

  #adjust(host: QuotaHost, path: string, bytes: number, count: number): void {
    const root = this.#quotaRootOf(path);
    if (root === undefined) return;
    const data = host.dataOf(statsPathOf(root));
    if (data === undefined) return; // no stats node: ZooKeeper logs and skips
    const pairs = parseStats((data ?? Buffer.alloc(0)).toString("utf8"));
    this.#write(host, root, pairs, (key, value) =>
      key === "count" ? value + count : key === "bytes" ? value + bytes : value,
    );
  }

  #recount(host: QuotaHost, root: string): void {
    const data = host.dataOf(statsPathOf(root));
    if (data === undefined || host.dataOf(root) === undefined) return;
    const counts = host.subtreeCounts(root);
    const pairs = parseStats((data ?? Buffer.alloc(0)).toString("utf8"));
    this.#write(host, root, pairs, (key, value) => (key === "count" ? counts.count : key === "bytes" ? counts.bytes : value));
  }

  #write(host: QuotaHost, root: string, pairs: Array<[string, string]>, update: (key: string, value: number) => number): void {
    if (!pairs.some(([key]) => key === "count")) pairs.unshift(["count", "0"]);
    if (!pairs.some(([key]) => key === "bytes")) pairs.splice(1, 0, ["bytes", "0"]);
    const text = pairs.map(([key, value]) => `${key}=${update(key, Number(value) || 0)}`).join(",");
    host.setDataKeepingStat(statsPathOf(root), Buffer.from(text, "utf8"));
  }
}
