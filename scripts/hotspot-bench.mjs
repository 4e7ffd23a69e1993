#!/usr/bin/env node
// `npm run bench:hotspot`: issue 7's shifting hotspot. Three regions behind
// the WAN emulator (default matrix: round trips 70, 190, 120 ms); one subtree,
// /maestro-hot, is hot, and the region that writes it most moves every
// --phase-s seconds (region 0, 1, 2, 0, ...). Every region also writes its
// own slice (/maestro-bench/r<i>, a unit it owns) at a steady rate. The hot
// region sends --hot-rate writes/s to the hot subtree, the others
// --cold-rate each. For Maestro the hot subtree is one lease unit homed at
// region 0, under majority-window (maestro-adaptive) or no policy
// (maestro-static: it stays home); ZooKeeper (zk-observers, zk-ensemble)
// has no units and gets the same keys and load.
//
// Recorded: per second and region, p50/p99 of the hot-subtree writes
// (open loop: latency from the moment a write was due, so waiting through a
// migration counts); for Maestro, `leas` on every node every
// --leases-poll-ms to timestamp each change of the hot unit's owner, and per
// shift how many seconds passed until the new hot region owned the unit.
// Output: JSON, a Markdown summary and an HTML page with a chart per
// deployment (latency over time, shifts and migrations marked).
//
//   npm run bench:hotspot                         # 20 s x 6 phases, all four deployments
//   npm run bench:hotspot -- --smoke              # short phases and window, maestro-adaptive only
//   npm run bench:hotspot -- --deployments maestro-adaptive,zk-observers --phase-s 30
//
// Take the machine-wide lab lock first: flock /tmp/maestro-lab.lock npm run bench:hotspot
import { mkdirSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startLabProcess } from "../bench/lib/lab-process.mjs";
import { deploymentList, positiveNumbers, retrying as retryingFor } from "../bench/lib/script-options.mjs";
import { latencySummary, now, runPacedStream, SessionPool } from "../bench/lib/paced-load.mjs";
import { machineBusyCpuSeconds, machineInfo } from "../bench/lib/process-stats.mjs";
import { chartPage, escapeXml, regionColours, timeChartSvg } from "../bench/lib/time-chart.mjs";
import { connect, ensureNode, exists, getData, setData } from "../bench/lib/zookeeper-client.mjs";
import { fourLetterWord } from "../dist/src/lab/lab.js";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const deploymentsKnown = ["maestro-adaptive", "maestro-static", "zk-observers", "zk-ensemble"];
const regions = ["us-east", "eu-west", "ap-south"];
const hotRoot = "/maestro-hot";
const sliceRoot = "/maestro-bench";
const sliceKeys = 10;
const setupTimeoutMs = 60_000;
const retrying = (what, run) => retryingFor(what, run, setupTimeoutMs);
const leasTimeoutMs = 1_000;

