#!/usr/bin/env node
// The first-look measurement: ONE client (node-zookeeper-client)
// does `count` sequential creates of `valueBytes`-byte values under a fresh
// parent, each awaited before the next, then `count` sequential getData of
// the same nodes; ops/s and latency percentiles per phase.
//
//   node scripts/first-look-bench.mjs --target 127.0.0.1:2181
//   node scripts/first-look-bench.mjs --zookeeper --maestro [--rounds 2]
//
// With --zookeeper and/or --maestro the servers are started here (fresh
// temporary data directories, ports --zookeeper-port / --maestro-port) and
// stopped at the end. Rounds alternate which target goes first (ZooKeeper,
// Maestro, then Maestro, ZooKeeper, ...) so warm-up and drift do not favour
// one side; every run is printed, then the median per target and the
// Maestro/ZooKeeper ratio. The last line, `FIRST-LOOK {json}`, is for
// scripts. Everything is bounded: --count, --timeout-s for the whole run and
// --stall-s for any single operation.
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { startZooKeeper } from "./zookeeper-standalone.mjs";
import { startMaestro } from "./maestro-process.mjs";

const require = createRequire(import.meta.url);
const zookeeperClient = require("node-zookeeper-client");

const connectTimeoutMs = 15_000;
const cleanupBatchSize = 256;
const countMax = 1_000_000;

const usage = `usage:
  node scripts/first-look-bench.mjs --target HOST:PORT [options]
  node scripts/first-look-bench.mjs [--zookeeper] [--maestro] [options]
options:
  --count N            creates and getData per phase (default 10000)
  --value-bytes N      bytes per value (default 1024)
  --rounds N           runs per started target, alternating order (default 2)
  --timeout-s S        bound on the whole run (default 900)
  --stall-s S          bound on any single operation (default 30)
  --zookeeper-port P   (default 2191)   --maestro-port P (default 2291)
  --zookeeper-no-force-sync   start ZooKeeper with zookeeper.forceSync=no
  --maestro-arg ARG    extra argument for \`maestro start\` (repeatable)
  --keep               do not delete the benchmark nodes afterwards`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      zookeeper: { type: "boolean", default: false },
      maestro: { type: "boolean", default: false },
      count: { type: "string", default: "10000" },
      "value-bytes": { type: "string", default: "1024" },
      rounds: { type: "string", default: "2" },
      "timeout-s": { type: "string", default: "900" },
      "stall-s": { type: "string", default: "30" },
      "zookeeper-port": { type: "string", default: "2191" },
      "maestro-port": { type: "string", default: "2291" },
      "zookeeper-no-force-sync": { type: "boolean", default: false },
      "maestro-arg": { type: "string", multiple: true, default: [] },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const integer = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
    return value;
  };
  const options = {
    help: values.help,
    target: values.target,
    zookeeper: values.zookeeper,
    maestro: values.maestro,
    count: integer("count", 1, countMax),
    valueBytes: integer("value-bytes", 0, 1_000_000),
    rounds: integer("rounds", 1, 100),
    timeoutMs: integer("timeout-s", 1, 86_400) * 1000,
    stallMs: integer("stall-s", 1, 3600) * 1000,
    zookeeperPort: integer("zookeeper-port", 1, 65535),
    maestroPort: integer("maestro-port", 1, 65535),
    zookeeperForceSync: !values["zookeeper-no-force-sync"],
    maestroArgs: values["maestro-arg"],
    keep: values.keep,
  };
  if (!options.help && !options.target && !options.zookeeper && !options.maestro) {
    throw new Error("give --target HOST:PORT, or --zookeeper and/or --maestro");
  }
  if (options.target && (options.zookeeper || options.maestro)) {
    throw new Error("--target runs against an existing server; do not combine it with --zookeeper/--maestro");
  }
  return options;
}

