// Recovery of a whole node: random histories written through PendingTree
// with several appends in flight, snapshots (forced and automatic) at
// random points, restarts at random points; after each restart the tree
// equals the one before, sessions and lastZxid included. Also the lock,
// the secret, retention, temporary files and check-data.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { CreateFlag, Perm } from "../../src/protocol/codes.js";
import { checkDataDir } from "../../src/storage/check.js";
import { lockFileName, secretFileName } from "../../src/storage/data-dir.js";
import { StorageError, StorageErrorCode } from "../../src/storage/errors.js";
import { FaultInjectingFileSystem } from "../../src/storage/fault-file-system.js";
import { NodeStorage, type OpenedStorage, type StorageOptions } from "../../src/storage/storage.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { PendingTree } from "../../src/tree/pending.js";
import type { Acl, CreateKind, Delta, ReplicationStamp, RequestContext, WriteRequest } from "../../src/tree/types.js";
import { testOptions, treeImage } from "./tree-support.js";

const options = { ...testOptions, childrenMax: 64 };
const openAcl: Acl[] = [{ perms: Perm.all, id: { scheme: "world", id: "anyone" } }];
const readOnly: Acl[] = [{ perms: Perm.read | Perm.create | Perm.delete | Perm.write, id: { scheme: "digest", id: "bob:hash" } }];
const pathArb = fc.constantFrom("/a", "/b", "/c", "/a/x", "/a/y", "/b/z", "/a/x/q", "/a/s-");
const dataArb = fc.constantFrom<Buffer | null>(Buffer.from("d"), null, Buffer.alloc(0), Buffer.from("longer data value"));
const createArb: fc.Arbitrary<WriteRequest> = fc.record({
  op: fc.constant("create" as const),
  kind: fc.constantFrom<CreateKind>("create2", "createContainer", "createTTL"),
  path: pathArb,
  data: dataArb,
  acl: fc.constantFrom(openAcl, readOnly),
  flags: fc.constantFrom(CreateFlag.persistent, CreateFlag.ephemeral, CreateFlag.persistentSequential, CreateFlag.ephemeralSequential),
  ttl: fc.constant(-1n),
}).map((request) => {
  if (request.kind === "createContainer") return { ...request, flags: CreateFlag.container };
  if (request.kind === "createTTL") return { ...request, flags: CreateFlag.persistentWithTtl, ttl: 1000n };
  return request;
});
const requestArb: fc.Arbitrary<WriteRequest> = fc.oneof(
  { weight: 6, arbitrary: createArb },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), path: pathArb, version: fc.constant(-1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("setData" as const), path: pathArb, data: dataArb, version: fc.constant(-1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("setACL" as const), path: pathArb, acl: fc.constantFrom(openAcl, readOnly), version: fc.constant(-1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("multi" as const), ops: fc.array(createArb, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("createSession" as const), sessionId: fc.constantFrom(1n, 2n, 3n), timeoutMs: fc.constantFrom(1000, 5000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("closeSession" as const), sessionId: fc.constantFrom(1n, 2n, 3n) }) },
);

type Step =
  | { kind: "writes"; requests: WriteRequest[]; sessionId: bigint; zxidGap: number }
  | { kind: "snapshot" }
  | { kind: "reopen" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("writes" as const),
      requests: fc.array(requestArb, { minLength: 1, maxLength: 4 }),
      sessionId: fc.constantFrom(0n, 1n, 2n),
      zxidGap: fc.integer({ min: 1, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "snapshot" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

const optionsArb: fc.Arbitrary<StorageOptions> = fc.record({
  unsafeNoFsync: fc.constant(true),
  segmentBytesMax: fc.constantFrom(4096, 64 * 1024),
  snapshotEveryDeltas: fc.constantFrom(3, 10, 1_000_000),
  snapshotsRetained: fc.integer({ min: 1, max: 3 }),
});


async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "maestro-recovery-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Prepares and stages every request, appends them all at once, applies each as its append resolves. */
async function write(opened: OpenedStorage, pending: PendingTree, step: Step & { kind: "writes" }, zxid: bigint): Promise<bigint> {
  const appends: Promise<Delta>[] = [];
  for (const request of step.requests) {
    const ctx: RequestContext = { sessionId: step.sessionId, authIds: [], zxid: zxid + BigInt(step.zxidGap), timeMs: zxid >> 4n };
    const outcome = pending.prepare(request, ctx, options);
    if (!outcome.ok) continue;
    zxid = outcome.delta.zxid;
    pending.stage(outcome.delta);
    coverage.deltasWritten++;
    appends.push(opened.storage.append(outcome.delta).then(() => outcome.delta));
  }
  for (const append of appends) {
    await append;
    pending.commitNext();
    opened.storage.noteApplied(pending.tree);
  }
  return zxid;
}

/** What the random runs exercised, so the property cannot pass vacuously. */
const coverage = { deltasWritten: 0, restartsFromSnapshot: 0, recordsReplayed: 0 };

async function runHistory(dir: string, storageOptions: StorageOptions, steps: readonly Step[]): Promise<void> {
  let opened = await NodeStorage.open(dir, storageOptions);
  let pending = new PendingTree(opened.tree);
  let zxid = 0x10000n;
  for (const step of steps) {
    if (step.kind === "writes") zxid = await write(opened, pending, step, zxid);
    else if (step.kind === "snapshot") await opened.storage.takeSnapshot(pending.tree);
    else {
      const before = treeImage(pending.tree);
      await opened.storage.close();
      opened = await NodeStorage.open(dir, storageOptions);
      assert.deepEqual(treeImage(opened.tree), before);
      pending = new PendingTree(opened.tree);
    }
  }
  const final = treeImage(pending.tree);
  await opened.storage.close();
  const check = await checkDataDir(dir);
  assert.equal(check.ok, true, JSON.stringify(check.problems));
  const reopened = await NodeStorage.open(dir, storageOptions);
  assert.deepEqual(treeImage(reopened.tree), final);
  reopened.tree.checkInvariants();
  if (reopened.report.snapshotFile !== null) coverage.restartsFromSnapshot++;
  coverage.recordsReplayed += reopened.report.recordsReplayed;
  assert.equal(check.recovery?.lastZxid, reopened.tree.lastZxid);
  assert.equal(check.recovery?.recordsToReplay, reopened.report.recordsReplayed);
  await reopened.storage.close();
}

test("random histories with snapshots and restarts recover exactly (sessions and lastZxid included)", async (t) => {
  const root = await tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(optionsArb, fc.array(stepArb, { minLength: 1, maxLength: 40, size: "max" }), async (storageOptions, steps) => {
      const dir = join(root, `run-${run++}`);
      try {
        await runHistory(dir, storageOptions, steps);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 40 },
  );
  assert.ok(coverage.restartsFromSnapshot >= 10, `only ${coverage.restartsFromSnapshot} runs restarted from a snapshot`);
  assert.ok(coverage.deltasWritten >= 300, `only ${coverage.deltasWritten} deltas written`);
  assert.ok(coverage.recordsReplayed >= 20, `only ${coverage.recordsReplayed} records replayed at the final restarts`);
});

/** Writes `count` creates of /n<i> through an opened storage, applying each. */
async function writeCreates(opened: OpenedStorage, count: number, from = 0): Promise<void> {
  const pending = new PendingTree(opened.tree);
  for (let index = from; index < from + count; index++) {
    const request: WriteRequest = { op: "create", kind: "create2", path: `/n${index}`, data: Buffer.alloc(40, 1), acl: openAcl, flags: 0, ttl: -1n };
    const outcome = pending.prepare(request, { sessionId: 0n, authIds: [], zxid: opened.tree.lastZxid + 3n, timeMs: 5n }, { ...options, childrenMax: 100_000 });
    assert.ok(outcome.ok);
    pending.stage(outcome.delta);
    await opened.storage.append(outcome.delta);
    pending.commitNext();
    opened.storage.noteApplied(opened.tree);
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    assert.ok(turn < 100_000, "condition never became true");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("noteApplied snapshots in the background; retention keeps snapshotsRetained snapshots and the segments they need", async (t) => {
  const dir = await tempDir(t);
  const storageOptions: StorageOptions = { unsafeNoFsync: true, segmentBytesMax: 4096, snapshotEveryDeltas: 50, snapshotsRetained: 2 };
  const opened = await NodeStorage.open(dir, storageOptions);
  await writeCreates(opened, 400);
  await until(() => !opened.storage.stats.snapshotRunning);
  const names = await readdir(dir);
  const snapshots = names.filter((name) => name.startsWith("snapshot.")).sort();
  assert.equal(snapshots.length, 2);
  const check = await checkDataDir(dir, { processAlive: () => false });
  const oldestSnapshotZxid = check.snapshots[0]!.zxid;
  const segments = check.segments;
  assert.ok(segments.length < 400 * 100 / 4096, "old segments were deleted");
  assert.ok(segments[0]!.baseZxid <= oldestSnapshotZxid, "the oldest kept snapshot can still replay");
  assert.ok(segments.length === 1 || segments[1]!.baseZxid > oldestSnapshotZxid, "no segment older than needed");
  const expected = treeImage(opened.tree);
  await opened.storage.close();
  const reopened = await NodeStorage.open(dir, storageOptions);
  assert.deepEqual(treeImage(reopened.tree), expected);
  assert.ok(reopened.report.recordsReplayed < 50);
  await reopened.storage.close();
});

test("the age limit removes old snapshots beyond the newest, even within snapshotsRetained", async (t) => {
  const dir = await tempDir(t);
  let nowMs = Date.now();
  const opened = await NodeStorage.open(dir, { unsafeNoFsync: true, snapshotsRetained: 3, snapshotAgeMsMax: 60_000, nowMs: () => nowMs });
  await writeCreates(opened, 5);
  await opened.storage.takeSnapshot(opened.tree);
  await writeCreates(opened, 5, 5);
  await opened.storage.takeSnapshot(opened.tree);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith("snapshot.")).length, 2);
  nowMs += 3_600_000;
  const purged = await opened.storage.purge();
  assert.equal(purged.snapshotsRemoved.length, 1);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith("snapshot.")).length, 1);
  await opened.storage.close();
});

test("sessions, ephemerals and lastZxid survive a restart; the secret is the same 32 bytes", async (t) => {
  const dir = await tempDir(t);
  const first = await NodeStorage.open(dir);
  assert.equal(first.secret.length, 32);
  const pending = new PendingTree(first.tree);
  const requests: [WriteRequest, bigint][] = [
    [{ op: "createSession", sessionId: 0x77n, timeoutMs: 9000 }, 0n],
    [{ op: "create", kind: "create2", path: "/eph", data: null, acl: openAcl, flags: CreateFlag.ephemeral, ttl: -1n }, 0x77n],
  ];
  let zxid = 0x500000n;
  for (const [request, sessionId] of requests) {
    const outcome = pending.prepare(request, { sessionId, authIds: [], zxid: ++zxid, timeMs: 1n }, options);
    assert.ok(outcome.ok);
    pending.stage(outcome.delta);
    await first.storage.append(outcome.delta);
    pending.commitNext();
  }
  await first.storage.close();
  const second = await NodeStorage.open(dir);
  assert.deepEqual([...second.tree.sessions()], [[0x77n, 9000]]);
  assert.deepEqual(second.tree.ephemeralsOf(0x77n), ["/eph"]);
  assert.equal(second.tree.lastZxid, zxid);
  assert.deepEqual(second.secret, first.secret);
  await second.storage.close();
  await writeFile(join(dir, secretFileName), Buffer.alloc(5));
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => error instanceof StorageError && error.code === StorageErrorCode.damaged);
});

test("leftover temporary files are removed at start-up and reported", async (t) => {
  const dir = await tempDir(t);
  await (await NodeStorage.open(dir)).storage.close();
  await writeFile(join(dir, "snapshot.0000000000000009.tmp"), "half a snapshot");
  const check = await checkDataDir(dir, { processAlive: () => false });
  assert.deepEqual(check.temporaryFiles, ["snapshot.0000000000000009.tmp"]);
  const opened = await NodeStorage.open(dir, { processAlive: () => false });
  assert.deepEqual(opened.report.temporaryFilesRemoved, ["snapshot.0000000000000009.tmp"]);
  assert.ok(!(await readdir(dir)).some((name) => name.endsWith(".tmp")));
  await opened.storage.close();
});

test("one process at a time: a second open in the same process is refused", async (t) => {
  const dir = await tempDir(t);
  const first = await NodeStorage.open(dir);
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => {
    assert.ok(error instanceof StorageError && error.code === StorageErrorCode.locked);
    assert.equal(error.message, `data directory ${dir} is in use by pid ${process.pid}`);
    return true;
  });
  await first.storage.close();
  assert.ok(!(await readdir(dir)).includes(lockFileName), "close removes the lock");
  await (await NodeStorage.open(dir)).storage.close();
});

const storageModule = fileURLToPath(new URL("../../src/storage/storage.js", import.meta.url));

/** A child process that opens `dir`, prints "open" or the error, and waits to be killed. */
function childOpening(dir: string): { child: ReturnType<typeof spawn>; line: Promise<string> } {
  const script = `
    const { NodeStorage } = await import(${JSON.stringify(storageModule)});
    try { await NodeStorage.open(${JSON.stringify(dir)}); console.log("open"); setInterval(() => {}, 1000); }
    catch (error) { console.log(error.code + " " + error.message); process.exit(0); }`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const line = new Promise<string>((resolve) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(text.trim());
    });
  });
  return { child, line };
}

