import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Perm } from "../../src/protocol/codes.js";
import { superId } from "../../src/tree/acl.js";
import { exists, getACL, getAllChildrenNumber, getChildren, getChildren2, getData, getEphemerals } from "../../src/tree/reads.js";
import type { Acl, Id } from "../../src/tree/types.js";
import { Harness, bytes, create, worldAcl } from "./tree-support.js";

const alice: Id = { scheme: "digest", id: "alice:c2VjcmV0" };
const noAuth = { err: ErrorCode.noAuth };
const noNode = { err: ErrorCode.noNode };

function secretTree(): Harness {
  const harness = new Harness();
  const secret: Acl[] = [
    { perms: Perm.all, id: alice },
    { perms: Perm.create, id: { scheme: "world", id: "anyone" } },
  ];
  harness.ok(create("/secret", { acl: secret, data: bytes("s") }));
  harness.ok(create("/secret/child"));
  harness.ok(create("/public", { data: bytes("p") }));
  return harness;
}

test("reads: a missing node is NoNode before READ is checked", () => {
  const { tree } = secretTree();
  for (const read of [getData, exists, getChildren, getChildren2, getACL, getAllChildrenNumber]) {
    assert.deepEqual(read(tree, "/missing", []), noNode, read.name);
  }
});

test("reads: exists needs no permission, as in ZooKeeper", () => {
  const { tree } = secretTree();
  assert.deepEqual(exists(tree, "/secret", []), { stat: tree.statOf("/secret") });
});

test("reads: getData, getChildren and getAllChildrenNumber need READ", () => {
  const { tree } = secretTree();
  for (const read of [getData, getChildren, getAllChildrenNumber]) {
    assert.deepEqual(read(tree, "/secret", []), noAuth, read.name);
    assert.ok(!("err" in read(tree, "/secret", [alice])), read.name);
    assert.ok(!("err" in read(tree, "/secret", [superId])), read.name);
  }
});

test("reads: getData returns the data and the client stat", () => {
  const { tree } = secretTree();
  assert.deepEqual(getData(tree, "/public", []), { data: bytes("p"), stat: tree.statOf("/public") });
  assert.deepEqual(getData(tree, "/", []), { data: Buffer.alloc(0), stat: tree.statOf("/") });
});

test("reads: exists with NUL in the path is BadArguments", () => {
  assert.deepEqual(exists(new Harness().tree, "/a\u0000", []), { err: ErrorCode.badArguments });
});

test("reads: getChildren lists the children with the node's stat", () => {
  const { tree } = secretTree();
  const result = getChildren(tree, "/", []);
  assert.ok(!("err" in result));
  assert.deepEqual(result.children.sort(), ["public", "secret", "zookeeper"]);
  assert.deepEqual(result.stat, tree.statOf("/"));
  assert.deepEqual(getChildren(tree, "/public", []), { children: [], stat: tree.statOf("/public") });
});

test("reads: getACL needs READ or ADMIN", () => {
  const harness = new Harness();
  harness.ok(create("/admin-only", { acl: worldAcl(Perm.admin) }));
  harness.ok(create("/write-only", { acl: worldAcl(Perm.write) }));
  assert.ok(!("err" in getACL(harness.tree, "/admin-only", [])));
  assert.deepEqual(getACL(harness.tree, "/write-only", []), noAuth);
});

test("reads: getACL without ADMIN masks digest ids as user:x; with ADMIN it returns them whole", () => {
  const harness = new Harness();
  const acl: Acl[] = [
    { perms: Perm.read, id: { scheme: "world", id: "anyone" } },
    { perms: Perm.admin, id: alice },
  ];
  harness.ok(create("/n", { acl }));
  const masked = getACL(harness.tree, "/n", []);
  assert.deepEqual(masked, {
    acl: [acl[0], { perms: Perm.admin, id: { scheme: "digest", id: "alice:x" } }],
    stat: harness.tree.statOf("/n"),
  });
  assert.deepEqual(getACL(harness.tree, "/n", [alice]), { acl, stat: harness.tree.statOf("/n") });
});

test("reads: getAllChildrenNumber counts all descendants, not only children", () => {
  const harness = new Harness();
  for (const path of ["/a", "/a/b", "/a/b/c", "/a/d", "/ab"]) harness.ok(create(path));
  assert.deepEqual(getAllChildrenNumber(harness.tree, "/a", []), { totalNumber: 3 });
  assert.deepEqual(getAllChildrenNumber(harness.tree, "/a/b/c", []), { totalNumber: 0 });
});

test("reads: getAllChildrenNumber of / counts every node but the root, built-ins included", () => {
  const harness = new Harness();
  assert.deepEqual(getAllChildrenNumber(harness.tree, "/", []), { totalNumber: 3 });
  harness.ok(create("/a"));
  assert.deepEqual(getAllChildrenNumber(harness.tree, "/", []), { totalNumber: 4 });
});

test("reads: getEphemerals filters the session's ephemerals by plain string prefix; '/' or blank means all", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  harness.openSession(8n);
  for (const path of ["/a/x", "/ab", "/b"]) harness.ok(create(path, { flags: 1 }));
  harness.openSession(9n);
  harness.ok(create("/a/other", { flags: 1 }));
  assert.deepEqual(getEphemerals(harness.tree, 8n, "/"), ["/a/x", "/ab", "/b"]);
  assert.deepEqual(getEphemerals(harness.tree, 8n, ""), ["/a/x", "/ab", "/b"]);
  assert.deepEqual(getEphemerals(harness.tree, 8n, " / "), ["/a/x", "/ab", "/b"]);
  assert.deepEqual(getEphemerals(harness.tree, 8n, "/a"), ["/a/x", "/ab"]);
  assert.deepEqual(getEphemerals(harness.tree, 8n, "/a/"), ["/a/x"]);
  assert.deepEqual(getEphemerals(harness.tree, 7n, "/"), []);
});
