// The jute codec: every generated record round-trips, the byte layouts are
// ZooKeeper's, and the reader answers any malformed input with CodecError
// and nothing else, before allocating for a bad length.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { zeroStat } from "./tree-support.js";
import {
  CodecError,
  JuteReader,
  JuteWriter,
  type JuteLimits,
  type RecordCodec,
  decodeRecord,
  encodeRecord,
  juteLimitsDefault,
} from "../../src/protocol/archive.js";
import {
  type JuteFieldType,
  type RecordName,
  recordCodecs,
  recordSchemas,
  readStat,
  writeStat,
  type Stat,
} from "../../src/protocol/records.generated.js";

const recordNames = Object.keys(recordSchemas) as RecordName[];

function codecOf(name: RecordName): RecordCodec<unknown> {
  return recordCodecs[name];
}

function arbitraryOf(type: JuteFieldType): fc.Arbitrary<unknown> {
  if (typeof type === "object" && "vector" in type) return fc.array(arbitraryOf(type.vector), { maxLength: 4 });
  if (typeof type === "object") return recordArbitrary(type.record);
  switch (type) {
    case "int":
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case "long":
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case "boolean":
      return fc.boolean();
    case "buffer":
      return fc.option(
        fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
        { nil: null },
      );
    case "ustring":
      // Whole code points: a lone surrogate cannot survive UTF-8, in Java either.
      return fc.string({ unit: "binary", maxLength: 12 });
  }
}

function recordArbitrary(name: RecordName): fc.Arbitrary<Record<string, unknown>> {
  const fields = recordSchemas[name].fields as readonly { name: string; type: JuteFieldType }[];
  const model = Object.fromEntries(fields.map((field) => [field.name, arbitraryOf(field.type)]));
  // Decoded records are plain objects, so generate plain objects too.
  return fc.record(model, { noNullPrototype: true });
}

function hex(bytes: Buffer): string {
  return bytes.toString("hex");
}

function encode<T>(write: (writer: JuteWriter, value: T) => void, value: T): Buffer {
  const writer = new JuteWriter();
  write(writer, value);
  return writer.toBuffer();
}

function codecErrorCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CodecError, `expected CodecError, got ${String(error)}`);
    assert.equal(error.zkError, -5);
    return error.code;
  }
  assert.fail("expected a CodecError");
}


describe("every record in the declaration", () => {
  it("declares the records the server needs", () => {
    for (const name of ["Stat", "ConnectRequest", "ReplyHeader", "MultiHeader", "SetWatches2", "WhoAmIResponse"]) {
      assert.ok(recordNames.includes(name as RecordName), name);
    }
    assert.equal(recordNames.length, 48);
  });

  for (const name of recordNames) {
    it(`${name} decodes to what was encoded, consuming every byte`, () => {
      const codec = codecOf(name);
      fc.assert(
        fc.property(recordArbitrary(name), (value) => {
          const bytes = encodeRecord(codec, value);
          assert.ok(bytes.length >= recordSchemas[name].bytesMin);
          assert.deepStrictEqual(decodeRecord(codec, bytes), value);
        }),
        { numRuns: 200 },
      );
    });

    it(`${name} reader throws only CodecError on random and mutated bytes`, () => {
      const codec = codecOf(name);
      fc.assert(fc.property(hostileBytes(name), (bytes) => readOnlyCodecErrors(codec, bytes)), { numRuns: 300 });
    });
  }
});

/** Random bytes, and valid encodings with bytes overwritten, cut short or replaced by extreme lengths. */
function hostileBytes(name: RecordName): fc.Arbitrary<Buffer> {
  const valid = recordArbitrary(name).map((value) => encodeRecord(codecOf(name), value));
  const extremeWord = fc.constantFrom(0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff, 0x00100000, 0x0000ffff);
  const overwritten = fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
    .map(([bytes, edits]) => {
      const copy = Buffer.from(bytes);
      for (const [index, byte] of edits) if (copy.length > 0) copy[index % copy.length] = byte;
      return copy;
    });
  const truncated = fc.tuple(valid, fc.nat()).map(([bytes, cut]) => bytes.subarray(0, cut % (bytes.length + 1)));
  const extremeLength = fc.tuple(valid, fc.nat(), extremeWord).map(([bytes, at, word]) => {
    const copy = Buffer.concat([bytes, Buffer.alloc(4)]);
    copy.writeUInt32BE(word, at % (copy.length - 3));
    return copy;
  });
  const random = fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes));
  return fc.oneof(random, overwritten, truncated, extremeLength);
}

function readOnlyCodecErrors(codec: RecordCodec<unknown>, bytes: Buffer): void {
  try {
    codec.read(new JuteReader(bytes));
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
  }
}

