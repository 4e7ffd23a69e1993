// Types of histogram.mjs for the TypeScript tests.
export interface LatencyHistogram {
  readonly totalCount: number;
  readonly maxValue: number;
  readonly mean: number;
  recordValue(value: number): void;
  getValueAtPercentile(percentile: number): number;
  add(other: LatencyHistogram): void;
}
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}
export function latencyHistogram(): LatencyHistogram;
export function recordMilliseconds(histogram: LatencyHistogram, milliseconds: number): void;
export function recordMillisecondsCorrected(histogram: LatencyHistogram, milliseconds: number, expectedIntervalMilliseconds: number): void;
export function encodeHistogram(histogram: LatencyHistogram): string;
export function decodeHistogram(encoded: string): LatencyHistogram;
export function mergeHistograms(histograms: ReadonlyArray<LatencyHistogram | string>): LatencyHistogram;
export function latencySummary(histogram: LatencyHistogram): LatencySummary;
