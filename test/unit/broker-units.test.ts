// Lease units (design section 2), one test per rule, each named after the
// sentence of the design it checks; then a property over random trees and
// random rule sets tying unitOfNode to unitOfChildren.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Durability, LeaseRootRule } from "../../src/broker/settings.js";
import { UnitMap, rootUnit } from "../../src/broker/units.js";
import { childPath, parentOf } from "../../src/tree/paths.js";
import type { Acl, Delta, DeltaOp, WriteRequest } from "../../src/tree/types.js";

const openAcl: Acl[] = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];

function rule(pattern: string, home: string | null = null, durability: Durability = "region"): LeaseRootRule {
  return { pattern, home, durability, policy: { name: "static" } };
}

/** `/app/*` makes every child of /app a unit; /app/x/deep is an exact nested lease root; /cfg an exact one. */
const units = new UnitMap([rule("/app/*", "r1"), rule("/app/x/deep", "r2", "global"), rule("/cfg")]);

function create(path: string, flags = 0): WriteRequest {
  return { op: "create", kind: "create", path, data: null, acl: openAcl, flags, ttl: -1n };
}

const sequentialFlag = 2;

function unitsOf(request: WriteRequest, map: UnitMap = units): string[] {
  return [...map.unitsOfRequest(request).units].sort();
}

function delta(...ops: DeltaOp[]): Delta {
  return { zxid: 1n, timeMs: 0n, sessionId: 0n, ops };
}

test("units: a unit is named by its lease root, exact ('/cfg') or every child of a pattern ('/app/*')", () => {
  assert.equal(units.isLeaseRoot("/cfg"), true);
  assert.equal(units.isLeaseRoot("/app/a"), true);
  assert.equal(units.isLeaseRoot("/app/x"), true);
  assert.equal(units.isLeaseRoot("/app"), false, "the pattern's parent is not itself a lease root");
  assert.equal(units.isLeaseRoot("/app/a/b"), false, "a pattern covers children, not grandchildren");
  assert.equal(units.isLeaseRoot("/cfg/x"), false);
  assert.equal(units.ruleOf("/app/a")?.pattern, "/app/*");
  assert.equal(units.unitRule("/app/a").home, "r1");
});

test("units: an exact rule wins over a pattern for the same path", () => {
  const map = new UnitMap([rule("/app/*", "r1"), rule("/app/special", "r2", "global")]);
  assert.equal(map.ruleOf("/app/special")?.pattern, "/app/special");
  assert.deepEqual(map.unitRule("/app/special"), { home: "r2", durability: "global", rule: map.ruleOf("/app/special") });
  assert.equal(map.ruleOf("/app/other")?.pattern, "/app/*");
});

test("units: a unit owns P's list of children and every znode strictly below P", () => {
  assert.equal(units.unitOfChildren("/cfg"), "/cfg");
  assert.equal(units.unitOfNode("/cfg/a"), "/cfg");
  assert.equal(units.unitOfChildren("/cfg/a"), "/cfg");
  assert.equal(units.unitOfNode("/cfg/a/b/c"), "/cfg");
  assert.equal(units.unitOfNode("/app/a/k"), "/app/a");
  assert.equal(units.unitOfNode("/app/a/k/l"), "/app/a");
});

test("units: down to but not including the child lists of nested lease roots", () => {
  // /app/x/deep is a lease root inside the unit /app/x.
  assert.equal(units.unitOfNode("/app/x/deep"), "/app/x", "the nested root's own data is the outer unit's");
  assert.equal(units.unitOfChildren("/app/x/deep"), "/app/x/deep", "its child list is its own unit's");
  assert.equal(units.unitOfNode("/app/x/deep/k"), "/app/x/deep");
  assert.equal(units.unitOfNode("/app/x/deep/k/l"), "/app/x/deep");
  assert.equal(units.unitOfNode("/app/x/other"), "/app/x");
});

test("units: P's own data and existence belong to the unit that contains P", () => {
  assert.equal(units.unitOfNode("/app/a"), rootUnit, "/app/a sits in /app's child list, which is the root unit's");
  assert.equal(units.unitOfChildren("/app/a"), "/app/a");
  assert.equal(units.unitOfNode("/cfg"), rootUnit);
  assert.deepEqual(unitsOf({ op: "setData", path: "/app/a", data: null, version: -1 }), [rootUnit]);
  assert.deepEqual(unitsOf({ op: "setACL", path: "/cfg", acl: openAcl, version: -1 }), [rootUnit]);
  assert.deepEqual(unitsOf({ op: "check", path: "/app/x/deep", version: -1 }), ["/app/x"]);
});

