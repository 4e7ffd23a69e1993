// The simulator's history checkers: linearizability of each unit's writes
// and synced reads against the znode model, and the per-session
// guarantees of design §6 (FIFO, monotonic reads, read-your-writes).

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ZnodeError } from "../../src/sim/history.js";
import type { HistoryOp, ZnodeCall, ZnodeResult } from "../../src/sim/history.js";
import { checkLinearizable } from "../../src/sim/linearizability.js";
import type { CheckedOp, Model } from "../../src/sim/linearizability.js";
import { checkZnodeHistory, znodeModel } from "../../src/sim/znode-model.js";
import type { ZnodeState } from "../../src/sim/znode-model.js";
import { checkFifoOrder, checkMonotonicReads, checkReadYourWrites, checkSessions } from "../../src/sim/session-checks.js";

const unitRoot = "/u";
const options = { initialZnodes: () => [unitRoot] };

let nextId = 1;
/** One op on unit "u"; complete null = never answered. */
function op(session: string, invokeMs: number, completeMs: number | null, call: ZnodeCall, result: ZnodeResult | null): HistoryOp {
  return { id: nextId++, session, region: "r1", invokeMs, completeMs, unit: "u", call, result };
}

const create = (path: string, data = "", sequential = false): ZnodeCall => ({ op: "create", path, data, sequential });
const set = (path: string, data: string, version = -1): ZnodeCall => ({ op: "setData", path, data, version });
const del = (path: string, version = -1): ZnodeCall => ({ op: "delete", path, version });
const get = (path: string, synced = true): ZnodeCall => ({ op: "getData", path, synced });
const children = (path: string, synced = true): ZnodeCall => ({ op: "getChildren", path, synced });
const created = (path: string): ZnodeResult => ({ ok: true, path });
const written = (version: number): ZnodeResult => ({ ok: true, version });
const read = (data: string, version: number): ZnodeResult => ({ ok: true, data, version });
const listed = (...names: string[]): ZnodeResult => ({ ok: true, children: names });
const ok: ZnodeResult = { ok: true };
const noNode: ZnodeResult = { ok: false, err: ZnodeError.noNode };

function verdict(history: HistoryOp[]) {
  return checkZnodeHistory(history, options);
}

describe("znode model answers as ZooKeeper does", () => {
  const model = znodeModel([unitRoot]);
  const run = (calls: ZnodeCall[]): ZnodeResult[] => {
    let state: ZnodeState = model.init();
    return calls.map((call) => {
      const next = model.step(state, call);
      state = next.state;
      return next.result;
    });
  };

  test("sequential names use the parent's creation count, which deletions do not lower", () => {
    const results = run([create("/u/l-", "", true), del("/u/l-0000000000"), create("/u/l-", "", true), create("/u/a"), create("/u/l-", "", true)]);
    assert.deepEqual(results, [created("/u/l-0000000000"), ok, created("/u/l-0000000001"), created("/u/a"), created("/u/l-0000000003")]);
  });

  test("create fails NodeExists on an existing path and NoNode without a parent", () => {
    assert.deepEqual(run([create("/u/a"), create("/u/a"), create("/u/b/c")]), [created("/u/a"), { ok: false, err: ZnodeError.nodeExists }, noNode]);
  });

  test("delete checks NoNode, then BadVersion, then NotEmpty", () => {
    const results = run([del("/u/a"), create("/u/a"), create("/u/a/x"), del("/u/a", 3), del("/u/a", 0), del("/u/a/x"), del("/u/a", 0)]);
    assert.deepEqual(results, [noNode, created("/u/a"), created("/u/a/x"), { ok: false, err: ZnodeError.badVersion }, { ok: false, err: ZnodeError.notEmpty }, ok, ok]);
  });

  test("setData bumps the version and checks it; reads return data, version and sorted child names", () => {
    const results = run([set("/u/a", "x"), create("/u/b", "b0"), create("/u/a", "a0"), set("/u/a", "a1", 0), set("/u/a", "a2", 0), get("/u/a"), children("/u")]);
    assert.deepEqual(results, [noNode, created("/u/b"), created("/u/a"), written(1), { ok: false, err: ZnodeError.badVersion }, read("a1", 1), listed("a", "b")]);
  });

  test("initial znodes: cversion counts initial children unless given", () => {
    const counted = znodeModel(["/u", "/u/locks", "/u/x"]);
    assert.deepEqual(counted.step(counted.init(), create("/u/s-", "", true)).result, created("/u/s-0000000002"));
    const given = znodeModel([{ path: "/u", data: "root", cversion: 7 }]);
    assert.deepEqual(given.step(given.init(), create("/u/s-", "", true)).result, created("/u/s-0000000007"));
    assert.deepEqual(given.step(given.init(), get("/u")).result, read("root", 0));
  });
});