test("a second process is refused with the pid of the first; after SIGKILL its stale lock is taken over with a warning", async (t) => {
  const dir = await tempDir(t);
  const holder = await NodeStorage.open(dir);
  const refused = childOpening(dir);
  assert.equal(await refused.line, `ERR_STORAGE_LOCKED data directory ${dir} is in use by pid ${process.pid}`);
  await holder.storage.close();
  const owner = childOpening(dir);
  assert.equal(await owner.line, "open");
  await assert.rejects(NodeStorage.open(dir), (error: unknown) => error instanceof StorageError && error.message.endsWith(`in use by pid ${owner.child.pid}`));
  const exited = once(owner.child, "exit");
  owner.child.kill("SIGKILL");
  await exited;
  const warnings: string[] = [];
  const check = await checkDataDir(dir);
  assert.deepEqual([check.lockOwnerPid, check.lockOwnerAlive], [owner.child.pid, false]);
  const taken = await NodeStorage.open(dir, { warn: (message) => warnings.push(message) });
  assert.equal(taken.report.staleLockPid, owner.child.pid);
  assert.deepEqual(warnings, [`taking over the lock of data directory ${dir} from pid ${owner.child.pid}, which is no longer running`]);
  assert.equal((await readFile(join(dir, lockFileName), "utf8")).trim(), String(process.pid));
  await taken.storage.close();
});

