// The bytes under the log: CRC32C, record frames and the delta codec.
// Every delta round-trips; damaged bytes fail with StorageError
// ERR_STORAGE_DECODE and nothing else.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/storage/crc32c.js";
import { decodeDelta, encodeDelta } from "../../src/storage/delta-codec.js";
import { StorageError, StorageErrorCode } from "../../src/storage/errors.js";
import { encodeFrame, frameHeaderBytes, readFrame, zeroTail } from "../../src/storage/frame.js";
import type { Acl, Delta, DeltaOp, ReplicationStamp } from "../../src/tree/types.js";

/** Plain-prototype records, so that decoded values compare deepEqual. */
const plain = { noNullPrototype: true } as const;
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const pathArb = fc.string({ minLength: 1, maxLength: 12 }).map((text) => `/${text}`);
const dataArb = fc.option(fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)), { nil: null });
const aclArb: fc.Arbitrary<Acl[]> = fc.array(
  fc.record({ perms: int32, id: fc.record({ scheme: fc.string({ maxLength: 8 }), id: fc.string({ maxLength: 12 }) }, plain) }, plain),
  { maxLength: 3 },
);

const opArb: fc.Arbitrary<DeltaOp> = fc.oneof(
  fc.record({ type: fc.constant("create" as const), path: pathArb, data: dataArb, acl: aclArb, ephemeralOwner: int64, parentCversion: int32 }, plain),
  fc.record({ type: fc.constant("delete" as const), path: pathArb }, plain),
  fc.record({ type: fc.constant("setData" as const), path: pathArb, data: dataArb, version: int32 }, plain),
  fc.record({ type: fc.constant("setACL" as const), path: pathArb, acl: aclArb, aversion: int32 }, plain),
  fc.record({ type: fc.constant("createSession" as const), sessionId: int64, timeoutMs: int32 }, plain),
  fc.record({ type: fc.constant("closeSession" as const), sessionId: int64 }, plain),
);

const deltaArb: fc.Arbitrary<Delta> = fc.record({ zxid: int64, timeMs: int64, sessionId: int64, ops: fc.array(opArb, { maxLength: 5 }) }, plain);

const stampArb: fc.Arbitrary<ReplicationStamp> = fc.record(
  {
    origin: fc.string({ maxLength: 10 }),
    shipSeq: int64,
    streamPos: int64,
    leases: fc.array(fc.record({ unit: fc.string({ maxLength: 12 }), owner: fc.string({ maxLength: 8 }), epoch: int32 }, plain), { maxLength: 4 }),
  },
  plain,
);
/** Stamped deltas, zero-op lease events among them. */
const stampedDeltaArb: fc.Arbitrary<Delta> = fc
  .tuple(deltaArb, stampArb, fc.boolean())
  .map(([delta, stamp, leaseEvent]) => ({ ...delta, ops: leaseEvent ? [] : delta.ops, stamp }));

function decodesOrFailsTyped(bytes: Buffer): void {
  try {
    decodeDelta(bytes);
  } catch (error) {
    assert.ok(error instanceof StorageError, `not a StorageError: ${String(error)}`);
    assert.equal(error.code, StorageErrorCode.decode);
  }
}

