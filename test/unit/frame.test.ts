// Framing: a 4-byte big-endian length then the body. The decoder must give
// the same frames whatever the chunking, and refuse a bad length as soon as
// its four bytes are in, before allocating anything for the body.

import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CodecError } from "../../src/protocol/archive.js";
import { FrameDecoder, encodeFrame, frameBytesMaxDefault } from "../../src/protocol/frame.js";

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length >>> 0, 0);
  return prefix;
}

/** Splits bytes at the given cut points (any values; they are wrapped and sorted). */
function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Buffer[] {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

function byteAtATime(bytes: Buffer): Buffer[] {
  return [...bytes].map((byte) => Buffer.from([byte]));
}

function expectFrameLengthError(run: () => unknown): void {
  assert.throws(run, (error) => {
    assert.ok(error instanceof CodecError);
    assert.equal(error.code, "ERR_FRAME_LENGTH");
    assert.equal(error.zkError, -5);
    return true;
  });
}

const bodiesArbitrary = fc.array(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  { maxLength: 8 },
);

describe("FrameDecoder", () => {
  it("defaults to ZooKeeper's jute.maxbuffer of 0xfffff bytes", () => {
    assert.equal(frameBytesMaxDefault, 1_048_575);
    assert.equal(new FrameDecoder().frameBytesMax, 1_048_575);
  });

  it("gives the same frames whatever the chunking", () => {
    fc.assert(
      fc.property(bodiesArbitrary, fc.array(fc.nat(), { maxLength: 20 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map(encodeFrame));
        const decoder = new FrameDecoder();
        assert.deepStrictEqual(decodeAll(decoder, chunksOf(stream, cuts)), bodies);
        assert.equal(decoder.bufferedBytes(), 0);
      }),
    );
  });

  it("gives the same frames one byte at a time", () => {
    fc.assert(
      fc.property(bodiesArbitrary, (bodies) => {
        const stream = Buffer.concat(bodies.map(encodeFrame));
        assert.deepStrictEqual(decodeAll(new FrameDecoder(), byteAtATime(stream)), bodies);
      }),
      { numRuns: 50 },
    );
  });

  it("returns an empty body for a zero length, wherever the chunk ends", () => {
    const stream = Buffer.concat([encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from("a")), encodeFrame(Buffer.alloc(0))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = decodeAll(new FrameDecoder(), [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepStrictEqual(frames, [Buffer.alloc(0), Buffer.from("a"), Buffer.alloc(0)]);
    }
  });

  it("keeps a partial frame until the rest arrives", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame(Buffer.from("hello"));
    assert.deepStrictEqual(decoder.push(frame.subarray(0, 6)), []);
    assert.equal(decoder.bufferedBytes(), 6);
    assert.deepStrictEqual(decoder.pending(), frame.subarray(0, 6));
    assert.deepStrictEqual(decoder.push(frame.subarray(6)), [Buffer.from("hello")]);
    assert.equal(decoder.bufferedBytes(), 0);
  });

  it("accepts a frame of exactly the limit", () => {
    const body = Buffer.alloc(64, 1);
    assert.deepStrictEqual(new FrameDecoder(64).push(encodeFrame(body)), [body]);
  });

  it("refuses a length above the limit as soon as its four bytes are in", () => {
    const decoder = new FrameDecoder(64);
    const chunks = byteAtATime(lengthPrefix(65));
    for (const chunk of chunks.slice(0, 3)) assert.deepStrictEqual(decoder.push(chunk), []);
    expectFrameLengthError(() => decoder.push(chunks[3] ?? Buffer.alloc(0)));
  });

  it("refuses negative lengths", () => {
    for (const length of [-1, -2, -0x80000000]) {
      expectFrameLengthError(() => new FrameDecoder().push(lengthPrefix(length)));
    }
  });

  it("checks the length before allocating the body", () => {
    const allocUnsafe = mock.method(Buffer, "allocUnsafe");
    const alloc = mock.method(Buffer, "alloc");
    try {
      const decoder = new FrameDecoder(0x7fffffff - 1);
      expectFrameLengthError(() => decoder.push(lengthPrefix(0x7fffffff)));
      const sizes = [...allocUnsafe.mock.calls, ...alloc.mock.calls].map((call) => Number(call.arguments[0]));
      assert.ok(sizes.every((size) => size < 1024), `allocated ${sizes.join(", ")}`);
    } finally {
      allocUnsafe.mock.restore();
      alloc.mock.restore();
    }
  });

  it("keeps failing once a bad length was seen, and still shows the raw bytes", () => {
    const decoder = new FrameDecoder();
    const bad = Buffer.concat([encodeFrame(Buffer.from("ok")), lengthPrefix(-5), Buffer.from("rest")]);
    expectFrameLengthError(() => decoder.push(bad));
    expectFrameLengthError(() => decoder.push(Buffer.from("more")));
    assert.deepStrictEqual(decoder.pending(), Buffer.concat([lengthPrefix(-5), Buffer.from("restmore")]));
  });

  it("rejects a limit that is not a non-negative 32-bit integer", () => {
    assert.throws(() => new FrameDecoder(-1), RangeError);
    assert.throws(() => new FrameDecoder(2 ** 31), RangeError);
  });
});

describe("FrameDecoder before the first frame (four-letter words)", () => {
  it("shows the first four raw bytes before they are decoded as a length", () => {
    const decoder = new FrameDecoder();
    decoder.append(Buffer.from("ru"));
    assert.equal(decoder.firstWord(), null);
    decoder.append(Buffer.from("ok"));
    assert.equal(decoder.firstWord()?.toString("latin1"), "ruok");
    assert.equal(decoder.bufferedBytes(), 4);
    // As a length, "ruok" is far above the limit.
    expectFrameLengthError(() => decoder.takeFrames());
    assert.equal(decoder.firstWord(), null);
  });

  it("keeps the bytes after the word (stmk sends 8 more)", () => {
    const decoder = new FrameDecoder();
    decoder.append(Buffer.from("stmk\x00\x00"));
    decoder.append(Buffer.from("\x00\x00\x00\x00\x00\x01"));
    assert.equal(decoder.firstWord()?.toString("latin1"), "stmk");
    assert.deepStrictEqual(decoder.pending(), Buffer.from("stmk\x00\x00\x00\x00\x00\x00\x00\x01", "latin1"));
  });

  it("survives a partial header being decoded between appends", () => {
    const decoder = new FrameDecoder();
    assert.deepStrictEqual(decoder.push(Buffer.from([0, 0])), []);
    decoder.append(Buffer.from([0, 1, 0x61]));
    assert.deepStrictEqual(decoder.firstWord(), Buffer.from([0, 0, 0, 1]));
    assert.deepStrictEqual(decoder.takeFrames(), [Buffer.from("a")]);
  });

  it("has no first word once a length was decoded", () => {
    const decoder = new FrameDecoder();
    assert.deepStrictEqual(decoder.push(Buffer.concat([encodeFrame(Buffer.from("x")), Buffer.from("ruo")])), [Buffer.from("x")]);
    decoder.append(Buffer.from("k"));
    assert.equal(decoder.bufferedBytes(), 4);
    assert.equal(decoder.firstWord(), null);
  });
});

describe("encodeFrame", () => {
  it("prefixes the body with its big-endian length", () => {
    assert.equal(encodeFrame(Buffer.from("abc")).toString("hex"), "00000003616263");
    assert.equal(encodeFrame(Buffer.alloc(0)).toString("hex"), "00000000");
  });
});