describe("linearizability: hand-written histories", () => {
  test("a sequential history of several sessions is accepted", () => {
    const history = [
      op("s1", 0, 10, create("/u/a", "a0"), created("/u/a")),
      op("s2", 20, 30, set("/u/a", "a1", 0), written(1)),
      op("s1", 40, 50, get("/u/a"), read("a1", 1)),
      op("s3", 60, 70, children("/u"), listed("a")),
    ];
    assert.deepEqual(verdict(history), { ok: true });
  });

  test("a lost write is rejected, naming the read and the write it missed", () => {
    const history = [op("s1", 0, 10, create("/u/a", "a0"), created("/u/a")), op("s1", 20, 30, set("/u/a", "a1"), written(1))];
    const stale = op("s2", 40, 50, get("/u/a"), read("a0", 0));
    const result = verdict([...history, stale]);
    assert.equal(result.ok, false);
    assert.ok(result.ok === false && result.opIds.includes(stale.id) && result.opIds.includes(history[1]!.id), JSON.stringify(result));
    assert.equal(result.ok === false && result.unit, "u");
  });

  test("a stale synced read is rejected; the same read unsynced is not a linearizability matter", () => {
    const writes = [op("s1", 0, 10, create("/u/a", "a0"), created("/u/a")), op("s1", 20, 30, set("/u/a", "a1"), written(1))];
    assert.equal(verdict([...writes, op("s2", 40, 50, get("/u/a", true), read("a0", 0))]).ok, false);
    assert.equal(verdict([...writes, op("s2", 40, 50, get("/u/a", false), read("a0", 0))]).ok, true);
    assert.equal(verdict([...writes, op("s2", 40, 50, children("/u", true), listed())]).ok, false);
  });

  test("two sequential creates given the same name are rejected, even when concurrent", () => {
    const history = [op("s1", 0, 20, create("/u/l-", "", true), created("/u/l-0000000000")), op("s2", 5, 25, create("/u/l-", "", true), created("/u/l-0000000000"))];
    assert.equal(verdict(history).ok, false);
    const distinct = [op("s1", 0, 20, create("/u/l-", "", true), created("/u/l-0000000001")), op("s2", 5, 25, create("/u/l-", "", true), created("/u/l-0000000000"))];
    assert.deepEqual(verdict(distinct), { ok: true });
  });

  test("two creates of one path both succeeding are rejected", () => {
    const history = [op("s1", 0, 20, create("/u/a"), created("/u/a")), op("s2", 5, 25, create("/u/a"), created("/u/a"))];
    assert.equal(verdict(history).ok, false);
  });

  test("a write seen and then unseen is rejected, though either read alone is fine", () => {
    const base = [op("s1", 0, 5, create("/u/a", "a0"), created("/u/a")), op("s1", 10, 100, set("/u/a", "a1"), written(1))];
    const seen = op("s2", 20, 30, get("/u/a"), read("a1", 1));
    const unseen = op("s3", 40, 50, get("/u/a"), read("a0", 0));
    assert.equal(verdict([...base, seen, unseen]).ok, false);
    assert.equal(verdict([...base, seen]).ok, true);
    assert.equal(verdict([...base, unseen]).ok, true);
  });

  test("concurrent writes are accepted in either order, and a read must agree with the order their versions tell", () => {
    for (const [first, second] of [[1, 2], [2, 1]] as const) {
      const a = op("s1", 10, 40, set("/u/a", "A"), written(first));
      const b = op("s2", 15, 45, set("/u/a", "B"), written(second));
      const start = op("s1", 0, 5, create("/u/a"), created("/u/a"));
      const last = first === 2 ? "A" : "B";
      assert.deepEqual(verdict([start, a, b, op("s3", 50, 60, get("/u/a"), read(last, 2))]), { ok: true });
      assert.equal(verdict([start, a, b, op("s3", 50, 60, get("/u/a"), read(last === "A" ? "B" : "A", 2))]).ok, false);
    }
  });

  test("an unanswered write may have taken effect, late, or never", () => {
    const start = op("s1", 0, 5, create("/u/a", "a0"), created("/u/a"));
    const lost = op("s1", 10, null, set("/u/a", "a1"), null);
    assert.equal(verdict([start, lost, op("s2", 20, 30, get("/u/a"), read("a1", 1))]).ok, true);
    assert.equal(verdict([start, lost, op("s2", 20, 30, get("/u/a"), read("a0", 0))]).ok, true);
    const late = [op("s2", 20, 30, get("/u/a"), read("a0", 0)), op("s2", 500, 510, get("/u/a"), read("a1", 1))];
    assert.equal(verdict([start, lost, ...late]).ok, true);
  });

  test("an unanswered write cannot take effect before it was issued, nor twice", () => {
    const start = op("s1", 0, 5, create("/u/a", "a0"), created("/u/a"));
    const early = op("s2", 10, 20, get("/u/a"), read("a1", 1));
    assert.equal(verdict([start, early, op("s1", 30, null, set("/u/a", "a1"), null)]).ok, false);
    const once = op("s1", 10, null, set("/u/a", "a1"), null);
    assert.equal(verdict([start, once, op("s2", 20, 30, get("/u/a"), read("a1", 2))]).ok, false);
  });

  test("an unanswered write with a deadline cannot take effect after it", () => {
    const start = op("s1", 0, 5, create("/u/a", "a0"), created("/u/a"));
    const lost = { ...op("s1", 10, null, set("/u/a", "a1"), null), effectDeadlineMs: 100 };
    assert.equal(verdict([start, lost, op("s2", 90, 95, get("/u/a"), read("a1", 1))]).ok, true);
    assert.equal(verdict([start, lost, op("s2", 150, 160, get("/u/a"), read("a0", 0))]).ok, true);
    assert.equal(verdict([start, lost, op("s2", 150, 160, get("/u/a"), read("a0", 0)), op("s2", 200, 210, get("/u/a"), read("a1", 1))]).ok, false);
  });

  test("a ConnectionLoss answer (completed, result unknown) may still take effect afterwards", () => {
    const start = op("s1", 0, 5, create("/u/a", "a0"), created("/u/a"));
    const connectionLoss = op("s1", 10, 20, set("/u/a", "a1"), null);
    const history = [start, connectionLoss, op("s2", 30, 40, get("/u/a"), read("a0", 0)), op("s2", 50, 60, get("/u/a"), read("a1", 1))];
    assert.deepEqual(verdict(history), { ok: true });
  });

  test("an unanswered sequential create shows in the next sequence number", () => {
    const history = [
      op("s1", 0, null, create("/u/l-", "", true), null),
      op("s2", 10, 20, create("/u/l-", "", true), created("/u/l-0000000001")),
      op("s2", 30, 40, children("/u"), listed("l-0000000000", "l-0000000001")),
    ];
    assert.deepEqual(verdict(history), { ok: true });
    const skipped = [history[0]!, history[1]!, op("s2", 30, 40, children("/u"), listed("l-0000000001"))];
    assert.equal(verdict(skipped).ok, false);
  });

  test("units are checked apart, and the failing unit is named", () => {
    const other = (history: HistoryOp): HistoryOp => ({ ...history, unit: "w" });
    const good = [op("s1", 0, 10, create("/u/a"), created("/u/a"))];
    const bad = [op("s1", 0, 10, create("/u/a"), created("/u/a")), op("s2", 20, 30, get("/u/a"), noNode)].map(other);
    const result = verdict([...good, ...bad]);
    assert.equal(result.ok === false && result.unit, "w");
  });

  test("the search bound gives up with 'unknown' rather than running on", () => {
    const history = [op("s0", 0, 5, create("/u/a", "v"), created("/u/a"))];
    for (let i = 0; i < 12; i += 1) history.push(op(`s${i}`, 10, 100, set("/u/a", `v${i}`), written(12 - i)));
    const result = checkZnodeHistory(history, { ...options, stepsMax: 50 });
    assert.equal(result.ok, "unknown");
    assert.deepEqual(checkZnodeHistory(history, options), { ok: true });
  });

  test("malformed histories are bugs of the recorder, not verdicts", () => {
    assert.throws(() => verdict([op("s1", 10, 5, create("/u/a"), created("/u/a"))]), /completes before/);
    assert.throws(() => verdict([op("s1", 10, null, create("/u/a"), created("/u/a"))]), /no completion time/);
  });
});