describe("byte layouts match ZooKeeper's", () => {
  it("Stat is 68 bytes with pzxid last", () => {
    const bytes = encode(writeStat, { ...zeroStat, czxid: 1n, pzxid: 0x0102030405060708n, numChildren: 9 });
    assert.equal(bytes.length, 68);
    assert.equal(recordSchemas.Stat.bytesMin, 68);
    assert.equal(bytes.readBigInt64BE(0), 1n);
    assert.equal(bytes.readInt32BE(56), 9);
    assert.equal(hex(bytes.subarray(60)), "0102030405060708");
  });

  it("ReplyHeader is xid, zxid, err big-endian", () => {
    const bytes = encodeRecord(recordCodecs.ReplyHeader, { xid: -2, zxid: 5n, err: -101 });
    assert.equal(hex(bytes), "fffffffe" + "0000000000000005" + "ffffff9b");
  });

  it("ConnectRequest without readOnly is 44 bytes and ConnectResponse 36 with a 16-byte password", () => {
    const passwd = Buffer.alloc(16, 7);
    const request = { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30000, sessionId: 0n, passwd };
    assert.equal(encodeRecord(recordCodecs.ConnectRequest, request).length, 44);
    const response = { protocolVersion: 0, timeOut: 30000, sessionId: 0x1234n, passwd };
    assert.equal(encodeRecord(recordCodecs.ConnectResponse, response).length, 36);
  });

  it("a path and a watch flag: length, UTF-8 bytes, one byte", () => {
    assert.equal(hex(encodeRecord(recordCodecs.GetDataRequest, { path: "/a", watch: true })), "000000022f6101");
    assert.equal(hex(encodeRecord(recordCodecs.SyncRequest, { path: "/é" })), "000000032fc3a9");
  });

  it("CreateRequest nests the ACL vector inline", () => {
    const acl = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
    const bytes = encodeRecord(recordCodecs.CreateRequest, { path: "/a", data: Buffer.from("x"), acl, flags: 1 });
    const expected =
      "000000022f61" + "0000000178" + "00000001" + "0000001f" + "00000005" + Buffer.from("world").toString("hex") +
      "00000006" + Buffer.from("anyone").toString("hex") + "00000001";
    assert.equal(hex(bytes), expected);
  });

  it("the multi terminator is {-1, true, -1}", () => {
    assert.equal(hex(encodeRecord(recordCodecs.MultiHeader, { type: -1, done: true, err: -1 })), "ffffffff01ffffffff");
  });

  it("a null buffer is length -1 and round-trips as null", () => {
    const bytes = encodeRecord(recordCodecs.GetDataResponse, { data: null, stat: zeroStat });
    assert.equal(hex(bytes.subarray(0, 4)), "ffffffff");
    assert.equal(decodeRecord(recordCodecs.GetDataResponse, bytes).data, null);
    const empty = decodeRecord(recordCodecs.GetDataResponse, encodeRecord(recordCodecs.GetDataResponse, { data: Buffer.alloc(0), stat: zeroStat }));
    assert.deepStrictEqual(empty.data, Buffer.alloc(0));
  });

  it("a null string reads as empty and a null vector as an empty list", () => {
    assert.deepStrictEqual(decodeRecord(recordCodecs.SyncRequest, Buffer.from("ffffffff", "hex")), { path: "" });
    const children = decodeRecord(recordCodecs.GetChildrenResponse, Buffer.from("ffffffff", "hex"));
    assert.deepStrictEqual(children, { children: [] });
  });

  it("any non-zero boolean byte reads as true, as Java's readBoolean does", () => {
    assert.equal(new JuteReader(Buffer.from([2])).readBool(), true);
    assert.equal(new JuteReader(Buffer.from([0])).readBool(), false);
  });

  it("a decoded buffer is a copy, not a view of the frame", () => {
    const frame = Buffer.from("0000000161", "hex");
    const data = new JuteReader(frame).readBuffer();
    frame[4] = 0x62;
    assert.deepStrictEqual(data, Buffer.from("a"));
  });

  it("readStat reads what writeStat wrote, field by field", () => {
    const stat: Stat = { ...zeroStat, ctime: -1n, version: -1, ephemeralOwner: -(2n ** 63n), dataLength: 3 };
    assert.deepStrictEqual(readStat(new JuteReader(encode(writeStat, stat))), stat);
  });
});

