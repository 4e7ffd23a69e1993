// Snapshot files: the whole tree at one zxid, named snapshot.<zxid in 16
// hex digits>. Layout:
//
//   header, 32 bytes: magic "MAESTROS" | u32 format version (2) | i64 zxid |
//                     u32 node count | u32 session count | u32 CRC32C of the 28 bytes before
//   chunks: frames (frame.ts) of about snapshotChunkBytesTarget each, every one
//           with its own CRC32C; a payload is a run of jute entries:
//     int 1  session: long sessionId, int timeoutMs
//     int 2  ACL list definition: vector<acl>; lists are numbered 0, 1, ... in order
//     int 3  node: ustring path, buffer data, int ACL list number, long czxid,
//            long mzxid, long pzxid, long ctime, long mtime, int version,
//            int cversion, int aversion, long ephemeralOwner, int numChildren
//     int 4  replication cursor (version 2 only, exactly once): long streamPos,
//            int count then per origin ustring origin, long shipSeq,
//            int count then per lease ustring unit, ustring owner, int epoch
//
// The cursor comes first, then sessions, then nodes in the tree's order
// (parents first). A file is complete when its chunks hold exactly the
// counts of the header (and, in version 2, the cursor). Version 1 files,
// written before multi-region replication, have no cursor and read back
// with an empty one.
// Written to a temporary file, fsynced, renamed into place, and the
// directory fsynced; serialization yields to the event loop after every
// chunk, so a server keeps serving while a snapshot is written.

import { join } from "node:path";
import { CodecError, JuteReader, JuteWriter } from "../protocol/archive.js";
import { TreeInvariantError } from "../tree/assert.js";
import { DataTree, emptyReplicationState, type ReplicationState, type TreeState } from "../tree/data-tree.js";
import type { NodeRecord } from "../tree/node.js";
import { readACL, writeACL } from "../protocol/records.generated.js";
import type { Acl } from "../tree/types.js";
import { crc32c } from "./crc32c.js";
import { deltaJuteLimits } from "./delta-codec.js";
import { damaged, errorMessage } from "./errors.js";
import type { FileHandle, FileSystem } from "./file-system.js";
import { encodeFrame, frameHeaderBytes, frameHeaderMatches } from "./frame.js";
import { parseZxidHex, zxidHex } from "./segment.js";

export const snapshotMagic = "MAESTROS";
export const snapshotFormatVersion = 2;
/** Oldest format still read. */
const snapshotFormatVersionMin = 1;
export const snapshotHeaderBytes = 32;
/** A chunk is flushed once it holds this much (one entry may push it past). */
export const snapshotChunkBytesTarget = 256 * 1024;
/** Largest chunk accepted when reading: bounds the allocation before its checksum is known. */
export const snapshotChunkBytesMax = 128 * 1024 * 1024;

const entryTag = { session: 1, aclList: 2, node: 3, replication: 4 } as const;
/** Smallest encoded applied entry (empty origin, shipSeq) and lease row (two empty strings, epoch). */
const appliedEntryBytesMin = 12;
const leaseEntryBytesMin = 12;
const snapshotNamePattern = /^snapshot\.([0-9a-f]{16})$/;

export function snapshotFileName(zxid: bigint): string {
  return `snapshot.${zxidHex(zxid)}`;
}

export function parseSnapshotFileName(name: string): bigint | undefined {
  const match = snapshotNamePattern.exec(name);
  return match === null ? undefined : parseZxidHex(match[1]!);
}

export interface SnapshotInfo {
  /** Full path of the file. */
  file: string;
  zxid: bigint;
  nodeCount: number;
  sessionCount: number;
  bytes: number;
}

interface SnapshotHeader {
  version: number;
  zxid: bigint;
  nodeCount: number;
  sessionCount: number;
}

