// Server-wide counters behind srvr, stat and mntr, counted on their own so
// that srst resets them and crst (per-connection counters) does not.

export class ServerStats {
  connectionsAccepted = 0;
  lastAppliedZxid = 0n;
  packetsReceived = 0;
  packetsSent = 0;
  latencyMinMs = 0;
  latencyMaxMs = 0;
  latencyTotalMs = 0;
  latencyCount = 0;

  recordLatency(latencyMs: number): void {
    this.latencyMinMs = this.latencyCount === 0 ? latencyMs : Math.min(this.latencyMinMs, latencyMs);
    this.latencyMaxMs = Math.max(this.latencyMaxMs, latencyMs);
    this.latencyTotalMs += latencyMs;
    this.latencyCount += 1;
  }

  get latencyAverageMs(): number {
    return this.latencyCount === 0 ? 0 : this.latencyTotalMs / this.latencyCount;
  }

  /** srst: counting starts again from now. */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.latencyMinMs = 0;
    this.latencyMaxMs = 0;
    this.latencyTotalMs = 0;
    this.latencyCount = 0;
  }
}
