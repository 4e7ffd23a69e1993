// The jute binary archive: how ZooKeeper's records become bytes and back
// (facts from BinaryInputArchive / BinaryOutputArchive).
//
//   int      4 bytes, big-endian, signed
//   long     8 bytes, big-endian, signed (a bigint here)
//   boolean  1 byte; any non-zero byte reads as true (DataInput.readBoolean)
//   buffer   int length then the bytes; length -1 is null
//   ustring  int length then UTF-8 bytes; length -1 (null) reads as ""
//   vector   int count then the elements; count -1 (null) reads as empty
//
// The reader is fed bytes from the network, so every length is checked
// against a named limit and against the bytes actually remaining before
// anything is allocated, and every failure is a CodecError. Pure: no I/O.

import { ErrorCode } from "./codes.js";

export const CodecErrorCode = {
  /** A fixed-size value or a declared length runs past the end of the input. */
  truncated: "ERR_JUTE_TRUNCATED",
  /** A length or count is negative and not -1 (null). */
  length: "ERR_JUTE_LENGTH",
  /** A length or count is above its configured maximum. */
  tooLarge: "ERR_JUTE_TOO_LARGE",
  /** Bytes are left over where the record should have ended. */
  trailing: "ERR_JUTE_TRAILING",
  /** A frame length prefix is negative or above the frame limit. */
  frameLength: "ERR_FRAME_LENGTH",
} as const;
/**
 * The codes above, or another ERR_* code from a decoder layered on top of
 * this one (the server's request parser adds its own).
 */
export type CodecErrorCode = (typeof CodecErrorCode)[keyof typeof CodecErrorCode] | `ERR_${string}`;

/** Malformed input. Not a bug: the connection that sent it gets closed. */
export class CodecError extends Error {
  readonly code: CodecErrorCode;
  /** What ZooKeeper puts on the wire for this failure (MarshallingError). */
  readonly zkError = ErrorCode.marshallingError;

  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = "CodecError";
    this.code = code;
  }
}

export interface JuteLimits {
  /** Largest buffer field accepted (jute.maxbuffer). */
  readonly bufferBytesMax: number;
  /** Largest ustring field accepted, in encoded UTF-8 bytes. */
  readonly stringBytesMax: number;
  /** Largest vector accepted, in elements. */
  readonly vectorElementsMax: number;
}

export const juteLimitsDefault: JuteLimits = {
  // ZooKeeper's jute.maxbuffer default, 0xfffff: nothing larger fits a frame.
  bufferBytesMax: 0xfffff,
  stringBytesMax: 0xfffff,
  // A default-sized frame holds at most 262,143 ustrings (4-byte length
  // each), so this only binds when a caller raises the other limits.
  vectorElementsMax: 262_144,
} as const;

const int32Min = -0x80000000;
const int32Max = 0x7fffffff;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const nullLength = -1;

/** Guards invariants of our own code: a caller passing a bad value is a bug. */
function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

