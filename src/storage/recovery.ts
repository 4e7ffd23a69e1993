// Reading a data directory back: the log's segments (validated, decoded,
// checked to form one chain without gaps), the choice of snapshot, and the
// replay of the log on top of it. Shared by start-up (storage.ts) and
// check-data (check.ts); nothing here writes.
//
// Snapshot choice. The newest snapshot that reads back valid is used, if
// the log covers it: the log must start at or before its zxid (the first
// segment's base zxid) and reach at least the zxid of EVERY snapshot file,
// damaged ones included (their names tell their zxids). Falling back from
// a damaged newest snapshot to an older valid one is then safe, because
// the log replays everything the damaged one held; the fallback is
// reported loudly. Without a usable snapshot, start-up begins from the
// empty tree only if the log starts at zxid 0. Otherwise it refuses.

import { join } from "node:path";
import { TreeInvariantError } from "../tree/assert.js";
import { DataTree } from "../tree/data-tree.js";
import type { Delta } from "../tree/types.js";
import type { DataDirListing, NamedZxid } from "./data-dir.js";
import { damaged, errorMessage, StorageError, StorageErrorCode } from "./errors.js";
import type { FileSystem } from "./file-system.js";
import { scanSegment, segmentEndZxid, type SegmentScan } from "./segment.js";
import { readSnapshot, type SnapshotInfo } from "./snapshot.js";

export async function readSegment(fileSystem: FileSystem, dir: string, segment: NamedZxid, isLast: boolean, recordBytesMax: number): Promise<SegmentScan> {
  const file = join(dir, segment.name);
  let bytes: Buffer;
  try {
    bytes = await fileSystem.readFile(file);
  } catch (error) {
    throw new StorageError(StorageErrorCode.read, `cannot read ${file}: ${errorMessage(error)}`, { file, cause: error });
  }
  return scanSegment(bytes, { file, nameZxid: segment.zxid, isLast, recordBytesMax });
}

/** The gap between two consecutive segments, if the second does not start where the first ends. */
export function chainBreak(previous: SegmentScan, next: SegmentScan): StorageError | undefined {
  const end = segmentEndZxid(previous);
  if (next.baseZxid === end) return undefined;
  return new StorageError(
    StorageErrorCode.logGap,
    `${next.file} starts after zxid ${next.baseZxid}, but ${previous.file} ends at zxid ${end}: log records are missing or repeated`,
    { file: next.file, offset: 12 },
  );
}

/** Reads every segment, oldest first; throws at the first damage or gap. */
export async function readLog(fileSystem: FileSystem, dir: string, listing: DataDirListing, recordBytesMax: number): Promise<SegmentScan[]> {
  const scans: SegmentScan[] = [];
  for (const [index, segment] of listing.segments.entries()) {
    const scan = await readSegment(fileSystem, dir, segment, index === listing.segments.length - 1, recordBytesMax);
    const previous = scans.at(-1);
    const gap = previous === undefined ? undefined : chainBreak(previous, scan);
    if (gap !== undefined) throw gap;
    scans.push(scan);
  }
  return scans;
}

/** The zxid range the log can replay: after `start` up to `end`; undefined when there are no segments. */
export interface LogCoverage {
  start: bigint;
  end: bigint;
}

export function logCoverage(scans: readonly SegmentScan[]): LogCoverage | undefined {
  const first = scans[0];
  const last = scans.at(-1);
  return first === undefined || last === undefined ? undefined : { start: first.baseZxid, end: segmentEndZxid(last) };
}

