// The broker links' message codec: every Envelope survives encode then
// decode unchanged (64-bit values exactly, null data apart from empty data),
// and bytes that are not a valid Envelope fail with BrokerWireError
// ERR_BROKER_WIRE and nothing else.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import protobuf from "protobufjs";
import { brokerProtoPackage, brokerProtoSchema } from "../../src/broker/broker-proto.js";
import type { BrokerMessage, Envelope, ForwardOutcome, UnitEpoch } from "../../src/broker/messages.js";
import { BrokerWireError, decodeEnvelope, encodeEnvelope } from "../../src/broker/wire.js";
import { decodeDelta, encodeDelta } from "../../src/storage/delta-codec.js";
import type { Acl, CreateKind, Delta, DeltaOp, MultiOpResult, OpResult, Stat, WriteRequest } from "../../src/tree/types.js";

/** Plain-prototype records, so that decoded values compare deepEqual. */
const plain = { noNullPrototype: true } as const;
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const safeInteger = fc.maxSafeInteger();
const count = fc.nat();
const name = fc.string({ maxLength: 10 });
const pathArb = fc.string({ minLength: 1, maxLength: 12 }).map((text) => `/${text}`);
const dataArb = fc.option(fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)), { nil: null });
const idArb = fc.record({ scheme: name, id: name }, plain);
const aclArb: fc.Arbitrary<Acl[]> = fc.array(fc.record({ perms: int32, id: idArb }, plain), { maxLength: 3 });
const kindArb = fc.constantFrom<CreateKind>("create", "create2", "createContainer", "createTTL");
const unitEpochArb: fc.Arbitrary<UnitEpoch> = fc.record({ unit: pathArb, epoch: count }, plain);

const { writeRequest: writeRequestArb } = fc.letrec<{ writeRequest: WriteRequest }>((tie) => ({
  writeRequest: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ op: fc.constant("create" as const), kind: kindArb, path: pathArb, data: dataArb, acl: aclArb, flags: int32, ttl: int64 }, plain),
    fc.record({ op: fc.constant("delete" as const), path: pathArb, version: int32 }, plain),
    fc.record({ op: fc.constant("setData" as const), path: pathArb, data: dataArb, version: int32 }, plain),
    fc.record({ op: fc.constant("setACL" as const), path: pathArb, acl: aclArb, version: int32 }, plain),
    fc.record({ op: fc.constant("check" as const), path: pathArb, version: int32 }, plain),
    fc.record({ op: fc.constant("deleteContainer" as const), path: pathArb }, plain),
    fc.record({ op: fc.constant("createSession" as const), sessionId: int64, timeoutMs: int32 }, plain),
    fc.record({ op: fc.constant("closeSession" as const), sessionId: int64 }, plain),
    fc.record({ op: fc.constant("deleteEphemerals" as const), sessionId: int64, paths: fc.array(pathArb, { maxLength: 4 }) }, plain),
    fc.record({ op: fc.constant("multi" as const), ops: fc.array(tie("writeRequest"), { maxLength: 4 }) }, plain),
  ),
}));

const statArb: fc.Arbitrary<Stat> = fc.record(
  {
    czxid: int64,
    mzxid: int64,
    ctime: int64,
    mtime: int64,
    version: int32,
    cversion: int32,
    aversion: int32,
    ephemeralOwner: int64,
    dataLength: int32,
    numChildren: int32,
    pzxid: int64,
  },
  plain,
);

const { opResult: opResultArb, multiOpResult: multiOpResultArb } = fc.letrec<{ opResult: OpResult; multiOpResult: MultiOpResult }>((tie) => ({
  opResult: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ op: fc.constant("create" as const), kind: kindArb, path: pathArb, stat: statArb }, plain),
    fc.record({ op: fc.constantFrom("setData" as const, "setACL" as const), stat: statArb }, plain),
    fc.record({ op: fc.constantFrom("delete" as const, "check" as const, "deleteContainer" as const, "createSession" as const, "closeSession" as const, "deleteEphemerals" as const) }, plain),
    fc.record({ op: fc.constant("multi" as const), results: fc.array(tie("multiOpResult"), { maxLength: 4 }) }, plain),
  ),
  multiOpResult: fc.oneof(tie("opResult"), fc.record({ op: fc.constant("error" as const), err: int32 }, plain)),
}));

