import { test } from "node:test";
import assert from "node:assert/strict";
import { EventType, Perm, containerEphemeralOwner } from "../../src/protocol/codes.js";
import { TreeInvariantError } from "../../src/tree/assert.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { ttlOwner } from "../../src/tree/node.js";
import type { Stat, TreeEvent } from "../../src/tree/types.js";
import { Harness, bytes, create, open, zeroStat } from "./tree-support.js";


function statOf(tree: DataTree, path: string): Stat {
  const stat = tree.statOf(path);
  assert.ok(stat !== undefined, `${path} exists`);
  return stat;
}

test("built-ins: /, /zookeeper, /zookeeper/quota and /zookeeper/config exist with zero stats", () => {
  const tree = new DataTree();
  assert.deepEqual(statOf(tree, "/"), { ...zeroStat, cversion: -1, numChildren: 1 });
  assert.deepEqual(statOf(tree, "/zookeeper"), { ...zeroStat, cversion: -2, numChildren: 2 });
  assert.deepEqual(statOf(tree, "/zookeeper/quota"), zeroStat);
  assert.deepEqual(statOf(tree, "/zookeeper/config"), { ...zeroStat, aversion: -1 });
  assert.deepEqual(tree.childrenOf("/zookeeper")?.sort(), ["config", "quota"]);
  tree.checkInvariants();
});

test("built-ins: the root's visible cversion on a fresh tree is -1 (one child, no creation counted)", () => {
  assert.equal(statOf(new DataTree(), "/").cversion, -1);
});

test("built-ins: /zookeeper/config is READ-only for world, its data empty, its aversion -1 (setACL with version -1)", () => {
  const config = new DataTree().node("/zookeeper/config");
  assert.deepEqual(config?.acl, [{ perms: Perm.read, id: { scheme: "world", id: "anyone" } }]);
  assert.equal(config?.data?.length, 0);
  assert.equal(config?.aversion, -1);
});

test("built-ins: /, /zookeeper and /zookeeper/quota are open to world", () => {
  const tree = new DataTree();
  for (const path of ["/", "/zookeeper", "/zookeeper/quota"]) assert.deepEqual(tree.node(path)?.acl, open, path);
});

test("built-ins: four znodes, 44 bytes of paths, no ephemerals, lastZxid 0", () => {
  const tree = new DataTree();
  assert.equal(tree.nodeCount, 4);
  assert.equal(tree.approximateDataSize, "/".length + "/zookeeper".length + "/zookeeper/quota".length + "/zookeeper/config".length);
  assert.equal(tree.ephemeralCount, 0);
  assert.equal(tree.lastZxid, 0n);
});

test("stat: create sets czxid = mzxid = pzxid = zxid, ctime = mtime = now, versions 0", () => {
  const harness = new Harness();
  harness.ok(create("/a", { data: bytes("hello") }), { zxid: 0x500n, timeMs: 777n });
  assert.deepEqual(statOf(harness.tree, "/a"), {
    czxid: 0x500n,
    mzxid: 0x500n,
    ctime: 777n,
    mtime: 777n,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0n,
    dataLength: 5,
    numChildren: 0,
    pzxid: 0x500n,
  });
});

test("stat: create adds one to the parent's stored cversion and sets its pzxid", () => {
  const harness = new Harness();
  harness.ok(create("/a"), { zxid: 0x501n });
  const root = harness.tree.node("/");
  assert.equal(root?.cversion, 1);
  assert.equal(root?.pzxid, 0x501n);
  assert.equal(root?.mzxid, 0n);
});

test("stat: delete moves only the parent's pzxid", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok(create("/a/b"), { zxid: 0x600n });
  const before = harness.tree.node("/a");
  harness.ok({ op: "delete", path: "/a/b", version: -1 }, { zxid: 0x700n });
  const after = harness.tree.node("/a");
  assert.deepEqual(after, { ...before, pzxid: 0x700n, numChildren: 0 });
});

