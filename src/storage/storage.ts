// NodeStorage: a node's durable state in one data directory. Opening it
// locks the directory, recovers the tree (newest usable snapshot plus the
// log after it), and hands back the tree, the session secret and a
// recovery report. Then it is the server's DeltaLog (append) and takes
// snapshots in the background when noteApplied says enough was written,
// keeping snapshotsRetained snapshots and the segments they need.
//
// The data directory:
//   maestro.lock                 pid of the process holding the directory
//   secret                       32 random bytes (session passwords derive from them)
//   log.<base zxid, 16 hex>      log segments (segment.ts, frame.ts, delta-codec.ts)
//   snapshot.<zxid, 16 hex>      snapshots (snapshot.ts)
//   *.tmp                        interrupted writes; deleted at start-up

import { basename, join } from "node:path";
import type { DataTree } from "../tree/data-tree.js";
import type { Delta } from "../tree/types.js";
import { acquireLock, listDataDir, loadOrCreateSecret, processAlive, type DataDirLock, type NamedZxid } from "./data-dir.js";
import { errorMessage, StorageError, StorageErrorCode } from "./errors.js";
import { nodeFileSystem, type FileSystem } from "./file-system.js";
import { loadBaseTree, logCoverage, readLog, replayLog, type SkippedSnapshot } from "./recovery.js";
import { segmentEndZxid, type SegmentScan } from "./segment.js";
import { writeSnapshot, type SnapshotInfo } from "./snapshot.js";
import { walLimitsDefault, WriteAheadLog, type LogTail, type WalLimits } from "./wal.js";

export type WarnFunction = (message: string, fields: Record<string, unknown>) => void;

export interface StorageOptions extends Partial<WalLimits> {
  fileSystem?: FileSystem;
  /** TESTS ONLY: no fsync of the log, snapshots or directory. A machine crash can lose acknowledged writes. */
  unsafeNoFsync?: boolean;
  /** A snapshot is taken once this many deltas were applied since the last one... */
  snapshotEveryDeltas?: number;
  /** ...or once the log grew by this many bytes since the last one. */
  snapshotEveryLogBytes?: number;
  /** Newest snapshots kept (at least 1); older ones and the segments only they need are deleted. */
  snapshotsRetained?: number;
  /** Snapshots older than this are deleted even within snapshotsRetained; the newest always stays. */
  snapshotAgeMsMax?: number;
  warn?: WarnFunction;
  /** Wall clock for snapshot ages (tests inject one). */
  nowMs?: () => number;
  /** Our pid as written to the lock file, and the liveness check for a lock's owner (tests inject them). */
  pid?: number;
  processAlive?: (pid: number) => boolean;
}

export const storageDefaults = {
  snapshotEveryDeltas: 100_000,
  snapshotEveryLogBytes: 256 * 1024 * 1024,
  snapshotsRetained: 3,
  snapshotAgeMsMax: Number.POSITIVE_INFINITY,
} as const;

export interface RecoveryReport {
  dataDir: string;
  /** Snapshot the tree was loaded from, or null when it was rebuilt from the empty tree. */
  snapshotFile: string | null;
  snapshotZxid: bigint;
  /** Newer snapshots that could not be used: a fallback, always warned about. */
  snapshotsSkipped: { file: string; reason: string }[];
  segmentsRead: number;
  recordsReplayed: number;
  lastZxid: bigint;
  nodeCount: number;
  sessionCount: number;
  /** A torn record cut from the end of the last segment. */
  tornTail: { file: string; offset: number; bytes: number; reason: string } | null;
  temporaryFilesRemoved: string[];
  /** The dead process whose lock was taken over. */
  staleLockPid: number | null;
  durationMs: number;
}

export interface OpenedStorage {
  storage: NodeStorage;
  tree: DataTree;
  /** 32 bytes, the same on every start from this directory. */
  secret: Buffer;
  report: RecoveryReport;
  /**
   * The deltas replayed from the log after the snapshot that carry a stamp,
   * oldest first: a region re-ships its own deltas the root has not
   * confirmed, and the root rebuilds the tail of its global stream, from
   * them. Empty on single-node data.
   */
  replayedStampedDeltas: Delta[];
}

export interface PurgeResult {
  snapshotsRemoved: string[];
  segmentsRemoved: string[];
}