const outcomeArb: fc.Arbitrary<ForwardOutcome> = fc.oneof(
  fc.record({
    kind: fc.constant("committed" as const), result: opResultArb, origin: name, shipSeq: int64,
    delta: fc.constantFrom<Delta | null>(null, { zxid: 1n, timeMs: 2n, sessionId: -3n, ops: [], stamp: { origin: "eu", shipSeq: 9n, streamPos: 0n, leases: [] } }), deps: fc.array(fc.record({ origin: name, shipSeq: int64 }, plain), { maxLength: 3 }),
  }, plain),
  fc.record(
    { kind: fc.constant("failed" as const), err: int32, multiResults: fc.array(multiOpResultArb, { maxLength: 4 }), origin: name, shipSeq: int64 },
    { ...plain, requiredKeys: ["kind", "err", "origin", "shipSeq"] },
  ),
  fc.record({ kind: fc.constant("notOwner" as const), leases: fc.array(unitEpochArb, { maxLength: 3 }), owners: fc.array(name, { maxLength: 3 }) }, plain),
  fc.record({ kind: fc.constant("unavailable" as const), reason: name }, plain),
);

const deltaOpArb: fc.Arbitrary<DeltaOp> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: pathArb, data: dataArb, acl: aclArb, ephemeralOwner: int64, parentCversion: int32 }, plain),
  fc.record({ type: fc.constant("delete" as const), path: pathArb }, plain),
  fc.record({ type: fc.constant("closeSession" as const), sessionId: int64 }, plain),
);
const deltaArb: fc.Arbitrary<Delta> = fc.record({ zxid: int64, timeMs: int64, sessionId: int64, ops: fc.array(deltaOpArb, { maxLength: 3 }) }, plain);
const deltasArb = fc.array(deltaArb, { maxLength: 3 });

const messageArb: fc.Arbitrary<BrokerMessage> = fc.oneof(
  fc.record({ type: fc.constant("subscribe" as const), streamPos: int64 }, plain),
  fc.record({ type: fc.constant("subscribed" as const), shipSeq: int64, streamPos: int64 }, plain),
  fc.record({ type: fc.constant("ship" as const), deltas: deltasArb, deps: fc.array(fc.record({ origin: name, shipSeq: int64 }, plain), { maxLength: 3 }) }, plain),
  fc.record({ type: fc.constant("stream" as const), deltas: deltasArb }, plain),
  fc.record({ type: fc.constant("streamGap" as const), oldestStreamPos: int64 }, plain),
  fc.record(
    { type: fc.constant("renew" as const), round: count, leases: fc.array(unitEpochArb, { maxLength: 3 }), counts: fc.array(fc.record({ unit: pathArb, origin: name, count }, plain), { maxLength: 3 }) },
    plain,
  ),
  fc.record({ type: fc.constant("renewed" as const), round: count, termMs: count, stale: fc.array(unitEpochArb, { maxLength: 3 }), streamPos: int64 }, plain),
  fc.record({ type: fc.constant("revoke" as const), unit: pathArb, epoch: count }, plain),
  fc.record({ type: fc.constant("released" as const), unit: pathArb, epoch: count, shipSeq: int64 }, plain),
  fc.record(
    {
      type: fc.constant("forward" as const),
      requestId: count,
      sessionId: int64,
      request: writeRequestArb,
      authIds: fc.array(idArb, { maxLength: 3 }),
      leases: fc.array(unitEpochArb, { maxLength: 3 }),
      deps: fc.array(fc.record({ origin: name, shipSeq: int64 }, plain), { maxLength: 3 }),
      carried: deltasArb,
      carriedDeps: fc.array(fc.record({ origin: name, shipSeq: int64 }, plain), { maxLength: 3 }),
    },
    plain,
  ),
  fc.record({ type: fc.constant("forwardReply" as const), requestId: count, outcome: outcomeArb }, plain),
  fc.record({ type: fc.constant("sync" as const), requestId: count, unit: pathArb }, plain),
  fc.record({ type: fc.constant("syncReply" as const), requestId: count, origin: name, shipSeq: int64, ok: fc.boolean() }, plain),
  fc.record({ type: fc.constant("fenced" as const), shipSeq: int64, units: fc.array(pathArb, { maxLength: 4 }) }, plain),
);

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({ from: name, region: name, epoch: safeInteger, message: messageArb }, plain);

