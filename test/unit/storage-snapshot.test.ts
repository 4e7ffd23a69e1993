// Snapshots: DataTree.captureState/fromState, the snapshot file round trip,
// detection of every flipped bit, background writing that leaves the event
// loop free, and the fallback to an older snapshot when the newest is
// damaged (only when the log covers the difference).

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateFlag, Perm } from "../../src/protocol/codes.js";
import { checkDataDir } from "../../src/storage/check.js";
import { StorageError, StorageErrorCode } from "../../src/storage/errors.js";
import { nodeFileSystem } from "../../src/storage/file-system.js";
import { crc32c } from "../../src/storage/crc32c.js";
import { encodeFrame, frameHeaderBytes } from "../../src/storage/frame.js";
import { readSnapshot, snapshotHeaderBytes, writeSnapshot } from "../../src/storage/snapshot.js";
import { NodeStorage } from "../../src/storage/storage.js";
import { TreeInvariantError } from "../../src/tree/assert.js";
import { DataTree, type TreeState } from "../../src/tree/data-tree.js";
import { Harness, bytes, create, treeImage, worldAcl } from "./tree-support.js";


async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "maestro-snapshot-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A tree with every kind of node: persistent, sequential, ephemeral, container, TTL, odd ACLs, null data. */
function variedTree(): Harness {
  const harness = new Harness();
  harness.options = { ...harness.options, childrenMax: 100_000, dataBytesMax: 4096 };
  harness.openSession(7n, 4000);
  harness.openSession(9n, 6000);
  harness.ok(create("/app", { data: null }));
  harness.ok(create("/app/config", { data: bytes("x=1"), acl: worldAcl(Perm.read | Perm.write) }));
  harness.ok(create("/app/seq-", { flags: CreateFlag.persistentSequential }));
  harness.ok(create("/app/seq-", { flags: CreateFlag.persistentSequential }));
  harness.ok(create("/app/lock", { flags: CreateFlag.ephemeral }));
  harness.ok(create("/jobs", { flags: CreateFlag.container, kind: "createContainer" }));
  harness.ok(create("/jobs/one"));
  harness.ok(create("/cache", { flags: CreateFlag.persistentWithTtl, kind: "createTTL", ttl: 5000n }));
  harness.ok({ op: "setData", path: "/app/config", data: bytes("x=2"), version: 0 });
  harness.ok({ op: "setACL", path: "/app", acl: worldAcl(Perm.all), version: 0 });
  harness.ok({ op: "delete", path: "/app/seq-0000000001", version: -1 });
  return harness;
}

test("fromState(captureState()) rebuilds the same tree, indexes and sizes included", () => {
  for (const tree of [new DataTree(), variedTree().tree]) {
    const rebuilt = DataTree.fromState(tree.captureState());
    assert.deepEqual(treeImage(rebuilt), treeImage(tree));
    rebuilt.checkInvariants();
  }
});

test("a captured state is a point-in-time image: later writes do not reach it", () => {
  const harness = variedTree();
  const before = treeImage(harness.tree);
  const state = harness.tree.captureState();
  harness.ok({ op: "setData", path: "/app/config", data: bytes("x=3"), version: 1 });
  harness.ok(create("/later"));
  harness.ok({ op: "closeSession", sessionId: 7n });
  assert.deepEqual(treeImage(DataTree.fromState(state)), before);
});

test("fromState refuses a state that does not hold together", () => {
  const state = variedTree().tree.captureState();
  const without = (index: number): TreeState => ({
    ...state,
    paths: state.paths.filter((_, at) => at !== index),
    records: state.records.filter((_, at) => at !== index),
  });
  const appIndex = state.paths.indexOf("/app");
  assert.throws(() => DataTree.fromState(without(appIndex)), TreeInvariantError, "children without their parent");
  const lockOwner = state.records[state.paths.indexOf("/app/lock")]!.ephemeralOwner;
  assert.throws(() => DataTree.fromState({ ...state, sessions: state.sessions.filter(([id]) => id !== lockOwner) }), TreeInvariantError, "ephemeral of a dead session");
  const records = state.records.map((record, index) => (index === appIndex ? { ...record, numChildren: record.numChildren + 1 } : record));
  assert.throws(() => DataTree.fromState({ ...state, records }), TreeInvariantError, "wrong numChildren");
  assert.throws(() => DataTree.fromState({ ...state, paths: [...state.paths, "/app"], records: [...state.records, state.records[0]!] }), TreeInvariantError);
});

