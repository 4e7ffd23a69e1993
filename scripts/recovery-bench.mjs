#!/usr/bin/env node
// Issue 4's recovery measurement: how long a node with 1,000,000 znodes
// takes to start, Maestro from a snapshot and from the log alone, and, for
// comparison, Apache ZooKeeper 3.8 standalone with the same znodes.
//
//   npm run bench:recovery                      # builds Maestro, then the defaults below
//   node scripts/recovery-bench.mjs --znodes 1000000 --repeats 3
//
// Maestro's data directories are built without the network: the creates go
// through the server's own CommitPipeline (prepare against the tree plus
// pending deltas, stamp a zxid, append to NodeStorage, apply), so every
// delta is exactly what a server would have logged; fsync is off while
// building. Shape "log": every create only in the log. Shape "snapshot":
// the same directory copied, opened and snapshotted (retention then deletes
// the segments the snapshot covers; the newest segment stays, as on a live
// server). ZooKeeper's directory is built over loopback with pipelined
// creates (forceSync off) and a snapCount so large that no snapshot is
// taken: its "log" shape; its "snapshot" shape is what the first start
// leaves (ZooKeeper snapshots its whole tree at every start) with the older
// files removed.
//
// Each start is timed from just before the launcher spawns the server
// (fsync on, as in production) until `ruok` answers `imok`, and until
// `srvr` reports statistics (ZooKeeper answers `ruok` while it is still
// loading; Maestro only listens once it has recovered). Also recorded:
// Maestro's own "recovered data" log line (durationMs), the server's RSS
// right after it is ready, the node count it reports, and the data size.
// Every start of a shape begins from the same files (a pristine copy where
// a start changes them). Directories live under --data-root (a real disk)
// and are deleted at the end unless --keep.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startMaestro } from "./maestro-process.mjs";
import { startZooKeeper } from "./zookeeper-standalone.mjs";
import { connect, create } from "../bench/lib/zookeeper-client.mjs";
import { directoryBytes, machineInfo, processMemory, waitForQuietMachine } from "../bench/lib/process-stats.mjs";
import { nodeCountOf, timeStart } from "../bench/lib/readiness.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const distribution = join(repositoryRoot, "dist", "src");
const resultsDirectory = join(repositoryRoot, "bench", "results");
const benchRoot = "/recovery-bench";
const buildWindow = 2_000;
const startTimeoutMs = 600_000;
// Never reached by the build, so ZooKeeper's whole build stays in its log
// (SyncRequestProcessor snapshots after snapCount/2 plus a random share of it).
const zooKeeperSnapCountForBuild = 20_000_000;
const bench = "recovery-bench";