function roundTrip(envelope: Envelope): Envelope {
  return decodeEnvelope(encodeEnvelope(envelope));
}

function envelopeOf(message: BrokerMessage): Envelope {
  return { from: "node-1", region: "us-east", epoch: 1_700_000_000_000, message };
}

function isWireError(error: unknown): boolean {
  return error instanceof BrokerWireError && error.code === "ERR_BROKER_WIRE";
}

/** Decodes, or fails with BrokerWireError; any other exception fails the test. */
function decodesOrFailsTyped(bytes: Uint8Array): void {
  try {
    decodeEnvelope(bytes);
  } catch (error) {
    assert.ok(isWireError(error), `not a BrokerWireError: ${String(error)}`);
  }
}

const extremes = [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 32n), 2n ** 32n, 0x8000_0000_0000_0001n - 2n ** 64n];
const stat: Stat = {
  czxid: 2n ** 63n - 1n,
  mzxid: -(2n ** 63n),
  ctime: 1_700_000_000_000n,
  mtime: -1n,
  version: -1,
  cversion: 0x7fffffff,
  aversion: -0x80000000,
  ephemeralOwner: 0x8123_4567_89ab_cdefn - 2n ** 64n,
  dataLength: 0,
  numChildren: 3,
  pzxid: 0n,
};

test("every broker message variant round-trips, hand-written", () => {
  const messages: BrokerMessage[] = [
    { type: "subscribe", streamPos: 0n },
    { type: "subscribed", shipSeq: 2n ** 63n - 1n, streamPos: 7n },
    { type: "ship", deltas: [], deps: [{ origin: "eu", shipSeq: 5n }] },
    { type: "stream", deltas: [{ zxid: -1n, timeMs: 5n, sessionId: -(2n ** 63n), ops: [{ type: "setData", path: "/a", data: Buffer.alloc(0), version: 2 }] }] },
    { type: "streamGap", oldestStreamPos: 12n },
    { type: "renew", round: 3, leases: [{ unit: "/", epoch: 0 }], counts: [{ unit: "/app/a", origin: "eu", count: 9 }] },
    { type: "renewed", round: 3, termMs: 10_000, stale: [], streamPos: 42n },
    { type: "revoke", unit: "/app/a", epoch: 4 },
    { type: "released", unit: "/app/a", epoch: 4, shipSeq: 99n },
    {
      type: "forward",
      requestId: Number.MAX_SAFE_INTEGER,
      sessionId: 0x9000_0000_0000_0001n - 2n ** 64n,
      request: { op: "setData", path: "/x", data: null, version: -1 },
      authIds: [{ scheme: "digest", id: "u:p" }],
      leases: [{ unit: "/app/*", epoch: 1 }],
      deps: [{ origin: "us", shipSeq: 5n }],
      carried: [{ zxid: 3n, timeMs: 4n, sessionId: 5n, ops: [{ type: "delete", path: "/d" }], stamp: { origin: "eu", shipSeq: 6n, streamPos: 0n, leases: [] } }],
      carriedDeps: [{ origin: "ap", shipSeq: 2n }],
    },
    { type: "forwardReply", requestId: 1, outcome: { kind: "unavailable", reason: "log failed" } },
    { type: "sync", requestId: 2, unit: "/" },
    { type: "syncReply", requestId: 2, origin: "ap", shipSeq: 0n, ok: false },
    { type: "fenced", shipSeq: 7n, units: ["/a", "/p/x"] },
    { type: "relay", origin: "eu", deltas: [], deps: [{ origin: "ap", shipSeq: 3n }] },
  ];
  for (const message of messages) assert.deepEqual(roundTrip(envelopeOf(message)), envelopeOf(message));
});