function encodeHeader(header: Omit<SnapshotHeader, "version">): Buffer {
  const bytes = Buffer.alloc(snapshotHeaderBytes);
  bytes.write(snapshotMagic, 0, "latin1");
  bytes.writeUInt32BE(snapshotFormatVersion, 8);
  bytes.writeBigInt64BE(header.zxid, 12);
  bytes.writeUInt32BE(header.nodeCount, 20);
  bytes.writeUInt32BE(header.sessionCount, 24);
  bytes.writeUInt32BE(crc32c(bytes.subarray(0, 28)), 28);
  return bytes;
}

function decodeHeader(bytes: Buffer, file: string): SnapshotHeader {
  if (bytes.length < snapshotHeaderBytes) throw damaged(file, 0, `snapshot header is ${bytes.length} of ${snapshotHeaderBytes} bytes`);
  if (bytes.toString("latin1", 0, 8) !== snapshotMagic) throw damaged(file, 0, "not a snapshot (bad magic)");
  if (bytes.readUInt32BE(28) !== crc32c(bytes.subarray(0, 28))) throw damaged(file, 0, "snapshot header checksum mismatch");
  const version = bytes.readUInt32BE(8);
  if (version < snapshotFormatVersionMin || version > snapshotFormatVersion) {
    throw damaged(file, 8, `snapshot format version ${version} is not ${snapshotFormatVersionMin} to ${snapshotFormatVersion}`);
  }
  return { version, zxid: bytes.readBigInt64BE(12), nodeCount: bytes.readUInt32BE(20), sessionCount: bytes.readUInt32BE(24) };
}


/** Numbers ACL lists as they are first met; identical lists share a number. */
class AclTable {
  readonly #byIdentity = new Map<readonly Acl[], number>();
  readonly #byContent = new Map<string, number>();

  /** The list's number, writing its definition first when it is new. */
  reference(writer: JuteWriter, acl: readonly Acl[]): number {
    const known = this.#byIdentity.get(acl);
    if (known !== undefined) return known;
    const key = JSON.stringify(acl.map((entry) => [entry.perms, entry.id.scheme, entry.id.id]));
    let number = this.#byContent.get(key);
    if (number === undefined) {
      number = this.#byContent.size;
      this.#byContent.set(key, number);
      writer.writeInt(entryTag.aclList);
      writer.writeVector(acl, writeACL);
    }
    this.#byIdentity.set(acl, number);
    return number;
  }
}

function writeNode(writer: JuteWriter, acls: AclTable, path: string, node: NodeRecord): void {
  const aclNumber = acls.reference(writer, node.acl);
  writer.writeInt(entryTag.node);
  writer.writeString(path);
  writer.writeBuffer(node.data);
  writer.writeInt(aclNumber);
  for (const value of [node.czxid, node.mzxid, node.pzxid, node.ctime, node.mtime]) writer.writeLong(value);
  writer.writeInt(node.version);
  writer.writeInt(node.cversion);
  writer.writeInt(node.aversion);
  writer.writeLong(node.ephemeralOwner);
  writer.writeInt(node.numChildren);
}

function writeReplication(writer: JuteWriter, replication: ReplicationState): void {
  writer.writeInt(entryTag.replication);
  writer.writeLong(replication.streamPos);
  writer.writeVector(replication.applied, (w, [origin, shipSeq]) => {
    w.writeString(origin);
    w.writeLong(shipSeq);
  });
  writer.writeVector(replication.leases, (w, lease) => {
    w.writeString(lease.unit);
    w.writeString(lease.owner);
    w.writeInt(lease.epoch);
  });
}