export interface StorageStats {
  lastDurableZxid: bigint;
  pendingAppends: number;
  segments: number;
  deltasSinceSnapshot: number;
  logBytesSinceSnapshot: number;
  snapshotRunning: boolean;
  lastSnapshot: SnapshotInfo | null;
}

interface Settings {
  dataDir: string;
  fileSystem: FileSystem;
  unsafeNoFsync: boolean;
  limits: WalLimits;
  snapshotEveryDeltas: number;
  snapshotEveryLogBytes: number;
  snapshotsRetained: number;
  snapshotAgeMsMax: number;
  warn: WarnFunction;
  nowMs: () => number;
}

function settingsFrom(dataDir: string, options: StorageOptions): Settings {
  const snapshotsRetained = options.snapshotsRetained ?? storageDefaults.snapshotsRetained;
  if (!Number.isInteger(snapshotsRetained) || snapshotsRetained < 1) throw new RangeError(`snapshotsRetained ${snapshotsRetained} < 1`);
  return {
    dataDir,
    fileSystem: options.fileSystem ?? nodeFileSystem,
    unsafeNoFsync: options.unsafeNoFsync ?? false,
    limits: {
      segmentBytesMax: options.segmentBytesMax ?? walLimitsDefault.segmentBytesMax,
      appendsQueuedMax: options.appendsQueuedMax ?? walLimitsDefault.appendsQueuedMax,
      batchBytesMax: options.batchBytesMax ?? walLimitsDefault.batchBytesMax,
      recordBytesMax: options.recordBytesMax ?? walLimitsDefault.recordBytesMax,
    },
    snapshotEveryDeltas: options.snapshotEveryDeltas ?? storageDefaults.snapshotEveryDeltas,
    snapshotEveryLogBytes: options.snapshotEveryLogBytes ?? storageDefaults.snapshotEveryLogBytes,
    snapshotsRetained,
    snapshotAgeMsMax: options.snapshotAgeMsMax ?? storageDefaults.snapshotAgeMsMax,
    warn: options.warn ?? (() => undefined),
    nowMs: options.nowMs ?? Date.now,
  };
}

interface Recovered {
  tree: DataTree;
  tail: LogTail;
  snapshot: SnapshotInfo | null;
  replayedStampedDeltas: Delta[];
  report: Omit<RecoveryReport, "durationMs" | "staleLockPid">;
}

async function removeTemporaryFiles(settings: Settings, names: readonly string[]): Promise<void> {
  for (const name of names) await settings.fileSystem.unlink(join(settings.dataDir, name));
}

async function truncateTornTail(settings: Settings, scan: SegmentScan): Promise<void> {
  const handle = await settings.fileSystem.open(scan.file, "readWrite");
  try {
    await handle.truncate(scan.validBytes);
    if (!settings.unsafeNoFsync) await handle.sync();
  } finally {
    await handle.close();
  }
}

function warnAboutSkipped(settings: Settings, skipped: readonly SkippedSnapshot[], used: SnapshotInfo | null): void {
  for (const entry of skipped) {
    const fallback = used === null ? "rebuilding from the empty tree and the whole log" : `falling back to ${used.file}`;
    settings.warn(`SNAPSHOT FALLBACK: ${entry.file} cannot be used (${entry.reason}); ${fallback}, the log covers the difference`, {
      skipped: entry.file,
      used: used?.file ?? null,
    });
  }
}

