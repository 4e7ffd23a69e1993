// The multi-region stamp on the data tree: applying a stamped delta moves
// the tree's ReplicationCursor (max per origin, max stream position, lease
// rows replaced by unit), lease events are stamped deltas with no ops, the
// cursor survives captureState/fromState, and deleteEphemerals removes a
// session's ephemerals in one region without closing the session.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CreateFlag, ErrorCode, EventType } from "../../src/protocol/codes.js";
import { TreeInvariantError } from "../../src/tree/assert.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { PendingTree } from "../../src/tree/pending.js";
import type { Delta, LeaseRecord, ReplicationCursor, ReplicationStamp } from "../../src/tree/types.js";
import { Harness, create, testOptions, treeImage } from "./tree-support.js";

function stamp(origin: string, shipSeq: bigint, streamPos: bigint, leases: LeaseRecord[] = []): ReplicationStamp {
  return { origin, shipSeq, streamPos, leases };
}

/** A lease event: a stamped delta with no ops. */
function leaseEvent(zxid: bigint, replication: ReplicationStamp): Delta {
  return { zxid, timeMs: 1n, sessionId: 0n, ops: [], stamp: replication };
}

/** The cursor as plain values, for deepEqual. */
function cursorImage(cursor: ReplicationCursor): unknown {
  return {
    streamPos: cursor.streamPos,
    applied: [...cursor.applied].sort(([a], [b]) => (a < b ? -1 : 1)),
    leases: [...cursor.leases.values()].sort((a, b) => (a.unit < b.unit ? -1 : 1)),
  };
}

test("a fresh tree has an empty cursor; unstamped deltas leave it alone", () => {
  const harness = new Harness();
  harness.ok(create("/a"));
  assert.deepEqual(cursorImage(harness.tree.replication), { streamPos: 0n, applied: [], leases: [] });
});

test("a stamped delta advances applied[origin] and the stream position", () => {
  const harness = new Harness();
  const outcome = harness.prepare(create("/a"));
  assert.ok(outcome.ok);
  harness.tree.apply({ ...outcome.delta, stamp: stamp("eu", 1n, 7n) });
  assert.equal(harness.tree.node("/a")?.version, 0, "the ops apply as usual");
  assert.deepEqual(cursorImage(harness.tree.replication), { streamPos: 7n, applied: [["eu", 1n]], leases: [] });
});

test("the cursor only moves forward: max per origin and max stream position", () => {
  const tree = new DataTree();
  tree.apply(leaseEvent(10n, stamp("eu", 5n, 20n)));
  tree.apply(leaseEvent(11n, stamp("us", 2n, 0n)));
  // A region's own delta echoed back by the stream, and a stream repeat after a reconnect.
  tree.apply(leaseEvent(12n, stamp("eu", 3n, 15n)));
  tree.apply(leaseEvent(13n, stamp("us", 2n, 21n)));
  assert.deepEqual(cursorImage(tree.replication), { streamPos: 21n, applied: [["eu", 5n], ["us", 2n]], leases: [] });
});

test("lease rows replace the row of their unit; other units keep theirs", () => {
  const tree = new DataTree();
  tree.apply(leaseEvent(1n, stamp("root", 1n, 1n, [{ unit: "/app/a", owner: "eu", epoch: 1 }, { unit: "/app/b", owner: "us", epoch: 1 }])));
  tree.apply(leaseEvent(2n, stamp("root", 2n, 2n, [{ unit: "/app/a", owner: "us", epoch: 2 }])));
  assert.deepEqual(cursorImage(tree.replication), {
    streamPos: 2n,
    applied: [["root", 2n]],
    leases: [
      { unit: "/app/a", owner: "us", epoch: 2 },
      { unit: "/app/b", owner: "us", epoch: 1 },
    ],
  });
});

test("the tree keeps its own copy of lease rows: changing the delta afterwards changes nothing", () => {
  const tree = new DataTree();
  const row: LeaseRecord = { unit: "/u", owner: "eu", epoch: 1 };
  tree.apply(leaseEvent(1n, stamp("root", 1n, 1n, [row])));
  row.owner = "us";
  assert.equal(tree.replication.leases.get("/u")?.owner, "eu");
});

test("a zero-op lease delta fires no events, changes no node, and still moves lastZxid by max", () => {
  const tree = new DataTree();
  const before = treeImage(tree);
  assert.deepEqual(tree.apply(leaseEvent(40n, stamp("root", 1n, 1n, [{ unit: "/x", owner: "eu", epoch: 1 }]))), []);
  assert.equal(tree.lastZxid, 40n);
  tree.apply(leaseEvent(30n, stamp("root", 2n, 2n)));
  assert.equal(tree.lastZxid, 40n, "lastZxid is the max, not the last");
  assert.deepEqual({ ...(treeImage(tree) as object), lastZxid: 0n }, before);
  tree.checkInvariants();
});

