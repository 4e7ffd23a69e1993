import { test } from "node:test";
import assert from "node:assert/strict";
import { DataTree } from "../../src/tree/data-tree.js";
import { Harness, bytes, create } from "./tree-support.js";

function statsOf(tree: DataTree): string | undefined {
  return tree.node("/zookeeper/quota/R/q/zookeeper_stats")?.data?.toString();
}

function quotaTree(): Harness {
  const harness = new Harness();
  for (const path of ["/R", "/R/q"]) harness.ok(create(path, { data: null }));
  harness.ok(create("/R/q/a", { data: bytes("12345") }));
  for (const path of ["/zookeeper/quota/R", "/zookeeper/quota/R/q"]) harness.ok(create(path, { data: null }));
  harness.ok(create("/zookeeper/quota/R/q/zookeeper_limits", { data: bytes("count=10,bytes=-1") }));
  harness.ok(create("/zookeeper/quota/R/q/zookeeper_stats", { data: bytes("count=0,bytes=0") }));
  return harness;
}

test("quota: creating the stats node counts the subtree, the quota root included", () => {
  assert.equal(statsOf(quotaTree().tree), "count=2,bytes=5");
});

test("quota: creates, data changes and deletes below a quota root update its stats", () => {
  const harness = quotaTree();
  harness.ok(create("/R/q/b", { data: bytes("123") }));
  assert.equal(statsOf(harness.tree), "count=3,bytes=8");
  harness.ok({ op: "setData", path: "/R/q/a", data: bytes("1"), version: -1 });
  assert.equal(statsOf(harness.tree), "count=3,bytes=4");
  harness.ok({ op: "delete", path: "/R/q/b", version: -1 });
  assert.equal(statsOf(harness.tree), "count=2,bytes=1");
  harness.ok(create("/R/other", { data: bytes("xyz") }));
  assert.equal(statsOf(harness.tree), "count=2,bytes=1", "nodes outside the quota root do not count");
});

test("quota: the stats node keeps its version and mzxid while its data follows the subtree", () => {
  const harness = quotaTree();
  const before = harness.tree.statOf("/zookeeper/quota/R/q/zookeeper_stats");
  harness.ok(create("/R/q/b", { data: bytes("123") }));
  const after = harness.tree.statOf("/zookeeper/quota/R/q/zookeeper_stats");
  assert.equal(after?.version, before?.version);
  assert.equal(after?.mzxid, before?.mzxid);
});

test("quota: deleting the limits node stops the upkeep", () => {
  const harness = quotaTree();
  harness.ok({ op: "delete", path: "/zookeeper/quota/R/q/zookeeper_limits", version: -1 });
  harness.ok(create("/R/q/b", { data: bytes("123") }));
  assert.equal(statsOf(harness.tree), "count=2,bytes=5");
});

test("quota: a tree rebuilt from its captured state keeps tracking its quota roots", () => {
  const harness = quotaTree();
  const rebuilt = DataTree.fromState(harness.tree.captureState());
  const zxid = harness.tree.lastZxid + 1n;
  rebuilt.apply({ zxid, timeMs: 1n, sessionId: 0n, ops: [{ type: "create", path: "/R/q/c", data: bytes("ab"), acl: [{ perms: 31, id: { scheme: "world", id: "anyone" } }], ephemeralOwner: 0n, parentCversion: 2 }] });
  assert.equal(statsOf(rebuilt), "count=3,bytes=7");
});
