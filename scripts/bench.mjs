#!/usr/bin/env node
// `npm run bench -- ...`: the workload generator of issue 5. Drives a
// ZooKeeper-protocol server through node-zookeeper-client from worker
// threads with an operation mix over a key space, keys drawn per region
// from a distribution (uniform, zipfian, normal per region, moving hotspot,
// a locality share per region).
//
//   npm run bench -- --maestro --duration-s 10 --sessions 16
//   npm run bench -- --compare --rounds 2 --mix all --distribution zipfian:0.99
//   npm run bench -- --target 127.0.0.1:2181 --rate 2000 --regions 3 --distribution normal:100
//
// --maestro / --zookeeper start a fresh server (fresh temporary data
// directory, fsync on) for every run and stop it afterwards; --compare is
// both, alternating which goes first each round, then prints the
// Maestro/ZooKeeper ratios of the medians. --target uses a running server
// (keys are made under --root if missing; created nodes stay). Closed loop
// by default (each session awaits every operation); --rate R makes it an
// open loop at R operations per second in total, latencies measured from
// each operation's due time (no coordinated omission). Output: a table per
// operation type (p50, p90, p99, p99.9, max), a JSON result file and a
// self-contained HTML page with inline SVG charts. With --regions N > 1,
// also per region, and per region split by key owner: "local" keys lie in
// the region's own slice of the key space, "remote" keys in another's
// (--region-subtrees puts slice s under ROOT/r<s>, one subtree per slice,
// which a multi-region Maestro can make one lease unit each).
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fourLetterWord, startZooKeeper } from "./zookeeper-standalone.mjs";
import { startMaestro } from "./maestro-process.mjs";
import { runClosedLoop } from "../bench/lib/closed-loop.mjs";
import { decodeHistogram } from "../bench/lib/histogram.mjs";
import { keyCountMax, setUpKeySpace } from "../bench/lib/mix-workload.mjs";
import { machineInfo } from "../bench/lib/process-stats.mjs";
import { parseDistribution, parseLocality } from "../dist/src/bench/distributions.js";
import { parseMix } from "../dist/src/bench/mix.js";
import { chartPercentiles, keyOwnerTable, latencyTable, ratios, ratioTable, regionTable, reportHtml } from "../dist/src/bench/report.js";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const workerModule = new URL("../bench/lib/mix-worker.mjs", import.meta.url);
const sessionsMax = 1024;
const serverReadyTimeoutMs = 60_000;
/** --watch: a four-letter word that does not answer within this long is recorded as an error. */
const watchTimeoutMs = 2_000;
const watchRepliesMax = 100_000;

