// What the root's region does beyond being a region (design sections 3-4):
// it sequences the global stream (its own region log is the stream: every
// delta it stages gets the next stream position, so the stream is persisted
// exactly as its log is), fans the stream out to subscribed regions, keeps
// the lease table, fences deltas of stale owners, and gathers the leases a
// spanning write needs. Pure, like RegionCore, which it is part of.

import { childPath } from "../tree/paths.js";
import type { Delta, LeaseRecord } from "../tree/types.js";
import { LeaseTable } from "./lease-table.js";
import type { BrokerMessage, OriginSeq, RegionName, UnitName, WriteCount } from "./messages.js";
import { createDecider, SplittingDecider, type MigrationDecider } from "./policy.js";
import { takeBatch, type CoreEffects, type RegionCore, type WriteOp } from "./region-core.js";
import type { BrokerSettings } from "./settings.js";
import type { UnitMap } from "./units.js";

/** Ship batches one region may have waiting for their dependencies. */
const heldShipsMax = 64;

interface Gathering {
  op: WriteOp;
  units: UnitName[];
}

export class RootRole {
  readonly #core: RegionCore;
  readonly #settings: BrokerSettings;
  readonly #units: UnitMap;
  readonly #effects: CoreEffects;
  readonly leases: LeaseTable;
  /** Applied stream entries, oldest first (bounded by streamRetainedDeltasMax). */
  #retained: Delta[] = [];
  /** Next stream position to hand out (staged), and the next to send to each subscribed region. */
  #streamPosStaged: bigint;
  readonly #subscribers = new Map<RegionName, bigint>();
  #gathering: Gathering[] = [];
  /** The last delta fenced per region, told again at each subscription (the first telling may be lost). */
  readonly #fenced = new Map<RegionName, { shipSeq: bigint; units: UnitName[] }>();
  /** Units held at the root for a gathered write (not to be moved back meanwhile). */
  readonly #held = new Map<UnitName, number>();
  /** Where units taken for gathering go back to once no gathered write holds them. */
  readonly #returnTo = new Map<UnitName, RegionName>();
  /** Ship batches waiting for the deltas they depend on, per region, in arrival order. */
  readonly #heldShips = new Map<RegionName, Array<{ deltas: Delta[]; deps: OriginSeq[] }>>();
  /** Migration policy state of units with a non-static policy that have had writes reported. */
  readonly #deciders = new Map<UnitName, MigrationDecider>();
  /** When each unit with a decider last started moving (for the policies' hold time). */
  readonly #lastMoveMs = new Map<UnitName, number>();
  /** Splits waiting for their unit to be held here: then the child becomes a unit of its own. */
  #splits: Array<{ unit: UnitName; child: string; to: RegionName; deadlineMs: number }> = [];

  constructor(args: { core: RegionCore; settings: BrokerSettings; units: UnitMap; nowMs: number; effects: CoreEffects }) {
    this.#core = args.core;
    this.#settings = args.settings;
    this.#units = args.units;
    this.#effects = args.effects;
    this.#streamPosStaged = args.core.tree.replication.streamPos;
    this.leases = new LeaseTable({
      settings: args.settings,
      units: args.units,
      rows: args.core.tree.replication.leases.values(),
      nowMs: args.nowMs,
      effects: {
        send: (region, message) => void this.#effects.send(region, message),
        record: (lease) => this.#core.recordLeases([lease]),
        releaseLocally: (unit, epoch) => this.#core.releaseLocally(unit, epoch),
        sequencedThrough: (origin) => this.#core.receivedFrom(origin),
        log: (message, fields) => this.#effects.log("info", message, fields),
      },
    });
  }

  get writeCounts(): ReadonlyMap<UnitName, ReadonlyMap<RegionName, number>> {
    return this.leases.writeCounts;
  }

  isMoving(unit: UnitName): boolean {
    return this.leases.isMoving(unit);
  }

