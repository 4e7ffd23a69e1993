// The binary form of a Delta in the log: one version byte, then the jute
// archive (big-endian ints and longs, length-prefixed strings and buffers):
//
//   byte    format version (1 or 2)
//   long    zxid, timeMs, sessionId
//   int     op count, then per op an int tag and its fields:
//     1 create        ustring path, buffer data (-1 = null), vector<acl>, long ephemeralOwner, int parentCversion
//     2 delete        ustring path
//     3 setData       ustring path, buffer data, int version
//     4 setACL        ustring path, vector<acl>, int aversion
//     5 createSession long sessionId, int timeoutMs
//     6 closeSession  long sessionId
//   acl = int perms, ustring scheme, ustring id
//   version 2 only, the replication stamp:
//   bool    has stamp, then when true:
//     ustring origin, long shipSeq, long streamPos,
//     int lease count, then per lease ustring unit, ustring owner, int epoch
//
// A delta without a stamp (every delta of a single node) is written as
// version 1, so logs written before stamps existed stay byte-identical.
//
// Decoding damaged bytes throws StorageError ERR_STORAGE_DECODE and nothing
// else. The log's checksums catch damage first; decoding is the second line.

import { CodecError, JuteReader, JuteWriter, type JuteLimits } from "../protocol/archive.js";
import { readACL, writeACL } from "../protocol/records.generated.js";
import type { Delta, DeltaOp, LeaseRecord, ReplicationStamp } from "../tree/types.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/** Format of a delta without a stamp... */
export const deltaFormatVersion = 1;
/** ...and of one with a stamp. Both are read. */
export const deltaFormatVersionStamped = 2;

/**
 * Allocation guards for decoding. A record is already bounded by its frame
 * length (recordBytesMax), so these are generous: they must never refuse a
 * delta the server accepted under any jute.maxbuffer it may be given.
 */
export const deltaJuteLimits: JuteLimits = {
  bufferBytesMax: 64 * 1024 * 1024,
  stringBytesMax: 64 * 1024 * 1024,
  vectorElementsMax: 16 * 1024 * 1024,
};

const opTag = { create: 1, delete: 2, setData: 3, setACL: 4, createSession: 5, closeSession: 6 } as const;

/** Smallest encoded acl (perms plus two empty strings) and op (a tag). */
const aclBytesMin = 12;
const opBytesMin = 4;
/** Smallest encoded lease row: two empty strings and the epoch. */
const leaseBytesMin = 12;

function writeOp(writer: JuteWriter, op: DeltaOp): void {
  writer.writeInt(opTag[op.type]);
  switch (op.type) {
    case "create":
      writer.writeString(op.path);
      writer.writeBuffer(op.data);
      writer.writeVector(op.acl, writeACL);
      writer.writeLong(op.ephemeralOwner);
      writer.writeInt(op.parentCversion);
      return;
    case "delete":
      writer.writeString(op.path);
      return;
    case "setData":
      writer.writeString(op.path);
      writer.writeBuffer(op.data);
      writer.writeInt(op.version);
      return;
    case "setACL":
      writer.writeString(op.path);
      writer.writeVector(op.acl, writeACL);
      writer.writeInt(op.aversion);
      return;
    case "createSession":
      writer.writeLong(op.sessionId);
      writer.writeInt(op.timeoutMs);
      return;
    case "closeSession":
      writer.writeLong(op.sessionId);
      return;
  }
}

function readOp(reader: JuteReader): DeltaOp {
  const tag = reader.readInt();
  switch (tag) {
    case opTag.create: {
      const path = reader.readString();
      const data = reader.readBuffer();
      const acl = reader.readVector(aclBytesMin, readACL);
      const ephemeralOwner = reader.readLong();
      return { type: "create", path, data, acl, ephemeralOwner, parentCversion: reader.readInt() };
    }
    case opTag.delete:
      return { type: "delete", path: reader.readString() };
    case opTag.setData: {
      const path = reader.readString();
      const data = reader.readBuffer();
      return { type: "setData", path, data, version: reader.readInt() };
    }
    case opTag.setACL: {
      const path = reader.readString();
      const acl = reader.readVector(aclBytesMin, readACL);
      return { type: "setACL", path, acl, aversion: reader.readInt() };
    }
    case opTag.createSession: {
      const sessionId = reader.readLong();
      return { type: "createSession", sessionId, timeoutMs: reader.readInt() };
    }
    case opTag.closeSession:
      return { type: "closeSession", sessionId: reader.readLong() };
    default:
      throw new StorageError(StorageErrorCode.decode, `unknown delta op tag ${tag} at offset ${reader.offset - 4}`);
  }
}

function writeStamp(writer: JuteWriter, stamp: ReplicationStamp): void {
  writer.writeBool(true);
  writer.writeString(stamp.origin);
  writer.writeLong(stamp.shipSeq);
  writer.writeLong(stamp.streamPos);
  writer.writeVector(stamp.leases, (w, lease) => {
    w.writeString(lease.unit);
    w.writeString(lease.owner);
    w.writeInt(lease.epoch);
  });
}

function readLease(reader: JuteReader): LeaseRecord {
  const unit = reader.readString();
  const owner = reader.readString();
  return { unit, owner, epoch: reader.readInt() };
}

/** The version 2 tail; undefined when its flag says there is no stamp. */
function readStamp(reader: JuteReader): ReplicationStamp | undefined {
  if (!reader.readBool()) return undefined;
  const origin = reader.readString();
  const shipSeq = reader.readLong();
  const streamPos = reader.readLong();
  return { origin, shipSeq, streamPos, leases: reader.readVector(leaseBytesMin, readLease) };
}

export function encodeDelta(delta: Delta): Buffer {
  const writer = new JuteWriter(64);
  writer.writeRaw(Uint8Array.of(delta.stamp === undefined ? deltaFormatVersion : deltaFormatVersionStamped));
  writer.writeLong(delta.zxid);
  writer.writeLong(delta.timeMs);
  writer.writeLong(delta.sessionId);
  writer.writeVector(delta.ops, writeOp);
  if (delta.stamp !== undefined) writeStamp(writer, delta.stamp);
  return writer.toBuffer();
}

/** Decodes a delta that fills `bytes` exactly; throws StorageError ERR_STORAGE_DECODE. */
export function decodeDelta(bytes: Buffer): Delta {
  const version = bytes[0];
  if (version !== deltaFormatVersion && version !== deltaFormatVersionStamped) {
    const known = `${deltaFormatVersion} or ${deltaFormatVersionStamped}`;
    throw new StorageError(StorageErrorCode.decode, `delta format version ${version ?? "(none)"} is not ${known}`);
  }
  const reader = new JuteReader(bytes.subarray(1), deltaJuteLimits);
  try {
    const zxid = reader.readLong();
    const timeMs = reader.readLong();
    const sessionId = reader.readLong();
    const ops = reader.readVector(opBytesMin, readOp);
    const stamp = version === deltaFormatVersionStamped ? readStamp(reader) : undefined;
    reader.expectEnd("delta");
    return stamp === undefined ? { zxid, timeMs, sessionId, ops } : { zxid, timeMs, sessionId, ops, stamp };
  } catch (error) {
    if (error instanceof CodecError) throw new StorageError(StorageErrorCode.decode, `delta: ${error.message}`, { cause: error });
    throw error;
  }
}

