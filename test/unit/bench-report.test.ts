import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../src/bench/distributions.js";
import { chooseOperation, parseMix } from "../../src/bench/mix.js";
import { escapeXml, latencyTable, lineChartSvg, ninesOf, percentileScale, ratios, regionTable, reportHtml, type RunForReport } from "../../src/bench/report.js";

test("mix: operations are drawn in proportion to their weights", () => {
  const mix = parseMix("getData:70,setData:20,lock:10");
  const random = seededRandom(3);
  const counts: Record<string, number> = {};
  for (let i = 0; i < 100_000; i += 1) {
    const type = chooseOperation(mix, random);
    counts[type] = (counts[type] ?? 0) + 1;
  }
  assert.ok(Math.abs(counts.getData! - 70_000) < 1000 && Math.abs(counts.setData! - 20_000) < 700 && Math.abs(counts.lock! - 10_000) < 500, JSON.stringify(counts));
});

test("mix: named mixes, zero weights dropped, bad mixes refused", () => {
  assert.deepEqual(parseMix("read-heavy"), [{ type: "getData", weight: 90 }, { type: "setData", weight: 10 }]);
  assert.deepEqual(parseMix("exists:1,delete:0"), [{ type: "exists", weight: 1 }]);
  assert.throws(() => parseMix("read:1"), RangeError);
  assert.throws(() => parseMix("exists:0"), RangeError);
  assert.throws(() => parseMix("exists:1,exists:2"), RangeError);
  assert.throws(() => parseMix("exists:-1"), RangeError);
});

const summary = (p50Ms: number, p99Ms: number, count = 100) => ({ count, p50Ms, p90Ms: p50Ms, p99Ms, p999Ms: p99Ms, maxMs: p99Ms });
const run = (target: string, operationsPerSecond: number, p50Ms: number, p99Ms: number): RunForReport => ({
  label: target,
  target,
  operationsPerSecond,
  latency: summary(p50Ms, p99Ms, 1000),
  byType: { getData: { ...summary(p50Ms, p99Ms, 1000), distribution: [{ percentile: 50, ms: p50Ms }, { percentile: 99, ms: p99Ms }] } },
  perSecond: [operationsPerSecond, operationsPerSecond],
});

test("ratios: medians over rounds, numerator over denominator", () => {
  const runs = [run("maestro", 2000, 1, 4), run("maestro", 4000, 1, 6), run("maestro", 3000, 1, 5), run("zookeeper", 1000, 2, 10)];
  const [all, getData] = ratios(runs, "maestro", "zookeeper");
  assert.deepEqual(all, { operation: "all", throughput: 3, p50: 0.5, p99: 0.5 });
  assert.equal(getData!.operation, "getData");
  assert.equal(getData!.throughput, 3);
  assert.deepEqual(ratios([run("maestro", 1, 1, 1)], "maestro", "zookeeper"), []);
});

test("report: the table has a row per run and operation; the page is self-contained", () => {
  const runs = [run("maestro", 2000, 1, 4), run("zookeeper<&>", 1000, 2, 10)];
  const table = latencyTable(runs);
  assert.equal(table.split("\n").length, 1 + 2 * 2);
  const html = reportHtml({ title: "t", command: "npm run bench -- --compare", table, runs });
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.equal((html.match(/<svg /g) ?? []).length, 2, "throughput plus one latency chart");
  assert.ok(!/<script|src=|href=/.test(html), "no external resources");
  assert.ok(html.includes("zookeeper&#60;&#38;&#62;") && !html.includes("zookeeper<&>"));
  assert.equal(escapeXml(`a"'`), "a&#34;&#39;");
});

test("charts: the percentile axis counts nines; points stay inside the plot", () => {
  assert.deepEqual([0, 90, 99, 99.9].map(ninesOf).map((nines) => Number(nines.toFixed(6))), [0, 1, 2, 3]);
  assert.equal(ninesOf(100), 5);
  const svg = lineChartSvg({ title: "x", xLabel: "p", yLabel: "ms", xScale: percentileScale(), yLog: true, series: [{ name: "a", points: [[0, 0.1], [100, 1000]] }] });
  const coordinates = [...svg.matchAll(/points="([^"]*)"/g)].flatMap((match) => match[1]!.split(" ").map((pair) => pair.split(",").map(Number)));
  for (const [x, y] of coordinates) assert.ok(x! >= 64 && x! <= 640 - 150 && y! >= 30 && y! <= 320 - 44, `${x},${y}`);
});

test("report: a region table only when there was more than one region", () => {
  assert.equal(regionTable([run("maestro", 1, 1, 1)]), null);
  const table = regionTable([{ ...run("maestro", 1, 1, 1), byRegion: { "1": summary(2, 3), "0": summary(1, 2) } }]);
  assert.deepEqual(table?.split("\n").map((line) => line.split(/\s+/)[1]), ["region", "0", "1"]);
});