// One watchdog for the whole process: a run that makes no progress for
// stallMs, or a process that outlives timeoutMs, ends with an error.
class Watchdog {
  constructor({ stallMs, timeoutMs, onExpiry }) {
    this.lastProgress = performance.now();
    this.deadline = performance.now() + timeoutMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (now > this.deadline) onExpiry(`overall timeout of ${timeoutMs / 1000} s reached`);
      else if (now - this.lastProgress > stallMs) onExpiry(`no operation completed for ${stallMs / 1000} s (${this.activity})`);
    }, 250);
    this.activity = "starting";
  }
  progress() {
    this.lastProgress = performance.now();
  }
  doing(activity) {
    this.activity = activity;
    this.progress();
  }
  stop() {
    clearInterval(this.timer);
  }
}

function connect(connectionString) {
  return new Promise((resolve, reject) => {
    const client = zookeeperClient.createClient(connectionString, { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`could not connect to ${connectionString} within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

function create(client, path, data) {
  return new Promise((resolve, reject) => {
    client.create(path, data, (error, createdPath) => (error ? reject(error) : resolve(createdPath)));
  });
}

function getData(client, path) {
  return new Promise((resolve, reject) => {
    client.getData(path, (error, data) => (error ? reject(error) : resolve(data)));
  });
}

function remove(client, path) {
  return new Promise((resolve, reject) => {
    client.remove(path, -1, (error) => (error ? reject(error) : resolve()));
  });
}

function percentile(sortedMs, fraction) {
  if (sortedMs.length === 0) return 0;
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)];
}

function phaseResult(latenciesMs, elapsedMs) {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    opsPerSecond: (latenciesMs.length * 1000) / elapsedMs,
    elapsedMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length > 0 ? sorted[sorted.length - 1] : 0,
  };
}

// Runs `operation(i)` for i in [0, count) strictly one after another.
async function sequentialPhase(count, watchdog, operation) {
  const latenciesMs = new Float64Array(count);
  const phaseStart = performance.now();
  for (let i = 0; i < count; i += 1) {
    const start = performance.now();
    await operation(i);
    const end = performance.now();
    latenciesMs[i] = end - start;
    watchdog.lastProgress = end;
  }
  return phaseResult(latenciesMs, performance.now() - phaseStart);
}

async function deleteTree(client, parent, count, watchdog) {
  for (let first = 0; first < count; first += cleanupBatchSize) {
    const batch = [];
    for (let i = first; i < Math.min(count, first + cleanupBatchSize); i += 1) batch.push(remove(client, `${parent}/n${i}`));
    await Promise.all(batch);
    watchdog.progress();
  }
  await remove(client, parent);
}

async function runWorkload({ name, connectionString, count, value, keep, watchdog }) {
  watchdog.doing(`${name}: connecting to ${connectionString}`);
  const client = await connect(connectionString);
  try {
    const parent = `/first-look-${Date.now()}-${randomBytes(4).toString("hex")}`;
    await create(client, parent, Buffer.alloc(0));
    watchdog.doing(`${name}: ${count} sequential creates`);
    const creates = await sequentialPhase(count, watchdog, (i) => create(client, `${parent}/n${i}`, value));
    watchdog.doing(`${name}: ${count} sequential getData`);
    const gets = await sequentialPhase(count, watchdog, async (i) => {
      const data = await getData(client, `${parent}/n${i}`);
      if (data === null ? value.length !== 0 : data.length !== value.length) {
        throw new Error(`${name}: getData ${parent}/n${i} returned ${data?.length ?? "null"} bytes, expected ${value.length}`);
      }
    });
    if (!keep) {
      watchdog.doing(`${name}: deleting ${count} benchmark nodes`);
      await deleteTree(client, parent, count, watchdog);
    }
    return { creates, gets };
  } finally {
    client.close();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const formatRate = (value) => value.toFixed(0).padStart(10);
const formatMs = (value) => value.toFixed(2).padStart(7);

function printRun(run) {
  const { creates, gets } = run.result;
  console.log(
    `${String(run.round).padStart(5)}  ${run.name.padEnd(10)} ${formatRate(creates.opsPerSecond)} ${formatMs(creates.p50Ms)} ${formatMs(creates.p99Ms)}` +
      ` ${formatRate(gets.opsPerSecond)} ${formatMs(gets.p50Ms)} ${formatMs(gets.p99Ms)}`,
  );
}

function summarize(runs) {
  const byTarget = {};
  for (const run of runs) {
    byTarget[run.name] ??= { create: [], get: [] };
    byTarget[run.name].create.push(run.result.creates.opsPerSecond);
    byTarget[run.name].get.push(run.result.gets.opsPerSecond);
  }
  const medians = {};
  console.log("\nmedian ops/s      create   getData");
  for (const [name, rates] of Object.entries(byTarget)) {
    medians[name] = { createOpsPerSecond: median(rates.create), getDataOpsPerSecond: median(rates.get) };
    console.log(`  ${name.padEnd(10)} ${formatRate(medians[name].createOpsPerSecond)} ${formatRate(medians[name].getDataOpsPerSecond)}`);
  }
  let ratio;
  if (medians.maestro && medians.zookeeper) {
    ratio = {
      create: medians.maestro.createOpsPerSecond / medians.zookeeper.createOpsPerSecond,
      getData: medians.maestro.getDataOpsPerSecond / medians.zookeeper.getDataOpsPerSecond,
    };
    console.log(`  maestro/zookeeper ${ratio.create.toFixed(2).padStart(7)}x ${ratio.getData.toFixed(2).padStart(9)}x`);
  }
  return { medians, ratio };
}

async function startTargets(options, started) {
  const targets = [];
  if (options.zookeeper) {
    const server = await startZooKeeper({ port: options.zookeeperPort, forceSync: options.zookeeperForceSync });
    started.push(server);
    targets.push({ name: "zookeeper", connectionString: `${server.host}:${server.port}` });
    console.log(`started ZooKeeper on ${server.host}:${server.port} (forceSync ${options.zookeeperForceSync ? "yes" : "no"}, data ${server.dataDir})`);
  }
  if (options.maestro) {
    const server = await startMaestro({ port: options.maestroPort, extraArgs: options.maestroArgs });
    started.push(server);
    targets.push({ name: "maestro", connectionString: `${server.host}:${server.port}` });
    console.log(`started Maestro on ${server.host}:${server.port} (data ${server.dataDir})`);
  }
  return targets;
}

// Round r runs the targets in order when r is odd, reversed when even.
function schedule(targets, rounds) {
  const runs = [];
  for (let round = 1; round <= rounds; round += 1) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const target of order) runs.push({ round, ...target });
  }
  return runs;
}

async function main() {
  const options = parseOptions();
  if (options.help) {
    console.log(usage);
    return;
  }
  const started = [];
  const stopAll = () => Promise.allSettled(started.map((server) => server.stop()));
  const watchdog = new Watchdog({
    stallMs: options.stallMs,
    timeoutMs: options.timeoutMs,
    onExpiry: (reason) => {
      watchdog.stop();
      console.error(`first-look: ${reason}`);
      // Stop the servers cleanly if that is quick; the launchers' exit hook
      // kills whatever is left.
      const forceExit = setTimeout(() => process.exit(124), 15_000);
      stopAll().finally(() => {
        clearTimeout(forceExit);
        process.exit(124);
      });
    },
  });
  try {
    const targets = options.target
      ? [{ name: "target", connectionString: options.target }]
      : await startTargets(options, started);
    const rounds = options.target ? 1 : options.rounds;
    const value = randomBytes(options.valueBytes);
    console.log(
      `\nfirst-look: one client, ${options.count} sequential creates of ${options.valueBytes}-byte values, then ${options.count} sequential getData; ${rounds} round(s)`,
    );
    console.log("round  target     create/s  p50 ms  p99 ms  getData/s  p50 ms  p99 ms");
    const runs = [];
    for (const run of schedule(targets, rounds)) {
      run.result = await runWorkload({ ...run, count: options.count, value, keep: options.keep, watchdog });
      printRun(run);
      runs.push(run);
    }
    const { medians, ratio } = summarize(runs);
    const report = {
      count: options.count,
      valueBytes: options.valueBytes,
      runs: runs.map(({ round, name, connectionString, result }) => ({ round, name, connectionString, ...result })),
      medians,
      ratio,
    };
    console.log(`FIRST-LOOK ${JSON.stringify(report)}`);
  } finally {
    watchdog.stop();
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`first-look: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
