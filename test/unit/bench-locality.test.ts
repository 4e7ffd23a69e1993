// The bench's --locality P (src/bench/distributions.ts): region r's key lies
// in its own slice with probability P %, uniformly there, otherwise in one
// of the other slices, picked evenly. Frequencies over many seeded draws, so
// the bounds below are several standard deviations wide and the test is
// exact for a given seed; no timing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  keyChooser,
  parseDistribution,
  parseLocality,
  regionSliceBounds,
  regionSliceOf,
  seededRandom,
  type KeySpace,
} from "../../src/bench/distributions.js";
import { runWarning, sweepHtml, sweepMarkdown, sweepRatios, type SweepRecord, type SweepRun } from "../../src/bench/locality-report.js";

const draws = 60_000;
const space: KeySpace = { keyCount: 1000, regionCount: 3 };

function drawKeys(percent: number, region: number, seed: number, keySpace: KeySpace = space, count = draws): number[] {
  const chooser = keyChooser({ kind: "locality", percent }, keySpace, seededRandom(seed));
  return Array.from({ length: count }, () => chooser.next(region, 0));
}

function sliceCounts(keys: readonly number[], keySpace: KeySpace = space): number[] {
  const counts = new Array<number>(keySpace.regionCount).fill(0);
  for (const key of keys) counts[regionSliceOf(key, keySpace)] = counts[regionSliceOf(key, keySpace)]! + 1;
  return counts;
}

/** |observed - expected| within `deviations` binomial standard deviations. */
function assertBinomial(observed: number, count: number, probability: number, label: string, deviations = 5): void {
  const expected = count * probability;
  const deviation = Math.sqrt(count * probability * (1 - probability));
  assert.ok(Math.abs(observed - expected) <= deviations * deviation + 1e-9, `${label}: ${observed} of ${count}, expected ${expected.toFixed(0)} ± ${(deviations * deviation).toFixed(0)}`);
}

test("locality: the slices partition the key space exactly as regionSliceOf assigns keys", () => {
  for (const keySpace of [space, { keyCount: 10, regionCount: 3 }, { keyCount: 7, regionCount: 7 }, { keyCount: 100_003, regionCount: 64 }]) {
    let next = 0;
    for (let slice = 0; slice < keySpace.regionCount; slice += 1) {
      const { start, end } = regionSliceBounds(slice, keySpace);
      assert.equal(start, next, `slice ${slice} starts where the previous ended`);
      assert.ok(end > start, `slice ${slice} is not empty`);
      assert.equal(regionSliceOf(start, keySpace), slice);
      assert.equal(regionSliceOf(end - 1, keySpace), slice);
      next = end;
    }
    assert.equal(next, keySpace.keyCount, "the last slice ends at the key count");
  }
});

test("locality: P % of a region's keys lie in its own slice, for every region and P", () => {
  for (const percent of [10, 50, 90, 33.3]) {
    for (let region = 0; region < space.regionCount; region += 1) {
      const own = sliceCounts(drawKeys(percent, region, 7 + region))[region]!;
      assertBinomial(own, draws, percent / 100, `P=${percent} region ${region}`);
    }
  }
});

test("locality: the keys outside the own slice are split evenly between the other slices", () => {
  const fourRegions = { keyCount: 1000, regionCount: 4 };
  const counts = sliceCounts(drawKeys(40, 2, 11, fourRegions), fourRegions);
  const remote = draws - counts[2]!;
  for (const slice of [0, 1, 3]) assertBinomial(counts[slice]!, remote, 1 / 3, `slice ${slice} of the remote keys`);
});

test("locality: keys are uniform within a slice", () => {
  const keys = drawKeys(100, 1, 5);
  const { start, end } = regionSliceBounds(1, space);
  const perKey = new Map<number, number>();
  for (const key of keys) perKey.set(key, (perKey.get(key) ?? 0) + 1);
  assert.equal(perKey.size, end - start, "every key of the slice is drawn");
  const probability = 1 / (end - start);
  // Each key's count is binomial; 6 deviations keeps the chance of a false failure negligible across ~333 keys.
  for (const [key, count] of perKey) assertBinomial(count, draws, probability, `key ${key}`, 6);
});

test("locality: 100 % gives only own-slice keys and 0 % none, in every region", () => {
  for (let region = 0; region < space.regionCount; region += 1) {
    const { start, end } = regionSliceBounds(region, space);
    assert.ok(drawKeys(100, region, 3).every((key) => key >= start && key < end), `region ${region} at 100 %`);
    const zero = sliceCounts(drawKeys(0, region, 3));
    assert.equal(zero[region], 0, `region ${region} at 0 %`);
    for (let slice = 0; slice < space.regionCount; slice += 1) if (slice !== region) assertBinomial(zero[slice]!, draws, 0.5, `region ${region} at 0 %, slice ${slice}`);
  }
});

test("locality: a region index beyond the region count wraps, as session i is in region i mod R", () => {
  assert.deepEqual(drawKeys(70, 4, 9, space, 500), drawKeys(70, 1, 9, space, 500));
});

test("locality: the same seed gives the same keys, another seed others", () => {
  assert.deepEqual(drawKeys(50, 2, 42, space, 1000), drawKeys(50, 2, 42, space, 1000));
  assert.notDeepEqual(drawKeys(50, 2, 42, space, 1000), drawKeys(50, 2, 43, space, 1000));
});

