// multi (op 14) against a real Maestro process, byte-checked with the raw
// client: one zxid for all ops, all-or-nothing, result types echoing the
// requests, and on failure the Java-compatible shape: ReplyHeader err 0,
// then per-op ErrorResults 0 / the code / -2 (zookeeper-protocol.md §3, §5.8).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type ServerProcess } from "../support/server-process.js";
import { decodeMultiResponse, ok, RawClient, readGetData, readStatBody, type MultiResult } from "../support/raw-client.js";
import { ErrorCode, OpCode } from "../../src/protocol/codes.js";
import { codeOf, ZkClient } from "../support/zk-client.js";

const testTimeoutMs = 30_000;

function shape(results: MultiResult[]): Array<[number, number]> {
  return results.map((result) => [result.type, result.err]);
}

describe("multi", { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let raw: RawClient;

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*" });
    raw = await RawClient.connect({ port: server.port });
    ok(await raw.create("/m"));
  });

  after(async () => {
    await raw?.close();
    await server?.stop();
  });

  test("a successful multi applies every op under one zxid and echoes each op's result type", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/existing", Buffer.from("old")));
    const reply = await raw.multi([
      { type: OpCode.create, path: "/m/a", data: Buffer.from("a") },
      { type: OpCode.create, path: "/m/a/child" },
      { type: OpCode.setData, path: "/m/existing", data: Buffer.from("new"), version: 0 },
      { type: OpCode.check, path: "/m/existing", version: 1 },
      { type: OpCode.create2, path: "/m/b", data: Buffer.from("bb") },
      { type: OpCode.delete, path: "/m/a/child", version: 0 },
    ]);
    assert.equal(reply.err, 0);
    const results = decodeMultiResponse(reply.body);
    assert.deepEqual(shape(results), [
      [OpCode.create, 0],
      [OpCode.create, 0],
      [OpCode.setData, 0],
      [OpCode.check, 0],
      [OpCode.create2, 0],
      [OpCode.delete, 0],
    ]);
    assert.equal(results[0]!.path, "/m/a");
    assert.equal(results[1]!.path, "/m/a/child");
    assert.equal(results[2]!.stat!.version, 1);
    assert.equal(results[4]!.path, "/m/b");
    const create2Stat = results[4]!.stat!;
    assert.equal(create2Stat.dataLength, 2);
    assert.equal(create2Stat.version, 0);

    // One zxid for the whole transaction.
    const zxid = create2Stat.czxid;
    assert.equal(results[2]!.stat!.mzxid, zxid);
    assert.equal(reply.zxid, zxid, "the reply header carries the transaction's zxid");
    const a = readGetData(ok(await raw.getData("/m/a")).body);
    assert.equal(a.stat.czxid, zxid);
    assert.deepEqual(a.data, Buffer.from("a"));
    assert.equal(a.stat.numChildren, 0);
    assert.equal(a.stat.cversion, 2, "child created and deleted inside the multi");
    assert.equal((await raw.exists("/m/a/child")).err, ErrorCode.noNode);
    assert.deepEqual(readGetData(ok(await raw.getData("/m/existing")).body).data, Buffer.from("new"));
    assert.deepEqual(raw.outOfOrder, []);
  });

  test("a failed multi answers header err 0, earlier ops 0, the failing op its code, later ops -2, and applies nothing", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/keep", Buffer.from("keep")));
    const reply = await raw.multi([
      { type: OpCode.create, path: "/m/x" },
      { type: OpCode.setData, path: "/m/keep", data: Buffer.from("changed") },
      { type: OpCode.delete, path: "/m/does-not-exist" },
      { type: OpCode.create, path: "/m/y" },
      { type: OpCode.setData, path: "/m/keep", data: Buffer.from("changed again") },
    ]);
    assert.equal(reply.err, 0, "ReplyHeader err stays 0 for a failed multi");
    const results = decodeMultiResponse(reply.body);
    assert.deepEqual(shape(results), [
      [-1, 0],
      [-1, 0],
      [-1, ErrorCode.noNode],
      [-1, ErrorCode.runtimeInconsistency],
      [-1, ErrorCode.runtimeInconsistency],
    ]);
    assert.equal((await raw.exists("/m/x")).err, ErrorCode.noNode);
    assert.equal((await raw.exists("/m/y")).err, ErrorCode.noNode);
    const keep = readGetData(ok(await raw.getData("/m/keep")).body);
    assert.deepEqual(keep.data, Buffer.from("keep"));
    assert.equal(keep.stat.version, 0);
  });

  test("the failing op's code is reported at its index: BadVersion on check, NodeExists on create, NotEmpty on delete", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/full"));
    ok(await raw.create("/m/full/child"));
    const cases: Array<[string, Parameters<RawClient["multi"]>[0], Array<[number, number]>]> = [
      [
        "check with a wrong version",
        [
          { type: OpCode.check, path: "/m/full", version: 5 },
          { type: OpCode.create, path: "/m/never" },
        ],
        [
          [-1, ErrorCode.badVersion],
          [-1, ErrorCode.runtimeInconsistency],
        ],
      ],
      [
        "create of an existing node",
        [
          { type: OpCode.create, path: "/m/never" },
          { type: OpCode.create, path: "/m/full" },
        ],
        [
          [-1, 0],
          [-1, ErrorCode.nodeExists],
        ],
      ],
      [
        "delete of a node with children",
        [
          { type: OpCode.setData, path: "/m/full", data: Buffer.from("x") },
          { type: OpCode.delete, path: "/m/full" },
          { type: OpCode.check, path: "/m/full", version: 0 },
        ],
        [
          [-1, 0],
          [-1, ErrorCode.notEmpty],
          [-1, ErrorCode.runtimeInconsistency],
        ],
      ],
      [
        "check on a missing node",
        [{ type: OpCode.check, path: "/m/nothing-here", version: -1 }],
        [[-1, ErrorCode.noNode]],
      ],
    ];
    for (const [what, ops, expected] of cases) {
      const reply = await raw.multi(ops);
      assert.equal(reply.err, 0, `${what}: header err`);
      assert.deepEqual(shape(decodeMultiResponse(reply.body)), expected, what);
    }
    assert.equal((await raw.exists("/m/never")).err, ErrorCode.noNode);
    assert.equal(readStatBody(ok(await raw.exists("/m/full")).body).version, 0);
  });

  test("a failed multi fires no watches", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/watched", Buffer.from("w")));
    const watcher = await RawClient.connect({ port: server.port });
    try {
      ok(await watcher.getData("/m/watched", true));
      ok(await watcher.getChildren("/m", true));
      const reply = await raw.multi([
        { type: OpCode.setData, path: "/m/watched", data: Buffer.from("changed") },
        { type: OpCode.create, path: "/m/new-child" },
        { type: OpCode.check, path: "/m/watched", version: 99 },
      ]);
      assert.deepEqual(shape(decodeMultiResponse(reply.body)), [
        [-1, 0],
        [-1, 0],
        [-1, ErrorCode.badVersion],
      ]);
      ok(await watcher.exists("/"));
      assert.deepEqual(watcher.notifications(), [], "nothing happened, so nothing fires");
      ok(await raw.setData("/m/watched", Buffer.from("really")));
      await watcher.waitForNotification({ path: "/m/watched" });
    } finally {
      await watcher.close();
    }
  });

  test("check inside a multi needs READ: NoAuth before BadVersion", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/unreadable", null, 0, [{ perms: 31 & ~1, id: { scheme: "world", id: "anyone" } }]));
    const reply = await raw.multi([{ type: OpCode.check, path: "/m/unreadable", version: 7 }]);
    assert.equal(reply.err, 0);
    assert.deepEqual(shape(decodeMultiResponse(reply.body)), [[-1, ErrorCode.noAuth]]);
  });

  test("later ops see earlier ops of the same multi: delete then re-create, create then create a child", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/cycle", Buffer.from("1")));
    const reply = await raw.multi([
      { type: OpCode.delete, path: "/m/cycle" },
      { type: OpCode.create, path: "/m/cycle", data: Buffer.from("2") },
      { type: OpCode.create, path: "/m/cycle/kid" },
      { type: OpCode.check, path: "/m/cycle", version: 0 },
    ]);
    assert.equal(reply.err, 0);
    assert.deepEqual(shape(decodeMultiResponse(reply.body)), [
      [OpCode.delete, 0],
      [OpCode.create, 0],
      [OpCode.create, 0],
      [OpCode.check, 0],
    ]);
    assert.deepEqual(readGetData(ok(await raw.getData("/m/cycle")).body).data, Buffer.from("2"));
  });

  test("sequential and ephemeral creates inside a multi get their suffix and owner", { timeout: testTimeoutMs }, async () => {
    ok(await raw.create("/m/seq"));
    const reply = await raw.multi([
      { type: OpCode.create, path: "/m/seq/s-", flags: 2 },
      { type: OpCode.create2, path: "/m/seq/e-", flags: 3 },
    ]);
    assert.equal(reply.err, 0);
    const results = decodeMultiResponse(reply.body);
    assert.equal(results[0]!.path, "/m/seq/s-0000000000");
    assert.equal(results[1]!.path, "/m/seq/e-0000000001");
    assert.equal(results[1]!.stat!.ephemeralOwner, raw.sessionId);
  });

  test("an empty multi succeeds with no results", { timeout: testTimeoutMs }, async () => {
    const reply = await raw.multi([]);
    assert.equal(reply.err, 0);
    assert.deepEqual(decodeMultiResponse(reply.body), []);
  });

  test("node-zookeeper-client's transaction sees the first failing op's code", { timeout: testTimeoutMs }, async () => {
    const client = await ZkClient.connect(server.connectString);
    try {
      const committed = await new Promise<{ error: unknown; results: Array<{ type: number; err?: number }> }>((resolveCommit) =>
        client.client
          .transaction()
          .create("/m/tx-a")
          .check("/m/tx-a", 3)
          .create("/m/tx-b")
          .commit((error, results) => resolveCommit({ error, results })),
      );
      assert.equal(codeOf(committed.error), ErrorCode.badVersion);
      assert.deepEqual(
        committed.results.map((result) => [result.type, result.err]),
        [
          [-1, 0],
          [-1, ErrorCode.badVersion],
          [-1, ErrorCode.runtimeInconsistency],
        ],
      );
      assert.equal(await client.exists("/m/tx-a"), null);
      const success = await new Promise<{ error: unknown; results: Array<{ type: number; path?: string }> }>((resolveCommit) =>
        client.client
          .transaction()
          .create("/m/tx-a", Buffer.from("a"))
          .setData("/m/tx-a", Buffer.from("b"), 0)
          .remove("/m/tx-a", 1)
          .commit((error, results) => resolveCommit({ error, results })),
      );
      assert.equal(success.error ?? null, null);
      assert.deepEqual(
        success.results.map((result) => result.type),
        [OpCode.create, OpCode.setData, OpCode.delete],
      );
      assert.equal(await client.exists("/m/tx-a"), null);
    } finally {
      await client.close();
    }
  });
});