test("an unreadable lock file is taken over; check-data never touches the lock or the files", async (t) => {
  const dir = await tempDir(t);
  const opened = await NodeStorage.open(dir);
  await writeCreates(opened, 3);
  await opened.storage.close();
  await writeFile(join(dir, lockFileName), "");
  const before = await Promise.all((await readdir(dir)).sort().map(async (name) => [name, await readFile(join(dir, name))]));
  const check = await checkDataDir(dir);
  assert.equal(check.ok, true);
  const after = await Promise.all((await readdir(dir)).sort().map(async (name) => [name, await readFile(join(dir, name))]));
  assert.deepEqual(after, before);
  const taken = await NodeStorage.open(dir);
  assert.equal(taken.report.staleLockPid, null);
  assert.equal(taken.tree.nodeCount, new DataTree().nodeCount + 3);
  await taken.storage.close();
  assert.ok((await stat(dir)).isDirectory());
});

test("snapshotEveryLogBytes triggers a snapshot; a failed snapshot is warned about and retried at the next interval", async (t) => {
  const dir = await tempDir(t);
  const fileSystem = new FaultInjectingFileSystem();
  const warnings: string[] = [];
  const opened = await NodeStorage.open(dir, { fileSystem, unsafeNoFsync: true, snapshotEveryLogBytes: 2000, warn: (message) => warnings.push(message) });
  fileSystem.inject({ operation: "rename", code: "ENOSPC", pathIncludes: "snapshot." });
  await writeCreates(opened, 20);
  await until(() => !opened.storage.stats.snapshotRunning);
  assert.ok(warnings.some((message) => message.startsWith("snapshot failed") && message.includes("ENOSPC")), warnings.join("\n"));
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith("snapshot.")), []);
  await writeCreates(opened, 20, 20);
  await until(() => !opened.storage.stats.snapshotRunning);
  assert.equal((await readdir(dir)).filter((name) => name.startsWith("snapshot.") && !name.endsWith(".tmp")).length, 1);
  assert.ok(opened.storage.stats.lastSnapshot !== null);
  const expected = treeImage(opened.tree);
  await opened.storage.close();
  const reopened = await NodeStorage.open(dir);
  assert.deepEqual(treeImage(reopened.tree), expected);
  assert.notEqual(reopened.report.snapshotFile, null);
  await reopened.storage.close();
});

