import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Perm, containerEphemeralOwner } from "../../src/protocol/codes.js";
import { superId } from "../../src/tree/acl.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { ttlOwner, type NodeRecord } from "../../src/tree/node.js";
import type { Id, OpResult, WriteRequest } from "../../src/tree/types.js";
import type { TreeView } from "../../src/tree/view.js";
import { Harness, bytes, create, open, worldAcl } from "./tree-support.js";

const alice: Id = { scheme: "digest", id: "alice:hash" };
const aliceOnly = [{ perms: Perm.all, id: alice }];

/** A tree whose /locked node grants world nothing but READ. */
function lockedHarness(): Harness {
  const harness = new Harness();
  harness.ok(create("/locked", { acl: worldAcl(Perm.read) }));
  harness.ok(create("/open"));
  return harness;
}

/** A view over a real tree where one node's record is replaced (for counters near overflow). */
function viewWith(tree: DataTree, path: string, change: Partial<NodeRecord>): TreeView {
  return {
    node: (p) => {
      const node = tree.node(p);
      return p === path && node !== undefined ? { ...node, ...change } : node;
    },
    sessionTimeoutMs: (id) => tree.sessionTimeoutMs(id),
    ephemeralsOf: (id) => tree.ephemeralsOf(id),
  };
}

function okResult(harness: Harness, request: WriteRequest): OpResult {
  const outcome = harness.prepare(request);
  assert.ok(outcome.ok, `expected success, got ${outcome.ok ? "" : outcome.err}`);
  return outcome.result;
}

// ---- create (reference §5.1, in order) ----

test("create: a TTL flag with TTL disabled fails with Unimplemented before anything else is checked", () => {
  const harness = new Harness();
  harness.options = { ...harness.options, ttlEnabled: false };
  assert.equal(harness.err(create("/missing/x", { kind: "createTTL", flags: 5, ttl: 0n, acl: [] })), ErrorCode.unimplemented);
  assert.equal(harness.err(create("/x", { kind: "create2", flags: 6 })), ErrorCode.unimplemented);
});

test("create: a bad ttl fails with BadArguments (0 < ttl <= 0xFFFFFFFFFF)", () => {
  const harness = new Harness();
  for (const ttl of [0n, -1n, 0x10000000000n]) {
    assert.equal(harness.err(create("/missing/x", { kind: "createTTL", flags: 5, ttl })), ErrorCode.badArguments, String(ttl));
  }
  assert.equal(harness.err(create("/x", { kind: "createTTL", flags: 6, ttl: 0xffffffffffn })), 0);
});

test("create: flags outside 0..6 fail with BadArguments before the path is looked at", () => {
  const harness = new Harness();
  for (const flags of [7, -1, 8, 1.5]) assert.equal(harness.err(create("/missing/x", { flags, acl: [] })), ErrorCode.badArguments, String(flags));
});

test("create: TTL flags on create, create2 or createContainer fail with BadArguments (those opcodes carry no ttl)", () => {
  const harness = new Harness();
  for (const kind of ["create", "create2", "createContainer"] as const) {
    assert.equal(harness.err(create("/x", { kind, flags: 5, ttl: 1000n })), ErrorCode.badArguments, kind);
  }
});

test("create: createTTL with a non-TTL flag fails with BadArguments whatever the ttl", () => {
  const harness = new Harness();
  assert.equal(harness.err(create("/x", { kind: "createTTL", flags: 0, ttl: 1000n })), ErrorCode.badArguments);
  assert.equal(harness.err(create("/x", { kind: "createTTL", flags: 0, ttl: -1n })), ErrorCode.badArguments);
});

test("create: an ephemeral needs a live session, else SessionExpired before the path is checked", () => {
  const harness = new Harness();
  assert.equal(harness.err(create("bad", { flags: 1 })), ErrorCode.sessionExpired);
  assert.equal(harness.err(create("/e", { flags: 3 }), { sessionId: 9n }), ErrorCode.sessionExpired);
  harness.openSession(9n);
  assert.equal(harness.err(create("/e", { flags: 1 })), 0);
  harness.ok({ op: "closeSession", sessionId: 9n });
  assert.equal(harness.err(create("/e", { flags: 1 })), ErrorCode.sessionExpired);
});

