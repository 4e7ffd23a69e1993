// check-data: verifies every snapshot and every log segment of a data
// directory without starting anything and without changing anything (no
// lock is taken or taken over, no torn tail is cut), and says what start-up
// would do: which snapshot it would load, how many records it would replay,
// what it would truncate, or why it would refuse.

import { join } from "node:path";
import { listDataDir, processAlive as defaultProcessAlive, readLockOwner, type DataDirListing } from "./data-dir.js";
import { errorMessage, StorageError, StorageErrorCode } from "./errors.js";
import { nodeFileSystem, type FileSystem } from "./file-system.js";
import { chainBreak, coverageProblem, logCoverage, readSegment, replayLog, type LogCoverage } from "./recovery.js";
import type { SegmentScan } from "./segment.js";
import { readSnapshot } from "./snapshot.js";
import { walLimitsDefault } from "./wal.js";
import { DataTree } from "../tree/data-tree.js";

export interface DataProblem {
  file: string;
  /** Byte offset of the damage, when it has one. */
  offset: number | null;
  code: string;
  message: string;
}

export interface SnapshotCheck {
  file: string;
  zxid: bigint;
  valid: boolean;
  bytes: number | null;
  nodeCount: number | null;
  sessionCount: number | null;
}

export interface SegmentCheck {
  file: string;
  baseZxid: bigint;
  valid: boolean;
  bytes: number | null;
  records: number;
  firstZxid: bigint | null;
  lastZxid: bigint | null;
  /** Bytes start-up would cut from the end (last segment only). */
  tornTailBytes: number;
}

export interface RecoveryPreview {
  snapshotFile: string | null;
  snapshotZxid: bigint;
  /** Newer snapshots start-up would skip (a fallback). */
  snapshotsSkipped: string[];
  recordsToReplay: number;
  lastZxid: bigint;
  nodeCount: number;
  sessionCount: number;
}

export interface DataDirReport {
  dataDir: string;
  /** No damage anywhere (a torn tail is a warning, not damage). */
  ok: boolean;
  /** Start-up would succeed (possibly after a fallback or truncation). */
  startable: boolean;
  lockOwnerPid: number | null;
  lockOwnerAlive: boolean;
  snapshots: SnapshotCheck[];
  segments: SegmentCheck[];
  temporaryFiles: string[];
  problems: DataProblem[];
  warnings: DataProblem[];
  recovery: RecoveryPreview | null;
}

export interface CheckOptions {
  fileSystem?: FileSystem;
  recordBytesMax?: number;
  processAlive?: (pid: number) => boolean;
}

function problemOf(error: unknown, file: string): DataProblem {
  if (error instanceof StorageError) return { file: error.file ?? file, offset: error.offset ?? null, code: error.code, message: error.message };
  return { file, offset: null, code: StorageErrorCode.read, message: errorMessage(error) };
}

function emptyReport(dataDir: string): DataDirReport {
  return {
    dataDir,
    ok: false,
    startable: false,
    lockOwnerPid: null,
    lockOwnerAlive: false,
    snapshots: [],
    segments: [],
    temporaryFiles: [],
    problems: [],
    warnings: [],
    recovery: null,
  };
}

/** Verifies everything in `dataDir`; never throws for what it finds, only reports it. */
export async function checkDataDir(dataDir: string, options: CheckOptions = {}): Promise<DataDirReport> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const report = emptyReport(dataDir);
  let listing: DataDirListing;
  try {
    listing = await listDataDir(fileSystem, dataDir);
    report.lockOwnerPid = await readLockOwner(fileSystem, dataDir);
  } catch (error) {
    report.problems.push(problemOf(error, dataDir));
    return report;
  }
  report.lockOwnerAlive = report.lockOwnerPid !== null && (options.processAlive ?? defaultProcessAlive)(report.lockOwnerPid);
  report.temporaryFiles = listing.temporary;
  for (const name of listing.temporary) {
    report.warnings.push({ file: join(dataDir, name), offset: null, code: "TEMPORARY_FILE", message: "left by an interrupted write; start-up deletes it" });
  }
  const scans = await checkSegments(fileSystem, dataDir, listing, options.recordBytesMax ?? walLimitsDefault.recordBytesMax, report);
  const base = await checkSnapshots(fileSystem, dataDir, listing, scans === null ? null : { coverage: logCoverage(scans) }, report);
  if (scans !== null && base !== null) previewReplay(base, scans, report);
  report.ok = report.problems.length === 0;
  report.startable = report.recovery !== null;
  return report;
}

