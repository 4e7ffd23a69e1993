// A region's broker (design sections 3-6): the one ordering point of
// everything its region applies. Pure: no I/O, no clock, no randomness.
// The host (the server, or the simulator) feeds it client writes, broker
// messages, link changes, log confirmations and the time, and carries out
// what it asks through CoreEffects (send a message, append to the region
// log, tell watchers, drop a session's connection).
//
// Each node is a region of one node for now; the region log sits behind
// CoreEffects.append/logDurable so that a consensus log can take its place.
//
// The pieces:
//   - the region log pipeline: every delta (local commits, deltas from the
//     global stream, lease records) is staged in order, appended, and applied
//     once durable, so applied order = log order;
//   - routing: a write goes to the local log when this region owns every
//     unit it touches, to the owner when one other region owns them all, to
//     the root to be gathered otherwise, and waits while a unit moves;
//   - shipping: own deltas go to the root in commit order until the stream
//     echoes them; deltas of the stream are applied in stream order;
//   - sessions: FIFO per session across units, read-your-writes after a
//     forwarded write, ephemerals removed at their owners on close.
// The root's region additionally runs RootRole (stream sequencing, lease table).

import { ErrorCode } from "../protocol/codes.js";
import { invariant } from "../tree/assert.js";
import { nextHybridZxid } from "../tree/zxid.js";
import type { DataTree } from "../tree/data-tree.js";
import { PendingTree } from "../tree/pending.js";
import type {
  Delta,
  Id,
  LeaseRecord,
  MultiOpResult,
  OpResult,
  ReplicationStamp,
  TreeEvent,
  TreeOptions,
  WriteRequest,
} from "../tree/types.js";
import type { BrokerMessage, ForwardOutcome, OriginSeq, RegionName, UnitEpoch, UnitName, WriteCount } from "./messages.js";
import { isFencedPlaceholder, RootRole } from "./root-role.js";
import type { BrokerSettings } from "./settings.js";
import type { LeaseStatusReport, LeaseUnitState } from "./status.js";
import { UnitMap, rootUnit } from "./units.js";

export interface CoreEffects {
  /** Sends to the broker of a region; false when the link is down (the message is dropped). */
  send(region: RegionName, message: BrokerMessage): boolean;
  /** Appends to the region log; the host answers logDurable(zxid) in order, or logFailed. */
  append(delta: Delta): void;
  /** A delta reached the tree (watches, stats). */
  applied(delta: Delta, events: TreeEvent[]): void;
  /** Drops the client connection of a session (its ephemerals' owners are unreachable). */
  disconnectSession(sessionId: bigint): void;
  /**
   * The region's replica diverged from everyone else's (the root fenced
   * deltas it had applied: an operator evicted the region): the host stops
   * serving, and must not serve from this data again.
   */
  halt(reason: string): void;
  log(level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>): void;
}

/** What a client's write came to. */
export type WriteAnswer =
  | { kind: "ok"; result: OpResult }
  | { kind: "failed"; err: number; multiResults?: MultiOpResult[] }
  /** Outcome unknown to the client (owner unreachable, log failure, timeout): ConnectionLoss. */
  | { kind: "connectionLoss"; reason: string };

/** Inside the broker an op may also end as "not the owner here" (a forwarded op whose units moved),
 *  and a commit carries its delta and what was applied when it was prepared (for forward replies). */
type OpAnswer =
  | Exclude<WriteAnswer, { kind: "ok" }>
  | { kind: "ok"; result: OpResult; committed?: { delta: Delta; deps: OriginSeq[] } }
  | { kind: "notOwner" };

type Destination =
  | { kind: "local" }
  | { kind: "forward"; region: RegionName }
  | { kind: "gather" }
  | { kind: "wait"; reason: string };

/** A write on its way: from a local client, or forwarded here by another region. */
interface WriteOp {
  sessionId: bigint;
  request: WriteRequest;
  authIds: Id[];
  /** The region whose client issued it (counts, and who to answer). */
  origin: RegionName;
  /** Writes the op must see applied first (forwarded ops; empty for local clients). */
  deps: OriginSeq[];
  deadlineMs: number;
  done: (answer: OpAnswer) => void;
  /** Forwarded ops are answered to the forwarder and never routed again from here. */
  forwarded: boolean;
}

interface Staged {
  delta: Delta;
  durable: boolean;
  units: ReadonlySet<UnitName>;
  onApplied: ((ok: boolean) => void) | null;
}

interface SessionState {
  queue: WriteOp[];
  localOutstanding: number;
  remoteOutstanding: boolean;
  /** After a forwarded write: the session's next reads wait until this is applied here. */
  barrier: OriginSeq | null;
  readyWaiters: Array<() => void>;
  /** Regions this session's writes were forwarded to: its close asks each to delete its ephemerals. */
  forwardedTo: Set<RegionName>;
  /** Created before this process started: its forwarded writes are unknown here (see #startupBarrier). */
  preexisting: boolean;
  /**
   * The session's causal past: per origin, the last delta it wrote or could
   * have seen (a read sees everything applied when it runs). A forward names
   * this, not all this region has applied, so an owner waits only for what
   * the session depends on. Null when unknown (sessions older than the process).
   */
  observed: Map<RegionName, bigint> | null;
}

interface PendingForward {
  region: RegionName;
  op: WriteOp;
  deadlineMs: number;
  attempts: number;
}

interface PendingSync {
  region: RegionName;
  unit: UnitName;
  deadlineMs: number;
  done: (ok: boolean) => void;
}

/** Waiters for "origin's deltas through shipSeq are applied here". */
interface AppliedWaiter {
  origin: RegionName;
  shipSeq: bigint;
  deadlineMs: number;
  wake: (ok: boolean) => void;
}

const forwardAttemptsMax = 20;
/** Own deltas a forward may carry to an owner that lacks them (more: the owner waits for the stream). */
const carriedDeltasMax = 64;
/** Early-applied deltas of one other region kept for relaying to the root. */
const relayDeltasMax = 256;

export class RegionCore {
  readonly settings: BrokerSettings;
  readonly units: UnitMap;
  readonly tree: DataTree;
  readonly #pending: PendingTree;
  readonly #options: TreeOptions;
  readonly #effects: CoreEffects;
  readonly #root: RootRole | null;
  readonly #staged: Staged[] = [];
  readonly #sessions = new Map<bigint, SessionState>();
  /** Ops that wait for a unit to settle (moving, not yet active), re-routed on lease changes and ticks. */
  #parked: WriteOp[] = [];
  readonly #forwards = new Map<number, PendingForward>();
  readonly #syncs = new Map<number, PendingSync>();
  /** Request ids start from the clock so that ids of a restarted node do not repeat those of its past life. */
  #nextRequestId: number;
  /** Forwards recently received, by sender and request id: a duplicate is not executed twice. */
  readonly #recentForwards = new Set<string>();
  readonly #recentForwardOrder: string[] = [];
  /** Forwarded ops per forwarding region, each waiting for its deps in arrival order. */
  readonly #incoming = new Map<RegionName, WriteOp[]>();
  #appliedWaiters: AppliedWaiter[] = [];
  /**
   * Epochs at which the root, answering a renewal sent after this region
   * learnt of the lease, confirmed a unit as ours. A region writes a unit
   * only at a confirmed epoch: a grant read late from the stream may
   * already be superseded, and a release promised before a crash is not
   * remembered across it. (The root, the lease authority, needs no confirmation.)
   */
  readonly #confirmedEpochs = new Map<UnitName, number>();
  /** Releasing units whose `released` answer went out (sent again when the root asks again). */
  readonly #releaseAnswered = new Set<UnitName>();
  /** Units this region was asked to release (epoch), admitting nothing new to them. */
  readonly #releasing = new Map<UnitName, number>();
  /** Lease rows heard from owners' notOwner answers, newer than the stream has told us. */
  readonly #hints = new Map<UnitName, LeaseRecord>();
  /** Own deltas committed but not yet seen in the stream (non-root regions). */
  #unshipped: Delta[] = [];
  /** For own deltas not yet confirmed by the root: what this region had of others when it prepared each. */
  readonly #depsOfOwn = new Map<bigint, OriginSeq[]>();
  /** Per peer region, how far it had this region's deltas when it last answered a forward. */
  readonly #peerHas = new Map<RegionName, bigint>();
  /** Deltas of other regions applied from a forward answer before the stream brought them (see #applyEarly). */
  /**
   * How far this region's own deltas run that this node must have applied
   * before it writes: its own at start when it has any, else (and at least)
   * what the root had sequenced when it answered a subscription; null until
   * known. A node whose data was wiped learns here of its region's earlier
   * writes: it applies them from the stream and writes nothing of its own
   * until it has (its new deltas continue the region's numbering after them).
   */
  #ownHistoryThrough: bigint | null = null;
  /** Other regions' deltas applied early, per origin in order, with what they rest on, until the stream brings them (relayed to the root). */
  readonly #relay = new Map<RegionName, Array<{ delta: Delta; deps: OriginSeq[] }>>();
  /** Set once the root fenced a delta this region had applied: nothing is served any more. */
  #halted: string | null = null;
  #earlyApplied: Array<{ origin: RegionName; shipSeq: bigint; ownSeqBefore: bigint }> = [];
  #shippedThrough = 0n;
  #ackedThrough = 0n;
  /** Highest own shipSeq allocated (staged). */
  #ownSeq: bigint;
  /** Highest stream position received (staged or echoed), and per origin the highest shipSeq staged. */
  #streamPosReceived: bigint;
  readonly #received = new Map<RegionName, bigint>();
  #subscribed = false;
  #lastAllocatedZxid: bigint;
  #nowMs: number;
  /** Leases of `global` units may be used until then (renewals, shortened by the drift bound). */
  #leaseValidUntilMs = 0;
  #renewRound = 0;
  readonly #renewals = new Map<number, { sentMs: number; held: UnitEpoch[] }>();
  #lastRenewMs = Number.NEGATIVE_INFINITY;
  readonly #countsSinceRenew = new Map<string, WriteCount>();
  readonly #writeCounts = new Map<UnitName, Map<RegionName, number>>();
  readonly #linkDownSince = new Map<RegionName, number>();
  /** Global-durability answers waiting for the root to sequence own shipSeq. */
  #ackWaiters: Array<{ shipSeq: bigint; wake: (ok: boolean) => void }> = [];
  /** Reads waiting for this region's unsequenced \`global\` writes to be taken by the root (the host bounds the wait). */
  #globalReadWaiters: Array<() => void> = [];
  #closing = new Set<bigint>();
  /** See #startupCaughtUp. */
  readonly #startupPending: Set<RegionName>;
  readonly #startupBarrier = new Map<RegionName, bigint>();
  readonly #startupSyncs = new Map<number, RegionName>();
  #startupDone = false;
  #startupAskedMs = Number.NEGATIVE_INFINITY;
  /** Sessions created since this process started: it knows every region they forwarded to. */
  readonly #bornHere = new Set<bigint>();

