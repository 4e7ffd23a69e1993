// The root broker's lease table (design section 4): who owns each unit, at
// which epoch, which moves are under way, and when each region's leases run
// out. A pure state machine: time arrives as `nowMs` arguments, messages come
// in as method calls, and what must happen goes out through LeaseTableEffects
// (messages to send, lease records to put into the global stream).
//
// A unit with no row is held by its implicit owner (its configured home,
// else the root's region) at epoch 0; every change of owner writes a row with
// the next epoch into the stream, and the stream is what every region
// (the root's included) learns ownership from.

import type { LeaseRecord } from "../tree/types.js";
import type { BrokerMessage, RegionName, UnitEpoch, UnitName, WriteCount } from "./messages.js";
import type { BrokerSettings } from "./settings.js";
import type { UnitMap } from "./units.js";

export interface LeaseTableEffects {
  send(region: RegionName, message: BrokerMessage): void;
  /** Put a lease change into the global stream (the root's next stream entry). */
  record(lease: LeaseRecord): void;
  /** The root's own region holds `unit`: stop admitting writes to it and call
   *  released() once everything in flight for it is committed. */
  releaseLocally(unit: UnitName, epoch: number): void;
  /** The root's own region has sequenced origin's deltas through shipSeq? */
  sequencedThrough(origin: RegionName): bigint;
  log(message: string, fields: Record<string, unknown>): void;
}

/**
 * A move in progress: "revoking" until the owner answers released, then
 * "released" until the owner's deltas through releasedThrough are in the
 * stream, then "recorded" until the new row comes back applied.
 */
interface Move {
  unit: UnitName;
  from: RegionName;
  to: RegionName;
  epoch: number;
  reason: string;
  state: "revoking" | "released" | "recorded";
  revokeSentMs: number;
  releasedThrough: bigint;
  /** A grant written into the very delta that creates the unit (nothing to release first). */
  atCreation?: true;
}

export interface LeaseView {
  owner: RegionName;
  epoch: number;
}

export class LeaseTable {
  readonly #settings: BrokerSettings;
  readonly #units: UnitMap;
  readonly #effects: LeaseTableEffects;
  /** Rows as recorded in the stream (mirrors the root tree's cursor). */
  readonly #rows = new Map<UnitName, LeaseRecord>();
  readonly #moves = new Map<UnitName, Move>();
  /** Last renewal received per region (root's clock). */
  readonly #renewedMs = new Map<RegionName, number>();
  /** Writes per unit by origin region, as reported with renewals. */
  readonly #writeCounts = new Map<UnitName, Map<RegionName, number>>();
  readonly #startedMs: number;
  /** Regions an operator declared lost: nothing is granted or returned to them, and what they hold is taken. */
  readonly #evicted = new Set<RegionName>();

  constructor(args: {
    settings: BrokerSettings;
    units: UnitMap;
    effects: LeaseTableEffects;
    rows: Iterable<LeaseRecord>;
    nowMs: number;
  }) {
    this.#settings = args.settings;
    this.#units = args.units;
    this.#effects = args.effects;
    for (const row of args.rows) this.#rows.set(row.unit, row);
    this.#startedMs = args.nowMs;
  }

  /** The owner and epoch of a unit (implicit owner at epoch 0 when it has no row). */
  lease(unit: UnitName): LeaseView {
    const row = this.#rows.get(unit);
    if (row !== undefined) return { owner: row.owner, epoch: row.epoch };
    return { owner: this.implicitOwner(unit), epoch: 0 };
  }

  implicitOwner(unit: UnitName): RegionName {
    return this.#units.unitRule(unit).home ?? this.#settings.rootRegion;
  }

  isMoving(unit: UnitName): boolean {
    return this.#moves.has(unit);
  }

  get rows(): ReadonlyMap<UnitName, LeaseRecord> {
    return this.#rows;
  }

  get writeCounts(): ReadonlyMap<UnitName, ReadonlyMap<RegionName, number>> {
    return this.#writeCounts;
  }

  /** A lease row reached the root's applied state (through the stream). */
  noteRecorded(row: LeaseRecord): void {
    const current = this.#rows.get(row.unit);
    if (current === undefined || current.epoch < row.epoch) this.#rows.set(row.unit, row);
    const move = this.#moves.get(row.unit);
    if (move !== undefined && row.epoch > move.epoch) this.#moves.delete(row.unit);
  }

