// Watches against a real Maestro process (zookeeper-protocol.md §5.4, §5.5):
// one-shot data/exist/child watches, NodeDeleted to data and child watchers,
// persistent and persistent-recursive watches (addWatch, op 106),
// removeWatches/checkWatches, notification-before-reply ordering and
// SetWatches replay on reconnect.
//
// Counting "no more events" relies on the ordering guarantee itself: a
// notification caused by a write is queued before the write's reply, so
// once the writer has its reply and the watcher has completed one more
// round trip, every event of that write has reached the watcher.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type ServerProcess } from "../support/server-process.js";
import { ok, RawClient, readGetData, readStatBody, type NotificationFrame } from "../support/raw-client.js";
import { AddWatchMode, ErrorCode, EventType, KeeperState, WatcherType, Xid } from "../../src/protocol/codes.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { watchOnce, ZkClient } from "../support/zk-client.js";

const testTimeoutMs = 30_000;

function eventsOf(client: RawClient): string[] {
  return client.notifications().map((event) => `${event.type} ${event.path}`);
}

/** One round trip on the watcher's connection: earlier events are in. */
async function settle(client: RawClient): Promise<void> {
  ok(await client.exists("/"), "settle round trip");
}

describe("watches", { timeout: 240_000 }, () => {
  let server: ServerProcess;
  let writer: RawClient;

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*" });
    writer = await RawClient.connect({ port: server.port });
  });

  after(async () => {
    await writer?.close();
    await server?.stop();
  });

  async function watcherClient(): Promise<RawClient> {
    return RawClient.connect({ port: server.port });
  }

  test("a data watch set by getData fires NodeDataChanged once, then is gone", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/data-watch", Buffer.from("0")));
    const watcher = await watcherClient();
    try {
      ok(await watcher.getData("/data-watch", true));
      ok(await writer.setData("/data-watch", Buffer.from("1")));
      const event = await watcher.waitForNotification({ path: "/data-watch" });
      assert.equal(event.type, EventType.nodeDataChanged);
      assert.equal(event.state, KeeperState.syncConnected);
      ok(await writer.setData("/data-watch", Buffer.from("2")));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), ["3 /data-watch"], "a standard watch is one-shot");
      assert.deepEqual(watcher.outOfOrder, []);
    } finally {
      await watcher.close();
    }
  });

  test("exists on a missing node answers NoNode and still sets a watch that fires NodeCreated", { timeout: testTimeoutMs }, async () => {
    const watcher = await watcherClient();
    try {
      assert.equal((await watcher.exists("/exist-watch", true)).err, ErrorCode.noNode);
      ok(await writer.create("/exist-watch"));
      await watcher.waitForNotification({ type: EventType.nodeCreated, path: "/exist-watch" });
      // getData on a missing node sets no watch.
      assert.equal((await watcher.getData("/exist-watch-2", true)).err, ErrorCode.noNode);
      assert.equal((await watcher.getChildren("/exist-watch-2", true)).err, ErrorCode.noNode);
      ok(await writer.create("/exist-watch-2"));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), ["1 /exist-watch"]);
    } finally {
      await watcher.close();
    }
  });

  test("a child watch fires NodeChildrenChanged on child create and delete, not on data changes", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/child-watch"));
    const watcher = await watcherClient();
    try {
      ok(await watcher.getChildren("/child-watch", true));
      ok(await writer.setData("/child-watch", Buffer.from("parent data")));
      ok(await writer.create("/child-watch/a"));
      await watcher.waitForNotification({ type: EventType.nodeChildrenChanged, path: "/child-watch" });
      ok(await watcher.getChildren2("/child-watch", true));
      ok(await writer.setData("/child-watch/a", Buffer.from("child data")));
      ok(await writer.delete("/child-watch/a"));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), ["4 /child-watch", "4 /child-watch"]);
    } finally {
      await watcher.close();
    }
  });

  test("a delete fires one NodeDeleted to a connection with data and child watches, and NodeChildrenChanged to the parent", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/del-watch"));
    ok(await writer.create("/del-watch/node"));
    const watcher = await watcherClient();
    const other = await watcherClient();
    try {
      ok(await watcher.getData("/del-watch/node", true));
      ok(await watcher.getChildren("/del-watch/node", true));
      ok(await watcher.getChildren("/del-watch", true));
      ok(await other.getChildren("/del-watch/node", true));
      ok(await writer.delete("/del-watch/node"));
      await settle(watcher);
      await settle(other);
      assert.deepEqual(eventsOf(watcher).sort(), ["2 /del-watch/node", "4 /del-watch"]);
      assert.deepEqual(eventsOf(other), ["2 /del-watch/node"], "a child watcher hears NodeDeleted too");
    } finally {
      await watcher.close();
      await other.close();
    }
  });

  test("exists and getData on the same path make a single watch: one event", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/single"));
    const watcher = await watcherClient();
    try {
      ok(await watcher.exists("/single", true));
      ok(await watcher.getData("/single", true));
      ok(await watcher.exists("/single", true));
      ok(await writer.setData("/single", Buffer.from("x")));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), ["3 /single"]);
    } finally {
      await watcher.close();
    }
  });

  test("a create fires NodeCreated and the parent's NodeChildrenChanged, not the parent's data watch; setACL fires nothing", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/create-fires"));
    const watcher = await watcherClient();
    try {
      assert.equal((await watcher.exists("/create-fires/kid", true)).err, ErrorCode.noNode);
      ok(await watcher.getData("/create-fires", true));
      ok(await watcher.getChildren("/create-fires", true));
      ok(await writer.create("/create-fires/kid"));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher).sort(), ["1 /create-fires/kid", "4 /create-fires"]);
      ok(await watcher.getData("/create-fires/kid", true));
      ok(await writer.setACL("/create-fires/kid", [{ perms: 31, id: { scheme: "world", id: "anyone" } }]));
      ok(await writer.setACL("/create-fires", [{ perms: 31, id: { scheme: "world", id: "anyone" } }]));
      await settle(watcher);
      assert.equal(eventsOf(watcher).length, 2, "setACL fires no watch");
    } finally {
      await watcher.close();
    }
  });

  test("watches are per connection: every watching connection is told", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/shared"));
    const watchers = await Promise.all([watcherClient(), watcherClient(), watcherClient()]);
    try {
      for (const watcher of watchers) ok(await watcher.getData("/shared", true));
      ok(await writer.setData("/shared", Buffer.from("x")));
      for (const watcher of watchers) {
        await settle(watcher);
        assert.deepEqual(eventsOf(watcher), ["3 /shared"]);
      }
    } finally {
      for (const watcher of watchers) await watcher.close();
    }
  });

  test("a multi fires the watches of each of its ops", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/multi-watch"));
    ok(await writer.create("/multi-watch/a"));
    const watcher = await watcherClient();
    try {
      ok(await watcher.getData("/multi-watch/a", true));
      ok(await watcher.getChildren("/multi-watch", true));
      const reply = await writer.multi([
        { type: 5, path: "/multi-watch/a", data: Buffer.from("x") },
        { type: 1, path: "/multi-watch/b" },
      ]);
      assert.equal(reply.err, 0);
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher).sort(), ["3 /multi-watch/a", "4 /multi-watch"]);
    } finally {
      await watcher.close();
    }
  });

  test("node-zookeeper-client: data, exist and child watchers fire", { timeout: testTimeoutMs }, async () => {
    const client = await ZkClient.connect(server.connectString);
    try {
      await client.create("/nzc");
      const data = watchOnce();
      const exist = watchOnce();
      const child = watchOnce();
      await client.getData("/nzc", data.watcher);
      assert.equal(await client.exists("/nzc/new", exist.watcher), null);
      await client.getChildren("/nzc", child.watcher);
      ok(await writer.setData("/nzc", Buffer.from("x")));
      ok(await writer.create("/nzc/new"));
      assert.equal((await data.event).getType(), EventType.nodeDataChanged);
      assert.equal((await exist.event).getType(), EventType.nodeCreated);
      assert.equal((await child.event).getType(), EventType.nodeChildrenChanged);
      assert.equal((await child.event).getPath(), "/nzc");
    } finally {
      await client.close();
    }
  });

  test("addWatch answers an ErrorResponse body of 0; a persistent watch fires on its node again and again", { timeout: testTimeoutMs }, async () => {
    const watcher = await watcherClient();
    try {
      const reply = ok(await watcher.addWatch("/persistent", AddWatchMode.persistent));
      assert.deepEqual(reply.body, Buffer.from([0, 0, 0, 0]), "addWatch replies with ErrorResponse{0}");
      ok(await writer.create("/persistent"));
      ok(await writer.setData("/persistent", Buffer.from("1")));
      ok(await writer.setData("/persistent", Buffer.from("2")));
      ok(await writer.create("/persistent/child"));
      ok(await writer.setData("/persistent/child", Buffer.from("not watched")));
      ok(await writer.create("/persistent/child/grandchild"));
      ok(await writer.delete("/persistent/child/grandchild"));
      ok(await writer.delete("/persistent/child"));
      ok(await writer.delete("/persistent"));
      ok(await writer.create("/persistent"));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), [
        "1 /persistent",
        "3 /persistent",
        "3 /persistent",
        "4 /persistent",
        "4 /persistent",
        "2 /persistent",
        "1 /persistent",
      ]);
    } finally {
      await watcher.close();
    }
  });

  test("a persistent recursive watch fires for every descendant and never NodeChildrenChanged", { timeout: testTimeoutMs }, async () => {
    const watcher = await watcherClient();
    try {
      ok(await watcher.addWatch("/rec", AddWatchMode.persistentRecursive));
      ok(await writer.create("/rec"));
      ok(await writer.create("/rec/a"));
      ok(await writer.create("/rec/a/b"));
      ok(await writer.setData("/rec/a/b", Buffer.from("x")));
      ok(await writer.create("/recx"));
      ok(await writer.setData("/recx", Buffer.from("sibling, not a descendant")));
      ok(await writer.delete("/rec/a/b"));
      ok(await writer.setData("/rec", Buffer.from("y")));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), [
        "1 /rec",
        "1 /rec/a",
        "1 /rec/a/b",
        "3 /rec/a/b",
        "2 /rec/a/b",
        "3 /rec",
      ]);
    } finally {
      await watcher.close();
    }
  });

  test("checkWatches and removeWatches find watches by type; with nothing to match they answer NoWatcher (-121)", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/rw"));
    const watcher = await watcherClient();
    try {
      assert.equal((await watcher.checkWatches("/rw", WatcherType.data)).err, ErrorCode.noWatcher);
      assert.equal((await watcher.removeWatches("/rw", WatcherType.any)).err, ErrorCode.noWatcher);

      ok(await watcher.getData("/rw", true));
      ok(await watcher.checkWatches("/rw", WatcherType.data));
      ok(await watcher.checkWatches("/rw", WatcherType.any));
      assert.equal((await watcher.checkWatches("/rw", WatcherType.children)).err, ErrorCode.noWatcher);
      assert.equal((await watcher.removeWatches("/rw", WatcherType.children)).err, ErrorCode.noWatcher);
      ok(await watcher.removeWatches("/rw", WatcherType.data));
      assert.equal((await watcher.checkWatches("/rw", WatcherType.data)).err, ErrorCode.noWatcher);
      assert.equal((await watcher.removeWatches("/rw", WatcherType.data)).err, ErrorCode.noWatcher);

      ok(await watcher.getChildren("/rw", true));
      ok(await watcher.exists("/rw", true));
      ok(await watcher.removeWatches("/rw", WatcherType.any));
      assert.equal((await watcher.checkWatches("/rw", WatcherType.any)).err, ErrorCode.noWatcher);

      ok(await watcher.addWatch("/rw", AddWatchMode.persistent));
      ok(await watcher.removeWatches("/rw", WatcherType.any));

      // An exists watch on a missing node is a data watch, and can be removed as one.
      assert.equal((await watcher.exists("/rw/not-yet", true)).err, ErrorCode.noNode);
      ok(await watcher.checkWatches("/rw/not-yet", WatcherType.data));
      ok(await watcher.removeWatches("/rw/not-yet", WatcherType.data));

      ok(await writer.setData("/rw", Buffer.from("x")));
      ok(await writer.create("/rw/child"));
      ok(await writer.create("/rw/not-yet"));
      await settle(watcher);
      assert.deepEqual(eventsOf(watcher), [], "removed watches fire nothing, and removal itself sends no event");
      // Another connection's watches are not this connection's to remove.
      ok(await writer.getData("/rw", true));
      assert.equal((await watcher.removeWatches("/rw", WatcherType.data)).err, ErrorCode.noWatcher);
      assert.deepEqual(watcher.outOfOrder, []);
    } finally {
      await watcher.close();
    }
  });

  test("on one connection, a watch event is delivered before the reply of the write that fired it", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/order-same", Buffer.from("0")));
    const client = await watcherClient();
    try {
      for (let round = 1; round <= 10; round++) {
        ok(await client.getData("/order-same", true));
        const setXid = client.peekXid();
        const set = client.setData("/order-same", Buffer.from(String(round)));
        const read = client.getData("/order-same");
        ok(await set);
        ok(await read);
        const events = client.frames
          .map((frame, index) => ({ frame, index }))
          .filter(({ frame }) => frame.kind === "notification");
        const eventIndex = events[events.length - 1]!.index;
        assert.equal(events.length, round);
        assert.ok(eventIndex < client.indexOfReply(setXid), `round ${round}: event before the setData reply; ${client.describeFrames()}`);
      }
      assert.deepEqual(client.outOfOrder, []);
    } finally {
      await client.close();
    }
  });

  test("a watcher sees the event before the reply of a later read that observes the change", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/order-cross", Buffer.from("0")));
    const watcher = await watcherClient();
    try {
      for (let round = 1; round <= 20; round++) {
        ok(await watcher.getData("/order-cross", true));
        ok(await writer.setData("/order-cross", Buffer.from(String(round))));
        const readXid = watcher.peekXid();
        const read = readGetData(ok(await watcher.getData("/order-cross")).body);
        assert.deepEqual(read.data, Buffer.from(String(round)));
        const readIndex = watcher.indexOfReply(readXid);
        const eventIndexes = watcher.frames.flatMap((frame, index) => (frame.kind === "notification" ? [index] : []));
        assert.equal(eventIndexes.length, round, `round ${round}: ${watcher.describeFrames()}`);
        assert.ok(eventIndexes[round - 1]! < readIndex, `round ${round}: the event precedes the read's reply`);
      }
    } finally {
      await watcher.close();
    }
  });

  test("under concurrent writers, replies stay in xid order with non-decreasing zxids and every data watch fires once per arming", { timeout: 60_000 }, async () => {
    const writers = await Promise.all([0, 1, 2, 3].map(() => watcherClient()));
    const watcher = await watcherClient();
    try {
      const paths = [0, 1, 2, 3].map((index) => `/busy-${index}`);
      for (const path of paths) ok(await writer.create(path, Buffer.from("0")));
      for (const path of paths) ok(await watcher.getData(path, true));
      const rounds = 60;
      await Promise.all(
        writers.map(async (client, index) => {
          const replies = [];
          for (let round = 0; round < rounds; round++) {
            const path = paths[(index + round) % paths.length]!;
            replies.push(client.setData(path, Buffer.from(`${index}:${round}`)));
            replies.push(client.getData(path));
            if (round % 10 === 9) {
              for (const reply of await Promise.all(replies.splice(0))) ok(reply);
            }
          }
          for (const reply of await Promise.all(replies)) ok(reply);
          let last = 0n;
          for (const reply of client.replies()) {
            assert.ok(reply.zxid >= last, `writer ${index}: zxid went from ${last} to ${reply.zxid}`);
            last = reply.zxid;
          }
          assert.deepEqual(client.outOfOrder, [], `writer ${index}`);
        }),
      );
      await settle(watcher);
      // Each path was armed once and changed many times: exactly one event each.
      assert.deepEqual(eventsOf(watcher).sort(), paths.map((path) => `3 ${path}`).sort());
    } finally {
      for (const client of writers) await client.close();
      await watcher.close();
    }
  });

  test("SetWatches on reconnect replays what changed after relativeZxid before its -8 reply, and re-arms the rest", { timeout: testTimeoutMs }, async () => {
    const paths = ["/sw", "/sw/changed", "/sw/deleted", "/sw/same", "/sw/parent", "/sw/gone-parent", "/sw/quiet"];
    for (const path of paths) ok(await writer.create(path));
    const first = await RawClient.connect({ port: server.port, timeOutMs: 10_000 });
    ok(await first.getData("/sw/changed", true));
    ok(await first.getData("/sw/deleted", true));
    ok(await first.getData("/sw/same", true));
    assert.equal((await first.exists("/sw/created", true)).err, ErrorCode.noNode);
    assert.equal((await first.exists("/sw/still-missing", true)).err, ErrorCode.noNode);
    ok(await first.getChildren("/sw/parent", true));
    ok(await first.getChildren("/sw/gone-parent", true));
    ok(await first.getChildren("/sw/quiet", true));
    const relativeZxid = first.lastZxid;
    first.destroy();
    await first.whenClosed;

    ok(await writer.setData("/sw/changed", Buffer.from("x")));
    ok(await writer.delete("/sw/deleted"));
    ok(await writer.create("/sw/created"));
    ok(await writer.create("/sw/parent/kid"));
    ok(await writer.delete("/sw/gone-parent"));

    const second = await RawClient.connect({
      port: server.port,
      timeOutMs: 10_000,
      sessionId: first.sessionId,
      passwd: first.passwd,
      lastZxidSeen: relativeZxid,
    });
    try {
      assert.equal(second.sessionId, first.sessionId);
      const reply = await second.setWatches({
        relativeZxid,
        dataWatches: ["/sw/changed", "/sw/deleted", "/sw/same"],
        existWatches: ["/sw/created", "/sw/still-missing"],
        childWatches: ["/sw/parent", "/sw/gone-parent", "/sw/quiet"],
      });
      assert.equal(reply.xid, Xid.setWatches);
      assert.equal(reply.err, 0);
      assert.equal(reply.body.length, 0);
      const replyIndex = second.indexOfReply(Xid.setWatches);
      const replayed = second.frames.slice(0, replyIndex).filter((frame): frame is NotificationFrame => frame.kind === "notification");
      assert.deepEqual(
        replayed.map((event) => `${event.type} ${event.path}`).sort(),
        ["1 /sw/created", "2 /sw/deleted", "2 /sw/gone-parent", "3 /sw/changed", "4 /sw/parent"],
        "replayed events all precede the -8 reply",
      );
      assert.equal(second.notifications().length, replayed.length);

      ok(await writer.setData("/sw/same", Buffer.from("now")));
      ok(await writer.create("/sw/still-missing"));
      ok(await writer.create("/sw/quiet/kid"));
      ok(await writer.setData("/sw/changed", Buffer.from("fired already")));
      await settle(second);
      assert.deepEqual(
        second.notifications().slice(replayed.length).map((event) => `${event.type} ${event.path}`),
        ["3 /sw/same", "1 /sw/still-missing", "4 /sw/quiet"],
        "re-armed watches fire once; replayed ones are spent",
      );
    } finally {
      await second.close();
    }
  });

  test("SetWatches2 re-adds persistent and recursive watches as they are", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/sw2"));
    ok(await writer.create("/sw2r"));
    const client = await watcherClient();
    try {
      const reply = await client.setWatches2({
        relativeZxid: client.lastZxid,
        dataWatches: [],
        existWatches: [],
        childWatches: [],
        persistentWatches: ["/sw2"],
        persistentRecursiveWatches: ["/sw2r"],
      });
      assert.equal(reply.err, 0);
      assert.deepEqual(eventsOf(client), []);
      ok(await writer.setData("/sw2", Buffer.from("1")));
      ok(await writer.setData("/sw2", Buffer.from("2")));
      ok(await writer.create("/sw2r/deep"));
      ok(await writer.create("/sw2r/deep/er"));
      await settle(client);
      assert.deepEqual(eventsOf(client), ["3 /sw2", "3 /sw2", "1 /sw2r/deep", "1 /sw2r/deep/er"]);
    } finally {
      await client.close();
    }
  });

  test("node-zookeeper-client keeps its watch across a dropped TCP connection", { timeout: testTimeoutMs }, async () => {
    ok(await writer.create("/proxied", Buffer.from("0")));
    const proxy = await TcpProxy.start(server.port);
    const client = await ZkClient.connect(proxy.connectString, { sessionTimeout: 10_000, spinDelay: 100 });
    try {
      const watch = watchOnce(15_000);
      await client.getData("/proxied", watch.watcher);
      const sessionId = client.sessionId;
      const reconnected = new Promise<void>((resolveReconnect) => client.client.once("connected", () => resolveReconnect()));
      proxy.dropConnections();
      ok(await writer.setData("/proxied", Buffer.from("changed while away")));
      const event = await watch.event;
      assert.equal(event.getType(), EventType.nodeDataChanged);
      assert.equal(event.getPath(), "/proxied");
      await reconnected;
      assert.equal(client.sessionId, sessionId);
      assert.equal(watch.events.length, 1);
      assert.equal(readStatBody(ok(await writer.exists("/proxied")).body).version, 1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
