// The contract between the data tree (pure: no I/O, no clock, no randomness)
// and the server around it. A write request is prepared against the current
// state plus pending (not yet applied) deltas and becomes a Delta in which
// every result is decided; applying a Delta never fails and never decides.
//
// Id, Acl and Stat are the jute records themselves (data.Id, data.ACL,
// data.Stat), so values pass between the tree and the codec unchanged.
// Every 64-bit quantity (zxid, time, session id) is a signed bigint.

import type { ACL, Id as RecordId, Stat as RecordStat } from "../protocol/records.generated.js";

/** data.Id: a scheme and an identity in it. */
export type Id = RecordId;
/** data.ACL: permissions granted to an Id. */
export type Acl = ACL;
/** The Stat a client sees (data.Stat); cversion is the visible one. */
export type Stat = RecordStat;

/** Who is asking: the session and the identities its connection proved. */
export interface RequestContext {
  sessionId: bigint;
  /** Ids from auth packets plus ip:<address>; a super id bypasses ACLs. */
  authIds: readonly Id[];
  /** Zxid the delta will carry if the request succeeds. */
  zxid: bigint;
  /** Wall-clock milliseconds stamped by the leader; becomes ctime/mtime. */
  timeMs: bigint;
}

export interface TreeOptions {
  /** Accept TTL nodes (zookeeper.extendedTypesEnabled). */
  ttlEnabled: boolean;
  /** Bytes of data one znode may hold (jute.maxbuffer bounds it anyway). */
  dataBytesMax: number;
  /** Children of one znode (a named limit; ZooKeeper has none, we keep one). */
  childrenMax: number;
}

/** Which create opcode carried the request; decides result shapes. */
export type CreateKind = "create" | "create2" | "createContainer" | "createTTL";

export type WriteRequest =
  | { op: "create"; kind: CreateKind; path: string; data: Buffer | null; acl: readonly Acl[]; flags: number; ttl: bigint }
  | { op: "delete"; path: string; version: number }
  | { op: "setData"; path: string; data: Buffer | null; version: number }
  | { op: "setACL"; path: string; acl: readonly Acl[]; version: number }
  | { op: "check"; path: string; version: number }
  | { op: "multi"; ops: readonly WriteRequest[] }
  /** Internal: the container/TTL sweep deletes an empty container or expired TTL node. */
  | { op: "deleteContainer"; path: string }
  | { op: "createSession"; sessionId: bigint; timeoutMs: number }
  /** Close or expiry: deletes the session's ephemerals in the same delta. */
  | { op: "closeSession"; sessionId: bigint }
  /** Multi-region close: the owner of some units deletes, of `paths`, those
   *  still ephemerals of the session (missing ones are skipped), without
   *  closing the session, which lives in another region. */
  | { op: "deleteEphemerals"; sessionId: bigint; paths: readonly string[] };

export type DeltaOp =
  /** czxid = mzxid = pzxid = delta.zxid, ctime = mtime = delta.timeMs; versions 0.
   *  parentCversion is the parent's new stored cversion (creations count). */
  | { type: "create"; path: string; data: Buffer | null; acl: readonly Acl[]; ephemeralOwner: bigint; parentCversion: number }
  /** Parent's pzxid becomes delta.zxid. */
  | { type: "delete"; path: string }
  /** version is the new data version; mzxid = delta.zxid, mtime = delta.timeMs. */
  | { type: "setData"; path: string; data: Buffer | null; version: number }
  | { type: "setACL"; path: string; acl: readonly Acl[]; aversion: number }
  | { type: "createSession"; sessionId: bigint; timeoutMs: number }
  | { type: "closeSession"; sessionId: bigint };

export interface Delta {
  zxid: bigint;
  timeMs: bigint;
  /** Session that issued the request (0n for internal requests). */
  sessionId: bigint;
  ops: DeltaOp[];
  /** Multi-region bookkeeping (absent on a single node): which region
   *  committed the delta and where the global stream put it. Applying a
   *  stamped delta advances the tree's ReplicationCursor, so the cursor is
   *  always exactly as durable as the data. */
  stamp?: ReplicationStamp;
}

/** One row of the lease table: the unit's owner region and its epoch. */
export interface LeaseRecord {
  unit: string;
  owner: string;
  epoch: number;
}

/**
 * Where a delta sits in the multi-region order (design sections 3 and 4).
 * origin/shipSeq name it uniquely: each region numbers the deltas it commits
 * as an owner 1, 2, 3, ... A delta received from the global stream also
 * carries its stream position; a region's own delta carries 0n until the
 * stream echoes it back. A lease event (grant, transfer) is a stamped delta
 * with no ops and the changed lease rows.
 */
export interface ReplicationStamp {
  origin: string;
  shipSeq: bigint;
  streamPos: bigint;
  leases: readonly LeaseRecord[];
}

/** What a tree has applied of the multi-region order: persisted with it. */
export interface ReplicationCursor {
  /** Highest stream position applied (0n: none). */
  streamPos: bigint;
  /** Per origin region, the highest shipSeq applied. */
  applied: ReadonlyMap<string, bigint>;
  /** Lease rows recorded so far (units never recorded have their configured default owner, epoch 0). */
  leases: ReadonlyMap<string, LeaseRecord>;
}

export type OpResult =
  | { op: "create"; kind: CreateKind; path: string; stat: Stat }
  | { op: "delete" }
  | { op: "setData"; stat: Stat }
  | { op: "setACL"; stat: Stat }
  | { op: "check" }
  | { op: "multi"; results: MultiOpResult[] }
  | { op: "deleteContainer" }
  | { op: "createSession" }
  | { op: "closeSession" }
  | { op: "deleteEphemerals" };

/** One entry of a multi's answer: a result, or an error code (0 before the
 *  failing op, the failing op's code, -2 RuntimeInconsistency after it). */
export type MultiOpResult = OpResult | { op: "error"; err: number };

export type PrepareOutcome =
  | { ok: true; delta: Delta; result: OpResult }
  /** A failed multi carries per-op results; other failures only the code. */
  | { ok: false; err: number; multiResults?: MultiOpResult[] };

/** What applying a delta changed, for watches: one entry per event. */
export interface TreeEvent {
  /** EventType: nodeCreated 1, nodeDeleted 2, nodeDataChanged 3, nodeChildrenChanged 4. */
  type: 1 | 2 | 3 | 4;
  path: string;
  /** ACL of the node the event is about, as it was at the change: a watcher
   *  without READ on it is not told (ZOOKEEPER-4799, CVE-2024-23944). */
  acl: readonly Acl[];
}
