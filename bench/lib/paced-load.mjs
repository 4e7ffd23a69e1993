// Open-loop load for the lab measurements (hotspot, partition): a stream of
// operations due at a given rate (which may change over time) is spread over
// a pool of ZooKeeper sessions, each of which runs one operation at a time.
// An operation's latency counts from the moment it was due, so time spent
// waiting for a free session (a stall, a migration) shows in every
// operation that should have been sent meanwhile. Waiting operations are
// bounded (queueMax): beyond that they are shed and counted. A session that
// expires (a ZooKeeper minority member across a long cut) is replaced.
//
//   const pool = await SessionPool.open("127.0.0.1:2181", 4);
//   const stream = runPacedStream({ pool, startMs, endMs, rateAt: () => 20,
//       operation: (client, index) => setData(client, ...), onResult: (result) => ... });
//   await stream.done; await pool.close();
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";
import { connect, errorName } from "./zookeeper-client.mjs";

const require = createRequire(import.meta.url);
const zookeeperClient = require("node-zookeeper-client");

export const pacedLoadLimits = {
  /** Operations waiting for a free session before new ones are shed. */
  queueMaxDefault: 2_000,
  /** After the stream's end, how long in-flight operations may still finish. */
  drainTimeoutMsDefault: 20_000,
  /** Pause between attempts to replace an expired session. */
  renewPauseMs: 1_000,
  connectTimeoutMs: 15_000,
};

export const now = () => performance.now();
const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, Math.max(0, ms)));

/** A fixed number of sessions to one server; a slot whose session expired gets a new one. */
export class SessionPool {
  constructor(address, slots, sessionTimeoutMs) {
    this.address = address;
    this.slots = slots;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.renewals = 0;
    this.closed = false;
  }

  static async open(address, count, { sessionTimeoutMs = 30_000 } = {}) {
    const clients = await Promise.all(
      Array.from({ length: count }, () => connect(address, { sessionTimeoutMs, connectTimeoutMs: pacedLoadLimits.connectTimeoutMs })),
    );
    return new SessionPool(address, clients.map((client) => ({ client, busy: false, renewing: false })), sessionTimeoutMs);
  }

  /** Whether the slot's session is gone for good (it must be replaced before use). */
  static expired(slot) {
    return slot.client.getState() === zookeeperClient.State.EXPIRED;
  }

  /** Replaces the slot's session, retrying until it works or the pool closes; the slot stays busy meanwhile. */
  async renew(slot) {
    if (slot.renewing) return;
    slot.renewing = true;
    slot.busy = true;
    slot.client.close();
    while (!this.closed) {
      try {
        slot.client = await connect(this.address, { sessionTimeoutMs: this.sessionTimeoutMs, connectTimeoutMs: pacedLoadLimits.connectTimeoutMs });
        this.renewals += 1;
        break;
      } catch {
        await sleep(pacedLoadLimits.renewPauseMs);
      }
    }
    slot.renewing = false;
    slot.busy = false;
  }

  async close() {
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise((resolveClose) => {
            const timer = setTimeout(resolveClose, 5_000);
            slot.client.once("disconnected", () => {
              clearTimeout(timer);
              resolveClose();
            });
            slot.client.close();
          }),
      ),
    );
  }
}

const sessionExpired = { name: "SESSION_EXPIRED", code: -112 };

/**
 * Rejects when the client's session expires. node-zookeeper-client never
 * answers requests it queued while disconnected once it learns, on
 * reconnecting, that the session expired: without this they would hang.
 */
function expiryOf(client) {
  let listener = () => {};
  const expired = new Promise((_resolve, reject) => {
    listener = () => reject(sessionExpired);
    client.once("expired", listener);
  });
  return { expired, cancel: () => client.off("expired", listener) };
}

/**
 * Runs one paced stream from startMs to endMs (performance.now() times):
 * operation i is due at the previous due time plus 1000 / rateAt(due) ms
 * (a rate of 0 sends nothing then). `operation(client, index)` returns a
 * promise; `onResult({ index, dueMs, sentMs, doneMs, latencyMs, error })` is
 * called for every operation that finished (error: null or a short name
 * such as "CONNECTION_LOSS(-4)", "shed" when the queue was full,
 * "unanswered" when it was still in flight after the drain timeout).
 * Resolves `done` once every operation finished or the drain timed out.
 */
export function runPacedStream({ pool, startMs, endMs, rateAt, operation, onResult, queueMax = pacedLoadLimits.queueMaxDefault, drainTimeoutMs = pacedLoadLimits.drainTimeoutMsDefault }) {
  const queue = [];
  const inFlight = new Map();
  let wakeDrain = () => {};

  const finish = (entry, error) => {
    const doneMs = now();
    onResult({ index: entry.index, dueMs: entry.dueMs, sentMs: entry.sentMs ?? null, doneMs, latencyMs: doneMs - entry.dueMs, error });
  };

  const pump = () => {
    for (const slot of pool.slots) {
      if (queue.length === 0) return;
      if (slot.busy) continue;
      if (SessionPool.expired(slot)) {
        void pool.renew(slot).then(pump);
        continue;
      }
      const entry = queue.shift();
      slot.busy = true;
      entry.sentMs = now();
      inFlight.set(entry.index, entry);
      const expiry = expiryOf(slot.client);
      let settled;
      try {
        settled = Promise.race([operation(slot.client, entry.index), expiry.expired]);
      } catch (error) {
        settled = Promise.reject(error);
      }
      settled.finally(expiry.cancel).then(
        () => complete(slot, entry, null),
        (error) => complete(slot, entry, errorName(error)),
      );
    }
  };

  const complete = (slot, entry, error) => {
    if (!inFlight.delete(entry.index)) return;
    if (!slot.renewing) slot.busy = false;
    finish(entry, error);
    if (SessionPool.expired(slot)) void pool.renew(slot).then(pump);
    pump();
    if (inFlight.size === 0 && queue.length === 0) wakeDrain();
  };

  const schedule = async () => {
    let dueMs = startMs;
    let index = 0;
    while (dueMs < endMs) {
      await sleep(dueMs - now());
      const rate = rateAt(dueMs);
      if (!(rate > 0)) {
        dueMs += 50;
        continue;
      }
      const entry = { index, dueMs };
      index += 1;
      if (queue.length >= queueMax) finish(entry, "shed");
      else queue.push(entry);
      pump();
      dueMs += 1000 / rate;
    }
    if (inFlight.size > 0 || queue.length > 0) {
      await Promise.race([new Promise((resolveDrain) => (wakeDrain = resolveDrain)), sleep(drainTimeoutMs)]);
    }
    for (const entry of queue.splice(0)) finish(entry, "unsent");
    for (const entry of [...inFlight.values()]) {
      inFlight.delete(entry.index);
      finish(entry, "unanswered");
    }
  };

  return { done: schedule() };
}

/** Nearest-rank percentile of an ascending array (null when empty). */
export function percentileOf(sorted, percentile) {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** Count, p50, p99 and max of latencies in ms (exact: every value is kept). */
export function latencySummary(latencies) {
  const sorted = [...latencies].sort((x, y) => x - y);
  const round = (value) => (value === null ? null : Number(value.toFixed(2)));
  return {
    count: sorted.length,
    p50Ms: round(percentileOf(sorted, 50)),
    p99Ms: round(percentileOf(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? null),
  };
}