/** Plain-prototype records, so that stamps compare deepEqual with decoded ones. */
const plain = { noNullPrototype: true } as const;
/** Stamps for the multi-region tests: none, a region's own delta (streamPos 0) or a streamed one. */
const stampArb: fc.Arbitrary<ReplicationStamp | undefined> = fc.option(
  fc.record({
    origin: fc.constantFrom("eu", "us", "root"),
    shipSeq: fc.bigInt({ min: 1n, max: 50n }),
    streamPos: fc.constantFrom(0n, 1n, 2n, 3n, 7n, 40n),
    leases: fc.array(fc.record({ unit: fc.constantFrom("/a", "/b", "/"), owner: fc.constantFrom("eu", "us"), epoch: fc.nat(9) }, plain), { maxLength: 2 }),
  }, plain),
  { nil: undefined },
);

type ReplicatedStep =
  | { kind: "write"; request: WriteRequest; sessionId: bigint; stamp: ReplicationStamp | undefined }
  /** A lease event: a stamped delta with no ops. */
  | { kind: "leaseEvent"; stamp: ReplicationStamp | undefined }
  | { kind: "snapshot" }
  | { kind: "reopen" };

const replicatedStepArb: fc.Arbitrary<ReplicatedStep> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("write" as const), request: requestArb, sessionId: fc.constantFrom(0n, 1n, 2n), stamp: stampArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      request: fc.record({ op: fc.constant("deleteEphemerals" as const), sessionId: fc.constantFrom(1n, 2n), paths: fc.array(pathArb, { maxLength: 3 }) }),
      sessionId: fc.constant(0n),
      stamp: stampArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("leaseEvent" as const), stamp: stampArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: "snapshot" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