test("a snapshot file reads back as the same tree, across many chunks", async (t) => {
  const dir = await tempDir(t);
  const harness = variedTree();
  for (let index = 0; index < 3000; index++) harness.ok(create(`/bulk-${index}`, { data: Buffer.alloc(200, index % 251) }), {});
  const info = await writeSnapshot(nodeFileSystem, dir, harness.tree.captureState(), { unsafeNoFsync: false });
  assert.ok(info.bytes > 3 * 256 * 1024, "several chunks");
  assert.equal(info.nodeCount, harness.tree.nodeCount);
  const loaded = await readSnapshot(nodeFileSystem, info.file, info.zxid);
  assert.deepEqual(treeImage(loaded.tree), treeImage(harness.tree));
  assert.deepEqual(loaded.info, info);
  assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith(".tmp")), []);
});

test("writing a snapshot yields to the event loop between chunks", async (t) => {
  const dir = await tempDir(t);
  const harness = variedTree();
  for (let index = 0; index < 2000; index++) harness.ok(create(`/bulk-${index}`, { data: Buffer.alloc(500, 1) }));
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  await writeSnapshot(nodeFileSystem, dir, harness.tree.captureState(), { unsafeNoFsync: true });
  counting = false;
  assert.ok(turns >= 4, `the event loop turned ${turns} times during the write`);
});

test("every single-bit flip in a snapshot file is detected, naming the file", async (t) => {
  const dir = await tempDir(t);
  const harness = variedTree();
  const info = await writeSnapshot(nodeFileSystem, dir, harness.tree.captureState(), { unsafeNoFsync: true });
  const clean = await readFile(info.file);
  for (let position = 0; position < clean.length; position++) {
    for (const bit of [position % 8, (position + 3) % 8]) {
      const flipped = Buffer.from(clean);
      flipped[position]! ^= 1 << bit;
      await writeFile(info.file, flipped);
      await assert.rejects(
        readSnapshot(nodeFileSystem, info.file, info.zxid),
        (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.damaged && error.file === info.file,
        `bit ${bit} of byte ${position}`,
      );
    }
  }
  for (const length of [0, 20, 40, clean.length - 1]) {
    await writeFile(info.file, clean.subarray(0, length));
    await assert.rejects(readSnapshot(nodeFileSystem, info.file, info.zxid), StorageError, `cut at ${length}`);
  }
});

/** Opens storage, writes `count` creates through it, snapshots after each of `snapshotAfter`, closes. */
async function history(dir: string, count: number, snapshotAfter: readonly number[], options = {}): Promise<DataTree> {
  const { storage, tree } = await NodeStorage.open(dir, { unsafeNoFsync: true, ...options });
  const harness = new Harness();
  harness.options = { ...harness.options, childrenMax: 100_000 };
  for (let index = 0; index < count; index++) {
    const outcome = harness.ok(create(`/n${index}`, { data: bytes(`v${index}`) })).outcome;
    assert.ok(outcome.ok);
    await storage.append(outcome.delta);
    tree.apply(outcome.delta);
    if (snapshotAfter.includes(index)) await storage.takeSnapshot(tree);
  }
  await storage.close();
  return tree;
}

async function snapshotFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith("snapshot.") && !name.endsWith(".tmp")).sort().map((name) => join(dir, name));
}

test("recovery loads the newest snapshot and replays only the log after it", async (t) => {
  const dir = await tempDir(t);
  const expected = await history(dir, 30, [9, 19]);
  const { storage, tree, report } = await NodeStorage.open(dir);
  assert.deepEqual(treeImage(tree), treeImage(expected));
  assert.equal(report.snapshotFile, (await snapshotFiles(dir)).at(-1));
  assert.equal(report.recordsReplayed, 10);
  assert.deepEqual(report.snapshotsSkipped, []);
  await storage.close();
});

