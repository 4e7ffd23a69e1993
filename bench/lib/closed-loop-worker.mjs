// One generator thread of a closed-loop run (see closed-loop.mjs): opens a
// session per client it was given, sets the workload up, says "ready", and
// on "go" runs every client's loop (next operation, await it, record its
// latency) until the end time or the per-client count. Operations that
// complete before measureFromEpochMs are warm-up and not recorded.
import { parentPort, workerData } from "node:worker_threads";
import { encodeHistogram, latencyHistogram, recordMilliseconds } from "./histogram.mjs";
import { workloads } from "./workloads.mjs";
import { connect, errorName } from "./zookeeper-client.mjs";

// Epoch milliseconds with performance.now()'s resolution: threads have
// different time origins, so the parent's deadlines travel as epoch times.
const epochMs = (now = performance.now()) => performance.timeOrigin + now;

class Recording {
  constructor() {
    this.byType = new Map();
    this.all = latencyHistogram();
    this.errors = {};
    this.warmupOperations = 0;
    this.lastRecordedEpochMs = 0;
    this.clientsStoppedByTime = 0;
  }
  record(type, milliseconds, completedEpochMs) {
    if (!this.byType.has(type)) this.byType.set(type, latencyHistogram());
    recordMilliseconds(this.byType.get(type), milliseconds);
    recordMilliseconds(this.all, milliseconds);
    this.lastRecordedEpochMs = Math.max(this.lastRecordedEpochMs, completedEpochMs);
  }
  error(type, error) {
    const key = `${type}: ${errorName(error)}`;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }
  encode() {
    return {
      all: encodeHistogram(this.all),
      byType: Object.fromEntries([...this.byType].map(([type, histogram]) => [type, encodeHistogram(histogram)])),
      errors: this.errors,
      warmupOperations: this.warmupOperations,
      lastRecordedEpochMs: this.lastRecordedEpochMs,
      clientsStoppedByTime: this.clientsStoppedByTime,
    };
  }
}

async function clientLoop(workload, state, schedule, recording) {
  let measured = 0;
  while (measured < schedule.operationsPerClientMax) {
    if (epochMs() >= schedule.endAtEpochMs) {
      recording.clientsStoppedByTime += 1;
      return;
    }
    const operation = workload.nextOperation(state);
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
      if (failure === null) recording.record(operation.type, end - start, completed);
      else recording.error(operation.type, failure);
      measured += 1;
    }
  }
}

async function run() {
  const { connectionString, clientIndexes, workloadName, workloadOptions, sessionTimeoutMs } = workerData;
  const workload = workloads[workloadName];
  if (workload === undefined) throw new Error(`unknown workload ${workloadName}`);
  const clients = await Promise.all(clientIndexes.map(() => connect(connectionString, { sessionTimeoutMs })));
  try {
    const states = await Promise.all(clients.map((client, i) => workload.setUp(client, { ...workloadOptions, clientIndex: clientIndexes[i] })));
    const schedule = await new Promise((resolve) => {
      parentPort.once("message", resolve);
      parentPort.postMessage({ type: "ready" });
    });
    const recording = new Recording();
    await Promise.all(states.map((state) => clientLoop(workload, state, schedule, recording)));
    parentPort.postMessage({ type: "result", ...recording.encode() });
  } finally {
    for (const client of clients) client.close();
  }
}

run().catch((error) => parentPort.postMessage({ type: "error", message: error?.stack ?? String(error) }));
