// Zxids are hybrid clocks: milliseconds << 20 | a counter, so a restarted
// node never hands out a zxid lower than one a client has seen, and zxids of
// different regions stay roughly comparable (design section 6). Pure: the
// time is passed in.

/** Logical bits of a zxid below the millisecond clock. */
export const zxidLogicalBits = 20n;

/** The zxid after `lastZxid` at wall-clock `nowMs`: the clock's value, or the next counter if that is not ahead. */
export function nextHybridZxid(lastZxid: bigint, nowMs: number): bigint {
  const clock = BigInt(Math.max(0, Math.floor(nowMs))) << zxidLogicalBits;
  const next = lastZxid + 1n;
  return clock > next ? clock : next;
}