/** Scans every segment; returns the scans when the whole log is sound, null otherwise. */
async function checkSegments(fileSystem: FileSystem, dataDir: string, listing: DataDirListing, recordBytesMax: number, report: DataDirReport): Promise<SegmentScan[] | null> {
  const scans: SegmentScan[] = [];
  let sound = true;
  for (const [index, segment] of listing.segments.entries()) {
    const file = join(dataDir, segment.name);
    const entry: SegmentCheck = { file, baseZxid: segment.zxid, valid: false, bytes: null, records: 0, firstZxid: null, lastZxid: null, tornTailBytes: 0 };
    report.segments.push(entry);
    try {
      const scan = await readSegment(fileSystem, dataDir, segment, index === listing.segments.length - 1, recordBytesMax);
      Object.assign(entry, summarizeScan(scan));
      if (scan.tornTail !== null) report.warnings.push(tornWarning(scan, report));
      const previous = scans.at(-1);
      const gap = previous === undefined || scans.length !== index ? undefined : chainBreak(previous, scan);
      if (gap !== undefined) {
        report.problems.push(problemOf(gap, file));
        sound = false;
      }
      scans.push(scan);
    } catch (error) {
      report.problems.push(problemOf(error, file));
      sound = false;
    }
  }
  return sound ? scans : null;
}

function summarizeScan(scan: SegmentScan): Partial<SegmentCheck> {
  return {
    valid: true,
    bytes: scan.fileBytes,
    records: scan.records.length,
    firstZxid: scan.records[0]?.delta.zxid ?? null,
    lastZxid: scan.records.at(-1)?.delta.zxid ?? null,
    tornTailBytes: scan.tornTail?.bytes ?? 0,
  };
}

function tornWarning(scan: SegmentScan, report: DataDirReport): DataProblem {
  const torn = scan.tornTail!;
  const live = report.lockOwnerAlive ? ` (pid ${report.lockOwnerPid} is using the directory: this may be an append in progress)` : "";
  return { file: scan.file, offset: torn.offset, code: "TORN_TAIL", message: `${torn.bytes} bytes of a torn record, start-up truncates them: ${torn.reason}${live}` };
}

interface PreviewBase {
  tree: DataTree;
  file: string | null;
  zxid: bigint;
  skipped: string[];
}

/**
 * Validates every snapshot (newest first) and picks the one start-up would
 * use. `log` is null when the log is unsound (start-up refuses anyway).
 */
async function checkSnapshots(fileSystem: FileSystem, dataDir: string, listing: DataDirListing, log: { coverage: LogCoverage | undefined } | null, report: DataDirReport): Promise<PreviewBase | null> {
  const newest = listing.snapshots.at(-1)?.zxid;
  let base: PreviewBase | null = null;
  const skipped: string[] = [];
  for (const snapshot of [...listing.snapshots].reverse()) {
    const file = join(dataDir, snapshot.name);
    const entry: SnapshotCheck = { file, zxid: snapshot.zxid, valid: false, bytes: null, nodeCount: null, sessionCount: null };
    report.snapshots.unshift(entry);
    let tree: DataTree | null = null;
    try {
      const loaded = await readSnapshot(fileSystem, file, snapshot.zxid);
      Object.assign(entry, { valid: true, bytes: loaded.info.bytes, nodeCount: loaded.info.nodeCount, sessionCount: loaded.info.sessionCount });
      tree = loaded.tree;
    } catch (error) {
      report.problems.push(problemOf(error, file));
    }
    if (base !== null || log === null) continue;
    if (tree !== null && coverageProblem(snapshot.zxid, newest, log.coverage) === undefined) base = { tree, file, zxid: snapshot.zxid, skipped: [...skipped] };
    else skipped.push(file);
  }
  if (log === null) return null;
  if (base === null && coverageProblem(0n, newest, log.coverage, true) === undefined) base = { tree: new DataTree(), file: null, zxid: 0n, skipped };
  if (base === null) {
    const message = `start-up would refuse: no snapshot is both valid and covered by the log, and the log does not start at zxid 0`;
    report.problems.push({ file: dataDir, offset: null, code: StorageErrorCode.logGap, message });
    return null;
  }
  for (const file of base.skipped) {
    report.warnings.push({ file, offset: null, code: "SNAPSHOT_FALLBACK", message: `start-up skips this snapshot and falls back to ${base.file ?? "the empty tree"}` });
  }
  return base;
}

function previewReplay(base: PreviewBase, scans: readonly SegmentScan[], report: DataDirReport): void {
  let recordsToReplay: number;
  try {
    recordsToReplay = replayLog(base.tree, scans, base.zxid);
  } catch (error) {
    report.problems.push(problemOf(error, base.file ?? report.dataDir));
    return;
  }
  report.recovery = {
    snapshotFile: base.file,
    snapshotZxid: base.zxid,
    snapshotsSkipped: base.skipped,
    recordsToReplay,
    lastZxid: base.tree.lastZxid,
    nodeCount: base.tree.nodeCount,
    sessionCount: base.tree.sessions().size,
  };
}