test("every write request op round-trips, multi nested in multi included", () => {
  const acl: Acl[] = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
  const requests: WriteRequest[] = [
    { op: "create", kind: "createTTL", path: "/t", data: Buffer.from("x"), acl, flags: 5, ttl: 60_000n },
    { op: "create", kind: "createContainer", path: "/c", data: null, acl: [], flags: 4, ttl: -1n },
    { op: "delete", path: "/d", version: -1 },
    { op: "setACL", path: "/s", acl, version: 3 },
    { op: "check", path: "/k", version: 0 },
    { op: "deleteContainer", path: "/c" },
    { op: "createSession", sessionId: -(2n ** 63n), timeoutMs: 30_000 },
    { op: "closeSession", sessionId: 2n ** 63n - 1n },
    { op: "deleteEphemerals", sessionId: -2n, paths: ["/e1", "/e2"] },
    { op: "multi", ops: [{ op: "multi", ops: [] }, { op: "check", path: "/k", version: 1 }] },
  ];
  for (const request of requests) {
    const envelope = envelopeOf({ type: "forward", requestId: 0, sessionId: 1n, request, authIds: [], leases: [], deps: [], carried: [], carriedDeps: [] });
    assert.deepEqual(roundTrip(envelope), envelope);
  }
});

test("null data and empty data stay different", () => {
  for (const data of [null, Buffer.alloc(0), Buffer.from([0])]) {
    const envelope = envelopeOf({ type: "forward", requestId: 0, sessionId: 0n, request: { op: "setData", path: "/a", data, version: 0 }, authIds: [], leases: [], deps: [], carried: [], carriedDeps: [] });
    const decoded = roundTrip(envelope).message;
    assert.ok(decoded.type === "forward" && decoded.request.op === "setData");
    assert.deepEqual(decoded.request.data, data);
  }
});

test("64-bit values round-trip exactly, negatives and the high bit included", () => {
  for (const value of extremes) {
    const envelope = envelopeOf({ type: "forward", requestId: 0, sessionId: value, request: { op: "closeSession", sessionId: value }, authIds: [], leases: [], deps: [{ origin: "o", shipSeq: value }], carried: [], carriedDeps: [{ origin: "p", shipSeq: value }] });
    assert.deepEqual(roundTrip(envelope), envelope);
  }
});

test("every forward outcome round-trips, a failed multi's empty results apart from none", () => {
  const outcomes: ForwardOutcome[] = [
    { kind: "committed", result: { op: "create", kind: "create2", path: "/a0000000001", stat }, origin: "eu", shipSeq: 3n, delta: null, deps: [] },
    {
      kind: "committed", result: { op: "multi", results: [{ op: "setData", stat }, { op: "setACL", stat }, { op: "delete" }, { op: "deleteEphemerals" }] }, origin: "eu", shipSeq: 4n,
      delta: { zxid: 9n, timeMs: 5n, sessionId: 7n, ops: [{ type: "delete", path: "/x" }], stamp: { origin: "eu", shipSeq: 4n, streamPos: 0n, leases: [] } },
      deps: [{ origin: "us", shipSeq: 12n }],
    },
    { kind: "failed", err: -101, origin: "eu", shipSeq: 0n },
    { kind: "failed", err: -101, multiResults: [], origin: "eu", shipSeq: -1n },
    { kind: "failed", err: -2, origin: "ap", shipSeq: 2n ** 63n - 1n, multiResults: [{ op: "error", err: 0 }, { op: "error", err: -101 }, { op: "error", err: -2 }] },
    { kind: "notOwner", leases: [{ unit: "/app/a", epoch: 7 }], owners: ["ap"] },
    { kind: "unavailable", reason: "" },
  ];
  for (const outcome of outcomes) {
    const envelope = envelopeOf({ type: "forwardReply", requestId: 9, outcome });
    assert.deepEqual(roundTrip(envelope), envelope);
  }
});

