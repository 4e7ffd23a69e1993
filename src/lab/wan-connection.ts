// One proxied TCP connection across the emulated WAN: the client's socket
// (in region `from`) and the upstream socket (in region `to`), with a
// delayed, ordered, partition-aware pipe for each direction.
//
// What a partition does (chosen to match what TCP sees when packets are
// lost, not what a firewall's reject rule looks like):
// - A blocked direction delivers nothing. Bytes already "in flight" are held
//   and the proxy stops reading from the sending socket, so the sender's
//   kernel buffers fill as a TCP send window would: the connection stalls,
//   nothing is reset, no error is raised.
// - On heal, held bytes are sent again, arriving one one-way delay after
//   the heal (TCP retransmission), in order, and reading resumes: stalled
//   connections carry on. The emulator never gives up on a stalled
//   connection by itself; clients' own timeouts (ZooKeeper session
//   timeouts) decide, as they do across a real partition.
// - Errors (a reset on either side) are passed on at once by destroying the
//   other socket.

import type { Socket } from "node:net";
import type { WanModel } from "./wan-model.js";

/** Bytes one direction may hold before the proxy stops reading its source. */
export const directionQueuedBytesMax = 4 * 1024 * 1024;

export interface WanClock {
  nowMs(): number;
}

interface QueuedChunk {
  /** undefined marks the sender's FIN: end the sink once everything before it is delivered. */
  data: Buffer | undefined;
  arrivalMs: number;
}

class DelayedDirection {
  private readonly queue: QueuedChunk[] = [];
  private queuedBytes = 0;
  private lastArrivalMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly from: string,
    private readonly to: string,
    private readonly model: WanModel,
    private readonly clock: WanClock,
  ) {
    source.on("data", (chunk: Buffer) => this.push(chunk));
    source.on("end", () => this.push(undefined));
    sink.on("drain", () => this.updateFlow());
  }

  /** Re-reads the partition state: stall, or resend what was held and carry on. */
  refresh(): void {
    if (this.model.isBlocked(this.from, this.to)) {
      this.clearTimer();
    } else if (this.timer === undefined && this.queue.length > 0) {
      this.restampHeldChunks();
      this.schedule();
    }
    this.updateFlow();
  }

  stop(): void {
    this.finished = true;
    this.clearTimer();
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private push(data: Buffer | undefined): void {
    if (this.finished) return;
    const bytes = data?.length ?? 0;
    this.lastArrivalMs = this.model.arrivalMs(this.from, this.to, bytes, this.clock.nowMs(), this.lastArrivalMs);
    this.queue.push({ data, arrivalMs: this.lastArrivalMs });
    this.queuedBytes += bytes;
    this.updateFlow();
    if (this.timer === undefined) this.schedule();
  }

  /** Held chunks were "lost" in the partition; their retransmissions leave now. */
  private restampHeldChunks(): void {
    const nowMs = this.clock.nowMs();
    let previousMs = 0;
    for (const chunk of this.queue) {
      const resentMs = this.model.arrivalMs(this.from, this.to, chunk.data?.length ?? 0, nowMs, previousMs);
      chunk.arrivalMs = Math.max(chunk.arrivalMs, resentMs);
      previousMs = chunk.arrivalMs;
    }
    this.lastArrivalMs = Math.max(this.lastArrivalMs, previousMs);
  }

  private schedule(): void {
    const head = this.queue[0];
    if (head === undefined || this.finished || this.model.isBlocked(this.from, this.to)) return;
    const waitMs = Math.max(0, Math.ceil(head.arrivalMs - this.clock.nowMs()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliverDue();
    }, waitMs);
  }

  private deliverDue(): void {
    if (this.model.isBlocked(this.from, this.to)) return;
    const nowMs = this.clock.nowMs();
    for (let head = this.queue[0]; head !== undefined && head.arrivalMs <= nowMs; head = this.queue[0]) {
      this.queue.shift();
      if (this.sink.destroyed) continue;
      if (head.data === undefined) {
        this.sink.end();
      } else {
        this.queuedBytes -= head.data.length;
        this.sink.write(head.data);
      }
    }
    this.updateFlow();
    this.schedule();
  }

  private updateFlow(): void {
    if (this.source.destroyed) return;
    // Reading stops while the direction is blocked, while too much waits in
    // the queue, and while the receiver is not taking what was delivered.
    const reading =
      !this.model.isBlocked(this.from, this.to) &&
      this.queuedBytes < directionQueuedBytesMax &&
      this.sink.writableLength < directionQueuedBytesMax;
    if (reading && this.source.isPaused()) this.source.resume();
    if (!reading && !this.source.isPaused()) this.source.pause();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class ProxiedConnection {
  private readonly outbound: DelayedDirection;
  private readonly inbound: DelayedDirection;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    from: string,
    to: string,
    model: WanModel,
    clock: WanClock,
  ) {
    this.outbound = new DelayedDirection(client, upstream, from, to, model, clock);
    this.inbound = new DelayedDirection(upstream, client, to, from, model, clock);
    const resetBoth = (): void => this.destroy();
    client.on("error", resetBoth);
    upstream.on("error", resetBoth);
    // A direction ends when its sink is gone; its source closing early
    // leaves bytes still in flight to deliver.
    upstream.on("close", () => this.outbound.stop());
    client.on("close", () => this.inbound.stop());
    client.resume();
    this.refresh();
  }

  refresh(): void {
    this.outbound.refresh();
    this.inbound.refresh();
  }

  destroy(): void {
    this.outbound.stop();
    this.inbound.stop();
    this.client.destroy();
    this.upstream.destroy();
  }
}
