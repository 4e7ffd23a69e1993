// Migration policies (design section 4, "Adaptive migration") as plain
// decisions: reports of writes by origin go in, a region to move to (or
// none) comes out; no root, no clock, no messages.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConsecutiveDecider, MajorityWindowDecider, createDecider, windowBuckets, windowWritesMin, type WriteReport } from "../../src/broker/policy.js";

const never = -Infinity;

function report(writes: Record<string, number>): WriteReport {
  return new Map(Object.entries(writes));
}

test("static never moves anything: it has no decider", () => {
  assert.equal(createDecider({ name: "static" }), null);
  assert.ok(createDecider({ name: "consecutive", count: 3 }) instanceof ConsecutiveDecider);
  assert.ok(createDecider({ name: "majority-window", share: 0.5, windowMs: 1000, holdMs: 0 }) instanceof MajorityWindowDecider);
});

test("consecutive moves after count writes from one region, and a write from elsewhere resets the streak", () => {
  const decider = new ConsecutiveDecider(5);
  decider.observe(report({ r1: 3 }));
  assert.equal(decider.decide("r0"), null, "3 of 5");
  decider.observe(report({ r0: 1 }));
  decider.observe(report({ r1: 4 }));
  assert.equal(decider.decide("r0"), null, "the owner's write reset the streak: 4 of 5");
  decider.observe(report({ r1: 1 }));
  assert.equal(decider.decide("r0"), "r1");
});

test("consecutive counts a streak across reports and restarts it for a new region", () => {
  const decider = new ConsecutiveDecider(4);
  decider.observe(report({ r1: 2 }));
  decider.observe(report({ r2: 2 }));
  decider.observe(report({ r2: 1 }));
  assert.equal(decider.decide("r0"), null, "r2 has 3 of 4; r1's writes do not count");
  decider.observe(report({ r2: 1 }));
  assert.equal(decider.decide("r0"), "r2");
});

test("consecutive: a report mixing origins leaves no streak, since the order of its writes is unknown", () => {
  const decider = new ConsecutiveDecider(3);
  decider.observe(report({ r1: 2 }));
  decider.observe(report({ r1: 5, r2: 1 }));
  assert.equal(decider.decide("r0"), null);
  decider.observe(report({ r1: 2 }));
  assert.equal(decider.decide("r0"), null, "2 of 3 since the mixed report");
  decider.observe(report({ r1: 1 }));
  assert.equal(decider.decide("r0"), "r1");
});

test("consecutive never moves a unit to the region that owns it", () => {
  const decider = new ConsecutiveDecider(2);
  decider.observe(report({ r1: 10 }));
  assert.equal(decider.decide("r1"), null);
  assert.equal(decider.decide("r0"), "r1");
});

test("majority-window moves a unit to a region issuing more than share of the window's writes", () => {
  const decider = new MajorityWindowDecider(0.6, 1000, 0);
  decider.observe(report({ r1: 7, r0: 3 }), 100);
  assert.equal(decider.decide("r0", never, 100), "r1");
  assert.equal(decider.decide("r1", never, 100), null, "already its owner");
});

test("majority-window does not move a unit for a share at or below the threshold", () => {
  const decider = new MajorityWindowDecider(0.6, 1000, 0);
  decider.observe(report({ r1: 6, r0: 4 }), 100);
  assert.equal(decider.decide("r0", never, 100), null, "6 of 10 is not more than 60 %");
});

test("majority-window never moves a unit whose writes are evenly split", () => {
  for (const share of [0.1, 0.3, 0.5]) {
    const decider = new MajorityWindowDecider(share, 1000, 0);
    decider.observe(report({ r1: 20, r2: 20, r0: 5 }), 100);
    assert.equal(decider.decide("r0", never, 100), null, `share ${share}`);
  }
});

test(`majority-window does not act on fewer than ${windowWritesMin} writes in the window`, () => {
  const decider = new MajorityWindowDecider(0.5, 1000, 0);
  decider.observe(report({ r1: windowWritesMin - 1 }), 100);
  assert.equal(decider.decide("r0", never, 100), null);
  decider.observe(report({ r1: 1 }), 200);
  assert.equal(decider.decide("r0", never, 200), "r1");
});