test("a stamped delta keeps its stamp when the delta codec carries stamps", (context) => {
  const stamped: Delta = {
    zxid: 1n,
    timeMs: 2n,
    sessionId: 0n,
    ops: [],
    stamp: { origin: "eu", shipSeq: 5n, streamPos: 6n, leases: [{ unit: "/app/a", owner: "eu", epoch: 2 }] },
  };
  if (decodeDelta(encodeDelta(stamped)).stamp === undefined) {
    context.skip("the delta codec does not carry stamps yet");
    return;
  }
  const envelope = envelopeOf({ type: "stream", deltas: [stamped] });
  assert.deepEqual(roundTrip(envelope), envelope);
});

test("every envelope survives encode then decode unchanged (property)", () => {
  fc.assert(
    fc.property(envelopeArb, (envelope) => {
      assert.deepEqual(roundTrip(envelope), envelope);
    }),
    { numRuns: 500 },
  );
});

test("write requests and forward outcomes survive encode then decode (property)", () => {
  fc.assert(
    fc.property(writeRequestArb, outcomeArb, (request, outcome) => {
      const forward = envelopeOf({ type: "forward", requestId: 1, sessionId: 1n, request, authIds: [], leases: [], deps: [], carried: [], carriedDeps: [] });
      const reply = envelopeOf({ type: "forwardReply", requestId: 1, outcome });
      assert.deepEqual(roundTrip(forward), forward);
      assert.deepEqual(roundTrip(reply), reply);
    }),
    { numRuns: 500 },
  );
});

test("random bytes decode to an envelope or fail with ERR_BROKER_WIRE", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodesOrFailsTyped), { numRuns: 3000 });
});

test("every truncation of a valid envelope decodes or fails with ERR_BROKER_WIRE", () => {
  fc.assert(
    fc.property(envelopeArb, (envelope) => {
      const bytes = encodeEnvelope(envelope);
      for (let length = 0; length < bytes.length; length++) decodesOrFailsTyped(bytes.subarray(0, length));
    }),
    { numRuns: 150 },
  );
});

test("bit flips and byte changes in a valid envelope decode or fail with ERR_BROKER_WIRE", () => {
  fc.assert(
    fc.property(envelopeArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (envelope, changes) => {
      const bytes = Buffer.from(encodeEnvelope(envelope));
      for (const [position, value] of changes) {
        const index = position % bytes.length;
        bytes[index] = position % 2 === 0 ? (bytes[index] ?? 0) ^ (1 << (value % 8)) : value;
      }
      decodesOrFailsTyped(bytes);
    }),
    { numRuns: 2000 },
  );
});

const schemaRoot = protobuf.parse(brokerProtoSchema).root;
function rawEnvelope(fields: { [field: string]: unknown }): Buffer {
  return Buffer.from(schemaRoot.lookupType(`${brokerProtoPackage}.Envelope`).encode(fields).finish());
}

/** One length-delimited protobuf field (lengths under 2^21 here). */
function lengthDelimited(field: number, body: Uint8Array): Buffer {
  const varint: number[] = [];
  for (let value = body.length; ; value >>>= 7) {
    if (value < 0x80) {
      varint.push(value);
      break;
    }
    varint.push((value & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint]), body]);
}

