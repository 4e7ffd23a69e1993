import { test } from "node:test";
import assert from "node:assert/strict";
import type * as HistogramModule from "../../bench/lib/histogram.mjs";
import { seededRandom } from "../../src/bench/distributions.js";
import { dueAtMs, dueCountAt, openLoopLatencyMs } from "../../src/bench/open-loop.js";

// The compiled test runs from dist/test/unit; bench/lib is not compiled.
const histograms: typeof HistogramModule = await import(new URL("../../../bench/lib/histogram.mjs", import.meta.url).href);
const percentiles = [50, 90, 99, 99.9, 100];

function percentilesOf(histogram: HistogramModule.LatencyHistogram): number[] {
  return percentiles.map((percentile) => histogram.getValueAtPercentile(percentile));
}

test("histograms: merging per-worker histograms equals one histogram fed every value", () => {
  const random = seededRandom(17);
  const single = histograms.latencyHistogram();
  const workers = Array.from({ length: 4 }, () => histograms.latencyHistogram());
  for (let i = 0; i < 40_000; i += 1) {
    // Log-spread latencies from 10 µs to ~10 s, each worker a different slice.
    const milliseconds = 0.01 * Math.pow(10, random() * 6);
    histograms.recordMilliseconds(single, milliseconds);
    histograms.recordMilliseconds(workers[i % 4]!, milliseconds);
  }
  const viaEncoding = histograms.mergeHistograms(workers.map((worker) => histograms.encodeHistogram(worker)));
  const live = histograms.mergeHistograms(workers);
  assert.equal(viaEncoding.totalCount, single.totalCount);
  assert.deepEqual(percentilesOf(viaEncoding), percentilesOf(single));
  assert.deepEqual(percentilesOf(live), percentilesOf(single));
  assert.deepEqual(histograms.latencySummary(viaEncoding), histograms.latencySummary(single));
});

// A synthetic stall: operations every 1 ms take 1 ms, except that the server
// stalls for 1 s at operation 1000 of 2000.
const intervalMs = 1;
const stallMs = 1000;

test("coordinated omission: a closed loop sees one slow operation; the corrected record sees the stall", () => {
  const naive = histograms.latencyHistogram();
  const corrected = histograms.latencyHistogram();
  for (let i = 0; i < 2000; i += 1) {
    const milliseconds = i === 1000 ? stallMs : intervalMs;
    histograms.recordMilliseconds(naive, milliseconds);
    histograms.recordMillisecondsCorrected(corrected, milliseconds, intervalMs);
  }
  assert.equal(naive.getValueAtPercentile(99) / 1000, 1);
  // About 1000 back-filled operations of 999, 998, ... 1 ms among ~3000.
  assert.ok(corrected.totalCount > 2900 && corrected.totalCount < 3100, `${corrected.totalCount}`);
  assert.ok(corrected.getValueAtPercentile(90) / 1000 > 600, `p90 ${corrected.getValueAtPercentile(90) / 1000}`);
  assert.ok(Math.abs(corrected.getValueAtPercentile(50) / 1000 - 1) < 0.01, "the median is still the normal latency");
});

test("open loop: latencies from the due time count every operation queued behind a stall", () => {
  // A single FIFO server: operation i is due at i ms, starts when both due and
  // the server is free, takes 0.5 ms, or 1 s for operation 1000.
  const measured = histograms.latencyHistogram();
  const fromSend = histograms.latencyHistogram();
  let freeAtMs = 0;
  for (let i = 0; i < 2000; i += 1) {
    const dueMs = dueAtMs(0, 1000 / intervalMs, i);
    const startMs = Math.max(dueMs, freeAtMs);
    freeAtMs = startMs + (i === 1000 ? stallMs : 0.5);
    histograms.recordMilliseconds(measured, openLoopLatencyMs(dueMs, freeAtMs));
    histograms.recordMilliseconds(fromSend, freeAtMs - startMs);
  }
  assert.equal(fromSend.getValueAtPercentile(99) / 1000, 0.5, "timing from the send hides the stall");
  // Operations 1000..~2000 waited: roughly half of them at least half a second.
  assert.ok(measured.getValueAtPercentile(75) / 1000 > 400, `p75 ${measured.getValueAtPercentile(75) / 1000}`);
  assert.equal(measured.getValueAtPercentile(25) / 1000, 0.5);
});

test("open loop: the schedule is a fixed rate from the start", () => {
  assert.equal(dueAtMs(100, 200, 0), 100);
  assert.equal(dueAtMs(100, 200, 10), 150);
  assert.equal(dueCountAt(100, 200, 99), 0);
  assert.equal(dueCountAt(100, 200, 100), 1);
  assert.equal(dueCountAt(100, 200, 149.9), 10);
  assert.equal(dueCountAt(100, 200, 150), 11);
});