/** Reads everything first and changes nothing until recovery is known to succeed; then cuts a torn tail. */
async function recover(settings: Settings, temporaryFilesRemoved: string[]): Promise<Recovered> {
  const { fileSystem, dataDir } = settings;
  const listing = await listDataDir(fileSystem, dataDir);
  const scans = await readLog(fileSystem, dataDir, listing, settings.limits.recordBytesMax);
  const coverage = logCoverage(scans);
  const base = await loadBaseTree(fileSystem, dataDir, listing, coverage);
  warnAboutSkipped(settings, base.skipped, base.snapshot);
  const snapshotZxid = base.snapshot?.zxid ?? 0n;
  const replayedStampedDeltas: Delta[] = [];
  const recordsReplayed = replayLog(base.tree, scans, snapshotZxid, replayedStampedDeltas);
  const tree = base.tree;
  if (coverage !== undefined && tree.lastZxid !== coverage.end) {
    throw new StorageError(StorageErrorCode.logGap, `${dataDir}: recovered zxid ${tree.lastZxid} differs from the log's end ${coverage.end}`);
  }
  const last = scans.at(-1);
  const torn = last?.tornTail ?? null;
  if (last !== undefined && torn !== null) {
    settings.warn(`truncating a torn record at the end of ${last.file}: ${torn.bytes} bytes at offset ${torn.offset} (${torn.reason})`, {
      file: last.file,
      offset: torn.offset,
      bytes: torn.bytes,
    });
    await truncateTornTail(settings, last);
  }
  const tail: LogTail = {
    segments: scans.map((scan) => ({ name: basename(scan.file), baseZxid: scan.baseZxid })),
    lastSegmentBytes: last?.validBytes ?? 0,
    endZxid: last === undefined ? tree.lastZxid : segmentEndZxid(last),
  };
  const report = {
    dataDir,
    snapshotFile: base.snapshot?.file ?? null,
    snapshotZxid,
    snapshotsSkipped: base.skipped.map((entry) => ({ file: entry.file, reason: entry.reason })),
    segmentsRead: scans.length,
    recordsReplayed,
    lastZxid: tree.lastZxid,
    nodeCount: tree.nodeCount,
    sessionCount: tree.sessions().size,
    tornTail: last !== undefined && torn !== null ? { file: last.file, ...torn } : null,
    temporaryFilesRemoved,
  };
  return { tree, tail, snapshot: base.snapshot, replayedStampedDeltas, report };
}

export class NodeStorage {
  readonly #settings: Settings;
  readonly #lock: DataDirLock;
  readonly #wal: WriteAheadLog;
  #closed = false;
  #deltasSinceSnapshot = 0;
  #logBytesAtSnapshot = 0;
  #snapshotRunning: Promise<SnapshotInfo> | null = null;
  #lastSnapshot: SnapshotInfo | null;

  private constructor(settings: Settings, lock: DataDirLock, wal: WriteAheadLog, lastSnapshot: SnapshotInfo | null) {
    this.#settings = settings;
    this.#lock = lock;
    this.#wal = wal;
    this.#lastSnapshot = lastSnapshot;
  }

