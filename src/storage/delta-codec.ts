// The binary form of a Delta in the log: one version byte, then the jute
// archive (big-endian ints and longs, length-prefixed strings and buffers):
//
//   byte    format version (1)
//   long    zxid, timeMs, sessionId
//   int     op count, then per op an int tag and its fields:
//     1 create        ustring path, buffer data (-1 = null), vector<acl>, long ephemeralOwner, int parentCversion
//     2 delete        ustring path
//     3 setData       ustring path, buffer data, int version
//     4 setACL        ustring path, vector<acl>, int aversion
//     5 createSession long sessionId, int timeoutMs
//     6 closeSession  long sessionId
//   acl = int perms, ustring scheme, ustring id
//
// Decoding damaged bytes throws StorageError ERR_STORAGE_DECODE and nothing
// else. The log's checksums catch damage first; decoding is the second line.

import { CodecError, JuteReader, JuteWriter, type JuteLimits } from "../protocol/archive.js";
import { readACL, writeACL } from "../protocol/records.generated.js";
import type { Delta, DeltaOp } from "../tree/types.js";
import { StorageError, StorageErrorCode } from "./errors.js";

export const deltaFormatVersion = 1;

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

export function encodeDelta(delta: Delta): Buffer {
  const writer = new JuteWriter(64);
  writer.writeRaw(Uint8Array.of(deltaFormatVersion));
  writer.writeLong(delta.zxid);
  writer.writeLong(delta.timeMs);
  writer.writeLong(delta.sessionId);
  writer.writeVector(delta.ops, writeOp);
  return writer.toBuffer();
}

/** Decodes a delta that fills `bytes` exactly; throws StorageError ERR_STORAGE_DECODE. */
export function decodeDelta(bytes: Buffer): Delta {
  const version = bytes[0];
  if (version !== deltaFormatVersion) {
    throw new StorageError(StorageErrorCode.decode, `delta format version ${version ?? "(none)"} is not ${deltaFormatVersion}`);
  }
  const reader = new JuteReader(bytes.subarray(1), deltaJuteLimits);
  try {
    const zxid = reader.readLong();
    const timeMs = reader.readLong();
    const sessionId = reader.readLong();
    const ops = reader.readVector(opBytesMin, readOp);
    reader.expectEnd("delta");
    return { zxid, timeMs, sessionId, ops };
  } catch (error) {
    if (error instanceof CodecError) throw new StorageError(StorageErrorCode.decode, `delta: ${error.message}`, { cause: error });
    throw error;
  }
}

