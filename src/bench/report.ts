// What `npm run bench` prints and draws: text tables, the Maestro/ZooKeeper
// ratios, and a self-contained HTML page with inline SVG charts (latency by
// percentile per operation type, throughput per second). Pure: data in,
// strings out.

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** One point of a latency-by-percentile curve. */
export interface PercentilePoint {
  readonly percentile: number;
  readonly ms: number;
}

export interface RunForReport {
  readonly label: string;
  readonly target: string;
  readonly operationsPerSecond: number;
  readonly latency: LatencySummary;
  readonly byType: Readonly<Record<string, LatencySummary & { readonly distribution?: readonly PercentilePoint[] }>>;
  readonly perSecond: readonly number[];
}

/** The percentiles drawn on the latency charts. */
export const chartPercentiles = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100] as const;

export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")).join("\n");
}

const milliseconds = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** One row per run and operation type (and "all"): count, throughput, p50, p90, p99, p99.9, max. */
export function latencyTable(runs: readonly RunForReport[]): string {
  const rows: string[][] = [["run", "operation", "count", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]];
  for (const run of runs) {
    const seconds = run.latency.count / Math.max(run.operationsPerSecond, Number.MIN_VALUE);
    const entries: Array<[string, LatencySummary]> = [["all", run.latency], ...Object.entries(run.byType).sort(([a], [b]) => a.localeCompare(b))];
    for (const [type, summary] of entries) {
      const rate = type === "all" ? run.operationsPerSecond : summary.count / seconds;
      rows.push([run.label, type, String(summary.count), rate.toFixed(0), ...[summary.p50Ms, summary.p90Ms, summary.p99Ms, summary.p999Ms, summary.maxMs].map(milliseconds)]);
    }
  }
  return formatTable(rows);
}

/** One row per run and region, when the sessions were spread over more than one region. */
export function regionTable(runs: ReadonlyArray<RunForReport & { readonly byRegion?: Readonly<Record<string, LatencySummary>> }>): string | null {
  if (!runs.some((run) => Object.keys(run.byRegion ?? {}).length > 1)) return null;
  const rows: string[][] = [["run", "region", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]];
  for (const run of runs) {
    for (const [region, summary] of Object.entries(run.byRegion ?? {}).sort(([a], [b]) => Number(a) - Number(b))) {
      rows.push([run.label, region, String(summary.count), ...[summary.p50Ms, summary.p90Ms, summary.p99Ms, summary.p999Ms, summary.maxMs].map(milliseconds)]);
    }
  }
  return formatTable(rows);
}

/** Latency by region, operation type and key owner: { region: { type: { local?, remote? } } }. */
export type KeyOwnerSummaries = Readonly<Record<string, Readonly<Record<string, Readonly<Partial<Record<"local" | "remote", LatencySummary>>>>>>>;

/**
 * One row per run, region, operation type and key owner: "local" keys lie
 * in the region's own slice of the key space, "remote" keys in another
 * region's. `types` narrows the operation types (default: all); null when no
 * run spread its sessions over more than one region.
 */