test("PendingTree: a staged zero-op delta commits and carries its stamp to the tree", () => {
  const pending = new PendingTree(new DataTree());
  pending.stage(leaseEvent(5n, stamp("root", 1n, 3n, [{ unit: "/u", owner: "eu", epoch: 4 }])));
  const outcome = pending.prepare(create("/a"), { sessionId: 0n, authIds: [], zxid: 6n, timeMs: 1n }, testOptions);
  assert.ok(outcome.ok);
  pending.stage({ ...outcome.delta, stamp: stamp("eu", 9n, 0n) });
  assert.deepEqual(pending.commitNext(), []);
  assert.deepEqual(cursorImage(pending.tree.replication), { streamPos: 3n, applied: [["root", 1n]], leases: [{ unit: "/u", owner: "eu", epoch: 4 }] });
  pending.commitNext();
  assert.deepEqual(cursorImage(pending.tree.replication), {
    streamPos: 3n,
    applied: [["eu", 9n], ["root", 1n]],
    leases: [{ unit: "/u", owner: "eu", epoch: 4 }],
  });
  assert.equal(pending.stagedCount, 0);
  assert.ok(pending.tree.node("/a") !== undefined);
});

test("captureState/fromState carries the cursor, sorted, and a fresh tree's state has an empty one", () => {
  const harness = new Harness();
  harness.openSession(7n);
  harness.ok(create("/e", { flags: CreateFlag.ephemeral }));
  harness.tree.apply(leaseEvent(harness.zxid + 1n, stamp("us", 4n, 9n, [{ unit: "/z", owner: "us", epoch: 3 }, { unit: "/a", owner: "eu", epoch: 1 }])));
  harness.tree.apply(leaseEvent(harness.zxid + 2n, stamp("eu", 2n, 10n)));
  const state = harness.tree.captureState();
  assert.deepEqual(state.replication, {
    streamPos: 10n,
    applied: [["eu", 2n], ["us", 4n]],
    leases: [{ unit: "/a", owner: "eu", epoch: 1 }, { unit: "/z", owner: "us", epoch: 3 }],
  });
  const rebuilt = DataTree.fromState(state);
  assert.deepEqual(cursorImage(rebuilt.replication), cursorImage(harness.tree.replication));
  assert.deepEqual(treeImage(rebuilt), treeImage(harness.tree));
  assert.deepEqual(new DataTree().captureState().replication, { streamPos: 0n, applied: [], leases: [] });
});

test("a captured cursor is a point-in-time image: later stamped deltas do not reach it", () => {
  const tree = new DataTree();
  tree.apply(leaseEvent(1n, stamp("eu", 1n, 1n, [{ unit: "/u", owner: "eu", epoch: 1 }])));
  const state = tree.captureState();
  tree.apply(leaseEvent(2n, stamp("eu", 2n, 2n, [{ unit: "/u", owner: "us", epoch: 2 }])));
  assert.deepEqual(state.replication, { streamPos: 1n, applied: [["eu", 1n]], leases: [{ unit: "/u", owner: "eu", epoch: 1 }] });
});

test("fromState refuses a cursor naming an origin or a unit twice", () => {
  const state = new DataTree().captureState();
  assert.throws(() => DataTree.fromState({ ...state, replication: { streamPos: 0n, applied: [["eu", 1n], ["eu", 2n]], leases: [] } }), TreeInvariantError);
  const row = { unit: "/u", owner: "eu", epoch: 1 };
  assert.throws(() => DataTree.fromState({ ...state, replication: { streamPos: 0n, applied: [], leases: [row, row] } }), TreeInvariantError);
});

/** Session 7 owns /e1 and /e2, session 9 owns /other; /p is persistent. */
function ephemeralsHarness(): Harness {
  const harness = new Harness();
  harness.openSession(9n);
  harness.ok(create("/other", { flags: CreateFlag.ephemeral }));
  harness.openSession(7n);
  harness.ok(create("/e1", { flags: CreateFlag.ephemeral }));
  harness.ok(create("/e2", { flags: CreateFlag.ephemeral }));
  harness.ok(create("/p"));
  harness.sessionId = 0n;
  return harness;
}

