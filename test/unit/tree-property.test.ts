// Properties of prepare/apply over random write sequences:
// 1. Preparing through a PendingTree with several deltas in flight gives
//    the same outcomes, events and final tree as preparing and applying one
//    request at a time.
// 2. Every result decided at prepare time (create/setData/setACL stats,
//    multi sub-results included) equals the node's stat right after its op
//    is applied.
// fast-check prints the seed and the shrunk sequence of any failure.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Perm } from "../../src/protocol/codes.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { PendingTree } from "../../src/tree/pending.js";
import { prepare } from "../../src/tree/prepare.js";
import type { Acl, CreateKind, Delta, DeltaOp, MultiOpResult, OpResult, PrepareOutcome, RequestContext, TreeEvent, WriteRequest } from "../../src/tree/types.js";
import { open, testOptions, worldAcl } from "./tree-support.js";

const paths = ["/a", "/b", "/c", "/a/x", "/a/y", "/b/z", "/a/x/q", "/a/s-", "/b/s-"] as const;
const sessionIds = [1n, 2n, 3n] as const;
const alice = { scheme: "digest", id: "alice:hash" };

/** Picks from weighted constants: [value, weight] pairs. */
function weighted<T>(...choices: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
}

const pathArb = weighted<string>(["/a", 4], ["/b", 3], ["/c", 2], ...paths.slice(3).map((path): [string, number] => [path, 2]));
const versionArb = weighted([-1, 4], [0, 2], [1, 1], [2, 1]);
const dataArb = weighted<Buffer | null>([Buffer.from("d"), 4], [null, 1], [Buffer.alloc(0), 1], [Buffer.alloc(testOptions.dataBytesMax + 1), 1]);
const aclArb = weighted<readonly Acl[]>(
  [open, 6],
  [worldAcl(Perm.read | Perm.create), 1],
  [[{ perms: Perm.all, id: alice }], 1],
  [[], 1],
  [[{ perms: Perm.all, id: { scheme: "auth", id: "" } }], 1],
);

function createShape(kind: fc.Arbitrary<CreateKind>, flags: fc.Arbitrary<number>, ttl: fc.Arbitrary<bigint>): fc.Arbitrary<WriteRequest> {
  return fc.record({ op: fc.constant("create" as const), kind, path: pathArb, data: dataArb, acl: aclArb, flags, ttl });
}

const createArb: fc.Arbitrary<WriteRequest> = fc.oneof(
  { arbitrary: createShape(fc.constantFrom<CreateKind>("create", "create2"), weighted([0, 4], [1, 3], [2, 1], [3, 2]), fc.constant(-1n)), weight: 8 },
  { arbitrary: createShape(fc.constant<CreateKind>("createContainer"), fc.constant(4), fc.constant(-1n)), weight: 2 },
  { arbitrary: createShape(fc.constant<CreateKind>("createTTL"), fc.constantFrom(5, 6), fc.constantFrom(50n, 400n)), weight: 2 },
  {
    arbitrary: createShape(
      fc.constantFrom<CreateKind>("create", "create2", "createContainer", "createTTL"),
      fc.integer({ min: -1, max: 7 }),
      fc.constantFrom(-1n, 0n, 50n),
    ),
    weight: 1,
  },
);

const multiSubOpArb: fc.Arbitrary<WriteRequest> = fc.oneof(
  createArb,
  fc.record({ op: fc.constant("delete" as const), path: pathArb, version: versionArb }),
  fc.record({ op: fc.constant("setData" as const), path: pathArb, data: dataArb, version: versionArb }),
  fc.record({ op: fc.constant("check" as const), path: pathArb, version: versionArb }),
);

const requestArb: fc.Arbitrary<WriteRequest> = fc.oneof(
  { arbitrary: createArb, weight: 8 },
  { arbitrary: fc.record({ op: fc.constant("delete" as const), path: pathArb, version: versionArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("setData" as const), path: pathArb, data: dataArb, version: versionArb }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("setACL" as const), path: pathArb, acl: aclArb, version: versionArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("check" as const), path: pathArb, version: versionArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("multi" as const), ops: fc.array(multiSubOpArb, { maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("deleteContainer" as const), path: pathArb }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant("createSession" as const), sessionId: fc.constantFrom(...sessionIds), timeoutMs: fc.constant(1000) }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("closeSession" as const), sessionId: fc.constantFrom(...sessionIds) }), weight: 1 },
);

interface Step {
  request: WriteRequest;
  sessionId: bigint;
  withAlice: boolean;
  advanceMs: bigint;
  /** How many staged deltas the pipelined run commits after this step. */
  commits: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  request: requestArb,
  sessionId: weighted<bigint>([0n, 2], [1n, 3], [2n, 2], [3n, 1]),
  withAlice: fc.boolean(),
  advanceMs: fc.constantFrom(0n, 10n, 300n),
  // Mostly 0, so that several deltas are usually in flight.
  commits: weighted([0, 6], [1, 2], [2, 1], [4, 1]),
});

/** Every sequence starts with sessions 1 and 2 open, so ephemerals are common. */
const stepsArb = (maxLength: number): fc.Arbitrary<Step[]> =>
  fc.array(stepArb, { minLength: 1, maxLength, size: "max" }).map((steps) => [
    ...sessionIds.slice(0, 2).map((sessionId): Step => ({
      request: { op: "createSession", sessionId, timeoutMs: 1000 },
      sessionId: 0n,
      withAlice: false,
      advanceMs: 0n,
      commits: 0,
    })),
    ...steps,
  ]);

