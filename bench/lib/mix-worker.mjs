// One generator thread of `npm run bench` (run by closed-loop.mjs's
// runClosedLoop with this file as the worker): opens a session per client
// it was given, says "ready", and on "go" runs every client until the end
// time or the per-client count, either closed loop (await each operation,
// then the next) or open loop (operations due at a fixed rate, sent when
// due whatever is in flight, latency measured from the due time). Records
// per type and per region, counts completions per second, and posts a
// progress message every progressIntervalMs. Also records per region,
// type and key owner ("region/type/local|remote": whether the key lies in the
// client's own region slice), for the local-owned vs remote-owned split.
import { parentPort, workerData } from "node:worker_threads";
import { encodeHistogram, latencyHistogram, recordMilliseconds } from "./histogram.mjs";
import { clientState, nextOperation } from "./mix-workload.mjs";
import { connect, errorName } from "./zookeeper-client.mjs";
import { dueAtMs, dueCountAt, openLoopLatencyMs } from "../../dist/src/bench/open-loop.js";

const epochMs = (now = performance.now()) => performance.timeOrigin + now;
const progressIntervalMs = 500;
/** Open loop: operations in flight per client before the sender waits. */
const inFlightPerClientMax = 1_000;
/** Open loop: how long to wait for operations still in flight at the end. */
const drainMsMax = 10_000;
const secondsMax = 86_400;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Recording {
  constructor(schedule) {
    this.schedule = schedule;
    this.byType = new Map();
    this.byRegion = new Map();
    this.byRegionKeyOwner = new Map();
    this.all = latencyHistogram();
    this.errors = {};
    this.perSecond = [];
    this.errorsPerSecond = [];
    this.warmupOperations = 0;
    this.lastRecordedEpochMs = 0;
    this.clientsStoppedByTime = 0;
    this.completed = 0;
    this.failed = 0;
  }
  histogramIn(map, key) {
    if (!map.has(key)) map.set(key, latencyHistogram());
    return map.get(key);
  }
  count(series, completedEpochMs) {
    const second = Math.min(secondsMax, Math.floor((completedEpochMs - this.schedule.measureFromEpochMs) / 1000));
    while (series.length <= second) series.push(0);
    series[second] += 1;
  }
  record(operation, milliseconds, completedEpochMs) {
    recordMilliseconds(this.histogramIn(this.byType, operation.type), milliseconds);
    recordMilliseconds(this.histogramIn(this.byRegion, String(operation.region)), milliseconds);
    recordMilliseconds(this.histogramIn(this.byRegionKeyOwner, `${operation.region}/${operation.type}/${operation.keyOwner}`), milliseconds);
    recordMilliseconds(this.all, milliseconds);
    this.count(this.perSecond, completedEpochMs);
    this.lastRecordedEpochMs = Math.max(this.lastRecordedEpochMs, completedEpochMs);
    this.completed += 1;
  }
  error(operation, error, completedEpochMs) {
    const key = `${operation.type}: ${errorName(error)}`;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
    this.count(this.errorsPerSecond, completedEpochMs);
    this.failed += 1;
  }
  encode() {
    const encodeMap = (map) => Object.fromEntries([...map].map(([key, histogram]) => [key, encodeHistogram(histogram)]));
    return {
      all: encodeHistogram(this.all),
      byType: encodeMap(this.byType),
      byRegion: encodeMap(this.byRegion),
      byRegionKeyOwner: encodeMap(this.byRegionKeyOwner),
      errors: this.errors,
      perSecond: this.perSecond,
      errorsPerSecond: this.errorsPerSecond,
      warmupOperations: this.warmupOperations,
      lastRecordedEpochMs: this.lastRecordedEpochMs,
      clientsStoppedByTime: this.clientsStoppedByTime,
    };
  }
}

