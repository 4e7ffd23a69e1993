// Sessions: handshake fields, readOnly byte, expiry and ephemerals,
// closeSession, reconnects (valid, wrong password, unknown session, zxid
// ahead), and SetWatches/SetWatches2 replay after a reconnect.

import { encodeConnectRequest, encodeRequest } from "../../../test/support/raw-client.js";
import { OpCode } from "../../../src/protocol/codes.js";
import type { Scenario, ScenarioContext } from "../scenario.js";
import type { TracedClient } from "../traced-client.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

/** Requested timeout below any server's minimum: the server's minimum (2 ticks) is negotiated. */
const shortSessionMs = 1;

async function waitForExpiry(context: ScenarioContext, negotiatedMs: number): Promise<void> {
  // Expiry happens between timeout and timeout + one tick; tick <= timeout / 2.
  await context.sleep(negotiatedMs * 2 + 200);
}

async function reconnect(context: ScenarioContext, id: string, name: string, old: TracedClient, extra: { lastZxidSeen?: bigint } = {}): Promise<TracedClient | null> {
  return context.tryConnect(id, name, { sessionId: old.sessionId, passwd: old.passwd, timeOutMs: old.raw.handshake.timeOut, ...extra });
}

export const sessionScenarios: Scenario[] = [
  {
    name: "session-handshake",
    description: "Negotiated timeouts (below min, above max, between), protocolVersion, passwd length, readOnly byte echo.",
    async run(context) {
      const low = await context.connect("timeout-below-min", "Low", { timeOutMs: 1 });
      const high = await context.connect("timeout-above-max", "High", { timeOutMs: 10_000_000 });
      const without = await context.connect("no-readonly-byte", "NoRO", { sendReadOnly: false });
      await without.getData("request-after-36-byte-handshake", context.base);
      const readOnlyAsked = await context.connect("readonly-true", "RO", { readOnly: true });
      await readOnlyAsked.create("write-on-readonly-request", context.path("x"));
      const negative = await context.tryConnect("timeout-negative", "Neg", { timeOutMs: -5 });
      await negative?.getData("request-after-negative-timeout", context.base);
      await low.getData("low-works", context.base);
      await high.getData("high-works", context.base);
    },
  },
  {
    name: "session-expiry-ephemerals",
    description: "A dropped connection's session expires: ephemerals deleted in one txn, watchers told, old session refused with 0/0/zeros.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner", { timeOutMs: shortSessionMs });
      const watcher = await context.connect("connect-watcher", "Watcher");
      // One watched ephemeral per watched parent: ZooKeeper deletes a session's
      // ephemerals in hash-set order, so events of different nodes have no order.
      await owner.create("parent", context.path("p"));
      await owner.create("other-parent", context.path("q"));
      await owner.create("ephemeral-1", context.path("p/e1"), text("1"), 1);
      await owner.create("ephemeral-2", context.path("q/e2-"), text("2"), 3);
      await watcher.getEphemerals("ephemerals-before", context.base);
      await watcher.exists("watch-e1", context.path("p/e1"), true);
      await watcher.getChildren("watch-parent", context.path("p"), true);
      owner.drop("drop-owner");
      await watcher.events("expiry-events", 2, owner.raw.handshake.timeOut * 3 + 2_000);
      await watcher.getChildren2("children-after", context.path("p"));
      await watcher.getEphemerals("ephemerals-after", context.base);
      await waitForExpiry(context, owner.raw.handshake.timeOut);
      const again = await reconnect(context, "reconnect-expired", "Expired", owner);
      await again?.closedWithin("expired-closed");
    },
  },
  {
    name: "session-survives-drop",
    description: "A TCP drop does not end the session before its timeout: reconnect with id and password keeps ephemerals.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner", { timeOutMs: 4_000 });
      await owner.create("ephemeral", context.path("e"), null, 1);
      owner.drop("drop");
      await context.sleep(300);
      const resumed = await reconnect(context, "reconnect", "Resumed", owner);
      await resumed?.exists("ephemeral-still-there", context.path("e"));
      await resumed?.getData("owner-in-stat", context.path("e"));
    },
  },
  {
    name: "session-close",
    description: "closeSession: reply, connection closed, ephemerals deleted, watchers told; the session cannot be resumed.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner");
      const watcher = await context.connect("connect-watcher", "Watcher");
      // The second ephemeral lives elsewhere: events of different nodes
      // deleted in one transaction come in ZooKeeper's hash-set order.
      await owner.create("other-parent", context.path("q"));
      await owner.create("ephemeral", context.path("e"), null, 1);
      await owner.create("ephemeral-seq", context.path("q/s-"), null, 3);
      await watcher.exists("watch", context.path("e"), true);
      await watcher.getChildren("watch-parent", context.base, true);
      await owner.closeSession("close");
      await watcher.events("events", 2);
      await watcher.getChildren("children", context.base);
      const again = await reconnect(context, "reconnect-closed", "Closed", owner);
      await again?.closedWithin("closed-session-refused");
    },
  },
  {
    name: "session-reconnect-refused",
    description: "Reconnect with a wrong password or an unknown session id: ConnectResponse 0/0/zeros, then close; the real session lives on.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("ephemeral", context.path("e"), null, 1);
      const wrong = await context.tryConnect("wrong-password", "Wrong", { sessionId: a.sessionId, passwd: Buffer.alloc(16, 7) });
      await wrong?.closedWithin("wrong-password-closed");
      const short = await context.tryConnect("short-password", "Short", { sessionId: a.sessionId, passwd: Buffer.alloc(4, 7) });
      await short?.closedWithin("short-password-closed");
      const unknown = await context.tryConnect("unknown-session", "Unknown", { sessionId: 0x1234567890abcdn, passwd: Buffer.alloc(16, 1) });
      await unknown?.closedWithin("unknown-session-closed");
      await a.exists("still-alive", context.path("e"));
    },
  },
  {
    name: "session-reconnect-moves",
    description: "A valid reconnect while the old connection is open: same session and password, the old connection is closed.",
    async run(context) {
      const first = await context.connect("connect", "First");
      await first.create("ephemeral", context.path("e"), null, 1);
      const second = await reconnect(context, "reconnect", "Second", first);
      await first.closedWithin("old-connection-closed");
      await second?.exists("ephemeral-kept", context.path("e"));
    },
  },
  {
    name: "session-zxid-ahead",
    description: "A ConnectRequest whose lastZxidSeen is ahead of the server: closed without a reply.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"));
      const ahead = await context.tryConnect("ahead", "Ahead", { lastZxidSeen: a.lastZxid + 1_000_000n });
      await ahead?.closedWithin("ahead-closed");
      const equal = await context.tryConnect("equal", "Equal", { lastZxidSeen: a.lastZxid });
      await equal?.getData("equal-works", context.path("n"));
    },
  },
  {
    name: "session-ping-and-xids",
    description: "Ping reply on xid -2; replies echo arbitrary xids including 0 and negative ones; pipelined replies stay in order.",
    async run(context) {
      const a = await context.connect("connect", "A", { autoPing: false });
      await a.ping("ping");
      await a.create("node", context.path("n"), text("x"));
      await a.call("xid-zero", OpCode.exists, { path: context.path("n"), watch: false, xid: 0 }, (w) => {
        w.writeString(context.path("n"));
        w.writeBool(false);
      }, 0);
      await a.call("xid-big", OpCode.exists, { path: context.path("n"), watch: false, xid: 0x7fffffff }, (w) => {
        w.writeString(context.path("n"));
        w.writeBool(false);
      }, 0x7fffffff);
      const requests = [];
      for (let index = 0; index < 6; index++) {
        const path = context.path(`p${index}`);
        requests.push({ opcode: index % 2 === 0 ? OpCode.create : OpCode.exists, request: { path }, xid: 1000 + index, body: index % 2 === 0 ? encodeCreate(path) : encodePathWatch(context.path("n")) });
      }
      await a.pipeline("pipelined", requests);
    },
  },
  {
    name: "session-pipelined-handshake",
    description: "Requests written in the same TCP write as the ConnectRequest are answered after the handshake, in order.",
    async run(context) {
      await context.exchange("connect-with-pipelined-requests", {
        chunks: [
          Buffer.concat([
            encodeConnectRequest({ timeOutMs: 30_000 }),
            encodeRequest(1, OpCode.exists, (w) => {
              w.writeString(context.base);
              w.writeBool(false);
            }),
            encodeRequest(2, OpCode.getChildren, (w) => {
              w.writeString(context.base);
              w.writeBool(false);
            }),
            encodeRequest(3, OpCode.closeSession),
          ]),
        ],
        handshake: true,
        opcodes: { 1: OpCode.exists, 2: OpCode.getChildren, 3: OpCode.closeSession },
        waitMs: 2_000,
      });
    },
  },
  {
    name: "session-requests-after-close",
    description: "Requests written right after closeSession, in the same write: none is executed, and the connection closes.",
    async run(context) {
      const a = await context.connect("connect", "A");
      const raw = a.raw;
      const replies = [raw.expectReply(10, OpCode.closeSession), raw.expectReply(11, OpCode.exists), raw.expectReply(12, OpCode.create)];
      raw.writeRaw(
        Buffer.concat([
          encodeRequest(10, OpCode.closeSession),
          encodeRequest(11, OpCode.exists, encodePathWatch(context.base)),
          encodeRequest(12, OpCode.create, encodeCreate(context.path("after-close"))),
        ]),
      );
      const settled = await Promise.allSettled(replies);
      // ZooKeeper answers the requests behind a closeSession with
      // SessionExpired (-112) or not at all, depending on a race between its
      // request pipeline and the connection's close: both mean "not
      // executed", which is what is compared.
      const outcome = (result: PromiseSettledResult<{ err: number; xid: number }>): string => {
        if (result.status === "rejected") return "not-executed";
        return result.value.err === -112 ? "not-executed" : `answered err ${result.value.err}`;
      };
      const [close, ...later] = settled;
      await a.raw.closesWithin(1_500);
      context.note("close-then-requests", {
        closeReply: close?.status === "fulfilled" ? { xid: close.value.xid, err: close.value.err } : "closed",
        laterRequests: later.map(outcome),
        closed: a.raw.closed,
      });
      a.discardArrivals();
      const b = await context.connect("connect-B", "B");
      await b.exists("not-created", context.path("after-close"));
    },
  },
  {
    name: "setwatches-replay",
    description: "SetWatches after a reconnect with relativeZxid: events for changes missed (before the -8 reply), re-armed watches fire later.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      for (const name of ["changed", "deleted", "same", "parent-changed", "parent-same"]) await b.create(`create-${name}`, context.path(name), text("0"));
      await a.getData("sync-zxid", context.base);
      const relativeZxid = a.lastZxid;
      a.drop("drop-A");
      await b.setData("change", context.path("changed"), text("1"));
      await b.delete("delete", context.path("deleted"));
      await b.create("create-appears", context.path("appears"));
      await b.create("child", context.path("parent-changed/c"));
      const resumed = await reconnect(context, "reconnect-A", "A2", a);
      if (resumed === null) return;
      await resumed.setWatches("set-watches", {
        relativeZxid,
        dataWatches: [context.path("changed"), context.path("deleted"), context.path("same")],
        existWatches: [context.path("appears"), context.path("never")],
        childWatches: [context.path("parent-changed"), context.path("parent-same"), context.path("no-such-parent")],
      });
      await b.setData("later-same", context.path("same"), text("1"));
      await b.create("later-never", context.path("never"));
      await b.create("later-parent-same-child", context.path("parent-same/c"));
      await b.setData("later-changed", context.path("changed"), text("2"));
      await resumed.events("re-armed-events", 3);
      await resumed.quiet("nothing-more");
    },
  },
  {
    name: "setwatches-fresh-session",
    description: "SetWatches on a new session with relativeZxid 0 and with a current zxid.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"), text("x"));
      await a.create("child", context.path("n/c"));
      await a.setWatches("zero", { relativeZxid: 0n, dataWatches: [context.path("n")], existWatches: [context.path("n/c"), context.path("m")], childWatches: [context.path("n")] });
      await a.getData("sync", context.base);
      await a.setWatches("current", { relativeZxid: a.lastZxid, dataWatches: [context.path("n")], existWatches: [context.path("m")], childWatches: [context.path("n")] });
      await a.setData("write", context.path("n"), text("y"));
      await a.create("create-m", context.path("m"));
      await a.quiet("after");
    },
  },
  {
    name: "setwatches2-persistent",
    description: "SetWatches2 re-adds persistent and recursive watches without firing, then they fire on later changes.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await b.create("node", context.path("n"));
      await b.create("tree", context.path("t"));
      await a.getData("sync-zxid", context.base);
      const relativeZxid = a.lastZxid;
      a.drop("drop-A");
      await b.setData("missed-change", context.path("n"), text("1"));
      await b.create("missed-create", context.path("t/c"));
      const resumed = await reconnect(context, "reconnect-A", "A2", a);
      if (resumed === null) return;
      await resumed.setWatches2("set-watches-2", {
        relativeZxid,
        dataWatches: [],
        existWatches: [],
        childWatches: [],
        persistentWatches: [context.path("n")],
        persistentRecursiveWatches: [context.path("t")],
      });
      await b.setData("later-change", context.path("n"), text("2"));
      await b.setData("later-change-again", context.path("n"), text("3"));
      await b.create("later-create", context.path("t/c/d"));
      await resumed.events("events", 3);
      await resumed.checkWatches("check-persistent", context.path("n"), 4);
      await resumed.checkWatches("check-recursive", context.path("t"), 5);
      await resumed.quiet("nothing-more");
    },
  },
];

function encodeCreate(path: string): (w: import("../../../src/protocol/archive.js").JuteWriter) => void {
  return (w) => {
    w.writeString(path);
    w.writeBuffer(null);
    w.writeVectorLength(1);
    w.writeInt(31);
    w.writeString("world");
    w.writeString("anyone");
    w.writeInt(0);
  };
}

function encodePathWatch(path: string): (w: import("../../../src/protocol/archive.js").JuteWriter) => void {
  return (w) => {
    w.writeString(path);
    w.writeBool(false);
  };
}