const usage = `usage: node scripts/hotspot-bench.mjs [options]
  --deployments LIST     of ${deploymentsKnown.join(", ")} (default: all)
  --phase-s S            seconds per phase (default 20)
  --phases N             phases; the hot region of phase p is p mod 3 (default 6)
  --warmup-s S           unrecorded seconds before phase 0, region 0 hot (default 5)
  --hot-rate R           hot-subtree writes/s from the hot region (default 24)
  --cold-rate R          hot-subtree writes/s from each other region (default 3)
  --background-rate R    writes/s of each region to its own slice (default 20)
  --sessions N           sessions per region and stream (hot subtree, own slice) (default 12)
  --hot-keys N           keys under ${hotRoot} (default 20)
  --share X --window-ms W --hold-ms H    majority-window settings (default 0.6, 10000, 5000)
  --renew-interval-ms MS --lease-term-ms MS   cluster timing (default: the cluster's, 2000 and 10000)
  --leases-poll-ms MS    how often leas is asked on every node (default 250)
  --output FILE          JSON result (default bench/results/hotspot.json; .md and .html next to it)
  --logs DIR             keep each lab's data and logs under DIR
  --smoke                3 phases of 6 s, window 2000, hold 1000, renewals every 500 ms,
                         maestro-adaptive only, output /tmp/hotspot-smoke.json (options given win)`;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      deployments: { type: "string" },
      "phase-s": { type: "string" },
      phases: { type: "string" },
      "warmup-s": { type: "string" },
      "hot-rate": { type: "string" },
      "cold-rate": { type: "string" },
      "background-rate": { type: "string" },
      sessions: { type: "string" },
      "hot-keys": { type: "string" },
      share: { type: "string" },
      "window-ms": { type: "string" },
      "hold-ms": { type: "string" },
      "renew-interval-ms": { type: "string" },
      "lease-term-ms": { type: "string" },
      "leases-poll-ms": { type: "string" },
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
  const deployments = deploymentList(values.deployments, deploymentsKnown, smoke, "maestro-adaptive");
  const renewIntervalMs = number("renew-interval-ms", undefined, 500);
  const leaseTermMs = number("lease-term-ms", undefined, 3_000);
  return {
    smoke,
    deployments,
    phaseMs: number("phase-s", 20, 6) * 1000,
    phases: Math.round(number("phases", 6, 3)),
    warmupMs: number("warmup-s", 5, 2) * 1000,
    hotRate: number("hot-rate", 24),
    coldRate: number("cold-rate", 3),
    backgroundRate: number("background-rate", 20),
    sessions: Math.round(number("sessions", 12)),
    hotKeys: Math.round(number("hot-keys", 20)),
    policy: { name: "majority-window", share: number("share", 0.6), windowMs: Math.round(number("window-ms", 10_000, 2_000)), holdMs: Math.round(number("hold-ms", 5_000, 1_000)) },
    clusterTiming: {
      ...(renewIntervalMs === undefined ? {} : { renewIntervalMs: Math.round(renewIntervalMs) }),
      ...(leaseTermMs === undefined ? {} : { leaseTermMs: Math.round(leaseTermMs) }),
    },
    leasesPollMs: Math.round(number("leases-poll-ms", 250)),
    output: resolve(values.output ?? (smoke ? "/tmp/hotspot-smoke.json" : join(repositoryRoot, "bench", "results", "hotspot.json"))),
    logs: values.logs === undefined ? undefined : resolve(values.logs),
  };
}

/** The lab topology of one deployment: Maestro gets the slices and the hot unit as lease roots. */
function topologyOf(deployment, options) {
  if (deployment.startsWith("zk-")) return { deployment, regions };
  const hotRule = { path: hotRoot, home: regions[0], ...(deployment === "maestro-adaptive" ? { policy: options.policy } : {}) };
  return {
    deployment: "maestro-cluster",
    regions,
    leaseRoots: [...regions.map((region, index) => ({ path: `${sliceRoot}/r${index}`, home: region })), hotRule],
    cluster: options.clusterTiming,
  };
}

/** The region that is hot at time t (ms after phase 0 began); region 0 during the warm-up. */
function hotRegionAt(tMs, options) {
  if (tMs < 0) return 0;
  return Math.floor(tMs / options.phaseMs) % regions.length;
}

const hotKey = (index) => `${hotRoot}/k${index}`;
const sliceKey = (region, index) => `${sliceRoot}/r${region}/k${index}`;

/** Makes the key space (slices from their own regions, the hot keys from region 0) and waits until every region sees all of it. */
async function setUpKeys(clients, options) {
  await retrying(`create ${sliceRoot}`, () => ensureNode(clients[0], sliceRoot));
  await retrying(`create ${hotRoot}`, () => ensureNode(clients[0], hotRoot));
  for (const [region, client] of clients.entries()) {
    await retrying(`create ${sliceRoot}/r${region}`, async () => {
      if ((await exists(client, sliceRoot)) === null) throw new Error("not here yet");
      await ensureNode(client, `${sliceRoot}/r${region}`);
    });
    for (let key = 0; key < sliceKeys; key += 1) await retrying(`create ${sliceKey(region, key)}`, () => ensureNode(client, sliceKey(region, key)));
  }
  for (let key = 0; key < options.hotKeys; key += 1) await retrying(`create ${hotKey(key)}`, () => ensureNode(clients[0], hotKey(key)));
  const everyKey = [...regions.flatMap((_, region) => Array.from({ length: sliceKeys }, (__, key) => sliceKey(region, key))), ...Array.from({ length: options.hotKeys }, (_, key) => hotKey(key))];
  for (const [region, client] of clients.entries()) {
    for (const path of everyKey) await retrying(`${path} in ${regions[region]}`, async () => {
      if ((await exists(client, path)) === null) throw new Error("not here yet");
    });
  }
}

