// The basic znode API through an unmodified foreign client
// (node-zookeeper-client) against a real Maestro process: create modes,
// sequential names, versions, the API errors and the Stat fields, checked
// against ZooKeeper's behaviour (zookeeper-protocol.md §3, §5.1–§5.3).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type ServerProcess } from "../support/server-process.js";
import { CreateMode, longOf, rejectsWithCode, ZkClient } from "../support/zk-client.js";
import { ok, RawClient, readCreatePath, readGetData, readStatBody } from "../support/raw-client.js";
import { ErrorCode } from "../../src/protocol/codes.js";

const testTimeoutMs = 30_000;

describe("client basics (node-zookeeper-client)", { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let client: ZkClient;

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*" });
    client = await ZkClient.connect(server.connectString);
  });

  after(async () => {
    await client?.close();
    await server?.stop();
  });

  test("a persistent node is created with its data, version 0 and no ephemeral owner", { timeout: testTimeoutMs }, async () => {
    const path = await client.create("/persistent", Buffer.from("hello"), CreateMode.PERSISTENT);
    assert.equal(path, "/persistent");
    const { data, stat } = await client.getData("/persistent");
    assert.deepEqual(data, Buffer.from("hello"));
    assert.equal(stat.version, 0);
    assert.equal(stat.cversion, 0);
    assert.equal(stat.aversion, 0);
    assert.equal(longOf(stat.ephemeralOwner), 0n);
    assert.equal(stat.dataLength, 5);
    assert.equal(stat.numChildren, 0);
  });

  test("an ephemeral node's ephemeralOwner is the creating session's id", { timeout: testTimeoutMs }, async () => {
    await client.create("/ephemeral", Buffer.from("e"), CreateMode.EPHEMERAL);
    const stat = await client.stat("/ephemeral");
    assert.equal(longOf(stat.ephemeralOwner), client.sessionId);
    assert.notEqual(client.sessionId, 0n);
  });

  test("sequential names are %010d of the parent's creation counter, which deletes do not reduce", { timeout: testTimeoutMs }, async () => {
    await client.create("/seq");
    await client.create("/seq/plain");
    await client.remove("/seq/plain");
    assert.equal(await client.create("/seq/n-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/seq/n-0000000001");
    assert.equal(await client.create("/seq/n-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/seq/n-0000000002");
    const ephemeral = await client.create("/seq/e-", null, CreateMode.EPHEMERAL_SEQUENTIAL);
    assert.equal(ephemeral, "/seq/e-0000000003");
    assert.equal(longOf((await client.stat(ephemeral)).ephemeralOwner), client.sessionId);
    const { children } = await client.getChildren("/seq");
    assert.deepEqual(children.sort(), ["e-0000000003", "n-0000000001", "n-0000000002"]);
  });

  test("a sequential create may end in '/': the name is the suffix alone", { timeout: testTimeoutMs }, async () => {
    // node-zookeeper-client refuses a trailing '/', ZooKeeper does not (the
    // path is validated after the suffix is appended).
    const raw = await RawClient.connect({ port: server.port });
    try {
      ok(await raw.create("/seq-bare"));
      assert.equal(readCreatePath(ok(await raw.create("/seq-bare/", null, 2)).body), "/seq-bare/0000000000");
      assert.equal(readCreatePath(ok(await raw.create("/seq-bare/", null, 2)).body), "/seq-bare/0000000001");
      const plain = await raw.create("/seq-bare/", null, 0);
      assert.equal(plain.err, ErrorCode.badArguments, "a non-sequential path ending in '/' is invalid");
    } finally {
      await raw.close();
    }
  });

  test("the parent's visible cversion counts creates plus deletes; numChildren counts children", { timeout: testTimeoutMs }, async () => {
    await client.create("/cv");
    await client.create("/cv/a");
    await client.create("/cv/b");
    await client.remove("/cv/a");
    await client.create("/cv/c");
    const stat = await client.stat("/cv");
    assert.equal(stat.cversion, 4, "3 creates + 1 delete");
    assert.equal(stat.numChildren, 2);
    assert.equal(stat.version, 0, "child changes leave the data version alone");
    // The next sequential suffix counts creations only (3), not deletes.
    assert.equal(await client.create("/cv/s", null, CreateMode.PERSISTENT_SEQUENTIAL), "/cv/s0000000003");
  });

  test("setData with the current version increments it; a stale version is BadVersion; -1 matches any", { timeout: testTimeoutMs }, async () => {
    await client.create("/versions", Buffer.from("v0"));
    const first = await client.setData("/versions", Buffer.from("v1"), 0);
    assert.equal(first.version, 1);
    await rejectsWithCode(client.setData("/versions", Buffer.from("stale"), 0), ErrorCode.badVersion, "setData with version 0");
    await rejectsWithCode(client.setData("/versions", Buffer.from("future"), 7), ErrorCode.badVersion, "setData with version 7");
    const second = await client.setData("/versions", Buffer.from("v2"), -1);
    assert.equal(second.version, 2);
    const { data } = await client.getData("/versions");
    assert.deepEqual(data, Buffer.from("v2"));
  });

  test("delete checks the version, and -1 deletes whatever the version", { timeout: testTimeoutMs }, async () => {
    await client.create("/del-version");
    await client.setData("/del-version", Buffer.from("x"));
    await rejectsWithCode(client.remove("/del-version", 0), ErrorCode.badVersion, "delete with version 0");
    await client.remove("/del-version", 1);
    assert.equal(await client.exists("/del-version"), null);
    await client.create("/del-any");
    await client.setData("/del-any", Buffer.from("x"));
    await client.remove("/del-any", -1);
    assert.equal(await client.exists("/del-any"), null);
  });

  test("delete checks the version before emptiness: BadVersion wins over NotEmpty", { timeout: testTimeoutMs }, async () => {
    await client.create("/del-order");
    await client.create("/del-order/child");
    await rejectsWithCode(client.remove("/del-order", 5), ErrorCode.badVersion, "wrong version on a non-empty node");
    await rejectsWithCode(client.remove("/del-order", 0), ErrorCode.notEmpty, "right version on a non-empty node");
  });

  test("creating an existing node is NodeExists", { timeout: testTimeoutMs }, async () => {
    await client.create("/exists-twice");
    await rejectsWithCode(client.create("/exists-twice"), ErrorCode.nodeExists);
    await rejectsWithCode(client.create("/exists-twice", null, CreateMode.EPHEMERAL), ErrorCode.nodeExists);
  });

  test("a missing node or parent is NoNode for create, getData, setData, delete, getChildren and getACL", { timeout: testTimeoutMs }, async () => {
    await rejectsWithCode(client.create("/no-parent/child"), ErrorCode.noNode, "create under a missing parent");
    await rejectsWithCode(client.getData("/missing"), ErrorCode.noNode, "getData");
    await rejectsWithCode(client.setData("/missing", Buffer.from("x")), ErrorCode.noNode, "setData");
    await rejectsWithCode(client.remove("/missing"), ErrorCode.noNode, "delete");
    await rejectsWithCode(client.getChildren("/missing"), ErrorCode.noNode, "getChildren");
    await rejectsWithCode(client.getACL("/missing"), ErrorCode.noNode, "getACL");
    assert.equal(await client.exists("/missing"), null);
  });

  test("deleting a node that has children is NotEmpty", { timeout: testTimeoutMs }, async () => {
    await client.create("/parent");
    await client.create("/parent/child");
    await rejectsWithCode(client.remove("/parent"), ErrorCode.notEmpty);
    await client.remove("/parent/child");
    await client.remove("/parent");
  });

  test("an ephemeral node cannot have children: NoChildrenForEphemerals", { timeout: testTimeoutMs }, async () => {
    await client.create("/eph-parent", null, CreateMode.EPHEMERAL);
    await rejectsWithCode(client.create("/eph-parent/child"), ErrorCode.noChildrenForEphemerals, "persistent child");
    await rejectsWithCode(
      client.create("/eph-parent/child", null, CreateMode.EPHEMERAL_SEQUENTIAL),
      ErrorCode.noChildrenForEphemerals,
      "ephemeral sequential child",
    );
  });

  test("getChildren returns every child name and the parent's Stat", { timeout: testTimeoutMs }, async () => {
    await client.create("/kids");
    const names = ["a", "b", "c-d", "ünïcödé", "x".repeat(200)];
    for (const name of names) await client.create(`/kids/${name}`, Buffer.from(name));
    const { children, stat } = await client.getChildren("/kids");
    assert.deepEqual([...children].sort(), [...names].sort());
    assert.equal(stat.numChildren, names.length);
    assert.deepEqual((await client.getChildren("/kids/a")).children, []);
    const root = await client.getChildren("/");
    assert.ok(root.children.includes("kids"));
    assert.ok(root.children.includes("zookeeper"));
  });

  test("Stat: czxid = mzxid = pzxid on create; setData moves mzxid, mtime, version and dataLength", { timeout: testTimeoutMs }, async () => {
    const before = BigInt(Date.now());
    await client.create("/stat", Buffer.from("abc"));
    const created = await client.stat("/stat");
    const czxid = longOf(created.czxid);
    assert.ok(czxid > 0n);
    assert.equal(longOf(created.mzxid), czxid);
    assert.equal(longOf(created.pzxid), czxid);
    assert.equal(longOf(created.ctime), longOf(created.mtime));
    const ctime = longOf(created.ctime);
    assert.ok(ctime >= before - 5_000n && ctime <= BigInt(Date.now()) + 5_000n, `ctime ${ctime} is milliseconds since the epoch`);
    assert.equal(created.dataLength, 3);

    const changed = await client.setData("/stat", Buffer.from("abcdefgh"));
    assert.equal(longOf(changed.czxid), czxid);
    assert.ok(longOf(changed.mzxid) > czxid);
    assert.equal(longOf(changed.pzxid), czxid, "setData does not touch pzxid");
    assert.equal(longOf(changed.ctime), ctime);
    assert.ok(longOf(changed.mtime) >= ctime);
    assert.equal(changed.version, 1);
    assert.equal(changed.dataLength, 8);
  });

  test("Stat: a child create sets the parent's pzxid to its czxid; a delete moves pzxid only", { timeout: testTimeoutMs }, async () => {
    await client.create("/pz");
    const parentBefore = await client.stat("/pz");
    await client.create("/pz/child");
    const child = await client.stat("/pz/child");
    const parentAfterCreate = await client.stat("/pz");
    assert.equal(longOf(parentAfterCreate.pzxid), longOf(child.czxid));
    assert.equal(longOf(parentAfterCreate.mzxid), longOf(parentBefore.mzxid), "a child create leaves mzxid alone");
    assert.equal(parentAfterCreate.cversion, 1);
    await client.remove("/pz/child");
    const parentAfterDelete = await client.stat("/pz");
    assert.ok(longOf(parentAfterDelete.pzxid) > longOf(child.czxid));
    assert.equal(longOf(parentAfterDelete.mzxid), longOf(parentBefore.mzxid));
    assert.equal(parentAfterDelete.cversion, 2);
    assert.equal(parentAfterDelete.numChildren, 0);
  });

  test("setACL increments aversion and leaves version alone", { timeout: testTimeoutMs }, async () => {
    await client.create("/aversion");
    const stat = await client.setACL("/aversion", (await client.getACL("/aversion")).acls, 0);
    assert.equal(stat.aversion, 1);
    assert.equal(stat.version, 0);
    await rejectsWithCode(client.setACL("/aversion", (await client.getACL("/aversion")).acls, 0), ErrorCode.badVersion, "stale aversion");
  });

  test("null data round-trips as null with dataLength 0; empty data stays empty", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      assert.equal(readCreatePath(ok(await raw.create("/null-data", null)).body), "/null-data");
      const nullData = readGetData(ok(await raw.getData("/null-data")).body);
      assert.equal(nullData.data, null, "data written as -1 comes back as -1");
      assert.equal(nullData.stat.dataLength, 0);
      ok(await raw.create("/empty-data", Buffer.alloc(0)));
      const empty = readGetData(ok(await raw.getData("/empty-data")).body);
      assert.deepEqual(empty.data, Buffer.alloc(0));
      assert.equal(empty.stat.dataLength, 0);
      const cleared = readStatBody(ok(await raw.setData("/empty-data", null)).body);
      assert.equal(cleared.dataLength, 0);
      assert.equal(readGetData(ok(await raw.getData("/empty-data")).body).data, null);
      assert.deepEqual(raw.outOfOrder, []);
    } finally {
      await raw.close();
    }
  });

  test("pipelined writes and reads on one connection are answered in order, each read seeing the writes before it", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      ok(await raw.create("/pipeline", Buffer.from("0")));
      const pending: Array<Promise<{ kind: "set" | "get"; round: number; reply: Awaited<ReturnType<RawClient["getData"]>> }>> = [];
      for (let round = 1; round <= 50; round++) {
        pending.push(raw.setData("/pipeline", Buffer.from(String(round))).then((reply) => ({ kind: "set" as const, round, reply })));
        pending.push(raw.getData("/pipeline").then((reply) => ({ kind: "get" as const, round, reply })));
      }
      let lastZxid = 0n;
      for (const { kind, round, reply } of await Promise.all(pending)) {
        ok(reply, `${kind} ${round}`);
        assert.ok(reply.zxid >= lastZxid, "reply zxids never go backwards on a connection");
        lastZxid = reply.zxid;
        if (kind === "set") assert.equal(readStatBody(reply.body).version, round);
        else assert.deepEqual(readGetData(reply.body).data, Buffer.from(String(round)), `read ${round} sees write ${round}`);
      }
      assert.deepEqual(raw.outOfOrder, []);
    } finally {
      await raw.close();
    }
  });

  test("the built-in /zookeeper nodes have zero stats, and /zookeeper/config is read-only for the world", { timeout: testTimeoutMs }, async () => {
    for (const path of ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"]) {
      const stat = await client.stat(path);
      for (const field of ["czxid", "mzxid", "ctime", "mtime", "pzxid"] as const) {
        assert.equal(longOf(stat[field]), 0n, `${path} ${field}`);
      }
      assert.equal(stat.version, 0, `${path} version`);
      assert.equal(longOf(stat.ephemeralOwner), 0n);
    }
    assert.deepEqual((await client.getChildren("/zookeeper")).children.sort(), ["config", "quota"]);
    const { acls } = await client.getACL("/zookeeper/config");
    assert.deepEqual(
      acls.map((entry) => `${entry.permission} ${entry.id.scheme}:${entry.id.id}`),
      ["1 world:anyone"],
    );
    await rejectsWithCode(client.setData("/zookeeper/config", Buffer.from("x")), ErrorCode.noAuth, "setData /zookeeper/config");
    await rejectsWithCode(client.create("/zookeeper/config/child"), ErrorCode.noAuth, "create under /zookeeper/config");
  });

  test("the built-in nodes exist and special paths cannot be deleted (BadArguments)", { timeout: testTimeoutMs }, async () => {
    for (const path of ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]) {
      assert.notEqual(await client.exists(path), null, `${path} exists`);
    }
    for (const path of ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]) {
      await rejectsWithCode(client.remove(path), ErrorCode.badArguments, `delete ${path}`);
    }
  });
});