const usage = `usage: npm run bench -- (--target HOST:PORT | --maestro | --zookeeper | --compare) [options]
  --target A[,B...]     running servers: region r's sessions use address r mod count
  --sessions N          client sessions (default 8)
  --workers N|auto      generator threads (auto: one per core, at most one per session)
  --duration-s S        recorded seconds per run (default 10)
  --warmup-s S          unrecorded seconds before that (default 1)
  --ops-per-session N   stop a session after N recorded operations (default: time only)
  --rate R              open loop at R operations/s in total (default 0: closed loop)
  --mix MIX             read-heavy | write-heavy | balanced | all | "type:weight,..." (default read-heavy)
                        types: create setData getData exists getChildren delete multi
                               createEphemeral createSequential lock
  --value-bytes N       bytes per value (default 128)
  --keys N              key nodes (default 1000, at most ${keyCountMax})
  --locks N             lock directories for the lock recipe (default 16)
  --regions N           sessions are spread over N regions (session i in region i mod N) (default 1)
  --distribution D      uniform | zipfian:s | normal:sigma | hotspot:sigma:periodMs | locality:P (default uniform)
  --locality P          same as --distribution locality:P: region r's keys lie in its own slice with
                        probability P % (uniform there), else uniformly in one of the other slices
                        (picked evenly); needs --regions >= 2; not together with --distribution
  --region-subtrees     keys of region slice s under ROOT/r<s>/k<key> instead of ROOT/keys/k<key>
  --seed N              seed of every session's generators (default 1)
  --rounds N            runs per target, alternating order (default 1)
  --root PATH           parent node of the key space (default /maestro-bench)
  --maestro-port P      (default 2391)    --zookeeper-port P (default 2491)
  --output FILE         JSON result (default bench/results/bench-<date>.json); the HTML page
                        goes next to it (.html) unless --html says otherwise
  --watch WORD          ask every target address the four-letter word WORD (e.g. leas) every
                        --watch-interval-ms during each run and once after it; replies go in the JSON
  --watch-interval-ms N (default 1000)
  --no-progress         no progress line even on a terminal
  --timeout-s S         bound on the whole command (default 900)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string" },
      maestro: { type: "boolean", default: false },
      zookeeper: { type: "boolean", default: false },
      compare: { type: "boolean", default: false },
      sessions: { type: "string", default: "8" },
      workers: { type: "string", default: "auto" },
      "duration-s": { type: "string", default: "10" },
      "warmup-s": { type: "string", default: "1" },
      "ops-per-session": { type: "string" },
      rate: { type: "string", default: "0" },
      mix: { type: "string", default: "read-heavy" },
      "value-bytes": { type: "string", default: "128" },
      keys: { type: "string", default: "1000" },
      locks: { type: "string", default: "16" },
      regions: { type: "string", default: "1" },
      distribution: { type: "string" },
      locality: { type: "string" },
      "region-subtrees": { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      rounds: { type: "string", default: "1" },
      root: { type: "string", default: "/maestro-bench" },
      "maestro-port": { type: "string", default: "2391" },
      "zookeeper-port": { type: "string", default: "2491" },
      output: { type: "string" },
      html: { type: "string" },
      watch: { type: "string" },
      "watch-interval-ms": { type: "string", default: "1000" },
      "no-progress": { type: "boolean", default: false },
      "timeout-s": { type: "string", default: "900" },
      help: { type: "boolean", default: false },
    },
  });
  const number = (name, min, max, integer = true) => {
    const text = values[name];
    const value = Number(text);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got ${text}`);
    }
    return value;
  };
  const targets = [];
  if (values.maestro || values.compare) targets.push("maestro");
  if (values.zookeeper || values.compare) targets.push("zookeeper");
  if (values.target !== undefined) {
    for (const address of values.target.split(",")) if (!/^[^:\s]+:\d+$/.test(address)) throw new Error(`--target must be HOST:PORT[,HOST:PORT...], got ${values.target}`);
    targets.push("target");
  }
  if (!values.help && targets.length === 0) throw new Error("say what to measure: --target HOST:PORT, --maestro, --zookeeper or --compare");
  if (values.locality !== undefined && values.distribution !== undefined) {
    throw new Error(`--locality ${values.locality} and --distribution ${values.distribution} both say how keys are drawn; give one (--locality P is --distribution locality:P)`);
  }
  if (values.watch !== undefined && !/^[a-z]{4}$/.test(values.watch)) throw new Error(`--watch takes a four-letter word such as leas, got ${values.watch}`);
  const distributionText = values.locality !== undefined ? `locality:${values.locality}` : (values.distribution ?? "uniform");
  const distribution = values.locality !== undefined ? parseLocality(values.locality) : parseDistribution(distributionText);
  const keys = number("keys", 1, keyCountMax);
  const regions = number("regions", 1, Math.min(keys, 64));
  if (distribution.kind === "locality" && regions < 2) throw new Error(`--locality needs --regions 2 or more (with one region every key is local), got ${regions}`);
  return {
    help: values.help,
    targets,
    // Region r's sessions talk to address r mod count (the lab's per-region servers).
    targetAddresses: values.target?.split(",") ?? [],
    sessions: number("sessions", 1, sessionsMax),
    workers: values.workers === "auto" ? "auto" : number("workers", 1, 64),
    durationMs: number("duration-s", 0.1, 3600, false) * 1000,
    warmupMs: number("warmup-s", 0, 600, false) * 1000,
    operationsPerSessionMax: values["ops-per-session"] === undefined ? undefined : number("ops-per-session", 1, 100_000_000),
    ratePerSecond: number("rate", 0, 10_000_000, false),
    mixText: values.mix,
    mix: parseMix(values.mix),
    valueBytes: number("value-bytes", 0, 1_000_000),
    keys,
    locks: number("locks", 1, 10_000),
    regions,
    distributionText,
    distribution,
    regionSubtrees: values["region-subtrees"],
    seed: number("seed", 0, 2 ** 31),
    rounds: number("rounds", 1, 100),
    root: values.root,
    maestroPort: number("maestro-port", 1, 65535),
    zookeeperPort: number("zookeeper-port", 1, 65535),
    output: values.output === undefined ? undefined : resolve(values.output),
    html: values.html === undefined ? undefined : resolve(values.html),
    watchWord: values.watch,
    watchIntervalMs: number("watch-interval-ms", 100, 600_000),
    progress: !values["no-progress"] && process.stdout.isTTY === true,
    timeoutMs: number("timeout-s", 1, 86_400) * 1000,
  };
}