  constructor(args: { settings: BrokerSettings; tree: DataTree; options: TreeOptions; effects: CoreEffects; nowMs: number }) {
    this.settings = args.settings;
    this.units = new UnitMap(args.settings.leaseRoots);
    // Units made by splits are known from their lease rows.
    for (const row of args.tree.replication.leases.values()) this.units.ensureLeaseRoot(row.unit);
    this.tree = args.tree;
    this.#pending = new PendingTree(args.tree);
    this.#options = args.options;
    this.#effects = args.effects;
    this.#nowMs = args.nowMs;
    this.#nextRequestId = Math.floor(args.nowMs) * 1000 + 1;
    this.#lastAllocatedZxid = args.tree.lastZxid;
    const cursor = args.tree.replication;
    this.#ownSeq = cursor.applied.get(args.settings.region) ?? 0n;
    // A node with writes of its own region knows that region's history (anything the root has of it came
    // from this node's log); one with none may be new or may have lost its disk, and must ask the root.
    if (this.#ownSeq > 0n) this.#ownHistoryThrough = this.#ownSeq;
    this.#ackedThrough = this.#isRoot ? this.#ownSeq : 0n;
    this.#shippedThrough = this.#ackedThrough;
    this.#streamPosReceived = cursor.streamPos;
    for (const [origin, seq] of cursor.applied) this.#received.set(origin, seq);
    for (const region of args.settings.regions) if (region !== args.settings.region) this.#linkDownSince.set(region, args.nowMs);
    this.#startupPending = new Set(args.settings.regions.filter((region) => region !== args.settings.region));
    this.#root = this.#isRoot
      ? new RootRole({ core: this, settings: args.settings, units: this.units, nowMs: args.nowMs, effects: args.effects })
      : null;
  }

  get region(): RegionName {
    return this.settings.region;
  }

  get #isRoot(): boolean {
    return this.settings.region === this.settings.rootRegion;
  }

  get lastAppliedZxid(): bigint {
    return this.tree.lastZxid;
  }

  /** Own deltas still to ship: the host refills this after a restart from what recovery replayed. */
  restoreUnshipped(deltas: readonly Delta[]): void {
    this.#unshipped = deltas.filter((d) => d.stamp?.origin === this.region && d.stamp.streamPos === 0n);
    // Other regions' deltas logged without a stream position were applied early (see #applyEarly):
    // own deltas after them still wait for the stream to bring them.
    let ownSeq = 0n;
    for (const delta of deltas) {
      const stamp = delta.stamp;
      if (stamp === undefined) continue;
      if (stamp.origin === this.region) ownSeq = stamp.shipSeq;
      else if (stamp.streamPos === 0n) this.#earlyApplied.push({ origin: stamp.origin, shipSeq: stamp.shipSeq, ownSeqBefore: ownSeq });
    }
  }

  // ---------------------------------------------------------------- leases

  /** Owner and epoch of a unit as this region knows it. */
  lease(unit: UnitName): { owner: RegionName; epoch: number } {
    const row = this.tree.replication.leases.get(unit);
    const hint = this.#hints.get(unit);
    const best = hint !== undefined && (row === undefined || hint.epoch > row.epoch) ? hint : row;
    if (best !== undefined) return { owner: best.owner, epoch: best.epoch };
    return { owner: this.units.unitRule(unit).home ?? this.settings.rootRegion, epoch: 0 };
  }

