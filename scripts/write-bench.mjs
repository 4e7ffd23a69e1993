#!/usr/bin/env node
// Issue 4's write measurement: throughput and latency of durable writes
// (fsync on in both servers), Maestro against Apache ZooKeeper 3.8
// standalone, in one run on one machine.
//
//   npm run bench:writes                       # builds Maestro, then the defaults below
//   node scripts/write-bench.mjs --clients 1,32 --duration-s 15 --rounds 2
//
// Every run starts a fresh server on a fresh data directory under
// --data-root (default the OS temporary directory; it must be a real disk,
// not tmpfs, and the result file records which file system it was), drives
// it with N client sessions in a closed loop (each session awaits every
// operation before the next: a mix of creates of --value-bytes values under
// the session's own parent and setData on its own nodes), records latencies
// in HdrHistogram after a warm-up, then stops the server and deletes the
// directory. Rounds alternate which server goes first. The table shows
// every run, then medians per server and client count, and the
// Maestro/ZooKeeper ratios of throughput, p50 and p99. The JSON result
// (with the exact command, the machine, merged histograms, and the CPU used
// by the generator and the server during the measured window) goes to
// bench/results/writes-<date>.json unless --output says otherwise.
//
// The generator and the server share the machine's cores: the CPU columns
// say how close either came to a core's worth.
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startZooKeeper } from "./zookeeper-standalone.mjs";
import { startMaestro } from "./maestro-process.mjs";
import { runClosedLoop } from "../bench/lib/closed-loop.mjs";
import { connect, ensureNode } from "../bench/lib/zookeeper-client.mjs";
import { kernelThreadsCpuSeconds, machineCpuSeconds, machineInfo, processCpuSeconds, waitForQuietMachine } from "../bench/lib/process-stats.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const resultsDirectory = join(repositoryRoot, "bench", "results");
const benchRoot = "/write-bench";
const clientsMax = 1024;
const serverReadyTimeoutMs = 60_000;
const targetNames = ["zookeeper", "maestro"];

const usage = `usage: node scripts/write-bench.mjs [options]
  --clients LIST        client counts, one configuration each (default 1,32)
  --duration-s S        recorded seconds per run (default 15)
  --warmup-s S          unrecorded seconds before that (default 3)
  --ops-per-client N    stop a client after N recorded operations (default: time only)
  --rounds N            runs per server and client count, alternating order (default 2)
  --value-bytes N       bytes per created or set value (default 1024)
  --create-percent P    share of creates in the mix; the rest are setData (default 50)
  --workers N|auto      generator threads per run (auto: one per core, at most one per client)
  --targets LIST        zookeeper,maestro (default both)
  --zookeeper-port P    (default 2191)    --maestro-port P (default 2291)
  --data-root DIR       where fresh data directories are made (default ${tmpdir()})
  --output FILE         result file (default bench/results/writes-<date>.json)
  --quiet-wait-s S      before each run, wait up to S s for the machine to be idle (default 60)
  --max-other-cores C   a run during which other processes used more than C cores is
                        marked disturbed, left out of the medians and repeated (default 0.3)
  --retries N           repeats of a disturbed run (default 2)
  --timeout-s S         bound on the whole run (default 1800)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "1,32" },
      "duration-s": { type: "string", default: "15" },
      "warmup-s": { type: "string", default: "3" },
      "ops-per-client": { type: "string" },
      rounds: { type: "string", default: "2" },
      "value-bytes": { type: "string", default: "1024" },
      "create-percent": { type: "string", default: "50" },
      workers: { type: "string", default: "auto" },
      targets: { type: "string", default: targetNames.join(",") },
      "zookeeper-port": { type: "string", default: "2191" },
      "maestro-port": { type: "string", default: "2291" },
      "data-root": { type: "string", default: tmpdir() },
      output: { type: "string" },
      "timeout-s": { type: "string", default: "1800" },
      "quiet-wait-s": { type: "string", default: "60" },
      "max-other-cores": { type: "string", default: "0.3" },
      retries: { type: "string", default: "2" },
      help: { type: "boolean", default: false },
    },
  });
  const number = (text, name, min, max, integer = true) => {
    const value = Number(text);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got ${text}`);
    }
    return value;
  };
  const targets = values.targets.split(",").map((name) => name.trim());
  for (const target of targets) if (!targetNames.includes(target)) throw new Error(`--targets: unknown target ${target}`);
  return {
    help: values.help,
    clients: values.clients.split(",").map((text) => number(text.trim(), "clients", 1, clientsMax)),
    durationMs: number(values["duration-s"], "duration-s", 0.1, 3600, false) * 1000,
    warmupMs: number(values["warmup-s"], "warmup-s", 0, 600, false) * 1000,
    operationsPerClientMax: values["ops-per-client"] === undefined ? undefined : number(values["ops-per-client"], "ops-per-client", 1, 100_000_000),
    rounds: number(values.rounds, "rounds", 1, 100),
    valueBytes: number(values["value-bytes"], "value-bytes", 0, 1_000_000),
    createPercent: number(values["create-percent"], "create-percent", 0, 100, false),
    workers: values.workers === "auto" ? "auto" : number(values.workers, "workers", 1, 64),
    targets,
    zookeeperPort: number(values["zookeeper-port"], "zookeeper-port", 1, 65535),
    maestroPort: number(values["maestro-port"], "maestro-port", 1, 65535),
    dataRoot: resolve(values["data-root"]),
    output: values.output === undefined ? undefined : resolve(values.output),
    timeoutMs: number(values["timeout-s"], "timeout-s", 1, 86_400) * 1000,
    quietWaitMs: number(values["quiet-wait-s"], "quiet-wait-s", 0, 3600, false) * 1000,
    maxOtherCores: number(values["max-other-cores"], "max-other-cores", 0, 1024, false),
    retries: number(values.retries, "retries", 0, 10),
  };
}