test("units: everything not covered by a leased unit belongs to the root unit '/'", () => {
  assert.equal(rootUnit, "/");
  for (const path of ["/", "/app", "/other", "/other/deep/path", "/cfgx", "/ap"]) {
    assert.equal(units.unitOfNode(path), rootUnit, path);
  }
  assert.equal(units.unitOfChildren("/"), rootUnit);
  assert.equal(units.unitOfChildren("/app"), rootUnit, "the pattern's parent keeps its child list in the root unit");
  assert.equal(units.isLeaseRoot("/"), true);
  assert.deepEqual(units.unitRule("/"), { home: null, durability: "region", rule: null });
  assert.deepEqual(new UnitMap([]).unitOfNode("/a/b/c"), rootUnit, "no rules: one unit, the root's");
});

test("units: a pattern '/*' makes every top-level znode a lease root", () => {
  const map = new UnitMap([rule("/*")]);
  assert.equal(map.isLeaseRoot("/a"), true);
  assert.equal(map.unitOfNode("/a"), rootUnit);
  assert.equal(map.unitOfNode("/a/b"), "/a");
  assert.equal(map.unitOfNode("/a/b/c"), "/a");
});

test("units: creating or deleting a child touches exactly one unit", () => {
  assert.deepEqual(unitsOf(create("/app/a/k")), ["/app/a"]);
  assert.deepEqual(unitsOf({ op: "delete", path: "/app/a/k", version: -1 }), ["/app/a"]);
  assert.deepEqual(unitsOf({ op: "deleteContainer", path: "/cfg/c" }), ["/cfg"]);
  assert.deepEqual(unitsOf(create("/other/k")), [rootUnit]);
  assert.deepEqual(unitsOf(create("/app/x/deep/k")), ["/app/x/deep"]);
});

test("units: creating or deleting a child, including sequential children, touches exactly one unit", () => {
  const sequential = units.unitsOfRequest(create("/cfg/q-", sequentialFlag));
  assert.deepEqual([...sequential.units], ["/cfg"]);
  assert.deepEqual(sequential.newUnitUnder, []);
  const deep = units.unitsOfRequest(create("/app/a/q-", sequentialFlag));
  assert.deepEqual([...deep.units], ["/app/a"]);
  assert.deepEqual(deep.newUnitUnder, [], "a sequential child below a unit is no lease root");
});

test("units: only creating or deleting a lease root itself spans units (its parent's and its own)", () => {
  assert.deepEqual(unitsOf(create("/app/new")), [rootUnit, "/app/new"].sort());
  assert.deepEqual(unitsOf({ op: "delete", path: "/app/a", version: -1 }), [rootUnit, "/app/a"].sort());
  assert.deepEqual(unitsOf(create("/cfg")), [rootUnit, "/cfg"].sort());
  assert.deepEqual(unitsOf(create("/app/x/deep")), ["/app/x", "/app/x/deep"]);
  assert.deepEqual(unitsOf({ op: "deleteContainer", path: "/app/x/deep" }), ["/app/x", "/app/x/deep"]);
});

test("units: a sequential create under a '/p/*' pattern names its new unit only when prepared (newUnitUnder)", () => {
  const { units: named, newUnitUnder } = units.unitsOfRequest(create("/app/job-", sequentialFlag));
  assert.deepEqual([...named], [rootUnit], "the parent's unit is known now");
  assert.deepEqual(newUnitUnder, ["/app"], "the new lease root's name is not");
  const top = new UnitMap([rule("/*")]).unitsOfRequest(create("/job-", sequentialFlag));
  assert.deepEqual([...top.units], [rootUnit]);
  assert.deepEqual(top.newUnitUnder, [rootUnit]);
  // Ephemeral-sequential (flags 3) is sequential too.
  assert.deepEqual(units.unitsOfRequest(create("/app/job-", 3)).newUnitUnder, ["/app"]);
});

