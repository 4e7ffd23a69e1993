#!/usr/bin/env node
// `npm run bench:locality`: the locality sweep of issue 7 (measurement 1).
// For each locality (percent of a region's writes to its own slice) and
// each deployment, one lab run (scripts/lab-bench.mjs: WAN emulator plus a
// server per region, region r's sessions on region r's server) with the
// same clients; then per-region write p50/p99 and throughput, Maestro ÷
// ZooKeeper ratios, and where the lease units were (maestro-* runs watch
// `leas` on every node: the root's view every second, every node's at the
// end). Writes PREFIX.json, PREFIX.md, PREFIX.html (inline SVG charts) and
// PREFIX.txt (every run's console output). Run `npm run build` first.
//
//   npm run bench:locality                       # 0,50,90,100 x 4 deployments, 20 s each (~20 min)
//   npm run bench:locality -- --localities 90 --deployments maestro-adaptive --duration-s 3 --output-prefix /tmp/smoke
//   node scripts/locality-sweep.mjs --render-only   # PREFIX.md and .html again from PREFIX.json
//
// Every lab run holds the machine-wide lab lock (flock --lock FILE) for its
// whole length, so no other lab measurement runs beside it. Holding it, the
// run first waits (at most --quiet-wait-s) until the machine is quiet, since
// work that does not take the lock (a simulator, a build) shares the cores
// too; the busy cores seen and the load average are recorded with the run.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machineCpuSeconds, machineInfo, waitForQuietMachine } from "../bench/lib/process-stats.mjs";
import { runWarning, sweepHtml, sweepMarkdown, sweepRatios } from "../dist/src/bench/locality-report.js";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const labBenchScript = join(repositoryRoot, "scripts", "lab-bench.mjs");
const thisScript = fileURLToPath(import.meta.url);
const deploymentsKnown = ["maestro-adaptive", "maestro-cluster", "maestro-central", "zk-ensemble", "zk-observers"];
/** A run gets this long beyond its warm-up and duration (lab start, set-up, lab stop) before it is killed. */
const runSlackMs = 240_000;
const stopGraceMs = 15_000;
/** Output of a run kept for parsing (the lab's line of server modes comes first). */
const outputKeptBytesMax = 65_536;
/** Busy cores (everything on the machine) below which it counts as quiet before a run. */
const quietBusyCoresMax = 0.3;

const usage = `usage: node scripts/locality-sweep.mjs [options]    (npm run bench:locality -- [options])
  --localities L        comma-separated percentages (default 0,50,90,100)
  --deployments D       comma-separated, from bench/lab/<name>.json
                        (default maestro-adaptive,maestro-central,zk-ensemble,zk-observers)
  --duration-s S        recorded seconds per run (default 20)
  --warmup-s S          warm-up seconds per run (default 2)
  --sessions N          client sessions, spread over the regions (default 24)
  --mix MIX             bench mix (default setData:1)
  --keys N              key nodes (default 1000)
  --seed N              bench seed (default 1)
  --attempts N          tries per run when one fails (default 2)
  --lock FILE           lab lock taken with flock around every run (default /tmp/maestro-lab.lock)
  --quiet-wait-s S      each run, holding the lock, first waits up to S s for the machine to be
                        quiet (under ${quietBusyCoresMax} busy cores), then runs anyway; what was seen is
                        recorded (default 300)
  --output-prefix P     results at P.json, P.md, P.html, P.txt (default bench/results/locality-sweep)
  --render-only         rewrite P.md and P.html from P.json, run nothing
  --redo D@L[,D@L...]   run those again (e.g. maestro-central@0) with P.json's settings and put
                        them in place of the old entries (kept as "replaced"); P.txt gets their output`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      localities: { type: "string", default: "0,50,90,100" },
      deployments: { type: "string", default: "maestro-adaptive,maestro-central,zk-ensemble,zk-observers" },
      "duration-s": { type: "string", default: "20" },
      "warmup-s": { type: "string", default: "2" },
      sessions: { type: "string", default: "24" },
      mix: { type: "string", default: "setData:1" },
      keys: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      attempts: { type: "string", default: "2" },
      lock: { type: "string", default: "/tmp/maestro-lab.lock" },
      "quiet-wait-s": { type: "string", default: "300" },
      "wait-quiet-only": { type: "boolean", default: false },
      "output-prefix": { type: "string", default: join(repositoryRoot, "bench", "results", "locality-sweep") },
      "render-only": { type: "boolean", default: false },
      redo: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const number = (name, text, min, max, integer = false) => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name}: ${text} is not ${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
    }
    return value;
  };
  const localities = values.localities.split(",").map((text) => number("localities", text, 0, 100));
  const deployments = values.deployments.split(",").map((name) => name.trim());
  for (const name of deployments) if (!deploymentsKnown.includes(name)) throw new Error(`--deployments: unknown ${name}; one of ${deploymentsKnown.join(", ")}`);
  return {
    help: values.help,
    renderOnly: values["render-only"],
    waitQuietOnly: values["wait-quiet-only"],
    redo: values.redo === undefined ? null : parseRedo(values.redo),
    localities,
    deployments,
    durationS: number("duration-s", values["duration-s"], 0.5, 3600),
    warmupS: number("warmup-s", values["warmup-s"], 0, 600),
    sessions: number("sessions", values.sessions, 3, 1024, true),
    mix: values.mix,
    keys: number("keys", values.keys, 3, 100_000, true),
    seed: number("seed", values.seed, 0, 2 ** 31, true),
    attempts: number("attempts", values.attempts, 1, 5, true),
    lock: values.lock,
    quietWaitS: number("quiet-wait-s", values["quiet-wait-s"], 0, 3600),
    outputPrefix: resolve(values["output-prefix"]),
  };
}

