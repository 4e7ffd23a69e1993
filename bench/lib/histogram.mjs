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
    maxMs: milliseconds(histogram.maxValue),
  };
}
