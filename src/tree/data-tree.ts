// The applied state: every znode, its children, the live sessions and the
// indexes the server asks about (ephemerals per session, containers, TTL
// nodes, node count, approximate data size). Changed only by apply().

import { applyDeltaTo } from "./apply.js";
import { invariant } from "./assert.js";
import { openAcl, readOnlyAcl } from "./acl.js";
import { clientStat, dataLength, ownerKind, type NodeRecord } from "./node.js";
import { basename, childPath, parentOf, rootPath } from "./paths.js";
import type { Acl, Delta, DeltaOp, LeaseRecord, ReplicationCursor, ReplicationStamp, Stat, TreeEvent } from "./types.js";
import { QuotaTracker, type QuotaHost } from "./quota.js";
import type { RecordStore, TreeView } from "./view.js";

const emptyData: Buffer = Buffer.alloc(0);

/** Built-in nodes in creation order (DataTree's constructor). */
const builtinNodes: readonly { path: string; acl: readonly Acl[]; aversion: number }[] = [
  { path: "/zookeeper", acl: openAcl, aversion: 0 },
  { path: "/zookeeper/quota", acl: openAcl, aversion: 0 },
  // ZooKeeper restricts the config node with setACL(READ_ACL_UNSAFE, -1),
  // which also leaves its aversion at -1 (ZOOKEEPER-2014).
  { path: "/zookeeper/config", acl: readOnlyAcl, aversion: -1 },
];

function builtinRecord(acl: readonly Acl[], aversion: number): NodeRecord {
  return {
    data: emptyData,
    acl,
    czxid: 0n,
    mzxid: 0n,
    pzxid: 0n,
    ctime: 0n,
    mtime: 0n,
    version: 0,
    cversion: 0,
    aversion,
    ephemeralOwner: 0n,
    numChildren: 0,
  };
}

/**
 * The whole applied state at one point: what a snapshot holds. Cheap to take
 * (a few array copies) and consistent, because NodeRecords are immutable: a
 * later apply replaces records in the tree, it never changes these. Nodes
 * are in the tree's insertion order, so every parent precedes its children
 * and children keep their order when the tree is rebuilt.
 */
export interface TreeState {
  readonly paths: readonly string[];
  readonly records: readonly NodeRecord[];
  /** Live sessions and their timeouts. */
  readonly sessions: readonly (readonly [bigint, number])[];
  readonly lastZxid: bigint;
  readonly replication: ReplicationState;
}

/** A ReplicationCursor as plain arrays (sorted by key), for snapshots. */
export interface ReplicationState {
  readonly streamPos: bigint;
  /** Per origin region, the highest shipSeq applied. */
  readonly applied: readonly (readonly [string, bigint])[];
  readonly leases: readonly LeaseRecord[];
}

/** The cursor of a tree that has applied no stamped delta. */
export const emptyReplicationState: ReplicationState = { streamPos: 0n, applied: [], leases: [] };

interface MutableCursor {
  streamPos: bigint;
  readonly applied: Map<string, bigint>;
  readonly leases: Map<string, LeaseRecord>;
}

function emptyCursor(): MutableCursor {
  return { streamPos: 0n, applied: new Map(), leases: new Map() };
}

/** The tree's own row: the delta's belongs to whoever built it, and the
 *  tree hands its rows out (replication, captureState) without copying. */
function frozenLease(lease: LeaseRecord): LeaseRecord {
  return Object.freeze({ unit: lease.unit, owner: lease.owner, epoch: lease.epoch });
}