test("units: a multi that names several units spans them all", () => {
  const multi: WriteRequest = {
    op: "multi",
    ops: [
      { op: "setData", path: "/app/a/k", data: null, version: -1 },
      { op: "check", path: "/cfg/k", version: -1 },
      create("/app/b/k"),
      { op: "delete", path: "/app/a/gone", version: -1 },
    ],
  };
  assert.deepEqual(unitsOf(multi), ["/app/a", "/app/b", "/cfg"]);
  const oneUnit: WriteRequest = { op: "multi", ops: [create("/cfg/a"), { op: "setData", path: "/cfg/b", data: null, version: -1 }] };
  assert.deepEqual(unitsOf(oneUnit), ["/cfg"], "a multi within one unit stays in one unit");
  const withSequentialRoot = units.unitsOfRequest({ op: "multi", ops: [create("/cfg/a"), create("/app/job-", sequentialFlag)] });
  assert.deepEqual([...withSequentialRoot.units].sort(), [rootUnit, "/cfg"]);
  assert.deepEqual(withSequentialRoot.newUnitUnder, ["/app"]);
});

test("units: session requests touch no unit (a region always owns its sessions)", () => {
  assert.deepEqual(unitsOf({ op: "createSession", sessionId: 5n, timeoutMs: 1000 }), []);
  assert.deepEqual(unitsOf({ op: "closeSession", sessionId: 5n }), []);
  assert.deepEqual(units.unitsOfRequest({ op: "closeSession", sessionId: 5n }).newUnitUnder, []);
});

test("units: deleting a session's ephemerals touches the units of their existence", () => {
  assert.deepEqual(unitsOf({ op: "deleteEphemerals", sessionId: 5n, paths: ["/cfg/e", "/app/a/e", "/app/b"] }), [rootUnit, "/app/a", "/app/b", "/cfg"].sort());
  assert.deepEqual(unitsOf({ op: "deleteEphemerals", sessionId: 5n, paths: [] }), []);
});

test("units: unitsOfDelta names, for every delta op type, the units it changes", () => {
  const cases: Array<[DeltaOp, string[]]> = [
    [{ type: "create", path: "/app/a/k", data: null, acl: openAcl, ephemeralOwner: 0n, parentCversion: 1 }, ["/app/a"]],
    [{ type: "create", path: "/app/a", data: null, acl: openAcl, ephemeralOwner: 0n, parentCversion: 1 }, [rootUnit, "/app/a"].sort()],
    [{ type: "create", path: "/app/job-0000000001", data: null, acl: openAcl, ephemeralOwner: 0n, parentCversion: 1 }, [rootUnit, "/app/job-0000000001"].sort()],
    [{ type: "delete", path: "/cfg/k" }, ["/cfg"]],
    [{ type: "delete", path: "/app/x/deep" }, ["/app/x", "/app/x/deep"]],
    [{ type: "setData", path: "/app/a", data: null, version: 1 }, [rootUnit]],
    [{ type: "setData", path: "/app/a/k", data: null, version: 1 }, ["/app/a"]],
    [{ type: "setACL", path: "/app/x/deep", acl: openAcl, aversion: 1 }, ["/app/x"]],
    [{ type: "setACL", path: "/app/x/deep/k", acl: openAcl, aversion: 1 }, ["/app/x/deep"]],
    [{ type: "createSession", sessionId: 7n, timeoutMs: 1000 }, []],
    [{ type: "closeSession", sessionId: 7n }, []],
  ];
  for (const [op, expected] of cases) {
    assert.deepEqual([...units.unitsOfDelta(delta(op))].sort(), expected, JSON.stringify(op, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)));
  }
  const several = delta(
    { type: "setData", path: "/app/a/k", data: null, version: 1 },
    { type: "delete", path: "/app/b/k" },
    { type: "closeSession", sessionId: 7n },
  );
  assert.deepEqual([...units.unitsOfDelta(several)].sort(), ["/app/a", "/app/b"]);
  assert.deepEqual([...units.unitsOfDelta(delta())], [], "a lease record (no ops) touches no unit");
});

// ----------------------------------------------------------------- property