test("an envelope without a known message, a missing field, a bad enum or an unsafe integer fails with ERR_BROKER_WIRE", () => {
  const header = { from: "a", region: "r", epoch: 1 };
  const createWithKind = (kind: number) => ({ create: { kind, path: "/a", flags: 0, ttl: 0 } });
  const cases: Buffer[] = [
    rawEnvelope(header),
    Buffer.concat([rawEnvelope(header), lengthDelimited(31, Buffer.alloc(0))]), // an unknown field only
    rawEnvelope({ ...header, subscribe: { streamPos: 1 } }).subarray(3), // without `from` (its 3 bytes come first)
    Buffer.concat([rawEnvelope(header), lengthDelimited(10, Buffer.alloc(0))]), // subscribe without streamPos
    rawEnvelope({ ...header, forward: { requestId: 1, sessionId: 1, request: createWithKind(9) } }),
    rawEnvelope({ ...header, forward: { requestId: 1, sessionId: 1, request: {} } }),
    rawEnvelope({ ...header, forwardReply: { requestId: 1, outcome: {} } }),
    rawEnvelope({ ...header, forwardReply: { requestId: 1, outcome: { committed: { result: {}, origin: "o", shipSeq: 1 } } } }),
    rawEnvelope({ ...header, revoke: { unit: "/", epoch: "9007199254740993" } }),
    rawEnvelope({ ...header, epoch: "-9007199254740993", subscribe: { streamPos: 1 } }),
    rawEnvelope({ ...header, ship: { deltas: [Buffer.from([1, 2, 3])] } }),
  ];
  for (const bytes of cases) assert.throws(() => decodeEnvelope(bytes), isWireError);
  assert.deepEqual(decodeEnvelope(rawEnvelope({ ...header, forward: { requestId: 1, sessionId: 1, request: createWithKind(4) } })).message, {
    type: "forward",
    requestId: 1,
    sessionId: 1n,
    request: { op: "create", kind: "createTTL", path: "/a", data: null, acl: [], flags: 0, ttl: 0n },
    authIds: [],
    leases: [],
    deps: [],
    carried: [],
    carriedDeps: [],
  });
});

test("multis nested beyond the decoder's depth limit fail with ERR_BROKER_WIRE, encoding and decoding", () => {
  let request: WriteRequest = { op: "check", path: "/a", version: 0 };
  for (let depth = 0; depth < 200; depth++) request = { op: "multi", ops: [request] };
  const tooDeep = envelopeOf({ type: "forward", requestId: 0, sessionId: 0n, request, authIds: [], leases: [], deps: [], carried: [], carriedDeps: [] });
  assert.throws(() => encodeEnvelope(tooDeep), isWireError);
  // The same bytes built by hand: WriteRequest.multi (field 6) holding MultiRequest.ops (field 1).
  let writeRequest = lengthDelimited(5, Buffer.concat([lengthDelimited(1, Buffer.from("/a")), Buffer.from([0x10, 0x00])]));
  for (let depth = 0; depth < 200; depth++) writeRequest = lengthDelimited(6, lengthDelimited(1, writeRequest));
  const forward = Buffer.concat([Buffer.from([0x08, 0x00, 0x10, 0x00]), lengthDelimited(3, writeRequest)]);
  assert.throws(() => decodeEnvelope(Buffer.concat([rawEnvelope({ from: "a", region: "r", epoch: 1 }), lengthDelimited(19, forward)])), isWireError);
});

test("values that do not fit their wire type are refused when encoding", () => {
  assert.throws(() => encodeEnvelope(envelopeOf({ type: "sync", requestId: 1.5, unit: "/" })), isWireError);
  assert.throws(() => encodeEnvelope(envelopeOf({ type: "forward", requestId: 0, sessionId: 0n, request: { op: "check", path: "/", version: 2 ** 31 }, authIds: [], leases: [], deps: [], carried: [], carriedDeps: [] })), isWireError);
});
