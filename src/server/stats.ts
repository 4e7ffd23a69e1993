// Counters behind srvr, stat, mntr and cons: totals of closed connections
// plus what the live ones report, with a baseline so that srst can reset.

import type { ClientConnection } from "./connection.js";

export interface Totals {
  packetsReceived: number;
  packetsSent: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  latencyTotalMs: number;
  latencyCount: number;
}

function emptyTotals(): Totals {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    latencyMinMs: Number.POSITIVE_INFINITY,
    latencyMaxMs: 0,
    latencyTotalMs: 0,
    latencyCount: 0,
  };
}

function add(into: Totals, from: Totals): void {
  into.packetsReceived += from.packetsReceived;
  into.packetsSent += from.packetsSent;
  into.latencyMinMs = Math.min(into.latencyMinMs, from.latencyMinMs);
  into.latencyMaxMs = Math.max(into.latencyMaxMs, from.latencyMaxMs);
  into.latencyTotalMs += from.latencyTotalMs;
  into.latencyCount += from.latencyCount;
}

export class ServerStats {
  connectionsAccepted = 0;
  lastAppliedZxid = 0n;
  #closed = emptyTotals();
  /** Live connections' counters at the last reset, subtracted from theirs. */
  #baseline = new Map<number, Totals>();

  absorb(connection: ClientConnection): void {
    add(this.#closed, this.#since(connection));
    this.#baseline.delete(connection.id);
  }

  #since(connection: ClientConnection): Totals {
    const base = this.#baseline.get(connection.id);
    if (base === undefined) return { ...connection };
    return {
      packetsReceived: connection.packetsReceived - base.packetsReceived,
      packetsSent: connection.packetsSent - base.packetsSent,
      latencyMinMs: connection.latencyMinMs,
      latencyMaxMs: connection.latencyMaxMs,
      latencyTotalMs: connection.latencyTotalMs - base.latencyTotalMs,
      latencyCount: connection.latencyCount - base.latencyCount,
    };
  }

  totals(live: Iterable<ClientConnection>): Totals {
    const totals = { ...this.#closed };
    for (const connection of live) add(totals, this.#since(connection));
    return totals;
  }

  /** srst: counting starts again from now. */
  reset(live: Iterable<ClientConnection>): void {
    this.#closed = emptyTotals();
    this.#baseline.clear();
    for (const connection of live) this.#baseline.set(connection.id, { ...connection });
  }
}
