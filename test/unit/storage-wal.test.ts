// The write-ahead log on disk: framing round trip, detection of every
// single-bit flip, torn tails cut at every byte, damage that stops
// start-up, group commit, segment rolls, overload, and write or fsync
// failures that reject appends without leaving anything damaged behind.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Perm } from "../../src/protocol/codes.js";
import { checkDataDir } from "../../src/storage/check.js";
import { StorageError, StorageErrorCode } from "../../src/storage/errors.js";
import { FaultInjectingFileSystem } from "../../src/storage/fault-file-system.js";
import { scanSegment, type SegmentScan } from "../../src/storage/segment.js";
import { NodeStorage, type StorageOptions } from "../../src/storage/storage.js";
import { walLimitsDefault } from "../../src/storage/wal.js";
import { DataTree } from "../../src/tree/data-tree.js";
import type { Acl, Delta } from "../../src/tree/types.js";

const openAcl: Acl[] = [{ perms: Perm.all, id: { scheme: "world", id: "anyone" } }];

/** Creates /n<index> and sets its data; the record ends in a non-zero byte (version 1). */
function delta(index: number, parentCversion = index + 1): Delta {
  const path = `/n${index}`;
  return {
    zxid: 0x1000n + BigInt(index) * 7n,
    timeMs: 1_000_000n + BigInt(index),
    sessionId: 0n,
    ops: [
      { type: "create", path, data: Buffer.from(`created-${index}`), acl: openAcl, ephemeralOwner: 0n, parentCversion },
      { type: "setData", path, data: Buffer.from(`value-${index}`), version: 1 },
    ],
  };
}

function treeOf(deltas: readonly Delta[]): DataTree {
  const tree = new DataTree();
  for (const each of deltas) tree.apply(each);
  return tree;
}

function image(tree: DataTree): unknown {
  return {
    nodes: [...tree.paths()].map((path) => [path, tree.node(path), tree.childrenOf(path)]),
    sessions: [...tree.sessions()],
    lastZxid: tree.lastZxid,
  };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "maestro-wal-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `count` deltas through NodeStorage, one at a time (so segments can roll), and closes it. */
async function writeLog(dir: string, count: number, options: StorageOptions = {}): Promise<Delta[]> {
  const { storage } = await NodeStorage.open(dir, options);
  const deltas = Array.from({ length: count }, (_, index) => delta(index));
  for (const each of deltas) await storage.append(each);
  await storage.close();
  return deltas;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith("log.") && !name.endsWith(".tmp")).sort().map((name) => join(dir, name));
}

function scan(bytes: Buffer, file: string, isLast = true): SegmentScan {
  return scanSegment(bytes, { file, nameZxid: 0n, isLast, recordBytesMax: walLimitsDefault.recordBytesMax });
}

function isDamageAt(file: string, offset: number): (error: unknown) => boolean {
  return (error) => error instanceof StorageError && error.code === StorageErrorCode.damaged && error.file === file && error.offset === offset;
}

test("appended deltas read back in order after reopening", async (t) => {
  const dir = await tempDir(t);
  const deltas = await writeLog(dir, 20);
  const { storage, tree, report } = await NodeStorage.open(dir);
  assert.equal(report.recordsReplayed, 20);
  assert.equal(report.tornTail, null);
  assert.deepEqual(image(tree), image(treeOf(deltas)));
  await storage.close();
  const [file] = await segmentFiles(dir);
  const scanned = scan(await readFile(file!), file!);
  assert.deepEqual(scanned.records.map((record) => record.delta), deltas);
});

test("every single-bit flip in a record is detected; in the last record only a length that runs past the end reads as torn", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir, 5);
  const [file] = await segmentFiles(dir);
  const clean = await readFile(file!);
  const offsets = scan(clean, file!).records.map((record) => record.offset);
  for (const target of [1, offsets.length - 1]) {
    const start = offsets[target]!;
    const end = offsets[target + 1] ?? clean.length;
    assert.ok(Math.floor(start / 512) === Math.floor((end - 1) / 512), "test setup: the record crosses no sector boundary");
    for (let bit = 0; bit < (end - start) * 8; bit++) {
      const flipped = Buffer.from(clean);
      flipped[start + (bit >> 3)]! ^= 1 << (bit & 7);
      const newLength = flipped.readUInt32BE(start);
      const runsPastEnd = bit < 32 && newLength > clean.length - start - 8 && newLength <= walLimitsDefault.recordBytesMax;
      if (target === offsets.length - 1 && runsPastEnd) {
        const result = scan(flipped, file!);
        assert.equal(result.tornTail?.offset, start, `bit ${bit}: torn at the record`);
        assert.equal(result.records.length, target);
      } else {
        assert.throws(() => scan(flipped, file!), isDamageAt(file!, start), `bit ${bit} of record ${target}`);
      }
    }
  }
});