test("create: a path with no '/' or with NUL fails with BadArguments before the ACL is checked", () => {
  const harness = new Harness();
  assert.equal(harness.err(create("abc", { acl: [] })), ErrorCode.badArguments);
  assert.equal(harness.err(create("/a\u0000b", { acl: [] })), ErrorCode.badArguments);
});

test("create: an invalid ACL fails with InvalidACL before the parent is looked up", () => {
  const harness = new Harness();
  assert.equal(harness.err(create("/missing/x", { acl: [] })), ErrorCode.invalidACL);
  assert.equal(harness.err(create("/missing/x", { acl: [{ perms: Perm.all, id: { scheme: "auth", id: "" } }] })), ErrorCode.invalidACL);
});

test("create: a parent that is missing fails with NoNode before ACL is checked", () => {
  const harness = lockedHarness();
  assert.equal(harness.err(create("/missing/x")), ErrorCode.noNode);
  // ZooKeeper only cuts at the last '/': "x/y" has parent "x", which does not exist.
  assert.equal(harness.err(create("x/y")), ErrorCode.noNode);
  assert.equal(harness.err(create("/locked/missing/x/")), ErrorCode.noNode);
});

test("create: a parent without CREATE permission fails with NoAuth before the path is validated", () => {
  const harness = lockedHarness();
  assert.equal(harness.err(create("/locked/x")), ErrorCode.noAuth);
  assert.equal(harness.err(create("/locked/..")), ErrorCode.noAuth);
  assert.equal(harness.err(create("/locked/x"), { authIds: [superId] }), 0);
});

test("create: the path, sequence suffix included, is validated after the permission check", () => {
  const harness = lockedHarness();
  assert.equal(harness.err(create("/open/")), ErrorCode.badArguments);
  assert.equal(harness.err(create("/open/..")), ErrorCode.badArguments);
  assert.equal(harness.err(create("//open")), ErrorCode.badArguments);
  // "/open/" plus a suffix is a valid name: the suffix is appended before validation.
  assert.equal(harness.err(create("/open/", { flags: 2 })), 0);
});

test("create: an existing node fails with NodeExists, including '/'", () => {
  const harness = lockedHarness();
  assert.equal(harness.err(create("/open")), ErrorCode.nodeExists);
  assert.equal(harness.err(create("/")), ErrorCode.nodeExists);
  assert.equal(harness.err(create("/zookeeper")), ErrorCode.nodeExists);
});

// NodeExists comes before NoChildrenForEphemerals in ZooKeeper, but no
// child of an ephemeral can exist, so only the second is observable there.
test("create: a child of an ephemeral fails with NoChildrenForEphemerals", () => {
  const harness = new Harness();
  harness.openSession(3n);
  harness.ok(create("/e", { flags: 1 }));
  assert.equal(harness.err(create("/e")), ErrorCode.nodeExists);
  assert.equal(harness.err(create("/e/child")), ErrorCode.noChildrenForEphemerals);
});

test("create: a child of a container or TTL node is allowed (they are not ephemeral)", () => {
  const harness = new Harness();
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 100n }));
  assert.equal(harness.err(create("/c/x")), 0);
  assert.equal(harness.err(create("/t/x")), 0);
});

test("create: data over dataBytesMax fails with BadArguments", () => {
  const harness = new Harness();
  assert.equal(harness.err(create("/a", { data: Buffer.alloc(harness.options.dataBytesMax + 1) })), ErrorCode.badArguments);
  assert.equal(harness.err(create("/a", { data: Buffer.alloc(harness.options.dataBytesMax) })), 0);
});

test("create: a parent holding childrenMax children refuses another with BadArguments", () => {
  const harness = new Harness();
  harness.ok(create("/p"));
  for (let index = 0; index < harness.options.childrenMax; index++) harness.ok(create(`/p/${index}`));
  assert.equal(harness.err(create("/p/one-more")), ErrorCode.badArguments);
});