const names = ["a", "b", "c", "d"];
const pathArb: fc.Arbitrary<string> = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join("/")}`);
const ruleArb: fc.Arbitrary<LeaseRootRule> = fc.tuple(
  fc.array(fc.constantFrom(...names), { minLength: 0, maxLength: 3 }),
  fc.boolean(),
).map(([parts, pattern]) => {
  const base = `/${parts.join("/")}`;
  if (pattern) return rule(base === "/" ? "/*" : `${base}/*`);
  return rule(base === "/" ? "/a" : base);
});

function isAncestorOrSelf(ancestor: string, path: string): boolean {
  return ancestor === "/" || path === ancestor || path.startsWith(`${ancestor}/`);
}

/** The path and all its ancestors, root first. */
function lineage(path: string): string[] {
  const chain: string[] = [];
  // parentOf("/") is "/" itself: stop at the root.
  for (let current = path; current !== "/"; current = parentOf(current)!) chain.unshift(current);
  chain.unshift("/");
  return chain;
}

test("units (property): unitOfNode(p) = unitOfChildren(parent(p)), a lease root at or above the parent, the nearest one", () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 5 }), fc.array(pathArb, { minLength: 1, maxLength: 20 }), (rules, paths) => {
      const map = new UnitMap(rules);
      for (const path of paths) {
        const parent = parentOf(path)!;
        const unit = map.unitOfNode(path);
        assert.equal(unit, map.unitOfChildren(parent));
        assert.equal(map.isLeaseRoot(unit), true, `${unit} is a lease root`);
        assert.ok(isAncestorOrSelf(unit, parent), `${unit} is at or above ${parent}`);
        // Nearest: no lease root lies strictly between the unit and the parent (inclusive of the parent).
        for (const between of lineage(parent)) {
          if (between.length > unit.length && isAncestorOrSelf(unit, between)) assert.equal(map.isLeaseRoot(between), false, `${between} between ${unit} and ${path}`);
        }
        // The path's own child list is in its own unit iff it is a lease root.
        assert.equal(map.unitOfChildren(path) === path, map.isLeaseRoot(path));
        // Existence touches the parent's unit, plus the path's own when it is a lease root.
        const touched = [...map.unitsOfDelta(delta({ type: "delete", path }))].sort();
        const expected = map.isLeaseRoot(path) ? [...new Set([unit, path])].sort() : [unit];
        assert.deepEqual(touched, expected);
        // A child of the path sits in the unit of the path's child list.
        assert.equal(map.unitOfNode(childPath(path, "z")), map.unitOfChildren(path));
      }
    }),
    { numRuns: 300 },
  );
});

test("units: a split makes a child a lease root that inherits its parent unit's durability and policy, with no home", () => {
  const map = new UnitMap([rule("/app/*", "r1"), rule("/g", "r2", "global")]);
  assert.equal(map.unitOfChildren("/g/tenant/x"), "/g");
  map.ensureLeaseRoot("/g/tenant");
  assert.equal(map.isSplit("/g/tenant"), true);
  assert.equal(map.unitOfChildren("/g/tenant/x"), "/g/tenant");
  assert.equal(map.unitOfNode("/g/tenant/x"), "/g/tenant");
  // The split root's own node stays in the parent unit.
  assert.equal(map.unitOfNode("/g/tenant"), "/g");
  assert.deepEqual(map.unitRule("/g/tenant"), { home: null, durability: "global", rule: { pattern: "/g/tenant", home: null, durability: "global", policy: { name: "static" } } });
  // Creating or deleting the split root now spans both units, like any lease root.
  assert.deepEqual(unitsOf(create("/g/tenant"), map), ["/g", "/g/tenant"]);
  // Configured roots (and "/") are left as they are.
  map.ensureLeaseRoot("/app/a");
  map.ensureLeaseRoot("/");
  assert.equal(map.isSplit("/app/a"), false);
  assert.equal(map.unitRule("/app/a").home, "r1");
});

test("units: the child a write falls under is known two levels below the unit and deeper, never for the unit's direct children", () => {
  const map = new UnitMap([rule("/app/*"), rule("/app/x/deep")]);
  assert.equal(map.splittableChildOf("/app/x", "/app/x/t/k"), "/app/x/t");
  assert.equal(map.splittableChildOf("/app/x", "/app/x/t/k/more"), "/app/x/t");
  assert.equal(map.splittableChildOf("/app/x", "/app/x/t"), null);
  assert.equal(map.splittableChildOf("/app/x", "/elsewhere/t/k"), null);
  // A child that is a lease root already is not the unit's to split.
  assert.equal(map.splittableChildOf("/app/x", "/app/x/deep/k"), null);
  assert.equal(map.splittableChildOf(rootUnit, "/top/child/k"), "/top");
});