/** "maestro-central@0,zk-ensemble@50" -> [{ deployment, locality }]. */
function parseRedo(text) {
  return text.split(",").map((item) => {
    const match = /^([a-z-]+)@(\d+(?:\.\d+)?)$/.exec(item.trim());
    if (match === null || !deploymentsKnown.includes(match[1])) throw new Error(`--redo: ${item} is not deployment@locality (e.g. maestro-central@0)`);
    return { deployment: match[1], locality: Number(match[2]) };
  });
}

function gitOutput(args) {
  const result = spawnSync("git", ["-C", repositoryRoot, ...args], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

function topologyPath(deployment) {
  return join(repositoryRoot, "bench", "lab", `${deployment}.json`);
}

/** What the topology file says: region names and, for a Maestro cluster, unit -> home. */
function readTopology(deployment) {
  const topology = JSON.parse(readFileSync(topologyPath(deployment), "utf8"));
  const homes = {};
  for (const rule of topology.leaseRoots ?? []) homes[rule.path] = topology.deployment === "maestro-central" ? topology.regions[0] : rule.home;
  return { regions: topology.regions, homes, maestro: topology.deployment.startsWith("maestro") };
}

const clockTicksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/**
 * CPU seconds of this process plus its waited-for descendants (utime, stime,
 * cutime, cstime of /proc/self/stat): a finished run's whole process tree
 * (flock, lab-bench, the servers it reaped, the bench and its workers).
 */
function ownTreeCpuSeconds() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicksPerSecond;
}

/** What the machine's processes did beside ours between two samples, in busy cores. */
function otherBusyCores(start, end) {
  const seconds = (end.atMs - start.atMs) / 1000;
  return seconds > 0 ? (end.machine - start.machine - (end.own - start.own)) / seconds : null;
}

const cpuSample = () => ({ atMs: Date.now(), machine: machineCpuSeconds().processes, own: ownTreeCpuSeconds() });

/** region -> mode from lab-bench's first line, "lab DEPLOYMENT: us-east=leader@PORT eu-west=follower@PORT ...". */
function serverModes(output) {
  const line = /^lab [\w-]+: (.*)$/m.exec(output)?.[1] ?? "";
  return Object.fromEntries([...line.matchAll(/([\w-]+)=(\w+)@\d+/g)].map((match) => [match[1], match[2]]));
}

/**
 * Server modes of runs recorded before the sweep kept them, from P.txt: the
 * "lab ..." line after each "=== deployment, locality L %" banner (the last
 * attempt's wins, as its entry did).
 */
function serverModesFromLog(text) {
  const modes = new Map();
  for (const part of text.split(/^=== /m).slice(1)) {
    const banner = /^([\w-]+), locality ([\d.]+) %/.exec(part);
    const servers = serverModes(part);
    if (banner !== null && Object.keys(servers).length > 0) modes.set(`${banner[1]}@${Number(banner[2])}`, servers);
  }
  return modes;
}

function fillServerModes(record, prefix) {
  if (record.runs.every((run) => run.servers !== undefined)) return;
  let text = "";
  try {
    text = readFileSync(`${prefix}.txt`, "utf8");
  } catch {
    return;
  }
  const modes = serverModesFromLog(text);
  for (const run of record.runs) if (run.servers === undefined && modes.has(`${run.deployment}@${run.locality}`)) run.servers = modes.get(`${run.deployment}@${run.locality}`);
}

/** --wait-quiet-only: waits for a quiet machine, prints what it saw as one JSON line. */
async function waitQuietOnly(quietWaitS) {
  const seen = quietWaitS > 0 ? await waitForQuietMachine({ maxWaitMs: quietWaitS * 1000, thresholdCores: quietBusyCoresMax }) : { quiet: null, busyCores: null, waitedMs: 0 };
  process.stdout.write(`${JSON.stringify(seen)}\n`);
}

/**
 * Runs, under `flock LOCK`, this script with --wait-quiet-only (one JSON
 * line), `cat /proc/loadavg` (one line) and then lab-bench.mjs. Output after
 * those two lines goes to the console and the log. Resolves with the exit
 * code, what the quiet wait saw, the load average then and how long the
 * lock took.
 */
function runLocked(lock, quietWaitS, benchArgs, timeoutMs, log) {
  return new Promise((resolvePromise) => {
    const requestedMs = Date.now();
    const shell = '"$1" "$2" --wait-quiet-only --quiet-wait-s "$3"; cat /proc/loadavg; shift 3; exec "$@"';
    const command = ["flock", lock, "sh", "-c", shell, "sh", process.execPath, thisScript, String(quietWaitS), process.execPath, labBenchScript, ...benchArgs];
    // Its own process group, so a timeout or Ctrl-C reaches the lab-bench under flock and sh.
    const child = spawn(command[0], command.slice(1), { cwd: repositoryRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let lockedMs = null;
    let loadAtLock = null;
    let quiet = null;
    let cpuAtLock = null;
    let pending = "";
    let kept = "";
    const keep = (text) => {
      if (kept.length < outputKeptBytesMax) kept += text.slice(0, outputKeptBytesMax - kept.length);
    };
    child.stdout.on("data", (chunk) => {
      const text = chunk.toString("utf8");
      if (lockedMs === null) {
        pending += text;
        const lines = pending.split("\n");
        if (lines.length < 3) return;
        lockedMs = Date.now();
        cpuAtLock = cpuSample();
        try {
          quiet = JSON.parse(lines[0]);
        } catch {
          quiet = { error: lines[0] };
        }
        loadAtLock = lines[1].split(/\s+/).slice(0, 3).map(Number);
        const rest = lines.slice(2).join("\n");
        process.stdout.write(rest);
        log(rest);
        keep(rest);
        return;
      }
      process.stdout.write(text);
      log(text);
      keep(text);
    });
    child.stderr.on("data", (chunk) => {
      process.stderr.write(chunk);
      log(chunk.toString("utf8"));
    });
    const stopGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    // The timeout counts from the end of the quiet wait, not from the request.
    const watchdog = setInterval(() => {
      if (lockedMs !== null && Date.now() - lockedMs > timeoutMs) {
        log(`\nlocality-sweep: run over ${timeoutMs} ms, stopping it\n`);
        stopGroup("SIGTERM");
        setTimeout(() => stopGroup("SIGKILL"), stopGraceMs).unref();
      }
    }, 1_000);
    const onSignal = () => stopGroup("SIGTERM");
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    child.once("exit", (code, signal) => {
      clearInterval(watchdog);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      // Our tree's CPU is known once it is reaped, i.e. now; what else ran meanwhile is the rest.
      const otherCores = cpuAtLock === null ? null : otherBusyCores(cpuAtLock, cpuSample());
      resolvePromise({ code: code ?? (signal === null ? 1 : 128), signal, quiet, servers: serverModes(kept), otherBusyCoresDuring: otherCores, lockWaitMs: (lockedMs ?? Date.now()) - requestedMs, loadAtLock, loadAfter: loadavg() });
    });
  });
}

function latencyOf(summary) {
  if (summary === undefined || summary === null) return null;
  const { count, p50Ms, p90Ms, p99Ms, p999Ms, maxMs } = summary;
  return { count, p50Ms, p90Ms, p99Ms, p999Ms, maxMs };
}

/** Local or remote latency of a region: the one operation type's, or the only one when the mix has one type. */
function ownerLatency(byType, owner) {
  const entries = Object.values(byType ?? {}).map((byOwner) => byOwner[owner]).filter((summary) => summary !== undefined);
  return entries.length === 1 ? latencyOf(entries[0]) : null;
}

function regionRows(run, regionNames) {
  const seconds = run.measuredMs / 1000;
  return regionNames.map((region, index) => {
    const summary = run.byRegion[String(index)];
    const latency = latencyOf(summary) ?? { count: 0, p50Ms: Number.NaN, p90Ms: Number.NaN, p99Ms: Number.NaN, p999Ms: Number.NaN, maxMs: Number.NaN };
    const byType = run.byRegionKeyOwner?.[String(index)];
    return {
      region,
      ...latency,
      operationsPerSecond: latency.count / seconds,
      meanMs: summary?.meanMs ?? null,
      local: ownerLatency(byType, "local"),
      remote: ownerLatency(byType, "remote"),
      histogram: summary?.histogram ?? null,
    };
  });
}

/** unit -> owner (and epoch) in one leas reply. */
function ownersIn(reply) {
  const owners = {};
  for (const unit of reply?.units ?? []) owners[unit.unit] = { owner: unit.owner, epoch: unit.epoch, state: unit.state };
  return owners;
}

/** One node's units in a line: "r0 us-east/e0/owned, r1 ...". */
function unitsLine(reply) {
  return (reply?.units ?? []).map((unit) => `${unit.unit} ${unit.owner}/e${unit.epoch}/${unit.state}`).join(", ");
}

/**
 * The lease story of a maestro-* run from its `leas` samples: the root's
 * view over time (owner changes = moves, times from the recorded window's
 * start), every node's owners at the end, and the root's write counts.
 */
function leasesOf(run, homes) {
  const samples = run.watch?.samples ?? [];
  const fromMs = run.measureWindow?.fromEpochMs ?? samples[0]?.atEpochMs ?? 0;
  const rootSamples = samples.filter((sample) => sample.reply?.root === true).sort((a, b) => a.atEpochMs - b.atEpochMs);
  const moves = [];
  let previous = null;
  for (const sample of rootSamples) {
    const owners = ownersIn(sample.reply);
    if (previous !== null) {
      for (const [unit, now] of Object.entries(owners)) {
        const before = previous[unit];
        if (before !== undefined && (before.owner !== now.owner || before.epoch !== now.epoch)) {
          moves.push({ unit, from: before.owner, to: now.owner, atMs: sample.atEpochMs - fromMs, epoch: now.epoch });
        }
      }
    }
    previous = owners;
  }
  const finalSamples = samples.filter((sample) => sample.phase === "after");
  const rootFinal = finalSamples.find((sample) => sample.reply?.root === true) ?? rootSamples.at(-1);
  const ownersAtEnd = {};
  const writesSinceStart = {};
  for (const unit of rootFinal?.reply?.units ?? []) {
    ownersAtEnd[unit.unit] = unit.owner;
    writesSinceStart[unit.unit] = unit.writesByOrigin;
  }
  // The root's counts are since it started (set-up included): the recorded window's
  // writes are the final counts less those of the last sample before the window.
  const beforeWindow = rootSamples.filter((sample) => sample.atEpochMs <= fromMs).at(-1);
  const countsBefore = new Map((beforeWindow?.reply?.units ?? []).map((unit) => [unit.unit, unit.writesByOrigin ?? {}]));
  const writesByOrigin = {};
  for (const [unit, counts] of Object.entries(writesSinceStart)) {
    const before = countsBefore.get(unit) ?? {};
    writesByOrigin[unit] = Object.fromEntries(Object.entries(counts ?? {}).map(([origin, count]) => [origin, count - (before[origin] ?? 0)]));
  }
  const nodesAgree = finalSamples.every((sample) => Object.entries(ownersAtEnd).every(([unit, owner]) => ownersIn(sample.reply)[unit]?.owner === owner));
  const errors = samples.filter((sample) => sample.error !== undefined).length;
  // Every node's view whenever it changed (owner, epoch or state of a unit), from the first sample.
  const timeline = [];
  const lastLine = new Map();
  for (const sample of [...samples].sort((a, b) => a.atEpochMs - b.atEpochMs)) {
    const line = sample.error === undefined ? unitsLine(sample.reply) : `error: ${sample.error}`;
    if (lastLine.get(sample.address) === line) continue;
    lastLine.set(sample.address, line);
    timeline.push({ atMs: sample.atEpochMs - fromMs, region: sample.reply?.region ?? sample.address, units: line });
  }
  return {
    homes,
    ownersAtEnd,
    moves,
    writesByOrigin,
    writesByOriginFrom: beforeWindow === undefined ? null : beforeWindow.atEpochMs - fromMs,
    writesSinceStart,
    nodesAgree: finalSamples.length > 0 && nodesAgree,
    samples: rootSamples.length,
    sampleErrors: errors,
    timeline,
    atEnd: finalSamples.map((sample) => ({ address: sample.address, region: sample.reply?.region ?? null, units: sample.reply?.units ?? null, error: sample.error })),
  };
}

function summarize(deployment, locality, benchResult, topology) {
  const run = benchResult.runs[0];
  return {
    deployment,
    locality,
    command: benchResult.command,
    operationsPerSecond: run.operationsPerSecond,
    measuredMs: run.measuredMs,
    all: latencyOf(run.latency),
    regions: regionRows(run, topology.regions),
    errors: run.errors,
    warmupOperations: run.warmupOperations,
    perSecond: run.perSecond,
    ...(topology.maestro ? { leases: leasesOf(run, topology.homes) } : {}),
  };
}

const policyNotes = [
  "maestro-adaptive = bench/lab/maestro-adaptive.json: units /maestro-bench/r0, r1, r2 homed at us-east, eu-west, ap-south, each with majority-window {share 0.6, windowMs 10000, holdMs 5000} (a unit moves to a region that issued more than 60 % of its writes in the last 10 s and more than any other region; at least 10 writes).",
  "What majority-window should do: at 0 % locality a unit's writes come from the two other regions, evenly by key choice, so no origin should pass 60 % and nothing should move; at 50 % the owner region issues half of its unit's writes and each other region a quarter; at 90 % and 100 % the owner dominates. In a closed loop, though, each region's share of a unit's writes is its key choice times its own rate, and the rates differ by region (a region whose forwarded writes go further makes fewer), so at 0 % the split between the two writers is not even: see the lease table.",
  "The bench makes region slice s's keys through region s's server (scripts/bench.mjs set-up), so the set-up's creates count as the home region's writes and do not move a unit before the run.",
  "maestro-central = every unit at us-east (static policy): the centralized case. zk-ensemble = one voter per region, leader in us-east; zk-observers = one voter (the leader) in us-east, observers elsewhere. For ZooKeeper and maestro-central the local/remote split only shows that key placement does not matter there.",
  "Closed loop: a region with fast writes does more of them; compare per region.",
];

function render(record, prefix) {
  fillServerModes(record, prefix);
  const ratios = sweepRatios(record.runs, record.regionNames);
  const full = { ...record, ratios };
  writeFileSync(`${prefix}.json`, `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(`${prefix}.md`, sweepMarkdown(record, ratios));
  writeFileSync(`${prefix}.html`, sweepHtml(record, ratios));
}

function commandLine(argv) {
  if (process.env.npm_lifecycle_event === "bench:locality") return argv.length === 0 ? "npm run bench:locality" : `npm run bench:locality -- ${argv.join(" ")}`;
  return ["node", "scripts/locality-sweep.mjs", ...argv].join(" ");
}

/**
 * One deployment at one locality: a lab-bench run under the lock (tried up
 * to options.attempts times), summarized; a run that never succeeded is an
 * entry with operationsPerSecond null and the error.
 */
async function runOne(deployment, locality, options, scratch, log) {
  const topology = readTopology(deployment);
  const output = join(scratch, `${deployment}-${locality}.json`);
  const benchArgs = [
    relative(repositoryRoot, topologyPath(deployment)),
    ...["--duration-s", String(options.durationS), "--warmup-s", String(options.warmupS), "--mix", options.mix, "--locality", String(locality)],
    ...["--sessions", String(options.sessions), "--keys", String(options.keys), "--seed", String(options.seed), "--region-subtrees", "--no-progress"],
    ...["--timeout-s", String(Math.ceil(options.warmupS + options.durationS + 180)), "--output", output],
    ...(topology.maestro ? ["--watch", "leas"] : []),
  ];
  let entry = null;
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    const banner = `\n=== ${deployment}, locality ${locality} %, attempt ${attempt} of ${options.attempts}: node scripts/lab-bench.mjs ${benchArgs.join(" ")}\n`;
    process.stdout.write(banner);
    log(banner);
    const requestedAt = new Date().toISOString();
    rmSync(output, { force: true });
    const outcome = await runLocked(options.lock, options.quietWaitS, benchArgs, (options.warmupS + options.durationS) * 1000 + runSlackMs, log);
    const quiet = outcome.quiet;
    if (quiet?.quiet === false) log(`locality-sweep: the machine was not quiet after ${(quiet.waitedMs / 1000).toFixed(0)} s (${quiet.busyCores.toFixed(2)} busy cores); ran anyway\n`);
    // The run itself began once the lock was held and the quiet wait over.
    const startedAt = new Date(Date.parse(requestedAt) + outcome.lockWaitMs).toISOString();
    const timing = {
      requestedAt,
      startedAt,
      attempt,
      busyCoresBefore: quiet?.busyCores ?? null,
      otherBusyCoresDuring: outcome.otherBusyCoresDuring,
      quietWaitMs: quiet?.waitedMs ?? null,
      exitCode: outcome.code,
      lockWaitMs: outcome.lockWaitMs,
      loadAverageAtLock: outcome.loadAtLock,
      loadAverageAfter: outcome.loadAfter,
    };
    let benchResult = null;
    try {
      benchResult = JSON.parse(readFileSync(output, "utf8"));
    } catch {
      // No result: the run failed before writing it.
    }
    entry =
      outcome.code === 0 && benchResult !== null
        ? { ...summarize(deployment, locality, benchResult, topology), ...timing, servers: outcome.servers }
        : { deployment, locality, operationsPerSecond: null, regions: [], errors: {}, error: `lab-bench exited with ${outcome.code}${outcome.signal ? ` (${outcome.signal})` : ""}`, ...timing, servers: outcome.servers };
    // The comparison assumes ZooKeeper's leader in the first region (the lab gives it the
    // highest id, so it usually wins); a run whose election went elsewhere is tried again.
    const leader = Object.entries(outcome.servers).find(([, mode]) => mode === "leader")?.[0];
    if (!topology.maestro && entry.operationsPerSecond !== null && leader !== topology.regions[0]) {
      entry.warning = `ZooKeeper leader in ${leader ?? "no region"}, not ${topology.regions[0]}`;
      log(`locality-sweep: ${entry.warning}${attempt < options.attempts ? "; trying again" : ""}\n`);
      continue;
    }
    if (entry.operationsPerSecond !== null) break;
  }
  return entry;
}

async function sweep(options, argv) {
  const log = (text) => appendFileSync(`${options.outputPrefix}.txt`, text);
  writeFileSync(`${options.outputPrefix}.txt`, "");
  const scratch = mkdtempSync(join(tmpdir(), "locality-sweep-"));
  const regionNames = readTopology(options.deployments[0]).regions;
  for (const deployment of options.deployments) {
    const { regions } = readTopology(deployment);
    if (regions.join() !== regionNames.join()) throw new Error(`${deployment}: regions ${regions} differ from ${regionNames}`);
  }
  const record = {
    kind: "locality-sweep",
    commit: gitOutput(["rev-parse", "HEAD"]) ?? "unknown",
    treeDirty: (gitOutput(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "",
    startedAt: new Date().toISOString(),
    finishedAt: "",
    command: commandLine(argv),
    loadAverage: { start: loadavg(), end: [] },
    machine: machineInfo({ repositoryRoot, dataRoot: tmpdir() }),
    options: { ...options, outputPrefix: relative(repositoryRoot, options.outputPrefix) },
    regionNames,
    notes: policyNotes,
    runs: [],
  };
  try {
    for (const locality of options.localities) {
      for (const deployment of options.deployments) {
        record.runs.push(await runOne(deployment, locality, options, scratch, log));
        record.finishedAt = new Date().toISOString();
        record.loadAverage.end = loadavg();
        render(record, options.outputPrefix);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  record.finishedAt = new Date().toISOString();
  record.loadAverage.end = loadavg();
  render(record, options.outputPrefix);
  return finish(record, options);
}

function finish(record, options) {
  const failed = record.runs.filter((run) => run.operationsPerSecond === null).length;
  process.stdout.write(`\nlocality sweep: ${record.runs.length} runs, ${failed} failed\n${["json", "md", "html", "txt"].map((extension) => relative(process.cwd(), `${options.outputPrefix}.${extension}`)).join("\n")}\n`);
  return failed === 0 ? 0 : 1;
}

/**
 * --redo deployment@locality,...: runs those again with the sweep's own
 * settings (from PREFIX.json) and puts them in place of the old entries,
 * which stay in the entry as `replaced` (when, how busy the machine was, the
 * throughput). For a run that a busy machine or a failure spoiled.
 */
async function redo(options, argv) {
  const { ratios: _ratios, ...record } = JSON.parse(readFileSync(`${options.outputPrefix}.json`, "utf8"));
  fillServerModes(record, options.outputPrefix);
  const settings = { ...options, ...record.options, lock: options.lock, quietWaitS: options.quietWaitS, attempts: options.attempts, outputPrefix: options.outputPrefix };
  const log = (text) => appendFileSync(`${options.outputPrefix}.txt`, text);
  const scratch = mkdtempSync(join(tmpdir(), "locality-sweep-"));
  record.redone = [...(record.redone ?? []), { command: commandLine(argv), commit: gitOutput(["rev-parse", "HEAD"]) ?? "unknown", at: new Date().toISOString(), runs: options.redo }];
  try {
    for (const { deployment, locality } of options.redo) {
      const index = record.runs.findIndex((run) => run.deployment === deployment && run.locality === locality);
      if (index < 0) throw new Error(`--redo ${deployment}@${locality}: not in ${options.outputPrefix}.json`);
      const old = record.runs[index];
      const entry = await runOne(deployment, locality, settings, scratch, log);
      record.runs[index] = {
        ...entry,
        replaced: {
          startedAt: old.startedAt,
          busyCoresBefore: old.busyCoresBefore,
          otherBusyCoresDuring: old.otherBusyCoresDuring ?? null,
          operationsPerSecond: old.operationsPerSecond,
          error: old.error,
          warning: runWarning(old, record.regionNames),
        },
      };
      record.finishedAt = new Date().toISOString();
      record.loadAverage.end = loadavg();
      render(record, options.outputPrefix);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return finish(record, options);
}

async function main(argv) {
  const options = parseOptions(argv);
  if (options.help) {
    console.log(usage);
    return 0;
  }
  if (options.waitQuietOnly) {
    await waitQuietOnly(options.quietWaitS);
    return 0;
  }
  if (options.renderOnly) {
    const { ratios: _ratios, ...record } = JSON.parse(readFileSync(`${options.outputPrefix}.json`, "utf8"));
    render(record, options.outputPrefix);
    console.log(`rewrote ${relative(process.cwd(), options.outputPrefix)}.{json,md,html}`);
    return 0;
  }
  return options.redo === null ? sweep(options, argv) : redo(options, argv);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    console.error(`locality-sweep: ${error?.message ?? error}`);
    process.exitCode = 1;
  },
);
