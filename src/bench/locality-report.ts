// What `npm run bench:locality` (scripts/locality-sweep.mjs) writes from
// its runs: the per-region rows, the Maestro ÷ ZooKeeper ratios, a Markdown
// report and an HTML page with inline SVG charts of latency and throughput
// against locality. Pure: the sweep's record in, strings out.

import { escapeXml, formatTable, lineChartSvg, type Series } from "./report.js";

/** Latency of one region's writes in one run (ms), with how many there were. */
export interface SweepLatency {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export interface SweepRegion extends SweepLatency {
  /** The region's name (the topology's), its bench index is its position. */
  readonly region: string;
  readonly operationsPerSecond: number;
  /** Writes to keys in the region's own slice / in another region's slice; null when there were none. */
  readonly local: SweepLatency | null;
  readonly remote: SweepLatency | null;
}

/** How the units stood: the root's view over the run and every node's at the end. */
export interface SweepLeases {
  /** unit -> home region (the topology's). */
  readonly homes: Readonly<Record<string, string>>;
  /** unit -> owner at the end, as the root saw it. */
  readonly ownersAtEnd: Readonly<Record<string, string>>;
  /** Owner changes the root's view showed, ms from the start of the recorded window (negative: set-up or warm-up). */
  readonly moves: ReadonlyArray<{ readonly unit: string; readonly from: string; readonly to: string; readonly atMs: number; readonly epoch?: number }>;
  /** unit -> origin region -> writes the root counted from just before the recorded window to the end (renewals report them). */
  readonly writesByOrigin: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Whether every node named the same owner for every unit at the end. */
  readonly nodesAgree: boolean;
}

export interface SweepRun {
  readonly deployment: string;
  readonly locality: number;
  /** null when the run failed (see error). */
  readonly operationsPerSecond: number | null;
  readonly regions: readonly SweepRegion[];
  readonly errors: Readonly<Record<string, number>>;
  readonly error?: string;
  /** Something that makes the run unlike the others (e.g. ZooKeeper's leader elsewhere than the first region). */
  readonly warning?: string;
  /** region -> server mode at the start (leader, follower, observer, standalone). */
  readonly servers?: Readonly<Record<string, string>>;
  readonly leases?: SweepLeases;
  /**
   * Conditions: when it ran, busy cores on the machine just before (after the
   * quiet wait), load average then, the wait for the lab lock plus the quiet
   * wait, and the quiet wait alone.
   */
  readonly startedAt?: string;
  readonly busyCoresBefore?: number | null;
  /** Busy cores of everything but the run's own processes, over the run (lab start to stop). */
  readonly otherBusyCoresDuring?: number | null;
  readonly loadAverageAtLock?: readonly number[] | null;
  readonly lockWaitMs?: number;
  readonly quietWaitMs?: number | null;
  /** Set when the run was done again (--redo): what the first one was. */
  readonly replaced?: {
    readonly startedAt?: string;
    readonly busyCoresBefore?: number | null;
    readonly otherBusyCoresDuring?: number | null;
    readonly operationsPerSecond: number | null;
    readonly error?: string;
    readonly warning?: string;
  };
}

export interface SweepRatio {
  readonly locality: number;
  /** A region's name, or "all". */
  readonly region: string;
  readonly numerator: string;
  readonly denominator: string;
  /** numerator ÷ denominator: latency < 1 and throughput > 1 favour the numerator. */
  readonly p50: number;
  readonly p99: number;
  readonly throughput: number;
}

export interface SweepRecord {
  readonly commit: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly options: {
    readonly localities: readonly number[];
    readonly deployments: readonly string[];
    readonly durationS: number;
    readonly warmupS: number;
    readonly sessions: number;
    readonly mix: string;
    readonly keys: number;
    readonly seed: number;
  };
  readonly regionNames: readonly string[];
  readonly notes: readonly string[];
  readonly runs: readonly SweepRun[];
  /** --redo invocations: which runs were done again, when, at which commit. */
  readonly redone?: ReadonlyArray<{ readonly command: string; readonly commit: string; readonly at: string; readonly runs: ReadonlyArray<{ readonly deployment: string; readonly locality: number }> }>;
}

const maestroDeployments = ["maestro-adaptive", "maestro-central"];
const zooKeeperDeployments = ["zk-ensemble", "zk-observers"];

function runOf(runs: readonly SweepRun[], deployment: string, locality: number): SweepRun | undefined {
  return runs.find((run) => run.deployment === deployment && run.locality === locality && run.operationsPerSecond !== null);
}

function regionOf(run: SweepRun, region: string): { p50Ms: number; p99Ms: number; operationsPerSecond: number } | undefined {
  if (region === "all") return undefined;
  return run.regions.find((entry) => entry.region === region);
}

/**
 * Maestro ÷ ZooKeeper per locality and region, for every Maestro deployment
 * and ZooKeeper deployment the runs hold (each pair only where both ran at
 * that locality). "all" compares total throughput only (its latency mixes
 * regions whose shares differ by deployment in a closed loop).
 */
export function sweepRatios(runs: readonly SweepRun[], regionNames: readonly string[]): SweepRatio[] {
  const ratios: SweepRatio[] = [];
  const localities = [...new Set(runs.map((run) => run.locality))].sort((a, b) => a - b);
  for (const numerator of maestroDeployments) {
    for (const denominator of zooKeeperDeployments) {
      for (const locality of localities) {
        const top = runOf(runs, numerator, locality);
        const bottom = runOf(runs, denominator, locality);
        if (top === undefined || bottom === undefined) continue;
        for (const region of regionNames) {
          const a = regionOf(top, region);
          const b = regionOf(bottom, region);
          if (a === undefined || b === undefined) continue;
          ratios.push({ locality, region, numerator, denominator, p50: a.p50Ms / b.p50Ms, p99: a.p99Ms / b.p99Ms, throughput: a.operationsPerSecond / b.operationsPerSecond });
        }
        ratios.push({ locality, region: "all", numerator, denominator, p50: Number.NaN, p99: Number.NaN, throughput: top.operationsPerSecond! / bottom.operationsPerSecond! });
      }
    }
  }
  return ratios;
}

const milliseconds = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "–" : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
const ratioText = (value: number): string => (!Number.isFinite(value) ? "–" : value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value.toFixed(3));
const markdownRow = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;

function markdownTable(header: readonly string[], alignRightFrom: number, rows: ReadonlyArray<readonly string[]>): string {
  const rule = header.map((_, column) => (column >= alignRightFrom ? "---:" : "---"));
  return [markdownRow(header), markdownRow(rule), ...rows.map(markdownRow)].join("\n");
}

/** One row per deployment, locality and region: throughput, p50/p99 of all writes, of local-slice and remote-slice writes. */
export function regionRowsMarkdown(record: SweepRecord): string {
  const rows: string[][] = [];
  for (const deployment of record.options.deployments) {
    for (const locality of record.options.localities) {
      const run = record.runs.find((entry) => entry.deployment === deployment && entry.locality === locality);
      if (run === undefined) continue;
      if (run.operationsPerSecond === null) {
        rows.push([deployment, `${locality}`, "(failed)", "", "", "", "", "", "", "", ""]);
        continue;
      }
      for (const region of run.regions) {
        rows.push([
          deployment,
          `${locality}`,
          region.region,
          String(region.count),
          region.operationsPerSecond.toFixed(0),
          milliseconds(region.p50Ms),
          milliseconds(region.p99Ms),
          milliseconds(region.local?.p50Ms),
          milliseconds(region.local?.p99Ms),
          milliseconds(region.remote?.p50Ms),
          milliseconds(region.remote?.p99Ms),
        ]);
      }
    }
  }
  return markdownTable(["deployment", "locality %", "region", "writes", "ops/s", "p50 ms", "p99 ms", "local p50", "local p99", "remote p50", "remote p99"], 1, rows);
}

export function throughputMarkdown(record: SweepRecord): string {
  const rows = record.options.deployments.map((deployment) => [
    deployment,
    ...record.options.localities.map((locality) => {
      const run = runOf(record.runs, deployment, locality);
      return run === undefined ? "–" : run.operationsPerSecond!.toFixed(0);
    }),
  ]);
  return markdownTable(["deployment", ...record.options.localities.map((locality) => `${locality} %`)], 1, rows);
}

export function ratiosMarkdown(ratios: readonly SweepRatio[], numerator: string): string {
  const localities = [...new Set(ratios.map((ratio) => ratio.locality))].sort((a, b) => a - b);
  const regions = [...new Set(ratios.map((ratio) => ratio.region))];
  const rows: string[][] = [];
  for (const locality of localities) {
    for (const region of regions) {
      const of = (denominator: string) => ratios.find((ratio) => ratio.numerator === numerator && ratio.denominator === denominator && ratio.locality === locality && ratio.region === region);
      const ensemble = of("zk-ensemble");
      const observers = of("zk-observers");
      if (ensemble === undefined && observers === undefined) continue;
      const cells = (ratio: SweepRatio | undefined) => (ratio === undefined ? ["–", "–", "–"] : [ratioText(ratio.p50), ratioText(ratio.p99), ratioText(ratio.throughput)]);
      rows.push([`${locality}`, region, ...cells(ensemble), ...cells(observers)]);
    }
  }
  return markdownTable(["locality %", "region", "÷ ensemble p50", "÷ ensemble p99", "÷ ensemble ops/s", "÷ observers p50", "÷ observers p99", "÷ observers ops/s"], 2, rows);
}

/** Where the units were at the end of each run that watched them, what moved, and who wrote to them. */
export function leasesMarkdown(record: SweepRecord): string | null {
  const watched = record.runs.filter((run) => run.leases !== undefined);
  if (watched.length === 0) return null;
  const rows: string[][] = [];
  for (const run of watched) {
    const leases = run.leases!;
    for (const [unit, home] of Object.entries(leases.homes)) {
      const writes = leases.writesByOrigin[unit] ?? {};
      const total = Object.values(writes).reduce((sum, count) => sum + count, 0);
      const shares = record.regionNames.map((region) => `${region} ${total > 0 ? (((writes[region] ?? 0) * 100) / total).toFixed(0) : "0"} %`).join(", ");
      const moves = leases.moves
        .filter((move) => move.unit === unit)
        .map((move) => {
          const change = move.from === move.to ? `epoch ${move.epoch ?? "?"}, owner still ${move.to}` : `${move.from}→${move.to}${move.epoch === undefined ? "" : ` (epoch ${move.epoch})`}`;
          return `${change} at ${(move.atMs / 1000).toFixed(1)} s`;
        });
      rows.push([run.deployment, `${run.locality}`, unit, home, leases.ownersAtEnd[unit] ?? "?", moves.length === 0 ? "none" : moves.join("; "), `${total}: ${shares}`, leases.nodesAgree ? "yes" : "no"]);
    }
  }
  return markdownTable(["deployment", "locality %", "unit", "home", "owner at end", "owner or epoch changes (s from the recorded start)", "writes by origin in the recorded window (root's count)", "nodes agree"], 1, rows);
}

function replacedNote(replaced: NonNullable<SweepRun["replaced"]>): string {
  const conditions = [
    replaced.otherBusyCoresDuring === undefined || replaced.otherBusyCoresDuring === null
      ? `${replaced.busyCoresBefore?.toFixed(2) ?? "?"} busy cores just before`
      : `${replaced.otherBusyCoresDuring.toFixed(2)} other busy cores during`,
    replaced.warning,
    replaced.error,
    `${replaced.operationsPerSecond?.toFixed(0) ?? "no result"} ops/s`,
  ].filter((part) => part !== undefined);
  return `done again; the first run (${replaced.startedAt ?? "?"}): ${conditions.join(", ")}`;
}

/** When each run ran and what else the machine was doing just before. */
export function conditionsMarkdown(record: SweepRecord): string {
  const rows = record.runs.map((run) => [
    run.deployment,
    `${run.locality}`,
    run.startedAt ?? "–",
    run.busyCoresBefore === undefined || run.busyCoresBefore === null ? "–" : run.busyCoresBefore.toFixed(2),
    run.otherBusyCoresDuring === undefined || run.otherBusyCoresDuring === null ? "–" : run.otherBusyCoresDuring.toFixed(2),
    run.loadAverageAtLock?.map((value) => value.toFixed(2)).join(" / ") ?? "–",
    run.lockWaitMs === undefined ? "–" : (run.lockWaitMs / 1000).toFixed(1),
    run.quietWaitMs === undefined || run.quietWaitMs === null ? "–" : (run.quietWaitMs / 1000).toFixed(1),
    run.replaced === undefined ? "" : replacedNote(run.replaced),
  ]);
  return markdownTable(["deployment", "locality %", "started", "busy cores just before", "other busy cores during", "load average then", "lock + quiet wait s", "quiet wait s", "note"], 1, rows);
}

/** The run's own warning, or one for a ZooKeeper run whose leader was not in the first region. */
export function runWarning(run: SweepRun, regionNames: readonly string[]): string | undefined {
  if (run.warning !== undefined) return run.warning;
  if (!run.deployment.startsWith("zk-") || run.servers === undefined) return undefined;
  const leader = Object.entries(run.servers).find(([, mode]) => mode === "leader")?.[0];
  return leader === regionNames[0] ? undefined : `ZooKeeper leader in ${leader ?? "no region"}, not ${regionNames[0]}`;
}

function failedRunsMarkdown(record: SweepRecord): string | null {
  const lines = record.runs
    .map((run) => ({ run, warning: runWarning(run, record.regionNames) }))
    .filter(({ run, warning }) => run.operationsPerSecond === null || warning !== undefined || Object.keys(run.errors).length > 0)
    .map(({ run, warning }) => `- ${run.deployment} at ${run.locality} %: ${[run.error, warning, Object.keys(run.errors).length > 0 ? `errors ${JSON.stringify(run.errors)}` : undefined].filter((part) => part !== undefined).join("; ")}`);
  return lines.length === 0 ? null : lines.join("\n");
}

export function sweepMarkdown(record: SweepRecord, ratios: readonly SweepRatio[]): string {
  const { options } = record;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(" / ");
  const sections = [
    `# Locality sweep: write latency and throughput per region (${record.startedAt.slice(0, 10)})`,
    "",
    `Generated by \`${record.command.replace(/ --$/, "")}\` (scripts/locality-sweep.mjs) from ${record.startedAt} to ${record.finishedAt}, commit ${record.commit}.`,
    ...(record.redone ?? []).map(
      (redo) => `Done again (\`${redo.command}\`, commit ${redo.commit}, ${redo.at}): ${redo.runs.map((run) => `${run.deployment} at ${run.locality} %`).join(", ")}; see Run conditions.`,
    ),
    `Load average (1 / 5 / 15 min) at the start ${load(record.loadAverage.start)}, at the end ${load(record.loadAverage.end)}.`,
    "",
    `Workload: closed loop, mix ${options.mix}, ${options.sessions} sessions (session i in region i mod ${record.regionNames.length}, on its own region's server), ` +
      `${options.keys} keys in ${record.regionNames.length} region slices under /maestro-bench/r<slice>, ${options.warmupS} s warm-up then ${options.durationS} s recorded, seed ${options.seed}. ` +
      "`--locality P`: a region's write goes to a key of its own slice with probability P % (uniform in the slice), otherwise to a uniform key of one of the other two slices, picked evenly. " +
      "\"local\" / \"remote\": the key is in the writing region's own slice / another's. One run per deployment and locality: read them as single measurements.",
    "",
    ...record.notes.map((note) => `- ${note}`),
    "",
    "## Writes per region",
    "",
    regionRowsMarkdown(record),
    "",
    "## Throughput, all regions (ops/s)",
    "",
    throughputMarkdown(record),
  ];
  for (const numerator of maestroDeployments) {
    if (!ratios.some((ratio) => ratio.numerator === numerator)) continue;
    sections.push(
      "",
      `## Ratios: ${numerator} ÷ ZooKeeper, same locality and region (< 1 favours Maestro for latency, > 1 for ops/s)`,
      "",
      ratiosMarkdown(ratios, numerator),
    );
  }
  const leases = leasesMarkdown(record);
  if (leases !== null) sections.push("", "## Lease units (maestro-adaptive: majority-window on every unit)", "", leases);
  sections.push("", "## Run conditions", "", conditionsMarkdown(record));
  const failed = failedRunsMarkdown(record);
  if (failed !== null) sections.push("", "## Failed runs, warnings and errors", "", failed);
  sections.push("");
  return sections.join("\n");
}

/** Lines of `pick` against locality, one per deployment. */
function seriesOf(record: SweepRecord, pick: (run: SweepRun) => number | undefined): Series[] {
  return record.options.deployments.map((deployment) => ({
    name: deployment,
    points: record.options.localities
      .map((locality) => {
        const run = runOf(record.runs, deployment, locality);
        return [locality, run === undefined ? undefined : pick(run)] as const;
      })
      .filter((point): point is readonly [number, number] => point[1] !== undefined && Number.isFinite(point[1])),
  }));
}

function localityScale(localities: readonly number[]): { position: (x: number) => number; ticks: ReadonlyArray<readonly [number, string]> } {
  return { position: (x) => x / 100, ticks: [...new Set([0, 100, ...localities])].sort((a, b) => a - b).map((value) => [value, `${value}`] as const) };
}

export function sweepHtml(record: SweepRecord, ratios: readonly SweepRatio[]): string {
  const xScale = localityScale(record.options.localities);
  const xLabel = "locality: % of a region's writes to its own slice";
  const charts: string[] = [];
  for (const region of record.regionNames) {
    const latency = (field: "p50Ms" | "p99Ms") => (run: SweepRun) => run.regions.find((entry) => entry.region === region)?.[field];
    charts.push(`<h3>${escapeXml(region)}</h3>`);
    charts.push(lineChartSvg({ title: `${region}: write p50`, xLabel, yLabel: "ms (log)", xScale, yLog: true, series: seriesOf(record, latency("p50Ms")) }));
    charts.push(lineChartSvg({ title: `${region}: write p99`, xLabel, yLabel: "ms (log)", xScale, yLog: true, series: seriesOf(record, latency("p99Ms")) }));
    charts.push(
      lineChartSvg({
        title: `${region}: throughput`,
        xLabel,
        yLabel: "writes/s (log)",
        xScale,
        yLog: true,
        series: seriesOf(record, (run) => run.regions.find((entry) => entry.region === region)?.operationsPerSecond),
      }),
    );
  }
  const total = lineChartSvg({ title: "throughput, all regions", xLabel, yLabel: "writes/s (log)", xScale, yLog: true, series: seriesOf(record, (run) => run.operationsPerSecond ?? undefined) });
  const ratioTables = maestroDeployments
    .filter((numerator) => ratios.some((ratio) => ratio.numerator === numerator))
    .map((numerator) => {
      const rows = [["locality %", "region", "vs", "p50 ratio", "p99 ratio", "ops/s ratio"]];
      for (const ratio of ratios.filter((entry) => entry.numerator === numerator)) {
        rows.push([`${ratio.locality}`, ratio.region, ratio.denominator, ratioText(ratio.p50), ratioText(ratio.p99), ratioText(ratio.throughput)]);
      }
      return `<h3>${escapeXml(numerator)} ÷ ZooKeeper</h3>\n<pre>${escapeXml(formatTable(rows))}</pre>`;
    });
  return [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"><title>Maestro locality sweep</title>',
    "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;overflow:auto}svg{margin:0.5em}</style></head><body>",
    "<h1>Locality sweep: writes per region against locality</h1>",
    `<p><code>${escapeXml(record.command)}</code><br>${escapeXml(record.startedAt)} to ${escapeXml(record.finishedAt)}, commit ${escapeXml(record.commit)}; ` +
      `${record.options.sessions} sessions, ${escapeXml(record.options.mix)}, ${record.options.durationS} s per run. Latency axes are logarithmic.</p>`,
    "<h2>Throughput</h2>",
    total,
    "<h2>Per region</h2>",
    ...charts,
    "<h2>Ratios (Maestro ÷ ZooKeeper; latency &lt; 1 and throughput &gt; 1 favour Maestro)</h2>",
    ...ratioTables,
    "</body></html>",
    "",
  ].join("\n");
}