test("check-data and start-up report a flipped bit with file and offset", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir, 5);
  const [file] = await segmentFiles(dir);
  const clean = await readFile(file!);
  const offsets = scan(clean, file!).records.map((record) => record.offset);
  for (const target of [0, 2, 4]) {
    const flipped = Buffer.from(clean);
    flipped[offsets[target]! + 20]! ^= 0x10;
    await writeFile(file!, flipped);
    const report = await checkDataDir(dir);
    assert.equal(report.ok, false);
    assert.equal(report.startable, false);
    assert.deepEqual(report.problems.map((problem) => [problem.file, problem.offset]), [[file, offsets[target]]]);
    await assert.rejects(NodeStorage.open(dir), (error: unknown) => {
      assert.ok(isDamageAt(file!, offsets[target]!)(error));
      assert.match((error as Error).message, new RegExp(`${file}.*byte offset ${offsets[target]}`));
      return true;
    });
  }
});

test("a log cut at any byte inside its last record recovers the records before it and truncates the rest", async (t) => {
  const dir = await tempDir(t);
  const deltas = await writeLog(dir, 4);
  const [file] = await segmentFiles(dir);
  const clean = await readFile(file!);
  const lastStart = scan(clean, file!).records.at(-1)!.offset;
  const warnings: string[] = [];
  for (let cut = lastStart; cut < clean.length; cut++) {
    await writeFile(file!, clean.subarray(0, cut));
    const check = await checkDataDir(dir);
    assert.equal(check.startable, true);
    const { storage, tree, report } = await NodeStorage.open(dir, { warn: (message) => warnings.push(message), unsafeNoFsync: true });
    assert.deepEqual(image(tree), image(treeOf(deltas.slice(0, 3))), `cut at ${cut}`);
    if (cut === lastStart) assert.equal(report.tornTail, null);
    else assert.deepEqual([report.tornTail?.offset, report.tornTail?.bytes], [lastStart, cut - lastStart]);
    await storage.close();
    assert.equal((await stat(file!)).size, lastStart);
  }
  assert.equal(warnings.filter((message) => message.includes("torn record")).length, clean.length - lastStart - 1);
});

test("after a torn tail is cut, appends continue and survive the next restart", async (t) => {
  const dir = await tempDir(t);
  const deltas = await writeLog(dir, 3);
  const [file] = await segmentFiles(dir);
  const clean = await readFile(file!);
  await writeFile(file!, clean.subarray(0, clean.length - 5));
  const first = await NodeStorage.open(dir);
  assert.equal(first.tree.lastZxid, deltas[1]!.zxid);
  await first.storage.append(deltas[2]!);
  await first.storage.close();
  const second = await NodeStorage.open(dir);
  assert.deepEqual(image(second.tree), image(treeOf(deltas)));
  assert.equal(second.report.tornTail, null);
  await second.storage.close();
});

test("zeros where the last record's data never reached the disk read as a torn tail", async (t) => {
  const dir = await tempDir(t);
  const deltas = await writeLog(dir, 3);
  const [file] = await segmentFiles(dir);
  const clean = await readFile(file!);
  const lastStart = scan(clean, file!).records.at(-1)!.offset;
  await writeFile(file!, Buffer.concat([clean, Buffer.alloc(4096)]));
  const extended = await NodeStorage.open(dir);
  assert.deepEqual(image(extended.tree), image(treeOf(deltas)));
  assert.equal(extended.report.tornTail?.bytes, 4096);
  await extended.storage.close();
  const zeroed = Buffer.from(clean);
  zeroed.fill(0, lastStart);
  await writeFile(file!, zeroed);
  const cleared = await NodeStorage.open(dir);
  assert.deepEqual(image(cleared.tree), image(treeOf(deltas.slice(0, 2))));
  assert.equal(cleared.report.tornTail?.offset, lastStart);
  await cleared.storage.close();
});

