// Broker links over real sockets on 127.0.0.1: messages arrive in order,
// only peers that know the secret get through (both ways), bad input
// closes the one connection that sent it and nothing else, a restarted
// peer is seen going down and coming back, and close() lets the process exit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { pino } from "pino";
import { BrokerTransport, FrameDecoder, type BrokerTransportOptions } from "../../src/broker/link.js";
import type { BrokerMessage, Envelope } from "../../src/broker/messages.js";
import type { NodeAddress } from "../../src/broker/settings.js";
import { encodeEnvelope } from "../../src/broker/wire.js";

const secret = Buffer.from("a shared secret of enough bytes");
const host = "127.0.0.1";

interface LogLine {
  level: number;
  msg: string;
}

interface TestNode {
  address: NodeAddress;
  transport: BrokerTransport;
  received: Envelope[];
  linkChanges: Array<{ nodeId: string; up: boolean }>;
  log: LogLine[];
}

function address(id: string, region = "r1"): NodeAddress {
  return { id, region, clientHost: host, clientPort: 0, brokerHost: host, brokerPort: 0 };
}

function createNode(self: NodeAddress, nodes: NodeAddress[], overrides: Partial<BrokerTransportOptions> = {}): TestNode {
  const log: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void log.push(JSON.parse(line) as LogLine) });
  const node: TestNode = { address: self, transport: undefined!, received: [], linkChanges: [], log };
  node.transport = new BrokerTransport({
    self,
    nodes,
    secret,
    incarnation: 1,
    messageBytesMax: 64 * 1024,
    logger,
    onMessage: (envelope) => node.received.push(envelope),
    onLinkChange: (nodeId, up) => node.linkChanges.push({ nodeId, up }),
    reconnectDelayMs: { min: 20, max: 200 },
    handshakeTimeoutMs: 500,
    ...overrides,
  });
  return node;
}

/** Starts the nodes on port 0 and writes the bound ports into the shared addresses. */
async function startAll(nodes: TestNode[]): Promise<void> {
  for (const node of nodes) node.address.brokerPort = await node.transport.start();
}

async function cluster(ids: string[]): Promise<TestNode[]> {
  const addresses = ids.map((id) => address(id));
  const nodes = addresses.map((self) => createNode(self, addresses));
  await startAll(nodes);
  await waitFor(() => nodes.every((node) => ids.every((id) => id === node.address.id || node.transport.isUp(id))), "every link up");
  return nodes;
}