// Random histories: a random call sequence run through the model gives the
// true answers; times are placed around each op's linearization point.

const pathArb = fc.constantFrom("/u/a", "/u/b", "/u/a/x");
const callArb: fc.Arbitrary<ZnodeCall> = fc.oneof(
  fc.record({ op: fc.constant("create" as const), path: fc.constantFrom("/u/a", "/u/b", "/u/a/x", "/u/s-", "/u/a/s-"), data: fc.constantFrom("", "d"), sequential: fc.boolean() }),
  fc.record({ op: fc.constant("setData" as const), path: pathArb, data: fc.constantFrom("p", "q"), version: fc.constantFrom(-1, 0, 1, 2) }),
  fc.record({ op: fc.constant("delete" as const), path: pathArb, version: fc.constantFrom(-1, -1, 0, 1) }),
  fc.record({ op: fc.constant("getData" as const), path: pathArb, synced: fc.constant(true) }),
  fc.record({ op: fc.constant("getChildren" as const), path: fc.constantFrom("/u", "/u/a"), synced: fc.constant(true) }),
);

interface Placement {
  call: ZnodeCall;
  before: number;
  after: number;
  /** "known": answered; "applied"/"dropped": unknown outcome that did / did not take effect. */
  fate: "known" | "applied" | "dropped";
}

