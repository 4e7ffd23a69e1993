// The write-ahead log: deltas appended in zxid order to segment files,
// made durable by group commit. Appends that arrive while a write and its
// fdatasync are running wait in a bounded queue; the next batch writes all
// of them with one write and one fdatasync, then resolves them in order.
//
// Failure model (what the commit pipeline relies on): the pipeline applies
// a delta only after its append resolved, prepares each delta on top of
// the ones still in flight, and drops everything in flight when any append
// rejects. So a failure here ABORTS: every append not yet resolved is
// rejected at once, in one synchronous step, and none of them may survive
// on disk: the segment is truncated back to the last durable offset (and
// fsynced) before anything else is written. Appends made in the same turn
// of the event loop as a rejection are rejected too (they may have been
// prepared on top of an aborted delta); appends after that turn are
// written normally, so writes resume as soon as the disk works again.
// A crash between a failed batch and its truncation can leave whole
// records of that batch on disk; like a crash after an fsync but before
// the reply, the client saw an error and the write may still be there.

import { join } from "node:path";
import type { Delta } from "../tree/types.js";
import { encodeDelta } from "./delta-codec.js";
import { errorMessage, StorageError, StorageErrorCode } from "./errors.js";
import type { FileHandle, FileSystem } from "./file-system.js";
import { encodeFrame, frameHeaderBytes } from "./frame.js";
import { encodeSegmentHeader, segmentFileName, segmentHeaderBytes } from "./segment.js";

export interface WalLimits {
  /** A segment that reaches this size is closed and a new one started. */
  segmentBytesMax: number;
  /** Appends waiting for the disk (written, queued) before an append is refused. */
  appendsQueuedMax: number;
  /** Bytes written by one batch (one write, one fdatasync). */
  batchBytesMax: number;
  /** Largest encoded delta accepted in one record. */
  recordBytesMax: number;
}

export const walLimitsDefault: WalLimits = {
  segmentBytesMax: 64 * 1024 * 1024,
  appendsQueuedMax: 10_000,
  batchBytesMax: 4 * 1024 * 1024,
  recordBytesMax: 64 * 1024 * 1024,
};

/** Smallest segmentBytesMax accepted: a segment must hold more than its header. */
export const segmentBytesMin = 4096;

export interface WalOptions extends WalLimits {
  fileSystem: FileSystem;
  dir: string;
  /** Tests only: no fsync at all. A machine crash can then lose acknowledged writes. */
  unsafeNoFsync: boolean;
}

/** A segment on disk, oldest first. */
export interface SegmentEntry {
  name: string;
  baseZxid: bigint;
}

/** Where recovery left the log: its segments and the valid end of the last one. */
export interface LogTail {
  segments: SegmentEntry[];
  /** Valid bytes of the last segment (0 when there is none). */
  lastSegmentBytes: number;
  /** The zxid the log ends at: the last record's, or the state the first segment will start from. */
  endZxid: bigint;
}

interface PendingAppend {
  frame: Buffer;
  zxid: bigint;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WriteAheadLog {
  readonly #options: WalOptions;
  readonly #segments: SegmentEntry[];
  #handle: FileHandle | null = null;
  /** Durable bytes of the last segment. */
  #durableBytes: number;
  #durableZxid: bigint;
  /** zxid of the newest accepted append (durable or not). */
  #acceptedZxid: bigint;
  readonly #queue: PendingAppend[] = [];
  #writing: PendingAppend[] = [];
  #flushing = false;
  /** Bytes past #durableBytes may exist in the segment: truncate before writing. */
  #needsRepair = false;
  #abortEpoch = 0;
  #poisoned = false;
  #closed = false;
  #bytesAppended = 0;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(options: WalOptions, tail: LogTail) {
    if (options.segmentBytesMax < segmentBytesMin) throw new RangeError(`segmentBytesMax ${options.segmentBytesMax} < ${segmentBytesMin}`);
    this.#options = options;
    this.#segments = [...tail.segments];
    this.#durableBytes = tail.segments.length === 0 ? 0 : tail.lastSegmentBytes;
    this.#durableZxid = tail.endZxid;
    this.#acceptedZxid = tail.endZxid;
  }