async function closeAll(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function warnings(node: TestNode, text: string): LogLine[] {
  return node.log.filter((line) => line.level >= 40 && line.msg.includes(text));
}

function sync(requestId: number): BrokerMessage {
  return { type: "sync", requestId, unit: "/app" };
}

function requestIds(node: TestNode, from: string): number[] {
  return node.received.filter((envelope) => envelope.from === from).map((envelope) => (envelope.message.type === "sync" ? envelope.message.requestId : -1));
}

function sequence(length: number): number[] {
  return Array.from({ length }, (_, index) => index);
}

/** A raw client of a broker port; resolves once the server has closed it. */
async function rawConnection(port: number, onConnect: (socket: Socket) => void): Promise<void> {
  const socket = connect({ host, port });
  socket.on("error", () => {});
  socket.on("connect", () => onConnect(socket));
  socket.resume(); // read what the server sends, or its close would never be seen
  await new Promise((resolve) => socket.on("close", resolve));
}

/** A plain TCP server on port 0 whose close() also ends the connections it accepted. */
async function rawServer(onConnection: (socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  server.listen(0, host);
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function frame(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

test("frames are split out of any chunking, and an oversize length is refused before its bytes arrive", () => {
  const stream = Buffer.concat([frame(Buffer.from("one")), frame(Buffer.alloc(0)), frame(Buffer.alloc(300, 7))]);
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const chunkBytes of [1, 2, 5, stream.length]) {
      const decoder = new FrameDecoder(300);
      const frames: Buffer[] = [];
      const pieces = [stream.subarray(0, cut), stream.subarray(cut)];
      for (const piece of pieces) {
        for (let offset = 0; offset < piece.length; offset += chunkBytes) {
          decoder.push(piece.subarray(offset, offset + chunkBytes));
          for (let next = decoder.next(); next !== null; next = decoder.next()) frames.push(Buffer.from(next));
        }
      }
      assert.deepEqual(frames, [Buffer.from("one"), Buffer.alloc(0), Buffer.alloc(300, 7)]);
    }
  }
  const decoder = new FrameDecoder(300);
  decoder.push(Buffer.from([0, 0, 1, 45]));
  assert.throws(() => decoder.next(), { code: "ERR_BROKER_LINK" });
});

test("two transports exchange messages in order, stamped with sender, region and incarnation", async () => {
  const nodes = await cluster(["a", "b"]);
  const [a, b] = nodes as [TestNode, TestNode];
  try {
    for (const id of sequence(200)) {
      assert.equal(a.transport.send("b", sync(id)), true);
      assert.equal(b.transport.send("a", sync(id)), true);
    }
    await waitFor(() => a.received.length === 200 && b.received.length === 200, "200 messages each way");
    assert.deepEqual(requestIds(b, "a"), sequence(200));
    assert.deepEqual(requestIds(a, "b"), sequence(200));
    assert.deepEqual({ ...b.received[0]!, message: undefined }, { from: "a", region: "r1", epoch: 1, message: undefined });
    assert.deepEqual(a.linkChanges, [{ nodeId: "b", up: true }]);
    assert.equal(a.transport.send("nobody", sync(0)), false);
    assert.throws(() => a.transport.send("b", { type: "sync", requestId: 0, unit: "x".repeat(70_000) }), { code: "ERR_BROKER_WIRE" });
  } finally {
    await closeAll(nodes);
  }
});

test("three transports: every pair exchanges messages in order", async () => {
  const ids = ["a", "b", "c"];
  const nodes = await cluster(ids);
  try {
    for (const id of sequence(50)) {
      for (const sender of nodes) for (const peer of ids) if (peer !== sender.address.id) assert.equal(sender.transport.send(peer, sync(id)), true);
    }
    await waitFor(() => nodes.every((node) => node.received.length === 100), "50 messages from each peer");
    for (const receiver of nodes) {
      for (const sender of ids) if (sender !== receiver.address.id) assert.deepEqual(requestIds(receiver, sender), sequence(50));
    }
  } finally {
    await closeAll(nodes);
  }
});

test("a peer with the wrong secret is refused on both sides and never delivers a message", async () => {
  const addresses = [address("a"), address("b")];
  const a = createNode(addresses[0]!, addresses);
  const b = createNode(addresses[1]!, addresses, { secret: Buffer.from("another secret, just as long...") });
  await startAll([a, b]);
  try {
    await waitFor(() => warnings(a, "did not prove").length > 0 && warnings(b, "did not prove").length > 0, "both sides to refuse");
    assert.equal(a.transport.isUp("b"), false);
    assert.equal(b.transport.isUp("a"), false);
    assert.equal(a.transport.send("b", sync(1)), false);
    assert.deepEqual([a.received, b.received, a.linkChanges, b.linkChanges], [[], [], [], []]);
  } finally {
    await closeAll([a, b]);
  }
});

test("garbage, oversize frames, messages before the handshake and stalled handshakes close that connection only", async () => {
  const nodes = await cluster(["a", "b"]);
  const [a, b] = nodes as [TestNode, TestNode];
  const port = b.address.brokerPort;
  try {
    await rawConnection(port, (socket) => socket.write("GET / HTTP/1.1\r\nHost: b\r\n\r\n"));
    await rawConnection(port, (socket) => socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])));
    const message = encodeEnvelope({ from: "a", region: "r1", epoch: 1, message: sync(99) });
    await rawConnection(port, (socket) => socket.write(frame(message)));
    await rawConnection(port, (socket) => socket.once("data", () => socket.write(frame(message))));
    await rawConnection(port, (socket) => socket.once("data", () => socket.write(frame(Buffer.alloc(80)))));
    const stalledAt = Date.now();
    await rawConnection(port, () => {});
    assert.ok(Date.now() - stalledAt >= 400, "a silent connection is given the handshake deadline");
    assert.ok(b.log.filter((line) => line.level === 40).length >= 6, "each bad connection is logged as a warning");
    assert.deepEqual(b.received, []);
    assert.equal(a.transport.send("b", sync(7)), true);
    await waitFor(() => b.received.length === 1, "a message after the bad connections");
    assert.deepEqual(requestIds(b, "a"), [7]);
  } finally {
    await closeAll(nodes);
  }
});