const placementArb = (spreadMs: number, unknowns: boolean): fc.Arbitrary<Placement> =>
  fc.record({
    call: callArb,
    before: fc.integer({ min: 0, max: spreadMs }),
    after: fc.integer({ min: 0, max: spreadMs }),
    fate: unknowns ? fc.constantFrom<Placement["fate"]>("known", "known", "known", "known", "applied", "dropped") : fc.constant<Placement["fate"]>("known"),
  });

/** Op i takes effect at 10 i + 5, inside [invoke, complete]: linearizable by construction. */
function historyFrom(placements: readonly Placement[]): HistoryOp[] {
  const model = znodeModel([unitRoot]);
  let state = model.init();
  return placements.map((placement, index) => {
    const pointMs = 10 * index + 5;
    const invokeMs = pointMs - placement.before;
    if (placement.fate === "dropped") return { id: index, session: `s${index % 3}`, region: "r1", invokeMs, completeMs: null, unit: "u", call: placement.call, result: null };
    const next = model.step(state, placement.call);
    state = next.state;
    const result = placement.fate === "applied" ? null : next.result;
    return { id: index, session: `s${index % 3}`, region: "r1", invokeMs, completeMs: pointMs + placement.after, unit: "u", call: placement.call, result };
  });
}

function flipped(result: ZnodeResult, how: number): ZnodeResult {
  if (!result.ok) return result.err === ZnodeError.noNode ? { ok: false, err: ZnodeError.nodeExists } : noNode;
  if (how === 0 || (result.version === undefined && result.path === undefined && result.children === undefined)) return { ok: false, err: ZnodeError.badVersion };
  if (result.version !== undefined) return { ...result, version: result.version + 1 };
  if (result.path !== undefined) return { ...result, path: `${result.path}0` };
  return { ...result, children: [...(result.children ?? []), "zz"] };
}