test("a unit moved cannot move again before holdMs", () => {
  const decider = new MajorityWindowDecider(0.5, 10_000, 3000);
  decider.observe(report({ r2: 30 }), 1000);
  assert.equal(decider.decide("r1", 0, 2999), null, "moved at 0, hold runs to 3000");
  assert.equal(decider.decide("r1", 0, 3000), "r2");
  // Moved to r2 at 3000; r1 writes more now, but the unit stays put until 6000.
  decider.observe(report({ r1: 100 }), 3500);
  assert.equal(decider.decide("r2", 3000, 5999), null);
  assert.equal(decider.decide("r2", 3000, 6000), "r1");
});

test("majority-window forgets writes that slid out of the window", () => {
  const decider = new MajorityWindowDecider(0.5, 1000, 0);
  decider.observe(report({ r1: 50 }), 0);
  decider.observe(report({ r2: 12 }), 1500);
  assert.deepEqual([...decider.windowWrites(1500)], [["r2", 12]]);
  assert.equal(decider.decide("r0", never, 1500), "r2");
  assert.equal(decider.decide("r0", never, 5000), null);
  assert.equal(decider.idle, true);
});

test("majority-window counts every write of the last windowMs and none older than one bucket beyond it", () => {
  const windowMs = 1000;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.constantFrom("r0", "r1", "r2"), fc.integer({ min: 1, max: 5 })), { maxLength: 200 }), (steps) => {
      const decider = new MajorityWindowDecider(0.5, windowMs, 0);
      const seen: Array<{ atMs: number; origin: string; writes: number }> = [];
      let nowMs = 0;
      for (const [advanceMs, origin, writes] of steps) {
        nowMs += advanceMs;
        decider.observe(report({ [origin]: writes }), nowMs);
        seen.push({ atMs: nowMs, origin, writes });
        const window = decider.windowWrites(nowMs);
        // Buckets are windowMs / windowBuckets wide: the window reaches back windowMs, plus part of a bucket.
        const bucketMs = windowMs / windowBuckets;
        const oldestMs = (Math.floor(nowMs / bucketMs) - windowBuckets) * bucketMs;
        const expected = new Map<string, number>();
        for (const write of seen) if (write.atMs >= oldestMs) expected.set(write.origin, (expected.get(write.origin) ?? 0) + write.writes);
        assert.deepEqual(new Map([...window].sort()), new Map([...expected].sort()));
        let inWindow = 0;
        for (const write of seen) if (nowMs - write.atMs <= windowMs) inWindow += write.writes;
        let counted = 0;
        for (const writes of window.values()) counted += writes;
        assert.ok(counted >= inWindow, "every write of the last windowMs counts");
      }
    }),
  );
});

test("majority-window with split: no region has the unit's majority, but one dominates a child: that child is split off to it", () => {
  const decider = createDecider({ name: "majority-window", share: 0.6, windowMs: 10_000, holdMs: 5_000, split: true });
  assert.ok(decider !== null && decider.observeChild !== undefined && decider.decideSplit !== undefined);
  // The unit's writes are even between r1 and r2; r2 writes almost all of /u/b's, r1 all of /u/a's.
  decider.observe(report({ r1: 10, r2: 10 }), 1_000);
  decider.observeChild("/u/a", report({ r1: 10 }), 1_000);
  decider.observeChild("/u/b", report({ r2: 9, r1: 1 }), 1_000);
  assert.equal(decider.decide("r1", never, 2_000), null);
  // r1 owns the unit: /u/a is already where it should be, /u/b goes to r2.
  assert.deepEqual(decider.decideSplit("r1", never, 2_000), { child: "/u/b", to: "r2" });
  // Within the hold time after a move or split, nothing.
  assert.equal(decider.decideSplit("r1", 1_500, 2_000), null);
});

test("majority-window with split: a unit one region dominates moves whole, and a child with too few writes is not split", () => {
  const decider = createDecider({ name: "majority-window", share: 0.6, windowMs: 10_000, holdMs: 0, split: true })!;
  decider.observe(report({ r2: 20 }), 1_000);
  decider.observeChild?.("/u/b", report({ r2: 20 }), 1_000);
  assert.equal(decider.decide("r1", never, 2_000), "r2");
  assert.equal(decider.decideSplit?.("r1", never, 2_000), null);
  const thin = createDecider({ name: "majority-window", share: 0.6, windowMs: 10_000, holdMs: 0, split: true })!;
  thin.observe(report({ r1: 10, r2: 10 }), 1_000);
  thin.observeChild?.("/u/b", report({ r2: windowWritesMin - 1 }), 1_000);
  assert.equal(thin.decideSplit?.("r1", never, 2_000), null);
});
