// ACLs against a real Maestro process: digest authentication, each
// permission bit, world/auth/ip schemes (CIDR included), the super digest,
// getACL masking and InvalidACL (zookeeper-protocol.md §5.1, §5.9).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ACL as ClientACL } from "node-zookeeper-client";
import { startServer, type ServerProcess } from "../support/server-process.js";
import { acl, Permission, rejectsWithCode, worldAcl, ZkClient } from "../support/zk-client.js";
import { RawClient, ok } from "../support/raw-client.js";
import { AddWatchMode, ErrorCode, Perm, Xid } from "../../src/protocol/codes.js";

const testTimeoutMs = 30_000;

/** The digest id ZooKeeper derives from "user:password". */
function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

function describeAcls(acls: ClientACL[]): string[] {
  return acls.map((entry) => `${entry.permission} ${entry.id.scheme}:${entry.id.id}`).sort();
}

describe("ACLs", { timeout: 180_000 }, () => {
  let server: ServerProcess;
  let alice: ZkClient;
  let anonymous: ZkClient;
  const aliceId = digestId("alice", "alice-secret");

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*", superDigest: digestId("super", "super-secret") });
    alice = await ZkClient.connect(server.connectString);
    alice.addAuth("digest", "alice:alice-secret");
    anonymous = await ZkClient.connect(server.connectString);
  });

  after(async () => {
    await alice?.close();
    await anonymous?.close();
    await server?.stop();
  });

  test("a digest ACL admits its user and answers NoAuth to others on read, write, create, delete and admin", { timeout: testTimeoutMs }, async () => {
    await alice.create("/digest", Buffer.from("secret"), 0, [acl(Permission.ALL, "digest", aliceId)]);
    await alice.create("/digest/child", null, 0, worldAcl());

    await rejectsWithCode(anonymous.getData("/digest"), ErrorCode.noAuth, "getData");
    assert.notEqual(await anonymous.exists("/digest"), null, "exists checks no ACL, as in ZooKeeper");
    await rejectsWithCode(anonymous.getChildren("/digest"), ErrorCode.noAuth, "getChildren");
    await rejectsWithCode(anonymous.setData("/digest", Buffer.from("x")), ErrorCode.noAuth, "setData");
    await rejectsWithCode(anonymous.create("/digest/other"), ErrorCode.noAuth, "create under it");
    await rejectsWithCode(anonymous.remove("/digest/child"), ErrorCode.noAuth, "delete under it");
    await rejectsWithCode(anonymous.setACL("/digest", worldAcl()), ErrorCode.noAuth, "setACL");
    await rejectsWithCode(anonymous.getACL("/digest"), ErrorCode.noAuth, "getACL without READ or ADMIN");
    // exists on a missing child is not an ACL question: plain NoNode (null).
    assert.equal(await anonymous.exists("/digest/missing"), null);

    assert.deepEqual((await alice.getData("/digest")).data, Buffer.from("secret"));
    await alice.setData("/digest", Buffer.from("changed"));
    await alice.create("/digest/other");
    await alice.remove("/digest/other");
    assert.deepEqual((await alice.getChildren("/digest")).children, ["child"]);
  });

  test("each permission bit guards its own operation", { timeout: testTimeoutMs }, async () => {
    const all = Permission.ALL;
    await anonymous.create("/perm-read", Buffer.from("r"), 0, worldAcl(all & ~Perm.read));
    await rejectsWithCode(anonymous.getData("/perm-read"), ErrorCode.noAuth, "getData without READ");
    await rejectsWithCode(anonymous.getChildren("/perm-read"), ErrorCode.noAuth, "getChildren without READ");
    assert.notEqual(await anonymous.exists("/perm-read"), null, "exists needs no READ");
    await anonymous.setData("/perm-read", Buffer.from("w"));

    await anonymous.create("/perm-write", Buffer.from("r"), 0, worldAcl(all & ~Perm.write));
    await rejectsWithCode(anonymous.setData("/perm-write", Buffer.from("w")), ErrorCode.noAuth, "setData without WRITE");
    assert.deepEqual((await anonymous.getData("/perm-write")).data, Buffer.from("r"));

    await anonymous.create("/perm-create", null, 0, worldAcl(all & ~Perm.create));
    await rejectsWithCode(anonymous.create("/perm-create/child"), ErrorCode.noAuth, "create without CREATE");

    await anonymous.create("/perm-delete", null, 0, worldAcl());
    await anonymous.create("/perm-delete/child");
    await anonymous.setACL("/perm-delete", worldAcl(all & ~Perm.delete));
    await rejectsWithCode(anonymous.remove("/perm-delete/child"), ErrorCode.noAuth, "delete without DELETE on the parent");
    await anonymous.create("/perm-delete/another");

    await anonymous.create("/perm-admin", null, 0, worldAcl(all & ~Perm.admin));
    await rejectsWithCode(anonymous.setACL("/perm-admin", worldAcl()), ErrorCode.noAuth, "setACL without ADMIN");
    assert.deepEqual(describeAcls((await anonymous.getACL("/perm-admin")).acls), [`${all & ~Perm.admin} world:anyone`]);
  });

  test("ACL checks come in ZooKeeper's order: create NoAuth before NodeExists, setData NoAuth before BadVersion, delete NoAuth before NoNode", { timeout: testTimeoutMs }, async () => {
    const all = Permission.ALL;
    await anonymous.create("/order");
    await anonymous.create("/order/existing");
    await anonymous.setACL("/order", worldAcl(all & ~Perm.create & ~Perm.delete));
    await rejectsWithCode(anonymous.create("/order/existing"), ErrorCode.noAuth, "create of an existing child without CREATE");
    await rejectsWithCode(anonymous.remove("/order/missing"), ErrorCode.noAuth, "delete of a missing child without DELETE");
    await anonymous.create("/order-write", null, 0, worldAcl(all & ~Perm.write));
    await rejectsWithCode(anonymous.setData("/order-write", Buffer.from("x"), 42), ErrorCode.noAuth, "setData with a wrong version without WRITE");
    await anonymous.create("/order-admin", null, 0, worldAcl(all & ~Perm.admin));
    await rejectsWithCode(anonymous.setACL("/order-admin", worldAcl(), 42), ErrorCode.noAuth, "setACL with a wrong aversion without ADMIN");
    await anonymous.create("/order-read", null, 0, worldAcl(all & ~Perm.read));
    await rejectsWithCode(anonymous.getData("/order-read/missing"), ErrorCode.noNode, "reads check the node's ACL only: NoNode");
  });

  test("duplicate ACL entries are stored once", { timeout: testTimeoutMs }, async () => {
    const entry = acl(Permission.ALL, "world", "anyone");
    await anonymous.create("/duplicates", null, 0, [entry, entry, acl(Perm.read, "ip", "127.0.0.1"), acl(Perm.read, "ip", "127.0.0.1")]);
    assert.deepEqual(describeAcls((await anonymous.getACL("/duplicates")).acls), ["1 ip:127.0.0.1", "31 world:anyone"]);
  });

  test("getACL needs READ or ADMIN, and masks digest ids as user:x without ADMIN", { timeout: testTimeoutMs }, async () => {
    const acls = [acl(Perm.read, "world", "anyone"), acl(Permission.ALL, "digest", aliceId)];
    await alice.create("/masked", null, 0, acls);
    assert.deepEqual(describeAcls((await anonymous.getACL("/masked")).acls), ["1 world:anyone", "31 digest:alice:x"]);
    assert.deepEqual(describeAcls((await alice.getACL("/masked")).acls), ["1 world:anyone", `31 digest:${aliceId}`]);

    await alice.create("/admin-only", null, 0, [acl(Perm.admin, "world", "anyone"), acl(Permission.ALL, "digest", aliceId)]);
    assert.deepEqual(
      describeAcls((await anonymous.getACL("/admin-only")).acls),
      ["16 world:anyone", `31 digest:${aliceId}`],
      "ADMIN sees the digest unmasked",
    );
  });

  test("the auth scheme expands to the caller's authenticated ids (not its ip id)", { timeout: testTimeoutMs }, async () => {
    await alice.create("/auth-scheme", null, 0, [acl(Permission.ALL, "auth", "")]);
    assert.deepEqual(describeAcls((await alice.getACL("/auth-scheme")).acls), [`31 digest:${aliceId}`]);
    await rejectsWithCode(anonymous.getData("/auth-scheme"), ErrorCode.noAuth);

    const both = await ZkClient.connect(server.connectString);
    try {
      both.addAuth("digest", "alice:alice-secret");
      both.addAuth("digest", "bob:bob-secret");
      await both.create("/auth-two", null, 0, [acl(Perm.read | Perm.admin, "auth", "")]);
      assert.deepEqual(describeAcls((await both.getACL("/auth-two")).acls), [`17 digest:${aliceId}`, `17 digest:${digestId("bob", "bob-secret")}`]);
    } finally {
      await both.close();
    }
    await rejectsWithCode(anonymous.create("/auth-none", null, 0, [acl(Permission.ALL, "auth", "")]), ErrorCode.invalidACL, "auth scheme with no authenticated id");
    assert.equal(await anonymous.exists("/auth-none"), null);
  });

  test("ip ACLs match the connection's address, CIDR ranges included", { timeout: testTimeoutMs }, async () => {
    await anonymous.create("/ip-exact", Buffer.from("1"), 0, [acl(Permission.ALL, "ip", "127.0.0.1")]);
    await anonymous.create("/ip-cidr", Buffer.from("2"), 0, [acl(Permission.ALL, "ip", "127.0.0.0/8")]);
    await anonymous.create("/ip-other", Buffer.from("3"), 0, [acl(Permission.ALL, "ip", "10.1.2.3")]);
    await anonymous.create("/ip-other-cidr", Buffer.from("4"), 0, [acl(Permission.ALL, "ip", "10.0.0.0/8")]);
    assert.deepEqual((await anonymous.getData("/ip-exact")).data, Buffer.from("1"));
    await anonymous.setData("/ip-exact", Buffer.from("one"));
    assert.deepEqual((await anonymous.getData("/ip-cidr")).data, Buffer.from("2"));
    await anonymous.create("/ip-cidr/child");
    await rejectsWithCode(anonymous.getData("/ip-other"), ErrorCode.noAuth, "ip:10.1.2.3");
    await rejectsWithCode(anonymous.getData("/ip-other-cidr"), ErrorCode.noAuth, "ip:10.0.0.0/8");
    await rejectsWithCode(anonymous.setData("/ip-other-cidr", Buffer.from("x")), ErrorCode.noAuth, "ip:10.0.0.0/8 setData");
  });

  test("the super digest bypasses every ACL", { timeout: testTimeoutMs }, async () => {
    await alice.create("/super-test", Buffer.from("locked"), 0, [acl(Permission.ALL, "digest", aliceId)]);
    await alice.create("/super-test/child", null, 0, [acl(Permission.ALL, "digest", aliceId)]);
    await anonymous.create("/super-ip", Buffer.from("ip"), 0, [acl(Permission.ALL, "ip", "10.0.0.0/8")]);
    const superuser = await ZkClient.connect(server.connectString);
    try {
      superuser.addAuth("digest", "super:super-secret");
      assert.deepEqual((await superuser.getData("/super-test")).data, Buffer.from("locked"));
      assert.deepEqual((await superuser.getData("/super-ip")).data, Buffer.from("ip"));
      await superuser.setData("/super-test", Buffer.from("opened"));
      await superuser.create("/super-test/by-super");
      await superuser.remove("/super-test/child");
      await superuser.setACL("/super-test", worldAcl(Perm.read));
      assert.deepEqual((await anonymous.getData("/super-test")).data, Buffer.from("opened"));
    } finally {
      await superuser.close();
    }
    const wrong = await ZkClient.connect(server.connectString);
    try {
      wrong.addAuth("digest", "super:not-the-password");
      await rejectsWithCode(wrong.getData("/super-ip"), ErrorCode.noAuth, "a wrong super password is just another digest");
    } finally {
      await wrong.close();
    }
  });

  test("invalid ACLs are InvalidACL and create nothing", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      const cases: Array<[string, Array<{ perms: number; id: { scheme: string; id: string } }>]> = [
        ["empty list", []],
        ["unknown scheme", [{ perms: 31, id: { scheme: "nosuchscheme", id: "x" } }]],
        ["world id other than anyone", [{ perms: 31, id: { scheme: "world", id: "nobody" } }]],
        ["digest id without a colon", [{ perms: 31, id: { scheme: "digest", id: "alice" } }]],
        ["ip id that is not an address", [{ perms: 31, id: { scheme: "ip", id: "not-an-address" } }]],
        ["ip CIDR with too many bits", [{ perms: 31, id: { scheme: "ip", id: "127.0.0.1/33" } }]],
        ["auth scheme without authenticated ids", [{ perms: 31, id: { scheme: "auth", id: "" } }]],
      ];
      for (const [what, acls] of cases) {
        const reply = await raw.create("/invalid-acl", null, 0, acls);
        assert.equal(reply.err, ErrorCode.invalidACL, `create with ${what}`);
      }
      assert.equal((await raw.exists("/invalid-acl")).err, ErrorCode.noNode);
      ok(await raw.create("/valid-acl"));
      assert.equal((await raw.setACL("/valid-acl", [])).err, ErrorCode.invalidACL, "setACL with an empty list");
      assert.equal(
        (await raw.setACL("/valid-acl", [{ perms: 31, id: { scheme: "ip", id: "300.1.1.1" } }])).err,
        ErrorCode.invalidACL,
        "setACL with a bad ip",
      );
      assert.deepEqual(raw.outOfOrder, []);
    } finally {
      await raw.close();
    }
  });

  test("watch events about a znode the watcher cannot READ are not delivered (ZOOKEEPER-4799, CVE-2024-23944)", { timeout: testTimeoutMs }, async () => {
    await anonymous.create("/leak");
    const watcher = await RawClient.connect({ port: server.port });
    const owner = await RawClient.connect({ port: server.port });
    try {
      ok(await owner.addAuth("digest", "alice:alice-secret"));
      ok(await watcher.addWatch("/leak", AddWatchMode.persistentRecursive));
      ok(await watcher.getChildren("/leak", true));
      assert.equal((await watcher.exists("/leak/secret-2", true)).err, ErrorCode.noNode);
      const secret = [{ perms: Perm.all, id: { scheme: "digest", id: aliceId } }];
      ok(await owner.create("/leak/secret", null, 0, secret));
      ok(await owner.setData("/leak/secret", Buffer.from("still secret")));
      ok(await owner.create("/leak/secret-2", null, 0, secret));
      ok(await owner.create("/leak/visible"));
      ok(await owner.delete("/leak/secret"));
      ok(await watcher.exists("/"));
      const events = watcher.notifications().map((event) => `${event.type} ${event.path}`);
      assert.deepEqual(
        events.filter((event) => event.includes("secret")),
        [],
        `a watcher without READ on /leak/secret* must not learn of them; got ${events.join(", ")}`,
      );
      assert.ok(events.includes("1 /leak/visible"), `the readable child is reported: ${events.join(", ")}`);
      assert.ok(events.includes("4 /leak"), "the readable parent's child watch fires");
    } finally {
      await watcher.close();
      await owner.close();
    }
  });

  test("a read refused with NoAuth sets no watch", { timeout: testTimeoutMs }, async () => {
    await alice.create("/no-watch", Buffer.from("x"), 0, [acl(Permission.ALL, "digest", aliceId)]);
    const watcher = await RawClient.connect({ port: server.port });
    try {
      assert.equal((await watcher.getData("/no-watch", true)).err, ErrorCode.noAuth);
      assert.equal((await watcher.getChildren("/no-watch", true)).err, ErrorCode.noAuth);
      assert.equal((await watcher.checkWatches("/no-watch", 3)).err, ErrorCode.noWatcher, "no watch was registered");
      await alice.setData("/no-watch", Buffer.from("y"));
      await alice.create("/no-watch/child");
      ok(await watcher.exists("/"));
      assert.deepEqual(watcher.notifications(), []);
    } finally {
      await watcher.close();
    }
  });

  test("authentication belongs to the connection: a resumed session must authenticate again", { timeout: testTimeoutMs }, async () => {
    const first = await RawClient.connect({ port: server.port });
    ok(await first.addAuth("digest", "alice:alice-secret"));
    ok(await first.create("/per-connection", Buffer.from("x"), 0, [{ perms: Perm.all, id: { scheme: "digest", id: aliceId } }]));
    ok(await first.getData("/per-connection"));
    first.destroy();
    await first.whenClosed;
    const resumed = await RawClient.connect({ port: server.port, sessionId: first.sessionId, passwd: first.passwd });
    try {
      assert.equal(resumed.sessionId, first.sessionId);
      assert.equal((await resumed.getData("/per-connection")).err, ErrorCode.noAuth);
      ok(await resumed.addAuth("digest", "alice:alice-secret"));
      ok(await resumed.getData("/per-connection"));
    } finally {
      await resumed.close();
    }
  });

  test("digest authentication is answered on xid -4 with err 0", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      const reply = await raw.addAuth("digest", "alice:alice-secret");
      assert.equal(reply.xid, Xid.auth);
      assert.equal(reply.err, 0);
      assert.equal(reply.body.length, 0);
      ok(await raw.getData("/digest"), "getData after digest auth");
    } finally {
      await raw.close();
    }
  });

  test("authentication with an unknown scheme is AuthFailed (-115) on xid -4, then the connection closes", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      const reply = await raw.addAuth("nosuchscheme", "whatever");
      assert.equal(reply.xid, Xid.auth);
      assert.equal(reply.err, ErrorCode.authFailed);
      assert.ok(await raw.closesWithin(5_000), "the server closes the connection after AuthFailed");
    } finally {
      raw.destroy();
    }
  });
});