test("a damaged newest snapshot falls back to an older one, loudly, when the log covers the gap", async (t) => {
  const dir = await tempDir(t);
  const expected = await history(dir, 30, [9, 19]);
  const [older, newest] = await snapshotFiles(dir);
  const bytesOfNewest = await readFile(newest!);
  bytesOfNewest[bytesOfNewest.length - 10]! ^= 0x01;
  await writeFile(newest!, bytesOfNewest);
  const warnings: string[] = [];
  const { storage, tree, report } = await NodeStorage.open(dir, { warn: (message) => warnings.push(message) });
  assert.deepEqual(treeImage(tree), treeImage(expected));
  assert.equal(report.snapshotFile, older);
  assert.equal(report.recordsReplayed, 20);
  assert.deepEqual(report.snapshotsSkipped.map((skipped) => skipped.file), [newest]);
  assert.ok(warnings.some((message) => message.startsWith("SNAPSHOT FALLBACK") && message.includes(newest!)));
  await storage.close();
  const check = await checkDataDir(dir);
  assert.equal(check.ok, false);
  assert.equal(check.startable, true);
  assert.deepEqual(check.warnings.map((warning) => [warning.code, warning.file]), [["SNAPSHOT_FALLBACK", newest]]);
});

test("a damaged newest snapshot with no covered fallback stops start-up, naming the file and offset", async (t) => {
  const dir = await tempDir(t);
  await history(dir, 200, [99, 149], { segmentBytesMax: 4096, snapshotsRetained: 1 });
  const snapshots = await snapshotFiles(dir);
  assert.equal(snapshots.length, 1, "retention kept one snapshot");
  const newest = snapshots[0]!;
  const damagedBytes = await readFile(newest);
  damagedBytes[40]! ^= 0x80;
  await writeFile(newest, damagedBytes);
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => {
    assert.ok(error instanceof StorageError && error.code === StorageErrorCode.damaged, String(error));
    assert.equal(error.file, newest);
    assert.equal(error.offset, 32);
    assert.match(error.message, /no snapshot can be used/);
    return true;
  });
  const check = await checkDataDir(dir);
  assert.equal(check.startable, false);
});

test("a snapshot ahead of the log's end (log records lost) stops start-up", async (t) => {
  const dir = await tempDir(t);
  await history(dir, 10, [9]);
  const logs = (await readdir(dir)).filter((name) => name.startsWith("log."));
  const lastLog = join(dir, logs.sort().at(-1)!);
  const bytesOfLog = await readFile(lastLog);
  await writeFile(lastLog, bytesOfLog.subarray(0, 24));
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.logGap);
});

/** variedTree plus a cursor: two origins, a stream position, lease rows. */
function replicatedTree(): Harness {
  const harness = variedTree();
  const leases = [{ unit: "/app", owner: "eu-west", epoch: 3 }, { unit: "/jobs", owner: "us-east", epoch: 1 }];
  harness.tree.apply({ zxid: ++harness.zxid, timeMs: 1n, sessionId: 0n, ops: [], stamp: { origin: "root", shipSeq: 4n, streamPos: 17n, leases } });
  const outcome = harness.ok(create("/remote")).outcome;
  assert.ok(outcome.ok);
  harness.tree.apply({ zxid: ++harness.zxid, timeMs: 1n, sessionId: 0n, ops: [], stamp: { origin: "eu-west", shipSeq: 12n, streamPos: 18n, leases: [] } });
  return harness;
}

test("a snapshot carries the replication cursor", async (t) => {
  const dir = await tempDir(t);
  const harness = replicatedTree();
  const info = await writeSnapshot(nodeFileSystem, dir, harness.tree.captureState(), { unsafeNoFsync: true });
  const loaded = await readSnapshot(nodeFileSystem, info.file, info.zxid);
  assert.deepEqual(loaded.tree.captureState().replication, harness.tree.captureState().replication);
  assert.equal(loaded.tree.replication.streamPos, 18n);
  assert.equal(loaded.tree.replication.leases.get("/app")?.owner, "eu-west");
  assert.deepEqual(treeImage(loaded.tree), treeImage(harness.tree));
});