  /** The stream position the next staged delta takes. */
  nextStreamPos(): bigint {
    this.#streamPosStaged += 1n;
    return this.#streamPosStaged;
  }

  /** After a restart: the stream entries recovery replayed, so regions behind can resume from them. */
  restoreStream(deltas: readonly Delta[]): void {
    this.#retained = deltas.filter((d) => (d.stamp?.streamPos ?? 0n) > 0n).slice(-this.#settings.streamRetainedDeltasMax);
  }

  get oldestRetainedPos(): bigint {
    return this.#retained[0]?.stamp?.streamPos ?? this.#core.tree.replication.streamPos + 1n;
  }

  logFailed(): void {
    this.#streamPosStaged = this.#core.tree.replication.streamPos;
    this.leases.logFailed();
  }

  /** A delta reached the root's tree: it is now part of the stream others may read. */
  applied(delta: Delta, nowMs: number): void {
    const stamp = delta.stamp;
    if (stamp === undefined || stamp.streamPos === 0n) return;
    this.#retained.push(delta);
    if (this.#retained.length > this.#settings.streamRetainedDeltasMax) this.#retained.shift();
    for (const row of stamp.leases) this.leases.noteRecorded(row);
    for (const region of this.#subscribers.keys()) this.#pump(region);
    for (const region of this.#heldShips.keys()) this.#releaseShips(region);
    if (stamp.leases.length > 0) {
      this.#runGathered(nowMs);
      this.#runSplits(nowMs);
    }
  }

  receive(from: RegionName, message: BrokerMessage, nowMs: number): void {
    switch (message.type) {
      case "subscribe":
        this.#subscribe(from, message.streamPos);
        return;
      case "ship":
        this.#receiveShip(from, message.deltas, message.deps);
        return;
      case "renew":
        this.leases.renew(from, message.round, message.leases, message.counts, this.#core.tree.replication.streamPos, nowMs);
        this.#observeCounts(message.counts, nowMs);
        return;
      case "released":
        this.leases.released(from, message.unit, message.epoch, message.shipSeq);
        return;
      case "relay":
        // Another region's deltas, as their origin would have shipped them: sequenced once, fenced alike.
        if (message.origin !== from && message.origin !== this.#settings.rootRegion && this.#settings.regions.includes(message.origin)) {
          this.#receiveShip(message.origin, message.deltas, message.deps);
        }
        return;
      default:
        return;
    }
  }

  released(region: RegionName, unit: UnitName, epoch: number, shipSeq: bigint): void {
    this.leases.released(region, unit, epoch, shipSeq);
  }

  linkDown(region: RegionName): void {
    this.#subscribers.delete(region);
  }

  // ---------------------------------------------------------------- stream

  #subscribe(region: RegionName, streamPos: bigint): void {
    const next = streamPos + 1n;
    // Its deltas in the stream (a fenced one is there as an empty placeholder): a node that lost its data
    // numbers its new deltas after this.
    const sequenced = this.#core.tree.replication.applied.get(region) ?? 0n;
    // Told again before `subscribed`, whose acknowledgement covers the fenced delta: a region that still
    // holds it unacknowledged halts; one that no longer has it (its data was wiped) ignores it.
    const fenced = this.#fenced.get(region);
    if (fenced !== undefined) this.#effects.send(region, { type: "fenced", ...fenced });
    this.#effects.send(region, { type: "subscribed", shipSeq: sequenced, streamPos: this.#core.tree.replication.streamPos });
    if (next < this.oldestRetainedPos) {
      this.#effects.send(region, { type: "streamGap", oldestStreamPos: this.oldestRetainedPos });
      this.#subscribers.delete(region);
      return;
    }
    this.#subscribers.set(region, next);
    this.#pump(region);
  }

  /** Sends a subscribed region everything applied after its position, in batches. */
  #pump(region: RegionName): void {
    let next = this.#subscribers.get(region);
    if (next === undefined) return;
    const oldest = this.oldestRetainedPos;
    while (true) {
      const start = Number(next - oldest);
      if (start < 0 || start >= this.#retained.length) break;
      const batch = takeBatch(this.#retained.slice(start, start + this.#settings.streamBatchDeltasMax), this.#settings.streamBatchDeltasMax, this.#settings.messageBytesMax);
      if (!this.#effects.send(region, { type: "stream", deltas: batch })) {
        this.#subscribers.delete(region);
        return;
      }
      next += BigInt(batch.length);
    }
    this.#subscribers.set(region, next);
  }

  /**
   * A ship batch waits until the deltas of other regions it depends on are
   * sequenced (its region applied them early); batches of one region stay
   * in order behind it. Bounded: beyond the limit a batch is dropped, and
   * the region sends it again when its renewal shows no progress.
   */
  #receiveShip(from: RegionName, deltas: Delta[], deps: OriginSeq[]): void {
    let queue = this.#heldShips.get(from);
    if (queue === undefined) this.#heldShips.set(from, (queue = []));
    if (queue.length >= heldShipsMax) {
      // The oldest is the likeliest to be stale; the region sends again what is missing.
      this.#effects.log("warn", "too many ship batches waiting for their dependencies; dropping the oldest", { from });
      queue.shift();
    }
    queue.push({ deltas, deps });
    this.#releaseShips(from);
  }

  /**
   * Sequences every waiting batch that follows on from what is sequenced of
   * its region and whose dependencies are in, until none does. Batches come
   * from ships and from deltas carried by forwards, so they may overlap and
   * arrive out of order; one that is all sequenced already is dropped.
   */
  #releaseShips(from: RegionName): void {
    const queue = this.#heldShips.get(from);
    if (queue === undefined) return;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (let index = 0; index < queue.length; index++) {
        const batch = queue[index]!;
        const sequenced = this.#core.receivedFrom(from);
        const first = batch.deltas[0]?.stamp?.shipSeq ?? 0n;
        const last = batch.deltas.at(-1)?.stamp?.shipSeq ?? 0n;
        const stale = last <= sequenced;
        const ready = first <= sequenced + 1n && batch.deps.every((dep) => this.#core.receivedFrom(dep.origin) >= dep.shipSeq);
        if (!stale && !ready) continue;
        queue.splice(index--, 1);
        if (stale) continue;
        this.#sequence(from, batch.deltas);
        progressed = true;
      }
    }
  }

  /**
   * Deltas a region shipped, in its commit order: each is appended to the
   * stream once, in shipSeq order; a delta touching a unit the region does
   * not own at the root's current epoch is fenced (dropped, logged).
   */
  #sequence(from: RegionName, deltas: readonly Delta[]): void {
    for (const delta of deltas) {
      const stamp = delta.stamp;
      if (stamp === undefined || stamp.origin !== from) {
        this.#effects.log("warn", "unstamped or misattributed delta shipped; dropped", { from });
        continue;
      }
      const sequenced = this.#core.receivedFrom(from);
      if (stamp.shipSeq <= sequenced) continue;
      if (stamp.shipSeq !== sequenced + 1n) {
        // A gap: the region resends from what we confirm.
        this.#effects.send(from, { type: "subscribed", shipSeq: sequenced, streamPos: this.#core.tree.replication.streamPos });
        return;
      }
      const stale = [...this.#units.unitsOfDelta(delta)].filter((unit) => this.leases.lease(unit).owner !== from);
      if (stale.length > 0 || !this.#sessionsBelongTo(delta, from)) {
        // Expected after a unit was taken without its owner's release (evict, global reclaim); anything else is a bug.
        this.#effects.log("warn", "fenced a delta from a region that does not own its units", { from, shipSeq: stamp.shipSeq, units: stale });
        // Its place in the region's numbering stays taken, by an empty delta in the stream: every region
        // (a wiped one relearning its own history included) then agrees the region's deltas run on past it.
        this.#core.stageSequenced({ ...delta, ops: [], timeMs: fencedPlaceholderTimeMs, stamp: { ...stamp, leases: [], streamPos: this.nextStreamPos() } });
        // The region applied it already: its replica now differs from everyone's, and it must know.
        this.#fenced.set(from, { shipSeq: stamp.shipSeq, units: stale });
        this.#effects.send(from, { type: "fenced", shipSeq: stamp.shipSeq, units: stale });
        continue;
      }
      this.#core.stageSequenced({ ...delta, stamp: { ...stamp, streamPos: this.nextStreamPos() } });
    }
  }

  #sessionsBelongTo(delta: Delta, region: RegionName): boolean {
    const prefix = BigInt(this.#settings.regions.indexOf(region) + 1);
    return delta.ops.every((op) => (op.type !== "createSession" && op.type !== "closeSession") || BigInt.asUintN(64, op.sessionId) >> 56n === prefix);
  }

  // ---------------------------------------------------------------- leases

  /** A unit the root's region does not hold, but may write into the delta that creates it: never leased, not moving. */
  mayClaimCreated(unit: UnitName, delta: Delta): boolean {
    return createsUnit(delta, unit) && !this.leases.rows.has(unit) && !this.leases.isMoving(unit);
  }

  /**
   * Proactive leasing (design section 4): a delta the root's region commits
   * creates lease root `unit`; the lease goes, in that same delta, to the
   * unit's configured home or else to the region whose client created it
   * (`origin`). `heldHere`: the root's region holds the unit now. Returns
   * the row to write, or null when the unit stays as it is (the root keeps
   * what it holds for itself; a unit someone else holds is parked, the
   * gathering moves it here first).
   */
  claimCreated(unit: UnitName, delta: Delta, origin: RegionName, heldHere: boolean, nowMs: number): LeaseRecord | null {
    if (!heldHere && !this.mayClaimCreated(unit, delta)) throw new Error(`claimCreated: ${unit} is not the root's to grant`);
    if (!createsUnit(delta, unit) || this.leases.isMoving(unit)) return null;
    const rootRegion = this.#settings.rootRegion;
    const wanted = this.#units.unitRule(unit).home ?? origin;
    // A region whose leases ran out would hold a unit nobody can write; the root keeps it instead.
    const to = wanted !== rootRegion && this.leases.expired(wanted, nowMs) ? rootRegion : wanted;
    if (heldHere && to === rootRegion) return null;
    this.#returnTo.delete(unit);
    return this.leases.grantAtCreation(unit, to, `created by a client of ${origin}`, nowMs);
  }

  /**
   * A write spanning units of several owners: the root takes every lease it
   * needs (design section 3.5: the lowest broker above all owners, which is
   * the root with two levels), then commits it as their owner.
   */
  gather(op: WriteOp, nowMs: number): void {
    const units = this.#core.unitsNamedBy(op.request);
    for (const unit of units) {
      this.#hold(unit);
      this.#bringHere(unit, nowMs);
    }
    this.#gathering.push({ op, units });
    this.#runGathered(nowMs);
  }

  /** A gathered write or a split keeps `unit` at the root until it is done (no return meanwhile). */
  #hold(unit: UnitName): void {
    this.#held.set(unit, (this.#held.get(unit) ?? 0) + 1);
  }

  #unhold(unit: UnitName): void {
    const count = (this.#held.get(unit) ?? 1) - 1;
    if (count <= 0) this.#held.delete(unit);
    else this.#held.set(unit, count);
  }

  /** The root's region holds `unit` (as applied here) and is not moving it: a gathered write or split may go ahead. */
  #heldHere(unit: UnitName): boolean {
    return this.#core.lease(unit).owner === this.#settings.rootRegion && !this.leases.isMoving(unit);
  }