test("create: createContainer makes a container whatever the flags; flag 4 on create/create2 makes a persistent node", () => {
  const harness = new Harness();
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  harness.ok(create("/s", { kind: "createContainer", flags: 2 }));
  harness.ok(create("/p", { kind: "create2", flags: 4 }));
  assert.equal(harness.tree.node("/c")?.ephemeralOwner, containerEphemeralOwner);
  assert.equal(harness.tree.node("/s0000000001")?.ephemeralOwner, containerEphemeralOwner);
  assert.equal(harness.tree.node("/p")?.ephemeralOwner, 0n);
});

test("create: createTTL makes a TTL node owned by 0xFF00000000000000 | ttl", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 6, ttl: 0x1234n }));
  assert.equal(harness.tree.node("/t0000000000")?.ephemeralOwner, ttlOwner(0x1234n));
});

test("create: the ACL stored is the fixed-up one (auth expanded to the caller's digest ids)", () => {
  const harness = new Harness();
  harness.authIds = [{ scheme: "ip", id: "127.0.0.1" }, alice];
  harness.ok(create("/a", { acl: [{ perms: Perm.read, id: { scheme: "auth", id: "" } }] }));
  assert.deepEqual(harness.tree.node("/a")?.acl, [{ perms: Perm.read, id: alice }]);
});

test("create: the result carries the kind, the final path and the stat the node has after apply", () => {
  const harness = new Harness();
  harness.ok(create("/p"));
  const { outcome } = harness.ok(create("/p/s-", { kind: "create", flags: 2, data: bytes("abc") }));
  assert.ok(outcome.ok && outcome.result.op === "create");
  assert.equal(outcome.result.kind, "create");
  assert.equal(outcome.result.path, "/p/s-0000000000");
  assert.deepEqual(outcome.result.stat, harness.tree.statOf("/p/s-0000000000"));
});

// ---- sequential names (§5.2) ----

test("sequential: the suffix is the parent's stored cversion, which counts creations only", () => {
  const harness = new Harness();
  harness.ok(create("/p"));
  harness.ok(create("/p/a"));
  harness.ok({ op: "delete", path: "/p/a", version: -1 });
  assert.equal(harness.tree.statOf("/p")?.cversion, 2, "visible cversion counts the delete too");
  const result = okResult(harness, create("/p/n-", { flags: 2 }));
  assert.ok(result.op === "create");
  assert.equal(result.path, "/p/n-0000000001");
});

test("sequential: the counter overflows from 2147483647 to -2147483648", () => {
  const harness = new Harness();
  harness.ok(create("/p"));
  const atMax = harness.prepare(create("/p/n-", { flags: 2 }), {}, viewWith(harness.tree, "/p", { cversion: 2147483647 }));
  assert.ok(atMax.ok && atMax.result.op === "create" && atMax.delta.ops[0]?.type === "create");
  assert.equal(atMax.result.path, "/p/n-2147483647");
  assert.equal(atMax.delta.ops[0].parentCversion, -2147483648);
  const wrapped = harness.prepare(create("/p/n-", { flags: 2 }), {}, viewWith(harness.tree, "/p", { cversion: -2147483648 }));
  assert.ok(wrapped.ok && wrapped.result.op === "create");
  assert.equal(wrapped.result.path, "/p/n--2147483648");
});

// ---- delete ----

test("delete: a built-in path fails with BadArguments", () => {
  const harness = new Harness();
  for (const path of ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]) {
    assert.equal(harness.err({ op: "delete", path, version: -1 }), ErrorCode.badArguments, path);
  }
});

test("delete: a path with no '/' or with NUL fails with BadArguments", () => {
  const harness = new Harness();
  assert.equal(harness.err({ op: "delete", path: "abc", version: -1 }), ErrorCode.badArguments);
  assert.equal(harness.err({ op: "delete", path: "/a\u0000", version: -1 }), ErrorCode.badArguments);
});

test("delete: a missing parent fails with NoNode", () => {
  assert.equal(new Harness().err({ op: "delete", path: "/missing/x", version: -1 }), ErrorCode.noNode);
});

test("delete: a parent without DELETE fails with NoAuth before the node is looked up", () => {
  const harness = lockedHarness();
  assert.equal(harness.err({ op: "delete", path: "/locked/missing", version: -1 }), ErrorCode.noAuth);
});