// Round r runs the targets in the given order when r is odd, reversed when
// even, so neither server always runs on a warmer machine.
function schedule(options) {
  const runs = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const order = round % 2 === 1 ? options.targets : [...options.targets].reverse();
    for (const target of order) runs.push({ round, target, label: options.rounds > 1 ? `${target} #${round}` : target });
  }
  return runs;
}

async function startServer(target, options) {
  if (target === "maestro") return startMaestro({ port: options.maestroPort, fourLetterWords: "ruok,srvr", readyTimeoutMs: serverReadyTimeoutMs });
  if (target === "zookeeper") return startZooKeeper({ port: options.zookeeperPort, forceSync: true, fourLetterWords: "ruok,srvr", readyTimeoutMs: serverReadyTimeoutMs });
  return null;
}

function progressLine(run, options) {
  if (!options.progress) return { update: () => {}, done: () => {} };
  const startedMs = performance.now();
  const totalS = (options.warmupMs + options.durationMs) / 1000;
  return {
    update({ completed, failed }) {
      const elapsedS = (performance.now() - startedMs) / 1000;
      const filled = Math.min(20, Math.round((20 * elapsedS) / totalS));
      process.stdout.write(`\r${run.label} [${"#".repeat(filled)}${" ".repeat(20 - filled)}] ${elapsedS.toFixed(1)}/${totalS.toFixed(1)} s  ${completed} ops  ${failed} errors `);
    },
    done: () => process.stdout.write("\r\x1b[K"),
  };
}

/** A four-letter word's reply: parsed when it is JSON (leas), else its text. */
function replyValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text.trim();
  }
}

/**
 * --watch: asks every address `word` now and every intervalMs until stop(),
 * then once more after the run. Resolves stop() with the samples
 * { atEpochMs, phase: "run" | "after", address, reply | error }; one round of
 * questions at a time, each bounded by watchTimeoutMs.
 */