test("stat: visible cversion counts creates plus deletes (stored*2 - numChildren)", () => {
  const harness = new Harness();
  harness.ok(create("/p"));
  for (const name of ["a", "b", "c"]) harness.ok(create(`/p/${name}`));
  harness.ok({ op: "delete", path: "/p/b", version: -1 });
  assert.equal(harness.tree.node("/p")?.cversion, 3);
  assert.equal(statOf(harness.tree, "/p").cversion, 4);
  assert.equal(statOf(harness.tree, "/p").numChildren, 2);
});

test("stat: setData changes mzxid, mtime, version and data length only", () => {
  const harness = new Harness();
  harness.ok(create("/a"), { zxid: 0x10n, timeMs: 5n });
  const before = statOf(harness.tree, "/a");
  harness.ok({ op: "setData", path: "/a", data: bytes("four"), version: 0 }, { zxid: 0x20n, timeMs: 9n });
  assert.deepEqual(statOf(harness.tree, "/a"), { ...before, mzxid: 0x20n, mtime: 9n, version: 1, dataLength: 4 });
});

test("stat: setACL changes aversion only and fires no watch event", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  const before = statOf(harness.tree, "/a");
  const { events } = harness.ok({ op: "setACL", path: "/a", acl: [{ perms: Perm.read, id: { scheme: "world", id: "anyone" } }], version: 0 });
  assert.deepEqual(statOf(harness.tree, "/a"), { ...before, aversion: 1 });
  assert.deepEqual(events, []);
});

test("stat: ephemeralOwner is the session for ephemerals and reported 0 for container and TTL nodes", () => {
  const harness = new Harness();
  harness.openSession(0x42n);
  harness.ok(create("/e", { flags: 1 }));
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 1000n }));
  assert.equal(statOf(harness.tree, "/e").ephemeralOwner, 0x42n);
  assert.equal(statOf(harness.tree, "/c").ephemeralOwner, 0n);
  assert.equal(statOf(harness.tree, "/t").ephemeralOwner, 0n);
  assert.equal(harness.tree.node("/c")?.ephemeralOwner, containerEphemeralOwner);
  assert.equal(harness.tree.node("/t")?.ephemeralOwner, ttlOwner(1000n));
  assert.equal(harness.tree.node("/t")?.ephemeralOwner, BigInt.asIntN(64, 0xff000000000003e8n));
});

test("stat: null data is stored as null and reported with dataLength 0", () => {
  const harness = new Harness();
  harness.ok(create("/n", { data: null }));
  assert.equal(harness.tree.node("/n")?.data, null);
  assert.equal(statOf(harness.tree, "/n").dataLength, 0);
});

test("apply: each event carries the ACL of the node it is about, as it was at the change", () => {
  const harness = new Harness();
  const secret = [{ perms: Perm.read | Perm.write, id: { scheme: "world", id: "anyone" } }];
  harness.ok(create("/p"));
  const created = harness.ok(create("/p/s", { acl: secret })).events;
  assert.deepEqual(created.map((event) => event.acl), [secret, open]);
  assert.deepEqual(harness.ok({ op: "setData", path: "/p/s", data: null, version: -1 }).events[0]?.acl, secret);
  const deleted = harness.ok({ op: "delete", path: "/p/s", version: -1 }).events;
  assert.deepEqual(deleted.map((event) => event.acl), [secret, open]);
});

test("apply: create fires NodeCreated(path) then NodeChildrenChanged(parent), '/' for top-level nodes", () => {
  const harness = new Harness();
  assert.deepEqual(typesAndPaths(harness.ok(create("/a")).events), [
    { type: EventType.nodeCreated, path: "/a" },
    { type: EventType.nodeChildrenChanged, path: "/" },
  ]);
  assert.deepEqual(typesAndPaths(harness.ok(create("/a/b")).events), [
    { type: EventType.nodeCreated, path: "/a/b" },
    { type: EventType.nodeChildrenChanged, path: "/a" },
  ]);
});

test("apply: delete fires NodeDeleted(path) then NodeChildrenChanged(parent)", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  assert.deepEqual(typesAndPaths(harness.ok({ op: "delete", path: "/a", version: -1 }).events), [
    { type: EventType.nodeDeleted, path: "/a" },
    { type: EventType.nodeChildrenChanged, path: "/" },
  ]);
});

