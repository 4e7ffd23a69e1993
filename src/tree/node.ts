// The stored state of one znode and the pure transitions a delta makes to
// it. DataTree and the pending overlay both go through these functions, so
// the state prepare reasons about and the state apply produces cannot drift.

import { containerEphemeralOwner, ttlEphemeralOwnerMask, ttlMsMax } from "../protocol/codes.js";
import type { Acl, DeltaOp, Stat } from "./types.js";

/** A znode as stored (ZooKeeper's DataNode with its StatPersisted). */
export interface NodeRecord {
  readonly data: Buffer | null;
  readonly acl: readonly Acl[];
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly pzxid: bigint;
  readonly ctime: bigint;
  readonly mtime: bigint;
  readonly version: number;
  /** Stored cversion: counts creations of children only (v2 semantics). */
  readonly cversion: number;
  readonly aversion: number;
  /** Raw owner: 0, a session id, the container marker or a TTL encoding. */
  readonly ephemeralOwner: bigint;
  readonly numChildren: number;
}

export type CreateDeltaOp = Extract<DeltaOp, { type: "create" }>;

/** What ephemeralOwner encodes (EphemeralType): VOID, NORMAL, CONTAINER, TTL. */
export type OwnerKind = "none" | "session" | "container" | "ttl";

export function ownerKind(ephemeralOwner: bigint): OwnerKind {
  if (ephemeralOwner === 0n) return "none";
  if (ephemeralOwner === containerEphemeralOwner) return "container";
  if ((BigInt.asUintN(64, ephemeralOwner) & ttlEphemeralOwnerMask) === ttlEphemeralOwnerMask) return "ttl";
  return "session";
}

/** EphemeralType.TTL.toEphemeralOwner, as a signed 64-bit value. */
export function ttlOwner(ttlMs: bigint): bigint {
  return BigInt.asIntN(64, ttlEphemeralOwnerMask | ttlMs);
}

/** The TTL in milliseconds carried by a TTL owner. */
export function ttlOfOwner(ephemeralOwner: bigint): bigint {
  return BigInt.asUintN(64, ephemeralOwner) & ttlMsMax;
}

/** ContainerManager: a TTL node expires once now - mtime exceeds its ttl. */
export function ttlExpired(node: NodeRecord, nowMs: bigint): boolean {
  const ttl = ttlOfOwner(node.ephemeralOwner);
  return ttl !== 0n && nowMs - node.mtime > ttl;
}

/** checkAndIncVersion: Java int overflow, and -1 (the wildcard) skips to 0. */
export function nextVersion(version: number): number {
  const next = (version + 1) | 0;
  return next === -1 ? 0 : next;
}

/** A parent's stored cversion after one more creation (Java int overflow). */
export function nextCversion(cversion: number): number {
  return (cversion + 1) | 0;
}

export function dataLength(data: Buffer | null): number {
  return data === null ? 0 : data.length;
}

/** The Stat a client sees (DataNode.copyStat). */
export function clientStat(node: NodeRecord): Stat {
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    // Stored cversion counts creations; every child no longer present was
    // deleted once, so creations*2 - present = creations + deletions.
    cversion: (Math.imul(node.cversion, 2) - node.numChildren) | 0,
    aversion: node.aversion,
    ephemeralOwner: ownerKind(node.ephemeralOwner) === "session" ? node.ephemeralOwner : 0n,
    dataLength: dataLength(node.data),
    numChildren: node.numChildren,
    pzxid: node.pzxid,
  };
}

/** DataTree.createStat: every zxid is the creating one, versions start at 0. */
export function createdRecord(op: CreateDeltaOp, zxid: bigint, timeMs: bigint): NodeRecord {
  return {
    data: op.data,
    acl: op.acl,
    czxid: zxid,
    mzxid: zxid,
    pzxid: zxid,
    ctime: timeMs,
    mtime: timeMs,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: op.ephemeralOwner,
    numChildren: 0,
  };
}

export function parentAfterCreate(parent: NodeRecord, parentCversion: number, zxid: bigint): NodeRecord {
  return { ...parent, cversion: parentCversion, pzxid: zxid, numChildren: parent.numChildren + 1 };
}

/** Only pzxid moves on a delete; it never goes backwards (DataTree.deleteNode). */
export function parentAfterDelete(parent: NodeRecord, zxid: bigint): NodeRecord {
  return { ...parent, pzxid: zxid > parent.pzxid ? zxid : parent.pzxid, numChildren: parent.numChildren - 1 };
}

export function recordAfterSetData(node: NodeRecord, data: Buffer | null, version: number, zxid: bigint, timeMs: bigint): NodeRecord {
  return { ...node, data, version, mzxid: zxid, mtime: timeMs };
}

export function recordAfterSetAcl(node: NodeRecord, acl: readonly Acl[], aversion: number): NodeRecord {
  return { ...node, acl, aversion };
}
