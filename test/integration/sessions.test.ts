// Sessions against a real Maestro process (zookeeper-protocol.md §1, §5.6):
// timeout negotiation, the optional readOnly byte, expiry and closeSession
// deleting ephemerals, reconnecting after a TCP drop (through a proxy that
// cuts the connection), refused reconnects, a client zxid ahead of the
// server, and requests pipelined behind the ConnectRequest.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fourLetterWord, startServer, type ServerProcess } from "../support/server-process.js";
import {
  ConnectionClosedError,
  decodeServerFrame,
  encodeConnectRequest,
  encodeRequest,
  exchange,
  ok,
  openAcl,
  RawClient,
  readCreatePath,
  readGetData,
  readStatBody,
  splitFrames,
} from "../support/raw-client.js";
import { eventually, watchOnce, ZkClient, CreateMode, longOf } from "../support/zk-client.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { ErrorCode, EventType, OpCode } from "../../src/protocol/codes.js";
import { writeCreateRequest, writeGetDataRequest } from "../../src/protocol/records.generated.js";

const tickTimeMs = 250;
const minTimeoutMs = 2 * tickTimeMs;
const maxTimeoutMs = 20 * tickTimeMs;
const testTimeoutMs = 40_000;
/** The largest zxid: ahead of any server, whatever zxid it started from. */
const zxidMax = (1n << 63n) - 1n;
/** Generous bound for an expiry that should take about one timeout. */
const expiryBoundMs = 20_000;