/** Polls `leas` on every node; keeps each node's changes of the hot unit's (owner, epoch, state). */
function pollLeases(lab, t0, options) {
  const transitions = [];
  const last = new Map();
  let stopped = false;
  let failures = 0;
  const pollOnce = async () => {
    await Promise.all(
      lab.servers.map(async (server) => {
        try {
          const report = JSON.parse(await fourLetterWord(server.clientPort, "leas", leasTimeoutMs));
          const unit = report.units.find((entry) => entry.unit === hotRoot);
          if (unit === undefined) return;
          const key = `${unit.owner}/${unit.epoch}/${unit.state}`;
          if (last.get(server.region) === key) return;
          last.set(server.region, key);
          transitions.push({ tS: (now() - t0) / 1000, at: server.region, owner: unit.owner, epoch: unit.epoch, state: unit.state });
        } catch {
          failures += 1;
        }
      }),
    );
  };
  const done = (async () => {
    while (!stopped) {
      const started = now();
      await pollOnce();
      await new Promise((resolveWait) => setTimeout(resolveWait, Math.max(0, options.leasesPollMs - (now() - started))));
    }
  })();
  return {
    transitions,
    stop: async () => {
      stopped = true;
      await done;
      return failures;
    },
  };
}

/** Migrations: each time a region's own node first reports the hot unit "owned" by it (it commits writes from then on). */
function migrationsOf(transitions) {
  const owned = new Map();
  const migrations = [];
  for (const entry of transitions) {
    const isOwned = entry.state === "owned" && entry.owner === entry.at;
    // Epoch 0 is the unit's first grant at its home, not a move.
    if (isOwned && entry.epoch > 0 && owned.get(entry.at) !== entry.epoch) migrations.push({ tS: entry.tS, to: entry.at, epoch: entry.epoch });
    if (isOwned) owned.set(entry.at, entry.epoch);
  }
  return migrations;
}

/** Per phase: the hot region, when (if) it came to own the unit, and its hot-write latency before and after. */
function phaseSummaries(options, hotResults, migrations, maestro) {
  return Array.from({ length: options.phases }, (_, phase) => {
    const startS = (phase * options.phaseMs) / 1000;
    const endS = startS + options.phaseMs / 1000;
    const hot = hotRegionAt(phase * options.phaseMs, options);
    let followS = null;
    if (maestro) {
      const ownerAtShift = migrations.filter((migration) => migration.tS <= startS).at(-1)?.to ?? regions[0];
      const arrival = migrations.find((migration) => migration.tS > startS && migration.tS < endS && migration.to === regions[hot]);
      if (ownerAtShift === regions[hot]) followS = 0;
      else if (arrival !== undefined) followS = arrival.tS - startS;
    }
    const inPhase = hotResults.filter((result) => result.region === hot && result.error === null && result.tS >= startS && result.tS < endS);
    const splitS = followS === null ? endS : startS + followS;
    const movesInPhase = maestro ? migrations.filter((migration) => migration.tS >= startS && migration.tS < endS).map((migration) => ({ tS: round(migration.tS), to: migration.to })) : [];
    return {
      phase,
      startS,
      hotRegion: regions[hot],
      secondsToFollow: followS === null ? null : round(followS),
      movesInPhase,
      hotWritesInHotRegion: latencySummary(inPhase.map((result) => result.latencyMs)),
      beforeFollow: maestro ? latencySummary(inPhase.filter((result) => result.tS < splitS).map((result) => result.latencyMs)) : null,
      afterFollow: maestro && followS !== null ? latencySummary(inPhase.filter((result) => result.tS >= splitS).map((result) => result.latencyMs)) : null,
    };
  });
}

const round = (value) => Number(value.toFixed(2));

/** Per region and second: count, errors, p50 and p99 of the hot-subtree writes due that second. */
function perSecond(results, seconds) {
  return Object.fromEntries(
    regions.map((region, index) => {
      const buckets = Array.from({ length: seconds }, () => ({ latencies: [], errors: 0 }));
      for (const result of results) {
        if (result.region !== index || result.tS < 0 || result.tS >= seconds) continue;
        const bucket = buckets[Math.floor(result.tS)];
        if (result.error === null) bucket.latencies.push(result.latencyMs);
        else bucket.errors += 1;
      }
      return [region, buckets.map((bucket, second) => ({ second, ...latencySummary(bucket.latencies), errors: bucket.errors }))];
    }),
  );
}

