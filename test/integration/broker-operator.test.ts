// Operator connections (operator.ts, link.ts callOperator): an operator who
// knows the secret gets its command to the node's handler and the answer
// back; a wrong secret, a node that takes no operator commands, and
// garbage after the handshake all end in a closed connection and a clear
// error, and the node's peer links carry on. Plus the codec: round trips,
// and random bytes decode to BrokerWireError or a valid request, nothing else.

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import fc from "fast-check";
import { pino } from "pino";
import { BrokerLinkError, BrokerTransport, callOperator } from "../../src/broker/link.js";
import {
  decodeOperatorReply, decodeOperatorRequest, encodeOperatorReply, encodeOperatorRequest, type OperatorReply, type OperatorRequest,
} from "../../src/broker/operator.js";
import type { NodeAddress } from "../../src/broker/settings.js";
import { BrokerWireError } from "../../src/broker/wire.js";

const secret = Buffer.from("a shared secret of enough bytes");
const host = "127.0.0.1";

function address(id: string): NodeAddress {
  return { id, region: "r1", clientHost: host, clientPort: 0, brokerHost: host, brokerPort: 0 };
}

async function startNode(onOperator?: (request: OperatorRequest) => Promise<OperatorReply>): Promise<{ transport: BrokerTransport; port: number }> {
  const self = address("root-1");
  const transport = new BrokerTransport({
    self,
    nodes: [self],
    secret,
    incarnation: 1,
    messageBytesMax: 64 * 1024,
    logger: pino({ level: "silent" }),
    onMessage: () => undefined,
    onLinkChange: () => undefined,
    handshakeTimeoutMs: 500,
    ...(onOperator === undefined ? {} : { onOperator }),
  });
  const port = await transport.start();
  return { transport, port };
}

const echo = async (request: OperatorRequest): Promise<OperatorReply> => ({
  requestId: request.requestId, ok: request.type === "move", message: `${request.type} ${request.region}`, detail: JSON.stringify(request),
});

test("an operator that knows the secret gets its command handled and the answer back", async () => {
  const { transport, port } = await startNode(echo);
  try {
    const reply = await callOperator({ host, port, nodeId: "root-1", secret, request: { type: "move", requestId: 7, unit: "/app/x", region: "eu" }, timeoutMs: 5_000 });
    assert.deepEqual(reply, { requestId: 7, ok: true, message: "move eu", detail: JSON.stringify({ type: "move", requestId: 7, unit: "/app/x", region: "eu" }) });
    const evict = await callOperator({ host, port, nodeId: "root-1", secret, request: { type: "evict", requestId: 8, region: "ap" }, timeoutMs: 5_000 });
    assert.equal(evict.ok, false);
    assert.equal(evict.message, "evict ap");
  } finally {
    await transport.close();
  }
});

test("a handler that throws still answers, with the error", async () => {
  const { transport, port } = await startNode(async () => {
    throw new Error("boom");
  });
  try {
    const reply = await callOperator({ host, port, nodeId: "root-1", secret, request: { type: "evict", requestId: 1, region: "ap" }, timeoutMs: 5_000 });
    assert.equal(reply.ok, false);
    assert.match(reply.message, /boom/);
  } finally {
    await transport.close();
  }
});

test("a wrong secret, a wrong node id, or a node without an operator handler refuses the operator", async () => {
  const withHandler = await startNode(echo);
  const without = await startNode();
  try {
    const request: OperatorRequest = { type: "evict", requestId: 1, region: "ap" };
    await assert.rejects(
      callOperator({ host, port: withHandler.port, nodeId: "root-1", secret: Buffer.from("not the secret at all"), request, timeoutMs: 5_000 }),
      (error: unknown) => error instanceof BrokerLinkError,
    );
    await assert.rejects(
      callOperator({ host, port: withHandler.port, nodeId: "other-1", secret, request, timeoutMs: 5_000 }),
      (error: unknown) => error instanceof BrokerLinkError,
    );
    await assert.rejects(
      callOperator({ host, port: without.port, nodeId: "root-1", secret, request, timeoutMs: 5_000 }),
      (error: unknown) => error instanceof BrokerLinkError,
    );
  } finally {
    await withHandler.transport.close();
    await without.transport.close();
  }
});

test("garbage instead of a handshake closes the connection; the node keeps taking operators", async () => {
  const { transport, port } = await startNode(echo);
  try {
    const socket = connect({ host, port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.resume();
    socket.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const reply = await callOperator({ host, port, nodeId: "root-1", secret, request: { type: "move", requestId: 2, unit: "/a", region: "r" }, timeoutMs: 5_000 });
    assert.equal(reply.ok, true);
  } finally {
    await transport.close();
  }
});

const name = fc.string({ minLength: 1, maxLength: 40 });
const requestArb: fc.Arbitrary<OperatorRequest> = fc.oneof(
  fc.record({ type: fc.constant("move" as const), requestId: fc.nat(), unit: name, region: name }),
  fc.record({ type: fc.constant("evict" as const), requestId: fc.nat(), region: name }),
);

test("operator requests and replies round-trip; random bytes decode to a request or BrokerWireError", () => {
  fc.assert(fc.property(requestArb, (request) => assert.deepEqual(decodeOperatorRequest(encodeOperatorRequest(request)), { ...request })));
  fc.assert(
    fc.property(fc.record({ requestId: fc.nat(), ok: fc.boolean(), message: fc.string(), detail: fc.string() }), (reply) =>
      assert.deepEqual(decodeOperatorReply(encodeOperatorReply(reply)), { ...reply }),
    ),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeOperatorRequest(bytes);
      } catch (error) {
        assert.ok(error instanceof BrokerWireError, `threw ${String(error)}`);
      }
    }),
  );
  assert.throws(() => decodeOperatorRequest(encodeOperatorRequest({ type: "evict", requestId: 1, region: "" })), BrokerWireError);
});