function workerCount(options, clients, cpus) {
  const wanted = options.workers === "auto" ? cpus : options.workers;
  return Math.max(1, Math.min(clients, wanted));
}

// Round r runs ZooKeeper first when r is odd and Maestro first when even,
// for every client count, so neither server always runs on a warmer machine.
function schedule(options) {
  const runs = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const clients of options.clients) {
      const order = round % 2 === 1 ? options.targets : [...options.targets].reverse();
      for (const target of order) runs.push({ round, clients, target });
    }
  }
  return runs;
}

async function startServer(target, options, dataDir) {
  if (target === "zookeeper") {
    return startZooKeeper({ port: options.zookeeperPort, dataDir, forceSync: true, fourLetterWords: "ruok,srvr", readyTimeoutMs: serverReadyTimeoutMs });
  }
  return startMaestro({ port: options.maestroPort, dataDir, fourLetterWords: "ruok,srvr", readyTimeoutMs: serverReadyTimeoutMs });
}

/**
 * CPU used between two moments, in cores: by the server, by this process
 * (the generator threads included), by kernel threads (journal commits and
 * writeback behind fsync), by interrupt handling, and by every other
 * process on the machine. "Other" is what disturbs a measurement.
 */
function cpuMeter(serverPid) {
  const sample = () => ({
    atMs: performance.now(),
    server: processCpuSeconds(serverPid),
    generator: process.cpuUsage(),
    machine: machineCpuSeconds(),
    kernelThreads: kernelThreadsCpuSeconds(),
  });
  let first = null;
  let last = null;
  return {
    start: () => (first = sample()),
    end: () => (last ??= sample()),
    cores() {
      if (first === null) return null;
      const end = last ?? sample();
      const seconds = (end.atMs - first.atMs) / 1000;
      const perSecond = (value) => value / seconds;
      const generatorCores = perSecond((end.generator.user + end.generator.system - first.generator.user - first.generator.system) / 1e6);
      const serverCores = first.server === null || end.server === null ? null : perSecond(end.server - first.server);
      const kernelThreadCores = perSecond(end.kernelThreads - first.kernelThreads);
      const interruptCores = perSecond(end.machine.interrupts - first.machine.interrupts);
      const processCores = perSecond(end.machine.processes - first.machine.processes);
      const otherCores = serverCores === null ? null : Math.max(0, processCores - serverCores - generatorCores - kernelThreadCores);
      return { serverCores, generatorCores, kernelThreadCores, interruptCores, otherCores };
    },
  };
}

