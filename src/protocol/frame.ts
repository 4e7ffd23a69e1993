// Framing of the client protocol: every packet is a 4-byte big-endian signed
// length followed by that many bytes of jute body. The decoder accepts bytes
// in any chunking (one at a time too), checks each length against the limit
// as soon as its 4 bytes are in, and only then allocates the body. Pure: no
// sockets; the server feeds it what the socket delivers.

import { CodecError, CodecErrorCode } from "./archive.js";

/**
 * Largest frame body accepted by default: ZooKeeper's jute.maxbuffer default
 * of 0xfffff = 1,048,575 bytes (NIOServerCnxn.readLength closes the
 * connection above it, and the Java client refuses replies above it).
 */
export const frameBytesMaxDefault = 0xfffff;

const lengthPrefixBytes = 4;

export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(lengthPrefixBytes + body.length);
  frame.writeInt32BE(body.length, 0);
  frame.set(body, lengthPrefixBytes);
  return frame;
}

/**
 * Usage by a server that must also recognise four-letter words, which arrive
 * in place of the first length prefix:
 *
 *   decoder.append(chunk);
 *   const word = decoder.firstWord();   // null once a length was decoded
 *   if (word !== null && isFourLetterWord(word)) ... // decoder.pending() has the rest
 *   for (const body of decoder.takeFrames()) ...
 *
 * Code that does not care about four-letter words calls push(chunk).
 */
export class FrameDecoder {
  readonly frameBytesMax: number;
  readonly #header = Buffer.alloc(lengthPrefixBytes);
  #headerFilled = 0;
  #body: Buffer | null = null;
  #bodyFilled = 0;
  #lengthsDecoded = 0;
  #unread: Buffer[] = [];
  #unreadBytes = 0;
  #failure: CodecError | null = null;

  constructor(frameBytesMax = frameBytesMaxDefault) {
    if (!Number.isInteger(frameBytesMax) || frameBytesMax < 0 || frameBytesMax > 0x7fffffff) {
      throw new RangeError(`frameBytesMax must be an integer in [0, 2^31-1], got ${frameBytesMax}`);
    }
    this.frameBytesMax = frameBytesMax;
  }

  /** Buffers the chunk and returns every frame body it completes. */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    return this.takeFrames();
  }

  /** Buffers the chunk without decoding it (see firstWord). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#unread.push(chunk);
    this.#unreadBytes += chunk.length;
  }

  /**
   * Decodes buffered bytes; returns the complete frame bodies, in order.
   * A bad length throws at once (frames completed earlier in the same call
   * go with it: the connection is closed anyway) and every later call
   * throws the same error.
   */
  takeFrames(): Buffer[] {
    if (this.#failure !== null) throw this.#failure;
    const frames: Buffer[] = [];
    const chunks = this.#unread;
    this.#unread = [];
    this.#unreadBytes = 0;
    for (const [index, chunk] of chunks.entries()) {
      const rest = this.#consume(chunk, frames);
      if (this.#failure !== null) {
        // Keep the undecoded bytes so pending() still shows the raw stream.
        for (const unread of [rest, ...chunks.slice(index + 1)]) this.append(unread);
        throw this.#failure;
      }
    }
    return frames;
  }

  /** Raw bytes received and not yet returned as a frame. */
  bufferedBytes(): number {
    const inProgress = this.#body === null ? this.#headerFilled : lengthPrefixBytes + this.#bodyFilled;
    return inProgress + this.#unreadBytes;
  }

  /** A copy of the raw bytes received and not yet returned as a frame. */
  pending(): Buffer {
    const parts: Buffer[] = [this.#header.subarray(0, this.#body === null ? this.#headerFilled : lengthPrefixBytes)];
    if (this.#body !== null) parts.push(this.#body.subarray(0, this.#bodyFilled));
    return Buffer.concat([...parts, ...this.#unread]);
  }

  /**
   * The first 4 raw bytes of the stream, while they have all arrived and
   * have not yet been decoded as a length; null otherwise.
   */
  firstWord(): Buffer | null {
    if (this.#lengthsDecoded > 0 || this.#failure !== null) return null;
    if (this.bufferedBytes() < lengthPrefixBytes) return null;
    return this.pending().subarray(0, lengthPrefixBytes);
  }

  /** Feeds one chunk through; returns the bytes left over after a failure. */
  #consume(chunk: Buffer, frames: Buffer[]): Buffer {
    let offset = 0;
    while (offset < chunk.length && this.#failure === null) {
      offset = this.#body === null ? this.#fillHeader(chunk, offset) : this.#fillBody(chunk, offset, frames);
    }
    // A zero-length frame completes as soon as its header does.
    if (this.#body !== null && this.#body.length === 0) this.#fillBody(chunk, offset, frames);
    return chunk.subarray(offset);
  }

  #fillHeader(chunk: Buffer, offset: number): number {
    const copied = chunk.copy(this.#header, this.#headerFilled, offset, offset + lengthPrefixBytes - this.#headerFilled);
    this.#headerFilled += copied;
    if (this.#headerFilled === lengthPrefixBytes) this.#startBody();
    return offset + copied;
  }

  /** Checks the length just read before allocating the body for it. */
  #startBody(): void {
    const length = this.#header.readInt32BE(0);
    if (length < 0 || length > this.frameBytesMax) {
      this.#failure = new CodecError(
        CodecErrorCode.frameLength,
        `frame length ${length} is outside [0, ${this.frameBytesMax}]`,
      );
      return;
    }
    this.#lengthsDecoded += 1;
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyFilled = 0;
  }

  #fillBody(chunk: Buffer, offset: number, frames: Buffer[]): number {
    const body = this.#body;
    if (body === null) throw new Error("invariant violated: no frame body in progress");
    const copied = chunk.copy(body, this.#bodyFilled, offset, offset + body.length - this.#bodyFilled);
    this.#bodyFilled += copied;
    if (this.#bodyFilled === body.length) {
      frames.push(body);
      this.#body = null;
      this.#headerFilled = 0;
    }
    return offset + copied;
  }
}