test("delete: a missing node fails with NoNode", () => {
  assert.equal(lockedHarness().err({ op: "delete", path: "/open/missing", version: -1 }), ErrorCode.noNode);
});

test("delete: a wrong version fails with BadVersion before NotEmpty is checked", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok(create("/a/b"));
  assert.equal(harness.err({ op: "delete", path: "/a", version: 3 }), ErrorCode.badVersion);
});

test("delete: a node with children fails with NotEmpty", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok(create("/a/b"));
  assert.equal(harness.err({ op: "delete", path: "/a", version: 0 }), ErrorCode.notEmpty);
  assert.equal(harness.err({ op: "delete", path: "/a/b", version: 0 }), 0);
});

// ---- setData ----

test("setData: an invalid path fails with BadArguments", () => {
  const harness = new Harness();
  for (const path of ["", "a", "/a/", "/a\u0000"]) assert.equal(harness.err({ op: "setData", path, data: null, version: -1 }), ErrorCode.badArguments);
});

test("setData: NoNode, then WRITE, then the version", () => {
  const harness = lockedHarness();
  assert.equal(harness.err({ op: "setData", path: "/missing", data: null, version: 9 }), ErrorCode.noNode);
  assert.equal(harness.err({ op: "setData", path: "/locked", data: null, version: 9 }), ErrorCode.noAuth);
  assert.equal(harness.err({ op: "setData", path: "/open", data: null, version: 9 }), ErrorCode.badVersion);
  assert.equal(harness.err({ op: "setData", path: "/open", data: null, version: 0 }), 0);
});

test("setData: version -1 matches any version", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok({ op: "setData", path: "/a", data: null, version: -1 });
  harness.ok({ op: "setData", path: "/a", data: null, version: -1 });
  assert.equal(harness.tree.statOf("/a")?.version, 2);
});

test("setData: a version that would become -1 wraps to 0, and 2147483647 overflows to -2147483648", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  const fromMinus2 = harness.prepare({ op: "setData", path: "/a", data: null, version: -2 }, {}, viewWith(harness.tree, "/a", { version: -2 }));
  assert.ok(fromMinus2.ok && fromMinus2.result.op === "setData");
  assert.equal(fromMinus2.result.stat.version, 0);
  const fromMax = harness.prepare({ op: "setData", path: "/a", data: null, version: -1 }, {}, viewWith(harness.tree, "/a", { version: 2147483647 }));
  assert.ok(fromMax.ok && fromMax.result.op === "setData");
  assert.equal(fromMax.result.stat.version, -2147483648);
});

test("setData: data over dataBytesMax fails with BadArguments before the version is checked", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  assert.equal(harness.err({ op: "setData", path: "/a", data: Buffer.alloc(65), version: 7 }), ErrorCode.badArguments);
});

test("setData: the result stat equals the stat after apply", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok(create("/a/b"));
  const { outcome } = harness.ok({ op: "setData", path: "/a", data: bytes("new"), version: 0 });
  assert.ok(outcome.ok && outcome.result.op === "setData");
  assert.deepEqual(outcome.result.stat, harness.tree.statOf("/a"));
});

// ---- setACL ----

test("setACL: validate the path, then fixupACL, then NoNode, then ADMIN, then the aversion", () => {
  const harness = lockedHarness();
  assert.equal(harness.err({ op: "setACL", path: "bad", acl: [], version: 5 }), ErrorCode.badArguments);
  assert.equal(harness.err({ op: "setACL", path: "/missing", acl: [], version: 5 }), ErrorCode.invalidACL);
  assert.equal(harness.err({ op: "setACL", path: "/missing", acl: open, version: 5 }), ErrorCode.noNode);
  assert.equal(harness.err({ op: "setACL", path: "/locked", acl: open, version: 5 }), ErrorCode.noAuth);
  assert.equal(harness.err({ op: "setACL", path: "/open", acl: open, version: 5 }), ErrorCode.badVersion);
});

