import { test } from "node:test";
import assert from "node:assert/strict";
import {
  hotRegionAt,
  keyChooser,
  parseDistribution,
  regionCentre,
  seededRandom,
  type DistributionSpec,
  type KeySpace,
} from "../../src/bench/distributions.js";

const samples = 100_000;

function draw(spec: DistributionSpec, space: KeySpace, seed: number, region = 0, count = samples, elapsedMs = () => 0): number[] {
  const chooser = keyChooser(spec, space, seededRandom(seed));
  const keys: number[] = [];
  for (let i = 0; i < count; i += 1) keys.push(chooser.next(region, elapsedMs()));
  return keys;
}

function histogram(keys: number[], keyCount: number): number[] {
  const counts = new Array<number>(keyCount).fill(0);
  for (const key of keys) counts[key] = counts[key]! + 1;
  return counts;
}

function meanAndDeviation(values: number[]): { mean: number; deviation: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, deviation: Math.sqrt(variance) };
}

test("distributions: the same seed gives the same key sequence, another seed another", () => {
  for (const spec of [parseDistribution("uniform"), parseDistribution("zipfian:1.1"), parseDistribution("normal:20"), parseDistribution("hotspot:20:100")]) {
    const space = { keyCount: 1000, regionCount: 3 };
    assert.deepEqual(draw(spec, space, 42, 1, 500), draw(spec, space, 42, 1, 500), spec.kind);
    assert.notDeepEqual(draw(spec, space, 42, 1, 500), draw(spec, space, 43, 1, 500), spec.kind);
  }
});

test("uniform: every key within 10% of N/keyCount, all keys in range", () => {
  const keyCount = 100;
  const counts = histogram(draw({ kind: "uniform" }, { keyCount, regionCount: 1 }, 7), keyCount);
  const expected = samples / keyCount;
  for (const [key, count] of counts.entries()) assert.ok(Math.abs(count - expected) < expected * 0.1, `key ${key}: ${count} vs ${expected}`);
});

test("zipfian: the frequency of rank k follows 1/(k+1)^s (rank-frequency within 5% for the top ranks)", () => {
  const keyCount = 1000;
  const s = 1.2;
  const counts = histogram(draw({ kind: "zipfian", s }, { keyCount, regionCount: 1 }, 11), keyCount);
  let harmonic = 0;
  for (let rank = 1; rank <= keyCount; rank += 1) harmonic += 1 / rank ** s;
  for (let rank = 0; rank < 10; rank += 1) {
    const expected = samples / (rank + 1) ** s / harmonic;
    assert.ok(Math.abs(counts[rank]! - expected) < expected * 0.05 + 30, `rank ${rank}: ${counts[rank]} vs ${expected.toFixed(0)}`);
  }
  // Rank order holds on the head: the most frequent keys are the lowest ranks.
  assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[2]! && counts[2]! > counts[5]!);
});

test("normal: each region's keys centre on its own slice with the configured sigma", () => {
  const space = { keyCount: 3000, regionCount: 3 };
  const sigma = 100;
  for (let region = 0; region < space.regionCount; region += 1) {
    const { mean, deviation } = meanAndDeviation(draw({ kind: "normal", sigma }, space, 5 + region, region, 50_000));
    assert.ok(Math.abs(mean - regionCentre(region, space)) < 3, `region ${region}: mean ${mean}`);
    assert.ok(Math.abs(deviation - sigma) < sigma * 0.03, `region ${region}: deviation ${deviation}`);
  }
});

test("normal: sigma controls the overlap between neighbouring regions", () => {
  const space = { keyCount: 3000, regionCount: 3 };
  const sharedShare = (sigma: number): number => {
    const zero = new Set(draw({ kind: "normal", sigma }, space, 1, 0, 20_000));
    const one = draw({ kind: "normal", sigma }, space, 2, 1, 20_000);
    return one.filter((key) => zero.has(key)).length / one.length;
  };
  assert.equal(sharedShare(50), 0, "narrow regions do not overlap");
  assert.ok(sharedShare(600) > 0.5, "wide regions mostly overlap");
});

test("normal: keys wrap around the ring and stay in [0, keyCount)", () => {
  const keys = draw({ kind: "normal", sigma: 40 }, { keyCount: 100, regionCount: 1 }, 3);
  assert.ok(keys.every((key) => Number.isInteger(key) && key >= 0 && key < 100));
});

test("hotspot: the hot region moves on schedule, 0, 1, 2, then round again", () => {
  const periodMs = 1000;
  assert.deepEqual(
    [0, 999, 1000, 1999, 2000, 2999, 3000, 4500].map((elapsedMs) => hotRegionAt(elapsedMs, periodMs, 3)),
    [0, 0, 1, 1, 2, 2, 0, 1],
  );
});

test("hotspot: every region's clients follow the hot region's centre over time", () => {
  const space = { keyCount: 3000, regionCount: 3 };
  const spec: DistributionSpec = { kind: "hotspot", sigma: 50, periodMs: 1000 };
  for (const [elapsedMs, hot] of [[500, 0], [1500, 1], [2500, 2], [3500, 0]] as const) {
    for (let region = 0; region < 3; region += 1) {
      const { mean } = meanAndDeviation(draw(spec, space, 9, region, 5000, () => elapsedMs));
      assert.ok(Math.abs(mean - regionCentre(hot, space)) < 5, `t=${elapsedMs} region ${region}: mean ${mean}`);
    }
  }
});

test("parseDistribution: defaults and refusals", () => {
  assert.deepEqual(parseDistribution("zipfian"), { kind: "zipfian", s: 0.99 });
  assert.deepEqual(parseDistribution("hotspot:10:500"), { kind: "hotspot", sigma: 10, periodMs: 500 });
  assert.throws(() => parseDistribution("pareto"), RangeError);
  assert.throws(() => parseDistribution("normal:-1"), RangeError);
  assert.throws(() => keyChooser({ kind: "uniform" }, { keyCount: 0, regionCount: 1 }, seededRandom(1)), RangeError);
});