test("damage before the end stops start-up: a later intact record, a non-last segment, garbage after the last record", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir, 60, { segmentBytesMax: 4096, unsafeNoFsync: true });
  const files = await segmentFiles(dir);
  assert.ok(files.length >= 2, "the log rolled into several segments");
  const first = await readFile(files[0]!);
  const firstScan = scan(first, files[0]!, false);
  // Cut the first segment short: in a segment that is not the last, that is damage.
  await writeFile(files[0]!, first.subarray(0, first.length - 3));
  const lastOffset = firstScan.records.at(-1)!.offset;
  await assert.rejects(NodeStorage.open(dir), isDamageAt(files[0]!, lastOffset));
  await writeFile(files[0]!, first);
  const lastFile = files.at(-1)!;
  const last = await readFile(lastFile);
  await writeFile(lastFile, Buffer.concat([last, Buffer.from("not a record at all")]));
  await assert.rejects(NodeStorage.open(dir), isDamageAt(lastFile, last.length));
  await writeFile(lastFile, last);
  const { storage, report } = await NodeStorage.open(dir);
  assert.equal(report.recordsReplayed, 60);
  await storage.close();
});

test("a missing segment in the middle is a gap that stops start-up", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir, 150, { segmentBytesMax: 4096, unsafeNoFsync: true });
  const files = await segmentFiles(dir);
  assert.ok(files.length >= 3);
  await rm(files[1]!);
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.logGap && error.file === files[2]);
  const report = await checkDataDir(dir);
  assert.deepEqual(report.problems.map((problem) => problem.code), [StorageErrorCode.logGap]);
});

test("segments roll at segmentBytesMax and replay as one log", async (t) => {
  const dir = await tempDir(t);
  const deltas = await writeLog(dir, 200, { segmentBytesMax: 4096, unsafeNoFsync: true });
  const files = await segmentFiles(dir);
  assert.ok(files.length > 3);
  for (const file of files.slice(0, -1)) {
    const size = (await stat(file)).size;
    assert.ok(size >= 4096 && size < 4096 + 4 * 1024 * 1024, `${file} is ${size} bytes`);
  }
  const report = await checkDataDir(dir);
  assert.equal(report.ok, true);
  assert.equal(report.segments.reduce((sum, segment) => sum + segment.records, 0), 200);
  const { storage, tree } = await NodeStorage.open(dir);
  assert.deepEqual(image(tree), image(treeOf(deltas)));
  await storage.close();
});

/** A gate that holds every fsync until released. */
function holdSyncs(fileSystem: FaultInjectingFileSystem): () => void {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  fileSystem.beforeSync = () => gate;
  return () => {
    fileSystem.beforeSync = null;
    release();
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    assert.ok(turn < 10_000, "condition never became true");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("group commit: appends arriving during an fsync are made durable by one more fsync, resolved in order", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const { storage } = await NodeStorage.open(dir, { fileSystem });
  await storage.append(delta(0));
  const before = fileSystem.counts.datasync;
  const writesBefore = fileSystem.counts.write;
  const release = holdSyncs(fileSystem);
  const resolved: number[] = [];
  const first = storage.append(delta(1)).then(() => resolved.push(1));
  await until(() => fileSystem.counts.datasync === before + 1);
  const rest = Array.from({ length: 50 }, (_, index) => storage.append(delta(index + 2)).then(() => resolved.push(index + 2)));
  assert.deepEqual(resolved, []);
  release();
  await Promise.all([first, ...rest]);
  assert.equal(fileSystem.counts.datasync - before, 2, "one fsync for the first append, one for the fifty behind it");
  assert.equal(fileSystem.counts.write - writesBefore, 2, "two writes, one per batch");
  assert.deepEqual(resolved, Array.from({ length: 51 }, (_, index) => index + 1));
  await storage.close();
});

for (const [operation, code] of [["write", "ENOSPC"], ["write", "EIO"], ["datasync", "EIO"], ["datasync", "ENOSPC"]] as const) {
  test(`${code} on ${operation}: the batch and everything behind it reject, the disk is left clean, later appends succeed`, async (t) => {
    const dir = await tempDir(t);
    const fileSystem = new FaultInjectingFileSystem();
    const { storage } = await NodeStorage.open(dir, { fileSystem });
    const deltas = Array.from({ length: 6 }, (_, index) => delta(index));
    await storage.append(deltas[0]!);
    await storage.append(deltas[1]!);
    fileSystem.inject({ operation, code, partialBytes: 30, pathIncludes: "log." });
    const failing = [storage.append(deltas[2]!), storage.append(deltas[3]!)];
    for (const result of await Promise.allSettled(failing)) {
      assert.equal(result.status, "rejected");
      assert.ok(result.reason instanceof StorageError && result.reason.code === StorageErrorCode.write, String(result.reason));
      assert.match(result.reason.message, new RegExp(code));
    }
    await new Promise((resolve) => setImmediate(resolve));
    const report = await checkDataDir(dir, { processAlive: () => false });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.warnings.length, 0, "no torn tail: the failed batch was truncated away");
    const later = delta(4, 3);
    await storage.append(later);
    await storage.close();
    const reopened = await NodeStorage.open(dir);
    assert.deepEqual(image(reopened.tree), image(treeOf([deltas[0]!, deltas[1]!, later])));
    await reopened.storage.close();
  });
}