test("setACL: the version checked is the aversion, not the data version", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.ok({ op: "setData", path: "/a", data: null, version: 0 });
  assert.equal(harness.err({ op: "setACL", path: "/a", acl: open, version: 1 }), ErrorCode.badVersion);
  const { outcome } = harness.ok({ op: "setACL", path: "/a", acl: aliceOnly, version: 0 });
  assert.ok(outcome.ok && outcome.result.op === "setACL");
  assert.deepEqual(outcome.result.stat, harness.tree.statOf("/a"));
  assert.equal(outcome.result.stat.aversion, 1);
  assert.deepEqual(harness.tree.node("/a")?.acl, aliceOnly);
});

// ---- check ----

test("check: validate, NoNode, then READ, then the version; nothing changes", () => {
  const harness = new Harness();
  harness.ok(create("/secret", { acl: aliceOnly }));
  harness.ok(create("/a"));
  assert.equal(harness.err({ op: "check", path: "a", version: 0 }), ErrorCode.badArguments);
  assert.equal(harness.err({ op: "check", path: "/missing", version: 0 }), ErrorCode.noNode);
  assert.equal(harness.err({ op: "check", path: "/secret", version: 0 }), ErrorCode.noAuth);
  assert.equal(harness.err({ op: "check", path: "/a", version: 1 }), ErrorCode.badVersion);
  const outcome = harness.prepare({ op: "check", path: "/a", version: 0 });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, []);
  assert.deepEqual(outcome.result, { op: "check" });
});

// ---- deleteContainer (the sweep's delete) ----

test("deleteContainer: an empty container or TTL node is deleted; a missing one is NoNode, a non-empty one NotEmpty", () => {
  const harness = new Harness();
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  harness.ok(create("/c/x"));
  assert.equal(harness.err({ op: "deleteContainer", path: "/c" }), ErrorCode.notEmpty);
  harness.ok({ op: "delete", path: "/c/x", version: -1 });
  const { outcome, events } = harness.ok({ op: "deleteContainer", path: "/c" });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.result, { op: "deleteContainer" });
  assert.equal(events.length, 2);
  assert.equal(harness.err({ op: "deleteContainer", path: "/c" }), ErrorCode.noNode);
  assert.equal(harness.err({ op: "deleteContainer", path: "/zookeeper" }), ErrorCode.badArguments);
});

test("deleteContainer: refuses a node that is neither container nor TTL with BadVersion", () => {
  const harness = new Harness();
  harness.ok(create("/plain"));
  assert.equal(harness.err({ op: "deleteContainer", path: "/plain" }), ErrorCode.badVersion);
});

test("deleteContainer: a TTL node renewed since the sweep looked is kept (re-checked at ctx.timeMs)", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 100n }), { timeMs: 1000n });
  assert.equal(harness.err({ op: "deleteContainer", path: "/t" }, { timeMs: 1100n }), ErrorCode.badVersion);
  assert.equal(harness.err({ op: "deleteContainer", path: "/t" }, { timeMs: 1101n }), 0);
});

// ---- sessions ----

test("createSession: a duplicate, zero, container-like or TTL-like session id fails with BadArguments", () => {
  const harness = new Harness();
  harness.openSession(1n);
  for (const sessionId of [1n, 0n, containerEphemeralOwner, ttlOwner(5n)]) {
    assert.equal(harness.err({ op: "createSession", sessionId, timeoutMs: 100 }), ErrorCode.badArguments, String(sessionId));
  }
  assert.equal(harness.err({ op: "createSession", sessionId: 2n, timeoutMs: 0 }), ErrorCode.badArguments);
});

test("closeSession: deletes every ephemeral of the session, then closes it, in one delta", () => {
  const harness = new Harness();
  harness.openSession(0x11n);
  harness.ok(create("/p"));
  harness.ok(create("/p/e", { flags: 1 }));
  harness.ok(create("/a", { flags: 1 }));
  const { outcome, events } = harness.ok({ op: "closeSession", sessionId: 0x11n }, { sessionId: 0n });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, [
    { type: "delete", path: "/a" },
    { type: "delete", path: "/p/e" },
    { type: "closeSession", sessionId: 0x11n },
  ]);
  assert.equal(events.length, 4);
  assert.equal(harness.tree.node("/p/e"), undefined);
  assert.equal(harness.tree.ephemeralCount, 0);
});

