// Bad input: unknown opcodes, ops that are valid only elsewhere (check
// alone), reconfig and sasl on a plain standalone server, broken frames,
// garbage before the handshake.

import { encodeConnectRequest, encodeRequest } from "../../../test/support/raw-client.js";
import { OpCode } from "../../../src/protocol/codes.js";
import type { Scenario } from "../scenario.js";

function frame(bytes: number[] | Buffer, declaredLength?: number): Buffer {
  const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const header = Buffer.alloc(4);
  header.writeInt32BE(declaredLength ?? body.length);
  return Buffer.concat([header, body]);
}

function pathWatch(path: string): (w: import("../../../src/protocol/archive.js").JuteWriter) => void {
  return (w) => {
    w.writeString(path);
    w.writeBool(false);
  };
}

export const badInputScenarios: Scenario[] = [
  {
    name: "bad-unknown-opcode",
    description: "An unknown opcode: Unimplemented (-6), then the connection closes.",
    async run(context) {
      // One request at a time: whether ZooKeeper still answers a request
      // pipelined behind the unknown one is a race with its close.
      const a = await context.connect("connect", "A");
      await a.getData("before", context.base);
      await a.rawRequest("unknown-999", 999, Buffer.alloc(0));
      await a.closedWithin("closed");
      for (const opcode of [0, 10, 20, 23, 108, -10, -1]) {
        const client = await context.connect(`connect-op-${opcode}`, `Op${opcode}`);
        await client.rawRequest(`op-${opcode}`, opcode, Buffer.alloc(0));
        await client.closedWithin(`closed-op-${opcode}`, 500);
      }
    },
  },
  {
    name: "bad-check-alone",
    description: "check (op 13) outside a multi (ZOOKEEPER-2623 made it Unimplemented + close in 3.8.5/3.9.3).",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"));
      await a.check("check-good", context.path("n"), 0);
      await a.closedWithin("closed-after-good", 500);
      const b = await context.connect("connect-B", "B");
      await b.check("check-bad-version", context.path("n"), 5);
      await b.closedWithin("closed-after-bad", 500);
      const c = await context.connect("connect-C", "C");
      await c.check("check-missing", context.path("missing"), -1);
      await c.closedWithin("closed-after-missing", 500);
    },
  },
  {
    name: "bad-reconfig",
    description: "reconfig (op 16) on a standalone server with reconfig disabled.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.call("reconfig", OpCode.reconfig, { joiningServers: "", leavingServers: "1", newMembers: "", curConfigId: -1 }, (w) => {
        w.writeString("");
        w.writeString("1");
        w.writeString("");
        w.writeLong(-1n);
      });
      await a.closedWithin("closed", 500);
      const b = await context.connect("connect-B", "B");
      await b.addAuth("auth-super", "digest", context.superAuth);
      await b.call("reconfig-as-super", OpCode.reconfig, { joiningServers: "", leavingServers: "1", newMembers: "", curConfigId: -1 }, (w) => {
        w.writeString("");
        w.writeString("1");
        w.writeString("");
        w.writeLong(-1n);
      });
      await b.closedWithin("closed-super", 500);
    },
  },
  {
    name: "bad-sasl",
    description: "sasl (op 102) on a server without SASL configured.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.call("sasl", OpCode.sasl, { token: "hex:00" }, (w) => w.writeBuffer(Buffer.from([0])));
      await a.closedWithin("closed", 500);
    },
  },
  {
    name: "bad-frames",
    description: "Oversize and negative frame lengths, after the handshake: the connection is closed.",
    async run(context) {
      const a = await context.connect("connect-oversize", "Oversize");
      a.raw.writeRaw(frame(Buffer.alloc(8), 0x100000 + 8));
      await a.closedWithin("oversize-closed");
      const b = await context.connect("connect-negative", "Negative");
      b.raw.writeRaw(frame(Buffer.alloc(8), -5));
      await b.closedWithin("negative-closed");
      const c = await context.connect("connect-max", "Max");
      const big = Buffer.alloc(0xfffff - 200, 0x61);
      await c.create("data-near-max", context.path("big"), big);
      await c.exists("exists-big", context.path("big"));
      const d = await context.connect("connect-over", "Over");
      await d.create("data-over-max", context.path("over"), Buffer.alloc(0xfffff, 0x61));
      await d.closedWithin("over-closed", 1_000);
    },
  },
  {
    name: "bad-truncated-body",
    description: "Request bodies with missing fields or trailing bytes.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.rawRequest("getdata-without-watch-byte", OpCode.getData, (() => {
        const path = Buffer.from(context.base);
        const length = Buffer.alloc(4);
        length.writeInt32BE(path.length);
        return Buffer.concat([length, path]);
      })());
      await a.closedWithin("closed-after-truncated", 1_000);
      const b = await context.connect("connect-B", "B");
      await b.rawRequest("string-length-past-end", OpCode.exists, Buffer.from([0, 0, 0, 50, 0x2f, 0x61]));
      await b.closedWithin("closed-after-past-end", 1_000);
      const c = await context.connect("connect-C", "C");
      await c.rawRequest("header-only-frame", OpCode.exists, Buffer.alloc(0));
      await c.closedWithin("closed-after-header-only", 1_000);
      const d = await context.connect("connect-D", "D");
      const body = Buffer.concat([(() => {
        const path = Buffer.from(context.base);
        const length = Buffer.alloc(4);
        length.writeInt32BE(path.length);
        return Buffer.concat([length, path, Buffer.from([0])]);
      })(), Buffer.from([1, 2, 3, 4])]);
      await d.rawRequest("trailing-bytes", OpCode.exists, body);
      await d.closedWithin("closed-after-trailing", 500);
      const e = await context.connect("connect-E", "E");
      e.raw.writeRaw(frame([0, 0, 0]));
      await e.closedWithin("closed-after-3-byte-frame", 1_000);
    },
  },
  {
    name: "bad-handshake",
    description: "Garbage, short and malformed ConnectRequests before the handshake; a request before any ConnectRequest.",
    async run(context) {
      await context.exchange("garbage-big-length", { chunks: [Buffer.from("GARBAGE-GARBAGE!", "latin1")], handshake: true });
      await context.exchange("small-frame-garbage-body", { chunks: [frame(Buffer.from("xyzzyxyzzy", "latin1"))], handshake: true });
      await context.exchange("empty-frame", { chunks: [frame([])], handshake: true });
      await context.exchange("request-instead-of-connect", {
        chunks: [encodeRequest(1, OpCode.exists, pathWatch(context.base))],
        handshake: true,
      });
      const connect = encodeConnectRequest({ timeOutMs: 30_000 });
      await context.exchange("truncated-connect", { chunks: [connect.subarray(0, 20)], handshake: true, endAfterWrite: true });
      await context.exchange("connect-protocol-version-7", {
        chunks: [(() => {
          const copy = Buffer.from(connect);
          copy.writeInt32BE(7, 4);
          return copy;
        })()],
        handshake: true,
      });
      await context.exchange("connect-passwd-length-huge", {
        chunks: [(() => {
          const copy = Buffer.from(connect);
          copy.writeInt32BE(0x7fffffff, 4 + 4 + 8 + 4 + 8);
          return copy;
        })()],
        handshake: true,
      });
      await context.exchange("connect-byte-by-byte", {
        chunks: [...encodeConnectRequest({ timeOutMs: 30_000, sendReadOnly: false })].map((byte) => Buffer.from([byte])),
        handshake: true,
        chunkDelayMs: 1,
      });
      await context.exchange("connect-negative-length", { chunks: [frame([], -1)], handshake: true });
    },
  },
  {
    name: "bad-invalid-paths-reads",
    description: "Reads and watch operations on syntactically invalid paths.",
    async run(context) {
      const a = await context.connect("connect", "A");
      // getChildren("") would list the root, which other users of the server share: left out.
      for (const [label, path] of [["relative", "relative"], ["trailing-slash", `${context.base}/`], ["empty", ""], ["double-slash", `${context.base}//x`]] as const) {
        if (label !== "empty") await a.getChildren(`children-${label}`, path);
        await a.addWatch(`addwatch-${label}`, path, 0);
        await a.checkWatches(`checkwatches-${label}`, path, 3);
        await a.getEphemerals(`ephemerals-${label}`, path);
      }
      await a.addWatch("addwatch-bad-mode", context.base, 2);
      await a.addWatch("addwatch-negative-mode", context.base, -1);
      await a.getData("still-open", context.base);
    },
  },
];
