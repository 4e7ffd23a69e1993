// Latency histograms for the benchmarks: HdrHistogram (hdr-histogram-js)
// recording microseconds, so sub-millisecond loopback latencies keep three
// significant digits. Workers encode their histograms (compressed base64,
// HdrHistogram's own interchange format) and the parent merges them; merging
// histograms, not averaging percentiles, is the only way to get correct
// percentiles across workers.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const hdr = require("hdr-histogram-js");

/** An hour, in microseconds: anything longer is a hung run, not a latency. */
const latencyMicrosecondsMax = 3_600_000_000;

export function latencyHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: latencyMicrosecondsMax,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Records one latency given in milliseconds (performance.now() differences). */
export function recordMilliseconds(histogram, milliseconds) {
  const microseconds = Math.round(milliseconds * 1000);
  histogram.recordValue(Math.min(latencyMicrosecondsMax, Math.max(1, microseconds)));
}

export function encodeHistogram(histogram) {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded) {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** A new histogram holding the sum of the given (encoded or live) histograms. */
export function mergeHistograms(histograms) {
  const merged = latencyHistogram();
  for (const histogram of histograms) merged.add(typeof histogram === "string" ? decodeHistogram(histogram) : histogram);
  return merged;
}

/** The percentiles every benchmark reports, in milliseconds. */
export function latencySummary(histogram) {
  const milliseconds = (microseconds) => microseconds / 1000;
  return {
    count: histogram.totalCount,
    meanMs: milliseconds(histogram.mean),
    p50Ms: milliseconds(histogram.getValueAtPercentile(50)),
    p90Ms: milliseconds(histogram.getValueAtPercentile(90)),
    p99Ms: milliseconds(histogram.getValueAtPercentile(99)),
    p999Ms: milliseconds(histogram.getValueAtPercentile(99.9)),
    // The max at the histogram's resolution (3 significant digits), as the
    // percentiles are: a live histogram's maxValue is exact but a merged
    // one's is its bucket's top, so merged and single runs would differ.
    maxMs: milliseconds(histogram.getValueAtPercentile(100)),
  };
}

/**
 * Records a closed-loop latency corrected for coordinated omission: when one
 * operation took longer than the expected interval between operations, the
 * operations that a steady client would have issued meanwhile (and that
 * would have waited) are recorded too, at latency - interval, latency -
 * 2·interval, ... (HdrHistogram's recordValueWithExpectedInterval).
 */
export function recordMillisecondsCorrected(histogram, milliseconds, expectedIntervalMilliseconds) {
  const microseconds = Math.min(latencyMicrosecondsMax, Math.max(1, Math.round(milliseconds * 1000)));
  histogram.recordValueWithExpectedInterval(microseconds, Math.max(1, Math.round(expectedIntervalMilliseconds * 1000)));
}