test("closeSession: a session that is not live fails with SessionExpired", () => {
  assert.equal(new Harness().err({ op: "closeSession", sessionId: 0x99n }), ErrorCode.sessionExpired);
});

// ---- multi (§5.8) ----

test("multi: every op shares the one zxid and the delta applies all of them", () => {
  const harness = new Harness();
  const { outcome } = harness.ok(
    { op: "multi", ops: [create("/a"), create("/b"), { op: "setData", path: "/a", data: null, version: 0 }] },
    { zxid: 0x777n },
  );
  assert.ok(outcome.ok);
  assert.equal(outcome.delta.zxid, 0x777n);
  assert.equal(harness.tree.statOf("/a")?.czxid, 0x777n);
  assert.equal(harness.tree.statOf("/a")?.mzxid, 0x777n);
  assert.equal(harness.tree.statOf("/b")?.czxid, 0x777n);
});

test("multi: on failure earlier ops get 0, the failing op its code, later ops -2, and there is no delta", () => {
  const harness = new Harness();
  const outcome = harness.prepare({ op: "multi", ops: [create("/a"), create("/a/b"), create("/missing/c"), create("/d")] });
  assert.deepEqual(outcome, {
    ok: false,
    err: ErrorCode.noNode,
    multiResults: [
      { op: "error", err: 0 },
      { op: "error", err: 0 },
      { op: "error", err: ErrorCode.noNode },
      { op: "error", err: ErrorCode.runtimeInconsistency },
    ],
  });
  assert.equal(harness.tree.node("/a"), undefined);
});

test("multi: each op sees the effects of the earlier ones", () => {
  const harness = new Harness();
  const { outcome } = harness.ok({
    op: "multi",
    ops: [create("/q"), create("/q/n-", { flags: 2 }), create("/q/n-", { flags: 2 }), { op: "delete", path: "/q/n-0000000000", version: 0 }],
  });
  assert.ok(outcome.ok && outcome.result.op === "multi");
  assert.deepEqual(
    outcome.result.results.map((result) => (result.op === "create" ? result.path : result.op)),
    ["/q", "/q/n-0000000000", "/q/n-0000000001", "delete"],
  );
  assert.deepEqual(harness.tree.childrenOf("/q"), ["n-0000000001"]);
});

test("multi: results echo the requests (create kind kept, setData with stat, check, delete)", () => {
  const harness = new Harness();
  harness.ok(create("/x"));
  const { outcome } = harness.ok({
    op: "multi",
    ops: [
      create("/one", { kind: "create" }),
      create("/two", { kind: "create2" }),
      { op: "check", path: "/x", version: 0 },
      { op: "setData", path: "/x", data: bytes("d"), version: 0 },
      { op: "delete", path: "/one", version: 0 },
    ],
  });
  assert.ok(outcome.ok && outcome.result.op === "multi");
  const [one, two, check, setData, del] = outcome.result.results;
  assert.ok(one?.op === "create" && two?.op === "create" && setData?.op === "setData");
  assert.equal(one.kind, "create");
  assert.equal(two.kind, "create2");
  assert.deepEqual(two.stat, harness.tree.statOf("/two"));
  assert.deepEqual(check, { op: "check" });
  assert.deepEqual(setData.stat, harness.tree.statOf("/x"));
  assert.deepEqual(del, { op: "delete" });
});

test("multi: an op a multi cannot carry fails with BadArguments", () => {
  const harness = new Harness();
  const outcome = harness.prepare({ op: "multi", ops: [create("/a"), { op: "setACL", path: "/a", acl: open, version: -1 }] });
  assert.ok(!outcome.ok);
  assert.equal(outcome.err, ErrorCode.badArguments);
  assert.deepEqual(outcome.multiResults, [{ op: "error", err: 0 }, { op: "error", err: ErrorCode.badArguments }]);
});

test("multi: an empty multi succeeds with no ops and no results", () => {
  const outcome = new Harness().prepare({ op: "multi", ops: [] });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, []);
  assert.deepEqual(outcome.result, { op: "multi", results: [] });
});
