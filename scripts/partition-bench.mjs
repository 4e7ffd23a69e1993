#!/usr/bin/env node
// `npm run bench:partition`: issue 7's partition of one region. Three regions
// behind the WAN emulator (default matrix); every region creates unique
// znodes (each acknowledged create is identifiable by its name) under its
// own unit and under each other region's, and reads keys of every unit.
// After --warmup-s the emulator's control API (POST /partition, both
// directions, between the cut region and every other) cuts one region off
// for --cut-s; then POST /heal, and the load runs --after-s more.
//
// Recorded per second (by completion) and region: successful creates in its
// own unit, in each other unit, reads, and errors by kind. After the load,
// fresh sessions in every region read every unit's children until each
// region holds every acknowledged create (bounded by --converge-timeout-s),
// and the report says how many are present where, which are missing, and
// what became of the creates that failed with ConnectionLoss (their outcome
// is unknown to the client: they may or may not have been applied). For
// Maestro, `leas` on every node every second records how the units stood.
// Optionally the same against zk-ensemble (one voter per region): the cut
// member loses its quorum and stops serving.
//
//   npm run bench:partition                          # maestro-cluster and zk-ensemble, ap-south cut 30 s
//   npm run bench:partition -- --smoke               # 4 s + 6 s cut + 4 s, maestro-cluster only
//   npm run bench:partition -- --deployments maestro-cluster --cut-region eu-west
//
// Take the machine-wide lab lock first: flock /tmp/maestro-lab.lock npm run bench:partition
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startLabProcess } from "../bench/lib/lab-process.mjs";
import { deploymentList, positiveNumbers, retrying as retryingFor } from "../bench/lib/script-options.mjs";
import { latencySummary, now, runPacedStream, SessionPool } from "../bench/lib/paced-load.mjs";
import { machineBusyCpuSeconds, machineInfo } from "../bench/lib/process-stats.mjs";
import { chartPage, escapeXml, timeChartSvg } from "../bench/lib/time-chart.mjs";
import { connect, create, ensureNode, errorName, exists, getChildren, getData } from "../bench/lib/zookeeper-client.mjs";
import { fourLetterWord } from "../dist/src/lab/lab.js";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const deploymentsKnown = ["maestro-cluster", "zk-ensemble"];
const regions = ["us-east", "eu-west", "ap-south"];
const unitRoot = "/maestro-part";
const readKeys = 5;
const setupTimeoutMs = 60_000;
const retrying = (what, run) => retryingFor(what, run, setupTimeoutMs);
const leasTimeoutMs = 1_000;
const leasPollMs = 1_000;
const missingListedMax = 50;
const probeIntervalMs = 1_000;
const watchSetMaxMs = 200;
const afterHealWindowS = 5;