const usage = `usage: node scripts/recovery-bench.mjs [options]
  --znodes N                   znodes to create (default 1000000)
  --fanout N                   children per parent node (default 1000)
  --value-bytes N              bytes per leaf value (default 100)
  --repeats N                  timed starts per shape (default 3)
  --targets LIST               maestro,zookeeper (default both)
  --zookeeper-build-timeout-s S  give up building ZooKeeper's data after S seconds (default 600)
  --maestro-port P (default 2291)   --zookeeper-port P (default 2191)
  --data-root DIR              where the data directories are made (default ${tmpdir()})
  --output FILE                result file (default bench/results/recovery-<date>.json)
  --keep                       keep the data directories
  --quiet-wait-s S             before each timed start, wait up to S s for the machine to be idle (default 60)
  --timeout-s S                bound on the whole run (default 2400)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      znodes: { type: "string", default: "1000000" },
      fanout: { type: "string", default: "1000" },
      "value-bytes": { type: "string", default: "100" },
      repeats: { type: "string", default: "3" },
      targets: { type: "string", default: "maestro,zookeeper" },
      "zookeeper-build-timeout-s": { type: "string", default: "600" },
      "maestro-port": { type: "string", default: "2291" },
      "zookeeper-port": { type: "string", default: "2191" },
      "data-root": { type: "string", default: tmpdir() },
      output: { type: "string" },
      keep: { type: "boolean", default: false },
      "timeout-s": { type: "string", default: "2400" },
      "quiet-wait-s": { type: "string", default: "60" },
      help: { type: "boolean", default: false },
    },
  });
  const integer = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
    return value;
  };
  const targets = values.targets.split(",").map((name) => name.trim());
  for (const target of targets) if (!["maestro", "zookeeper"].includes(target)) throw new Error(`--targets: unknown target ${target}`);
  return {
    help: values.help,
    znodes: integer("znodes", 2, 50_000_000),
    fanout: integer("fanout", 1, 1_000_000),
    valueBytes: integer("value-bytes", 0, 1_000_000),
    repeats: integer("repeats", 1, 100),
    targets,
    zookeeperBuildTimeoutMs: integer("zookeeper-build-timeout-s", 1, 86_400) * 1000,
    maestroPort: integer("maestro-port", 1, 65535),
    zookeeperPort: integer("zookeeper-port", 1, 65535),
    dataRoot: resolve(values["data-root"]),
    output: values.output === undefined ? undefined : resolve(values.output),
    keep: values.keep,
    timeoutMs: integer("timeout-s", 1, 86_400) * 1000,
    quietWaitMs: integer("quiet-wait-s", 0, 3600) * 1000,
  };
}

/**
 * The i-th znode created (0 <= i < znodes): the root, then for every group
 * its parent node followed by up to `fanout` leaves; parents always come
 * before their children.
 */
function znodeAt(index, fanout) {
  if (index === 0) return { path: benchRoot, leaf: false };
  const group = Math.floor((index - 1) / (fanout + 1));
  const offset = (index - 1) % (fanout + 1);
  if (offset === 0) return { path: `${benchRoot}/g${group}`, leaf: false };
  return { path: `${benchRoot}/g${group}/n${offset - 1}`, leaf: true };
}

/** Runs operation(i) for i in [0, count) in order, at most `window` unfinished at a time. */
async function pipelined(count, window, operation, deadlineMs = Number.POSITIVE_INFINITY) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      if (performance.now() > deadlineMs) throw new Error(`deadline passed after ${next} of ${count}`);
      const index = next;
      next += 1;
      await operation(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

const elapsedSince = (startMs) => performance.now() - startMs;
const maestroDataFile = (name) => name !== "maestro.log" && name !== "maestro.lock";
const zooKeeperDataFile = (name) => name.startsWith("version-2/");

async function loadMaestroModules() {
  const load = (path) => import(pathToFileURL(join(distribution, path)).href);
  if (!existsSync(join(distribution, "storage", "index.js"))) throw new Error("dist/ not found; run `npm run build` first");
  const [storage, tree, pipeline] = await Promise.all([load("storage/index.js"), load("tree/index.js"), load("server/commit-pipeline.js")]);
  return { NodeStorage: storage.NodeStorage, PendingTree: tree.PendingTree, defaultTreeOptions: tree.defaultTreeOptions, openAcl: tree.openAcl, CommitPipeline: pipeline.CommitPipeline };
}

// A session id shaped like a server's (server id in the top byte) and the
// identities a loopback connection carries.
const buildSessionId = 0x01_0000_0000_0001n;
const loopbackAuthIds = [{ scheme: "ip", id: "127.0.0.1" }];

/** Creates the znodes through a CommitPipeline on NodeStorage (fsync off); returns the storage and tree, still open. */
async function buildMaestroLog(modules, dataDir, options) {
  const { NodeStorage, PendingTree, defaultTreeOptions, openAcl, CommitPipeline } = modules;
  const opened = await NodeStorage.open(dataDir, { unsafeNoFsync: true });
  const pipeline = new CommitPipeline({
    tree: opened.tree,
    pending: new PendingTree(opened.tree),
    log: opened.storage,
    options: defaultTreeOptions,
    onApplied: () => {},
  });
  const submit = async (request, sessionId, authIds) => {
    const outcome = await pipeline.submit(request, sessionId, authIds);
    if (!outcome.ok) throw new Error(`${request.op} ${request.path ?? ""} failed with error ${outcome.err}`);
  };
  const value = Buffer.alloc(options.valueBytes, 0x61);
  await submit({ op: "createSession", sessionId: buildSessionId, timeoutMs: 30_000 }, 0n, []);
  await pipelined(options.znodes, buildWindow, (index) => {
    const { path, leaf } = znodeAt(index, options.fanout);
    const request = { op: "create", kind: "create", path, data: leaf ? value : Buffer.alloc(0), acl: openAcl, flags: 0, ttl: -1n };
    return submit(request, buildSessionId, loopbackAuthIds);
  });
  await submit({ op: "closeSession", sessionId: buildSessionId }, 0n, []);
  return opened;
}

/** Builds Maestro's "log" directory, then copies it and snapshots the copy: the "snapshot" directory. */
async function buildMaestroShapes(workRoot, options) {
  const modules = await loadMaestroModules();
  const logDir = join(workRoot, "maestro-log");
  const snapshotDir = join(workRoot, "maestro-snapshot");
  let startMs = performance.now();
  const built = await buildMaestroLog(modules, logDir, options);
  const nodeCount = built.tree.nodeCount;
  await built.storage.close();
  const logBuildMs = elapsedSince(startMs);
  console.log(`maestro: ${options.znodes} creates logged in ${(logBuildMs / 1000).toFixed(1)} s (tree node count ${nodeCount})`);
  startMs = performance.now();
  cpSync(logDir, snapshotDir, { recursive: true });
  const reopened = await modules.NodeStorage.open(snapshotDir, { unsafeNoFsync: true });
  const snapshot = await reopened.storage.takeSnapshot(reopened.tree);
  await reopened.storage.close();
  const snapshotBuildMs = elapsedSince(startMs);
  console.log(`maestro: copied, reopened (recovery in-process ${reopened.report.durationMs.toFixed(0)} ms) and snapshotted in ${(snapshotBuildMs / 1000).toFixed(1)} s`);
  return {
    build: { logBuildMs, snapshotBuildMs, inProcessRecoveryMs: reopened.report.durationMs, snapshotFile: snapshot.file, treeNodeCount: nodeCount },
    shapes: [
      { name: "snapshot", dataDir: snapshotDir },
      { name: "log", dataDir: logDir },
    ],
  };
}

/** The "recovered data" line Maestro logged after byte `offset` of its log (pino JSON). */
function recoveredDataLine(logPath, offset) {
  const text = readFileSync(logPath).subarray(offset).toString("utf8");
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line);
    if (entry.msg === "recovered data") return entry;
  }
  return null;
}

const fileBytes = (path) => (existsSync(path) ? statSync(path).size : 0);

async function timeMaestroStart(dataDir, options) {
  const logPath = join(dataDir, "maestro.log");
  const logOffset = fileBytes(logPath);
  const timed = await timeStart({
    port: options.maestroPort,
    timeoutMs: startTimeoutMs,
    start: () => startMaestro({ port: options.maestroPort, dataDir, fourLetterWords: "ruok,srvr", readyTimeoutMs: startTimeoutMs }),
  });
  const memory = processMemory(timed.server.pid);
  await timed.server.stop();
  const recovered = recoveredDataLine(logPath, logOffset);
  return {
    ruokMs: timed.ruokMs,
    servingMs: timed.servingMs,
    recoveryDurationMs: recovered?.durationMs ?? null,
    recordsReplayed: recovered?.recordsReplayed ?? null,
    segmentsRead: recovered?.segmentsRead ?? null,
    snapshotFile: recovered?.snapshotFile ?? null,
    nodeCount: nodeCountOf(timed.srvr),
    rssBytes: memory?.rssBytes ?? null,
    peakRssBytes: memory?.peakRssBytes ?? null,
    ...timed.cpu,
  };
}

// ZooKeeper logs how long loading its snapshot took; recorded next to Maestro's durationMs.
function zooKeeperLoadLines(logPath, offset) {
  const text = readFileSync(logPath).subarray(offset).toString("utf8");
  const number = (pattern) => {
    const match = pattern.exec(text);
    return match === null ? null : Number(match[1]);
  };
  return { snapshotLoadedMs: number(/Snapshot loaded in (\d+) ms/), snapshotTakenMs: number(/Snapshot taken in (\d+) ms/) };
}

async function timeZooKeeperStart(dataDir, options) {
  const logPath = join(dataDir, "zookeeper.log");
  const logOffset = fileBytes(logPath);
  const timed = await timeStart({
    port: options.zookeeperPort,
    timeoutMs: startTimeoutMs,
    start: () => startZooKeeper({ port: options.zookeeperPort, dataDir, forceSync: true, fourLetterWords: "ruok,srvr", readyTimeoutMs: startTimeoutMs }),
  });
  const memory = processMemory(timed.server.pid);
  await timed.server.stop();
  return {
    ruokMs: timed.ruokMs,
    servingMs: timed.servingMs,
    ...zooKeeperLoadLines(logPath, logOffset),
    nodeCount: nodeCountOf(timed.srvr),
    rssBytes: memory?.rssBytes ?? null,
    peakRssBytes: memory?.peakRssBytes ?? null,
    ...timed.cpu,
  };
}

/** Creates the znodes in a running ZooKeeper (forceSync off) with pipelined creates over loopback. */
async function buildZooKeeperLog(dataDir, options) {
  const server = await startZooKeeper({
    port: options.zookeeperPort,
    dataDir,
    forceSync: false,
    fourLetterWords: "ruok,srvr",
    jvmArgs: [`-Dzookeeper.snapCount=${zooKeeperSnapCountForBuild}`],
  });
  const startMs = performance.now();
  try {
    const client = await connect(`${server.host}:${server.port}`);
    try {
      const value = Buffer.alloc(options.valueBytes, 0x61);
      const empty = Buffer.alloc(0);
      await pipelined(
        options.znodes,
        buildWindow,
        (index) => {
          const { path, leaf } = znodeAt(index, options.fanout);
          return create(client, path, leaf ? value : empty);
        },
        startMs + options.zookeeperBuildTimeoutMs,
      );
    } finally {
      client.close();
    }
    return elapsedSince(startMs);
  } finally {
    await server.stop();
  }
}

/** ZooKeeper's "log" directory, and its "snapshot" one: the files the first start leaves, minus everything older than its snapshot. */
async function buildZooKeeperShapes(workRoot, options) {
  const logDir = join(workRoot, "zookeeper-log");
  let buildMs;
  try {
    buildMs = await buildZooKeeperLog(logDir, options);
  } catch (error) {
    throw new Error(`building ZooKeeper's data failed (${error.message}); rerun with a smaller --znodes (e.g. 200000) for both servers`);
  }
  console.log(`zookeeper: ${options.znodes} creates over loopback (forceSync off) in ${(buildMs / 1000).toFixed(1)} s`);
  const snapshotDir = join(workRoot, "zookeeper-snapshot");
  cpSync(logDir, snapshotDir, { recursive: true });
  const firstStart = await timeZooKeeperStart(snapshotDir, options);
  const versionDir = join(snapshotDir, "version-2");
  const snapshots = readdirSync(versionDir).filter((name) => name.startsWith("snapshot.")).sort(byZxidSuffix);
  const newest = snapshots.at(-1);
  for (const name of readdirSync(versionDir)) if (name !== newest && (name.startsWith("snapshot.") || name.startsWith("log."))) rmSync(join(versionDir, name));
  return {
    build: { buildMs, snapshotShapeFrom: { ...firstStart, note: "the first start from the log shape, which wrote the snapshot" } },
    shapes: [
      { name: "snapshot", dataDir: snapshotDir },
      { name: "log", dataDir: logDir },
    ],
  };
}