export function keyOwnerTable(
  runs: ReadonlyArray<RunForReport & { readonly byRegionKeyOwner?: KeyOwnerSummaries }>,
  types?: readonly string[],
): string | null {
  if (!runs.some((run) => Object.keys(run.byRegionKeyOwner ?? {}).length > 1)) return null;
  const rows: string[][] = [["run", "region", "operation", "keys", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]];
  for (const run of runs) {
    for (const [region, byType] of Object.entries(run.byRegionKeyOwner ?? {}).sort(([a], [b]) => Number(a) - Number(b))) {
      for (const [type, byOwner] of Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))) {
        if (types !== undefined && !types.includes(type)) continue;
        for (const owner of ["local", "remote"] as const) {
          const summary = byOwner[owner];
          if (summary === undefined) continue;
          rows.push([run.label, region, type, owner, String(summary.count), ...[summary.p50Ms, summary.p90Ms, summary.p99Ms, summary.p999Ms, summary.maxMs].map(milliseconds)]);
        }
      }
    }
  }
  return formatTable(rows);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Ratio {
  readonly operation: string;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * numerator/denominator ratios of the medians over rounds, overall and per
 * operation type both targets ran: throughput > 1 and latency < 1 favour
 * the numerator.
 */
export function ratios(runs: readonly RunForReport[], numerator: string, denominator: string): Ratio[] {
  const of = (target: string) => runs.filter((run) => run.target === target);
  const top = of(numerator);
  const bottom = of(denominator);
  if (top.length === 0 || bottom.length === 0) return [];
  const summaries = (list: readonly RunForReport[], type: string) =>
    list.map((run) => ({ rate: type === "all" ? run.operationsPerSecond : (run.byType[type]?.count ?? 0) / (run.latency.count / run.operationsPerSecond), summary: type === "all" ? run.latency : run.byType[type] }));
  const types = ["all", ...new Set(top.flatMap((run) => Object.keys(run.byType)))].filter((type) => type === "all" || bottom.every((run) => run.byType[type] !== undefined));
  return types.map((type) => {
    const a = summaries(top, type);
    const b = summaries(bottom, type);
    const medianOf = (list: typeof a, pick: (entry: (typeof a)[number]) => number) => median(list.map(pick));
    return {
      operation: type,
      throughput: medianOf(a, (entry) => entry.rate) / medianOf(b, (entry) => entry.rate),
      p50: medianOf(a, (entry) => entry.summary?.p50Ms ?? NaN) / medianOf(b, (entry) => entry.summary?.p50Ms ?? NaN),
      p99: medianOf(a, (entry) => entry.summary?.p99Ms ?? NaN) / medianOf(b, (entry) => entry.summary?.p99Ms ?? NaN),
    };
  });
}

export function ratioTable(list: readonly Ratio[], numerator: string, denominator: string): string {
  const rows = [["operation", `throughput ${numerator}/${denominator}`, "p50 ratio", "p99 ratio"]];
  for (const ratio of list) rows.push([ratio.operation, ratio.throughput.toFixed(2), ratio.p50.toFixed(2), ratio.p99.toFixed(2)]);
  return formatTable(rows);
}

// ---- Charts ----

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Maps an x value to [0, 1] and labels the ticks. */
  readonly xScale: { readonly position: (x: number) => number; readonly ticks: ReadonlyArray<readonly [number, string]> };
  readonly yLog: boolean;
}

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const chartWidth = 640;
const chartHeight = 320;
const margin = { left: 64, right: 150, top: 30, bottom: 44 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Percentile p (0..100) on the "nines" axis: 0 -> 0, 90 -> 1, 99 -> 2, 99.9 -> 3 ... capped at 5 nines. */
export function ninesOf(percentile: number): number {
  const nines = -Math.log10(Math.max(1e-5, 1 - percentile / 100));
  return Math.min(5, nines);
}

export function percentileScale(): ChartOptions["xScale"] {
  return {
    position: (percentile) => ninesOf(percentile) / 5,
    ticks: [[0, "0"], [90, "90"], [99, "99"], [99.9, "99.9"], [99.99, "99.99"], [100, "max"]],
  };
}

export function linearScale(max: number, ticks = 5): ChartOptions["xScale"] {
  const top = Math.max(1, max);
  return {
    position: (x) => x / top,
    ticks: Array.from({ length: ticks + 1 }, (_, index) => {
      const value = (top * index) / ticks;
      return [value, String(Number(value.toFixed(1)))] as const;
    }),
  };
}

function yRange(series: readonly Series[], log: boolean): { low: number; high: number } {
  const values = series.flatMap((line) => line.points.map(([, y]) => y)).filter((y) => Number.isFinite(y) && (!log || y > 0));
  if (values.length === 0) return { low: log ? 0.01 : 0, high: 1 };
  const high = Math.max(...values);
  if (!log) return { low: 0, high: high > 0 ? high * 1.05 : 1 };
  const low = Math.min(...values);
  return { low: Math.pow(10, Math.floor(Math.log10(low))), high: Math.pow(10, Math.ceil(Math.log10(high * 1.0001))) };
}

/** A line chart as an inline <svg> element. */
export function lineChartSvg(options: ChartOptions): string {
  const plotWidth = chartWidth - margin.left - margin.right;
  const plotHeight = chartHeight - margin.top - margin.bottom;
  const { low, high } = yRange(options.series, options.yLog);
  const yPosition = (y: number): number => {
    const fraction = options.yLog ? (Math.log10(Math.max(y, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low)) : (y - low) / (high - low);
    return margin.top + plotHeight * (1 - fraction);
  };
  const xPosition = (x: number): number => margin.left + plotWidth * options.xScale.position(x);
  const yTicks: number[] = [];
  if (options.yLog) for (let tick = low; tick <= high * 1.0001; tick *= 10) yTicks.push(tick);
  else for (let index = 0; index <= 4; index += 1) yTicks.push(low + ((high - low) * index) / 4);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${chartWidth}" height="${chartHeight}" viewBox="0 0 ${chartWidth} ${chartHeight}" font-family="sans-serif" font-size="11">`,
    `<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  ];
  for (const tick of yTicks) {
    const y = yPosition(tick).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(String(Number(tick.toPrecision(3))))}</text>`);
  }
  for (const [value, label] of options.xScale.ticks) {
    const x = xPosition(value).toFixed(1);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 14}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${chartHeight - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="12" y="${margin.top + plotHeight / 2}" transform="rotate(-90 12 ${margin.top + plotHeight / 2})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  options.series.forEach((line, index) => {
    const colour = palette[index % palette.length]!;
    const points = line.points.map(([x, y]) => `${xPosition(x).toFixed(1)},${yPosition(y).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/>`);
    const legendY = margin.top + 14 * index + 8;
    parts.push(`<line x1="${chartWidth - margin.right + 10}" x2="${chartWidth - margin.right + 28}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${chartWidth - margin.right + 32}" y="${legendY}" dominant-baseline="middle">${escapeXml(line.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** The whole page: a header, the table, a latency chart per operation type, throughput over time. */
export function reportHtml({ title, command, table, runs }: { title: string; command: string; table: string; runs: readonly RunForReport[] }): string {
  const types = [...new Set(runs.flatMap((run) => Object.keys(run.byType)))].sort();
  const latencyCharts = types.map((type) =>
    lineChartSvg({
      title: `${type}: latency by percentile`,
      xLabel: "percentile",
      yLabel: "ms (log)",
      xScale: percentileScale(),
      yLog: true,
      series: runs.flatMap((run) => {
        const distribution = run.byType[type]?.distribution;
        return distribution === undefined ? [] : [{ name: run.label, points: distribution.map((point) => [point.percentile, point.ms] as const) }];
      }),
    }),
  );
  const seconds = Math.max(1, ...runs.map((run) => run.perSecond.length));
  const throughputChart = lineChartSvg({
    title: "throughput per second",
    xLabel: "second of the measured window",
    yLabel: "operations/s",
    xScale: linearScale(seconds),
    yLog: false,
    series: runs.map((run) => ({ name: run.label, points: run.perSecond.map((count, second) => [second + 0.5, count] as const) })),
  });
  return [
    "<!DOCTYPE html>",
    `<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title>`,
    "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}svg{margin:0.5em}</style></head><body>",
    `<h1>${escapeXml(title)}</h1>`,
    `<p><code>${escapeXml(command)}</code></p>`,
    `<pre>${escapeXml(table)}</pre>`,
    "<h2>Throughput over time</h2>",
    throughputChart,
    "<h2>Latency distributions</h2>",
    ...latencyCharts,
    "</body></html>",
    "",
  ].join("\n");
}