  /** Moves a unit a gathered write needs to the root's region, remembering where it goes back to. */
  #bringHere(unit: UnitName, nowMs: number): void {
    const owner = this.leases.lease(unit).owner;
    if (owner === this.#settings.rootRegion) return;
    if (!this.#returnTo.has(unit)) this.#returnTo.set(unit, owner);
    this.#noteMove(unit, this.#settings.rootRegion, nowMs);
    this.leases.move(unit, this.#settings.rootRegion, "gathering a spanning write", nowMs);
  }

  /** Ship batches waiting for dependencies, for diagnostics. */
  describeHeld(): string {
    return [...this.#heldShips].map(([region, batches]) => `${region}: ${batches.map((b) => `[${b.deltas[0]?.stamp?.shipSeq}..${b.deltas.at(-1)?.stamp?.shipSeq} needs ${b.deps.map((d) => `${d.origin}#${d.shipSeq}`).join(",")}]`).join(" ")}`).join("; ");
  }

  /** Whether a write of the session is waiting here for its leases. */
  gatheringFor(sessionId: bigint): boolean {
    return this.#gathering.some((gathering) => gathering.op.sessionId === sessionId);
  }

  #runGathered(nowMs: number): void {
    const waiting = this.#gathering;
    this.#gathering = [];
    for (const gathering of waiting) {
      const ready = gathering.units.every((unit) => this.#heldHere(unit));
      if (!ready && nowMs < gathering.op.deadlineMs) {
        // A unit that was moving elsewhere when the gathering asked for it (a grant at creation, a policy's move) is asked for again.
        for (const unit of gathering.units) if (!this.leases.isMoving(unit)) this.#bringHere(unit, nowMs);
        this.#gathering.push(gathering);
        continue;
      }
      for (const unit of gathering.units) this.#unhold(unit);
      if (!ready) gathering.op.done({ kind: "connectionLoss", reason: "could not gather the leases in time" });
      else this.#core.runGathered(gathering.op);
    }
  }

  tick(nowMs: number): void {
    const counts = this.#core.takeCountsForRoot();
    this.leases.addCounts(counts);
    this.#observeCounts(counts, nowMs);
    this.leases.tick(nowMs);
    for (const region of this.leases.evicted) this.#takeFromEvicted(region, nowMs);
    // `global` units of owners whose leases ran out go to the root's region (design section 5). An owner
    // that committed a global write it could not ship before it lost the unit finds, when it comes back,
    // that its replica diverged, and halts (RegionCore: fenced); see the lease script 12.
    this.leases.reclaimExpired(nowMs);
    this.#runGathered(nowMs);
    this.#runSplits(nowMs);
    this.#returnGathered(nowMs);
    this.#applyPolicies(nowMs);
  }

  /** Units taken for a gathered write go back to their owner once nothing holds them (and it is reachable). */
  #returnGathered(nowMs: number): void {
    for (const [unit, to] of this.#returnTo) {
      if (this.#held.has(unit) || this.leases.isMoving(unit)) continue;
      if (this.leases.lease(unit).owner !== this.#settings.rootRegion) {
        // Back home, or moved elsewhere meanwhile: nothing to return.
        this.#returnTo.delete(unit);
        continue;
      }
      if (this.leases.expired(to, nowMs)) continue;
      this.#noteMove(unit, to, nowMs);
      this.leases.move(unit, to, "return after gathering", nowMs);
    }
  }

  /**
   * An operator declared `region` lost (design section 5, \`region\`
   * durability): every unit it holds goes to the root's region at the next
   * epoch without its release, accepting the loss of whatever it committed
   * and did not ship; the new epoch fences it. Until an operator moves a
   * unit to it again (or the root restarts), nothing is granted, returned
   * or moved to it, and units that reach it anyway are taken again.
   * Returns the units taken now.
   */
  evict(region: RegionName, nowMs: number): UnitName[] {
    this.leases.evict(region);
    return this.#takeFromEvicted(region, nowMs);
  }

  /** An operator moves a unit to `region`: it may hold units again. */
  readmit(region: RegionName): void {
    this.leases.readmit(region);
  }

  #takeFromEvicted(region: RegionName, nowMs: number): UnitName[] {
    for (const [unit, to] of this.#returnTo) if (to === region) this.#returnTo.delete(unit);
    return this.#unitsHeldBy(region).filter((unit) => this.leases.forceToRoot(unit, `region ${region} evicted`, nowMs));
  }

  /** Units `region` holds by a row, or implicitly as their configured home (lease roots under a pattern: those that exist). */
  #unitsHeldBy(region: RegionName): UnitName[] {
    const units = new Set<UnitName>();
    for (const [unit, row] of this.leases.rows) if (row.owner === region) units.add(unit);
    for (const rule of this.#settings.leaseRoots) {
      if (rule.home !== region) continue;
      const parent = rule.pattern.endsWith("/*") ? rule.pattern.slice(0, -2) : null;
      const candidates = parent === null ? [rule.pattern] : (this.#core.tree.childrenOf(parent) ?? []).map((child) => childPath(parent, child));
      for (const unit of candidates) if (!this.leases.rows.has(unit) && this.#units.unitRule(unit).home === region) units.add(unit);
    }
    return [...units].sort();
  }

  /**
   * Adaptive splitting (design section 2): `child`, whose child list lies
   * in `unit`, becomes a unit of its own held by `to`. The root first takes
   * `unit` (a cooperative move: its owner ships everything and releases it),
   * so that nothing writes the child's subtree while its unit changes; then
   * the grant goes into the stream, which is where every node learns that
   * the child is a lease root; then `unit` goes back to its owner. Returns
   * false when the request does not name such a child.
   */
  split(unit: UnitName, child: string, to: RegionName, nowMs: number): boolean {
    if (this.#units.unitOfChildren(child) !== unit || child === unit || this.#core.tree.node(child) === undefined) return false;
    if (this.leases.rows.has(child) || this.leases.isMoving(child) || this.leases.evicted.has(to)) return false;
    this.#effects.log("info", "splitting a unit: taking it first", { unit, child, to });
    this.#splits.push({ unit, child, to, deadlineMs: nowMs + this.#settings.forwardTimeoutMs * 3 });
    this.#hold(unit);
    this.#bringHere(unit, nowMs);
    this.#noteMoveForced(unit, nowMs);
    this.#runSplits(nowMs);
    return true;
  }

  #runSplits(nowMs: number): void {
    const waiting = this.#splits;
    this.#splits = [];
    for (const pending of waiting) {
      const here = this.#heldHere(pending.unit);
      if (!here && nowMs < pending.deadlineMs) {
        if (!this.leases.isMoving(pending.unit)) this.#bringHere(pending.unit, nowMs);
        this.#splits.push(pending);
        continue;
      }
      this.#unhold(pending.unit);
      const stillChild = this.#units.unitOfChildren(pending.child) === pending.unit && this.#core.tree.node(pending.child) !== undefined;
      if (!here || !stillChild || this.leases.rows.has(pending.child) || this.leases.isMoving(pending.child)) {
        this.#effects.log("info", "split given up", { unit: pending.unit, child: pending.child, here, stillChild });
        continue;
      }
      const decider = this.#deciders.get(pending.unit);
      if (decider instanceof SplittingDecider) decider.forgetChild(pending.child);
      this.leases.grantSplit(pending.child, pending.to, `split of ${pending.unit}`, nowMs);
    }
  }

  /** An operator (or a policy) moves a unit; it is no longer due back anywhere. */
  move(unit: UnitName, to: RegionName, reason: string, nowMs: number): void {
    this.#returnTo.delete(unit);
    this.#noteMove(unit, to, nowMs);
    this.leases.move(unit, to, reason, nowMs);
  }

  // ------------------------------------------------------------- policies

  /** Write counts of one renewal (or of the root's own region) go to their units' deciders, one report per unit. */
  #observeCounts(counts: readonly WriteCount[], nowMs: number): void {
    const reports = new Map<UnitName, Map<RegionName, number>>();
    const childReports = new Map<string, { unit: UnitName; child: string; report: Map<RegionName, number> }>();
    for (const count of counts) {
      let report: Map<RegionName, number> | undefined;
      if (count.child === undefined) {
        report = reports.get(count.unit);
        if (report === undefined) reports.set(count.unit, (report = new Map()));
      } else {
        const key = `${count.unit}\u0000${count.child}`;
        report = childReports.get(key)?.report;
        if (report === undefined) childReports.set(key, { unit: count.unit, child: count.child, report: (report = new Map()) });
      }
      report.set(count.origin, (report.get(count.origin) ?? 0) + count.count);
    }
    for (const [unit, report] of reports) this.#deciderOf(unit)?.observe(report, nowMs);
    for (const { unit, child, report } of childReports.values()) this.#deciderOf(unit)?.observeChild?.(child, report, nowMs);
  }

  #deciderOf(unit: UnitName): MigrationDecider | undefined {
    let decider = this.#deciders.get(unit);
    if (decider === undefined) {
      const policy = this.#units.unitRule(unit).rule?.policy;
      decider = policy === undefined ? undefined : createDecider(policy) ?? undefined;
      if (decider !== undefined) this.#deciders.set(unit, decider);
    }
    return decider;
  }

  /**
   * Asks each unit's policy where it should be and starts the moves it
   * wants, unless the unit is already moving, is held for a gathered write,
   * or the region it would go to has let its leases run out.
   */
  #applyPolicies(nowMs: number): void {
    for (const [unit, decider] of this.#deciders) {
      if (this.leases.isMoving(unit) || this.#held.has(unit)) continue;
      const policy = this.#units.unitRule(unit).rule?.policy;
      const owner = this.leases.lease(unit).owner;
      const lastMoveMs = this.#lastMoveMs.get(unit) ?? -Infinity;
      const to = decider.decide(owner, lastMoveMs, nowMs);
      if (to !== null && !this.leases.expired(to, nowMs)) {
        this.move(unit, to, `policy ${policy?.name ?? "none"}`, nowMs);
        continue;
      }
      const split = this.#splits.some((pending) => pending.unit === unit) ? null : decider.decideSplit?.(owner, lastMoveMs, nowMs) ?? null;
      if (split !== null && !this.leases.expired(split.to, nowMs)) this.split(unit, split.child, split.to, nowMs);
      else if (decider.idle && !this.#lastMoveMs.has(unit)) this.#deciders.delete(unit);
    }
  }

  /** A split counts for the unit's hold time as a move would. */
  #noteMoveForced(unit: UnitName, nowMs: number): void {
    if (this.#deciders.has(unit)) this.#lastMoveMs.set(unit, nowMs);
  }

  /** A move the root starts: its time counts for the policies' hold time (units under a policy only). */
  #noteMove(unit: UnitName, to: RegionName, nowMs: number): void {
    if (!this.#deciders.has(unit) || this.leases.isMoving(unit) || this.leases.lease(unit).owner === to) return;
    this.#lastMoveMs.set(unit, nowMs);
  }
}

/**
 * The time of the empty delta that takes a fenced delta's place in the
 * stream: no committed delta has a negative time, so a region that applied
 * the real one early (carried by a forward) can tell it was refused.
 */
export const fencedPlaceholderTimeMs = -1n;

export function isFencedPlaceholder(delta: Delta): boolean {
  return delta.timeMs === fencedPlaceholderTimeMs && delta.ops.length === 0;
}

function createsUnit(delta: Delta, unit: UnitName): boolean {
  return delta.ops.some((op) => op.type === "create" && op.path === unit);
}
