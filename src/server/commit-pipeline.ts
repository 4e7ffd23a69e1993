// The single ordering point of a node's writes. A write is prepared against
// applied state plus the deltas still in flight, stamped with the next zxid,
// appended to the delta log, and applied to the tree once the log has it, in
// zxid order. Reads only ever see applied state.

import type { DataTree } from "../tree/data-tree.js";
import { nextHybridZxid } from "../tree/zxid.js";
import type { PendingTree } from "../tree/pending.js";
import type { Delta, Id, PrepareOutcome, TreeEvent, TreeOptions, WriteRequest } from "../tree/types.js";

/** Where committed deltas go before they are applied (the durable log later). */
export interface DeltaLog {
  append(delta: Delta): Promise<void>;
}

/** A log that keeps nothing: acknowledges at once, for tests and as a base. */
export class VolatileDeltaLog implements DeltaLog {
  append(): Promise<void> {
    return Promise.resolve();
  }
}

export class StorageError extends Error {
  readonly code = "ERR_MAESTRO_STORAGE";
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

interface InFlight {
  delta: Delta;
  durable: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}


export class CommitPipeline {
  readonly #tree: DataTree;
  readonly #pending: PendingTree;
  readonly #log: DeltaLog;
  readonly #options: TreeOptions;
  readonly #onApplied: (delta: Delta, events: TreeEvent[]) => void;
  readonly #inFlight: InFlight[] = [];
  readonly #waiters: Array<{ zxid: bigint; resolve: () => void }> = [];
  #lastAllocatedZxid: bigint;

  constructor(args: {
    tree: DataTree;
    pending: PendingTree;
    log: DeltaLog;
    options: TreeOptions;
    onApplied: (delta: Delta, events: TreeEvent[]) => void;
  }) {
    this.#tree = args.tree;
    this.#pending = args.pending;
    this.#log = args.log;
    this.#options = args.options;
    this.#onApplied = args.onApplied;
    this.#lastAllocatedZxid = args.tree.lastZxid;
  }

  get lastAppliedZxid(): bigint {
    return this.#tree.lastZxid;
  }

  get inFlightCount(): number {
    return this.#inFlight.length;
  }

  #nextZxid(nowMs: number): bigint {
    return nextHybridZxid(this.#lastAllocatedZxid, nowMs);
  }

  /**
   * Prepares and commits one write. Resolves with the outcome once the write
   * is applied (or at once when it fails its checks); rejects with
   * StorageError when the log could not take it.
   */
  submit(request: WriteRequest, sessionId: bigint, authIds: readonly Id[]): Promise<PrepareOutcome> {
    const nowMs = Date.now();
    const zxid = this.#nextZxid(nowMs);
    const ctx = { sessionId, authIds, zxid, timeMs: BigInt(nowMs) };
    const outcome = this.#pending.prepare(request, ctx, this.#options);
    if (!outcome.ok) return Promise.resolve(outcome);
    this.#lastAllocatedZxid = zxid;
    return this.#commit(outcome.delta).then(() => outcome);
  }

  #commit(delta: Delta): Promise<void> {
    this.#pending.stage(delta);
    return new Promise<void>((resolve, reject) => {
      const entry: InFlight = { delta, durable: false, resolve, reject };
      this.#inFlight.push(entry);
      this.#log.append(delta).then(
        () => {
          entry.durable = true;
          this.#applyDurable();
        },
        (error: unknown) => this.#fail(error),
      );
    });
  }

  #applyDurable(): void {
    while (this.#inFlight.length > 0 && this.#inFlight[0]!.durable) {
      const entry = this.#inFlight.shift()!;
      const events = this.#pending.commitNext();
      this.#onApplied(entry.delta, events);
      entry.resolve();
    }
    this.#wakeWaiters();
  }

  /** The log refused a delta: it and everything after it are dropped unapplied. */
  #fail(error: unknown): void {
    const failed = this.#inFlight.splice(0);
    this.#pending.discardAll();
    this.#lastAllocatedZxid = this.#tree.lastZxid;
    const storageError = new StorageError(`delta log append failed: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
    for (const entry of failed) entry.reject(storageError);
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  /** Resolves once every write submitted before the call has been applied or failed. */
  barrier(): Promise<void> {
    if (this.#inFlight.length === 0) return Promise.resolve();
    const zxid = this.#lastAllocatedZxid;
    return new Promise((resolve) => this.#waiters.push({ zxid, resolve }));
  }

  #wakeWaiters(): void {
    const settled = this.#inFlight.length === 0 ? this.#lastAllocatedZxid : this.#inFlight[0]!.delta.zxid - 1n;
    while (this.#waiters.length > 0 && this.#waiters[0]!.zxid <= settled) this.#waiters.shift()!.resolve();
  }
}