test("locality: parsing accepts 0 to 100 and refuses anything else; --distribution locality:P is the same", () => {
  assert.deepEqual(parseLocality("0"), { kind: "locality", percent: 0 });
  assert.deepEqual(parseLocality("100"), { kind: "locality", percent: 100 });
  assert.deepEqual(parseLocality("12.5"), { kind: "locality", percent: 12.5 });
  assert.deepEqual(parseDistribution("locality:90"), parseLocality("90"));
  for (const bad of ["", " ", "-1", "100.1", "abc", "NaN", "Infinity"]) assert.throws(() => parseLocality(bad), RangeError, bad);
  assert.throws(() => parseDistribution("locality"), RangeError);
});

test("locality: a chooser refuses one region and a percentage out of range", () => {
  assert.throws(() => keyChooser({ kind: "locality", percent: 50 }, { keyCount: 100, regionCount: 1 }, seededRandom(1)), /at least 2 regions/);
  assert.throws(() => keyChooser({ kind: "locality", percent: 101 }, space, seededRandom(1)), RangeError);
  assert.throws(() => keyChooser({ kind: "locality", percent: Number.NaN }, space, seededRandom(1)), RangeError);
});

function sweepRun(deployment: string, locality: number, p50Ms: number, operationsPerSecond: number): SweepRun {
  const latency = { count: operationsPerSecond * 10, p50Ms, p90Ms: p50Ms * 2, p99Ms: p50Ms * 4, p999Ms: p50Ms * 5, maxMs: p50Ms * 6 };
  return {
    deployment,
    locality,
    operationsPerSecond: operationsPerSecond * 2,
    regions: ["a", "b"].map((region) => ({ region, ...latency, operationsPerSecond, local: latency, remote: null })),
    errors: {},
  };
}

test("locality report: ratios are Maestro ÷ ZooKeeper per locality and region, only where both ran", () => {
  const runs = [sweepRun("maestro-adaptive", 90, 4, 300), sweepRun("zk-ensemble", 90, 100, 50), sweepRun("zk-observers", 50, 80, 60), sweepRun("maestro-adaptive", 50, 8, 200)];
  const ratios = sweepRatios(runs, ["a", "b"]);
  const at90 = ratios.find((ratio) => ratio.locality === 90 && ratio.region === "a" && ratio.denominator === "zk-ensemble");
  assert.deepEqual(at90 && { p50: at90.p50, p99: at90.p99, throughput: at90.throughput }, { p50: 0.04, p99: 0.04, throughput: 6 });
  const total = ratios.find((ratio) => ratio.locality === 90 && ratio.region === "all");
  assert.equal(total?.throughput, 6);
  assert.ok(Number.isNaN(total?.p50), "no latency ratio over all regions");
  assert.equal(ratios.filter((ratio) => ratio.denominator === "zk-observers" && ratio.locality === 90).length, 0, "observers did not run at 90 %");
  assert.equal(ratios.filter((ratio) => ratio.denominator === "zk-observers" && ratio.locality === 50).length, 3);
  assert.equal(ratios.filter((ratio) => ratio.numerator === "maestro-central").length, 0);
});

test("locality report: the Markdown and HTML name every deployment and show a failed run as failed", () => {
  const failed: SweepRun = { deployment: "zk-observers", locality: 90, operationsPerSecond: null, regions: [], errors: {}, error: "lab-bench exited with 1" };
  const runs = [sweepRun("maestro-adaptive", 90, 4, 300), sweepRun("zk-ensemble", 90, 100, 50), failed];
  const record: SweepRecord = {
    commit: "abc",
    startedAt: "2026-11-27T00:00:00.000Z",
    finishedAt: "2026-11-27T00:10:00.000Z",
    command: "npm run bench:locality",
    loadAverage: { start: [0.1, 0.2, 0.3], end: [1, 1, 1] },
    options: { localities: [90], deployments: ["maestro-adaptive", "zk-ensemble", "zk-observers"], durationS: 20, warmupS: 2, sessions: 24, mix: "setData:1", keys: 1000, seed: 1 },
    regionNames: ["a", "b"],
    notes: [],
    runs,
  };
  const ratios = sweepRatios(runs, record.regionNames);
  const markdown = sweepMarkdown(record, ratios);
  for (const deployment of record.options.deployments) assert.ok(markdown.includes(`| ${deployment} |`), deployment);
  assert.match(markdown, /\| zk-observers \| 90 \| \(failed\)/);
  assert.match(markdown, /lab-bench exited with 1/);
  const html = sweepHtml(record, ratios);
  assert.equal((html.match(/<svg /g) ?? []).length, 1 + 3 * record.regionNames.length, "total throughput, then p50, p99 and throughput per region");
});

test("locality report: a ZooKeeper run whose leader is not in the first region carries a warning", () => {
  const ensemble = (leader: string): SweepRun => ({ ...sweepRun("zk-ensemble", 90, 100, 50), servers: { a: leader === "a" ? "leader" : "follower", b: leader === "b" ? "leader" : "follower" } });
  assert.equal(runWarning(ensemble("a"), ["a", "b"]), undefined);
  assert.equal(runWarning(ensemble("b"), ["a", "b"]), "ZooKeeper leader in b, not a");
  assert.equal(runWarning({ ...sweepRun("maestro-adaptive", 90, 4, 300), servers: { a: "standalone", b: "standalone" } }, ["a", "b"]), undefined);
});