function watchServers(addresses, word, intervalMs) {
  const samples = [];
  const ask = (phase) =>
    Promise.all(
      addresses.map(async (address) => {
        const separator = address.lastIndexOf(":");
        const atEpochMs = Date.now();
        const sample = { atEpochMs, phase, address };
        try {
          sample.reply = replyValue(await fourLetterWord(address.slice(0, separator), Number(address.slice(separator + 1)), word, watchTimeoutMs));
        } catch (error) {
          sample.error = error?.message ?? String(error);
        }
        if (samples.length < watchRepliesMax) samples.push(sample);
      }),
    );
  let stopped = false;
  let wake = () => {};
  let timer;
  const loop = (async () => {
    while (!stopped) {
      await ask("run");
      if (stopped) break;
      await new Promise((resolvePromise) => {
        wake = resolvePromise;
        timer = setTimeout(resolvePromise, intervalMs);
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake();
      await loop;
      await ask("after");
      return samples;
    },
  };
}

/** Latency by percentile for the charts, from an encoded histogram. */
function distributionOf(encoded) {
  const histogram = decodeHistogram(encoded);
  return chartPercentiles.map((percentile) => ({ percentile, ms: histogram.getValueAtPercentile(percentile) / 1000 }));
}

async function measure(run, options) {
  const server = await startServer(run.target, options);
  try {
    const addresses = server === null ? options.targetAddresses : [`${server.host}:${server.port}`];
    const watch = options.watchWord === undefined ? null : watchServers([...new Set(addresses)], options.watchWord, options.watchIntervalMs);
    let watched = null;
    const measureWindow = {};
    try {
      // The first address makes the key space (each region slice's keys through its
      // region's own address); the others only check that they see it.
      for (const [index, address] of [...new Set(addresses)].entries()) {
        await setUpKeySpace({
          connectionString: address,
          root: options.root,
          keyCount: options.keys,
          lockCount: options.locks,
          valueBytes: options.valueBytes,
          regionCount: options.regions,
          regionSubtrees: options.regionSubtrees,
          regionAddresses: index === 0 ? addresses : [address],
        });
      }
      const result = await runWorkload(run, options, addresses, measureWindow);
      watched = watch === null ? null : await watch.stop();
      return { ...run, addresses, serverPid: server?.pid ?? null, ...result, measureWindow, ...(watched === null ? {} : { watch: { word: options.watchWord, samples: watched } }) };
    } finally {
      if (watch !== null && watched === null) await watch.stop();
    }
  } finally {
    if (server !== null) await server.stop();
  }
}

/** The workers' part of a run; measureWindow gets the epoch milliseconds of the recorded window's edges. */
async function runWorkload(run, options, addresses, measureWindow) {
  const connectionString = addresses[0];
  const progress = progressLine(run, options);
  const result = await runClosedLoop({
    connectionString,
    clients: options.sessions,
    workers: Math.max(1, Math.min(options.sessions, options.workers === "auto" ? availableParallelism() : options.workers)),
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    operationsPerClientMax: options.operationsPerSessionMax,
    workerModule,
    workloadName: "mix",
    workloadOptions: {
      root: options.root,
      keyCount: options.keys,
      regionCount: options.regions,
      lockCount: options.locks,
      distribution: options.distribution,
      regionSubtrees: options.regionSubtrees,
      mix: options.mix,
      valueBytes: options.valueBytes,
      seed: options.seed,
      ratePerSecond: options.ratePerSecond,
      regionAddresses: addresses,
      runId: `${Date.now().toString(36)}${run.round}`,
    },
    onProgress: progress.update,
    onMeasureStart: () => (measureWindow.fromEpochMs = Date.now()),
    onMeasureEnd: () => (measureWindow.toEpochMs = Date.now()),
  });
  progress.done();
  for (const summary of Object.values(result.byType)) summary.distribution = distributionOf(summary.histogram);
  return result;
}

function commandLine(argv) {
  const npmScript = process.env.npm_lifecycle_event;
  return npmScript === "bench" ? `npm run bench -- ${argv.join(" ")}` : ["node", relative(repositoryRoot, fileURLToPath(import.meta.url)), ...argv].join(" ");
}

function outputPaths(options) {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const json = options.output ?? join(repositoryRoot, "bench", "results", `bench-${stamp}.json`);
  return { json, html: options.html ?? json.replace(/\.json$/, "") + ".html" };
}

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) return console.log(usage);
  const timeout = setTimeout(() => {
    console.error(`bench: gave up after ${options.timeoutMs / 1000} s (--timeout-s)`);
    process.exit(2);
  }, options.timeoutMs);
  timeout.unref();
  const command = commandLine(argv);
  const mode = options.ratePerSecond > 0 ? `open loop at ${options.ratePerSecond} ops/s` : "closed loop";
  const layout = options.regionSubtrees ? `, keys under ${options.root}/r<slice>` : "";
  console.log(`${command}\n${mode}, ${options.sessions} sessions, mix ${options.mixText}, ${options.keys} keys, ${options.distributionText}, ${options.regions} region(s)${layout}`);
  const runs = [];
  for (const run of schedule(options)) {
    const result = await measure(run, options);
    const errors = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
    console.log(`${run.label}: ${result.operationsPerSecond.toFixed(0)} ops/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, ${errors} errors`);
    runs.push(result);
  }
  const table = latencyTable(runs);
  console.log(`\n${table}`);
  const regions = regionTable(runs);
  if (regions !== null) console.log(`\nper region (session i is in region i mod ${options.regions})\n${regions}`);
  const owners = keyOwnerTable(runs);
  if (owners !== null) console.log(`\nper region and key owner (local: key in the region's own slice; remote: in another region's slice)\n${owners}`);
  const comparison = ratios(runs, "maestro", "zookeeper");
  if (comparison.length > 0) console.log(`\nMaestro / ZooKeeper (medians over rounds; throughput > 1 and latency < 1 favour Maestro)\n${ratioTable(comparison, "maestro", "zookeeper")}`);
  for (const run of runs) if (Object.keys(run.errors).length > 0) console.log(`${run.label} errors: ${JSON.stringify(run.errors)}`);
  const paths = outputPaths(options);
  mkdirSync(dirname(paths.json), { recursive: true });
  const { help: _help, mix: _mix, distribution: _distribution, progress: _progress, ...recorded } = options;
  const report = {
    command,
    startedAt: new Date().toISOString(),
    machine: machineInfo({ repositoryRoot, dataRoot: repositoryRoot }),
    options: { ...recorded, mix: options.mix, distribution: options.distribution, mode: options.ratePerSecond > 0 ? "open" : "closed" },
    runs,
    ratios: comparison,
  };
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  for (const run of runs) if (run.watch !== undefined) console.log(`${run.label} --watch ${run.watch.word}: ${run.watch.samples.length} replies, ${run.watch.samples.filter((sample) => sample.error !== undefined).length} errors`);
  const tables = [table, regions, owners].filter((text) => text !== null).join("\n\n");
  writeFileSync(paths.html, reportHtml({ title: "Maestro bench", command, table: tables, runs }));
  console.log(`\nresult: ${relative(process.cwd(), paths.json)}\nchart:  ${relative(process.cwd(), paths.html)}`);
  clearTimeout(timeout);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`bench: ${error?.message ?? error}`);
  process.exitCode = 1;
});