/** Everything recovery must bring back: the tree and its replication cursor. */
function replicatedImage(tree: DataTree): unknown {
  return { tree: treeImage(tree), replication: tree.captureState().replication };
}

/** The delta a step produces against `view`, or undefined when the request fails. */
function deltaOf(pending: PendingTree, step: ReplicatedStep & { kind: "write" | "leaseEvent" }, zxid: bigint): Delta | undefined {
  if (step.kind === "leaseEvent") return { zxid, timeMs: 3n, sessionId: 0n, ops: [], ...(step.stamp === undefined ? {} : { stamp: step.stamp }) };
  const outcome = pending.prepare(step.request, { sessionId: step.sessionId, authIds: [], zxid, timeMs: 3n }, options);
  if (!outcome.ok) return undefined;
  return step.stamp === undefined ? outcome.delta : { ...outcome.delta, stamp: step.stamp };
}

/**
 * Runs the steps through storage and, in parallel, applies every delta
 * directly to a tree that never touches the disk. After every restart the
 * recovered tree and cursor equal the direct one, and replayedStampedDeltas
 * are exactly the streamed deltas after the snapshot used.
 */
async function runReplicatedHistory(dir: string, steps: readonly ReplicatedStep[]): Promise<void> {
  const storageOptions: StorageOptions = { unsafeNoFsync: true, segmentBytesMax: 4096 };
  let opened = await NodeStorage.open(dir, storageOptions);
  let pending = new PendingTree(opened.tree);
  const direct = new DataTree();
  const written: Delta[] = [];
  let zxid = 0x100n;
  const reopen = async (): Promise<void> => {
    await opened.storage.close();
    opened = await NodeStorage.open(dir, storageOptions);
    assert.deepEqual(replicatedImage(opened.tree), replicatedImage(direct));
    const afterSnapshot = written.filter((delta) => delta.zxid > opened.report.snapshotZxid);
    assert.equal(opened.report.recordsReplayed, afterSnapshot.length);
    assert.deepEqual(opened.replayedStampedDeltas, afterSnapshot.filter((delta) => delta.stamp !== undefined));
    pending = new PendingTree(opened.tree);
  };
  for (const step of steps) {
    if (step.kind === "snapshot") await opened.storage.takeSnapshot(pending.tree);
    else if (step.kind === "reopen") await reopen();
    else {
      const delta = deltaOf(pending, step, zxid + 1n);
      if (delta === undefined) continue;
      zxid = delta.zxid;
      pending.stage(delta);
      await opened.storage.append(delta);
      pending.commitNext();
      direct.apply(delta);
      written.push(delta);
    }
  }
  await reopen();
  opened.tree.checkInvariants();
  await opened.storage.close();
  const check = await checkDataDir(dir);
  assert.equal(check.ok, true, JSON.stringify(check.problems));
}

