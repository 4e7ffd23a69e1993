// Decoding of client request bodies into plain values, by opcode. Anything
// malformed throws CodecError, which closes the connection as ZooKeeper does
// for a request it cannot deserialize.

import { JuteReader, CodecError } from "../protocol/archive.js";
import * as rec from "../protocol/records.generated.js";
import { OpCode } from "../protocol/codes.js";
import type { CreateKind, WriteRequest } from "../tree/types.js";

export type ReadRequest =
  | { op: "getData"; path: string; watch: boolean }
  | { op: "exists"; path: string; watch: boolean }
  | { op: "getChildren"; path: string; watch: boolean }
  | { op: "getChildren2"; path: string; watch: boolean }
  | { op: "getACL"; path: string }
  | { op: "getAllChildrenNumber"; path: string }
  | { op: "getEphemerals"; prefixPath: string };

export type ClientRequest =
  | { kind: "write"; type: number; request: WriteRequest }
  | { kind: "read"; type: number; request: ReadRequest }
  | { kind: "multiRead"; type: number; ops: ReadRequest[] }
  | { kind: "sync"; type: number; path: string }
  | { kind: "ping" }
  | { kind: "auth"; scheme: string; auth: Buffer | null }
  | { kind: "setWatches"; type: number; relativeZxid: bigint; lists: WatchLists }
  | { kind: "addWatch"; type: number; path: string; mode: number }
  | { kind: "checkWatches"; type: number; path: string; watcherType: number }
  | { kind: "removeWatches"; type: number; path: string; watcherType: number }
  | { kind: "whoAmI"; type: number }
  | { kind: "closeSession"; type: number }
  /** Answered with a fixed error code (reconfig, sasl, standalone check). */
  | { kind: "refuse"; type: number; err: number; close: boolean }
  | { kind: "sasl"; type: number }
  | { kind: "unknown"; type: number };

export interface WatchLists {
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

const createKinds: ReadonlyMap<number, CreateKind> = new Map([
  [OpCode.create, "create"],
  [OpCode.create2, "create2"],
  [OpCode.createContainer, "createContainer"],
  [OpCode.createTTL, "createTTL"],
]);

function readCreate(type: number, r: JuteReader): WriteRequest {
  const kind = createKinds.get(type);
  if (kind === undefined) throw new CodecError("ERR_REQUEST_TYPE", `not a create opcode: ${type}`);
  if (kind === "createTTL") {
    const req = rec.readCreateTTLRequest(r);
    return { op: "create", kind, path: req.path, data: req.data, acl: req.acl, flags: req.flags, ttl: req.ttl };
  }
  const req = rec.readCreateRequest(r);
  return { op: "create", kind, path: req.path, data: req.data, acl: req.acl, flags: req.flags, ttl: -1n };
}

/** A write that may appear alone or inside a multi. */
function readWriteOp(type: number, r: JuteReader): WriteRequest | null {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return readCreate(type, r);
    case OpCode.delete: {
      const req = rec.readDeleteRequest(r);
      return { op: "delete", path: req.path, version: req.version };
    }
    case OpCode.setData: {
      const req = rec.readSetDataRequest(r);
      return { op: "setData", path: req.path, data: req.data, version: req.version };
    }
    case OpCode.check: {
      const req = rec.readCheckVersionRequest(r);
      return { op: "check", path: req.path, version: req.version };
    }
    default:
      return null;
  }
}

/** Multi sub-requests are bounded so one frame cannot queue unbounded work. */
export const multiOpsMax = 10_000;

function readMultiWrite(r: JuteReader): WriteRequest {
  const ops: WriteRequest[] = [];
  for (;;) {
    const header = rec.readMultiHeader(r);
    if (header.done) break;
    if (ops.length >= multiOpsMax) throw new CodecError("ERR_MULTI_OPS", `more than ${multiOpsMax} ops in a multi`);
    const op = readWriteOp(header.type, r);
    if (op === null) throw new CodecError("ERR_MULTI_OP_TYPE", `invalid type of op in multi: ${header.type}`);
    ops.push(op);
  }
  return { op: "multi", ops };
}

function readMultiRead(r: JuteReader): ReadRequest[] {
  const ops: ReadRequest[] = [];
  for (;;) {
    const header = rec.readMultiHeader(r);
    if (header.done) break;
    if (ops.length >= multiOpsMax) throw new CodecError("ERR_MULTI_OPS", `more than ${multiOpsMax} ops in a multi`);
    if (header.type === OpCode.getData) {
      const req = rec.readGetDataRequest(r);
      ops.push({ op: "getData", path: req.path, watch: req.watch });
    } else if (header.type === OpCode.getChildren) {
      const req = rec.readGetChildrenRequest(r);
      ops.push({ op: "getChildren", path: req.path, watch: req.watch });
    } else {
      throw new CodecError("ERR_MULTI_OP_TYPE", `invalid type of op in multiRead: ${header.type}`);
    }
  }
  return ops;
}