  /**
   * Starts moving a unit to `to` (a policy, an operator, or a gathering
   * broker asks). Idempotent; a move already under way to elsewhere is left
   * alone (the caller asks again once it is done).
   */
  move(unit: UnitName, to: RegionName, reason: string, nowMs: number): void {
    if (!this.#units.isLeaseRoot(unit)) throw new Error(`assertion: move of ${unit}, which is not a lease root`);
    const current = this.lease(unit);
    if (current.owner === to || this.#moves.has(unit)) return;
    if (this.#evicted.has(to)) {
      this.#effects.log("not moving a unit to an evicted region", { unit, to, reason });
      return;
    }
    const move: Move = {
      unit, from: current.owner, to, epoch: current.epoch, reason, state: "revoking", revokeSentMs: nowMs, releasedThrough: 0n,
    };
    this.#moves.set(unit, move);
    this.#effects.log("moving unit", { unit, from: move.from, to, epoch: move.epoch, reason });
    this.#askRelease(move);
  }

  #askRelease(move: Move): void {
    if (move.from === this.#settings.rootRegion) this.#effects.releaseLocally(move.unit, move.epoch);
    else this.#effects.send(move.from, { type: "revoke", unit: move.unit, epoch: move.epoch });
  }

  /**
   * Proactive leasing (design section 4): the root's region commits the
   * delta that creates lease root `unit`, and the row giving the unit to
   * `to` goes into that same delta. The root's region holds the unit
   * (implicitly or by row) or it was never leased, so there is nothing to
   * release; the move stays listed, which keeps the root's own writes off
   * the unit, until the row comes back applied.
   */
  grantAtCreation(unit: UnitName, to: RegionName, reason: string, nowMs: number): LeaseRecord {
    const current = this.lease(unit);
    if (this.#moves.has(unit)) throw new Error(`grantAtCreation: ${unit} is already moving`);
    this.#moves.set(unit, {
      unit, from: current.owner, to, epoch: current.epoch, reason, state: "recorded", revokeSentMs: nowMs, releasedThrough: 0n, atCreation: true,
    });
    this.#effects.log("granting a new unit to its creator", { unit, to, epoch: current.epoch + 1, reason });
    return { unit, owner: to, epoch: current.epoch + 1 };
  }

  /**
   * Adaptive splitting: `unit` (a child of a unit the root's region holds,
   * never leased before) becomes a unit of its own, granted to `to`. The
   * row goes into the root's next stream entry like any transfer, and every
   * node makes the child a lease root when it applies it.
   */
  grantSplit(unit: UnitName, to: RegionName, reason: string, nowMs: number): void {
    if (this.#moves.has(unit) || this.#rows.has(unit)) throw new Error(`grantSplit: ${unit} is already a unit`);
    const move: Move = { unit, from: this.#settings.rootRegion, to, epoch: 0, reason, state: "released", revokeSentMs: nowMs, releasedThrough: 0n };
    this.#moves.set(unit, move);
    this.#effects.log("splitting a unit", { unit, to, reason });
    this.#finishIfShipped(move);
  }

  /** The owner answered a revoke: nothing more at `epoch`; its deltas run through shipSeq. */
  released(from: RegionName, unit: UnitName, epoch: number, shipSeq: bigint): void {
    const move = this.#moves.get(unit);
    if (move === undefined || move.from !== from || move.epoch !== epoch || move.state !== "revoking") {
      this.#effects.log("ignoring stale release", { unit, from, epoch });
      return;
    }
    move.state = "released";
    move.releasedThrough = shipSeq;
    this.#finishIfShipped(move);
  }

  /** Moves whose owner released and whose deltas are all in the stream become lease records. */
  #finishIfShipped(move: Move): void {
    if (move.state !== "released" || this.#effects.sequencedThrough(move.from) < move.releasedThrough) return;
    // The move stays listed until the record comes back applied (noteRecorded), so no second record is made.
    move.state = "recorded";
    // A destination evicted while the move was under way gets nothing: the unit stays with the root's region.
    if (this.#evicted.has(move.to)) move.to = this.#settings.rootRegion;
    this.#effects.record({ unit: move.unit, owner: move.to, epoch: move.epoch + 1 });
  }

  get evicted(): ReadonlySet<RegionName> {
    return this.#evicted;
  }

  /** An operator declared `region` lost (it must not be the root's): from now on it is treated as expired. */
  evict(region: RegionName): void {
    if (region === this.#settings.rootRegion) throw new Error("the root's region cannot be evicted");
    this.#evicted.add(region);
  }

  /** An operator gives an evicted region units again. */
  readmit(region: RegionName): void {
    this.#evicted.delete(region);
  }

  /**
   * Gives `unit` to the root's region at the next epoch without its owner's
   * release (an evicted owner, or a \`global\` unit's expired one): whatever
   * the old owner commits at its epoch is fenced from now on. Returns false
   * while a record for the unit is already on its way (ask again once it is
   * applied).
   */
  forceToRoot(unit: UnitName, reason: string, nowMs: number): boolean {
    const move = this.#moves.get(unit);
    if (move?.state === "recorded") return false;
    const current = this.lease(unit);
    if (current.owner === this.#settings.rootRegion && move === undefined) return false;
    this.#moves.delete(unit);
    this.#effects.log("taking a unit without its owner's release", { unit, owner: current.owner, epoch: current.epoch, reason });
    this.#moves.set(unit, {
      unit, from: current.owner, to: this.#settings.rootRegion, epoch: current.epoch, reason, state: "recorded", revokeSentMs: nowMs, releasedThrough: 0n,
    });
    this.#effects.record({ unit, owner: this.#settings.rootRegion, epoch: current.epoch + 1 });
    return true;
  }

  /** The root's log lost what it had staged: records not yet applied are made again. */
  logFailed(): void {
    for (const move of this.#moves.values()) {
      // A grant at creation was part of the lost delta: with it went the creation itself.
      if (move.atCreation === true) this.#moves.delete(move.unit);
      else if (move.state === "recorded") move.state = "released";
    }
  }

  /** A region renewed every lease it holds; answers which of them are no longer its own. */
  renew(region: RegionName, round: number, leases: readonly UnitEpoch[], counts: readonly WriteCount[], streamPos: bigint, nowMs: number): void {
    this.#renewedMs.set(region, nowMs);
    this.addCounts(counts);
    // A unit the region released (or that is being recorded away from it) is not its to write, even if it forgot.
    const stale = leases.filter((held) => {
      const current = this.lease(held.unit);
      const leaving = this.#moves.get(held.unit);
      return current.owner !== region || current.epoch !== held.epoch || (leaving !== undefined && leaving.state !== "revoking");
    });
    for (const move of this.#moves.values()) {
      if (move.from === region && move.state !== "revoking" && !stale.some((s) => s.unit === move.unit)) stale.push({ unit: move.unit, epoch: move.epoch });
    }
    this.#effects.send(region, { type: "renewed", round, termMs: this.#settings.leaseTermMs, stale, streamPos });
  }

  /** Write counts by origin, from renewals and from the root's own region. */
  addCounts(counts: readonly WriteCount[]): void {
    for (const count of counts) {
      if (count.child !== undefined) continue; // a child's writes are already in its unit's count
      let byOrigin = this.#writeCounts.get(count.unit);
      if (byOrigin === undefined) this.#writeCounts.set(count.unit, (byOrigin = new Map()));
      byOrigin.set(count.origin, (byOrigin.get(count.origin) ?? 0) + count.count);
    }
  }

  /**
   * Whether the root must consider a region's leases run out: no renewal
   * for a term, stretched by the drift bound (the owner, for its part, stops
   * a drift bound early). A region never heard from since the root started
   * counts from the root's start.
   */
  expired(region: RegionName, nowMs: number): boolean {
    if (region === this.#settings.rootRegion) return false;
    if (this.#evicted.has(region)) return true;
    const last = this.#renewedMs.get(region) ?? this.#startedMs;
    return nowMs - last > this.#settings.leaseTermMs * (1 + this.#settings.clockDriftMax);
  }

  /** Periodic work: resend revokes, finish shipped moves, take back `global` units of expired owners. */
  tick(nowMs: number): void {
    for (const move of this.#moves.values()) {
      if (move.state === "released") this.#finishIfShipped(move);
      else if (move.state === "revoking" && nowMs - move.revokeSentMs >= this.#settings.renewIntervalMs) {
        move.revokeSentMs = nowMs;
        this.#askRelease(move);
      }
    }
  }

  /**
   * A `global` unit whose owner's lease ran out is given to the root's
   * region without the owner's release: the owner stopped committing a drift
   * bound before its lease ended, so nothing it commits later can be valid,
   * and the new epoch fences it.
   */
  reclaimExpired(nowMs: number): void {
    for (const [unit, row] of this.#globalLeases()) {
      if (row.owner === this.#settings.rootRegion || !this.expired(row.owner, nowMs)) continue;
      this.forceToRoot(unit, "owner lease expired", nowMs);
    }
  }

  /** `global` units with their current lease: recorded rows, and configured units still at their implicit owner. */
  #globalLeases(): Map<UnitName, LeaseView> {
    const result = new Map<UnitName, LeaseView>();
    for (const rule of this.#settings.leaseRoots) {
      if (rule.durability === "global" && !rule.pattern.endsWith("/*")) result.set(rule.pattern, this.lease(rule.pattern));
    }
    for (const [unit, row] of this.#rows) {
      if (this.#units.unitRule(unit).durability === "global") result.set(unit, { owner: row.owner, epoch: row.epoch });
    }
    return result;
  }
}