interface Run {
  tree: DataTree;
  outcomes: PrepareOutcome[];
  events: TreeEvent[];
}

function contextFor(step: Step, zxid: bigint, timeMs: bigint): RequestContext {
  return { sessionId: step.sessionId, authIds: step.withAlice ? [alice] : [], zxid, timeMs };
}

/** Reference: prepare against the applied tree, apply at once, op by op. */
function runOneAtATime(steps: readonly Step[]): Run {
  const tree = new DataTree();
  const run: Run = { tree, outcomes: [], events: [] };
  let zxid = 1n;
  let timeMs = 0n;
  for (const step of steps) {
    timeMs += step.advanceMs;
    const outcome = prepare(tree, step.request, contextFor(step, zxid, timeMs), testOptions);
    run.outcomes.push(outcome);
    if (!outcome.ok) continue;
    zxid++;
    run.events.push(...applyCheckingResults(tree, outcome.delta, outcome.result));
    tree.checkInvariants();
  }
  return run;
}

/** Applies the delta one op at a time, checking each decided stat right after its op. */
function applyCheckingResults(tree: DataTree, delta: Delta, result: OpResult): TreeEvent[] {
  const events: TreeEvent[] = [];
  const applyOne = (op: DeltaOp | undefined): void => {
    assert.ok(op !== undefined, "a result without its delta op");
    events.push(...tree.apply({ ...delta, ops: [op] }));
  };
  const results: readonly (OpResult | MultiOpResult)[] = result.op === "multi" ? result.results : [result];
  const ops = [...delta.ops];
  if (result.op === "closeSession") {
    for (const op of ops) applyOne(op);
    return events;
  }
  for (const sub of results) {
    if (sub.op === "check" || sub.op === "error" || sub.op === "createSession") {
      if (sub.op === "createSession") applyOne(ops.shift());
      continue;
    }
    const op = ops.shift();
    applyOne(op);
    if (sub.op === "create") assert.deepEqual(sub.stat, tree.statOf(sub.path), `create ${sub.path}`);
    if ((sub.op === "setData" || sub.op === "setACL") && op !== undefined && "path" in op) {
      assert.deepEqual(sub.stat, tree.statOf(op.path), `${sub.op} ${op.path}`);
    }
  }
  assert.equal(ops.length, 0, "delta ops without results");
  // A delta may have no ops at all (check only, empty multi); its zxid still counts.
  events.push(...tree.apply({ ...delta, ops: [] }));
  return events;
}

/** Pipelined: prepare and stage through a PendingTree, commit later. */
function runPipelined(steps: readonly Step[]): Run {
  const pending = new PendingTree(new DataTree());
  const run: Run = { tree: pending.tree, outcomes: [], events: [] };
  let zxid = 1n;
  let timeMs = 0n;
  for (const step of steps) {
    timeMs += step.advanceMs;
    const outcome = pending.prepare(step.request, contextFor(step, zxid, timeMs), testOptions);
    run.outcomes.push(outcome);
    if (outcome.ok) {
      zxid++;
      pending.stage(outcome.delta);
    }
    for (let commit = 0; commit < step.commits && pending.stagedCount > 0; commit++) run.events.push(...pending.commitNext());
  }
  while (pending.stagedCount > 0) run.events.push(...pending.commitNext());
  pending.tree.checkInvariants();
  return run;
}

function describeTree(tree: DataTree): unknown {
  return {
    nodes: [...tree.paths()].map((path) => ({ path, node: tree.node(path), children: tree.childrenOf(path) })),
    sessions: [...tree.sessions()],
    ephemerals: [...tree.ephemeralsBySession()].map(([id, set]) => [id, [...set]]),
    containers: [...tree.containerPaths()],
    ttls: [...tree.ttlPaths()],
    nodeCount: tree.nodeCount,
    approximateDataSize: tree.approximateDataSize,
    lastZxid: tree.lastZxid,
  };
}

test("property: several deltas in flight give the same outcomes, events and tree as one at a time", () => {
  fc.assert(
    fc.property(stepsArb(60), (steps) => {
      const reference = runOneAtATime(steps);
      const pipelined = runPipelined(steps);
      assert.deepEqual(pipelined.outcomes, reference.outcomes);
      assert.deepEqual(pipelined.events, reference.events);
      assert.deepEqual(describeTree(pipelined.tree), describeTree(reference.tree));
    }),
    { numRuns: 500 },
  );
});

test("property: the random sequences do exercise successes of every kind", () => {
  // Guards the generator: a property that only ever sees failures proves nothing.
  const seen = new Set<string>();
  fc.assert(
    fc.property(stepsArb(40), (steps) => {
      for (const outcome of runOneAtATime(steps).outcomes) {
        if (outcome.ok) seen.add(outcome.result.op);
      }
    }),
    { numRuns: 100, seed: 42 },
  );
  for (const op of ["create", "delete", "setData", "setACL", "check", "multi", "deleteContainer", "createSession", "closeSession"]) {
    assert.ok(seen.has(op), `no successful ${op}`);
  }
});