describe("the reader rejects malformed lengths with CodecError", () => {
  const tinyLimits: JuteLimits = { bufferBytesMax: 8, stringBytesMax: 8, vectorElementsMax: 3 };

  it("a fixed-size value past the end is ERR_JUTE_TRUNCATED", () => {
    assert.equal(codecErrorCode(() => new JuteReader(Buffer.alloc(3)).readInt()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => new JuteReader(Buffer.alloc(7)).readLong()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => new JuteReader(Buffer.alloc(0)).readBool()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => decodeRecord(recordCodecs.Stat, Buffer.alloc(67))), "ERR_JUTE_TRUNCATED");
  });

  it("a length longer than the bytes remaining is ERR_JUTE_TRUNCATED", () => {
    assert.equal(codecErrorCode(() => new JuteReader(Buffer.from("0000000a616263", "hex")).readBuffer()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => new JuteReader(Buffer.from("00000004616263", "hex")).readString()), "ERR_JUTE_TRUNCATED");
  });

  it("a huge length under a raised limit is refused before allocating", () => {
    const limits: JuteLimits = { bufferBytesMax: 0x7fffffff, stringBytesMax: 0x7fffffff, vectorElementsMax: 0x7fffffff };
    const huge = Buffer.from("7ffffff0", "hex");
    assert.equal(codecErrorCode(() => new JuteReader(huge, limits).readBuffer()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => new JuteReader(huge, limits).readString()), "ERR_JUTE_TRUNCATED");
    assert.equal(codecErrorCode(() => new JuteReader(huge, limits).readVectorLength()), "ERR_JUTE_TRUNCATED");
  });

  it("negative lengths other than -1 are ERR_JUTE_LENGTH", () => {
    for (const word of ["fffffffe", "80000000"]) {
      const bytes = Buffer.from(word + "00000000", "hex");
      assert.equal(codecErrorCode(() => new JuteReader(bytes).readBuffer()), "ERR_JUTE_LENGTH");
      assert.equal(codecErrorCode(() => new JuteReader(bytes).readString()), "ERR_JUTE_LENGTH");
      assert.equal(codecErrorCode(() => new JuteReader(bytes).readVectorLength()), "ERR_JUTE_LENGTH");
    }
  });

  it("lengths above the named limits are ERR_JUTE_TOO_LARGE even when the bytes are there", () => {
    const nine = Buffer.concat([Buffer.from("00000009", "hex"), Buffer.alloc(9)]);
    assert.equal(codecErrorCode(() => new JuteReader(nine, tinyLimits).readBuffer()), "ERR_JUTE_TOO_LARGE");
    assert.equal(codecErrorCode(() => new JuteReader(nine, tinyLimits).readString()), "ERR_JUTE_TOO_LARGE");
    const four = Buffer.concat([Buffer.from("00000004", "hex"), Buffer.alloc(40)]);
    assert.equal(codecErrorCode(() => new JuteReader(four, tinyLimits).readVectorLength()), "ERR_JUTE_TOO_LARGE");
    const overDefault = Buffer.from("00100000", "hex");
    assert.equal(codecErrorCode(() => new JuteReader(overDefault).readBuffer()), "ERR_JUTE_TOO_LARGE");
    assert.equal(juteLimitsDefault.bufferBytesMax, 0xfffff);
  });

  it("a vector count is bounded by the smallest encoding of its elements", () => {
    // Three strings need at least 12 bytes; 11 remain.
    const bytes = Buffer.concat([Buffer.from("00000003", "hex"), Buffer.alloc(11)]);
    assert.equal(codecErrorCode(() => new JuteReader(bytes).readVectorLength(4)), "ERR_JUTE_TRUNCATED");
    assert.equal(new JuteReader(bytes).readVectorLength(1), 3);
    assert.equal(codecErrorCode(() => decodeRecord(recordCodecs.GetChildrenResponse, bytes)), "ERR_JUTE_TRUNCATED");
  });

  it("bytes left after a record are ERR_JUTE_TRAILING in decodeRecord", () => {
    assert.equal(codecErrorCode(() => decodeRecord(recordCodecs.ErrorResponse, Buffer.alloc(5))), "ERR_JUTE_TRAILING");
  });

  it("random bytes fed to the primitive readers throw nothing but CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 12 }), (bytes, steps) => {
        const reader = new JuteReader(Buffer.from(bytes), tinyLimits);
        const reads = [
          () => reader.readInt(),
          () => reader.readLong(),
          () => reader.readBool(),
          () => reader.readBuffer(),
          () => reader.readString(),
          () => reader.readVectorLength(),
          () => reader.readVector(4, (inner) => inner.readString()),
        ];
        try {
          for (const step of steps) reads[step]?.();
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
    );
  });
});

describe("the writer", () => {
  it("grows past its initial size", () => {
    const writer = new JuteWriter(16);
    const data = Buffer.alloc(10_000, 0xab);
    writer.writeBuffer(data);
    writer.writeString("end");
    const reader = new JuteReader(writer.toBuffer());
    assert.deepStrictEqual(reader.readBuffer(), data);
    assert.equal(reader.readString(), "end");
    assert.equal(reader.remaining(), 0);
    assert.equal(writer.length, 4 + 10_000 + 4 + 3);
  });

  it("refuses values outside int and long as a bug in the caller, not as bad input", () => {
    const writer = new JuteWriter();
    assert.throws(() => writer.writeInt(2 ** 31), (error) => !(error instanceof CodecError));
    assert.throws(() => writer.writeInt(1.5), (error) => !(error instanceof CodecError));
    assert.throws(() => writer.writeLong(2n ** 63n), (error) => !(error instanceof CodecError));
  });
});