async function closedLoop(state, schedule, recording) {
  let measured = 0;
  while (measured < schedule.operationsPerClientMax) {
    if (epochMs() >= schedule.endAtEpochMs) {
      recording.clientsStoppedByTime += 1;
      return;
    }
    const operation = nextOperation(state, epochMs() - schedule.goEpochMs);
    const start = performance.now();
    let failure = null;
    try {
      await operation.run();
    } catch (error) {
      failure = error;
    }
    const end = performance.now();
    const completed = epochMs(end);
    if (completed < schedule.measureFromEpochMs) {
      recording.warmupOperations += 1;
    } else if (completed <= schedule.endAtEpochMs) {
      if (failure === null) recording.record(operation, end - start, completed);
      else recording.error(operation, failure, completed);
      measured += 1;
    }
  }
}

// Operations due before measureFromEpochMs are warm-up; operations due
// before the end are recorded whenever they complete (within drainMsMax),
// so a stall at the very end still counts.
async function openLoop(state, schedule, recording, ratePerSecond) {
  const inFlight = new Set();
  let index = 0;
  let measured = 0;
  const send = (dueMs) => {
    const operation = nextOperation(state, dueMs - schedule.goEpochMs);
    const warmup = dueMs < schedule.measureFromEpochMs;
    if (!warmup) measured += 1;
    const done = operation.run().then(
      () => null,
      (error) => error,
    );
    const tracked = done.then((failure) => {
      inFlight.delete(tracked);
      const completed = epochMs();
      if (warmup) recording.warmupOperations += 1;
      else if (failure === null) recording.record(operation, openLoopLatencyMs(dueMs, completed), completed);
      else recording.error(operation, failure, completed);
    });
    inFlight.add(tracked);
  };
  for (;;) {
    const now = epochMs();
    if (now >= schedule.endAtEpochMs || measured >= schedule.operationsPerClientMax) break;
    const due = dueCountAt(schedule.goEpochMs, ratePerSecond, now);
    while (index < due && inFlight.size < inFlightPerClientMax && measured < schedule.operationsPerClientMax) {
      send(dueAtMs(schedule.goEpochMs, ratePerSecond, index));
      index += 1;
    }
    if (inFlight.size >= inFlightPerClientMax) await Promise.race(inFlight);
    else await sleep(Math.max(1, dueAtMs(schedule.goEpochMs, ratePerSecond, index) - epochMs()));
  }
  if (epochMs() >= schedule.endAtEpochMs) recording.clientsStoppedByTime += 1;
  const drained = await Promise.race([Promise.all(inFlight).then(() => true), sleep(drainMsMax).then(() => false)]);
  if (!drained) recording.errors["unfinished at the end"] = (recording.errors["unfinished at the end"] ?? 0) + inFlight.size;
}

async function run() {
  const { connectionString, clientIndexes, sessionTimeoutMs, workloadOptions } = workerData;
  // Region r's sessions talk to regionAddresses[r mod count] when given.
  const addresses = workloadOptions.regionAddresses ?? [];
  const addressOf = (clientIndex) => addresses[(clientIndex % workloadOptions.regionCount) % addresses.length] ?? connectionString;
  const clients = await Promise.all(clientIndexes.map((clientIndex) => connect(addressOf(clientIndex), { sessionTimeoutMs })));
  let progress;
  try {
    const states = clients.map((client, i) => clientState(client, clientIndexes[i], workloadOptions));
    const schedule = await new Promise((resolve) => {
      parentPort.once("message", resolve);
      parentPort.postMessage({ type: "ready" });
    });
    const recording = new Recording(schedule);
    progress = setInterval(() => parentPort.postMessage({ type: "progress", completed: recording.completed, failed: recording.failed }), progressIntervalMs);
    const ratePerClient = workloadOptions.ratePerSecond / workerData.clientsTotal;
    await Promise.all(
      states.map((state) => (workloadOptions.ratePerSecond > 0 ? openLoop(state, schedule, recording, ratePerClient) : closedLoop(state, schedule, recording))),
    );
    clearInterval(progress);
    parentPort.postMessage({ type: "result", ...recording.encode() });
  } finally {
    clearInterval(progress);
    for (const client of clients) client.close();
  }
}

run().catch((error) => parentPort.postMessage({ type: "error", message: error?.stack ?? String(error) }));