function errorCounts(results) {
  const counts = {};
  for (const result of results) {
    if (result.error === null) continue;
    const key = `${regions[result.region]} ${result.stream}: ${result.error}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** After the load: every region's view of the hot keys (data and version) must be the same. */
async function checkHotKeysAgree(clients, options) {
  const deadline = Date.now() + 30_000;
  let differences = [];
  while (Date.now() < deadline) {
    differences = [];
    for (let key = 0; key < options.hotKeys; key += 1) {
      const views = await Promise.all(clients.map(async (client) => {
        const data = await getData(client, hotKey(key));
        const stat = await exists(client, hotKey(key));
        return `${stat?.version}:${data?.toString("utf8")}`;
      }));
      if (new Set(views).size > 1) differences.push({ path: hotKey(key), views });
    }
    if (differences.length === 0) return { agree: true, keys: options.hotKeys };
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
  return { agree: false, keys: options.hotKeys, differences: differences.slice(0, 10) };
}

/** One deployment: lab, key space, load, lease polling; the lab is stopped before returning. */
async function runDeployment(deployment, options) {
  const maestro = deployment.startsWith("maestro");
  const topology = topologyOf(deployment, options);
  process.stdout.write(`\n== ${deployment}: starting the lab\n`);
  const lab = await startLabProcess(topology, { readyTimeoutMs: 90_000, ...(options.logs === undefined ? {} : { directory: join(options.logs, deployment) }) });
  const pools = [];
  const clients = [];
  try {
    process.stdout.write(`lab: ${lab.servers.map((server) => `${server.region}=${server.mode}@${server.clientPort}`).join(" ")}\n`);
    for (const address of lab.addresses) clients.push(await connect(address));
    await setUpKeys(clients, options);
    const hotPools = await Promise.all(lab.addresses.map((address) => SessionPool.open(address, options.sessions)));
    // As many sessions for the slice writes: with ZooKeeper they are remote too (a round trip of up to 300 ms each).
    const backgroundPools = await Promise.all(lab.addresses.map((address) => SessionPool.open(address, options.sessions)));
    pools.push(...hotPools, ...backgroundPools);
    const results = [];
    const startMs = now();
    const t0 = startMs + options.warmupMs;
    const endMs = t0 + options.phases * options.phaseMs;
    const leases = maestro ? pollLeases(lab, t0, options) : null;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuBefore = machineBusyCpuSeconds();
    const payload = (region, index) => Buffer.from(`${regions[region]}:${index}`);
    const streams = regions.flatMap((_, region) => [
      runPacedStream({
        pool: hotPools[region],
        startMs,
        endMs,
        rateAt: (dueMs) => (hotRegionAt(dueMs - t0, options) === region ? options.hotRate : options.coldRate),
        operation: (client, index) => setData(client, hotKey((index * 7 + region) % options.hotKeys), payload(region, index)),
        onResult: (result) => results.push({ stream: "hot", region, tS: (result.dueMs - t0) / 1000, latencyMs: result.latencyMs, error: result.error }),
      }).done,
      runPacedStream({
        pool: backgroundPools[region],
        startMs,
        endMs,
        rateAt: () => options.backgroundRate,
        operation: (client, index) => setData(client, sliceKey(region, index % sliceKeys), payload(region, index)),
        onResult: (result) => results.push({ stream: "background", region, tS: (result.dueMs - t0) / 1000, latencyMs: result.latencyMs, error: result.error }),
      }).done,
    ]);
    const progress = setInterval(() => process.stdout.write(`  t=${((now() - t0) / 1000).toFixed(0)} s, ${results.length} writes done\n`), 10_000);
    await Promise.all(streams);
    clearInterval(progress);
    const busyCores = (machineBusyCpuSeconds() - cpuBefore) / ((now() - startMs) / 1000);
    loopDelay.disable();
    const leasFailures = leases === null ? 0 : await leases.stop();
    const transitions = leases?.transitions ?? [];
    const migrations = migrationsOf(transitions);
    const measured = results.filter((result) => result.tS >= 0);
    const hotResults = measured.filter((result) => result.stream === "hot");
    const seconds = Math.round((options.phases * options.phaseMs) / 1000);
    const agreement = await checkHotKeysAgree(clients, options);
    return {
      label: deployment,
      deployment: topology.deployment,
      hotUnitPolicy: maestro ? (deployment === "maestro-adaptive" ? options.policy : { name: "static" }) : null,
      notes: lab.notes,
      servers: lab.servers.map(({ region, kind, mode, node }) => ({ region, kind, mode, ...(node === undefined ? {} : { node }) })),
      phases: phaseSummaries(options, hotResults, migrations, maestro),
      migrations: migrations.map((migration) => ({ ...migration, tS: round(migration.tS) })),
      leaseTransitions: transitions.map((entry) => ({ ...entry, tS: round(entry.tS) })),
      leasPollFailures: leasFailures,
      hotWritesPerSecond: perSecond(hotResults, seconds),
      hotWritesByRegion: Object.fromEntries(regions.map((region, index) => [region, latencySummary(hotResults.filter((result) => result.region === index && result.error === null).map((result) => result.latencyMs))])),
      backgroundWritesByRegion: Object.fromEntries(
        regions.map((region, index) => [region, latencySummary(measured.filter((result) => result.stream === "background" && result.region === index && result.error === null).map((result) => result.latencyMs))]),
      ),
      errors: errorCounts(measured),
      hotKeysAgreeEverywhere: agreement,
      sessionRenewals: pools.reduce((sum, pool) => sum + pool.renewals, 0),
      generatorEventLoopDelayMs: { p50: round(loopDelay.percentile(50) / 1e6), p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
      machineBusyCores: round(busyCores),
    };
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await Promise.all(clients.map((client) => new Promise((resolveClose) => {
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
const latencyCell = (summary) => (summary === null || summary.count === 0 ? "–" : `${ms(summary.p50Ms)} / ${ms(summary.p99Ms)} (${summary.count})`);

/** A phase's "seconds to follow": 0 means the hot region owned the unit already when the phase began. */
function followCell(phase) {
  if (phase.secondsToFollow === null) return "did not follow";
  return phase.secondsToFollow === 0 ? "owner already" : `${phase.secondsToFollow} s`;
}

function markdownReport(result) {
  const { options } = result;
  const lines = [
    `# Shifting hotspot, ${result.date.slice(0, 10)}`,
    "",
    `One run of \`${result.command}\` on ${result.machine.cpus} cores (${result.machine.cpuModel}), Maestro at ${result.machine.maestroCommit?.slice(0, 7)}${result.machine.maestroTreeDirty ? " (the shared checkout held uncommitted changes of other work under src/ when the run started)" : ""}, ZooKeeper ${result.machine.zookeeperPackage ?? "?"}.`,
    `Regions ${regions.join(", ")} behind the WAN emulator (default matrix: round trips us-east/eu-west 70 ms, us-east/ap-south 190 ms, eu-west/ap-south 120 ms); one node per region.`,
    `${options.phases} phases of ${options.phaseMs / 1000} s; the hot region of phase p is region p mod 3 (phase 0 is us-east, after a ${options.warmupMs / 1000} s warm-up with us-east hot).`,
    `Load, open loop: the hot region ${options.hotRate} setData/s to ${options.hotKeys} keys under ${hotRoot} (${options.sessions} sessions per region and stream), each other region ${options.coldRate}/s there; every region ${options.backgroundRate}/s to its own slice ${sliceRoot}/r<i>. Latency counts from the moment a write was due.`,
    `Maestro: ${hotRoot} is one lease unit homed at us-east; maestro-adaptive moves it under majority-window ${JSON.stringify(options.policy)}, maestro-static leaves it home. Cluster timing: ${JSON.stringify(options.clusterTiming)} (empty: defaults, renewals every 2000 ms). \`leas\` polled on every node every ${options.leasesPollMs} ms: "followed" is the first poll at which the new hot region's own node reports the unit owned by it.`,
    "",
    "## Seconds until ownership followed the hot region",
    "",
    "| deployment | " + Array.from({ length: options.phases }, (_, phase) => `phase ${phase} (${result.runs[0]?.phases[phase]?.hotRegion ?? ""})`).join(" | ") + " |",
    "|---|" + "---:|".repeat(options.phases),
  ];
  for (const run of result.runs.filter((entry) => entry.deployment.startsWith("maestro"))) {
    lines.push(`| ${run.label} | ${run.phases.map(followCell).join(" | ")} |`);
  }
  lines.push("", "## Hot-subtree writes of the hot region, per phase: p50 / p99 ms (count)", "");
  lines.push("| deployment | phase | hot region | whole phase | before ownership followed | after |", "|---|---:|---|---:|---:|---:|");
  for (const run of result.runs) {
    for (const phase of run.phases) {
      lines.push(`| ${run.label} | ${phase.phase} | ${phase.hotRegion} | ${latencyCell(phase.hotWritesInHotRegion)} | ${phase.beforeFollow === null ? "–" : latencyCell(phase.beforeFollow)} | ${phase.afterFollow === null ? "–" : latencyCell(phase.afterFollow)} |`);
    }
  }
  lines.push("", "## Whole run: p50 / p99 ms (count) by region", "");
  lines.push("| deployment | region | hot-subtree writes | own-slice writes |", "|---|---|---:|---:|");
  for (const run of result.runs) {
    for (const region of regions) lines.push(`| ${run.label} | ${region} | ${latencyCell(run.hotWritesByRegion[region])} | ${latencyCell(run.backgroundWritesByRegion[region])} |`);
  }
  lines.push("", "## Migrations, errors, checks", "");
  for (const run of result.runs) {
    const moves = run.migrations.map((migration) => `${migration.tS} s -> ${migration.to}`).join(", ");
    const errors = Object.entries(run.errors).map(([kind, count]) => `${kind} x${count}`).join("; ");
    lines.push(
      `- ${run.label}: ${run.deployment.startsWith("maestro") ? `migrations at ${moves || "none"}; ` : ""}errors: ${errors || "none"}; hot keys identical in every region afterwards: ${run.hotKeysAgreeEverywhere.agree ? "yes" : "NO"}; generator event-loop delay p99 ${run.generatorEventLoopDelayMs.p99} ms; machine busy ${run.machineBusyCores} of ${result.machine.cpus} cores.`,
    );
  }
  lines.push("", "Charts: the .html next to this file. Raw per-second numbers and every lease transition seen: the .json.", "");
  return lines.join("\n");
}