test("a peer address that accepts but never greets leaves the link down and is retried", async () => {
  const silent = await rawServer(() => {});
  const silentAddress = { ...address("s"), brokerPort: silent.port };
  const self = address("a");
  const a = createNode(self, [self, silentAddress]);
  await a.transport.start();
  try {
    await waitFor(() => warnings(a, "handshake with s not finished").length >= 2, "two handshake deadlines", 3_000);
    assert.equal(a.transport.isUp("s"), false);
    assert.deepEqual(a.linkChanges, []);
  } finally {
    await a.transport.close();
    await silent.close();
  }
});

test("a frame over the receiver's messageBytesMax drops the link; it comes back and messages flow", async () => {
  const addresses = [address("a"), address("b")];
  const a = createNode(addresses[0]!, addresses, { messageBytesMax: 1024 * 1024 });
  const b = createNode(addresses[1]!, addresses, { messageBytesMax: 4 * 1024 });
  await startAll([a, b]);
  try {
    await waitFor(() => a.transport.isUp("b"), "link a -> b");
    assert.equal(a.transport.send("b", { type: "revoke", unit: `/${"x".repeat(10_000)}`, epoch: 1 }), true);
    await waitFor(() => a.linkChanges.length === 3, "link a -> b down then up");
    assert.deepEqual(a.linkChanges.map((change) => change.up), [true, false, true]);
    assert.ok(warnings(b, "exceeds the limit").length > 0);
    assert.equal(a.transport.send("b", sync(1)), true);
    await waitFor(() => b.received.length === 1, "a small message");
  } finally {
    await closeAll([a, b]);
  }
});

test("messages reach the receiver whatever the chunking, even one byte at a time", async () => {
  const addresses = [address("a"), address("b")];
  const b = createNode(addresses[1]!, addresses);
  await startAll([b]);
  // a dials b through a proxy that forwards each byte in its own write, both ways.
  const proxy = await rawServer((client) => {
    const upstream = connect({ host, port: b.address.brokerPort });
    upstream.on("error", () => {});
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      to.setNoDelay(true);
      from.on("data", (chunk: Buffer) => {
        for (const byte of chunk) to.write(Buffer.of(byte));
      });
      from.on("close", () => to.destroy());
    }
  });
  const a = createNode(addresses[0]!, [addresses[0]!, { ...addresses[1]!, brokerPort: proxy.port }]);
  await a.transport.start();
  try {
    await waitFor(() => a.transport.isUp("b"), "link through the proxy");
    for (const id of sequence(20)) assert.equal(a.transport.send("b", sync(id)), true);
    await waitFor(() => b.received.length === 20, "20 messages byte by byte");
    assert.deepEqual(requestIds(b, "a"), sequence(20));
  } finally {
    await closeAll([a, b]);
    await proxy.close();
  }
});

test("an envelope naming another region than the sender's configured one closes the connection", async () => {
  const b = createNode(address("b"), [address("a", "r1"), address("b")]);
  await startAll([b]);
  const a = createNode(address("a", "r2"), [address("a", "r2"), b.address]);
  await a.transport.start();
  try {
    await waitFor(() => a.transport.isUp("b"), "link a -> b");
    assert.equal(a.transport.send("b", sync(1)), true);
    await waitFor(() => warnings(b, "names region r2, configured r1").length > 0, "b to refuse the envelope");
    await waitFor(() => a.linkChanges.some((change) => !change.up), "link a -> b down");
    assert.deepEqual(b.received, []);
  } finally {
    await closeAll([a, b]);
  }
});

test("a peer that stops reading gets its link dropped once the queue bound is reached, then redialed", async () => {
  const addresses = [address("a"), address("b")];
  const b = createNode(addresses[1]!, addresses);
  await startAll([b]);
  // The first connection through this proxy stops reading from a once the handshake is done.
  let connections = 0;
  let stall: (() => void) | undefined;
  const proxy = await rawServer((client) => {
    connections += 1;
    const upstream = connect({ host, port: b.address.brokerPort });
    upstream.on("error", () => {});
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    if (connections === 1) stall = () => client.pause();
  });
  const a = createNode(addresses[0]!, [addresses[0]!, { ...addresses[1]!, brokerPort: proxy.port }], { outboundQueueBytesMax: 256 * 1024 });
  await a.transport.start();
  try {
    await waitFor(() => a.transport.isUp("b"), "link through the proxy");
    stall!();
    const message: BrokerMessage = { type: "sync", requestId: 0, unit: "x".repeat(8 * 1024) };
    let sent = 0;
    while (sent < 20_000 && a.transport.send("b", message)) sent += 1;
    assert.ok(sent < 20_000, "sends stop succeeding once the queue is full");
    assert.equal(a.transport.isUp("b"), false);
    assert.ok(warnings(a, "is not reading").length > 0);
    await waitFor(() => a.linkChanges.length === 3, "link down, then up again through a fresh connection");
    assert.deepEqual(a.linkChanges.map((change) => change.up), [true, false, true]);
  } finally {
    await closeAll([a, b]);
    await proxy.close();
  }
});

