// Log segment files. A segment is named log.<base zxid in 16 hex digits>
// and starts with a 24-byte header:
//
//   8 bytes  magic "MAESTROL"
//   u32      format version (1)
//   i64      base zxid: the zxid of the last record before this segment
//            (0 for the first segment ever); every record in it is greater
//   u32      CRC32C of the 20 bytes before it
//
// then frames (frame.ts) whose payloads are encoded deltas with strictly
// increasing zxids. The header holds the base zxid rather than the first
// record's: that one is not known for sure when the segment is created
// (its first batch may fail, and the next may start at a lower zxid), while
// the base is, and it is what proves that consecutive segments leave no gap.

import { decodeDelta } from "./delta-codec.js";
import { crc32c } from "./crc32c.js";
import { damaged, StorageError, StorageErrorCode } from "./errors.js";
import { readFrame, tornTailReason } from "./frame.js";
import type { Delta } from "../tree/types.js";

export const segmentMagic = "MAESTROL";
export const segmentFormatVersion = 1;
export const segmentHeaderBytes = 24;

const segmentNamePattern = /^log\.([0-9a-f]{16})$/;

/** 16 hex digits of a zxid's 64 bits, so names sort like zxids. */
export function zxidHex(zxid: bigint): string {
  return BigInt.asUintN(64, zxid).toString(16).padStart(16, "0");
}

export function parseZxidHex(hex: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${hex}`));
}

export function segmentFileName(baseZxid: bigint): string {
  return `log.${zxidHex(baseZxid)}`;
}

export function parseSegmentFileName(name: string): bigint | undefined {
  const match = segmentNamePattern.exec(name);
  return match === null ? undefined : parseZxidHex(match[1]!);
}

export function encodeSegmentHeader(baseZxid: bigint): Buffer {
  const header = Buffer.alloc(segmentHeaderBytes);
  header.write(segmentMagic, 0, "latin1");
  header.writeUInt32BE(segmentFormatVersion, 8);
  header.writeBigInt64BE(baseZxid, 12);
  header.writeUInt32BE(crc32c(header.subarray(0, 20)), 20);
  return header;
}

/** The base zxid from a segment's header; throws damage naming the file. */
export function decodeSegmentHeader(bytes: Buffer, file: string): bigint {
  if (bytes.length < segmentHeaderBytes) throw damaged(file, 0, `segment header is ${bytes.length} of ${segmentHeaderBytes} bytes`);
  if (bytes.toString("latin1", 0, 8) !== segmentMagic) throw damaged(file, 0, "not a log segment (bad magic)");
  if (bytes.readUInt32BE(20) !== crc32c(bytes.subarray(0, 20))) throw damaged(file, 0, "segment header checksum mismatch");
  const version = bytes.readUInt32BE(8);
  if (version !== segmentFormatVersion) throw damaged(file, 8, `segment format version ${version} is not ${segmentFormatVersion}`);
  return bytes.readBigInt64BE(12);
}

export interface LogRecord {
  delta: Delta;
  /** Byte offset of the record's frame in its segment. */
  offset: number;
}

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

export interface SegmentScan {
  file: string;
  baseZxid: bigint;
  records: LogRecord[];
  /** Bytes up to the end of the last intact record (the header when none). */
  validBytes: number;
  fileBytes: number;
  /** Only ever set on the last segment (see tornTailReason). */
  tornTail: TornTail | null;
}

export interface ScanOptions {
  /** Path used in messages. */
  file: string;
  /** Base zxid from the file name; the header must agree. */
  nameZxid: bigint;
  /** Only the last segment may end in a torn record. */
  isLast: boolean;
  recordBytesMax: number;
}

/** The zxid after which a segment ends: its last record's, or its base when empty. */
export function segmentEndZxid(scan: SegmentScan): bigint {
  return scan.records.at(-1)?.delta.zxid ?? scan.baseZxid;
}

/** Validates and decodes a whole segment; throws StorageError (damaged) naming file and offset. */
export function scanSegment(bytes: Buffer, options: ScanOptions): SegmentScan {
  const { file } = options;
  const baseZxid = decodeSegmentHeader(bytes, file);
  if (baseZxid !== options.nameZxid) throw damaged(file, 12, `header base zxid ${baseZxid} does not match the file name`);
  const scan: SegmentScan = { file, baseZxid, records: [], validBytes: segmentHeaderBytes, fileBytes: bytes.length, tornTail: null };
  let previousZxid = baseZxid;
  for (let offset = segmentHeaderBytes; offset < bytes.length; ) {
    const read = readFrame(bytes, offset, options.recordBytesMax);
    if (!read.ok) {
      const reason = options.isLast ? tornTailReason(bytes, offset, read, options.recordBytesMax) : undefined;
      if (reason === undefined) throw damaged(file, offset, `log record fails its check (${read.problem})`);
      scan.tornTail = { offset, bytes: bytes.length - offset, reason };
      return scan;
    }
    const delta = decodeRecord(read.payload, file, offset);
    if (delta.zxid <= previousZxid) throw damaged(file, offset, `record zxid ${delta.zxid} does not follow zxid ${previousZxid}`);
    previousZxid = delta.zxid;
    scan.records.push({ delta, offset });
    offset = read.end;
    scan.validBytes = offset;
  }
  return scan;
}

function decodeRecord(payload: Buffer, file: string, offset: number): Delta {
  try {
    return decodeDelta(payload);
  } catch (error) {
    if (error instanceof StorageError && error.code === StorageErrorCode.decode) {
      throw damaged(file, offset, `log record passes its checksum but does not decode (${error.message})`);
    }
    throw error;
  }
}