export class JuteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 256) {
    this.#buffer = Buffer.alloc(Math.max(16, initialBytes));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  writeInt(value: number): void {
    assertInvariant(Number.isInteger(value) && value >= int32Min && value <= int32Max, `int out of range: ${value}`);
    this.#reserve(4);
    this.#buffer.writeInt32BE(value, this.#length);
    this.#length += 4;
  }

  writeLong(value: bigint): void {
    assertInvariant(value >= int64Min && value <= int64Max, `long out of range: ${value}`);
    this.#reserve(8);
    this.#buffer.writeBigInt64BE(value, this.#length);
    this.#length += 8;
  }

  writeBool(value: boolean): void {
    this.#reserve(1);
    this.#buffer[this.#length] = value ? 1 : 0;
    this.#length += 1;
  }

  /** Writes length then bytes; null is written as length -1. */
  writeBuffer(value: Uint8Array | null): void {
    if (value === null) {
      this.writeInt(nullLength);
      return;
    }
    this.writeInt(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
  }

  /** Appends bytes already in jute form (a record encoded elsewhere), with no length. */
  writeRaw(value: Uint8Array): void {
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
  }

  /** Writes the UTF-8 byte length then the bytes (never null). */
  writeString(value: string): void {
    const byteLength = Buffer.byteLength(value, "utf8");
    this.writeInt(byteLength);
    this.#reserve(byteLength);
    this.#length += this.#buffer.write(value, this.#length, byteLength, "utf8");
  }

  writeVectorLength(count: number): void {
    this.writeInt(count);
  }

  /** Writes the count then each item with writeItem. */
  writeVector<T>(items: readonly T[], writeItem: (writer: JuteWriter, item: T) => void): void {
    this.writeVectorLength(items.length);
    for (const item of items) writeItem(this, item);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#length));
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.alloc(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

export class JuteReader {
  readonly #buffer: Buffer;
  readonly #limits: JuteLimits;
  #offset = 0;

  constructor(buffer: Buffer, limits: JuteLimits = juteLimitsDefault) {
    this.#buffer = buffer;
    this.#limits = limits;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  remaining(): number {
    return this.#buffer.length - this.#offset;
  }

  readInt(): number {
    this.#require(4, "int");
    const value = this.#buffer.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  readLong(): bigint {
    this.#require(8, "long");
    const value = this.#buffer.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  readBool(): boolean {
    this.#require(1, "boolean");
    const value = this.#buffer[this.#offset] !== 0;
    this.#offset += 1;
    return value;
  }

  /** A copy of the bytes (never a view of the input), or null for -1. */
  readBuffer(): Buffer | null {
    const length = this.#readLength("buffer", this.#limits.bufferBytesMax, 1);
    if (length === nullLength) return null;
    const value = Buffer.from(this.#buffer.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  /** UTF-8; malformed sequences become U+FFFD as in Java. Null reads as "". */
  readString(): string {
    const length = this.#readLength("ustring", this.#limits.stringBytesMax, 1);
    if (length === nullLength) return "";
    const value = this.#buffer.toString("utf8", this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /**
   * The element count of a vector; null (-1) reads as 0. The count is
   * bounded by vectorElementsMax and by the bytes remaining, given that
   * each element takes at least elementBytesMin (at least 1) bytes.
   */
  readVectorLength(elementBytesMin = 1): number {
    const count = this.#readLength("vector", this.#limits.vectorElementsMax, Math.max(1, elementBytesMin));
    return count === nullLength ? 0 : count;
  }

  /** Reads a count then that many items with readItem. */
  readVector<T>(elementBytesMin: number, readItem: (reader: JuteReader) => T): T[] {
    const count = this.readVectorLength(elementBytesMin);
    const items: T[] = [];
    for (let index = 0; index < count; index++) items.push(readItem(this));
    return items;
  }

  /** Throws ERR_JUTE_TRAILING unless every byte has been consumed. */
  expectEnd(what = "record"): void {
    const left = this.remaining();
    if (left !== 0) {
      throw new CodecError(CodecErrorCode.trailing, `${left} unexpected bytes after ${what} at offset ${this.#offset}`);
    }
  }

  #require(bytes: number, what: string): void {
    if (this.remaining() < bytes) {
      throw new CodecError(
        CodecErrorCode.truncated,
        `${what} needs ${bytes} bytes at offset ${this.#offset}, ${this.remaining()} remain`,
      );
    }
  }

  /** Reads a length prefix and checks it before the caller allocates. */
  #readLength(what: string, max: number, unitBytes: number): number {
    const start = this.#offset;
    const length = this.readInt();
    if (length === nullLength) return length;
    if (length < 0) {
      throw new CodecError(CodecErrorCode.length, `${what} length ${length} at offset ${start} is negative`);
    }
    if (length > max) {
      throw new CodecError(CodecErrorCode.tooLarge, `${what} length ${length} at offset ${start} exceeds ${max}`);
    }
    if (length * unitBytes > this.remaining()) {
      throw new CodecError(
        CodecErrorCode.truncated,
        `${what} length ${length} at offset ${start} needs ${length * unitBytes} bytes, ${this.remaining()} remain`,
      );
    }
    return length;
  }
}

/** How a record is read and written; the generated table holds one per record. */
export interface RecordCodec<T> {
  read(reader: JuteReader): T;
  write(writer: JuteWriter, value: T): void;
}

/** Serializes one record to a fresh buffer (no frame length). */
export function encodeRecord<T>(codec: RecordCodec<T>, value: T): Buffer {
  const writer = new JuteWriter();
  codec.write(writer, value);
  return writer.toBuffer();
}

/** Decodes one record that must fill the whole buffer. */
export function decodeRecord<T>(codec: RecordCodec<T>, bytes: Buffer, limits: JuteLimits = juteLimitsDefault): T {
  const reader = new JuteReader(bytes, limits);
  const value = codec.read(reader);
  reader.expectEnd();
  return value;
}