test("a restarted peer is seen going down and coming back; messages flow both ways with its new incarnation", async () => {
  const nodes = await cluster(["a", "b"]);
  const [a, b] = nodes as [TestNode, TestNode];
  let restarted: TestNode | undefined;
  try {
    await b.transport.close();
    await waitFor(() => a.linkChanges.length === 2, "link a -> b down");
    assert.deepEqual(a.linkChanges, [{ nodeId: "b", up: true }, { nodeId: "b", up: false }]);
    assert.equal(a.transport.send("b", sync(0)), false);
    restarted = createNode(b.address, [a.address, b.address], { incarnation: 2 });
    assert.equal(await restarted.transport.start(), b.address.brokerPort);
    await waitFor(() => a.transport.isUp("b") && restarted!.transport.isUp("a"), "links up again");
    assert.deepEqual(a.linkChanges.at(-1), { nodeId: "b", up: true });
    assert.equal(a.transport.send("b", sync(1)), true);
    assert.equal(restarted.transport.send("a", sync(2)), true);
    await waitFor(() => restarted!.received.length === 1 && a.received.length === 1, "a message each way");
    assert.deepEqual(requestIds(restarted, "a"), [1]);
    assert.equal(a.received[0]!.epoch, 2);
  } finally {
    await closeAll(restarted === undefined ? nodes : [...nodes, restarted]);
  }
});

test("close() releases every socket, listener and timer", async () => {
  const nodes = await cluster(["a", "b", "c"]);
  await closeAll(nodes);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const held = process.getActiveResourcesInfo().filter((kind) => kind === "TCPServerWrap" || kind === "TCPSocketWrap" || kind === "Timeout");
  assert.deepEqual(held, []);
});

test("a partition that drops packets (connections stay open, nothing arrives) takes the link down on both sides; healing brings it back", async () => {
  const addresses = [address("a"), address("b")];
  let blackhole = false;
  /** A proxy to a node's real port that, while `blackhole` is set, swallows everything both ways. */
  const proxyTo = (target: () => number) =>
    rawServer((client) => {
      const upstream = connect({ host, port: target() });
      upstream.on("error", () => {});
      client.on("data", (chunk: Buffer) => void (blackhole || upstream.write(chunk)));
      upstream.on("data", (chunk: Buffer) => void (blackhole || client.write(chunk)));
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  const toB = await proxyTo(() => addresses[1]!.brokerPort);
  const toA = await proxyTo(() => addresses[0]!.brokerPort);
  const timing = { heartbeatIntervalMs: 100, peerSilenceMsMax: 500, reconnectDelayMs: { min: 50, max: 200 }, handshakeTimeoutMs: 300 };
  const a = createNode(addresses[0]!, [addresses[0]!, { ...addresses[1]!, brokerPort: toB.port }], timing);
  const b = createNode(addresses[1]!, [{ ...addresses[0]!, brokerPort: toA.port }, addresses[1]!], timing);
  await startAll([a, b]);
  try {
    await waitFor(() => a.transport.isUp("b") && b.transport.isUp("a"), "links up through the proxies");
    // Idle links stay up: heartbeats keep each side heard.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.ok(a.transport.isUp("b") && b.transport.isUp("a"), "idle links stay up");
    blackhole = true;
    await waitFor(() => !a.transport.isUp("b") && !b.transport.isUp("a"), "both sides notice the silence", 5_000);
    // Whichever side noticed first closed its sockets; this proxy passes that close on to the other side.
    assert.ok(warnings(a, "peer silent").length + warnings(b, "peer silent").length > 0);
    assert.equal(a.transport.send("b", sync(1)), false);
    blackhole = false;
    await waitFor(() => a.transport.isUp("b") && b.transport.isUp("a"), "links up again after the heal", 5_000);
    assert.equal(a.transport.send("b", sync(2)), true);
    await waitFor(() => requestIds(b, "a").includes(2), "a message after the heal");
  } finally {
    await closeAll([a, b]);
    await toA.close();
    await toB.close();
  }
});