const usage = `usage: node scripts/partition-bench.mjs [options]
  --deployments LIST       of ${deploymentsKnown.join(", ")} (default: both)
  --cut-region R           the region cut off (default ap-south)
  --warmup-s S             load before the cut (default 10)
  --cut-s S                length of the cut (default 30)
  --after-s S              load after the heal (default 20)
  --own-rate R             creates/s of each region in its own unit (default 20)
  --other-rate R           creates/s of each region in each other region's unit (default 5)
  --read-rate R            reads/s of each region over every unit (default 20)
  --sessions N             sessions per stream (default 8)
  --session-timeout-ms MS  the clients' session timeout (default 30000)
  --forward-timeout-ms MS --owner-unreachable-ms MS   Maestro cluster timing (default: the cluster's, 10000 each)
  --converge-timeout-s S   bound on the wait for every acknowledged create everywhere (default 60)
  --output FILE            JSON result (default bench/results/partition.json; .md and .html next to it)
  --logs DIR               keep each lab's data and logs under DIR
  --smoke                  warm-up 4 s, cut 6 s, after 4 s, maestro-cluster only,
                           forward timeout 2000 ms, output /tmp/partition-smoke.json (options given win)
  --report FILE            only write FILE's .md and .html again from the result FILE`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      deployments: { type: "string" },
      "cut-region": { type: "string", default: "ap-south" },
      "warmup-s": { type: "string" },
      "cut-s": { type: "string" },
      "after-s": { type: "string" },
      "own-rate": { type: "string" },
      "other-rate": { type: "string" },
      "read-rate": { type: "string" },
      sessions: { type: "string" },
      "session-timeout-ms": { type: "string" },
      "forward-timeout-ms": { type: "string" },
      "owner-unreachable-ms": { type: "string" },
      "converge-timeout-s": { type: "string" },
      output: { type: "string" },
      logs: { type: "string" },
      smoke: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const smoke = values.smoke;
  const number = positiveNumbers(values, smoke);
  const deployments = deploymentList(values.deployments, deploymentsKnown, smoke, "maestro-cluster");
  if (!regions.includes(values["cut-region"])) throw new Error(`--cut-region must be one of ${regions.join(", ")}`);
  const forwardTimeoutMs = number("forward-timeout-ms", undefined, 2_000);
  const ownerUnreachableMs = number("owner-unreachable-ms", undefined);
  return {
    smoke,
    deployments,
    cutRegion: values["cut-region"],
    warmupMs: number("warmup-s", 10, 4) * 1000,
    cutMs: number("cut-s", 30, 6) * 1000,
    afterMs: number("after-s", 20, 4) * 1000,
    ownRate: number("own-rate", 20),
    otherRate: number("other-rate", 5),
    readRate: number("read-rate", 20),
    sessions: Math.round(number("sessions", 8)),
    sessionTimeoutMs: Math.round(number("session-timeout-ms", 30_000)),
    clusterTiming: {
      ...(forwardTimeoutMs === undefined ? {} : { forwardTimeoutMs: Math.round(forwardTimeoutMs) }),
      ...(ownerUnreachableMs === undefined ? {} : { ownerUnreachableMs: Math.round(ownerUnreachableMs) }),
    },
    convergeTimeoutMs: number("converge-timeout-s", 60) * 1000,
    output: resolve(values.output ?? (smoke ? "/tmp/partition-smoke.json" : join(repositoryRoot, "bench", "results", "partition.json"))),
    logs: values.logs === undefined ? undefined : resolve(values.logs),
  };
}

function topologyOf(deployment, options) {
  if (deployment === "zk-ensemble") return { deployment, regions };
  return {
    deployment: "maestro-cluster",
    regions,
    leaseRoots: regions.map((region, index) => ({ path: unitOf(index), home: region })),
    cluster: options.clusterTiming,
  };
}

const unitOf = (region) => `${unitRoot}/r${region}`;
const readKey = (unit, index) => `${unitOf(unit)}/k${index}`;
const round = (value) => Number(value.toFixed(2));
const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** The units (each made from its own region) with a few keys to read, seen by every region before the load starts. */
async function setUpUnits(clients) {
  await retrying(`create ${unitRoot}`, () => ensureNode(clients[0], unitRoot));
  for (const [region, client] of clients.entries()) {
    await retrying(`create ${unitOf(region)}`, async () => {
      if ((await exists(client, unitRoot)) === null) throw new Error("not here yet");
      await ensureNode(client, unitOf(region));
    });
    for (let key = 0; key < readKeys; key += 1) await retrying(`create ${readKey(region, key)}`, () => ensureNode(client, readKey(region, key), Buffer.from(regions[region])));
  }
  for (const [region, client] of clients.entries()) {
    for (let unit = 0; unit < regions.length; unit += 1) {
      for (let key = 0; key < readKeys; key += 1) await retrying(`${readKey(unit, key)} in ${regions[region]}`, async () => {
        if ((await exists(client, readKey(unit, key))) === null) throw new Error("not here yet");
      });
    }
  }
}