async function measure(run, options, cpus) {
  const dataDir = mkdtempSync(join(options.dataRoot, `write-bench-${run.target}-`));
  let server = null;
  try {
    server = await startServer(run.target, options, dataDir);
    const connectionString = `${server.host}:${server.port}`;
    const setUpClient = await connect(connectionString);
    await ensureNode(setUpClient, benchRoot);
    setUpClient.close();
    const meter = cpuMeter(server.pid);
    const workers = workerCount(options, run.clients, cpus);
    const result = await runClosedLoop({
      connectionString,
      clients: run.clients,
      workers,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      operationsPerClientMax: options.operationsPerClientMax,
      workloadName: "write-mix",
      workloadOptions: { root: benchRoot, valueBytes: options.valueBytes, createPercent: options.createPercent, seed: 1 },
      onMeasureStart: meter.start,
      onMeasureEnd: meter.end,
    });
    return { ...run, serverPid: server.pid, ...result, cpu: meter.cores() };
  } finally {
    if (server !== null) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Measures a run, and again (at most options.retries times) while other
 * processes took more than options.maxOtherCores during the recorded
 * window; returns every attempt, the disturbed ones marked.
 */
async function measureUndisturbed(run, options, cpus) {
  const attempts = [];
  for (let attempt = 1; attempt <= options.retries + 1; attempt += 1) {
    const quiet = await waitForQuietMachine({ maxWaitMs: options.quietWaitMs });
    if (!quiet.quiet) console.log(`(machine still busy: ${quiet.busyCores.toFixed(2)} cores after waiting ${(quiet.waitedMs / 1000).toFixed(0)} s; running anyway)`);
    const result = { ...(await measure(run, options, cpus)), attempt, quietBefore: quiet };
    result.disturbed = (result.cpu?.otherCores ?? 0) > options.maxOtherCores;
    console.log(`${formatRun(result)}${result.disturbed ? "  disturbed" : ""}`);
    attempts.push(result);
    if (!result.disturbed) break;
  }
  return attempts;
}

function median(values) {
  const sorted = values.filter((value) => value !== null && value !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const columns = "round clients target       ops/s  p50 ms  p90 ms  p99 ms p99.9 ms  max ms  errors  gen cores  server cores  kernel cores  other cores";
const fixed = (value, digits, width) => (value === null || value === undefined ? "-" : value.toFixed(digits)).padStart(width);

function formatRun(run) {
  const errors = Object.values(run.errors).reduce((sum, count) => sum + count, 0);
  const { latency } = run;
  return (
    `${String(run.round).padStart(5)} ${String(run.clients).padStart(7)} ${run.target.padEnd(10)}` +
    `${fixed(run.operationsPerSecond, 0, 9)} ${fixed(latency.p50Ms, 2, 7)} ${fixed(latency.p90Ms, 2, 7)} ${fixed(latency.p99Ms, 2, 7)}` +
    ` ${fixed(latency.p999Ms, 2, 8)} ${fixed(latency.maxMs, 1, 7)} ${String(errors).padStart(7)} ${fixed(run.cpu?.generatorCores, 2, 10)} ${fixed(run.cpu?.serverCores, 2, 13)} ${fixed(run.cpu?.kernelThreadCores, 2, 13)} ${fixed(run.cpu?.otherCores, 2, 12)}`
  );
}

/** Medians over rounds per (clients, target), and Maestro/ZooKeeper ratios per client count. */
function summarize(runs, clientCounts) {
  const summary = [];
  for (const clients of clientCounts) {
    const entry = { clients, medians: {}, ratio: null };
    for (const target of targetNames) {
      const all = runs.filter((run) => run.clients === clients && run.target === target);
      if (all.length === 0) continue;
      // Disturbed runs count only when there is nothing else.
      const undisturbed = all.filter((run) => !run.disturbed);
      const mine = undisturbed.length > 0 ? undisturbed : all;
      entry.medians[target] = {
        runs: mine.length,
        onlyDisturbedRuns: undisturbed.length === 0,
        operationsPerSecond: median(mine.map((run) => run.operationsPerSecond)),
        p50Ms: median(mine.map((run) => run.latency.p50Ms)),
        p90Ms: median(mine.map((run) => run.latency.p90Ms)),
        p99Ms: median(mine.map((run) => run.latency.p99Ms)),
        p999Ms: median(mine.map((run) => run.latency.p999Ms)),
        maxMs: Math.max(...mine.map((run) => run.latency.maxMs)),
        serverCores: median(mine.map((run) => run.cpu?.serverCores)),
        generatorCores: median(mine.map((run) => run.cpu?.generatorCores)),
        otherCoresMax: Math.max(...mine.map((run) => run.cpu?.otherCores ?? 0)),
      };
    }
    const { maestro, zookeeper } = entry.medians;
    if (maestro && zookeeper) {
      entry.ratio = {
        throughput: maestro.operationsPerSecond / zookeeper.operationsPerSecond,
        p50: maestro.p50Ms / zookeeper.p50Ms,
        p99: maestro.p99Ms / zookeeper.p99Ms,
      };
    }
    summary.push(entry);
  }
  return summary;
}

function printSummary(summary) {
  console.log("\nmedians over the undisturbed runs (max: worst of them)");
  console.log("clients target       ops/s  p50 ms  p90 ms  p99 ms p99.9 ms  max ms  gen cores  server cores");
  for (const entry of summary) {
    for (const [target, m] of Object.entries(entry.medians)) {
      console.log(
        `${String(entry.clients).padStart(7)} ${target.padEnd(10)}${fixed(m.operationsPerSecond, 0, 9)} ${fixed(m.p50Ms, 2, 7)} ${fixed(m.p90Ms, 2, 7)}` +
          ` ${fixed(m.p99Ms, 2, 7)} ${fixed(m.p999Ms, 2, 8)} ${fixed(m.maxMs, 1, 7)} ${fixed(m.generatorCores, 2, 10)} ${fixed(m.serverCores, 2, 13)}`,
      );
    }
  }
  console.log("\nMaestro / ZooKeeper   throughput    p50    p99   (throughput > 1 and latency < 1 favour Maestro)");
  for (const entry of summary) {
    if (entry.ratio === null) continue;
    console.log(`${String(entry.clients).padStart(4)} client(s)        ${fixed(entry.ratio.throughput, 2, 9)}x ${fixed(entry.ratio.p50, 2, 5)}x ${fixed(entry.ratio.p99, 2, 5)}x`);
  }
}

function defaultOutputPath() {
  const date = new Date().toISOString().slice(0, 10);
  const plain = join(resultsDirectory, `writes-${date}.json`);
  if (!existsSync(plain)) return plain;
  return join(resultsDirectory, `writes-${new Date().toISOString().slice(0, 16).replace(":", "")}.json`);
}

function commandLine(argv) {
  const script = "node scripts/write-bench.mjs";
  const npmScript = process.env.npm_lifecycle_event;
  return { command: [script, ...argv].join(" "), npmScript: npmScript === undefined ? null : `npm run ${npmScript}` };
}

// Everything of a run goes into the file (the encoded histograms too, for
// re-analysis) except the server's pid, which means nothing afterwards.
function forResultFile(run) {
  const { serverPid: _pid, ...rest } = run;
  return rest;
}

async function benchmark(options, argv) {
  const machine = machineInfo({ repositoryRoot, dataRoot: options.dataRoot });
  if (machine.dataFileSystem?.type === "tmpfs") throw new Error(`--data-root ${options.dataRoot} is on tmpfs; fsync would measure nothing`);
  const startedAt = new Date().toISOString();
  console.log(
    `write-bench: ${options.clients.join(", ")} client(s), ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s recorded per run, ` +
      `${options.rounds} round(s), ${options.valueBytes}-byte values, ${options.createPercent}% create / ${100 - options.createPercent}% setData, fsync on in both servers`,
  );
  console.log(
    `machine: ${machine.cpus} cores (${machine.cpuModel}), load ${machine.loadAverageAtStart.map((load) => load.toFixed(2)).join(" ")}; ` +
      `data on ${machine.dataFileSystem?.type ?? "?"} ${machine.dataFileSystem?.device ?? ""} (${options.dataRoot}); generator and server share the cores`,
  );
  console.log(columns);
  const runs = [];
  for (const run of schedule(options)) runs.push(...(await measureUndisturbed(run, options, machine.cpus)));
  const summary = summarize(runs, options.clients);
  printSummary(summary);
  const output = options.output ?? defaultOutputPath();
  mkdirSync(dirname(output), { recursive: true });
  const report = {
    benchmark: "writes",
    ...commandLine(argv),
    startedAt,
    finishedAt: new Date().toISOString(),
    options: { ...options, help: undefined, output: undefined },
    workload: "write-mix: per-session closed loop; create of value-bytes under /write-bench/c<client>, or setData of one of the session's own nodes",
    servers: {
      zookeeper: "Apache ZooKeeper standalone (Debian package), zookeeper.forceSync=yes, NIO, default JVM flags",
      maestro: "node dist/src/cli/main.js start, fsync on (default)",
    },
    machine,
    loadAverageAtEnd: loadavg(),
    runs: runs.map(forResultFile),
    summary,
  };
  writeFileSync(output, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nresult: ${output}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  if (options.help) {
    console.log(usage);
    return;
  }
  const timer = setTimeout(() => {
    console.error(`write-bench: overall timeout of ${options.timeoutMs / 1000} s reached`);
    // The launchers' exit hook kills the servers still running.
    process.exit(124);
  }, options.timeoutMs);
  try {
    await benchmark(options, argv);
  } finally {
    clearTimeout(timer);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`write-bench: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