/** Yields one chunk payload at a time: the cursor, sessions, then nodes with their ACL definitions. */
function* chunkPayloads(state: TreeState): Generator<Buffer> {
  let writer = new JuteWriter(snapshotChunkBytesTarget + 1024);
  writeReplication(writer, state.replication);
  for (const [sessionId, timeoutMs] of state.sessions) {
    writer.writeInt(entryTag.session);
    writer.writeLong(sessionId);
    writer.writeInt(timeoutMs);
  }
  const acls = new AclTable();
  for (let index = 0; index < state.paths.length; index++) {
    writeNode(writer, acls, state.paths[index]!, state.records[index]!);
    if (writer.length >= snapshotChunkBytesTarget) {
      yield writer.toBuffer();
      writer = new JuteWriter(snapshotChunkBytesTarget + 1024);
    }
  }
  if (writer.length > 0) yield writer.toBuffer();
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface WriteSnapshotOptions {
  /** Tests only: no fsync of the file or the directory. */
  unsafeNoFsync: boolean;
}

/** Writes `state` as dir/snapshot.<zxid>; resolves once it is durable under its final name. */
export async function writeSnapshot(fileSystem: FileSystem, dir: string, state: TreeState, options: WriteSnapshotOptions): Promise<SnapshotInfo> {
  const file = join(dir, snapshotFileName(state.lastZxid));
  const temporary = `${file}.tmp`;
  const handle = await fileSystem.open(temporary, "create");
  let bytes: number;
  try {
    bytes = await writeBody(handle, state);
    if (!options.unsafeNoFsync) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fileSystem.unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await fileSystem.rename(temporary, file);
  } catch (error) {
    await fileSystem.unlink(temporary).catch(() => undefined);
    throw error;
  }
  if (!options.unsafeNoFsync) await fileSystem.syncDirectory(dir);
  return { file, zxid: state.lastZxid, nodeCount: state.paths.length, sessionCount: state.sessions.length, bytes };
}

async function writeBody(handle: FileHandle, state: TreeState): Promise<number> {
  const header = { zxid: state.lastZxid, nodeCount: state.paths.length, sessionCount: state.sessions.length };
  await handle.write(encodeHeader(header), 0);
  let position = snapshotHeaderBytes;
  for (const payload of chunkPayloads(state)) {
    const frame = encodeFrame(payload);
    await handle.write(frame, position);
    position += frame.length;
    await yieldToEventLoop();
  }
  return position;
}

/** What reading the chunks accumulates. */
interface DecodedState {
  /** The header's format version: decides which entries may appear. */
  version: number;
  replication: ReplicationState | undefined;
  paths: string[];
  records: NodeRecord[];
  sessions: [bigint, number][];
  acls: (readonly Acl[])[];
}

function readNode(reader: JuteReader, decoded: DecodedState): void {
  const path = reader.readString();
  const data = reader.readBuffer();
  const aclNumber = reader.readInt();
  const acl = decoded.acls[aclNumber];
  if (acl === undefined) throw new CodecError("ERR_SNAPSHOT_ACL", `node ${path} refers to undefined ACL list ${aclNumber}`);
  const [czxid, mzxid, pzxid, ctime, mtime] = [reader.readLong(), reader.readLong(), reader.readLong(), reader.readLong(), reader.readLong()];
  const version = reader.readInt();
  const cversion = reader.readInt();
  const aversion = reader.readInt();
  const ephemeralOwner = reader.readLong();
  const numChildren = reader.readInt();
  decoded.paths.push(path);
  decoded.records.push({ data, acl, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, numChildren });
}

function readReplication(reader: JuteReader, decoded: DecodedState): void {
  if (decoded.version < 2) throw new CodecError("ERR_SNAPSHOT_TAG", `replication cursor in a version ${decoded.version} snapshot`);
  if (decoded.replication !== undefined) throw new CodecError("ERR_SNAPSHOT_REPLICATION", "a second replication cursor");
  const streamPos = reader.readLong();
  const applied = reader.readVector(appliedEntryBytesMin, (r): [string, bigint] => [r.readString(), r.readLong()]);
  const leases = reader.readVector(leaseEntryBytesMin, (r) => ({ unit: r.readString(), owner: r.readString(), epoch: r.readInt() }));
  decoded.replication = { streamPos, applied, leases };
}

function decodeChunk(payload: Buffer, decoded: DecodedState): void {
  const reader = new JuteReader(payload, deltaJuteLimits);
  while (reader.remaining() > 0) {
    const tag = reader.readInt();
    if (tag === entryTag.session) decoded.sessions.push([reader.readLong(), reader.readInt()]);
    else if (tag === entryTag.aclList) decoded.acls.push(reader.readVector(12, readACL));
    else if (tag === entryTag.node) readNode(reader, decoded);
    else if (tag === entryTag.replication) readReplication(reader, decoded);
    else throw new CodecError("ERR_SNAPSHOT_TAG", `unknown snapshot entry tag ${tag} at offset ${reader.offset - 4}`);
  }
}

async function readExactly(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const read = await handle.read(buffer.subarray(filled), position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

export interface LoadedSnapshot {
  info: SnapshotInfo;
  tree: DataTree;
}

/**
 * Reads and validates a snapshot: header, every chunk's checksum, the
 * counts, and the tree it forms (DataTree.fromState checks every
 * invariant). Throws StorageError (damaged) naming the file and offset.
 */
export async function readSnapshot(fileSystem: FileSystem, file: string, nameZxid: bigint): Promise<LoadedSnapshot> {
  const handle = await fileSystem.open(file, "read");
  try {
    const size = await handle.size();
    const header = decodeHeader(await readExactly(handle, 0, snapshotHeaderBytes), file);
    if (header.zxid !== nameZxid) throw damaged(file, 12, `header zxid ${header.zxid} does not match the file name`);
    const decoded: DecodedState = { version: header.version, replication: undefined, paths: [], records: [], sessions: [], acls: [] };
    for (let position = snapshotHeaderBytes; position < size; ) position = await readChunk(handle, file, position, size, decoded);
    checkComplete(decoded, header, file, size);
    const replication = decoded.replication ?? emptyReplicationState;
    const state: TreeState = { paths: decoded.paths, records: decoded.records, sessions: decoded.sessions, lastZxid: header.zxid, replication };
    const tree = buildTree(state, file);
    return { info: { file, zxid: header.zxid, nodeCount: header.nodeCount, sessionCount: header.sessionCount, bytes: size }, tree };
  } finally {
    await handle.close();
  }
}

function checkComplete(decoded: DecodedState, header: SnapshotHeader, file: string, size: number): void {
  if (decoded.paths.length !== header.nodeCount || decoded.sessions.length !== header.sessionCount) {
    const counts = `${decoded.paths.length} of ${header.nodeCount} nodes, ${decoded.sessions.length} of ${header.sessionCount} sessions`;
    throw damaged(file, size, `snapshot ends early or holds too much: ${counts}`);
  }
  if (header.version >= 2 && decoded.replication === undefined) throw damaged(file, snapshotHeaderBytes, "snapshot has no replication cursor");
}

/** Reads, checks and decodes the chunk at `position`; returns where the next one starts. */
async function readChunk(handle: FileHandle, file: string, position: number, size: number, decoded: DecodedState): Promise<number> {
  const head = await readExactly(handle, position, frameHeaderBytes);
  if (head.length < frameHeaderBytes) throw damaged(file, position, "incomplete chunk header");
  const length = head.readUInt32BE(0);
  if (length < 1 || length > snapshotChunkBytesMax || position + frameHeaderBytes + length > size) {
    throw damaged(file, position, `chunk length ${length} is out of range`);
  }
  const payload = await readExactly(handle, position + frameHeaderBytes, length);
  if (!frameHeaderMatches(head, payload)) throw damaged(file, position, "chunk checksum mismatch");
  try {
    decodeChunk(payload, decoded);
  } catch (error) {
    if (error instanceof CodecError) throw damaged(file, position, `chunk passes its checksum but does not decode (${error.message})`);
    throw error;
  }
  return position + frameHeaderBytes + length;
}

function buildTree(state: TreeState, file: string): DataTree {
  try {
    return DataTree.fromState(state);
  } catch (error) {
    if (error instanceof TreeInvariantError) {
      throw damaged(file, snapshotHeaderBytes, `snapshot does not form a valid tree (${errorMessage(error)})`);
    }
    throw error;
  }
}

