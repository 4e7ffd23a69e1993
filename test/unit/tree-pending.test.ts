import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, EventType } from "../../src/protocol/codes.js";
import { TreeInvariantError } from "../../src/tree/assert.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { PendingTree } from "../../src/tree/pending.js";
import type { PrepareOutcome, RequestContext, TreeEvent, WriteRequest } from "../../src/tree/types.js";
import { create, testOptions } from "./tree-support.js";

/** A PendingTree with a zxid counter: `submit` prepares and stages. */
class Pipeline {
  readonly pending = new PendingTree(new DataTree());
  zxid = 0x10n;

  submit(request: WriteRequest, sessionId = 0n): PrepareOutcome {
    const ctx: RequestContext = { sessionId, authIds: [], zxid: this.zxid + 1n, timeMs: 5000n };
    const outcome = this.pending.prepare(request, ctx, testOptions);
    if (outcome.ok) {
      this.zxid = ctx.zxid;
      this.pending.stage(outcome.delta);
    }
    return outcome;
  }

  err(request: WriteRequest, sessionId = 0n): number {
    const outcome = this.submit(request, sessionId);
    return outcome.ok ? 0 : outcome.err;
  }
}

test("pending: a prepare sees the deltas staged before it, though none is applied", () => {
  const pipeline = new Pipeline();
  assert.equal(pipeline.err(create("/a")), 0);
  assert.equal(pipeline.err(create("/a/b")), 0);
  assert.equal(pipeline.err(create("/a")), ErrorCode.nodeExists);
  const sequential = pipeline.submit(create("/a/n-", { flags: 2 }));
  assert.ok(sequential.ok && sequential.result.op === "create");
  assert.equal(sequential.result.path, "/a/n-0000000001");
  assert.equal(pipeline.pending.tree.node("/a"), undefined);
  assert.equal(pipeline.pending.stagedCount, 3);
});

test("pending: the applied tree, which reads use, changes only on commitNext", () => {
  const pipeline = new Pipeline();
  pipeline.submit(create("/a"));
  pipeline.submit({ op: "setData", path: "/a", data: null, version: 0 });
  assert.equal(pipeline.pending.tree.node("/a"), undefined);
  assert.equal(pipeline.pending.view.node("/a")?.version, 1);
  assert.deepEqual(typesAndPaths(pipeline.pending.commitNext()), [
    { type: EventType.nodeCreated, path: "/a" },
    { type: EventType.nodeChildrenChanged, path: "/" },
  ]);
  assert.equal(pipeline.pending.tree.node("/a")?.version, 0);
  assert.equal(pipeline.pending.view.node("/a")?.version, 1, "the staged setData still shows");
  assert.deepEqual(typesAndPaths(pipeline.pending.commitNext()), [{ type: EventType.nodeDataChanged, path: "/a" }]);
  assert.equal(pipeline.pending.tree.node("/a")?.version, 1);
  assert.equal(pipeline.pending.stagedCount, 0);
});

test("pending: commitNext applies the oldest staged delta first", () => {
  const pipeline = new Pipeline();
  pipeline.submit(create("/first"));
  pipeline.submit(create("/second"));
  assert.equal(pipeline.pending.oldestStaged()?.zxid, 0x11n);
  pipeline.pending.commitNext();
  assert.ok(pipeline.pending.tree.node("/first") !== undefined);
  assert.equal(pipeline.pending.tree.node("/second"), undefined);
  assert.equal(pipeline.pending.tree.lastZxid, 0x11n);
});

test("pending: commitNext with nothing staged is a bug", () => {
  assert.throws(() => new Pipeline().pending.commitNext(), TreeInvariantError);
});

test("pending: discardAll drops every staged delta and nothing of them is applied", () => {
  const pipeline = new Pipeline();
  pipeline.submit(create("/kept"));
  pipeline.pending.commitNext();
  pipeline.submit(create("/dropped"));
  pipeline.submit({ op: "delete", path: "/kept", version: -1 });
  assert.equal(pipeline.pending.discardAll().length, 2);
  assert.equal(pipeline.pending.stagedCount, 0);
  assert.equal(pipeline.pending.view.node("/dropped"), undefined);
  assert.ok(pipeline.pending.view.node("/kept") !== undefined);
  assert.equal(pipeline.err(create("/dropped")), 0);
});

test("pending: closeSession deletes ephemerals whose create is still staged", () => {
  const pipeline = new Pipeline();
  pipeline.submit({ op: "createSession", sessionId: 4n, timeoutMs: 1000 });
  pipeline.pending.commitNext();
  pipeline.submit(create("/applied", { flags: 1 }), 4n);
  pipeline.pending.commitNext();
  pipeline.submit(create("/staged", { flags: 1 }), 4n);
  pipeline.submit({ op: "delete", path: "/applied", version: -1 });
  const close = pipeline.submit({ op: "closeSession", sessionId: 4n });
  assert.ok(close.ok);
  assert.deepEqual(close.delta.ops, [
    { type: "delete", path: "/staged" },
    { type: "closeSession", sessionId: 4n },
  ]);
  while (pipeline.pending.stagedCount > 0) pipeline.pending.commitNext();
  assert.equal(pipeline.pending.tree.ephemeralCount, 0);
  pipeline.pending.tree.checkInvariants();
});

test("pending: closeSession deletes in path order whether the ephemerals are applied or staged", () => {
  const pipeline = new Pipeline();
  pipeline.submit({ op: "createSession", sessionId: 4n, timeoutMs: 1000 });
  pipeline.submit(create("/m", { flags: 1 }), 4n);
  pipeline.pending.commitNext();
  pipeline.pending.commitNext();
  pipeline.submit(create("/z", { flags: 1 }), 4n);
  pipeline.submit(create("/a", { flags: 1 }), 4n);
  const close = pipeline.submit({ op: "closeSession", sessionId: 4n });
  assert.ok(close.ok);
  assert.deepEqual(
    close.delta.ops.map((op) => ("path" in op ? op.path : op.type)),
    ["/a", "/m", "/z", "closeSession"],
  );
});

test("pending: an ephemeral create after a staged closeSession fails with SessionExpired", () => {
  const pipeline = new Pipeline();
  pipeline.submit({ op: "createSession", sessionId: 4n, timeoutMs: 1000 });
  pipeline.submit({ op: "closeSession", sessionId: 4n });
  assert.equal(pipeline.err(create("/late", { flags: 1 }), 4n), ErrorCode.sessionExpired);
});

test("pending: a failed multi leaves the staged state untouched", () => {
  const pipeline = new Pipeline();
  pipeline.submit(create("/a"));
  const outcome = pipeline.submit({ op: "multi", ops: [create("/a/x"), create("/a/y-", { flags: 2 }), create("/a")] });
  assert.ok(!outcome.ok);
  assert.equal(pipeline.pending.view.node("/a/x"), undefined);
  assert.equal(pipeline.pending.view.node("/a")?.cversion, 0);
  assert.equal(pipeline.pending.stagedCount, 1);
});

test("pending: staging a delta that does not fit the view is a bug", () => {
  const pipeline = new Pipeline();
  const outcome = pipeline.submit(create("/a"));
  assert.ok(outcome.ok);
  assert.throws(() => pipeline.pending.stage(outcome.delta), TreeInvariantError);
});

/** Events without their ACLs, for tests about which events fire. */
function typesAndPaths(events: readonly TreeEvent[]): Array<{ type: number; path: string }> {
  return events.map((event) => ({ type: event.type, path: event.path }));
}