describe("linearizability: properties", () => {
  test("a sequential history produced by the model is accepted", () => {
    fc.assert(fc.property(fc.array(placementArb(4, false), { maxLength: 60 }), (placements) => verdict(historyFrom(placements)).ok === true), { numRuns: 300 });
  });

  test("changing one answer of a sequential history gets it rejected", () => {
    const arb = fc.tuple(fc.array(placementArb(4, false), { minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 0, max: 1 }));
    fc.assert(
      fc.property(arb, ([placements, pick, how]) => {
        const history = historyFrom(placements);
        const index = pick % history.length;
        const victim = history[index]!;
        history[index] = { ...victim, result: flipped(victim.result!, how) };
        return verdict(history).ok === false;
      }),
      { numRuns: 300 },
    );
  });

  test("overlapping ops and unknown outcomes around true linearization points are accepted", () => {
    fc.assert(fc.property(fc.array(placementArb(25, true), { maxLength: 40 }), (placements) => verdict(historyFrom(placements)).ok === true), { numRuns: 200 });
  });

  test("the checker agrees with a brute-force search over all orders on small concurrent histories", () => {
    const arb = fc.tuple(fc.array(placementArb(25, true), { minLength: 1, maxLength: 7 }), fc.array(fc.nat(), { minLength: 7, maxLength: 7 }));
    fc.assert(
      fc.property(arb, ([placements, noise]) => {
        const history = historyFrom(placements).map((entry, index) => {
          const flip = noise[index]! % 5;
          return entry.result === null || flip > 1 ? entry : { ...entry, result: flipped(entry.result, flip) };
        });
        const ops = history.filter((entry) => !(entry.call.op.startsWith("get") && entry.result === null));
        const model = znodeModel([unitRoot]);
        return (checkLinearizable(model, ops).ok === true) === bruteForce(model, ops);
      }),
      { numRuns: 400 },
    );
  });
});

/** Tries every order consistent with real time; unknown ops may be left out. */
function bruteForce<State, Call, Result>(model: Model<State, Call, Result>, ops: readonly CheckedOp<Call, Result>[]): boolean {
  const completion = (entry: CheckedOp<Call, Result>): number => (entry.result === null ? Infinity : entry.completeMs!);
  const search = (state: State, remaining: readonly CheckedOp<Call, Result>[]): boolean => {
    if (remaining.every((entry) => entry.result === null)) return true;
    return remaining.some((candidate) => {
      if (remaining.some((other) => completion(other) < candidate.invokeMs)) return false;
      const next = model.step(state, candidate.call);
      if (candidate.result !== null && !model.equal(next.result, candidate.result)) return false;
      return search(next.state, remaining.filter((entry) => entry !== candidate));
    });
  };
  return search(model.init(), ops);
}

describe("linearizability: effort", () => {
  // Effort is bounded by the checker's step limit, not by the clock: a search that hits the
  // bound answers "unknown", which this test refuses (speed is for benchmarks, not unit tests).
  test("a few hundred mostly sequential ops per unit with some overlap and unknowns check within the step bound", () => {
    const placements: Placement[] = [];
    const calls = fc.sample(callArb, { numRuns: 400, seed: 42 });
    calls.forEach((call, index) => placements.push({ call, before: index % 7 === 0 ? 14 : 3, after: index % 5 === 0 ? 12 : 3, fate: index % 41 === 0 ? "applied" : index % 43 === 0 ? "dropped" : "known" }));
    const history = [...historyFrom(placements), ...historyFrom(placements).map((entry) => ({ ...entry, id: entry.id + 1000, unit: "w" }))];
    assert.deepEqual(verdict(history), { ok: true });
  });
});