const emptyCursorEntryBytes = 4 + 8 + 4 + 4;

/** The file with its header saying `version` (checksum fixed). */
function withVersion(file: Buffer, version: number): Buffer {
  const header = Buffer.from(file.subarray(0, snapshotHeaderBytes));
  header.writeUInt32BE(version, 8);
  header.writeUInt32BE(crc32c(header.subarray(0, 28)), 28);
  return Buffer.concat([header, file.subarray(snapshotHeaderBytes)]);
}

/**
 * A snapshot of a tree with an empty cursor, its first chunk (checksum
 * fixed) without its leading cursor entry, or with that entry twice.
 */
function withCursorEntries(file: Buffer, change: "drop" | "duplicate"): Buffer {
  const length = file.readUInt32BE(snapshotHeaderBytes);
  const payloadStart = snapshotHeaderBytes + frameHeaderBytes;
  const payload = file.subarray(payloadStart, payloadStart + length);
  const cursor = payload.subarray(0, emptyCursorEntryBytes);
  const changed = change === "drop" ? payload.subarray(emptyCursorEntryBytes) : Buffer.concat([cursor, payload]);
  return Buffer.concat([file.subarray(0, snapshotHeaderBytes), encodeFrame(changed), file.subarray(payloadStart + length)]);
}

test("a version 1 snapshot (written before the cursor existed) still reads, with an empty cursor", async (t) => {
  const dir = await tempDir(t);
  const harness = variedTree();
  const info = await writeSnapshot(nodeFileSystem, dir, harness.tree.captureState(), { unsafeNoFsync: true });
  const clean = await readFile(info.file);
  assert.equal(clean.readUInt32BE(8), 2, "written as version 2");
  assert.equal(clean.readInt32BE(snapshotHeaderBytes + frameHeaderBytes), 4, "the cursor entry comes first");
  await writeFile(info.file, withVersion(withCursorEntries(clean, "drop"), 1));
  const loaded = await readSnapshot(nodeFileSystem, info.file, info.zxid);
  assert.deepEqual(treeImage(loaded.tree), treeImage(harness.tree));
  assert.deepEqual(loaded.tree.captureState().replication, { streamPos: 0n, applied: [], leases: [] });
});

test("a version 2 snapshot without its cursor or with two, a version 1 snapshot with one, or version 3, is damaged", async (t) => {
  const dir = await tempDir(t);
  const info = await writeSnapshot(nodeFileSystem, dir, variedTree().tree.captureState(), { unsafeNoFsync: true });
  const clean = await readFile(info.file);
  const cases: [string, Buffer][] = [
    ["v2 without a cursor", withCursorEntries(clean, "drop")],
    ["v2 with two cursors", withCursorEntries(clean, "duplicate")],
    ["v1 with a cursor", withVersion(clean, 1)],
    ["version 3", withVersion(clean, 3)],
  ];
  for (const [what, bytesOfFile] of cases) {
    await writeFile(info.file, bytesOfFile);
    await assert.rejects(
      readSnapshot(nodeFileSystem, info.file, info.zxid),
      (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.damaged && error.file === info.file,
      what,
    );
  }
});

test("every single-bit flip in a snapshot with a cursor is detected", async (t) => {
  const dir = await tempDir(t);
  const info = await writeSnapshot(nodeFileSystem, dir, replicatedTree().tree.captureState(), { unsafeNoFsync: true });
  const clean = await readFile(info.file);
  // The header and the first chunk's frame header and cursor entry, every bit.
  const cursorEnd = snapshotHeaderBytes + frameHeaderBytes + 200;
  for (let position = 0; position < Math.min(cursorEnd, clean.length); position++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = Buffer.from(clean);
      flipped[position]! ^= 1 << bit;
      await writeFile(info.file, flipped);
      await assert.rejects(readSnapshot(nodeFileSystem, info.file, info.zxid), StorageError, `bit ${bit} of byte ${position}`);
    }
  }
});