function byKey<T>(entries: Iterable<T>, key: (entry: T) => string): T[] {
  return [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** DataTree.getNodeSize: path length plus data length. */
function nodeSize(path: string, data: Buffer | null): number {
  return path.length + dataLength(data);
}

export class DataTree implements TreeView {
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #children = new Map<string, Set<string>>();
  readonly #ephemerals = new Map<bigint, Set<string>>();
  readonly #containers = new Set<string>();
  readonly #ttls = new Set<string>();
  readonly #sessions = new Map<bigint, number>();
  readonly #quotas = new QuotaTracker();
  readonly #store: RecordStore;
  #dataSize = 0;
  #lastZxid = 0n;
  readonly #cursor: MutableCursor = emptyCursor();

  constructor() {
    this.#store = {
      node: (path) => this.node(path),
      sessionTimeoutMs: (sessionId) => this.sessionTimeoutMs(sessionId),
      ephemeralsOf: (sessionId) => this.ephemeralsOf(sessionId),
      putNode: (path, record) => this.#putNode(path, record),
      removeNode: (path) => this.#removeNode(path),
      putSession: (sessionId, timeoutMs) => this.#sessions.set(sessionId, timeoutMs),
      removeSession: (sessionId) => this.#sessions.delete(sessionId),
    };
    this.#putNode(rootPath, builtinRecord(openAcl, 0));
    for (const builtin of builtinNodes) {
      const parentPath = parentOf(builtin.path) ?? rootPath;
      const parent = this.#nodes.get(parentPath);
      invariant(parent !== undefined, `built-in parent ${parentPath}`);
      // Built-ins are linked without counting as creations: their parents
      // keep stored cversion 0 (so "/" shows cversion -1, as in ZooKeeper).
      this.#putNode(parentPath, { ...parent, numChildren: parent.numChildren + 1 });
      this.#putNode(builtin.path, builtinRecord(builtin.acl, builtin.aversion));
    }
  }

  /** Applies a prepared delta; returns the watch events it fires, in order. */
  apply(delta: Delta): TreeEvent[] {
    const events: TreeEvent[] = [];
    // One op at a time, so quota statistics see each change with its size before.
    for (const op of delta.ops) {
      const bytesBefore = op.type === "delete" || op.type === "setData" ? dataLength(this.#nodes.get(op.path)?.data ?? null) : 0;
      events.push(...applyDeltaTo(this.#store, { ...delta, ops: [op] }));
      this.#keepQuotas(op, bytesBefore);
    }
    if (delta.zxid > this.#lastZxid) this.#lastZxid = delta.zxid;
    if (delta.stamp !== undefined) this.#advanceCursor(delta.stamp);
    return events;
  }

  /**
   * Max, not assignment: a region applies its own deltas before the stream
   * echoes them back, and the stream may repeat positions after a reconnect;
   * neither may move the cursor backwards.
   */
  #advanceCursor(stamp: ReplicationStamp): void {
    const cursor = this.#cursor;
    const applied = cursor.applied.get(stamp.origin);
    if (applied === undefined || stamp.shipSeq > applied) cursor.applied.set(stamp.origin, stamp.shipSeq);
    if (stamp.streamPos > cursor.streamPos) cursor.streamPos = stamp.streamPos;
    for (const lease of stamp.leases) cursor.leases.set(lease.unit, frozenLease(lease));
  }

  /**
   * What this tree has applied of the multi-region order. Live: it changes
   * as stamped deltas are applied, so copy what must be kept.
   */
  get replication(): ReplicationCursor {
    return this.#cursor;
  }

  #keepQuotas(op: DeltaOp, bytesBefore: number): void {
    switch (op.type) {
      case "create":
        this.#quotas.created(this.#quotaHost, op.path, dataLength(op.data));
        return;
      case "delete":
        this.#quotas.deleted(this.#quotaHost, op.path, bytesBefore);
        return;
      case "setData":
        this.#quotas.dataChanged(this.#quotaHost, op.path, bytesBefore, dataLength(op.data));
        return;
      default:
        return;
    }
  }

  readonly #quotaHost: QuotaHost = {
    dataOf: (path) => this.#nodes.get(path)?.data,
    setDataKeepingStat: (path, data) => {
      const node = this.#nodes.get(path);
      if (node !== undefined) this.#putNode(path, { ...node, data });
    },
    subtreeCounts: (path) => {
      let count = 0;
      let bytes = 0;
      const pending = [path];
      for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
        const node = this.#nodes.get(current);
        if (node === undefined) continue;
        count += 1;
        bytes += dataLength(node.data);
        for (const child of this.#children.get(current) ?? []) pending.push(childPath(current, child));
      }
      return { count, bytes };
    },
  };

  /** A point-in-time image of the tree (see TreeState); O(nodes), no deep copies. */
  captureState(): TreeState {
    return {
      paths: Array.from(this.#nodes.keys()),
      records: Array.from(this.#nodes.values()),
      sessions: Array.from(this.#sessions.entries()),
      lastZxid: this.#lastZxid,
      replication: this.#replicationState(),
    };
  }

  /** Sorted, so that two trees with the same cursor capture the same arrays. */
  #replicationState(): ReplicationState {
    const cursor = this.#cursor;
    return {
      streamPos: cursor.streamPos,
      applied: byKey(cursor.applied.entries(), ([origin]) => origin),
      // Lease rows are frozen copies, so sharing them is safe.
      leases: byKey(cursor.leases.values(), (lease) => lease.unit),
    };
  }

  #loadReplication(state: ReplicationState): void {
    const cursor = this.#cursor;
    cursor.streamPos = state.streamPos;
    for (const [origin, shipSeq] of state.applied) {
      invariant(!cursor.applied.has(origin), `state: origin ${origin} twice`);
      cursor.applied.set(origin, shipSeq);
    }
    for (const lease of state.leases) {
      invariant(!cursor.leases.has(lease.unit), `state: lease of unit ${lease.unit} twice`);
      cursor.leases.set(lease.unit, frozenLease(lease));
    }
  }

  /**
   * Rebuilds a tree from a captured state: children, indexes and data size
   * are derived again, then every invariant is checked (a state read from
   * disk that does not hold together throws TreeInvariantError).
   */
  static fromState(state: TreeState): DataTree {
    invariant(state.paths.length === state.records.length, "state: paths and records differ in length");
    const tree = new DataTree();
    tree.#clear();
    for (const [sessionId, timeoutMs] of state.sessions) tree.#sessions.set(sessionId, timeoutMs);
    state.paths.forEach((path, index) => {
      const record = state.records[index]!;
      invariant(!tree.#nodes.has(path), `state: duplicate node ${path}`);
      tree.#nodes.set(path, record);
      tree.#children.set(path, new Set());
      tree.#index(path, record.ephemeralOwner, true);
      tree.#dataSize += nodeSize(path, record.data);
    });
    invariant(tree.#nodes.has(rootPath), "state: no root node");
    for (const path of state.paths) if (path !== rootPath) tree.#linkToParent(path);
    tree.#lastZxid = state.lastZxid;
    tree.#loadReplication(state.replication);
    tree.#quotas.load(state.paths);
    tree.checkInvariants();
    return tree;
  }

  #clear(): void {
    this.#nodes.clear();
    this.#children.clear();
    this.#ephemerals.clear();
    this.#containers.clear();
    this.#ttls.clear();
    this.#sessions.clear();
    this.#dataSize = 0;
    this.#lastZxid = 0n;
    this.#cursor.streamPos = 0n;
    this.#cursor.applied.clear();
    this.#cursor.leases.clear();
  }

  node(path: string): NodeRecord | undefined {
    return this.#nodes.get(path);
  }

  /** The Stat a client sees, or undefined when the node does not exist. */
  statOf(path: string): Stat | undefined {
    const node = this.#nodes.get(path);
    return node === undefined ? undefined : clientStat(node);
  }

  /** Child names in insertion order (ZooKeeper promises no order). */
  childrenOf(path: string): string[] | undefined {
    const children = this.#children.get(path);
    return children === undefined ? undefined : [...children];
  }

  /** Every node below `path` (getAllChildrenNumber); 0 for a missing node. */
  countDescendants(path: string): number {
    if (path === rootPath) return this.#nodes.size - 1;
    let count = 0;
    const pending = [path];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      for (const name of this.#children.get(next) ?? []) {
        count++;
        pending.push(childPath(next, name));
      }
    }
    return count;
  }

  paths(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  /** Highest zxid applied so far (0 on a fresh tree). */
  get lastZxid(): bigint {
    return this.#lastZxid;
  }

  /** Znodes in the tree. ZooKeeper's srvr/mntr count one more: it maps the
   *  root under both "" and "/" and reports the size of that map. */
  get nodeCount(): number {
    return this.#nodes.size;
  }

  /** Sum of path lengths and data lengths (mntr zk_approximate_data_size). */
  get approximateDataSize(): number {
    return this.#dataSize;
  }

  get ephemeralCount(): number {
    let count = 0;
    for (const paths of this.#ephemerals.values()) count += paths.size;
    return count;
  }

  sessionTimeoutMs(sessionId: bigint): number | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Live sessions and their timeouts. */
  sessions(): ReadonlyMap<bigint, number> {
    return this.#sessions;
  }

  ephemeralsOf(sessionId: bigint): string[] {
    return [...(this.#ephemerals.get(sessionId) ?? [])].sort();
  }

  /** Sessions owning at least one ephemeral node, with their paths. */
  ephemeralsBySession(): ReadonlyMap<bigint, ReadonlySet<string>> {
    return this.#ephemerals;
  }

  containerPaths(): ReadonlySet<string> {
    return this.#containers;
  }

  ttlPaths(): ReadonlySet<string> {
    return this.#ttls;
  }

  #putNode(path: string, record: NodeRecord): void {
    const previous = this.#nodes.get(path);
    if (previous === undefined) {
      if (path !== rootPath) this.#linkToParent(path);
      this.#children.set(path, new Set());
      this.#index(path, record.ephemeralOwner, true);
    } else {
      invariant(previous.ephemeralOwner === record.ephemeralOwner, `${path}: ephemeralOwner cannot change`);
      this.#dataSize -= nodeSize(path, previous.data);
    }
    this.#dataSize += nodeSize(path, record.data);
    this.#nodes.set(path, record);
  }

  #removeNode(path: string): void {
    const node = this.#nodes.get(path);
    invariant(node !== undefined, `remove: no node ${path}`);
    invariant(this.#children.get(path)?.size === 0, `remove: ${path} has children`);
    const parentPath = parentOf(path);
    invariant(parentPath !== undefined && path !== rootPath, `remove: ${path} has no parent`);
    this.#children.get(parentPath)?.delete(basename(path));
    this.#children.delete(path);
    this.#nodes.delete(path);
    this.#index(path, node.ephemeralOwner, false);
    this.#dataSize -= nodeSize(path, node.data);
  }

  #linkToParent(path: string): void {
    const parentPath = parentOf(path);
    invariant(parentPath !== undefined, `insert: ${path} has no parent`);
    const siblings = this.#children.get(parentPath);
    invariant(siblings !== undefined, `insert: parent of ${path} is missing`);
    siblings.add(basename(path));
  }

  #index(path: string, ephemeralOwner: bigint, present: boolean): void {
    switch (ownerKind(ephemeralOwner)) {
      case "none":
        return;
      case "container":
        if (present) this.#containers.add(path);
        else this.#containers.delete(path);
        return;
      case "ttl":
        if (present) this.#ttls.add(path);
        else this.#ttls.delete(path);
        return;
      case "session":
        this.#indexEphemeral(path, ephemeralOwner, present);
        return;
    }
  }

  #indexEphemeral(path: string, sessionId: bigint, present: boolean): void {
    let paths = this.#ephemerals.get(sessionId);
    if (present) {
      if (paths === undefined) {
        paths = new Set();
        this.#ephemerals.set(sessionId, paths);
      }
      paths.add(path);
    } else if (paths !== undefined) {
      paths.delete(path);
      if (paths.size === 0) this.#ephemerals.delete(sessionId);
    }
  }

  /**
   * Checks every structural invariant by a full scan (tests, and after
   * loading state from disk): child counts, parent links, indexes, size.
   */
  checkInvariants(): void {
    let dataSize = 0;
    for (const [path, node] of this.#nodes) {
      dataSize += nodeSize(path, node.data);
      const children = this.#children.get(path);
      invariant(children !== undefined && children.size === node.numChildren, `${path}: numChildren ${node.numChildren}`);
      for (const name of children) invariant(this.#nodes.has(childPath(path, name)), `${path}: child ${name} missing`);
      if (path !== rootPath) {
        const parentPath = parentOf(path) ?? rootPath;
        invariant(this.#children.get(parentPath)?.has(basename(path)) === true, `${path}: not linked to its parent`);
      }
      this.#checkIndexed(path, node);
    }
    invariant(dataSize === this.#dataSize, `approximate data size ${this.#dataSize}, scanned ${dataSize}`);
    invariant(this.#children.size === this.#nodes.size, "children map out of step with nodes");
    let indexed = this.#containers.size + this.#ttls.size;
    for (const paths of this.#ephemerals.values()) indexed += paths.size;
    let owned = 0;
    for (const node of this.#nodes.values()) if (ownerKind(node.ephemeralOwner) !== "none") owned++;
    invariant(indexed === owned, `indexes hold ${indexed} paths, ${owned} nodes have owners`);
  }

  #checkIndexed(path: string, node: NodeRecord): void {
    const kind = ownerKind(node.ephemeralOwner);
    if (kind === "container") invariant(this.#containers.has(path), `${path}: container not indexed`);
    if (kind === "ttl") invariant(this.#ttls.has(path), `${path}: TTL node not indexed`);
    if (kind === "session") {
      invariant(this.#ephemerals.get(node.ephemeralOwner)?.has(path) === true, `${path}: ephemeral not indexed`);
      invariant(this.#sessions.has(node.ephemeralOwner), `${path}: owner session is not live`);
      invariant(node.numChildren === 0, `${path}: ephemeral with children`);
    }
  }
}
