// A closed-loop run: `clients` sessions, each doing one awaited operation
// after another, spread over `workers` generator threads (node-zookeeper-
// client's per-operation cost would otherwise make one thread the
// bottleneck at a few tens of thousands of operations a second). The
// threads connect and set up, then all start at the same moment; the first
// warmupMs are not recorded; recording ends at the end time or after
// operationsPerClientMax recorded operations per client. Histograms from
// the threads are merged here.
import { Worker } from "node:worker_threads";
import { latencySummary, mergeHistograms, encodeHistogram } from "./histogram.mjs";

const workerUrl = new URL("./closed-loop-worker.mjs", import.meta.url);
const setUpTimeoutMs = 60_000;
const goLeadMs = 50;
const resultGraceMs = 60_000;
const epochMs = () => performance.timeOrigin + performance.now();

function startWorker(workerData, url = workerUrl, onProgress = () => {}) {
  const worker = new Worker(url, { workerData });
  const messages = [];
  const waiters = [];
  let failure = null;
  const deliver = () => {
    while (waiters.length > 0 && (messages.length > 0 || failure !== null)) {
      const waiter = waiters.shift();
      if (messages.length > 0) waiter.resolve(messages.shift());
      else waiter.reject(failure);
    }
  };
  worker.on("message", (message) => {
    if (message.type === "progress") return onProgress(message);
    if (message.type === "error") failure = new Error(`generator thread failed: ${message.message}`);
    else messages.push(message);
    deliver();
  });
  worker.on("error", (error) => {
    failure = error;
    deliver();
  });
  worker.on("exit", (code) => {
    failure ??= new Error(`generator thread exited (code ${code}) before reporting`);
    deliver();
  });
  const next = (timeoutMs, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator thread: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({
        resolve: (message) => (clearTimeout(timer), resolve(message)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      deliver();
    });
  return { worker, next };
}

function clientIndexesByWorker(clients, workers) {
  const lists = Array.from({ length: workers }, () => []);
  for (let index = 0; index < clients; index += 1) lists[index % workers].push(index);
  return lists.filter((list) => list.length > 0);
}

function windowMs(results, schedule) {
  if (results.some((result) => result.clientsStoppedByTime > 0)) return schedule.endAtEpochMs - schedule.measureFromEpochMs;
  const last = Math.max(...results.map((result) => result.lastRecordedEpochMs));
  return Math.max(1, last - schedule.measureFromEpochMs);
}

/** Element-wise sum of per-second counts from the threads. */
function sumSeries(series) {
  const sum = [];
  for (const counts of series) counts.forEach((count, second) => (sum[second] = (sum[second] ?? 0) + count));
  return Array.from(sum, (count) => count ?? 0);
}

/**
 * The threads' "region/type/owner" histograms (mix-worker.mjs) merged and
 * nested as { region: { type: { local, remote } } }; null when no thread
 * recorded any (other workloads).
 */
function mergeKeyOwners(results) {
  const keys = new Set(results.flatMap((result) => Object.keys(result.byRegionKeyOwner ?? {})));
  if (keys.size === 0) return null;
  const nested = {};
  for (const key of [...keys].sort()) {
    const [region, type, owner] = key.split("/");
    const merged = mergeHistograms(results.map((result) => result.byRegionKeyOwner?.[key]).filter((encoded) => encoded !== undefined));
    nested[region] ??= {};
    nested[region][type] ??= {};
    nested[region][type][owner] = { ...latencySummary(merged), histogram: encodeHistogram(merged) };
  }
  return nested;
}

function mergeResults(results, schedule) {
  const all = mergeHistograms(results.map((result) => result.all));
  const types = new Set(results.flatMap((result) => Object.keys(result.byType)));
  const byType = {};
  for (const type of types) {
    const merged = mergeHistograms(results.map((result) => result.byType[type]).filter((encoded) => encoded !== undefined));
    byType[type] = { ...latencySummary(merged), histogram: encodeHistogram(merged) };
  }
  const byRegion = {};
  for (const region of new Set(results.flatMap((result) => Object.keys(result.byRegion ?? {})))) {
    const merged = mergeHistograms(results.map((result) => result.byRegion[region]).filter((encoded) => encoded !== undefined));
    byRegion[region] = { ...latencySummary(merged), histogram: encodeHistogram(merged) };
  }
  const byRegionKeyOwner = mergeKeyOwners(results);
  const errors = {};
  for (const result of results) for (const [key, count] of Object.entries(result.errors)) errors[key] = (errors[key] ?? 0) + count;
  const measuredMs = windowMs(results, schedule);
  return {
    operationsPerSecond: (all.totalCount * 1000) / measuredMs,
    measuredMs,
    latency: latencySummary(all),
    histogram: encodeHistogram(all),
    byType,
    byRegion,
    ...(byRegionKeyOwner === null ? {} : { byRegionKeyOwner }),
    perSecond: sumSeries(results.map((result) => result.perSecond ?? [])),
    errorsPerSecond: sumSeries(results.map((result) => result.errorsPerSecond ?? [])),
    errors,
    warmupOperations: results.reduce((sum, result) => sum + result.warmupOperations, 0),
  };
}

/**
 * Runs the closed loop (or whatever workerModule runs: bench/lib/mix-worker.mjs
 * also does open loops) and resolves with throughput, merged latency
 * summaries (overall and per operation type), encoded histograms and error
 * counts. onMeasureStart/onMeasureEnd are called at the edges of the
 * recorded window (for CPU samples). Everything is bounded: set-up by
 * setUpTimeoutMs, the run by its end time plus resultGraceMs.
 */
export async function runClosedLoop({
  connectionString,
  clients,
  workers,
  warmupMs,
  durationMs,
  operationsPerClientMax = Number.MAX_SAFE_INTEGER,
  workloadName,
  workloadOptions,
  sessionTimeoutMs = 30_000,
  onMeasureStart = () => {},
  onMeasureEnd = () => {},
  workerModule = workerUrl,
  onProgress = () => {},
}) {
  // onProgress gets the sum of the threads' latest { completed, failed }.
  const latest = new Map();
  const threads = clientIndexesByWorker(clients, workers).map((clientIndexes, index) =>
    startWorker({ connectionString, clientIndexes, clientsTotal: clients, workloadName, workloadOptions, sessionTimeoutMs }, workerModule, (message) => {
      latest.set(index, message);
      let completed = 0;
      let failed = 0;
      for (const counts of latest.values()) {
        completed += counts.completed;
        failed += counts.failed;
      }
      onProgress({ completed, failed });
    }),
  );
  const timers = [];
  try {
    await Promise.all(threads.map((thread) => thread.next(setUpTimeoutMs, "ready")));
    const goEpochMs = epochMs() + goLeadMs;
    const schedule = { goEpochMs, measureFromEpochMs: goEpochMs + warmupMs, endAtEpochMs: goEpochMs + warmupMs + durationMs, operationsPerClientMax };
    timers.push(setTimeout(onMeasureStart, schedule.measureFromEpochMs - epochMs()));
    timers.push(setTimeout(onMeasureEnd, schedule.endAtEpochMs - epochMs()));
    for (const thread of threads) thread.worker.postMessage(schedule);
    const resultTimeoutMs = goLeadMs + warmupMs + durationMs + resultGraceMs;
    const results = await Promise.all(threads.map((thread) => thread.next(resultTimeoutMs, "result")));
    return { threads: threads.length, ...mergeResults(results, schedule) };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }
}