  /**
   * Locks `dataDir` (creating it), recovers the tree and opens the log for
   * appends. Throws StorageError: ERR_STORAGE_LOCKED when a live process
   * holds the directory, ERR_STORAGE_DAMAGED (with file and offset) or
   * ERR_STORAGE_LOG_GAP when the files cannot be trusted to rebuild the state.
   */
  static async open(dataDir: string, options: StorageOptions = {}): Promise<OpenedStorage> {
    const startedMs = performance.now();
    const settings = settingsFrom(dataDir, options);
    await settings.fileSystem.mkdir(dataDir);
    const lock = await acquireLock(settings.fileSystem, dataDir, {
      pid: options.pid ?? process.pid,
      processAlive: options.processAlive ?? processAlive,
      warn: settings.warn,
    });
    try {
      const temporary = (await listDataDir(settings.fileSystem, dataDir)).temporary;
      await removeTemporaryFiles(settings, temporary);
      const secret = await loadOrCreateSecret(settings.fileSystem, dataDir, settings.unsafeNoFsync);
      const recovered = await recover(settings, temporary);
      const wal = new WriteAheadLog({ ...settings.limits, fileSystem: settings.fileSystem, dir: dataDir, unsafeNoFsync: settings.unsafeNoFsync }, recovered.tail);
      const storage = new NodeStorage(settings, lock, wal, recovered.snapshot);
      const report: RecoveryReport = { ...recovered.report, staleLockPid: lock.staleOwnerPid, durationMs: performance.now() - startedMs };
      return { storage, tree: recovered.tree, secret, report, replayedStampedDeltas: recovered.replayedStampedDeltas };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The DeltaLog: resolves once the delta is durable. See wal.ts for the failure model. */
  append(delta: Delta): Promise<void> {
    return this.#wal.append(delta);
  }

  /**
   * Called by the server after each delta is applied. Captures the tree
   * synchronously when a snapshot is due and writes it in the background,
   * one at a time; failures are warned about and retried one interval later.
   */
  noteApplied(tree: DataTree): void {
    this.#deltasSinceSnapshot++;
    if (this.#closed || this.#snapshotRunning !== null) return;
    const logBytes = this.#wal.bytesAppended - this.#logBytesAtSnapshot;
    if (this.#deltasSinceSnapshot < this.#settings.snapshotEveryDeltas && logBytes < this.#settings.snapshotEveryLogBytes) return;
    this.#startSnapshot(tree).catch((error: unknown) => {
      this.#settings.warn(`snapshot failed: ${errorMessage(error)}`, { dataDir: this.#settings.dataDir });
    });
  }

  /** Takes a snapshot of `tree` now (after any running one) and applies retention. */
  async takeSnapshot(tree: DataTree): Promise<SnapshotInfo> {
    while (this.#snapshotRunning !== null) await this.#snapshotRunning.catch(() => undefined);
    if (this.#closed) throw new StorageError(StorageErrorCode.closed, "storage is closed");
    return this.#startSnapshot(tree);
  }

  #startSnapshot(tree: DataTree): Promise<SnapshotInfo> {
    const state = tree.captureState();
    this.#deltasSinceSnapshot = 0;
    this.#logBytesAtSnapshot = this.#wal.bytesAppended;
    const running = this.#writeThenPurge(state);
    this.#snapshotRunning = running;
    return running;
  }

  async #writeThenPurge(state: ReturnType<DataTree["captureState"]>): Promise<SnapshotInfo> {
    try {
      const info = await writeSnapshot(this.#settings.fileSystem, this.#settings.dataDir, state, { unsafeNoFsync: this.#settings.unsafeNoFsync });
      this.#lastSnapshot = info;
      await this.purge().catch((error: unknown) => {
        this.#settings.warn(`purging old snapshots and segments failed: ${errorMessage(error)}`, { dataDir: this.#settings.dataDir });
      });
      return info;
    } finally {
      this.#snapshotRunning = null;
    }
  }

  /**
   * Retention: keeps the snapshotsRetained newest snapshots, minus those
   * older than snapshotAgeMsMax (the newest always stays), then deletes
   * the log segments that replay from the oldest kept snapshot never reads.
   * Runs after every snapshot; safe to call at any time.
   */
  async purge(): Promise<PurgeResult> {
    const { fileSystem, dataDir } = this.#settings;
    const snapshots = (await listDataDir(fileSystem, dataDir)).snapshots;
    const kept = snapshots.slice(-this.#settings.snapshotsRetained);
    const nowMs = this.#settings.nowMs();
    const keptFinal: NamedZxid[] = [];
    for (const [index, snapshot] of kept.entries()) {
      const newest = index === kept.length - 1;
      const ageMs = nowMs - (await fileSystem.stat(join(dataDir, snapshot.name))).mtimeMs;
      if (newest || ageMs <= this.#settings.snapshotAgeMsMax) keptFinal.push(snapshot);
    }
    const removed = snapshots.filter((snapshot) => !keptFinal.includes(snapshot)).map((snapshot) => snapshot.name);
    for (const name of removed) await fileSystem.unlink(join(dataDir, name));
    if (removed.length > 0 && !this.#settings.unsafeNoFsync) await fileSystem.syncDirectory(dataDir);
    const oldestKept = keptFinal[0];
    const segmentsRemoved = oldestKept === undefined ? [] : await this.#wal.purgeThrough(oldestKept.zxid);
    return { snapshotsRemoved: removed, segmentsRemoved };
  }

  get stats(): StorageStats {
    return {
      lastDurableZxid: this.#wal.durableZxid,
      pendingAppends: this.#wal.pendingCount,
      segments: this.#wal.segments().length,
      deltasSinceSnapshot: this.#deltasSinceSnapshot,
      logBytesSinceSnapshot: this.#wal.bytesAppended - this.#logBytesAtSnapshot,
      snapshotRunning: this.#snapshotRunning !== null,
      lastSnapshot: this.#lastSnapshot,
    };
  }

  /** Waits for accepted appends and a running snapshot, then releases the lock. Appends after close reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#wal.close();
    if (this.#snapshotRunning !== null) await this.#snapshotRunning.catch(() => undefined);
    await this.#lock.release();
  }
}