test("CRC32C matches the standard check value and continues across pieces", () => {
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(Buffer.from("6789"), crc32c(Buffer.from("12345"))), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test("every delta survives encode then decode unchanged", () => {
  fc.assert(
    fc.property(deltaArb, (delta) => {
      assert.deepEqual(decodeDelta(encodeDelta(delta)), delta);
    }),
    { numRuns: 300 },
  );
});

test("a delta cut short at any byte fails with ERR_STORAGE_DECODE", () => {
  fc.assert(
    fc.property(deltaArb, (delta) => {
      const bytes = encodeDelta(delta);
      for (let length = 0; length < bytes.length; length++) {
        assert.throws(() => decodeDelta(bytes.subarray(0, length)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.decode);
      }
    }),
    { numRuns: 60 },
  );
});

test("extra bytes, a wrong version or an unknown op tag fail with ERR_STORAGE_DECODE", () => {
  const bytes = encodeDelta({ zxid: 5n, timeMs: 1n, sessionId: 0n, ops: [{ type: "delete", path: "/a" }] });
  const isDecodeError = (error: unknown): boolean => error instanceof StorageError && error.code === StorageErrorCode.decode;
  assert.throws(() => decodeDelta(Buffer.concat([bytes, Buffer.of(0)])), isDecodeError);
  for (const version of [0, 2, 3, 255]) {
    // 2 is a known version, but this record has no stamp flag after its ops.
    const wrongVersion = Buffer.from(bytes);
    wrongVersion[0] = version;
    assert.throws(() => decodeDelta(wrongVersion), isDecodeError);
  }
  const unknownTag = Buffer.from(bytes);
  unknownTag.writeInt32BE(99, 1 + 24 + 4);
  assert.throws(() => decodeDelta(unknownTag), isDecodeError);
});

test("random damage to an encoded delta decodes or fails typed, never otherwise", () => {
  fc.assert(
    fc.property(deltaArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (delta, edits) => {
      const bytes = Buffer.from(encodeDelta(delta));
      for (const [position, value] of edits) bytes[position % bytes.length] = value;
      decodesOrFailsTyped(bytes);
    }),
    { numRuns: 500 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => decodesOrFailsTyped(Buffer.from(bytes))), { numRuns: 500 });
});

test("a stamped delta (format version 2) survives encode then decode unchanged", () => {
  fc.assert(
    fc.property(stampedDeltaArb, (delta) => {
      const bytes = encodeDelta(delta);
      assert.equal(bytes[0], 2);
      assert.deepEqual(decodeDelta(bytes), delta);
    }),
    { numRuns: 300 },
  );
});

test("a delta without a stamp is still written as version 1, byte for byte as before", () => {
  const delta: Delta = { zxid: 0x102n, timeMs: 7n, sessionId: 0x55n, ops: [{ type: "delete", path: "/a" }, { type: "closeSession", sessionId: 0x55n }] };
  const expected = Buffer.concat([
    Buffer.of(1),
    Buffer.from("0000000000000102" + "0000000000000007" + "0000000000000055", "hex"),
    Buffer.from("00000002" + "00000002" + "00000002", "hex"),
    Buffer.from("/a"),
    Buffer.from("00000006" + "0000000000000055", "hex"),
  ]);
  assert.deepEqual(encodeDelta(delta), expected);
  assert.deepEqual(decodeDelta(expected), delta);
  fc.assert(
    fc.property(deltaArb, (unstamped) => {
      assert.equal(encodeDelta(unstamped)[0], 1);
    }),
  );
});

test("version 2 lays the stamp after the ops: flag, origin, shipSeq, streamPos, lease rows", () => {
  const stamp: ReplicationStamp = { origin: "eu", shipSeq: 3n, streamPos: 9n, leases: [{ unit: "/u", owner: "us", epoch: 4 }] };
  const bytes = encodeDelta({ zxid: 1n, timeMs: 2n, sessionId: 0n, ops: [], stamp });
  const expected = Buffer.concat([
    Buffer.of(2),
    Buffer.from("0000000000000001" + "0000000000000002" + "0000000000000000" + "00000000", "hex"),
    Buffer.of(1),
    Buffer.from("00000002", "hex"),
    Buffer.from("eu"),
    Buffer.from("0000000000000003" + "0000000000000009" + "00000001" + "00000002", "hex"),
    Buffer.from("/u"),
    Buffer.from("00000002", "hex"),
    Buffer.from("us"),
    Buffer.from("00000004", "hex"),
  ]);
  assert.deepEqual(bytes, expected);
  // A version 2 record whose flag says "no stamp" decodes as an unstamped delta.
  const noStamp = Buffer.concat([expected.subarray(0, 29), Buffer.of(0)]);
  assert.deepEqual(decodeDelta(noStamp), { zxid: 1n, timeMs: 2n, sessionId: 0n, ops: [] });
});

test("every single-bit flip and every truncation of a stamped delta decodes or fails with ERR_STORAGE_DECODE", () => {
  fc.assert(
    fc.property(stampedDeltaArb, (delta) => {
      const bytes = encodeDelta(delta);
      for (let length = 0; length < bytes.length; length++) {
        assert.throws(() => decodeDelta(bytes.subarray(0, length)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.decode);
      }
      for (let position = 0; position < bytes.length; position++) {
        for (let bit = 0; bit < 8; bit++) {
          const flipped = Buffer.from(bytes);
          flipped[position]! ^= 1 << bit;
          decodesOrFailsTyped(flipped);
        }
      }
    }),
    { numRuns: 60 },
  );
});

test("a lease count larger than the bytes left fails before anything is allocated", () => {
  const bytes = Buffer.from(encodeDelta({ zxid: 1n, timeMs: 2n, sessionId: 0n, ops: [], stamp: { origin: "", shipSeq: 0n, streamPos: 0n, leases: [] } }));
  bytes.writeInt32BE(0x7fffffff, bytes.length - 4);
  assert.throws(() => decodeDelta(bytes), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.decode);
});

test("random damage to a stamped delta decodes or fails typed, never otherwise", () => {
  fc.assert(
    fc.property(stampedDeltaArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (delta, edits) => {
      const bytes = Buffer.from(encodeDelta(delta));
      for (const [position, value] of edits) bytes[position % bytes.length] = value;
      decodesOrFailsTyped(bytes);
    }),
    { numRuns: 500 },
  );
});

test("a frame reads back its payload; its checksum covers the length", () => {
  const payload = Buffer.from("payload bytes");
  const frame = encodeFrame(payload);
  assert.equal(frame.length, frameHeaderBytes + payload.length);
  const read = readFrame(frame, 0, 1024);
  assert.ok(read.ok);
  assert.deepEqual(read.payload, payload);
  assert.equal(read.end, frame.length);
  // A shorter length that still fits: the checksum over length+payload fails.
  const shorter = Buffer.from(frame);
  shorter.writeUInt32BE(payload.length - 1, 0);
  assert.deepEqual(readFrame(shorter, 0, 1024), { ok: false, problem: "checksum", end: frame.length - 1 });
  assert.deepEqual(readFrame(frame.subarray(0, 10), 0, 1024), { ok: false, problem: "incomplete", end: 10 });
  assert.deepEqual(readFrame(frame, 0, 4), { ok: false, problem: "length", end: frame.length });
});

test("zeroTail: zeros from the start of the range or across a sector boundary", () => {
  const bytes = Buffer.alloc(2048, 7);
  bytes.fill(0, 1000);
  assert.equal(zeroTail(bytes, 900, 1100), true, "zeros from 1000 cover the boundary at 1024");
  assert.equal(zeroTail(bytes, 900, 1020), false, "zeros from 1000 to 1020 cross no boundary");
  assert.equal(zeroTail(bytes, 1000, 1010), true, "all zeros from the start");
  assert.equal(zeroTail(bytes, 900, 999), false, "no trailing zeros");
});