test("apply: setData fires NodeDataChanged(path)", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  assert.deepEqual(typesAndPaths(harness.ok({ op: "setData", path: "/a", data: null, version: -1 }).events), [{ type: EventType.nodeDataChanged, path: "/a" }]);
});

test("apply: an impossible delta is a bug and throws TreeInvariantError", () => {
  const tree = new DataTree();
  const delta = (ops: Parameters<DataTree["apply"]>[0]["ops"]) => ({ zxid: 1n, timeMs: 1n, sessionId: 0n, ops });
  const createOp = (path: string, parentCversion: number) => ({ type: "create" as const, path, data: null, acl: open, ephemeralOwner: 0n, parentCversion });
  assert.throws(() => tree.apply(delta([createOp("/missing/a", 1)])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([createOp("/zookeeper", 1)])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([createOp("/a", 7)])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([{ type: "delete", path: "/nothing" }])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([{ type: "delete", path: "/zookeeper/quota" }])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([{ type: "setData", path: "/zookeeper/quota", data: null, version: 5 }])), TreeInvariantError);
  assert.throws(() => tree.apply(delta([{ type: "closeSession", sessionId: 9n }])), TreeInvariantError);
  const ephemeral = { ...createOp("/e", 1), ephemeralOwner: 9n };
  assert.throws(() => new DataTree().apply(delta([ephemeral])), TreeInvariantError, "owner session must be live");
});

test("indexes: ephemerals by session, containers, TTL nodes, node count and data size follow creates and deletes", () => {
  const harness = new Harness();
  harness.openSession(7n);
  const sizeBefore = harness.tree.approximateDataSize;
  harness.ok(create("/e1", { flags: 1, data: bytes("abc") }));
  harness.ok(create("/e2", { flags: 3, data: null }));
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 10n }));
  assert.deepEqual(harness.tree.ephemeralsOf(7n), ["/e1", "/e20000000001"]);
  assert.equal(harness.tree.ephemeralCount, 2);
  assert.deepEqual([...harness.tree.containerPaths()], ["/c"]);
  assert.deepEqual([...harness.tree.ttlPaths()], ["/t"]);
  assert.equal(harness.tree.nodeCount, 8);
  const added = "/e1".length + 3 + "/e20000000001".length + 0 + "/c".length + 1 + "/t".length + 1;
  assert.equal(harness.tree.approximateDataSize, sizeBefore + added);
  harness.ok({ op: "setData", path: "/c", data: bytes("123456"), version: -1 });
  assert.equal(harness.tree.approximateDataSize, sizeBefore + added + 5);
  for (const path of ["/e1", "/c", "/t"]) harness.ok({ op: "delete", path, version: -1 });
  assert.deepEqual(harness.tree.ephemeralsOf(7n), ["/e20000000001"]);
  assert.equal(harness.tree.containerPaths().size + harness.tree.ttlPaths().size, 0);
  assert.equal(harness.tree.nodeCount, 5);
  harness.tree.checkInvariants();
});

test("lastZxid is the highest zxid applied", () => {
  const harness = new Harness();
  harness.ok(create("/a"), { zxid: 0x90n });
  harness.ok(create("/b"), { zxid: 0x95n });
  assert.equal(harness.tree.lastZxid, 0x95n);
});

test("sessions: createSession and closeSession maintain the live sessions with their timeouts", () => {
  const harness = new Harness();
  harness.ok({ op: "createSession", sessionId: 5n, timeoutMs: 4000 });
  harness.ok({ op: "createSession", sessionId: 6n, timeoutMs: 9000 });
  assert.deepEqual([...harness.tree.sessions()], [[5n, 4000], [6n, 9000]]);
  harness.ok({ op: "closeSession", sessionId: 5n });
  assert.equal(harness.tree.sessionTimeoutMs(5n), undefined);
  assert.equal(harness.tree.sessionTimeoutMs(6n), 9000);
});

/** Events without their ACLs, for tests about which events fire. */
function typesAndPaths(events: readonly TreeEvent[]): Array<{ type: number; path: string }> {
  return events.map((event) => ({ type: event.type, path: event.path }));
}