/** Why a snapshot at `zxid` (0n with `empty` for the empty tree) cannot be the base; undefined when it can. */
export function coverageProblem(zxid: bigint, newestSnapshotZxid: bigint | undefined, log: LogCoverage | undefined, empty = false): string | undefined {
  if (log === undefined) {
    if (empty) return newestSnapshotZxid === undefined ? undefined : "snapshots exist but there is no log to replay past them";
    return zxid === newestSnapshotZxid ? undefined : "there is no log to replay from it to the newest snapshot";
  }
  if (log.start > zxid) return `the log starts after zxid ${log.start}, past ${empty ? "the empty tree" : `snapshot zxid ${zxid}`}`;
  if (log.end < zxid) return `the log ends at zxid ${log.end}, before snapshot zxid ${zxid}`;
  if (newestSnapshotZxid !== undefined && log.end < newestSnapshotZxid) {
    return `the log ends at zxid ${log.end}, before the newest snapshot's zxid ${newestSnapshotZxid}`;
  }
  return undefined;
}

export interface SkippedSnapshot {
  file: string;
  reason: string;
  error: StorageError | null;
}

export interface BaseTree {
  tree: DataTree;
  snapshot: SnapshotInfo | null;
  /** Snapshots newer than the one used that could not be used (damaged ones first of all). */
  skipped: SkippedSnapshot[];
}

/** Loads the newest usable snapshot (see the rules above); throws when there is none and the log cannot start from empty. */
export async function loadBaseTree(fileSystem: FileSystem, dir: string, listing: DataDirListing, log: LogCoverage | undefined): Promise<BaseTree> {
  const newest = listing.snapshots.at(-1)?.zxid;
  const skipped: SkippedSnapshot[] = [];
  for (const snapshot of [...listing.snapshots].reverse()) {
    const file = join(dir, snapshot.name);
    const problem = coverageProblem(snapshot.zxid, newest, log);
    if (problem !== undefined) {
      skipped.push({ file, reason: problem, error: null });
      continue;
    }
    try {
      const loaded = await readSnapshot(fileSystem, file, snapshot.zxid);
      return { tree: loaded.tree, snapshot: loaded.info, skipped };
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      skipped.push({ file, reason: error.message, error });
    }
  }
  if (coverageProblem(0n, newest, log, true) === undefined) return { tree: new DataTree(), snapshot: null, skipped };
  throw noBaseError(dir, skipped, log);
}

function noBaseError(dir: string, skipped: readonly SkippedSnapshot[], log: LogCoverage | undefined): StorageError {
  const damage = skipped.find((entry) => entry.error !== null)?.error ?? undefined;
  const reasons = skipped.map((entry) => `${entry.file}: ${entry.reason}`).join("; ");
  const logText = log === undefined ? "there is no log" : `the log covers zxids ${log.start}..${log.end}`;
  const message = `${dir}: no snapshot can be used and ${logText}, so the state cannot be rebuilt (${reasons})`;
  if (damage !== undefined) {
    return new StorageError(StorageErrorCode.damaged, `${damage.message}; ${message}`, { file: damage.file ?? dir, offset: damage.offset ?? 0, cause: damage });
  }
  return new StorageError(StorageErrorCode.logGap, message, { file: dir });
}

/**
 * Applies every record with a zxid above `afterZxid`; returns how many. A
 * record that does not apply is damage. Records may have no ops (lease
 * events) and may carry stamps; the tree's cursor advances as they apply.
 * `streamed`, when given, receives the replayed deltas that carry a stamp,
 * oldest first (a region re-ships its own unconfirmed ones from them; the
 * root rebuilds its stream's tail from those with a stream position).
 */
export function replayLog(tree: DataTree, scans: readonly SegmentScan[], afterZxid: bigint, streamed?: Delta[]): number {
  let replayed = 0;
  for (const scan of scans) {
    for (const record of scan.records) {
      if (record.delta.zxid <= afterZxid) continue;
      try {
        tree.apply(record.delta);
      } catch (error) {
        if (!(error instanceof TreeInvariantError)) throw error;
        throw damaged(scan.file, record.offset, `record zxid ${record.delta.zxid} does not apply to the state before it (${error.message})`);
      }
      replayed++;
      if (streamed !== undefined && record.delta.stamp !== undefined) streamed.push(record.delta);
    }
  }
  return replayed;
}