test("a log of stamped and zero-op deltas recovers through restarts to the tree and cursor applied directly", async (t) => {
  const root = await tempDir(t);
  let run = 0;
  let stamped = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(replicatedStepArb, { minLength: 1, maxLength: 30 }), async (steps) => {
      stamped += steps.filter((step) => step.kind !== "snapshot" && step.kind !== "reopen" && step.stamp !== undefined).length;
      const dir = join(root, `replicated-${run++}`);
      try {
        await runReplicatedHistory(dir, steps);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 30 },
  );
  // A guard against a vacuous run, not a statistic: about 90 stamped steps are expected (30 runs,
  // 1-30 steps each, about one in five stamped); 40 leaves room for the spread of random runs.
  assert.ok(stamped >= 40, `only ${stamped} stamped steps`);
});

test("recovery hands back the streamed deltas after the snapshot, and none on single-node data", async (t) => {
  const dir = await tempDir(t);
  const opened = await NodeStorage.open(dir, { unsafeNoFsync: true });
  const lease = (zxid: bigint, streamPos: bigint): Delta => ({
    zxid,
    timeMs: 1n,
    sessionId: 0n,
    ops: [],
    stamp: { origin: "root", shipSeq: zxid, streamPos, leases: [{ unit: "/a", owner: "eu", epoch: Number(zxid) }] },
  });
  for (const delta of [lease(1n, 1n), lease(2n, 2n)]) {
    await opened.storage.append(delta);
    opened.tree.apply(delta);
  }
  await opened.storage.takeSnapshot(opened.tree);
  const after = [lease(3n, 0n), lease(4n, 3n), { zxid: 5n, timeMs: 1n, sessionId: 0n, ops: [] }];
  for (const delta of after) {
    await opened.storage.append(delta);
    opened.tree.apply(delta);
  }
  await opened.storage.close();
  const reopened = await NodeStorage.open(dir, { unsafeNoFsync: true });
  assert.equal(reopened.report.recordsReplayed, 3);
  assert.deepEqual(reopened.replayedStampedDeltas, [after[0], after[1]]);
  assert.deepEqual(reopened.tree.replication.leases.get("/a"), { unit: "/a", owner: "eu", epoch: 4 });
  assert.equal(reopened.tree.replication.streamPos, 3n);
  assert.equal(reopened.tree.lastZxid, 5n);
  await reopened.storage.close();

  const single = await tempDir(t);
  const plain = await NodeStorage.open(single, { unsafeNoFsync: true });
  await writeCreates(plain, 5);
  await plain.storage.close();
  const plainReopened = await NodeStorage.open(single, { unsafeNoFsync: true });
  assert.equal(plainReopened.report.recordsReplayed, 5);
  assert.deepEqual(plainReopened.replayedStampedDeltas, []);
  await plainReopened.storage.close();
});