test("a disk that stays full keeps rejecting appends; when space returns, writes resume", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const { storage } = await NodeStorage.open(dir, { fileSystem });
  await storage.append(delta(0));
  fileSystem.inject({ operation: "write", code: "ENOSPC", times: Number.POSITIVE_INFINITY, partialBytes: 10 });
  fileSystem.inject({ operation: "truncate", code: "EIO", times: 2 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    await assert.rejects(storage.append(delta(attempt)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.write);
    await new Promise((resolve) => setImmediate(resolve));
  }
  fileSystem.clearFaults();
  await storage.append(delta(4, 2));
  await storage.close();
  const reopened = await NodeStorage.open(dir);
  assert.deepEqual(image(reopened.tree), image(treeOf([delta(0), delta(4, 2)])));
  assert.equal(reopened.report.tornTail, null);
  await reopened.storage.close();
});

test("a failure creating the next segment rejects the appends; the roll is retried", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const { storage } = await NodeStorage.open(dir, { fileSystem, segmentBytesMax: 4096 });
  const deltas = Array.from({ length: 80 }, (_, index) => delta(index));
  let index = 0;
  for (; (await segmentFiles(dir)).length < 2; index++) await storage.append(deltas[index]!);
  const filesBefore = (await segmentFiles(dir)).length;
  // Fill the current segment up, then fail the creation of the next one.
  for (; (await stat((await segmentFiles(dir)).at(-1)!)).size < 4096; index++) await storage.append(deltas[index]!);
  fileSystem.inject({ operation: "rename", code: "EIO", pathIncludes: "log." });
  await assert.rejects(storage.append(deltas[index]!), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.write);
  await new Promise((resolve) => setImmediate(resolve));
  const later = delta(index + 1, index + 1);
  await storage.append(later);
  assert.equal((await segmentFiles(dir)).length, filesBefore + 1);
  await storage.close();
  const reopened = await NodeStorage.open(dir);
  assert.deepEqual(image(reopened.tree), image(treeOf([...deltas.slice(0, index), later])));
  await reopened.storage.close();
});

test("overload: past appendsQueuedMax the append and all waiting ones reject, none reaches the disk", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const { storage } = await NodeStorage.open(dir, { fileSystem, appendsQueuedMax: 4 });
  await storage.append(delta(0));
  const release = holdSyncs(fileSystem);
  const waiting = [1, 2, 3, 4].map((index) => storage.append(delta(index)));
  const settled = Promise.allSettled(waiting);
  await assert.rejects(storage.append(delta(5)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.overload);
  // Same turn: a delta that may build on the rejected ones is refused too.
  await assert.rejects(storage.append(delta(6)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.aborted);
  for (const result of await settled) assert.equal(result.status, "rejected");
  release();
  await new Promise((resolve) => setImmediate(resolve));
  await storage.append(delta(7, 2));
  await storage.close();
  const reopened = await NodeStorage.open(dir);
  assert.deepEqual(image(reopened.tree), image(treeOf([delta(0), delta(7, 2)])));
  assert.equal(reopened.report.tornTail, null);
  await reopened.storage.close();
});

test("appends must carry increasing zxids; appends after close reject", async (t) => {
  const dir = await tempDir(t);
  const { storage } = await NodeStorage.open(dir, { unsafeNoFsync: true });
  await storage.append(delta(3));
  await assert.rejects(storage.append(delta(2)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.zxidOrder);
  await storage.close();
  await assert.rejects(storage.append(delta(4)), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.closed);
});

test("unsafeNoFsync makes no fsync calls at all", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const { storage } = await NodeStorage.open(dir, { fileSystem, unsafeNoFsync: true, segmentBytesMax: 4096 });
  for (let index = 0; index < 80; index++) await storage.append(delta(index));
  await storage.close();
  assert.deepEqual([fileSystem.counts.datasync, fileSystem.counts.sync, fileSystem.counts.syncDirectory], [0, 0, 0]);
});