/** `leas` on every node every second: each node's changes of (owner, epoch, state) per unit. */
function pollLeases(lab, t0) {
  const transitions = [];
  const last = new Map();
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      await Promise.all(
        lab.servers.map(async (server) => {
          try {
            const report = JSON.parse(await fourLetterWord(server.clientPort, "leas", leasTimeoutMs));
            for (const unit of report.units.filter((entry) => entry.unit.startsWith(unitRoot))) {
              const key = `${server.region} ${unit.unit}`;
              const value = `${unit.owner}/${unit.epoch}/${unit.state}`;
              if (last.get(key) === value) continue;
              last.set(key, value);
              transitions.push({ tS: round((now() - t0) / 1000), at: server.region, unit: unit.unit, owner: unit.owner, epoch: unit.epoch, state: unit.state });
            }
          } catch (error) {
            transitions.push({ tS: round((now() - t0) / 1000), at: server.region, leasFailed: error?.message ?? String(error) });
          }
        }),
      );
      await sleep(leasPollMs);
    }
  })();
  return {
    transitions,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** The streams of one region: creates in its own unit, creates in each other unit, reads of every unit. */
function regionStreams(region, pools, window, onResult) {
  const name = regions[region];
  const streams = [
    {
      stream: "own",
      target: region,
      rate: window.options.ownRate,
      operation: (client, index) => create(client, `${unitOf(region)}/own-${name}-${index}`, Buffer.from(name)),
      pathOf: (index) => `${unitOf(region)}/own-${name}-${index}`,
    },
    ...regions
      .map((_, target) => target)
      .filter((target) => target !== region)
      .map((target) => ({
        stream: `to-${regions[target]}`,
        target,
        rate: window.options.otherRate,
        operation: (client, index) => create(client, `${unitOf(target)}/from-${name}-${index}`, Buffer.from(name)),
        pathOf: (index) => `${unitOf(target)}/from-${name}-${index}`,
      })),
    {
      stream: "reads",
      target: null,
      rate: window.options.readRate,
      operation: (client, index) => {
        const unit = index % regions.length;
        return index % 10 === 9 ? getChildren(client, unitOf(unit)) : getData(client, readKey(unit, Math.floor(index / regions.length) % readKeys));
      },
      pathOf: () => null,
    },
  ];
  return streams.map((spec) =>
    runPacedStream({
      pool: pools.get(`${name} ${spec.stream}`),
      startMs: window.startMs,
      endMs: window.endMs,
      rateAt: () => spec.rate,
      operation: spec.operation,
      onResult: (result) =>
        onResult({
          region,
          stream: spec.stream,
          write: spec.target !== null,
          path: spec.pathOf(result.index),
          dueS: (result.dueMs - window.startMs) / 1000,
          doneS: (result.doneMs - window.startMs) / 1000,
          latencyMs: result.latencyMs,
          error: result.error,
        }),
    }).done,
  );
}

/**
 * Once a second each region creates a probe znode in its own unit, having
 * first set an exists watch for it on every other region's server (a
 * session of its own there): the watch fires when that region applies the
 * create, so the delay from the acknowledgement to the event is how far
 * behind the writer that region's view is. Each probe is an acknowledged
 * create like any other (reported through onResult); a probe a region has
 * not seen by the end is reported with a null delay.
 */
function runVisibilityProbes(watchers, probers, window, onResult) {
  const probes = [];
  const probeOnce = async (writer, index) => {
    const path = `${unitOf(writer)}/probe-${regions[writer]}-${index}`;
    const probe = { writer: regions[writer], index, createdS: null, createdMs: null, error: null, seenAtMs: {} };
    probes.push(probe);
    const watching = regions
      .map((_, reader) => reader)
      .filter((reader) => reader !== writer)
      .map((reader) => {
        const seen = () => (probe.seenAtMs[reader] ??= now());
        return exists(watchers[reader], path, seen).then((stat) => (stat === null ? undefined : seen()), () => undefined);
      });
    // The watches go to local servers and are set long before the create can cross the WAN; a cut-off ZooKeeper member does not answer at all.
    await Promise.race([Promise.all(watching), sleep(watchSetMaxMs)]);
    const dueMs = now();
    try {
      await create(probers[writer], path, Buffer.from("probe"));
      probe.createdMs = now();
      probe.createdS = round((probe.createdMs - window.startMs) / 1000);
      onResult({ region: writer, stream: "probe", write: true, path, dueS: (dueMs - window.startMs) / 1000, doneS: probe.createdS, latencyMs: probe.createdMs - dueMs, error: null });
    } catch (error) {
      probe.error = errorName(error);
      onResult({ region: writer, stream: "probe", write: true, path, dueS: (dueMs - window.startMs) / 1000, doneS: (now() - window.startMs) / 1000, latencyMs: now() - dueMs, error: probe.error });
    }
  };
  const loops = regions.map(async (_, writer) => {
    for (let index = 0; now() < window.endMs; index += 1) {
      const started = now();
      void probeOnce(writer, index);
      await sleep(Math.max(0, probeIntervalMs - (now() - started)));
    }
  });
  return { probes, done: Promise.all(loops) };
}

/** A probe's delay until each other region saw it (ms after the acknowledgement; 0 if seen before the answer came; null if never). */
function probeDelays(probe) {
  const delays = {};
  for (const [reader, region] of regions.entries()) {
    if (region === probe.writer) continue;
    const seenMs = probe.seenAtMs[reader];
    delays[region] = seenMs === undefined || probe.createdMs === null ? null : round(Math.max(0, seenMs - probe.createdMs));
  }
  return delays;
}

/** Per writer and reader: p50 and max of the probes' visibility delay over [fromS, toS) of creation, and probes never seen. */
function visibilitySummary(probes, fromS, toS) {
  const summary = {};
  for (const writer of regions) {
    for (const reader of regions.filter((region) => region !== writer)) {
      const inWindow = probes.filter((probe) => probe.writer === writer && probe.createdS !== null && probe.createdS >= fromS && probe.createdS < toS);
      const delays = inWindow.map((probe) => probeDelays(probe)[reader]).filter((delay) => delay !== null);
      const { p50Ms, maxMs } = latencySummary(delays);
      summary[`${writer} -> ${reader}`] = { probes: inWindow.length, p50Ms, maxMs, neverSeen: inWindow.length - delays.length };
    }
  }
  return summary;
}

/**
 * Waits until every region's server holds every acknowledged create (fresh
 * sessions, getChildren of every unit), bounded; then reports what each
 * region holds: acknowledged creates present and missing, and the creates
 * that failed (ConnectionLoss and others) found applied or not.
 */
async function checkPresence(addresses, results, options, healS) {
  const acknowledged = results.filter((result) => result.write && result.error === null).map((result) => result.path);
  const failed = results.filter((result) => result.write && result.error !== null && result.error !== "shed" && result.error !== "unsent");
  const checkers = await Promise.all(addresses.map((address) => connect(address)));
  const startedS = now();
  const views = [];
  try {
    const deadline = now() + options.convergeTimeoutMs;
    for (;;) {
      views.length = 0;
      for (const client of checkers) {
        const present = new Set();
        for (let unit = 0; unit < regions.length; unit += 1) {
          for (const child of await getChildren(client, unitOf(unit))) present.add(`${unitOf(unit)}/${child}`);
        }
        views.push(present);
      }
      const missingSomewhere = views.some((present) => acknowledged.some((path) => !present.has(path)));
      if (!missingSomewhere || now() > deadline) break;
      await sleep(1_000);
    }
  } finally {
    await Promise.all(checkers.map((client) => new Promise((resolveClose) => {
      const timer = setTimeout(resolveClose, 3_000);
      client.once("disconnected", () => {
        clearTimeout(timer);
        resolveClose();
      });
      client.close();
    })));
  }
  const waitedS = (now() - startedS) / 1000;
  const identical = views.every((present) => present.size === views[0].size && [...present].every((path) => views[0].has(path)));
  return {
    acknowledgedCreates: acknowledged.length,
    waitedAfterLoadS: round(waitedS),
    healS: round(healS),
    identicalChildrenEverywhere: identical,
    byRegion: Object.fromEntries(
      regions.map((region, index) => {
        const present = views[index];
        const missing = acknowledged.filter((path) => !present.has(path));
        const failedPresent = failed.filter((result) => present.has(result.path));
        return [
          region,
          {
            acknowledgedPresent: acknowledged.length - missing.length,
            acknowledgedMissing: missing.length,
            missing: missing.slice(0, missingListedMax),
            failedCreates: failed.length,
            failedCreatesApplied: failedPresent.length,
            failedCreatesAppliedByError: countBy(failedPresent, (result) => result.error),
          },
        ];
      }),
    ),
  };
}

function countBy(list, key) {
  const counts = {};
  for (const item of list) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Per region and second of completion: successes per stream and errors by kind. */
function perSecond(results, seconds) {
  return Object.fromEntries(
    regions.map((region, index) => {
      const buckets = Array.from({ length: seconds }, (_, second) => ({ second, ok: {}, errors: {} }));
      for (const result of results) {
        if (result.region !== index) continue;
        const bucket = buckets[Math.floor(result.doneS)];
        if (bucket === undefined) continue;
        const side = result.error === null ? bucket.ok : bucket.errors;
        const key = result.error === null ? result.stream : `${result.stream} ${result.error}`;
        side[key] = (side[key] ?? 0) + 1;
      }
      return [region, buckets];
    }),
  );
}

/** Operations per second over [fromS, toS) per region and stream (by completion), and errors by kind. */
function windowRates(results, fromS, toS) {
  const seconds = toS - fromS;
  return Object.fromEntries(
    regions.map((region, index) => {
      const mine = results.filter((result) => result.region === index && result.doneS >= fromS && result.doneS < toS);
      const okPerSecond = Object.fromEntries(Object.entries(countBy(mine.filter((result) => result.error === null), (result) => result.stream)).map(([stream, count]) => [stream, round(count / seconds)]));
      return [region, { okPerSecond, errors: countBy(mine.filter((result) => result.error !== null), (result) => `${result.stream} ${result.error}`) }];
    }),
  );
}

async function runDeployment(deployment, options) {
  const maestro = deployment.startsWith("maestro");
  const topology = topologyOf(deployment, options);
  process.stdout.write(`\n== ${deployment}: starting the lab\n`);
  const lab = await startLabProcess(topology, { readyTimeoutMs: 90_000, ...(options.logs === undefined ? {} : { directory: join(options.logs, deployment) }) });
  const pools = new Map();
  const clients = [];
  const watchers = [];
  const probers = [];
  try {
    process.stdout.write(`lab: ${lab.servers.map((server) => `${server.region}=${server.mode}@${server.clientPort}`).join(" ")}\n`);
    for (const address of lab.addresses) clients.push(await connect(address));
    await setUpUnits(clients);
    for (const [index, region] of regions.entries()) {
      for (const stream of ["own", ...regions.filter((other) => other !== region).map((other) => `to-${other}`), "reads"]) {
        pools.set(`${region} ${stream}`, await SessionPool.open(lab.addresses[index], options.sessions, { sessionTimeoutMs: options.sessionTimeoutMs }));
      }
    }
    for (const address of lab.addresses) {
      watchers.push(await connect(address, { sessionTimeoutMs: options.sessionTimeoutMs }));
      probers.push(await connect(address, { sessionTimeoutMs: options.sessionTimeoutMs }));
    }
    const results = [];
    const startMs = now();
    const window = { options, startMs, endMs: startMs + options.warmupMs + options.cutMs + options.afterMs };
    const leases = maestro ? pollLeases(lab, startMs) : null;
    const cpuBefore = machineBusyCpuSeconds();
    const streams = regions.flatMap((_, region) => regionStreams(region, pools, window, (result) => results.push(result)));
    const visibility = runVisibilityProbes(watchers, probers, window, (result) => results.push(result));
    const control = [];
    const cut = (async () => {
      await sleep(options.warmupMs);
      for (const other of regions.filter((region) => region !== options.cutRegion)) {
        const state = await lab.control("POST", "/partition", { a: options.cutRegion, b: other });
        control.push({ tS: round((now() - startMs) / 1000), request: `POST /partition ${JSON.stringify({ a: options.cutRegion, b: other })}`, partitions: state.partitions });
      }
      process.stdout.write(`  t=${((now() - startMs) / 1000).toFixed(1)} s: ${options.cutRegion} cut off\n`);
      await sleep(options.cutMs);
      const state = await lab.control("POST", "/heal", { a: options.cutRegion });
      control.push({ tS: round((now() - startMs) / 1000), request: `POST /heal ${JSON.stringify({ a: options.cutRegion })}`, partitions: state.partitions });
      process.stdout.write(`  t=${((now() - startMs) / 1000).toFixed(1)} s: healed\n`);
    })();
    const progress = setInterval(() => process.stdout.write(`  t=${((now() - startMs) / 1000).toFixed(0)} s, ${results.length} operations done\n`), 10_000);
    await Promise.all([...streams, cut, visibility.done]);
    clearInterval(progress);
    const loadEndS = (now() - startMs) / 1000;
    const busyCores = (machineBusyCpuSeconds() - cpuBefore) / loadEndS;
    const cutS = control[0]?.tS ?? options.warmupMs / 1000;
    const healS = control.at(-1)?.tS ?? (options.warmupMs + options.cutMs) / 1000;
    process.stdout.write(`  load done at ${loadEndS.toFixed(1)} s; checking every acknowledged create in every region\n`);
    const presence = await checkPresence(lab.addresses, results, options, healS);
    await leases?.stop();
    // Whole seconds only: the last, partial one would look like a drop.
    const seconds = Math.floor(loadEndS);
    return {
      label: deployment,
      deployment: topology.deployment,
      notes: lab.notes,
      servers: lab.servers.map(({ region, kind, mode, node }) => ({ region, kind, mode, ...(node === undefined ? {} : { node }) })),
      cutRegion: options.cutRegion,
      cutS,
      healS,
      loadEndS: round(loadEndS),
      control,
      rates: {
        beforeCut: windowRates(results, 0, cutS),
        duringCut: windowRates(results, cutS, healS),
        afterHeal: windowRates(results, healS, window.options.warmupMs / 1000 + (options.cutMs + options.afterMs) / 1000),
      },
      // Local service right after the heal: own-unit creates and reads due in the first seconds after it.
      afterHealLocalLatency: Object.fromEntries(
        regions.map((region, index) => {
          const near = results.filter((result) => result.region === index && result.error === null && result.dueS >= healS - 1 && result.dueS < healS + afterHealWindowS);
          return [region, { own: latencySummary(near.filter((result) => result.stream === "own").map((result) => result.latencyMs)), reads: latencySummary(near.filter((result) => result.stream === "reads").map((result) => result.latencyMs)) }];
        }),
      ),
      writeLatencyByRegion: Object.fromEntries(
        regions.map((region, index) => [region, latencySummary(results.filter((result) => result.region === index && result.write && result.error === null).map((result) => result.latencyMs))]),
      ),
      perSecond: perSecond(results, seconds),
      visibility: {
        beforeCut: visibilitySummary(visibility.probes, 0, cutS),
        duringCut: visibilitySummary(visibility.probes, cutS, healS),
        afterHeal: visibilitySummary(visibility.probes, healS, Infinity),
      },
      probes: visibility.probes.map((probe) => ({ writer: probe.writer, index: probe.index, createdS: probe.createdS, error: probe.error, seenAfterMs: probeDelays(probe) })),
      presence,
      leaseTransitions: leases?.transitions ?? [],
      sessionRenewals: [...pools.values()].reduce((sum, pool) => sum + pool.renewals, 0),
      machineBusyCores: round(busyCores),
    };
  } finally {
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    await Promise.all([...clients, ...watchers, ...probers].map((client) => new Promise((resolveClose) => {
      const timer = setTimeout(resolveClose, 3_000);
      client.once("disconnected", () => {
        clearTimeout(timer);
        resolveClose();
      });
      client.close();
    })));
    await lab.stop();
  }
}

// ---- report ----

const ms = (value) => (value === null || value === undefined ? "–" : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const rateCell = (rates, stream) => (rates.okPerSecond[stream] === undefined ? "0" : String(rates.okPerSecond[stream]));

function markdownReport(result) {
  const { options } = result;
  const lines = [
    `# Partition of one region, ${result.date.slice(0, 10)}`,
    "",
    `One run of \`${result.command}\` on ${result.machine.cpus} cores (${result.machine.cpuModel}), Maestro at ${result.machine.maestroCommit?.slice(0, 7)}${result.machine.maestroTreeDirty ? " (the shared checkout held uncommitted changes of other work under src/ when the run started)" : ""}, ZooKeeper ${result.machine.zookeeperPackage ?? "?"}.`,
    `Regions ${regions.join(", ")} behind the WAN emulator (default matrix: round trips 70, 190, 120 ms), one server per region. Maestro: units ${regions.map((region, index) => `${unitOf(index)} at ${region}`).join(", ")}; cluster timing ${JSON.stringify(options.clusterTiming)} (empty: defaults, forwardTimeoutMs and ownerUnreachableMs 10000). zk-ensemble: one voter per region (the modes each run found are listed with it).`,
    `Load, open loop, every region: ${options.ownRate} creates/s of unique znodes in its own unit, ${options.otherRate}/s in each other region's unit, ${options.readRate} reads/s over every unit (getData, every tenth a getChildren), ${options.sessions} sessions per stream, session timeout ${options.sessionTimeoutMs} ms.`,
    `Timeline: ${options.warmupMs / 1000} s of load, then ${options.cutRegion} is cut off from every other region in both directions through the emulator's control API for ${options.cutMs / 1000} s, then healed, then ${options.afterMs / 1000} s more load. Rates count operations by the second they completed.`,
    "",
  ];
  for (const run of result.runs) {
    lines.push(`## ${run.label}: successful operations per second, before / during / after the cut`, "");
    lines.push(`Servers: ${run.servers.map((server) => `${server.region} ${server.mode}`).join(", ")}.`, "");
    const streams = ["own", ...regions.map((region) => `to-${region}`), "reads"];
    lines.push(`| region | ${streams.map((stream) => (stream === "own" ? "own unit" : stream === "reads" ? "reads" : `creates ${stream}`)).join(" | ")} |`, `|---|${"---:|".repeat(streams.length)}`);
    for (const region of regions) {
      const cells = streams.map((stream) => (stream === `to-${region}` ? "–" : `${rateCell(run.rates.beforeCut[region], stream)} / **${rateCell(run.rates.duringCut[region], stream)}** / ${rateCell(run.rates.afterHeal[region], stream)}`));
      lines.push(`| ${region}${region === run.cutRegion ? " (cut)" : ""} | ${cells.join(" | ")} |`);
    }
    lines.push("", `Errors during the cut (${run.cutS} s to ${run.healS} s):`, "");
    for (const region of regions) {
      const errors = Object.entries(run.rates.duringCut[region].errors).map(([kind, count]) => `${kind} x${count}`).join("; ");
      lines.push(`- ${region}: ${errors || "none"}`);
    }
    const afterErrors = regions.map((region) => `${region}: ${Object.entries(run.rates.afterHeal[region].errors).map(([kind, count]) => `${kind} x${count}`).join("; ") || "none"}`).join("; ");
    lines.push("", `Errors after the heal: ${afterErrors}.`, "");
    lines.push(
      `Own-unit writes seen by the other regions (a probe a second per region, an exists watch on each other region's server): p50 / max ms after the acknowledgement, before / during / after the cut; 0 means the reader had it before the writer's answer arrived; "never" counts probes a region had not seen when the check ended. The probe sessions are not replaced when they expire: where the cut region's sessions expired (ZooKeeper's minority member), its rows after the heal are empty or "never".`,
      "",
    );
    lines.push("| writer -> reader | before | during | after |", "|---|---:|---:|---:|");
    for (const pair of Object.keys(run.visibility.beforeCut)) {
      const cell = (view) => (view.probes === 0 ? "–" : `${ms(view.p50Ms)} / ${ms(view.maxMs)}${view.neverSeen > 0 ? ` (never: ${view.neverSeen} of ${view.probes})` : ""}`);
      lines.push(`| ${pair} | ${cell(run.visibility.beforeCut[pair])} | ${cell(run.visibility.duringCut[pair])} | ${cell(run.visibility.afterHeal[pair])} |`);
    }
    lines.push("");
    if (run.afterHealLocalLatency !== undefined) {
      const cell = (summary) => (summary.count === 0 ? "–" : `${ms(summary.p50Ms)} / ${ms(summary.p99Ms)} / ${ms(summary.maxMs)}`);
      lines.push(`Local service around the heal (operations due from 1 s before to ${afterHealWindowS} s after it), p50 / p99 / max ms: ${regions.map((region) => `${region} own-unit creates ${cell(run.afterHealLocalLatency[region].own)}, reads ${cell(run.afterHealLocalLatency[region].reads)}`).join("; ")}.`, "");
    }
    const presence = run.presence;
    lines.push(`Acknowledged creates: ${presence.acknowledgedCreates}. Checked from a fresh session in every region, ${presence.waitedAfterLoadS} s after the load ended (the heal was at ${presence.healS} s):`, "");
    lines.push("| region | acknowledged present | missing | failed creates | of which applied anyway |", "|---|---:|---:|---:|---:|");
    for (const region of regions) {
      const view = presence.byRegion[region];
      lines.push(`| ${region} | ${view.acknowledgedPresent} | ${view.acknowledgedMissing} | ${view.failedCreates} | ${view.failedCreatesApplied} ${JSON.stringify(view.failedCreatesAppliedByError)} |`);
    }
    lines.push("", `Every region's children lists identical: ${presence.identicalChildrenEverywhere ? "yes" : "NO"}. Session renewals (expired sessions replaced): ${run.sessionRenewals}. Machine busy ${run.machineBusyCores} of ${result.machine.cpus} cores.`, "");
    if (run.deployment.startsWith("maestro")) {
      const cutView = run.leaseTransitions.filter((entry) => entry.at === run.cutRegion && entry.state !== undefined && entry.tS > 0).map((entry) => `${entry.tS} s ${entry.unit} ${entry.state}`);
      lines.push(`Units as the cut region's node reported them (changes after the start): ${cutView.join("; ") || "no change"}.`, "");
    }
    for (const region of regions) {
      const missing = presence.byRegion[region].missing;
      if (missing.length > 0) lines.push(`Missing in ${region} (first ${missing.length}): ${missing.join(", ")}`, "");
    }
  }
  lines.push("Charts: the .html next to this file; every second's counts and lease transitions: the .json.", "");
  return lines.join("\n");
}

function chartsOf(run) {
  const seconds = run.perSecond[regions[0]].length;
  return regions.map((region) => {
    const buckets = run.perSecond[region];
    const sum = (bucket, side, predicate) => Object.entries(bucket[side]).filter(([key]) => predicate(key)).reduce((total, [, count]) => total + count, 0);
    const series = [
      { name: "own-unit creates ok", colour: "#2ca02c", points: buckets.map((bucket) => [bucket.second + 0.5, sum(bucket, "ok", (key) => key === "own")]) },
      { name: "other-unit creates ok", colour: "#1f77b4", points: buckets.map((bucket) => [bucket.second + 0.5, sum(bucket, "ok", (key) => key.startsWith("to-"))]) },
      { name: "reads ok", colour: "#9467bd", dash: "2 2", points: buckets.map((bucket) => [bucket.second + 0.5, sum(bucket, "ok", (key) => key === "reads")]) },
      { name: "errors (all kinds)", colour: "#d62728", dash: "4 3", points: buckets.map((bucket) => [bucket.second + 0.5, sum(bucket, "errors", () => true)]) },
    ];
    return timeChartSvg({
      title: `${run.label}, ${region}${region === run.cutRegion ? " (cut off)" : ""}: operations per second`,
      yLabel: "operations/s",
      xMax: seconds,
      series,
      bands: [{ from: run.cutS, to: run.healS, colour: "#f6e3e3", label: `${run.cutRegion} cut` }],
      marks: [
        { x: run.cutS, label: "cut", colour: "#a33" },
        { x: run.healS, label: "heal", colour: "#3a3" },
      ],
    });
  });
}

function htmlReport(result, markdown) {
  return chartPage({
    title: "Partition of one region",
    intro: [`<pre>${escapeXml(markdown)}</pre>`],
    sections: result.runs.map((run) => ({
      heading: run.label,
      text: ["Per region: successful creates in its own unit and in other units, reads, and errors, counted by the second they completed. The shaded span is the cut."],
      charts: chartsOf(run),
    })),
  });
}

/** `--report FILE`: the Markdown and HTML again from a result file (same base name), without running anything. */
function reportOnly(argv) {
  const index = argv.indexOf("--report");
  if (index < 0) return false;
  const path = resolve(argv[index + 1] ?? "");
  const result = JSON.parse(readFileSync(path, "utf8"));
  const base = path.replace(/\.json$/, "");
  const markdown = markdownReport(result);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.html`, htmlReport(result, markdown));
  process.stdout.write(`wrote ${relative(process.cwd(), `${base}.md`)}, ${relative(process.cwd(), `${base}.html`)}\n`);
  return true;
}

async function main() {
  if (reportOnly(process.argv.slice(2))) return;
  const options = parseOptions(process.argv.slice(2));
  const command = `node scripts/partition-bench.mjs ${process.argv.slice(2).join(" ")}`.trim();
  const machine = machineInfo({ repositoryRoot, dataRoot: "/tmp" });
  const runs = [];
  for (const deployment of options.deployments) runs.push(await runDeployment(deployment, options));
  const result = { command, date: new Date().toISOString(), machine, options, runs };
  mkdirSync(dirname(options.output), { recursive: true });
  const base = options.output.replace(/\.json$/, "");
  const markdown = markdownReport(result);
  writeFileSync(options.output, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.html`, htmlReport(result, markdown));
  process.stdout.write(`\n${markdown}\nwrote ${relative(process.cwd(), options.output)}, ${relative(process.cwd(), `${base}.md`)}, ${relative(process.cwd(), `${base}.html`)}\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`partition-bench: ${error?.stack ?? error}\n`);
  process.exit(1);
});
