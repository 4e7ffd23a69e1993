// Open-loop timing: operations are due at a fixed rate whatever the server
// does, and each latency is measured from when the operation was due, not
// from when the generator got round to sending it. A stalled server then
// shows up in every operation that should have been sent during the stall
// (coordinated omission: a closed loop, or an open loop timing from the
// send, would record one slow operation and stop asking).

/** When operation `index` (from 0) is due, at `ratePerSecond` from `startMs`. */
export function dueAtMs(startMs: number, ratePerSecond: number, index: number): number {
  return startMs + (index * 1000) / ratePerSecond;
}

/** How many operations are due by `nowMs` (the next index to send is this one). */
export function dueCountAt(startMs: number, ratePerSecond: number, nowMs: number): number {
  if (nowMs < startMs) return 0;
  return Math.floor(((nowMs - startMs) * ratePerSecond) / 1000) + 1;
}

/** The latency an open loop records: completion minus the moment the operation was due. */
export function openLoopLatencyMs(dueMs: number, completedMs: number): number {
  return Math.max(0, completedMs - dueMs);
}
