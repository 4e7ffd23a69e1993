// Migration policies at the root (design section 4, "Adaptive migration"):
// pure decisions over the write counts the root collects, one decider per
// unit. No clock and no I/O: the root passes the time in, feeds reports and
// asks for a decision on its tick, and carries out a move itself.
//
// What a decider sees. Writes are counted where they commit (the unit's
// owner) and reach the root aggregated: each renewal carries, per unit, how
// many writes each origin region issued since the previous renewal. One such
// per-unit batch is a *report*; the order of writes inside a report is lost.
//
// * `consecutive` {count}: WanKeeper's "N consecutive writes from one
//   region", read over reports: a streak is a run of reports each holding
//   writes from one region R only; the unit moves to R (R not its owner) once
//   the streak's writes add up to `count`. A report holding writes from any
//   other origin (the owner's included) ends the streak; a mixed report
//   leaves no streak at all, since which of its writes came last is unknown.
// * `majority-window` {share, windowMs, holdMs}: per-origin counts over the
//   last `windowMs`, kept in a fixed number of time buckets; the unit moves to
//   R when R issued more than `share` of the window's writes and more than
//   any other origin (so an even split never moves a unit, whatever `share`),
//   the window holds at least `windowWritesMin` writes, and the unit has not
//   moved for `holdMs` (so a unit just moved cannot bounce back at once).
// * `static`: never moves anything (no decider at all).

import type { RegionName } from "./messages.js";
import type { MigrationPolicy } from "./settings.js";

/** Fewest writes a majority window must hold before it may move a unit (hysteresis against thin evidence). */
export const windowWritesMin = 10;
/** Buckets a majority window is cut into: the window slides in steps of windowMs / windowBuckets. */
export const windowBuckets = 10;

/** Writes to one unit by origin region, as one renewal reported them. */
export type WriteReport = ReadonlyMap<RegionName, number>;

/** The policy state of one unit. */
export interface MigrationDecider {
  /** One report of writes to the unit, received at nowMs. */
  observe(report: WriteReport, nowMs: number): void;
  /** Where the unit should go now, or null to leave it; lastMoveMs is when it last moved (-Infinity: never). */
  decide(owner: RegionName, lastMoveMs: number, nowMs: number): RegionName | null;
  /** Whether the state carries nothing worth keeping (the root may drop it). */
  readonly idle: boolean;
  /** Writes under one child of the unit (two levels down or more), for deciders that split. */
  observeChild?(child: string, report: WriteReport, nowMs: number): void;
  /** A child to make a unit of its own and the region to grant it to, when the unit itself stays. */
  decideSplit?(owner: RegionName, lastMoveMs: number, nowMs: number): { child: string; to: RegionName } | null;
}

/** Children a splitting decider keeps windows for; beyond it, the quietest are forgotten. */
export const splitChildrenTrackedMax = 64;

/** The decider for a unit under `policy`, or null when the policy never moves anything. */
export function createDecider(policy: MigrationPolicy): MigrationDecider | null {
  switch (policy.name) {
    case "static":
      return null;
    case "consecutive":
      return new ConsecutiveDecider(policy.count);
    case "majority-window":
      return policy.split === true
        ? new SplittingDecider(policy.share, policy.windowMs, policy.holdMs)
        : new MajorityWindowDecider(policy.share, policy.windowMs, policy.holdMs);
  }
}

export class ConsecutiveDecider implements MigrationDecider {
  readonly #count: number;
  #streakOrigin: RegionName | null = null;
  #streakWrites = 0;

  constructor(count: number) {
    this.#count = count;
  }

  get idle(): boolean {
    return this.#streakOrigin === null;
  }

  observe(report: WriteReport): void {
    const origins = [...report].filter(([, writes]) => writes > 0);
    const only = origins.length === 1 ? origins[0] : undefined;
    if (only === undefined) {
      if (origins.length > 1) this.#reset();
      return;
    }
    const [origin, writes] = only;
    if (origin === this.#streakOrigin) {
      this.#streakWrites += writes;
    } else {
      this.#streakOrigin = origin;
      this.#streakWrites = writes;
    }
  }

  decide(owner: RegionName): RegionName | null {
    const origin = this.#streakOrigin;
    if (origin === null || origin === owner || this.#streakWrites < this.#count) return null;
    return origin;
  }

  #reset(): void {
    this.#streakOrigin = null;
    this.#streakWrites = 0;
  }
}

interface Bucket {
  /** Index of the bucket's time step (floor(nowMs / bucketMs)). */
  step: number;
  writes: Map<RegionName, number>;
}

export class MajorityWindowDecider implements MigrationDecider {
  readonly #share: number;
  readonly #holdMs: number;
  readonly #bucketMs: number;
  /** Oldest first; at most windowBuckets + 1 (the current step and the window before it). */
  #buckets: Bucket[] = [];

