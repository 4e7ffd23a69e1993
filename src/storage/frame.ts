// Record framing shared by log segments and snapshot chunks:
//
//   u32 payload length (big-endian, 1 .. payloadBytesMax)
//   u32 CRC32C of the 4 length bytes followed by the payload
//   payload
//
// The checksum covers the length, so a flipped length bit cannot make a
// valid-looking frame out of a different byte range. Pure: no I/O.

import { crc32c } from "./crc32c.js";

export const frameHeaderBytes = 8;

/** Disk sector size assumed by the torn-write rule (see zeroTail). */
export const sectorBytes = 512;

function frameChecksum(lengthBytes: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(lengthBytes));
}

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(frameChecksum(frame.subarray(0, 4), payload), 4);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** True when `head` (a frame's 8 header bytes) declares `payload`'s length and checksum. */
export function frameHeaderMatches(head: Buffer, payload: Uint8Array): boolean {
  return head.readUInt32BE(0) === payload.length && head.readUInt32BE(4) === frameChecksum(head.subarray(0, 4), payload);
}

/** Why a frame failed: it runs past the end of the bytes, its length is out of range, or its checksum is wrong. */
export type FrameProblem = "incomplete" | "length" | "checksum";

export type FrameRead =
  | { ok: true; payload: Buffer; end: number }
  /** `end` is where the frame claims to end, or the end of the bytes when it cannot say. */
  | { ok: false; problem: FrameProblem; end: number };

/** Reads the frame starting at `offset` of `bytes` (the rest of the file). */
export function readFrame(bytes: Buffer, offset: number, payloadBytesMax: number): FrameRead {
  if (bytes.length - offset < frameHeaderBytes) return { ok: false, problem: "incomplete", end: bytes.length };
  const length = bytes.readUInt32BE(offset);
  if (length < 1 || length > payloadBytesMax) return { ok: false, problem: "length", end: bytes.length };
  const end = offset + frameHeaderBytes + length;
  if (end > bytes.length) return { ok: false, problem: "incomplete", end: bytes.length };
  const payload = bytes.subarray(offset + frameHeaderBytes, end);
  if (bytes.readUInt32BE(offset + 4) !== frameChecksum(bytes.subarray(offset, offset + 4), payload)) {
    return { ok: false, problem: "checksum", end };
  }
  return { ok: true, payload, end };
}

/** The offset of the first intact frame starting at or after `from`, or -1. Tries every byte offset. */
export function intactFrameAfter(bytes: Buffer, from: number, payloadBytesMax: number): number {
  for (let offset = from; offset + frameHeaderBytes < bytes.length; offset++) {
    const length = bytes.readUInt32BE(offset);
    if (length < 1 || length > payloadBytesMax || offset + frameHeaderBytes + length > bytes.length) continue;
    if (readFrame(bytes, offset, payloadBytesMax).ok) return offset;
  }
  return -1;
}

/**
 * True when bytes [start, end) end in zeros that begin at `start` or cover a
 * whole sector boundary: what a crash leaves when the file's new size
 * reached the disk but some of its data did not.
 */
export function zeroTail(bytes: Buffer, start: number, end: number): boolean {
  let zeroFrom = end;
  while (zeroFrom > start && bytes[zeroFrom - 1] === 0) zeroFrom--;
  if (zeroFrom === end) return false;
  if (zeroFrom === start) return true;
  const sectorStart = Math.ceil(zeroFrom / sectorBytes) * sectorBytes;
  return sectorStart < end;
}

/**
 * The torn-tail rule. The first invalid frame of the LAST log segment, at
 * `offset`, is a torn tail (a crash in the middle of an append: truncate it
 * with a warning) when no intact frame starts anywhere after it, and
 *  - it is incomplete: its header or the payload its length declares runs
 *    past the end of the file, or
 *  - its bytes end in zeros from a sector boundary on (zeroTail).
 * Anything else is damage and stops start-up. Consequences for a single
 * flipped bit: in any record but the last, the next record is still intact
 * behind it, so it is always damage; in the last record it is damage unless
 * it lands in the length field and makes the record run past the end of
 * the file, which is exactly what a torn append looks like and cannot be
 * told apart from one. Returns a reason when torn, undefined when damaged.
 */
export function tornTailReason(bytes: Buffer, offset: number, read: FrameRead & { ok: false }, payloadBytesMax: number): string | undefined {
  if (intactFrameAfter(bytes, offset + 1, payloadBytesMax) >= 0) return undefined;
  if (read.problem === "incomplete") return "incomplete record at the end of the file";
  if (zeroTail(bytes, offset, read.end)) return "record ends in zeros (its data never reached the disk)";
  return undefined;
}