test("deleteEphemerals deletes the named ephemerals of the session, in order, once each", () => {
  const harness = ephemeralsHarness();
  const { outcome, events } = harness.ok({ op: "deleteEphemerals", sessionId: 7n, paths: ["/e2", "/e1", "/e2"] });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.result, { op: "deleteEphemerals" });
  assert.deepEqual(outcome.delta.ops, [{ type: "delete", path: "/e2" }, { type: "delete", path: "/e1" }]);
  assert.deepEqual(
    events.filter((event) => event.type === EventType.nodeDeleted).map((event) => event.path),
    ["/e2", "/e1"],
  );
  assert.deepEqual(harness.tree.ephemeralsOf(7n), []);
  harness.tree.checkInvariants();
});

test("deleteEphemerals skips missing nodes, other sessions' ephemerals and persistent nodes", () => {
  const harness = ephemeralsHarness();
  const { outcome } = harness.ok({ op: "deleteEphemerals", sessionId: 7n, paths: ["/gone", "/other", "/p", "/", "/e1", "bad path"] });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, [{ type: "delete", path: "/e1" }]);
  assert.deepEqual(harness.tree.ephemeralsOf(9n), ["/other"]);
  assert.ok(harness.tree.node("/p") !== undefined);
});

test("deleteEphemerals with nothing to delete succeeds with a delta of no ops", () => {
  const harness = ephemeralsHarness();
  const { outcome, events } = harness.ok({ op: "deleteEphemerals", sessionId: 7n, paths: ["/gone", "/other"] });
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, []);
  assert.deepEqual(events, []);
  // A session unknown here (it lives in another region) owns nothing here either.
  const unknown = harness.ok({ op: "deleteEphemerals", sessionId: 0x55n, paths: ["/e1"] });
  assert.ok(unknown.outcome.ok);
  assert.deepEqual(unknown.outcome.delta.ops, []);
});

test("deleteEphemerals refuses an id that is not a session's (it would match persistent, container or TTL nodes)", () => {
  const harness = ephemeralsHarness();
  assert.equal(harness.err({ op: "deleteEphemerals", sessionId: 0n, paths: ["/p"] }), ErrorCode.badArguments);
  assert.ok(harness.tree.node("/p") !== undefined);
});

test("deleteEphemerals keeps the session live; a later closeSession still works", () => {
  const harness = ephemeralsHarness();
  harness.ok({ op: "deleteEphemerals", sessionId: 7n, paths: ["/e1"] });
  assert.equal(harness.tree.sessionTimeoutMs(7n), 30_000);
  assert.equal(harness.err(create("/e3", { flags: CreateFlag.ephemeral }), { sessionId: 7n }), 0, "the session may still create ephemerals");
  const closed = harness.ok({ op: "closeSession", sessionId: 7n });
  assert.ok(closed.outcome.ok);
  assert.deepEqual(closed.outcome.delta.ops, [{ type: "delete", path: "/e2" }, { type: "closeSession", sessionId: 7n }]);
  assert.equal(harness.tree.sessionTimeoutMs(7n), undefined);
  harness.tree.checkInvariants();
});

test("deleteEphemerals sees staged deltas: an ephemeral created in flight is deleted, one deleted in flight is skipped", () => {
  const pending = new PendingTree(ephemeralsHarness().tree);
  const ctx = (zxid: bigint, sessionId: bigint) => ({ sessionId, authIds: [], zxid, timeMs: 1n });
  const created = pending.prepare(create("/e3", { flags: CreateFlag.ephemeral }), ctx(0x1000n, 7n), testOptions);
  assert.ok(created.ok);
  pending.stage(created.delta);
  const deleted = pending.prepare({ op: "delete", path: "/e1", version: -1 }, ctx(0x1001n, 7n), testOptions);
  assert.ok(deleted.ok);
  pending.stage(deleted.delta);
  const outcome = pending.prepare({ op: "deleteEphemerals", sessionId: 7n, paths: ["/e1", "/e3"] }, ctx(0x1002n, 0n), testOptions);
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.delta.ops, [{ type: "delete", path: "/e3" }]);
  pending.stage(outcome.delta);
  while (pending.stagedCount > 0) pending.commitNext();
  assert.deepEqual(pending.tree.ephemeralsOf(7n), ["/e2"]);
  pending.tree.checkInvariants();
});

test("deleteEphemerals is not accepted inside a multi", () => {
  const harness = ephemeralsHarness();
  assert.equal(harness.err({ op: "multi", ops: [{ op: "deleteEphemerals", sessionId: 7n, paths: ["/e1"] }] }), ErrorCode.badArguments);
});