  /** Whether this region's own deltas the root has sequenced are all applied here (always at the root). */
  #ownHistoryApplied(): boolean {
    return this.#isRoot || (this.#ownHistoryThrough !== null && this.#appliedOf(this.region) >= this.#ownHistoryThrough);
  }

  #ownsActive(unit: UnitName): boolean {
    if (this.#halted !== null) return false;
    if (!this.#ownHistoryApplied()) return false;
    const row = this.tree.replication.leases.get(unit);
    const owner = row?.owner ?? this.units.unitRule(unit).home ?? this.settings.rootRegion;
    if (owner !== this.region || this.#releasing.has(unit)) return false;
    if (this.#root?.isMoving(unit) === true) return false;
    if (!this.#isRoot && !this.#confirmedAt(unit, row?.epoch ?? 0)) return false;
    return this.units.unitRule(unit).durability === "region" || this.#isRoot || this.#nowMs < this.#leaseValidUntilMs;
  }

  #confirmedAt(unit: UnitName, epoch: number): boolean {
    if (this.#confirmedEpochs.get(unit) === epoch) return true;
    // A lease root that does not exist yet and was never leased is its home's: the root takes it only
    // through revoke and release (a gathering), never behind the home's back.
    return epoch === 0 && !this.tree.replication.leases.has(unit) && this.tree.node(unit) === undefined;
  }

  // ------------------------------------------------------------ client API

  /** A client write from a session of this region. `done` is called exactly once. */
  write(sessionId: bigint, request: WriteRequest, authIds: Id[], nowMs: number, done: (answer: WriteAnswer) => void): void {
    this.#nowMs = nowMs;
    if (this.#halted !== null) {
      done({ kind: "connectionLoss", reason: this.#halted });
      return;
    }
    if (request.op === "closeSession") {
      this.#closeSession(sessionId, done);
      return;
    }
    if (request.op === "createSession") this.#bornHere.add(sessionId);
    const op: WriteOp = {
      sessionId, request, authIds, origin: this.region, deps: [], forwarded: false,
      deadlineMs: nowMs + this.settings.forwardTimeoutMs,
      done: (answer) => done(answer.kind === "notOwner" ? { kind: "connectionLoss", reason: "ownership changed" } : answer),
    };
    const session = this.#session(sessionId);
    session.queue.push(op);
    this.#pumpSession(sessionId, session);
  }

  /** Calls `ready` once the session may read: its last forwarded write is applied here. */
  whenSessionReady(sessionId: bigint, ready: () => void, paths: readonly string[] = []): void {
    const session = this.#session(sessionId);
    const read = (): void => {
      if (this.#unsequencedGlobalUnder(paths)) {
        this.#globalReadWaiters.push(read);
        return;
      }
      // The read sees everything applied now: the session depends on all of it from here on.
      this.#observe(session, this.tree.replication.applied);
      ready();
    };
    if (this.#barrierPassed(session)) read();
    else session.readyWaiters.push(read);
  }

  /**
   * Whether a read of `paths` would see a write of a \`global\` unit this
   * region committed and the root has not yet taken: such a write is not
   * answered before the root has it, and if the root reclaims the unit in
   * the meantime it is refused; nobody may read it before then.
   */
  #unsequencedGlobalUnder(paths: readonly string[]): boolean {
    if (this.#isRoot || paths.length === 0) return false;
    const units = new Set<UnitName>();
    for (const path of paths) units.add(this.units.unitOfNode(path)).add(this.units.unitOfChildren(path));
    return this.#unsequencedGlobalThrough(units) !== null;
  }

  /** The last own delta touching one of `units` that is `global` which the root has not taken yet, or null. */
  #unsequencedGlobalThrough(units: ReadonlySet<UnitName>): bigint | null {
    if (this.#isRoot) return null;
    const global = [...units].filter((unit) => this.units.unitRule(unit).durability === "global");
    if (global.length === 0) return null;
    let last: bigint | null = null;
    for (const delta of this.#ownUnacknowledged()) {
      const shipSeq = delta.stamp!.shipSeq;
      if (global.some((unit) => this.units.unitsOfDelta(delta).has(unit)) && (last === null || shipSeq > last)) last = shipSeq;
    }
    return last;
  }

  /** Own deltas, applied or still staged, that the root has not acknowledged. */
  #ownUnacknowledged(): Delta[] {
    return [...this.#unshipped, ...this.#staged.map((entry) => entry.delta)].filter(
      (delta) => delta.stamp?.origin === this.region && delta.stamp.shipSeq > this.#ackedThrough,
    );
  }

  #observe(session: SessionState, positions: Iterable<readonly [RegionName, bigint]>): void {
    if (session.observed === null) return;
    for (const [origin, shipSeq] of positions) {
      if ((session.observed.get(origin) ?? 0n) < shipSeq) session.observed.set(origin, shipSeq);
    }
  }

  /** sync(path): catches up with the owner of the path's unit, then calls done(true). */
  sync(path: string, nowMs: number, done: (ok: boolean) => void): void {
    this.#nowMs = nowMs;
    // A path's znode and its children can sit in two units (a lease root): catch up with both owners.
    const node = path === "" ? "/" : path;
    const units = new Set([this.units.unitOfNode(node), this.units.unitOfChildren(node)]);
    let waiting = units.size;
    let ok = true;
    const settle = (unitOk: boolean): void => {
      ok &&= unitOk;
      if (--waiting === 0) done(ok);
    };
    for (const unit of units) this.#syncUnit(unit, nowMs, settle);
  }

  #syncUnit(unit: UnitName, nowMs: number, done: (ok: boolean) => void, deadlineMs = nowMs + this.settings.forwardTimeoutMs): void {
    const owner = this.lease(unit).owner;
    if (owner === this.region) {
      if (this.#ownsActive(unit)) {
        this.#afterStaged(() => done(true));
        return;
      }
      // Ours but not writable here (being released, or not confirmed): its latest writes may be
      // elsewhere soon; ask again once the lease settles.
      if (nowMs >= deadlineMs) done(false);
      else this.#retryLater(() => this.#syncUnit(unit, this.#nowMs, done, deadlineMs), 10);
      return;
    }
    const requestId = this.#nextRequestId++;
    if (!this.#effects.send(owner, { type: "sync", requestId, unit })) {
      done(false);
      return;
    }
    this.#syncs.set(requestId, { region: owner, unit, deadlineMs, done });
  }

  /** A session may be (re)attached only while the owners of its ephemerals are reachable. */
  sessionReachable(sessionId: bigint, nowMs: number): boolean {
    this.#nowMs = nowMs;
    if (this.#halted !== null) return false;
    return this.#unreachableOwnersOf(sessionId).length === 0;
  }

  #session(sessionId: bigint): SessionState {
    let session = this.#sessions.get(sessionId);
    if (session === undefined) {
      session = {
        queue: [], localOutstanding: 0, remoteOutstanding: false, barrier: null, readyWaiters: [], forwardedTo: new Set(),
        preexisting: !this.#bornHere.has(sessionId),
        observed: this.#bornHere.has(sessionId) ? new Map() : null,
      };
      this.#sessions.set(sessionId, session);
    }
    return session;
  }

  #barrierPassed(session: SessionState): boolean {
    if (session.preexisting && !this.#startupCaughtUp()) return false;
    if (session.barrier === null) return true;
    if (this.#appliedOf(session.barrier.origin) < session.barrier.shipSeq) return false;
    session.barrier = null;
    return true;
  }

  /**
   * Starts the session's queued writes in order. Local writes pipeline; a
   * write that leaves the region waits until nothing else of the session is
   * outstanding and the session's last forwarded write is applied here, so
   * a session's writes take effect in issue order across units (FIFO) and
   * its later operations see its earlier ones.
   */
  #pumpSession(sessionId: bigint, session: SessionState): void {
    if (this.#closing.has(sessionId)) {
      for (const queued of session.queue.splice(0)) queued.done({ kind: "failed", err: ErrorCode.sessionExpired });
      return;
    }
    while (session.queue.length > 0) {
      const op = session.queue[0]!;
      if (session.remoteOutstanding) return;
      const destination = this.#route(op.request);
      if (destination.kind !== "local" && session.localOutstanding > 0) return;
      if (!this.#barrierPassed(session)) {
        const sameOwner = destination.kind === "forward" && destination.region === session.barrier?.origin;
        if (!sameOwner) return;
      }
      session.queue.shift();
      this.#dispatch(op, destination, session);
    }
  }

  #dispatch(op: WriteOp, destination: Destination, session: SessionState): void {
    const finish = (answer: OpAnswer, remote: boolean): void => {
      if (remote) session.remoteOutstanding = false;
      else session.localOutstanding -= 1;
      // The session now depends on its own delta; a failed or unknown write may have seen any of
      // this region's own deltas up to here.
      const own = answer.kind === "ok" && answer.committed?.delta.stamp?.origin === this.region ? answer.committed.delta.stamp.shipSeq : this.#ownSeq;
      this.#observe(session, [[this.region, own]]);
      op.done(answer);
      this.#pumpSession(op.sessionId, session);
    };
    if (destination.kind === "local") {
      session.localOutstanding += 1;
      this.#commitOrPark({ ...op, done: (answer) => finish(answer, false) });
      return;
    }
    session.remoteOutstanding = true;
    const remoteOp: WriteOp = { ...op, done: (answer) => finish(answer, true) };
    this.#routeRemote(remoteOp, destination, session);
  }

  #routeRemote(op: WriteOp, destination: Destination, session: SessionState | null): void {
    switch (destination.kind) {
      case "local":
        this.#commitOrPark(op);
        return;
      case "forward":
        this.#forward(op, destination.region, session);
        return;
      case "gather":
        if (this.#root !== null) this.#root.gather(op, this.#nowMs);
        else this.#forward(op, this.settings.rootRegion, session);
        return;
      case "wait":
        this.#parked.push(op);
        return;
    }
  }

  // --------------------------------------------------------------- routing

  /** The units a request touches and who owns each, as this region knows. */
  #owners(request: WriteRequest): Map<UnitName, RegionName> {
    const { units, newUnitUnder } = this.units.unitsOfRequest(request);
    const owners = new Map<UnitName, RegionName>();
    for (const unit of units) owners.set(unit, this.lease(unit).owner);
    for (const parent of newUnitUnder) {
      // A lease root named only when prepared: no row can exist yet, so its implicit owner holds it.
      const rule = this.units.ruleOf(`${parent === "/" ? "" : parent}/x`);
      owners.set(`${parent}/*`, rule?.home ?? this.settings.rootRegion);
    }
    return owners;
  }

  #route(request: WriteRequest): Destination {
    const owners = this.#owners(request);
    const regions = new Set(owners.values());
    for (const unit of owners.keys()) {
      if (this.#releasing.has(unit) || this.#root?.isMoving(unit) === true) return { kind: "wait", reason: `unit ${unit} is moving` };
    }
    if (regions.size === 0) return { kind: "local" }; // session requests
    if (regions.size > 1) return { kind: "gather" };
    const [owner] = regions;
    if (owner !== this.region) return { kind: "forward", region: owner! };
    for (const unit of owners.keys()) {
      if (!unit.endsWith("/*") && !this.#ownsActive(unit)) return { kind: "wait", reason: `lease of ${unit} not usable` };
    }
    return { kind: "local" };
  }

  /** Routes an op again (after a wait, a notOwner answer, or a lease change). */
  #reroute(op: WriteOp): void {
    if (this.#nowMs >= op.deadlineMs) {
      op.done({ kind: "connectionLoss", reason: "timed out waiting for a unit's lease" });
      return;
    }
    const destination = this.#route(op.request);
    if (op.forwarded && destination.kind === "forward") {
      op.done({ kind: "notOwner" });
      return;
    }
    this.#routeRemote(op, destination, null);
  }

  #waitingOpOf(sessionId: bigint, except: WriteOp): boolean {
    return this.#parked.some((parked) => parked !== except && parked.sessionId === sessionId) || this.#root?.gatheringFor(sessionId) === true;
  }

  #retryParked(): void {
    if (this.#parked.length === 0) return;
    const parked = this.#parked;
    this.#parked = [];
    for (const op of parked) this.#reroute(op);
  }

  // ------------------------------------------------------------ local commit

  #nextZxid(): bigint {
    this.#lastAllocatedZxid = nextHybridZxid(this.#lastAllocatedZxid, this.#nowMs);
    return this.#lastAllocatedZxid;
  }

  /** Commits an op to the region log when every unit it touches is ours and usable; else waits or re-routes. */
  #commitOrPark(op: WriteOp): void {
    // A close's deletion of ephemerals comes after the session's earlier writes that still wait
    // here (a create parked while its unit moved would otherwise outlive the session).
    if (op.request.op === "deleteEphemerals" && this.#waitingOpOf(op.sessionId, op)) {
      this.#parked.push(op);
      return;
    }
    const destination = this.#route(op.request);
    if (destination.kind !== "local") {
      if (op.forwarded && destination.kind === "forward") {
        op.done({ kind: "notOwner" });
        return;
      }
      this.#routeRemote(op, destination, null);
      return;
    }
    this.commitLocal(op);
  }

  /**
   * Prepares and stages an op as this region's next own delta. At the root,
   * a delta that creates lease roots carries their grants (proactive
   * leasing). Returns false when the prepared delta turned out to touch a
   * unit this region cannot write (then nothing is staged).
   */
  commitLocal(op: WriteOp): boolean {
    if (!this.#ownHistoryApplied()) {
      // A new delta would take a shipSeq the region's lost history may hold, or decide against a tree
      // that lacks it (an ephemeral to delete, a version): it waits, parked, until that history is here.
      this.#parked.push(op);
      return false;
    }
    if (op.request.op === "deleteEphemerals" && op.request.paths.length === 0) {
      op = { ...op, request: { ...op.request, paths: this.#ownedEphemerals(op.request.sessionId) } };
    }
    // Allocated only if the write commits (a refused one takes no zxid).
    const zxid = nextHybridZxid(this.#lastAllocatedZxid, this.#nowMs);
    const ctx = { sessionId: op.sessionId, authIds: op.authIds, zxid, timeMs: BigInt(Math.floor(this.#nowMs)) };
    const outcome = this.#pending.prepare(op.request, ctx, this.#options);
    if (!outcome.ok) {
      const failed: OpAnswer = { kind: "failed", err: outcome.err, ...(outcome.multiResults === undefined ? {} : { multiResults: outcome.multiResults }) };
      // A refusal decided on a `global` write the root has not taken yet (NodeExists after an unconfirmed
      // create) stands only once the root has it: if the root refuses that write, so is this answer's ground.
      const through = this.#unsequencedGlobalThrough(this.units.unitsOfRequest(op.request).units);
      if (through === null) op.done(failed);
      else this.#ackWaiters.push({ shipSeq: through, wake: (acked) => op.done(acked ? failed : { kind: "connectionLoss", reason: "root did not confirm" }) });
      return true;
    }
    const touched = this.units.unitsOfDelta(outcome.delta);
    const held = new Map([...touched].map((unit) => [unit, this.#ownsActive(unit)]));
    if ([...held].some(([unit, owned]) => !owned && this.#root?.mayClaimCreated(unit, outcome.delta) !== true)) {
      this.#parked.push(op);
      return false;
    }
    const leases: LeaseRecord[] = [];
    for (const [unit, owned] of held) {
      const claim = this.#root?.claimCreated(unit, outcome.delta, op.origin, owned, this.#nowMs) ?? null;
      if (claim !== null) leases.push(claim);
    }
    this.#lastAllocatedZxid = ctx.zxid;
    this.#ownSeq += 1n;
    const shipSeq = this.#ownSeq;
    const streamPos = this.#root?.nextStreamPos() ?? 0n;
    const delta: Delta = { ...outcome.delta, stamp: { origin: this.region, shipSeq, streamPos, leases } };
    this.#countWrite(touched, op.origin, outcome.delta);
    const global = [...touched].some((unit) => this.units.unitRule(unit).durability === "global");
    const committed = { delta, deps: this.#receivedVector() };
    if (!this.#isRoot) this.#depsOfOwn.set(shipSeq, committed.deps);
    this.#stage(delta, touched, (ok) => {
      if (!ok) {
        op.done({ kind: "connectionLoss", reason: "region log failed" });
        return;
      }
      const answer: OpAnswer = { kind: "ok", result: outcome.result, committed };
      if (global && !this.#isRoot && this.#halted !== null) op.done({ kind: "connectionLoss", reason: this.#halted });
      else if (global && !this.#isRoot) this.#ackWaiters.push({ shipSeq, wake: (acked) => op.done(acked ? answer : { kind: "connectionLoss", reason: "root did not confirm" }) });
      else op.done(answer);
    });
    return true;
  }

  #countWrite(units: ReadonlySet<UnitName>, origin: RegionName, delta: Delta): void {
    for (const unit of units) {
      let byOrigin = this.#writeCounts.get(unit);
      if (byOrigin === undefined) this.#writeCounts.set(unit, (byOrigin = new Map()));
      byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + 1);
      this.#countForRoot(unit, origin, undefined);
    }
    // Per child of a unit, for policies that split: once per delta and child.
    const children = new Set<string>();
    for (const op of delta.ops) {
      if (op.type === "createSession" || op.type === "closeSession") continue;
      const unit = this.units.unitOfNode(op.path);
      const child = this.units.splittableChildOf(unit, op.path);
      if (child !== null && !children.has(child)) {
        children.add(child);
        this.#countForRoot(unit, origin, child);
      }
    }
  }

  #countForRoot(unit: UnitName, origin: RegionName, child: string | undefined): void {
    const key = `${unit}\u0000${origin}\u0000${child ?? ""}`;
    const pending = this.#countsSinceRenew.get(key);
    if (pending !== undefined) pending.count += 1;
    else this.#countsSinceRenew.set(key, child === undefined ? { unit, origin, count: 1 } : { unit, origin, count: 1, child });
  }

  // ----------------------------------------------------------- region log

  /** Stages a delta (own, from the stream, or a lease record) as the region log's next entry. */
  #stage(delta: Delta, units: ReadonlySet<UnitName>, onApplied: ((ok: boolean) => void) | null): void {
    this.#pending.stage(delta);
    this.#staged.push({ delta, durable: false, units, onApplied });
    const stamp = delta.stamp;
    if (stamp !== undefined && (this.#received.get(stamp.origin) ?? 0n) < stamp.shipSeq) this.#received.set(stamp.origin, stamp.shipSeq);
    this.#effects.append(delta);
  }

  /** The region log has the delta with this zxid (and, in order, everything before it). */
  logDurable(zxid: bigint, nowMs: number): void {
    this.#nowMs = nowMs;
    const entry = this.#staged.find((s) => !s.durable && s.delta.zxid === zxid);
    invariant(entry !== undefined, `logDurable: no staged delta with zxid ${zxid}`);
    entry.durable = true;
    while (this.#staged.length > 0 && this.#staged[0]!.durable) {
      const staged = this.#staged.shift()!;
      const events = this.#pending.commitNext();
      this.#effects.applied(staged.delta, events);
      staged.onApplied?.(true);
      this.#afterApply(staged.delta);
    }
    this.#wakeAppliedWaiters();
  }

  /** The region log refused an append: everything staged is dropped unapplied (as CommitPipeline does). */
  logFailed(error: string, nowMs: number): void {
    this.#nowMs = nowMs;
    const failed = this.#staged.splice(0);
    this.#pending.discardAll();
    this.#lastAllocatedZxid = this.tree.lastZxid;
    const cursor = this.tree.replication;
    this.#ownSeq = cursor.applied.get(this.region) ?? 0n;
    this.#streamPosReceived = cursor.streamPos;
    this.#received.clear();
    for (const [origin, seq] of cursor.applied) this.#received.set(origin, seq);
    this.#root?.logFailed();
    this.#effects.log("error", "region log append failed; staged deltas dropped", { error, dropped: failed.length });
    for (const staged of failed) staged.onApplied?.(false);
    if (!this.#isRoot) this.#resubscribe();
  }

  /** Calls `then` once everything staged now has been applied. */
  #afterStaged(then: () => void): void {
    const last = this.#staged.at(-1);
    if (last === undefined) {
      then();
      return;
    }
    const previous = last.onApplied;
    last.onApplied = (ok) => {
      previous?.(ok);
      then();
    };
  }

  #afterApply(delta: Delta): void {
    const stamp = delta.stamp;
    if (stamp === undefined) return;
    if (stamp.origin === this.region && !this.#isRoot) {
      if (stamp.shipSeq > this.#ackedThrough) this.#unshipped.push(delta);
      this.#ship();
    }
    for (const row of stamp.leases) this.#leaseRecorded(row);
    this.#root?.applied(delta, this.#nowMs);
    this.#checkReleases();
    if (stamp.leases.length > 0) this.#retryParked();
    this.#pumpIncoming();
  }

  #leaseRecorded(row: LeaseRecord): void {
    this.units.ensureLeaseRoot(row.unit);
    const hint = this.#hints.get(row.unit);
    if (hint !== undefined && hint.epoch <= row.epoch) this.#hints.delete(row.unit);
    const releasing = this.#releasing.get(row.unit);
    if (releasing !== undefined && row.epoch > releasing) {
      this.#releasing.delete(row.unit);
      this.#releaseAnswered.delete(row.unit);
    }
    if (row.owner === this.region) {
      this.#effects.log("info", "lease granted", { unit: row.unit, epoch: row.epoch });
      // Ask the root at once, so the grant is confirmed one round trip later rather than at the next renewal.
      this.#renew();
    }
  }

  // -------------------------------------------------------------- applied

  #appliedOf(origin: RegionName): bigint {
    return this.tree.replication.applied.get(origin) ?? 0n;
  }

  /** Per origin, the highest shipSeq staged or applied here (own: the last allocated). */
  #receivedVector(): OriginSeq[] {
    const vector = [...this.#received].filter(([origin]) => origin !== this.region).map(([origin, shipSeq]) => ({ origin, shipSeq }));
    vector.push({ origin: this.region, shipSeq: this.#ownSeq });
    return vector;
  }

  #appliedVector(): OriginSeq[] {
    return [...this.tree.replication.applied].map(([origin, shipSeq]) => ({ origin, shipSeq }));
  }

  #whenApplied(origin: RegionName, shipSeq: bigint, deadlineMs: number, wake: (ok: boolean) => void): void {
    if (this.#appliedOf(origin) >= shipSeq) {
      wake(true);
      return;
    }
    this.#appliedWaiters.push({ origin, shipSeq, deadlineMs, wake });
  }

  #wakeAppliedWaiters(): void {
    if (this.#appliedWaiters.length > 0) {
      const waiting = this.#appliedWaiters;
      this.#appliedWaiters = [];
      for (const waiter of waiting) {
        if (this.#appliedOf(waiter.origin) >= waiter.shipSeq) waiter.wake(true);
        else this.#appliedWaiters.push(waiter);
      }
    }
    for (const [sessionId, session] of this.#sessions) {
      if (session.barrier === null && session.readyWaiters.length === 0 && session.queue.length === 0) continue;
      if (!this.#barrierPassed(session)) continue;
      for (const ready of session.readyWaiters.splice(0)) ready();
      this.#pumpSession(sessionId, session);
    }
  }

  // ------------------------------------------------------------- shipping

  /**
   * Sends own deltas after what was sent, in batches bounded by count and
   * size. A batch never spans a delta applied early (see #applyEarly): the
   * deltas before and after it depend on different things, and a batch
   * held at the root for the later ones must not hold the earlier ones.
   */
  #ship(): void {
    if (this.#isRoot || !this.#subscribed) return;
    for (;;) {
      const pending = this.#unshipped.filter((delta) => delta.stamp!.shipSeq > this.#shippedThrough);
      const first = pending[0];
      if (first === undefined) return;
      const { deps, lastShipSeq } = this.#shipDeps(first.stamp!.shipSeq);
      const batch = takeBatch(pending, this.settings.streamBatchDeltasMax, this.settings.messageBytesMax, lastShipSeq);
      if (!this.#effects.send(this.settings.rootRegion, { type: "ship", deltas: batch, deps })) return;
      this.#shippedThrough = batch.at(-1)!.stamp!.shipSeq;
    }
  }

  #acked(shipSeq: bigint): void {
    if (shipSeq <= this.#ackedThrough) return;
    this.#ackedThrough = shipSeq;
    if (this.#shippedThrough < shipSeq) this.#shippedThrough = shipSeq;
    while (this.#unshipped.length > 0 && this.#unshipped[0]!.stamp!.shipSeq <= shipSeq) {
      this.#depsOfOwn.delete(this.#unshipped.shift()!.stamp!.shipSeq);
    }
    const waiting = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const waiter of waiting) {
      // Halted, an acknowledgement may stand for a fenced delta (the root passed over it): the write's
      // fate is then unknown to this node, never a success.
      if (waiter.shipSeq <= shipSeq) waiter.wake(this.#halted === null);
      else this.#ackWaiters.push(waiter);
    }
    for (const read of this.#globalReadWaiters.splice(0)) read();
  }

  #resubscribe(): void {
    this.#subscribed = false;
    this.#effects.send(this.settings.rootRegion, { type: "subscribe", streamPos: this.#streamPosReceived });
  }

  /** Deltas of the global stream, in order: own ones are acknowledgements, others are applied. */
  #receiveStream(deltas: readonly Delta[]): void {
    // Until the root answered this life's subscription, acknowledgements of own deltas may lag (those
    // acknowledged before a restart come with `subscribed`), and the divergence check below needs them.
    // A batch dropped here leaves a gap that the next one shows, and the region subscribes again.
    if (!this.#subscribed) return;
    for (const delta of deltas) {
      const stamp = delta.stamp;
      if (stamp === undefined || stamp.streamPos <= this.#streamPosReceived) continue;
      if (stamp.streamPos !== this.#streamPosReceived + 1n) {
        this.#effects.log("warn", "gap in the global stream; subscribing again", { expected: this.#streamPosReceived + 1n, got: stamp.streamPos });
        this.#resubscribe();
        return;
      }
      this.#streamPosReceived = stamp.streamPos;
      // Own deltas come back as acknowledgements, except those of a past life this node no longer has.
      const lostHere = stamp.origin === this.region && stamp.shipSeq > this.#appliedOf(this.region) && stamp.shipSeq <= (this.#ownHistoryThrough ?? 0n);
      if (stamp.origin === this.region && !lostHere) {
        this.#acked(stamp.shipSeq);
        continue;
      }
      this.#relayed(stamp.origin, stamp.shipSeq);
      if ((this.#received.get(stamp.origin) ?? 0n) >= stamp.shipSeq) {
        // The stream's placeholder for a delta the root fenced, which this region has: it applied the real
        // one early (carried by a forward) and now holds a write nobody else has.
        if (isFencedPlaceholder(delta)) {
          this.#halt(`this region applied ${stamp.origin}'s delta #${stamp.shipSeq} early, and the root refused it`);
          return;
        }
        continue;
      }
      const taken = this.#takenWithUnsequencedWrites(delta);
      if (taken.length > 0) {
        // Applying on top of writes the rest of the world will never have would fork the tree.
        this.#halt(
          `a unit was taken from this region without its release (maestro evict, or a global unit whose lease ran out) ` +
            `while it held writes the root never sequenced: ${taken.join(", ")}`,
        );
        return;
      }
      this.#stage({ ...delta, zxid: this.#nextZxid() }, new Set(), null);
    }
    this.#ship();
  }

  #learnOwnHistory(sequenced: bigint): void {
    if (this.#ownHistoryThrough === null || sequenced > this.#ownHistoryThrough) this.#ownHistoryThrough = sequenced;
    if (sequenced <= this.#ownSeq) return;
    // The root has more of this region's deltas than this node: its data was wiped (or lost).
    this.#effects.log("warn", "the root holds writes of this region this node does not have; applying them before writing", {
      applied: this.#appliedOf(this.region), sequenced,
    });
    this.#ownSeq = sequenced;
  }

  /** Why this region stopped serving (its replica diverged), or null. */
  get halted(): string | null {
    return this.#halted;
  }

  /**
   * Units a stream delta gives away from this region without its release
   * (an operator's evict) while this region holds own deltas touching them
   * that the root has not sequenced: the root will fence those, so this
   * replica has diverged. (A cooperative move never does this: the root
   * records it only once the owner's deltas through its release are in.)
   */
  #takenWithUnsequencedWrites(delta: Delta): UnitName[] {
    if (this.#isRoot) return [];
    const own = this.#ownUnacknowledged();
    const taken: UnitName[] = [];
    for (const row of delta.stamp?.leases ?? []) {
      const before = this.unitLease(row.unit);
      if (row.owner === this.region || before.owner !== this.region || row.epoch <= before.epoch) continue;
      if (own.some((candidate) => this.units.unitsOfDelta(candidate).has(row.unit))) taken.push(row.unit);
    }
    return taken;
  }

  #holdsUnacknowledged(shipSeq: bigint): boolean {
    return this.#ownUnacknowledged().some((delta) => delta.stamp!.shipSeq === shipSeq);
  }

  #halt(what: string): void {
    if (this.#halted !== null) return;
    this.#halted = `${what}; this replica holds writes no other region has: wipe this node's data directory and start it again to rejoin`;
    this.#effects.log("warn", "replica diverged; halting", { reason: this.#halted });
    // Writes waiting for the root's confirmation will not get it from this replica.
    const waiting = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const waiter of waiting) waiter.wake(false);
    this.#effects.halt(this.#halted);
  }

  /**
   * A halted region serves nobody and applies nothing more, but it still
   * ships what it committed: the root sequences its deltas to units it
   * still owns and fences the rest, so that wiping it loses no write the
   * rest of the world could have. Only acknowledgements are read.
   */
  #receiveHalted(message: BrokerMessage): void {
    switch (message.type) {
      case "subscribed":
        this.#subscribed = true;
        this.#acked(message.shipSeq);
        break;
      case "stream":
        for (const delta of message.deltas) {
          const stamp = delta.stamp;
          if (stamp === undefined || stamp.streamPos !== this.#streamPosReceived + 1n) continue;
          // Not applied (this replica is done with), only passed: the next subscription starts after it.
          this.#streamPosReceived = stamp.streamPos;
          if (stamp.origin === this.region) this.#acked(stamp.shipSeq);
        }
        break;
      case "fenced":
        // The root passed over it: everything of ours through it is dealt with.
        this.#acked(message.shipSeq);
        break;
      default:
        return;
    }
    this.#ship();
    this.#noteDrained();
  }

  /** Halted, and every own delta is in the root's stream or fenced: the node may be wiped without losing anything. */
  get drained(): boolean {
    return this.#halted !== null && this.#unshipped.length === 0 && !this.#staged.some((entry) => entry.delta.stamp?.origin === this.region);
  }

  #drainedLogged = false;

  #noteDrained(): void {
    if (this.#drainedLogged || !this.drained) return;
    this.#drainedLogged = true;
    this.#effects.log("warn", "halted region: every write the root accepts from it is in the stream; its data may be wiped now", {});
  }

  #tickHalted(): void {
    if (this.#isRoot) return;
    if (this.#nowMs - this.#lastRenewMs >= this.settings.renewIntervalMs && !this.drained) {
      // Subscribing again each interval: its answer says how far the root has this region's deltas
      // (placeholders for fenced ones included), whatever message was lost; unacknowledged ships go again.
      this.#lastRenewMs = this.#nowMs;
      this.#shippedThrough = this.#ackedThrough;
      if (this.#subscribed) this.#ship();
      this.#effects.send(this.settings.rootRegion, { type: "subscribe", streamPos: this.#streamPosReceived });
    }
    this.#noteDrained();
  }

  // ------------------------------------------------------------ messages

  receive(from: RegionName, message: BrokerMessage, nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#halted !== null) {
      if (from === this.settings.rootRegion) this.#receiveHalted(message);
      return;
    }
    if (!this.settings.regions.includes(from) || from === this.region) {
      this.#effects.log("warn", "message from an unknown region dropped", { from });
      return;
    }
    switch (message.type) {
      case "stream":
        if (from === this.settings.rootRegion) this.#receiveStream(message.deltas);
        return;
      case "subscribed":
        if (from !== this.settings.rootRegion) return;
        this.#subscribed = true;
        this.#learnOwnHistory(message.shipSeq);
        this.#shippedThrough = message.shipSeq > this.#ackedThrough ? message.shipSeq : this.#ackedThrough;
        this.#acked(message.shipSeq);
        if (this.#shippedThrough < this.#ackedThrough) this.#shippedThrough = this.#ackedThrough;
        this.#ship();
        return;
      case "streamGap":
        this.#effects.log("error", "the root no longer keeps the stream this region needs; a state transfer is required", {
          applied: this.#streamPosReceived, oldest: message.oldestStreamPos,
        });
        return;
      case "renewed":
        this.#renewed(message.round, message.termMs, message.stale);
        this.#catchUp(message.streamPos);
        return;
      case "revoke":
        this.#revoke(message.unit, message.epoch);
        return;
      case "fenced":
        // Only a node that still holds the delta unacknowledged has diverged (a wiped one never had it).
        if (from === this.settings.rootRegion && this.#holdsUnacknowledged(message.shipSeq)) {
          this.#halt(`the root refused this region's delta #${message.shipSeq} to ${message.units.join(", ")} (taken from it without its release)`);
        }
        return;
      case "forward":
        this.#receiveForward(from, message);
        return;
      case "forwardReply":
        this.#forwardReplied(message.requestId, message.outcome);
        return;
      case "sync":
        // Only the unit's active owner answers ok: one that is releasing it may already have been
        // superseded, and the asker then looks for the new owner.
        this.#afterStaged(() => {
          const owns = this.#ownsActive(message.unit);
          this.#effects.send(from, { type: "syncReply", requestId: message.requestId, origin: this.region, shipSeq: this.#ownSeq, ok: owns });
        });
        return;
      case "syncReply":
        if (this.#startupPositionAnswered(message.requestId, message.origin, message.shipSeq)) return;
        this.#syncReplied(message.requestId, message.origin, message.shipSeq, message.ok);
        return;
      case "subscribe":
      case "ship":
      case "renew":
      case "released":
      case "relay":
        if (this.#root === null) this.#effects.log("warn", "root message sent to a region broker", { from, type: message.type });
        else this.#root.receive(from, message, nowMs);
        return;
    }
  }

  linkChanged(region: RegionName, up: boolean, nowMs: number): void {
    this.#nowMs = nowMs;
    if (!up) {
      if (!this.#linkDownSince.has(region)) this.#linkDownSince.set(region, nowMs);
      if (region === this.settings.rootRegion) this.#subscribed = false;
      for (const [requestId, forward] of this.#forwards) {
        if (forward.region !== region) continue;
        this.#forwards.delete(requestId);
        forward.op.done({ kind: "connectionLoss", reason: `lost the link to ${region}` });
      }
      for (const [requestId, sync] of this.#syncs) {
        if (sync.region !== region) continue;
        this.#syncs.delete(requestId);
        sync.done(false);
      }
      this.#root?.linkDown(region);
      return;
    }
    this.#linkDownSince.delete(region);
    this.#askStartupPositions();
    if (region === this.settings.rootRegion && !this.#isRoot) {
      this.#resubscribe();
      this.#renew();
    }
  }

  // ------------------------------------------------------------ forwarding

  #forward(op: WriteOp, region: RegionName, session: SessionState | null): void {
    const requestId = this.#nextRequestId++;
    const owners = this.#owners(op.request);
    const leases: UnitEpoch[] = [...owners.keys()].filter((u) => !u.endsWith("/*")).map((unit) => ({ unit, epoch: this.lease(unit).epoch }));
    const carried = this.#carriedFor(region);
    const sent = this.#effects.send(region, {
      type: "forward", requestId, sessionId: op.sessionId, request: op.request, authIds: op.authIds, leases, deps: this.#forwardDeps(session),
      carried, carriedDeps: this.#carriedDeps(carried),
    });
    if (!sent) {
      op.done({ kind: "connectionLoss", reason: `no link to ${region}` });
      return;
    }
    session?.forwardedTo.add(region);
    this.#forwards.set(requestId, { region, op, deadlineMs: op.deadlineMs, attempts: 1 });
  }

  #forwardReplied(requestId: number, outcome: ForwardOutcome): void {
    const forward = this.#forwards.get(requestId);
    if (forward === undefined) return; // timed out already
    this.#forwards.delete(requestId);
    const op = forward.op;
    const session = this.#sessions.get(op.sessionId);
    if (outcome.kind === "committed" || outcome.kind === "failed") this.#lastForwardShipSeq = outcome.shipSeq;
    if (outcome.kind === "committed") this.#notePeerHas(forward.region, outcome.deps);
    switch (outcome.kind) {
      case "committed":
        if (session !== undefined) session.barrier = { origin: outcome.origin, shipSeq: outcome.shipSeq };
        if (session !== undefined) this.#observe(session, [[outcome.origin, outcome.shipSeq]]);
        this.#applyEarly(outcome);
        op.done({ kind: "ok", result: outcome.result });
        return;
      case "failed":
        if (session !== undefined && outcome.shipSeq > 0n) session.barrier = { origin: outcome.origin, shipSeq: outcome.shipSeq };
        if (session !== undefined) this.#observe(session, [[outcome.origin, outcome.shipSeq]]);
        op.done({ kind: "failed", err: outcome.err, ...(outcome.multiResults === undefined ? {} : { multiResults: outcome.multiResults }) });
        return;
      case "notOwner":
        outcome.leases.forEach((lease, index) => {
          const owner = outcome.owners[index];
          if (owner !== undefined && lease.epoch > this.lease(lease.unit).epoch) this.#hints.set(lease.unit, { unit: lease.unit, owner, epoch: lease.epoch });
        });
        if (forward.attempts >= forwardAttemptsMax) {
          op.done({ kind: "connectionLoss", reason: "ownership kept changing" });
          return;
        }
        // Wait for the stream to tell us more, then route again.
        this.#parked.push(op);
        return;
      case "unavailable":
        op.done({ kind: "connectionLoss", reason: outcome.reason });
        return;
    }
  }

  /** A write forwarded by `from`: wait for its deps in arrival order, then commit it if we own it. */
  #receiveForward(from: RegionName, message: Extract<BrokerMessage, { type: "forward" }>): void {
    const key = `${from}\u0000${message.requestId}`;
    if (this.#recentForwards.has(key)) return;
    this.#recentForwards.add(key);
    this.#recentForwardOrder.push(key);
    if (this.#recentForwardOrder.length > this.settings.forwardsInFlightMax * 4) this.#recentForwards.delete(this.#recentForwardOrder.shift()!);
    const reply = (outcome: ForwardOutcome): void => {
      this.#effects.send(from, { type: "forwardReply", requestId: message.requestId, outcome });
    };
    const op: WriteOp = {
      sessionId: message.sessionId, request: message.request, authIds: message.authIds, origin: from, deps: message.deps,
      forwarded: true, deadlineMs: this.#nowMs + this.settings.forwardTimeoutMs,
      done: (answer) => reply(this.#forwardOutcome(answer, message.request)),
    };
    let queue = this.#incoming.get(from);
    if (queue === undefined) this.#incoming.set(from, (queue = []));
    if (queue.length >= this.settings.forwardsInFlightMax) {
      reply({ kind: "unavailable", reason: "too many forwarded writes waiting" });
      return;
    }
    if (message.carried.length > 0) this.#takeCarried(from, message);
    queue.push(op);
    this.#pumpIncoming();
  }

  /**
   * The forwarder's own latest deltas this region lacks, oldest first, when
   * they are still at hand (not yet confirmed by the root) and few: the
   * owner applies them at once instead of waiting for them through the
   * root's stream (the forward depends on them). None when this region does
   * not know what the owner has, or the gap is too long.
   */
  #carriedFor(region: RegionName): Delta[] {
    const has = this.#peerHas.get(region);
    if (has === undefined || this.#isRoot) return [];
    const wanted = this.#unshipped.filter((delta) => delta.stamp!.shipSeq > has);
    const first = wanted[0];
    if (first === undefined || first.stamp!.shipSeq !== has + 1n || wanted.length > carriedDeltasMax) return [];
    // A `global` unit's delta is nobody's to apply before the root has it: the root may yet refuse it.
    if (wanted.some((delta) => [...this.units.unitsOfDelta(delta)].some((unit) => this.units.unitRule(unit).durability === "global"))) return [];
    const batch = takeBatch(wanted, carriedDeltasMax, this.settings.messageBytesMax / 2);
    return batch.length === wanted.length ? batch : [];
  }

  /** What an owner must have applied before a forwarded write: the session's causal past when known. */
  #forwardDeps(session: SessionState | null): OriginSeq[] {
    if (session === null || session.observed === null) return this.#appliedVector();
    return toOriginSeqs(session.observed);
  }

  /**
   * What carried deltas rest on: what this region had of others when it
   * prepared each (kept until the root confirms the delta), or, for one
   * restored after a restart, everything applied here.
   */
  #carriedDeps(carried: readonly Delta[]): OriginSeq[] {
    const needed = new Map<RegionName, bigint>();
    for (const delta of carried) {
      const deps = this.#depsOfOwn.get(delta.stamp!.shipSeq) ?? this.#appliedVector();
      for (const dep of deps) {
        if (dep.origin !== this.region && (needed.get(dep.origin) ?? 0n) < dep.shipSeq) needed.set(dep.origin, dep.shipSeq);
      }
    }
    return toOriginSeqs(needed);
  }

  /** The owner's answer says which of our deltas it had: what to carry next time. */
  #notePeerHas(region: RegionName, deps: readonly OriginSeq[]): void {
    const mine = deps.find((dep) => dep.origin === this.region);
    if (mine !== undefined && (this.#peerHas.get(region) ?? -1n) < mine.shipSeq) this.#peerHas.set(region, mine.shipSeq);
  }

  /**
   * Deltas a forwarder carried (its own, in its order). At the root they are
   * sequenced as if shipped. Elsewhere they are applied now when they follow
   * on from what this region has of the forwarder and everything else they
   * may depend on is here (otherwise the stream brings them); later own
   * deltas then name them as a dependency when shipped, as for #applyEarly.
   */
  #takeCarried(from: RegionName, message: Extract<BrokerMessage, { type: "forward" }>): void {
    const carried = message.carried.filter((delta) => delta.stamp?.origin === from && delta.stamp.shipSeq > this.receivedFrom(from));
    const first = carried[0];
    if (first === undefined) return;
    if (this.#root !== null) {
      this.#root.receive(from, { type: "ship", deltas: carried, deps: message.carriedDeps }, this.#nowMs);
      return;
    }
    if (first.stamp!.shipSeq !== this.receivedFrom(from) + 1n) return;
    if (!message.carriedDeps.every((dep) => dep.origin === this.region || this.receivedFrom(dep.origin) >= dep.shipSeq)) return;
    for (const delta of carried) {
      this.#keepForRelay(delta, message.carriedDeps);
      this.#stage({ ...delta, zxid: this.#nextZxid(), stamp: { ...delta.stamp!, streamPos: 0n } }, new Set(), null);
    }
    this.#earlyApplied.push({ origin: from, shipSeq: carried.at(-1)!.stamp!.shipSeq, ownSeqBefore: this.#ownSeq });
  }

  #forwardOutcome(answer: OpAnswer, request: WriteRequest): ForwardOutcome {
    switch (answer.kind) {
      case "ok": {
        const delta = answer.committed?.delta ?? null;
        const shipSeq = delta?.stamp?.shipSeq ?? this.#appliedOf(this.region);
        return { kind: "committed", result: answer.result, origin: this.region, shipSeq, delta, deps: answer.committed?.deps ?? [] };
      }
      case "failed":
        return { kind: "failed", err: answer.err, ...(answer.multiResults === undefined ? {} : { multiResults: answer.multiResults }), origin: this.region, shipSeq: this.#ownSeq };
      case "notOwner": {
        const units = [...this.#owners(request).keys()].filter((u) => !u.endsWith("/*"));
        return { kind: "notOwner", leases: units.map((unit) => ({ unit, epoch: this.lease(unit).epoch })), owners: units.map((unit) => this.lease(unit).owner) };
      }
      case "connectionLoss":
        return { kind: "unavailable", reason: answer.reason };
    }
  }

  /** shipSeq named by the forward reply being handled (its callbacks read it). */
  #lastForwardShipSeq = 0n;

  /**
   * The owner's answer carries its delta: when this region already has
   * everything the owner had when it prepared it (its earlier deltas
   * included), the delta is applied now rather than when the stream brings
   * it, so the session's next operation waits for a local fsync, not for a
   * trip through the root. Own deltas committed after it name it as a
   * dependency when shipped (so the root never orders them before it), and
   * the root's region, which orders its own deltas into the stream at
   * once, never applies early.
   */
  #applyEarly(outcome: Extract<ForwardOutcome, { kind: "committed" }>): void {
    const delta = outcome.delta;
    const stamp = delta?.stamp;
    if (this.#isRoot || delta === null || stamp === undefined || stamp.origin !== outcome.origin) return;
    if (this.receivedFrom(stamp.origin) !== stamp.shipSeq - 1n) return;
    const ready = outcome.deps.every((dep) => dep.origin === stamp.origin || (dep.origin === this.region ? this.#ownSeq : this.receivedFrom(dep.origin)) >= dep.shipSeq);
    if (!ready) return;
    this.#earlyApplied.push({ origin: stamp.origin, shipSeq: stamp.shipSeq, ownSeqBefore: this.#ownSeq });
    this.#keepForRelay(delta, outcome.deps);
    // Its stream position is not known yet (the cursor must only hold positions actually received).
    this.#stage({ ...delta, zxid: this.#nextZxid(), stamp: { ...stamp, streamPos: 0n } }, new Set(), null);
  }

  /**
   * An early-applied delta of another region is kept until the stream
   * brings it back, and sent to the root with each renewal meanwhile: own
   * deltas shipped after it depend on it, and if its origin cannot reach
   * the root (cut off right after answering us), the root would hold them
   * until it can. Bounded: beyond the limit, the oldest are not relayed.
   */
  #keepForRelay(delta: Delta, deps: readonly OriginSeq[]): void {
    const origin = delta.stamp!.origin;
    let kept = this.#relay.get(origin);
    if (kept === undefined) this.#relay.set(origin, (kept = []));
    kept.push({ delta, deps: deps.filter((dep) => dep.origin !== origin) });
    if (kept.length > relayDeltasMax) kept.shift();
  }

  /** The stream brought origin's deltas through shipSeq: nothing of it needs relaying any more. */
  #relayed(origin: RegionName, shipSeq: bigint): void {
    const kept = this.#relay.get(origin);
    if (kept === undefined) return;
    while (kept.length > 0 && kept[0]!.delta.stamp!.shipSeq <= shipSeq) kept.shift();
    if (kept.length === 0) this.#relay.delete(origin);
  }

  #sendRelays(): void {
    for (const [origin, kept] of this.#relay) {
      const deps = new Map<RegionName, bigint>();
      for (const entry of kept) for (const dep of entry.deps) if ((deps.get(dep.origin) ?? 0n) < dep.shipSeq) deps.set(dep.origin, dep.shipSeq);
      const deltas = takeBatch(kept.map((entry) => entry.delta), this.settings.streamBatchDeltasMax, this.settings.messageBytesMax / 2);
      this.#effects.send(this.settings.rootRegion, { type: "relay", origin, deltas, deps: toOriginSeqs(deps) });
    }
  }

  /**
   * Other regions' deltas applied here early that own deltas through
   * `lastShipSeq` may depend on: the root sequences them first. Entries the
   * root must have sequenced already (own deltas after them are confirmed) are dropped.
   */
  #shipDeps(firstShipSeq: bigint): { deps: OriginSeq[]; lastShipSeq: bigint | null } {
    this.#earlyApplied = this.#earlyApplied.filter((early) => early.ownSeqBefore >= this.#ackedThrough);
    const deps = new Map<RegionName, bigint>();
    for (const early of this.#earlyApplied) {
      // The first early delta own deltas from firstShipSeq on do not follow ends the batch.
      if (early.ownSeqBefore >= firstShipSeq) return { deps: toOriginSeqs(deps), lastShipSeq: early.ownSeqBefore };
      if ((deps.get(early.origin) ?? 0n) < early.shipSeq) deps.set(early.origin, early.shipSeq);
    }
    return { deps: toOriginSeqs(deps), lastShipSeq: null };
  }

  #depsApplied(deps: readonly OriginSeq[]): boolean {
    return deps.every((dep) => dep.origin === this.region || this.#appliedOf(dep.origin) >= dep.shipSeq);
  }

  #pumpIncoming(): void {
    for (const queue of this.#incoming.values()) {
      while (queue.length > 0) {
        const op = queue[0]!;
        if (!this.#depsApplied(op.deps)) {
          if (this.#nowMs < op.deadlineMs) break;
          queue.shift();
          op.done({ kind: "connectionLoss", reason: "dependencies did not arrive in time" });
          continue;
        }
        queue.shift();
        const destination = this.#route(op.request);
        if (destination.kind === "forward") op.done({ kind: "notOwner" });
        else this.#routeRemote(op, destination, null);
      }
    }
  }

  // -------------------------------------------------------------- sync

  #syncReplied(requestId: number, origin: RegionName, shipSeq: bigint, ok: boolean): void {
    const sync = this.#syncs.get(requestId);
    if (sync === undefined) return;
    this.#syncs.delete(requestId);
    if (!ok) {
      // Not (or no longer) the owner: ask again, as the lease settles, whoever owns it then.
      if (this.#nowMs >= sync.deadlineMs) sync.done(false);
      else this.#retryLater(() => this.#syncUnit(sync.unit, this.#nowMs, sync.done, sync.deadlineMs), 10);
      return;
    }
    this.#whenApplied(origin, shipSeq, sync.deadlineMs, sync.done);
  }

  // ------------------------------------------------------------- leases

  #revoke(unit: UnitName, epoch: number): void {
    const lease = this.lease(unit);
    if (lease.owner !== this.region || lease.epoch !== epoch) {
      this.#effects.log("info", "ignoring revoke of a lease this region does not hold at that epoch", { unit, epoch, held: lease.epoch });
      return;
    }
    this.#releasing.set(unit, epoch);
    this.#releaseAnswered.delete(unit);
    this.#checkReleases();
  }

  /** Called by the root role for units of its own region. */
  releaseLocally(unit: UnitName, epoch: number): void {
    this.#releasing.set(unit, epoch);
    this.#releaseAnswered.delete(unit);
    this.#checkReleases();
  }

  /** Releasing units with nothing of theirs in flight answer `released`. */
  #checkReleases(): void {
    for (const [unit, epoch] of this.#releasing) {
      if (this.#releaseAnswered.has(unit) || this.#staged.some((s) => s.units.has(unit))) continue;
      this.#releaseAnswered.add(unit);
      if (this.#root !== null) this.#root.released(this.region, unit, epoch, this.#ownSeq);
      else this.#effects.send(this.settings.rootRegion, { type: "released", unit, epoch, shipSeq: this.#ownSeq });
    }
  }

  /** Every unit this region can name: configured exact lease roots, recorded ones, and existing children of patterns. */
  #knownUnits(): Set<UnitName> {
    const units = new Set<UnitName>(["/"]);
    for (const rule of this.settings.leaseRoots) if (!rule.pattern.endsWith("/*")) units.add(rule.pattern);
    for (const unit of this.tree.replication.leases.keys()) units.add(unit);
    for (const rule of this.settings.leaseRoots) {
      if (!rule.pattern.endsWith("/*")) continue;
      const parent = rule.pattern.slice(0, -2) || "/";
      for (const child of this.tree.childrenOf(parent) ?? []) units.add(`${parent === "/" ? "" : parent}/${child}`);
    }
    return units;
  }

  /** Leases this region holds as far as it knows, implicit ones (epoch 0 at their home) included. */
  #heldLeases(): UnitEpoch[] {
    const held: UnitEpoch[] = [];
    for (const unit of this.#knownUnits()) {
      const lease = this.lease(unit);
      if (lease.owner === this.region) held.push({ unit, epoch: lease.epoch });
    }
    return held;
  }

  #renew(): void {
    if (this.#isRoot) return;
    this.#renewRound += 1;
    const counts = [...this.#countsSinceRenew.values()];
    const held = this.#heldLeases();
    const sent = this.#effects.send(this.settings.rootRegion, { type: "renew", round: this.#renewRound, leases: held, counts });
    this.#lastRenewMs = this.#nowMs;
    if (!sent) return;
    this.#sendRelays();
    this.#countsSinceRenew.clear();
    this.#renewals.set(this.#renewRound, { sentMs: this.#nowMs, held });
    for (const round of this.#renewals.keys()) if (round < this.#renewRound - 16) this.#renewals.delete(round);
  }

  #renewed(round: number, termMs: number, stale: readonly UnitEpoch[]): void {
    const renewal = this.#renewals.get(round);
    if (renewal === undefined) return;
    this.#renewals.delete(round);
    // The lease runs from when the renewal was sent, shortened by the drift bound (design section 5).
    const until = renewal.sentMs + termMs * (1 - this.settings.clockDriftMax);
    if (until > this.#leaseValidUntilMs) this.#leaseValidUntilMs = until;
    const staleUnits = new Set(stale.map((lease) => lease.unit));
    for (const unit of staleUnits) this.#confirmedEpochs.delete(unit);
    let gained = false;
    for (const held of renewal.held) {
      if (staleUnits.has(held.unit) || this.#confirmedEpochs.get(held.unit) === held.epoch) continue;
      this.#confirmedEpochs.set(held.unit, held.epoch);
      gained = true;
    }
    if (gained) this.#retryParked();
    if (stale.length > 0) this.#effects.log("info", "the root says these leases are no longer ours", { stale: stale.map((s) => s.unit) });
  }

  /**
   * The root's stream has reached `streamPos`. A region behind it that has
   * heard nothing since the last renewal lost a stream message (or the root
   * forgot its subscription): it subscribes again from where it is.
   */
  #catchUp(rootStreamPos: bigint): void {
    const stalled = this.#streamPosReceived === this.#streamPosAtLastRenewal;
    this.#streamPosAtLastRenewal = this.#streamPosReceived;
    if (rootStreamPos > this.#streamPosReceived && stalled) this.#resubscribe();
    // Likewise own deltas the root has not confirmed since the last renewal are sent again (the root drops duplicates).
    if (this.#unshipped.length > 0 && this.#ackedThrough === this.#ackedAtLastRenewal) this.#shippedThrough = this.#ackedThrough;
    this.#ackedAtLastRenewal = this.#ackedThrough;
    this.#ship();
  }

  #streamPosAtLastRenewal = -1n;
  #ackedAtLastRenewal = -1n;

  /** Write counts the root collects with renewals (and the root's own). */
  takeCountsForRoot(): WriteCount[] {
    const counts = [...this.#countsSinceRenew.values()];
    this.#countsSinceRenew.clear();
    return counts;
  }

  // ------------------------------------------------------------- sessions

  /**
   * After a start, sessions that existed before it may have had writes
   * forwarded to other regions that this process never learnt of, so their
   * reads and writes wait until this region has applied everything each
   * other region had committed when first asked (a sync with each). Sessions
   * created since start are tracked exactly and do not wait.
   */
  #startupCaughtUp(): boolean {
    if (this.#startupDone) return true;
    if (this.#startupPending.size > 0) return false;
    for (const [origin, shipSeq] of this.#startupBarrier) if (this.#appliedOf(origin) < shipSeq) return false;
    this.#startupDone = true;
    return true;
  }

  #askStartupPositions(): void {
    for (const region of this.#startupPending) {
      if ([...this.#startupSyncs.values()].includes(region)) continue;
      const requestId = this.#nextRequestId++;
      if (this.#effects.send(region, { type: "sync", requestId, unit: "/" })) this.#startupSyncs.set(requestId, region);
    }
  }

  #startupPositionAnswered(requestId: number, origin: RegionName, shipSeq: bigint): boolean {
    const region = this.#startupSyncs.get(requestId);
    if (region === undefined) return false;
    this.#startupSyncs.delete(requestId);
    if (region === origin && this.#startupPending.delete(region)) this.#startupBarrier.set(region, shipSeq);
    this.#wakeAppliedWaiters();
    return true;
  }

  #unreachableOwnersOf(sessionId: bigint): RegionName[] {
    const regions = new Set<RegionName>();
    for (const path of this.tree.ephemeralsOf(sessionId)) {
      const owner = this.lease(this.units.unitOfNode(path)).owner;
      if (owner === this.region) continue;
      const downSince = this.#linkDownSince.get(owner);
      if (downSince !== undefined && this.#nowMs - downSince >= this.settings.ownerUnreachableMs) regions.add(owner);
    }
    return [...regions];
  }

  /**
   * Close or expiry of one of this region's sessions. New writes of the
   * session are refused and its outstanding ones finish first. Then every
   * region the session forwarded writes to, and every owner of a unit
   * holding one of its ephemerals, deletes the session's ephemerals in the
   * units it owns (a deleteEphemerals write with no paths: the owner lists
   * them itself, so an ephemeral whose create was still in flight, behind on
   * the same link, is deleted too). Once those deletions are applied here,
   * the session closes here, deleting the ephemerals this region owns in the
   * same delta. Rounds repeat (after a pause) until nothing is left elsewhere.
   */
  #closeSession(sessionId: bigint, done: (answer: WriteAnswer) => void): void {
    this.#closing.add(sessionId);
    const session = this.#session(sessionId);
    // A session older than this process may have forwarded writes this process never saw: ask every region.
    if (!this.#bornHere.has(sessionId)) for (const region of this.settings.regions) session.forwardedTo.add(region);
    for (const queued of session.queue.splice(0)) queued.done({ kind: "failed", err: ErrorCode.sessionExpired });
    // Owners' deletions answered but not yet applied here: nothing is decided before they are.
    const barriers: OriginSeq[] = [];
    const attempt = (): void => {
      if (session.localOutstanding > 0 || session.remoteOutstanding) {
        this.#retryLater(attempt, 10);
        return;
      }
      const unapplied = barriers.filter((barrier) => this.#appliedOf(barrier.origin) < barrier.shipSeq);
      if (unapplied.length > 0) {
        this.#afterApplied(unapplied, (applied) => (applied ? attempt() : this.#retryLater(attempt)));
        return;
      }
      const targets = new Set(session.forwardedTo);
      for (const path of this.#pending.view.ephemeralsOf(sessionId)) {
        const destination = this.#route({ op: "deleteEphemerals", sessionId, paths: [path] });
        if (destination.kind === "forward") targets.add(destination.region);
        else if (destination.kind !== "local") targets.add(this.settings.rootRegion);
      }
      targets.delete(this.region);
      this.#effects.log("debug", "closing session", { session: sessionId.toString(16), targets: [...targets] });
      if (targets.size === 0) {
        this.#commitClose(sessionId, done, attempt);
        return;
      }
      let outstanding = targets.size;
      let failed = false;
      for (const region of targets) {
        const op: WriteOp = {
          sessionId, request: { op: "deleteEphemerals", sessionId, paths: [] }, authIds: [], origin: this.region, deps: [],
          forwarded: false, deadlineMs: this.#nowMs + this.settings.forwardTimeoutMs,
          done: (answer) => {
            if (answer.kind === "ok") {
              session.forwardedTo.delete(region);
              barriers.push({ origin: region, shipSeq: this.#lastForwardShipSeq });
            } else failed = true;
            if (--outstanding > 0) return;
            // The owners' deletions must be applied here before the close (attempt waits for them), or
            // the close would reach other regions ahead of ephemerals it is meant to outlive.
            if (failed) this.#retryLater(attempt);
            else attempt();
          },
        };
        this.#forward(op, region, null);
      }
    };
    attempt();
  }

  /** Calls `then(true)` once every origin/shipSeq given is applied here, `then(false)` if a wait timed out. */
  #afterApplied(positions: readonly OriginSeq[], then: (applied: boolean) => void): void {
    let waiting = positions.length;
    let applied = true;
    if (waiting === 0) {
      then(true);
      return;
    }
    for (const position of positions) {
      this.#whenApplied(position.origin, position.shipSeq, this.#nowMs + this.settings.forwardTimeoutMs, (ok) => {
        applied &&= ok;
        if (--waiting === 0) then(applied);
      });
    }
  }

  /** The session's ephemerals (staged ones included) in units this region may write now. */
  #ownedEphemerals(sessionId: bigint): string[] {
    return this.#pending.view.ephemeralsOf(sessionId).filter((path) =>
      this.#ownsActive(this.units.unitOfNode(path)) && (!this.units.isLeaseRoot(path) || this.#ownsActive(path)));
  }

  #commitClose(sessionId: bigint, done: (answer: WriteAnswer) => void, retry: () => void): void {
    const op: WriteOp = {
      sessionId, request: { op: "closeSession", sessionId }, authIds: [], origin: this.region, deps: [], forwarded: false,
      deadlineMs: this.#nowMs + this.settings.forwardTimeoutMs,
      done: (answer) => {
        if (answer.kind === "connectionLoss" || answer.kind === "notOwner") {
          this.#retryLater(retry);
          return;
        }
        this.#closing.delete(sessionId);
        this.#bornHere.delete(sessionId);
        this.#sessions.delete(sessionId);
        done(answer);
      },
    };
    // A close that would touch units we do not own (an ephemeral created meanwhile elsewhere) goes round again.
    if (!this.commitLocal(op)) {
      this.#parked = this.#parked.filter((parked) => parked !== op);
      this.#retryLater(retry);
    }
  }

  #retryQueue: Array<{ atMs: number; run: () => void }> = [];

  #retryLater(run: () => void, afterMs = this.settings.renewIntervalMs): void {
    this.#retryQueue.push({ atMs: this.#nowMs + afterMs, run });
  }

  // ---------------------------------------------------------------- tick

  tick(nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#halted !== null) {
      this.#tickHalted();
      return;
    }
    if (!this.#startupDone && nowMs - this.#startupAskedMs >= this.settings.renewIntervalMs) {
      // Answers lost on the way are asked for again.
      this.#startupAskedMs = nowMs;
      this.#startupSyncs.clear();
      this.#askStartupPositions();
    }
    if (!this.#isRoot && nowMs - this.#lastRenewMs >= this.settings.renewIntervalMs) {
      this.#renew();
      // A subscription lost with its answer is asked for again at the renewal pace.
      if (!this.#subscribed) this.#resubscribe();
    }
    this.#expireForwards();
    this.#retryParked();
    this.#pumpIncoming();
    const due = this.#retryQueue.filter((r) => r.atMs <= nowMs);
    this.#retryQueue = this.#retryQueue.filter((r) => r.atMs > nowMs);
    for (const retry of due) retry.run();
    this.#disconnectUnreachable();
    this.#root?.tick(nowMs);
    this.#ship();
  }

  #expireForwards(): void {
    for (const [requestId, forward] of this.#forwards) {
      if (this.#nowMs < forward.deadlineMs) continue;
      this.#forwards.delete(requestId);
      forward.op.done({ kind: "connectionLoss", reason: `no answer from ${forward.region}` });
    }
    for (const [requestId, sync] of this.#syncs) {
      if (this.#nowMs < sync.deadlineMs) continue;
      this.#syncs.delete(requestId);
      sync.done(false);
    }
    const waiting = this.#appliedWaiters;
    this.#appliedWaiters = [];
    for (const waiter of waiting) {
      if (this.#nowMs >= waiter.deadlineMs) waiter.wake(false);
      else this.#appliedWaiters.push(waiter);
    }
  }

  #disconnectUnreachable(): void {
    const prefix = BigInt(this.settings.regions.indexOf(this.region) + 1);
    for (const [sessionId] of this.tree.ephemeralsBySession()) {
      if (BigInt.asUintN(64, sessionId) >> 56n !== prefix || this.#closing.has(sessionId)) continue;
      if (this.#unreachableOwnersOf(sessionId).length > 0) this.#effects.disconnectSession(sessionId);
    }
  }

  // -------------------------------------------------------------- status

  leaseStatus(nodeId: string): LeaseStatusReport {
    const units = this.#knownUnits();
    const counts = this.#root?.writeCounts ?? this.#writeCounts;
    return {
      region: this.region,
      node: nodeId,
      root: this.#isRoot,
      units: [...units].sort().map((unit) => {
        const lease = this.lease(unit);
        const state = this.#unitState(unit, lease.owner);
        return {
          unit,
          owner: lease.owner,
          epoch: lease.epoch,
          durability: this.units.unitRule(unit).durability,
          state,
          writesByOrigin: Object.fromEntries(counts.get(unit) ?? new Map<RegionName, number>()),
        };
      }),
    };
  }

  #unitState(unit: UnitName, owner: RegionName): LeaseUnitState {
    if (owner !== this.region) return "remote";
    if (this.#releasing.has(unit) || this.#root?.isMoving(unit) === true) return "releasing";
    return this.#ownsActive(unit) ? "owned" : "lapsed";
  }

  // ------------------------------------------------- inspection, operators

  /** Whether this region may commit to the unit right now (the simulator checks one such region per unit). */
  ownsActiveUnit(unit: UnitName): boolean {
    return this.#ownsActive(unit);
  }

  /** Progress counters: the simulator waits for every region to be idle and caught up. */
  progress(): { staged: number; unshipped: number; streamPos: bigint; subscribed: boolean; parked: number; forwards: number } {
    return {
      staged: this.#staged.length,
      unshipped: this.#unshipped.length,
      streamPos: this.#isRoot ? this.tree.replication.streamPos : this.#streamPosReceived,
      subscribed: this.#isRoot || this.#subscribed,
      parked: this.#parked.length,
      forwards: this.#forwards.size,
    };
  }

  /** Shipping state, for diagnostics. */
  describeShipping(): string {
    const early = this.#earlyApplied.map((e) => `${e.origin}#${e.shipSeq}@${e.ownSeqBefore}`).join(",");
    const first = this.#unshipped[0]?.stamp?.shipSeq ?? "-";
    return `own ${this.#ownSeq} shipped ${this.#shippedThrough} acked ${this.#ackedThrough} firstUnshipped ${first} early [${early}] received ${JSON.stringify(toOriginSeqs(this.#received), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))} ${this.#root?.describeHeld() ?? ""}`;
  }

  /** A unit's lease as this region sees it, for diagnostics. */
  describeLease(unit: UnitName): string {
    const lease = this.lease(unit);
    return `${unit} owner ${lease.owner}@${lease.epoch} releasing ${this.#releasing.get(unit) ?? "-"} moving ${this.#root?.isMoving(unit) ?? "-"} validUntil ${this.#leaseValidUntilMs} now ${this.#nowMs}`;
  }

  /** A session's broker-side state, for diagnostics. */
  describeSession(sessionId: bigint): string {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return "none";
    const barrier = session.barrier === null ? "-" : `${session.barrier.origin}#${session.barrier.shipSeq}(applied ${this.#appliedOf(session.barrier.origin)})`;
    return `queue ${session.queue.length} local ${session.localOutstanding} remote ${session.remoteOutstanding} barrier ${barrier} readers ${session.readyWaiters.length} closing ${this.#closing.has(sessionId)}`;
  }

  /** Operator (root only): move a unit to a region, as a policy would. */
  /**
   * `maestro move UNIT REGION` at the root: checks the request, then starts
   * a cooperative move (which readmits an evicted region). The caller
   * watches unitLease() to see it finish.
   */
  operatorMove(unit: UnitName, to: RegionName, nowMs: number): { ok: boolean; message: string } {
    this.#nowMs = nowMs;
    if (this.#root === null) return { ok: false, message: `region ${this.region} does not carry the root role` };
    if (!this.settings.regions.includes(to)) return { ok: false, message: `${to} is not a region (${this.settings.regions.join(", ")})` };
    if (unit === rootUnit || !this.units.isLeaseRoot(unit)) return { ok: false, message: `${unit} is not a lease unit (see maestro leases)` };
    this.#root.readmit(to);
    const current = this.unitLease(unit);
    if (current.owner === to && !current.moving) return { ok: true, message: `${unit} is already held by ${to} (epoch ${current.epoch})` };
    this.#root.move(unit, to, "operator", nowMs);
    return { ok: true, message: `moving ${unit} from ${current.owner} to ${to}` };
  }

  /** Adaptive splitting at the root (RootRole.split), for policies and tests: false when refused. */
  splitUnit(unit: UnitName, child: string, to: RegionName, nowMs: number): boolean {
    this.#nowMs = nowMs;
    if (this.#root === null || !this.settings.regions.includes(to)) return false;
    return this.#root.split(unit, child, to, nowMs);
  }

  /** `maestro evict REGION` at the root (RootRole.evict): the units taken now. */
  operatorEvict(region: RegionName, nowMs: number): { ok: boolean; message: string; units: UnitName[] } {
    this.#nowMs = nowMs;
    if (this.#root === null) return { ok: false, message: `region ${this.region} does not carry the root role`, units: [] };
    if (!this.settings.regions.includes(region)) return { ok: false, message: `${region} is not a region (${this.settings.regions.join(", ")})`, units: [] };
    if (region === this.settings.rootRegion) return { ok: false, message: `${region} carries the root role and cannot be evicted`, units: [] };
    const units = this.#root.evict(region, nowMs);
    return { ok: true, message: `evicted ${region}: ${units.length} unit(s) taken to ${this.settings.rootRegion}`, units };
  }

  /** A unit's owner and epoch as this region has applied them, and whether the root is moving it. */
  unitLease(unit: UnitName): { owner: RegionName; epoch: number; moving: boolean } {
    const row = this.tree.replication.leases.get(unit);
    const owner = row?.owner ?? this.units.unitRule(unit).home ?? this.settings.rootRegion;
    return { owner, epoch: row?.epoch ?? 0, moving: this.#root?.isMoving(unit) === true };
  }

  moveUnit(unit: UnitName, to: RegionName, nowMs: number): boolean {
    this.#nowMs = nowMs;
    // Only a lease root names a unit: a row for any other path would make it one behind its unit owner's back.
    if (this.#root === null || !this.settings.regions.includes(to) || unit === rootUnit || !this.units.isLeaseRoot(unit)) return false;
    this.#root.move(unit, to, "operator", nowMs);
    return true;
  }

  // ----------------------------------------------------------- root role

  /** Root role: writes gathered here run through the ordinary local path once every unit is ours. */
  runGathered(op: WriteOp): void {
    this.#commitOrPark(op);
  }

  /** Root role: the units a request names (new lease roots named only when prepared excluded). */
  unitsNamedBy(request: WriteRequest): UnitName[] {
    return [...this.units.unitsOfRequest(request).units];
  }

  /** Root role: highest shipSeq of `origin` staged here. */
  receivedFrom(origin: RegionName): bigint {
    return this.#received.get(origin) ?? 0n;
  }

  /** Root role: stages a shipped delta the root has given a stream position. */
  stageSequenced(delta: Delta): void {
    this.#stage({ ...delta, zxid: this.#nextZxid() }, new Set(), null);
  }

  /** Root role: lease records become the root's next own delta (no ops), and so stream entries. */
  recordLeases(leases: LeaseRecord[]): void {
    invariant(this.#root !== null, "only the root records leases");
    this.#ownSeq += 1n;
    const stamp: ReplicationStamp = { origin: this.region, shipSeq: this.#ownSeq, streamPos: this.#root.nextStreamPos(), leases };
    this.#stage({ zxid: this.#nextZxid(), timeMs: BigInt(Math.floor(this.#nowMs)), sessionId: 0n, ops: [], stamp }, new Set(), null);
  }

  /** Root role: after a restart, the stream entries recovery replayed. */
  restoreStream(deltas: readonly Delta[]): void {
    this.#root?.restoreStream(deltas);
  }
}

export type { WriteOp };

function toOriginSeqs(positions: ReadonlyMap<RegionName, bigint>): OriginSeq[] {
  return [...positions].map(([origin, shipSeq]) => ({ origin, shipSeq }));
}

/** A rough upper bound of a delta's encoded size, to keep batches within a broker message. */
export function deltaBytesEstimate(delta: Delta): number {
  let bytes = 64;
  for (const op of delta.ops) {
    bytes += 48 + op.type.length;
    if ("path" in op) bytes += Buffer.byteLength(op.path) * 3;
    if ((op.type === "create" || op.type === "setData") && op.data !== null) bytes += op.data.length;
    if (op.type === "create" || op.type === "setACL") for (const acl of op.acl) bytes += 16 + acl.id.scheme.length * 3 + acl.id.id.length * 3;
  }
  for (const lease of delta.stamp?.leases ?? []) bytes += 32 + lease.unit.length * 3 + lease.owner.length * 3;
  return bytes;
}

/**
 * The first deltas of `deltas` that fit: at most `countMax`, together at
 * most half of `bytesMax` by estimate (always at least one), none past
 * `lastShipSeq` when given.
 */
export function takeBatch(deltas: readonly Delta[], countMax: number, bytesMax: number, lastShipSeq: bigint | null = null): Delta[] {
  const batch: Delta[] = [];
  let bytes = 0;
  for (const delta of deltas) {
    if (lastShipSeq !== null && delta.stamp !== undefined && delta.stamp.shipSeq > lastShipSeq && batch.length > 0) break;
    const size = deltaBytesEstimate(delta);
    if (batch.length > 0 && (batch.length >= countMax || bytes + size > bytesMax / 2)) break;
    batch.push(delta);
    bytes += size;
  }
  return batch;
}