describe("sessions", { timeout: 300_000 }, () => {
  let server: ServerProcess;
  let observer: RawClient;

  before(async () => {
    server = await startServer({ tickTimeMs, fourLetterWords: "*" });
    observer = await RawClient.connect({ port: server.port, timeOutMs: maxTimeoutMs });
  });

  after(async () => {
    await observer?.close();
    await server?.stop();
  });

  async function nodeExists(path: string): Promise<boolean> {
    const reply = await observer.exists(path);
    assert.ok(reply.err === 0 || reply.err === ErrorCode.noNode, `exists ${path}: err ${reply.err}`);
    return reply.err === 0;
  }

  test("the requested timeout is clamped to [2, 20] x tickTime", { timeout: testTimeoutMs }, async () => {
    const cases: Array<[number, number]> = [
      [-1, minTimeoutMs],
      [0, minTimeoutMs],
      [1, minTimeoutMs],
      [minTimeoutMs - 1, minTimeoutMs],
      [1_234, 1_234],
      [maxTimeoutMs + 1, maxTimeoutMs],
      [3_600_000, maxTimeoutMs],
    ];
    for (const [requested, negotiated] of cases) {
      const client = await RawClient.connect({ port: server.port, timeOutMs: requested });
      try {
        assert.equal(client.handshake.timeOut, negotiated, `requested ${requested}`);
        assert.equal(client.handshake.protocolVersion, 0);
        assert.notEqual(client.sessionId, 0n);
        assert.equal(client.passwd.length, 16);
      } finally {
        await client.close();
      }
    }
  });

  test("node-zookeeper-client gets the clamped timeout too", { timeout: testTimeoutMs }, async () => {
    const client = await ZkClient.connect(server.connectString, { sessionTimeout: 3_600_000 });
    try {
      assert.equal(client.client.getSessionTimeout(), maxTimeoutMs);
    } finally {
      await client.close();
    }
  });

  test("a new session (id 0) does not depend on the password bytes sent", { timeout: testTimeoutMs }, async () => {
    for (const passwd of [Buffer.alloc(0), Buffer.alloc(16, 0xab), Buffer.alloc(3)]) {
      const client = await RawClient.connect({ port: server.port, passwd });
      try {
        assert.ok(client.handshake.timeOut > 0, `passwd of ${passwd.length} bytes`);
        assert.notEqual(client.sessionId, 0n);
        assert.equal(client.passwd.length, 16);
        ok(await client.exists("/"));
      } finally {
        await client.close();
      }
    }
  });

  test("the readOnly byte is echoed only when sent: 44-byte request → 36-byte body, 45 → 37", { timeout: testTimeoutMs }, async () => {
    assert.equal(encodeConnectRequest({ sendReadOnly: false }).length, 4 + 44);
    assert.equal(encodeConnectRequest({ sendReadOnly: true }).length, 4 + 45);
    const without = await RawClient.connect({ port: server.port, sendReadOnly: false });
    const withByte = await RawClient.connect({ port: server.port, sendReadOnly: true });
    try {
      assert.equal(without.handshake.bodyBytes, 36);
      assert.equal(without.handshake.readOnly, null);
      assert.equal(withByte.handshake.bodyBytes, 37);
      assert.equal(withByte.handshake.readOnly, false);
      ok(await without.exists("/"), "a 44-byte client is served");
    } finally {
      await without.close();
      await withByte.close();
    }
  });

  test("an expired session's ephemerals are deleted and another session's watch hears NodeDeleted", { timeout: testTimeoutMs }, async () => {
    ok(await observer.create("/expiry"));
    const doomed = await RawClient.connect({ port: server.port, timeOutMs: minTimeoutMs, autoPing: false });
    ok(await doomed.create("/expiry/e", Buffer.from("bye"), CreateMode.EPHEMERAL));
    ok(await doomed.create("/expiry/s-", null, CreateMode.EPHEMERAL_SEQUENTIAL));
    const watcher = await ZkClient.connect(server.connectString, { sessionTimeout: maxTimeoutMs });
    try {
      const deleted = watchOnce(expiryBoundMs);
      const children = watchOnce(expiryBoundMs);
      assert.notEqual(await watcher.exists("/expiry/e", deleted.watcher), null);
      await watcher.getChildren("/expiry", children.watcher);
      // The doomed client now stays silent: no pings, so the session expires.
      const event = await deleted.event;
      assert.equal(event.getType(), EventType.nodeDeleted);
      assert.equal(event.getPath(), "/expiry/e");
      assert.equal((await children.event).getType(), EventType.nodeChildrenChanged);
      assert.equal(await watcher.exists("/expiry/e"), null);
      assert.deepEqual((await watcher.getChildren("/expiry")).children, []);
      assert.ok(await doomed.closesWithin(expiryBoundMs), "the server closes an expired session's connection");

      const again = await RawClient.connect({ port: server.port, sessionId: doomed.sessionId, passwd: doomed.passwd });
      assert.equal(again.handshake.timeOut, 0, "an expired session cannot be resumed");
      assert.equal(again.handshake.sessionId, 0n);
      assert.ok(await again.closesWithin(5_000));
    } finally {
      doomed.destroy();
      await watcher.close();
    }
  });

  test("closeSession deletes the session's ephemerals before its reply, then the server closes", { timeout: testTimeoutMs }, async () => {
    ok(await observer.create("/closing"));
    const client = await RawClient.connect({ port: server.port });
    ok(await client.create("/closing/e", null, CreateMode.EPHEMERAL));
    ok(await observer.exists("/closing/e", true));
    const xid = client.peekXid();
    const reply = await client.request(OpCode.closeSession);
    assert.equal(reply.xid, xid);
    assert.equal(reply.err, 0);
    assert.equal(await nodeExists("/closing/e"), false, "gone as soon as closeSession is answered");
    await observer.waitForNotification({ type: EventType.nodeDeleted, path: "/closing/e" });
    assert.ok(await client.closesWithin(5_000), "the server closes the connection after closeSession");
  });

  test("a session survives a dropped TCP connection: node-zookeeper-client reconnects to it and its ephemerals stay", { timeout: testTimeoutMs }, async () => {
    const proxy = await TcpProxy.start(server.port);
    const client = await ZkClient.connect(proxy.connectString, { sessionTimeout: maxTimeoutMs, spinDelay: 100 });
    try {
      await client.create("/survivor", null, CreateMode.EPHEMERAL);
      const sessionId = client.sessionId;
      const reconnected = new Promise<void>((resolveReconnect) => client.client.once("connected", () => resolveReconnect()));
      proxy.dropConnections();
      await reconnected;
      assert.equal(client.sessionId, sessionId, "same session after reconnecting");
      assert.ok(proxy.accepted >= 2, "the client really reconnected");
      const stat = await client.stat("/survivor");
      assert.equal(longOf(stat.ephemeralOwner), sessionId);
      assert.equal(await nodeExists("/survivor"), true);
    } finally {
      await client.close();
      await proxy.close();
    }
    assert.equal(await nodeExists("/survivor"), false, "closing the session deletes it");
  });

  test("a raw client reconnects with session id and password after a TCP drop; the ephemeral stays until expiry", { timeout: testTimeoutMs }, async () => {
    const first = await RawClient.connect({ port: server.port, timeOutMs: maxTimeoutMs });
    ok(await first.create("/raw-survivor", null, CreateMode.EPHEMERAL));
    const localPort = first.localPort;
    first.destroy();
    // Wait until the server has seen the connection go (cons no longer lists it).
    await eventually(
      async () => !(await fourLetterWord(server.port, "cons")).includes(`:${localPort}[`),
      10_000,
      "the server to notice the dropped connection",
      100,
    );
    assert.equal(await nodeExists("/raw-survivor"), true, "a TCP drop does not end the session");
    const second = await RawClient.connect({
      port: server.port,
      timeOutMs: maxTimeoutMs,
      sessionId: first.sessionId,
      passwd: first.passwd,
      lastZxidSeen: first.lastZxid,
    });
    try {
      assert.equal(second.sessionId, first.sessionId);
      assert.equal(second.handshake.timeOut, maxTimeoutMs);
      assert.deepEqual(second.passwd, first.passwd);
      const stat = readStatBody(ok(await second.exists("/raw-survivor")).body);
      assert.equal(stat.ephemeralOwner, first.sessionId);
    } finally {
      await second.close();
    }
    assert.equal(await nodeExists("/raw-survivor"), false);
  });

  test("a session dropped without reconnecting expires and loses its ephemerals", { timeout: testTimeoutMs }, async () => {
    const proxy = await TcpProxy.start(server.port);
    const client = await RawClient.connect({ port: proxy.port, timeOutMs: minTimeoutMs });
    try {
      ok(await client.create("/abandoned", null, CreateMode.EPHEMERAL));
      proxy.dropConnections();
      await eventually(async () => !(await nodeExists("/abandoned")), expiryBoundMs, "the abandoned session to expire", 100);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  test("node-zookeeper-client hears Expired when it comes back after its session expired", { timeout: testTimeoutMs }, async () => {
    const proxy = await TcpProxy.start(server.port);
    const client = await ZkClient.connect(proxy.connectString, { sessionTimeout: minTimeoutMs, spinDelay: 100 });
    try {
      await client.create("/partitioned", null, CreateMode.EPHEMERAL);
      const expired = new Promise<void>((resolveExpired) => client.client.once("expired", () => resolveExpired()));
      proxy.refusing = true;
      proxy.dropConnections();
      await eventually(async () => !(await nodeExists("/partitioned")), expiryBoundMs, "the partitioned session to expire", 100);
      proxy.refusing = false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        expired,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no expired event from node-zookeeper-client")), 15_000);
        }),
      ]);
      clearTimeout(timer);
    } finally {
      client.client.close();
      await proxy.close();
    }
  });

  test("closing a session deletes only the ephemerals it still owns, not a node re-created at the same path", { timeout: testTimeoutMs }, async () => {
    const owner = await RawClient.connect({ port: server.port });
    ok(await owner.create("/recreated", null, CreateMode.EPHEMERAL));
    ok(await owner.create("/recreated-ephemeral", null, CreateMode.EPHEMERAL));
    ok(await observer.delete("/recreated"));
    ok(await observer.create("/recreated", Buffer.from("persistent now")));
    ok(await observer.delete("/recreated-ephemeral"));
    const other = await RawClient.connect({ port: server.port });
    ok(await other.create("/recreated-ephemeral", null, CreateMode.EPHEMERAL));
    await owner.close();
    try {
      const stat = readStatBody(ok(await observer.exists("/recreated")).body);
      assert.equal(stat.ephemeralOwner, 0n);
      const otherStat = readStatBody(ok(await observer.exists("/recreated-ephemeral"), "another session's ephemeral survives").body);
      assert.equal(otherStat.ephemeralOwner, other.sessionId);
    } finally {
      await other.close();
    }
    assert.equal(await nodeExists("/recreated-ephemeral"), false);
  });

  test("a valid reconnect closes the older connection holding the session", { timeout: testTimeoutMs }, async () => {
    const older = await RawClient.connect({ port: server.port, timeOutMs: maxTimeoutMs });
    const newer = await RawClient.connect({ port: server.port, sessionId: older.sessionId, passwd: older.passwd, timeOutMs: maxTimeoutMs });
    try {
      assert.equal(newer.sessionId, older.sessionId);
      assert.ok(await older.closesWithin(5_000), "the older connection is closed");
      ok(await newer.exists("/"));
    } finally {
      older.destroy();
      await newer.close();
    }
  });

  test("a wrong password or an unknown session gets ConnectResponse(timeOut 0, sessionId 0, 16 zero bytes), then close", { timeout: testTimeoutMs }, async () => {
    const owner = await RawClient.connect({ port: server.port, timeOutMs: maxTimeoutMs });
    try {
      ok(await owner.create("/owned", null, CreateMode.EPHEMERAL));
      const wrongPassword = Buffer.from(owner.passwd);
      wrongPassword[0] = wrongPassword[0]! ^ 0xff;
      const attempts = [
        { what: "wrong password", sessionId: owner.sessionId, passwd: wrongPassword },
        { what: "unknown session", sessionId: 0x0123456789abcdefn, passwd: Buffer.alloc(16, 7) },
      ];
      for (const { what, sessionId, passwd } of attempts) {
        for (const sendReadOnly of [false, true]) {
          const refused = await RawClient.connect({ port: server.port, sessionId, passwd, sendReadOnly });
          assert.equal(refused.handshake.protocolVersion, 0, what);
          assert.equal(refused.handshake.timeOut, 0, what);
          assert.equal(refused.handshake.sessionId, 0n, what);
          assert.deepEqual(refused.handshake.passwd, Buffer.alloc(16), what);
          assert.equal(refused.handshake.bodyBytes, sendReadOnly ? 37 : 36, `${what}: readOnly echoed only when sent`);
          assert.ok(await refused.closesWithin(5_000), `${what}: the server closes`);
        }
      }
      // As in ZooKeeper, an attempt on the session closes the connection holding
      // it before the password is checked; the session itself lives on.
      assert.ok(await owner.closesWithin(5_000), "the session's connection was closed by the attempt");
      assert.equal(await nodeExists("/owned"), true, "the refused attempts leave the session and its ephemerals alone");
      const resumed = await RawClient.connect({ port: server.port, sessionId: owner.sessionId, passwd: owner.passwd, timeOutMs: maxTimeoutMs });
      assert.equal(resumed.handshake.sessionId, owner.sessionId, "the right password still resumes the session");
      ok(await resumed.exists("/owned"));
      await resumed.close();
    } finally {
      await owner.close();
    }
  });

  test("a client whose lastZxidSeen is ahead of the server is closed without a reply", { timeout: testTimeoutMs }, async () => {
    const result = await exchange({
      port: server.port,
      chunks: [encodeConnectRequest({ lastZxidSeen: zxidMax })],
      waitMs: 10_000,
    });
    assert.equal(result.closed, true, "closed");
    assert.equal(result.received.length, 0, "no ConnectResponse");
    await assert.rejects(RawClient.connect({ port: server.port, lastZxidSeen: zxidMax, sendReadOnly: false }), ConnectionClosedError);
    // A zxid the server has reached is fine.
    ok(await observer.exists("/"));
    const fine = await RawClient.connect({ port: server.port, lastZxidSeen: observer.lastZxid });
    await fine.close();
  });

  test("requests pipelined behind the ConnectRequest are buffered and answered in order", { timeout: testTimeoutMs }, async () => {
    const pipelined = [
      encodeRequest(1, OpCode.create, (w) =>
        writeCreateRequest(w, { path: "/pipelined", data: Buffer.from("p"), acl: openAcl, flags: CreateMode.EPHEMERAL }),
      ),
      encodeRequest(2, OpCode.getData, (w) => writeGetDataRequest(w, { path: "/pipelined", watch: false })),
      encodeRequest(3, OpCode.getData, (w) => writeGetDataRequest(w, { path: "/not-there", watch: false })),
    ];
    const client = await RawClient.connect({ port: server.port, pipelined, firstXid: 100 });
    try {
      assert.ok(client.handshake.timeOut > 0);
      await client.waitUntil(() => client.replies().length >= 3, 10_000, "three pipelined replies");
      const replies = client.replies();
      assert.deepEqual(
        replies.map((reply) => [reply.xid, reply.err]),
        [
          [1, 0],
          [2, 0],
          [3, ErrorCode.noNode],
        ],
      );
      assert.equal(readCreatePath(replies[0]!.body), "/pipelined");
      assert.deepEqual(readGetData(replies[1]!.body).data, Buffer.from("p"));
      ok(await client.exists("/pipelined"));
    } finally {
      await client.close();
    }
  });

  test("the handshake and requests may arrive one byte at a time", { timeout: testTimeoutMs }, async () => {
    const bytes = Buffer.concat([
      encodeConnectRequest({ timeOutMs: maxTimeoutMs, sendReadOnly: false }),
      encodeRequest(1, OpCode.exists, (w) => {
        w.writeString("/");
        w.writeBool(false);
      }),
      encodeRequest(2, OpCode.closeSession),
    ]);
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    const result = await exchange({ port: server.port, chunks, chunkDelayMs: 1, waitMs: 20_000 });
    assert.equal(result.closed, true, "closed after closeSession");
    const { frames, rest } = splitFrames(result.received);
    assert.equal(rest.length, 0);
    assert.equal(frames.length, 3, "ConnectResponse and two replies");
    assert.equal(frames[0]!.length, 36);
    const replies = frames.slice(1).map(decodeServerFrame);
    assert.deepEqual(
      replies.map((frame) => (frame.kind === "reply" ? [frame.xid, frame.err] : [])),
      [
        [1, 0],
        [2, 0],
      ],
    );
  });

  test("a client that keeps pinging outlives its session timeout many times over", { timeout: testTimeoutMs }, async () => {
    const client = await RawClient.connect({ port: server.port, timeOutMs: 1_500 });
    try {
      ok(await client.create("/pinger", null, CreateMode.EPHEMERAL));
      await new Promise((resolveWait) => setTimeout(resolveWait, 4_000));
      assert.equal(client.closed, false);
      assert.ok(client.pingReplies >= 3, `ping replies: ${client.pingReplies}`);
      ok(await client.exists("/pinger"));
    } finally {
      await client.close();
    }
  });
});
