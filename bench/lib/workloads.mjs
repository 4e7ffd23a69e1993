// Closed-loop workloads: what one client session does, one operation at a
// time. A workload has setUp(client, context) -> state (untimed) and
// nextOperation(state) -> { type, run() } (timed by the caller). The
// generator (closed-loop-worker.mjs) looks workloads up here by name, so a
// new mix is a new entry, not a new generator.
import { randomBytes } from "node:crypto";
import { create, ensureNode, setData } from "./zookeeper-client.mjs";

/** mulberry32: a small seeded generator, so a client's choices repeat from run to run. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes only: each client creates `valueBytes`-byte nodes under its own
 * parent (root/c<index>) and overwrites random ones of them with setData;
 * createPercent of the operations are creates (the first one always is).
 * Clients never touch each other's nodes, so no write fails on a conflict.
 */
const writeMix = {
  async setUp(client, { clientIndex, root, valueBytes, createPercent, seed }) {
    const parent = `${root}/c${clientIndex}`;
    await ensureNode(client, parent);
    return { client, parent, value: randomBytes(valueBytes), createPercent, created: 0, random: seededRandom(seed + clientIndex) };
  },
  nextOperation(state) {
    if (state.created === 0 || state.random() * 100 < state.createPercent) {
      const path = `${state.parent}/n${state.created}`;
      state.created += 1;
      return { type: "create", run: () => create(state.client, path, state.value) };
    }
    const path = `${state.parent}/n${Math.floor(state.random() * state.created)}`;
    return { type: "setData", run: () => setData(state.client, path, state.value) };
  },
};

export const workloads = Object.freeze({ "write-mix": writeMix });