describe("session checks", () => {
  test("FIFO: an op completing before an op its session issued earlier is flagged; other sessions are free", () => {
    const first = op("s1", 0, 50, set("/u/a", "x"), written(1));
    const second = op("s1", 10, 30, get("/u/a", false), read("x", 1));
    const violations = checkFifoOrder([first, second]);
    assert.equal(violations.length, 1);
    assert.deepEqual(violations[0]!.opIds, [first.id, second.id]);
    assert.equal(violations[0]!.kind, "fifo");
    assert.deepEqual(checkFifoOrder([first, { ...second, session: "s2" }]), []);
    assert.deepEqual(checkFifoOrder([first, { ...second, completeMs: 50 }, op("s1", 20, null, get("/u/a"), null)]), []);
  });

  test("monotonic reads: a lower version, NoNode, or a missing child after seeing it is flagged", () => {
    const seen = op("s1", 0, 10, get("/u/a", false), read("x", 3));
    const older = op("s1", 20, 30, get("/u/a", false), read("w", 2));
    const gone = op("s1", 40, 50, get("/u/a", false), noNode);
    const missing = op("s1", 60, 70, children("/u", false), listed("b"));
    const violations = checkMonotonicReads([seen, older, gone, missing]);
    assert.deepEqual(violations.map((violation) => violation.opIds), [[seen.id, older.id], [seen.id, gone.id], [seen.id, missing.id]]);
    assert.ok(violations.every((violation) => violation.kind === "monotonic-reads" && violation.message.length > 0));
  });

  test("monotonic reads: other sessions, newer versions and paths that may have been deleted are not flagged", () => {
    const seen = op("s1", 0, 10, get("/u/a", false), read("x", 3));
    assert.deepEqual(checkMonotonicReads([seen, op("s2", 20, 30, get("/u/a", false), read("w", 2))]), []);
    assert.deepEqual(checkMonotonicReads([seen, op("s1", 20, 30, get("/u/a", false), read("y", 4))]), []);
    const deletion = op("s2", 12, null, del("/u/a"), null);
    assert.deepEqual(checkMonotonicReads([seen, deletion, op("s1", 20, 30, get("/u/a", false), read("w", 0))]), []);
    const childSeen = op("s1", 0, 10, children("/u", false), listed("a"));
    assert.equal(checkMonotonicReads([childSeen, op("s1", 20, 30, get("/u/a", false), noNode)]).length, 1);
  });

  test("read-your-writes: a read older than the session's own setData or create is flagged", () => {
    const write = op("s1", 0, 10, set("/u/a", "x"), written(2));
    const stale = op("s1", 20, 30, get("/u/a", false), read("w", 1));
    assert.deepEqual(checkReadYourWrites([write, stale]).map((violation) => [violation.kind, violation.opIds]), [["read-your-writes", [write.id, stale.id]]]);
    assert.deepEqual(checkReadYourWrites([write, { ...stale, session: "s2" }]), []);
    const made = op("s1", 0, 10, create("/u/l-", "", true), created("/u/l-0000000004"));
    assert.equal(checkReadYourWrites([made, op("s1", 20, 30, children("/u", false), listed())]).length, 1);
    assert.equal(checkReadYourWrites([made, op("s1", 20, 30, get("/u/l-0000000004", false), noNode)]).length, 1);
    assert.deepEqual(checkReadYourWrites([made, op("s1", 20, 30, children("/u", false), listed("l-0000000004"))]), []);
  });

  test("read-your-writes: a pipelined read issued after the write, before its answer, must see it too", () => {
    const write = op("s1", 0, 30, set("/u/a", "x"), written(2));
    const stale = op("s1", 5, 31, get("/u/a", false), read("w", 1));
    assert.equal(checkReadYourWrites([write, stale]).length, 1);
    assert.equal(checkReadYourWrites([write, op("s1", 40, 45, del("/u/a"), ok), stale]).length, 0);
  });

  test("checkSessions runs all three", () => {
    const write = op("s1", 0, 50, set("/u/a", "x"), written(2));
    const stale = op("s1", 5, 20, get("/u/a", false), read("w", 1));
    assert.deepEqual(checkSessions([write, stale]).map((violation) => violation.kind).sort(), ["fifo", "read-your-writes"]);
  });
});