  constructor(share: number, windowMs: number, holdMs: number) {
    this.#share = share;
    this.#holdMs = holdMs;
    this.#bucketMs = Math.max(1, windowMs / windowBuckets);
  }

  get idle(): boolean {
    return this.#buckets.length === 0;
  }

  observe(report: WriteReport, nowMs: number): void {
    this.#slide(nowMs);
    const step = this.#step(nowMs);
    let bucket = this.#buckets.at(-1);
    if (bucket === undefined || bucket.step !== step) this.#buckets.push((bucket = { step, writes: new Map() }));
    for (const [origin, writes] of report) {
      if (writes > 0) bucket.writes.set(origin, (bucket.writes.get(origin) ?? 0) + writes);
    }
  }

  decide(owner: RegionName, lastMoveMs: number, nowMs: number): RegionName | null {
    this.#slide(nowMs);
    if (nowMs - lastMoveMs < this.#holdMs) return null;
    const totals = this.windowWrites(nowMs);
    let total = 0;
    for (const writes of totals.values()) total += writes;
    if (total < windowWritesMin) return null;
    let top: RegionName | null = null;
    let topWrites = 0;
    let tied = false;
    for (const [origin, writes] of totals) {
      if (writes > topWrites) {
        top = origin;
        topWrites = writes;
        tied = false;
      } else if (writes === topWrites) {
        tied = true;
      }
    }
    if (top === null || tied || top === owner || topWrites <= this.#share * total) return null;
    return top;
  }

  /** Writes by origin within the window ending at nowMs. */
  windowWrites(nowMs: number): Map<RegionName, number> {
    this.#slide(nowMs);
    const totals = new Map<RegionName, number>();
    for (const bucket of this.#buckets) {
      for (const [origin, writes] of bucket.writes) totals.set(origin, (totals.get(origin) ?? 0) + writes);
    }
    return totals;
  }

  #step(nowMs: number): number {
    return Math.floor(nowMs / this.#bucketMs);
  }

  /** Drops buckets that have slid out of the window (a bucket counts while any of it is inside). */
  #slide(nowMs: number): void {
    const oldestStep = this.#step(nowMs) - windowBuckets;
    while (this.#buckets.length > 0 && this.#buckets[0]!.step < oldestStep) this.#buckets.shift();
  }
}

/**
 * `majority-window` with `split`: the unit's own window decides moves as
 * above; when it keeps the unit where it is (no region has its majority),
 * each tracked child's window is asked the same question, and a child
 * another region dominates is split off to it. The unit's hold time covers
 * splits too, so a unit is split at most once per holdMs.
 */
export class SplittingDecider implements MigrationDecider {
  readonly #unit: MajorityWindowDecider;
  readonly #children = new Map<string, MajorityWindowDecider>();
  readonly #share: number;
  readonly #windowMs: number;
  readonly #holdMs: number;

  constructor(share: number, windowMs: number, holdMs: number) {
    this.#unit = new MajorityWindowDecider(share, windowMs, holdMs);
    this.#share = share;
    this.#windowMs = windowMs;
    this.#holdMs = holdMs;
  }

  get idle(): boolean {
    return this.#unit.idle && [...this.#children.values()].every((child) => child.idle);
  }

  observe(report: WriteReport, nowMs: number): void {
    this.#unit.observe(report, nowMs);
  }

  observeChild(child: string, report: WriteReport, nowMs: number): void {
    let decider = this.#children.get(child);
    if (decider === undefined) {
      if (this.#children.size >= splitChildrenTrackedMax) this.#forgetQuietest(nowMs);
      this.#children.set(child, (decider = new MajorityWindowDecider(this.#share, this.#windowMs, this.#holdMs)));
    }
    decider.observe(report, nowMs);
  }

  decide(owner: RegionName, lastMoveMs: number, nowMs: number): RegionName | null {
    return this.#unit.decide(owner, lastMoveMs, nowMs);
  }

  decideSplit(owner: RegionName, lastMoveMs: number, nowMs: number): { child: string; to: RegionName } | null {
    if (this.#unit.decide(owner, lastMoveMs, nowMs) !== null) return null;
    for (const [child, decider] of [...this.#children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const to = decider.decide(owner, lastMoveMs, nowMs);
      if (to !== null) return { child, to };
      if (decider.idle) this.#children.delete(child);
    }
    return null;
  }

  /** Once a child is a unit of its own, its writes are no longer the unit's. */
  forgetChild(child: string): void {
    this.#children.delete(child);
  }

  #forgetQuietest(nowMs: number): void {
    let quietest: string | null = null;
    let fewest = Infinity;
    for (const [child, decider] of this.#children) {
      let writes = 0;
      for (const count of decider.windowWrites(nowMs).values()) writes += count;
      if (writes < fewest) {
        fewest = writes;
        quietest = child;
      }
    }
    if (quietest !== null) this.#children.delete(quietest);
  }
}