  /** Zxid of the newest durable record (or the base the log started from). */
  get durableZxid(): bigint {
    return this.#durableZxid;
  }

  /** Record bytes made durable since this log was opened. */
  get bytesAppended(): number {
    return this.#bytesAppended;
  }

  /** Appends accepted and not yet resolved or rejected. */
  get pendingCount(): number {
    return this.#queue.length + this.#writing.length;
  }

  segments(): readonly SegmentEntry[] {
    return this.#segments;
  }

  /** Resolves once the delta is durable; rejects with StorageError (see the failure model above). */
  append(delta: Delta): Promise<void> {
    const refusal = this.#refusal(delta);
    if (refusal !== undefined) return this.#refuse(refusal);
    const frame = encodeFrame(encodeDelta(delta));
    if (frame.length - frameHeaderBytes > this.#options.recordBytesMax) {
      const bytes = frame.length - frameHeaderBytes;
      return this.#refuse(new StorageError(StorageErrorCode.tooLarge, `delta ${delta.zxid} encodes to ${bytes} bytes, above recordBytesMax ${this.#options.recordBytesMax}`));
    }
    this.#acceptedZxid = delta.zxid;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frame, zxid: delta.zxid, resolve, reject });
      this.#kick();
    });
  }

  #refusal(delta: Delta): StorageError | undefined {
    if (this.#closed) return new StorageError(StorageErrorCode.closed, "the log is closed");
    if (this.#poisoned) return new StorageError(StorageErrorCode.aborted, "append refused: an earlier append failed in this turn");
    if (this.pendingCount >= this.#options.appendsQueuedMax) {
      return new StorageError(StorageErrorCode.overload, `log overloaded: ${this.pendingCount} appends waiting for the disk (appendsQueuedMax ${this.#options.appendsQueuedMax})`);
    }
    if (delta.zxid <= this.#acceptedZxid) {
      return new StorageError(StorageErrorCode.zxidOrder, `delta zxid ${delta.zxid} does not follow zxid ${this.#acceptedZxid}`);
    }
    return undefined;
  }

  #refuse(error: StorageError): Promise<void> {
    if (error.code !== StorageErrorCode.closed) this.#abort(error);
    return Promise.reject(error);
  }

  /** Rejects every unresolved append now; their bytes are truncated away before the next write. */
  #abort(error: StorageError): void {
    const victims = [...this.#writing, ...this.#queue];
    this.#writing = [];
    this.#queue.length = 0;
    this.#abortEpoch++;
    this.#acceptedZxid = this.#durableZxid;
    this.#poisoned = true;
    setImmediate(() => {
      this.#poisoned = false;
    });
    for (const victim of victims) victim.reject(error);
  }

  #kick(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    void this.#flushLoop().finally(() => {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#kick();
      else for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  async #flushLoop(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      const epoch = this.#abortEpoch;
      try {
        await this.#writeBatch(batch);
      } catch (error) {
        if (epoch === this.#abortEpoch) this.#abort(this.#writeError(error));
        await this.#tryRepair();
        continue;
      }
      if (epoch !== this.#abortEpoch) {
        // Aborted (overload) while its write ran: its records must not stay.
        await this.#tryRepair();
        continue;
      }
      this.#commit(batch);
    }
  }

  #takeBatch(): PendingAppend[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && (count === 0 || bytes + this.#queue[count]!.frame.length <= this.#options.batchBytesMax)) {
      bytes += this.#queue[count]!.frame.length;
      count++;
    }
    this.#writing = this.#queue.splice(0, count);
    return this.#writing;
  }

  async #writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    if (this.#needsRepair) await this.#repair();
    const handle = await this.#segmentForWrite();
    const bytes = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((pending) => pending.frame));
    this.#needsRepair = true;
    await handle.write(bytes, this.#durableBytes);
    if (!this.#options.unsafeNoFsync) await handle.datasync();
  }

  #commit(batch: readonly PendingAppend[]): void {
    let bytes = 0;
    for (const pending of batch) bytes += pending.frame.length;
    this.#needsRepair = false;
    this.#durableBytes += bytes;
    this.#durableZxid = batch.at(-1)!.zxid;
    this.#bytesAppended += bytes;
    this.#writing = [];
    for (const pending of batch) pending.resolve();
  }

  #writeError(error: unknown): StorageError {
    const segment = this.#segments.at(-1)?.name ?? "(no segment)";
    return new StorageError(StorageErrorCode.write, `log write to ${join(this.#options.dir, segment)} failed: ${errorMessage(error)}`, {
      file: join(this.#options.dir, segment),
      cause: error,
    });
  }

  /** Cuts the segment back to its durable end, so no part of a failed batch remains. */
  async #repair(): Promise<void> {
    if (this.#handle === null) {
      this.#needsRepair = false;
      return;
    }
    await this.#handle.truncate(this.#durableBytes);
    if (!this.#options.unsafeNoFsync) await this.#handle.sync();
    this.#needsRepair = false;
  }

  async #tryRepair(): Promise<void> {
    try {
      if (this.#needsRepair) await this.#repair();
    } catch {
      // Still needed: the next batch repairs first and fails while the disk does.
    }
  }

  async #segmentForWrite(): Promise<FileHandle> {
    const full = this.#durableBytes >= this.#options.segmentBytesMax;
    if (this.#handle !== null && !full) return this.#handle;
    const last = this.#segments.at(-1);
    if (this.#handle === null && last !== undefined && !full) {
      this.#handle = await this.#options.fileSystem.open(join(this.#options.dir, last.name), "readWrite");
      return this.#handle;
    }
    await this.#closeHandle();
    const created = await this.#createSegment(this.#durableZxid);
    this.#segments.push({ name: segmentFileName(this.#durableZxid), baseZxid: this.#durableZxid });
    this.#handle = created;
    this.#durableBytes = segmentHeaderBytes;
    return created;
  }

  /** Writes the header to a temporary file, fsyncs it and renames it into place. */
  async #createSegment(baseZxid: bigint): Promise<FileHandle> {
    const { fileSystem, dir, unsafeNoFsync } = this.#options;
    const path = join(dir, segmentFileName(baseZxid));
    const temporary = `${path}.tmp`;
    const handle = await fileSystem.open(temporary, "create");
    try {
      await handle.write(encodeSegmentHeader(baseZxid), 0);
      if (!unsafeNoFsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fileSystem.rename(temporary, path);
    if (!unsafeNoFsync) await fileSystem.syncDirectory(dir);
    return fileSystem.open(path, "readWrite");
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    // Everything in it is durable already; a failing close loses nothing.
    await handle?.close().catch(() => undefined);
  }

  /**
   * Deletes the oldest segments that replay from a snapshot at `zxid` (or
   * later) never reads: segment i goes when segment i+1 starts at or before
   * `zxid`. The last segment always stays. Returns the names removed.
   */
  async purgeThrough(zxid: bigint): Promise<string[]> {
    let count = 0;
    while (count + 1 < this.#segments.length && this.#segments[count + 1]!.baseZxid <= zxid) count++;
    const removed = this.#segments.splice(0, count);
    const { fileSystem, dir, unsafeNoFsync } = this.#options;
    for (const segment of removed) await fileSystem.unlink(join(dir, segment.name));
    if (removed.length > 0 && !unsafeNoFsync) await fileSystem.syncDirectory(dir);
    return removed.map((segment) => segment.name);
  }

  /** Waits for every accepted append to resolve or fail, then closes the segment. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#flushing) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    await this.#tryRepair();
    await this.#closeHandle();
  }
}