function readRead(type: number, r: JuteReader): ReadRequest | null {
  switch (type) {
    case OpCode.getData: {
      const req = rec.readGetDataRequest(r);
      return { op: "getData", path: req.path, watch: req.watch };
    }
    case OpCode.exists: {
      const req = rec.readExistsRequest(r);
      return { op: "exists", path: req.path, watch: req.watch };
    }
    case OpCode.getChildren: {
      const req = rec.readGetChildrenRequest(r);
      return { op: "getChildren", path: req.path, watch: req.watch };
    }
    case OpCode.getChildren2: {
      const req = rec.readGetChildren2Request(r);
      return { op: "getChildren2", path: req.path, watch: req.watch };
    }
    case OpCode.getACL:
      return { op: "getACL", path: rec.readGetACLRequest(r).path };
    case OpCode.getAllChildrenNumber:
      return { op: "getAllChildrenNumber", path: rec.readGetAllChildrenNumberRequest(r).path };
    case OpCode.getEphemerals:
      return { op: "getEphemerals", prefixPath: rec.readGetEphemeralsRequest(r).prefixPath };
    default:
      return null;
  }
}

function readWatchLists(type: number, r: JuteReader): { relativeZxid: bigint; lists: WatchLists } {
  if (type === OpCode.setWatches2) {
    const req = rec.readSetWatches2(r);
    return { relativeZxid: req.relativeZxid, lists: req };
  }
  const req = rec.readSetWatches(r);
  return {
    relativeZxid: req.relativeZxid,
    lists: { ...req, persistentWatches: [], persistentRecursiveWatches: [] },
  };
}

/** Decodes the body of a request of the given opcode. */
export function decodeRequest(type: number, r: JuteReader): ClientRequest {
  if (type === OpCode.delete || type === OpCode.setData || createKinds.has(type)) {
    return { kind: "write", type, request: readWriteOp(type, r) as WriteRequest };
  }
  const read = readRead(type, r);
  if (read !== null) return { kind: "read", type, request: read };
  switch (type) {
    case OpCode.setACL: {
      const req = rec.readSetACLRequest(r);
      return { kind: "write", type, request: { op: "setACL", path: req.path, acl: req.acl, version: req.version } };
    }
    case OpCode.multi:
      return { kind: "write", type, request: readMultiWrite(r) };
    case OpCode.multiRead:
      return { kind: "multiRead", type, ops: readMultiRead(r) };
    case OpCode.sync:
      return { kind: "sync", type, path: rec.readSyncRequest(r).path };
    case OpCode.ping:
      return { kind: "ping" };
    case OpCode.auth: {
      const req = rec.readAuthPacket(r);
      return { kind: "auth", scheme: req.scheme, auth: req.auth };
    }
    case OpCode.setWatches:
    case OpCode.setWatches2:
      return { kind: "setWatches", type, ...readWatchLists(type, r) };
    case OpCode.addWatch: {
      const req = rec.readAddWatchRequest(r);
      return { kind: "addWatch", type, path: req.path, mode: req.mode };
    }
    case OpCode.checkWatches: {
      const req = rec.readCheckWatchesRequest(r);
      return { kind: "checkWatches", type, path: req.path, watcherType: req.type };
    }
    case OpCode.removeWatches: {
      const req = rec.readRemoveWatchesRequest(r);
      return { kind: "removeWatches", type, path: req.path, watcherType: req.type };
    }
    case OpCode.whoAmI:
      return { kind: "whoAmI", type };
    case OpCode.closeSession:
      return { kind: "closeSession", type };
    default:
      return decodeRefused(type);
  }
}

function decodeRefused(type: number): ClientRequest {
  switch (type) {
    // Standalone ZooKeeper with reconfig disabled (the default).
    case OpCode.reconfig:
      return { kind: "refuse", type, err: -123, close: false };
    // No SASL configured: standalone ZooKeeper answers with an empty token.
    case OpCode.sasl:
      return { kind: "sasl", type };
    // check is only valid inside multi (ZOOKEEPER-2623): Unimplemented, then close.
    case OpCode.check:
      return { kind: "refuse", type, err: -6, close: true };
    // Internal opcodes a client may not send: ZooKeeper answers without closing.
    case OpCode.deleteContainer:
      return { kind: "refuse", type, err: -8, close: false };
    case OpCode.createSession:
      return { kind: "refuse", type, err: -5, close: false };
    default:
      return { kind: "unknown", type };
  }
}