function byZxidSuffix(a, b) {
  const zxid = (name) => BigInt(`0x${name.slice(name.indexOf(".") + 1)}`);
  const difference = zxid(a) - zxid(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

function median(values) {
  const sorted = values.filter((value) => value !== null && value !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Times `repeats` starts of one shape. Starts that change the files
 * (ZooKeeper snapshots at every start) run on a fresh copy of the shape's
 * pristine directory, so every repeat starts from the same files.
 */
async function measureShape({ target, shape, repeats, workRoot, timeOne, changesFiles, quietWaitMs }) {
  const include = target === "maestro" ? maestroDataFile : zooKeeperDataFile;
  const size = directoryBytes(shape.dataDir, include);
  const starts = [];
  for (let repeat = 1; repeat <= repeats; repeat += 1) {
    let dataDir = shape.dataDir;
    if (changesFiles) {
      dataDir = join(workRoot, `${target}-${shape.name}-start`);
      rmSync(dataDir, { recursive: true, force: true });
      cpSync(shape.dataDir, dataDir, { recursive: true });
    }
    const quiet = await waitForQuietMachine({ maxWaitMs: quietWaitMs });
    const start = { ...(await timeOne(dataDir)), quietBefore: quiet };
    starts.push(start);
    console.log(formatStart(target, shape.name, repeat, start));
    if (changesFiles) rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    target,
    shape: shape.name,
    dataBytes: size.bytes,
    dataAllocatedBytes: size.allocatedBytes,
    files: size.files,
    starts,
    median: {
      ruokMs: median(starts.map((start) => start.ruokMs)),
      servingMs: median(starts.map((start) => start.servingMs)),
      recoveryDurationMs: median(starts.map((start) => start.recoveryDurationMs)),
      snapshotLoadedMs: median(starts.map((start) => start.snapshotLoadedMs)),
      rssBytes: median(starts.map((start) => start.rssBytes)),
    },
  };
}

const mebibytes = (bytes) => (bytes === null || bytes === undefined ? "-" : (bytes / 1024 / 1024).toFixed(0));
const milliseconds = (value) => (value === null || value === undefined ? "-" : value.toFixed(0));

function formatStart(target, shape, repeat, start) {
  const own = start.recoveryDurationMs ?? start.snapshotLoadedMs;
  return (
    `${target.padEnd(10)} ${shape.padEnd(9)} ${String(repeat).padStart(6)} ${milliseconds(start.ruokMs).padStart(8)} ${milliseconds(start.servingMs).padStart(10)}` +
    ` ${milliseconds(own).padStart(11)} ${String(start.nodeCount ?? "-").padStart(10)} ${mebibytes(start.rssBytes).padStart(8)} ${(start.otherCores ?? 0).toFixed(2).padStart(11)}`
  );
}

function printSummary(results) {
  console.log("\nmedians: start to ruok imok / to srvr serving; Maestro's recovery durationMs (ZooKeeper: \"Snapshot loaded in\"); RSS after start; data size (apparent / on disk)");
  console.log("target     shape     ruok ms  serving ms  own load ms  RSS MiB  data MiB  on-disk MiB");
  for (const result of results) {
    const m = result.median;
    console.log(
      `${result.target.padEnd(10)} ${result.shape.padEnd(9)} ${milliseconds(m.ruokMs).padStart(7)} ${milliseconds(m.servingMs).padStart(11)}` +
        ` ${milliseconds(m.recoveryDurationMs ?? m.snapshotLoadedMs).padStart(12)} ${mebibytes(m.rssBytes).padStart(8)} ${mebibytes(result.dataBytes).padStart(9)} ${mebibytes(result.dataAllocatedBytes).padStart(12)}`,
    );
  }
}

function defaultOutputPath() {
  const date = new Date().toISOString().slice(0, 10);
  const plain = join(resultsDirectory, `recovery-${date}.json`);
  if (!existsSync(plain)) return plain;
  return join(resultsDirectory, `recovery-${new Date().toISOString().slice(0, 16).replace(":", "")}.json`);
}

async function measureMaestro(workRoot, options) {
  const built = await buildMaestroShapes(workRoot, options);
  const empty = { name: "empty", dataDir: mkdtempSync(join(workRoot, "maestro-empty-")) };
  const results = [];
  for (const shape of [empty, ...built.shapes]) {
    results.push(await measureShape({ target: "maestro", shape, repeats: options.repeats, workRoot, timeOne: (dir) => timeMaestroStart(dir, options), changesFiles: false, quietWaitMs: options.quietWaitMs }));
  }
  return { build: built.build, results };
}

async function measureZooKeeper(workRoot, options) {
  const built = await buildZooKeeperShapes(workRoot, options);
  const empty = { name: "empty", dataDir: mkdtempSync(join(workRoot, "zookeeper-empty-")) };
  const results = [];
  for (const shape of [empty, ...built.shapes]) {
    results.push(await measureShape({ target: "zookeeper", shape, repeats: options.repeats, workRoot, timeOne: (dir) => timeZooKeeperStart(dir, options), changesFiles: true, quietWaitMs: options.quietWaitMs }));
  }
  return { build: built.build, results };
}

async function benchmark(options, argv) {
  const machine = machineInfo({ repositoryRoot, dataRoot: options.dataRoot });
  if (machine.dataFileSystem?.type === "tmpfs") throw new Error(`--data-root ${options.dataRoot} is on tmpfs; use a real disk`);
  const startedAt = new Date().toISOString();
  console.log(
    `${bench}: ${options.znodes} znodes (${options.fanout} per parent, ${options.valueBytes}-byte leaf values), ${options.repeats} timed start(s) per shape; ` +
      `${machine.cpus} cores, load ${machine.loadAverageAtStart.map((load) => load.toFixed(2)).join(" ")}, data on ${machine.dataFileSystem?.type ?? "?"} (${options.dataRoot})`,
  );
  const workRoot = mkdtempSync(join(options.dataRoot, `${bench}-`));
  const report = { benchmark: "recovery", command: ["node scripts/recovery-bench.mjs", ...argv].join(" "), npmScript: process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : null, startedAt, options: { ...options, help: undefined, output: undefined }, machine };
  try {
    console.log("target     shape     repeat  ruok ms serving ms own load ms node count  RSS MiB other cores");
    const results = [];
    if (options.targets.includes("maestro")) {
      const maestro = await measureMaestro(workRoot, options);
      report.maestroBuild = maestro.build;
      results.push(...maestro.results);
    }
    if (options.targets.includes("zookeeper")) {
      const zookeeper = await measureZooKeeper(workRoot, options);
      report.zookeeperBuild = zookeeper.build;
      results.push(...zookeeper.results);
    }
    printSummary(results);
    Object.assign(report, { finishedAt: new Date().toISOString(), loadAverageAtEnd: loadavg(), results });
    const output = options.output ?? defaultOutputPath();
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nresult: ${output}`);
  } finally {
    if (options.keep) console.log(`data directories kept under ${workRoot}`);
    else rmSync(workRoot, { recursive: true, force: true });
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  if (options.help) {
    console.log(usage);
    return;
  }
  const timer = setTimeout(() => {
    console.error(`${bench}: overall timeout of ${options.timeoutMs / 1000} s reached`);
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
    console.error(`${bench}: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