function chartOf(run, options) {
  const seconds = Math.round((options.phases * options.phaseMs) / 1000);
  const series = regions.flatMap((region, index) => [
    { name: `${region} p50`, colour: regionColours[index], points: run.hotWritesPerSecond[region].map((bucket) => [bucket.second + 0.5, bucket.p50Ms]) },
    { name: `${region} p99`, colour: regionColours[index], dash: "4 3", points: run.hotWritesPerSecond[region].map((bucket) => [bucket.second + 0.5, bucket.p99Ms]) },
  ]);
  const marks = [
    ...run.phases.slice(1).map((phase) => ({ x: phase.startS, label: `${phase.hotRegion} hot`, colour: "#777", dash: "5 4", row: 0 })),
    ...run.migrations.map((migration) => ({ x: migration.tS, label: `-> ${migration.to}`, colour: regionColours[regions.indexOf(migration.to)], row: 1 })),
  ];
  return timeChartSvg({ title: `${run.label}: hot-subtree write latency per second`, yLabel: "ms (log)", yLog: true, xMax: seconds, series, marks });
}

function htmlReport(result, markdown) {
  return chartPage({
    title: "Shifting hotspot",
    intro: [`<pre>${escapeXml(markdown)}</pre>`],
    sections: result.runs.map((run) => ({
      heading: run.label,
      text: ["Solid lines p50, dashed p99 of the hot-subtree writes due in each second, per region. Grey dashed marks: the hot region shifts. Coloured marks: the hot unit became owned (usable) at that region."],
      charts: [chartOf(run, result.options)],
    })),
  });
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const command = `node scripts/hotspot-bench.mjs ${process.argv.slice(2).join(" ")}`.trim();
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
  process.stderr.write(`hotspot-bench: ${error?.stack ?? error}\n`);
  process.exit(1);
});
