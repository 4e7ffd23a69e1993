// Watch tables, tested against the sentences of zookeeper-protocol.md §5.4
// (what fires) and §5.5 (SetWatches replay), then against a tiny model.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { WatcherType } from "../../src/protocol/codes.js";
import {
  WatchManager,
  type NodeZxids,
  type SetWatchesLists,
  type WatchEventType,
  type WatcherTypeNumber,
  type WatchNotification,
} from "../../src/tree/watches.js";

const created = 1;
const deleted = 2;
const dataChanged = 3;
const childrenChanged = 4;

/** Notifications as sorted "watcher type path" lines, order-insensitive. */
function lines(notifications: WatchNotification<number>[]): string[] {
  return notifications.map((n) => `${n.watcher} ${n.type} ${n.path}`).sort();
}

function watchersOf(notifications: WatchNotification<number>[]): number[] {
  return notifications.map((n) => n.watcher).sort((a, b) => a - b);
}

describe("§5.4 watches", () => {
  test("standard watches are one-shot", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.deepEqual(watches.trigger("/a", dataChanged), []);
    assert.equal(watches.watchCount, 0);
  });

  test("one entry per (path, connection), so exists+getData produce a single event", () => {
    const watches = new WatchManager<number>();
    assert.equal(watches.addDataWatch("/a", 1), "added"); // exists
    assert.equal(watches.addDataWatch("/a", 1), "unchanged"); // getData
    assert.equal(watches.watchCount, 1);
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
  });

  test("watch tables are kept per connection", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addDataWatch("/a", 2);
    assert.deepEqual(watchersOf(watches.trigger("/a", dataChanged)), [1, 2]);
  });

  test("a create fires NodeCreated to data watchers and NodeChildrenChanged to the parent", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a/b", 1); // exists on a missing node
    watches.addChildWatch("/a/b", 2); // not told: the node itself was created
    watches.addChildWatch("/a", 3);
    watches.addDataWatch("/a", 4); // not told: /a's data did not change
    assert.deepEqual(lines(watches.trigger("/a/b", created)), ["1 1 /a/b"]);
    assert.deepEqual(lines(watches.trigger("/a", childrenChanged)), ["3 4 /a"]);
    assert.equal(watches.watchCount, 2);
  });

  test("setData fires NodeDataChanged to data watchers only", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addChildWatch("/a", 2);
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.ok(watches.hasWatch("/a", 2, WatcherType.children));
  });

  test("a delete fires NodeDeleted to data and child watchers of the path once per watcher", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addChildWatch("/a", 1);
    watches.addChildWatch("/a", 2);
    watches.addDataWatch("/a", 3);
    assert.deepEqual(lines(watches.trigger("/a", deleted)), ["1 2 /a", "2 2 /a", "3 2 /a"]);
    assert.equal(watches.watchCount, 0, "both one-shot entries of watcher 1 are consumed");
  });

  test("a delete fires NodeChildrenChanged to the parent's child watchers", () => {
    const watches = new WatchManager<number>();
    watches.addChildWatch("/", 1);
    watches.addDataWatch("/", 2);
    assert.deepEqual(lines(watches.trigger("/", childrenChanged)), ["1 4 /"]);
  });

  test("a persistent watch is in both tables and is not removed when fired", () => {
    const watches = new WatchManager<number>();
    assert.equal(watches.addPersistent("/a", 1, false), "added");
    assert.equal(watches.watchCount, 2);
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
      assert.deepEqual(lines(watches.trigger("/a", childrenChanged)), ["1 4 /a"]);
      assert.deepEqual(lines(watches.trigger("/a", deleted)), ["1 2 /a"]);
      assert.deepEqual(lines(watches.trigger("/a", created)), ["1 1 /a"]);
    }
    assert.deepEqual(watches.trigger("/a/b", created), [], "a persistent watch does not match descendants");
    assert.equal(watches.watchCount, 2);
  });

  test("a recursive watch is in the data table only, matches descendants, and never gets NodeChildrenChanged", () => {
    const watches = new WatchManager<number>();
    assert.equal(watches.addPersistent("/a", 1, true), "added");
    assert.equal(watches.watchCount, 1);
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.deepEqual(lines(watches.trigger("/a/b", created)), ["1 1 /a/b"]);
    assert.deepEqual(lines(watches.trigger("/a/b/c", dataChanged)), ["1 3 /a/b/c"]);
    assert.deepEqual(lines(watches.trigger("/a/b", deleted)), ["1 2 /a/b"]);
    assert.deepEqual(watches.trigger("/a", childrenChanged), []);
    assert.deepEqual(watches.trigger("/a/b", childrenChanged), []);
    assert.deepEqual(watches.trigger("/ab", created), [], "a sibling sharing the prefix is not a descendant");
    assert.deepEqual(watches.trigger("/", dataChanged), [], "the parent is not a descendant");
    assert.equal(watches.watchCount, 1);
  });

  test("a recursive watch on / matches every node, and a watcher matched twice hears once", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/", 1, true);
    watches.addPersistent("/a", 1, true);
    watches.addDataWatch("/a/b", 1);
    assert.deepEqual(lines(watches.trigger("/a/b", dataChanged)), ["1 3 /a/b"]);
    assert.deepEqual(lines(watches.trigger("/x", created)), ["1 1 /x"]);
    assert.equal(watches.hasWatch("/a/b", 1, WatcherType.data), false, "the one-shot watch was consumed");
  });

  test("a standard watch added on a persistent one keeps the persistent watch (ZOOKEEPER-4466)", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/a", 1, false);
    assert.equal(watches.addDataWatch("/a", 1), "added");
    assert.equal(watches.watchCount, 2, "still one entry per table");
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.equal(watches.hasWatch("/a", 1, WatcherType.data), false);
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.persistent));
  });

  test("a persistent watch added on a standard one keeps the one-shot watch until it fires", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/a", 1, true);
    watches.addDataWatch("/a", 1);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.data));
    assert.ok(watches.hasWatch("/a", 1, WatcherType.persistentRecursive));
    assert.deepEqual(lines(watches.trigger("/a", dataChanged)), ["1 3 /a"]);
    assert.equal(watches.hasWatch("/a", 1, WatcherType.data), false);
    assert.deepEqual(lines(watches.trigger("/a/b", created)), ["1 1 /a/b"], "still recursive");
  });

  test("removeWatches / checkWatches with nothing matching → NoWatcher", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addPersistent("/p", 1, false);
    assert.equal(watches.hasWatch("/a", 2, WatcherType.any), false, "another connection");
    assert.equal(watches.hasWatch("/b", 1, WatcherType.any), false, "another path");
    assert.equal(watches.hasWatch("/a", 1, WatcherType.children), false, "another table");
    assert.equal(watches.hasWatch("/p", 1, WatcherType.data), false, "persistent is not Data");
    assert.equal(watches.removeWatches("/a", 1, WatcherType.children), false);
    assert.equal(watches.removeWatches("/p", 1, WatcherType.children), false);
    assert.equal(watches.removeWatches("/p", 1, WatcherType.persistentRecursive), false);
    assert.equal(watches.watchCount, 3, "nothing was removed");
  });

  test("removeWatches Data and Children remove only standard watches of their table", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addChildWatch("/a", 1);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.data));
    assert.ok(watches.removeWatches("/a", 1, WatcherType.data));
    assert.equal(watches.hasWatch("/a", 1, WatcherType.data), false);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.children));
    assert.ok(watches.removeWatches("/a", 1, WatcherType.children));
    assert.equal(watches.watchCount, 0);
  });

  test("removeWatches Persistent removes the persistent watch from both tables", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/a", 1, false);
    watches.addChildWatch("/a", 1);
    assert.ok(watches.removeWatches("/a", 1, WatcherType.persistent));
    assert.equal(watches.hasWatch("/a", 1, WatcherType.persistent), false);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.children), "the standard child watch stays");
    assert.equal(watches.watchCount, 1);
    assert.deepEqual(watches.trigger("/a", dataChanged), []);
  });

  test("removeWatches PersistentRecursive stops descendant events", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/a", 1, true);
    assert.ok(watches.removeWatches("/a", 1, WatcherType.persistentRecursive));
    assert.deepEqual(watches.trigger("/a/b", created), []);
    assert.equal(watches.watchCount, 0);
  });

  test("removeWatches Any removes every mode from both tables", () => {
    const watches = new WatchManager<number>();
    watches.addPersistent("/a", 1, false);
    watches.addPersistent("/a", 1, true);
    watches.addDataWatch("/a", 1);
    watches.addChildWatch("/a", 1);
    watches.addDataWatch("/a", 2);
    assert.ok(watches.hasWatch("/a", 1, WatcherType.any));
    assert.ok(watches.removeWatches("/a", 1, WatcherType.any));
    assert.equal(watches.hasWatch("/a", 1, WatcherType.any), false);
    assert.deepEqual(watchersOf(watches.trigger("/a", dataChanged)), [2]);
    assert.deepEqual(watches.trigger("/a/b", created), []);
  });

  test("a closed connection loses every watch and no one else's", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addChildWatch("/a", 1);
    watches.addPersistent("/", 1, true);
    watches.addPersistent("/b", 1, false);
    watches.addDataWatch("/a", 2);
    watches.removeWatcher(1);
    watches.removeWatcher(3); // never watched anything
    assert.equal(watches.watchCount, 1);
    assert.equal(watches.watchCountOf(1), 0);
    assert.deepEqual(watchersOf(watches.trigger("/a", deleted)), [2]);
    assert.deepEqual(watches.trigger("/b/c", created), []);
  });

  test("the path of an event is the changed node's path, for recursive watchers too", () => {
    const watches = new WatchManager<string>();
    watches.addPersistent("/app", "c1", true);
    assert.deepEqual(watches.trigger("/app/x/y", deleted), [{ watcher: "c1", path: "/app/x/y", type: deleted }]);
  });
});

describe("§5.5 SetWatches replay", () => {
  const relativeZxid = 10n;
  const nodes = new Map<string, NodeZxids>([
    ["/old", { mzxid: 5n, pzxid: 5n }],
    ["/same", { mzxid: 10n, pzxid: 10n }],
    ["/newdata", { mzxid: 11n, pzxid: 5n }],
    ["/newkids", { mzxid: 5n, pzxid: 11n }],
  ]);
  const lookup = (path: string): NodeZxids | undefined => nodes.get(path);
  const empty: SetWatchesLists = { dataWatches: [], existWatches: [], childWatches: [] };

  function replay(lists: Partial<SetWatchesLists>) {
    const watches = new WatchManager<number>();
    const result = watches.setWatches(relativeZxid, { ...empty, ...lists }, 7, lookup);
    assert.equal(result.limitExceeded, false);
    return { watches, sent: result.notifications.map((n) => `${n.watcher} ${n.type} ${n.path}`) };
  }

  test("data list: a missing node fires NodeDeleted", () => {
    const { watches, sent } = replay({ dataWatches: ["/gone"] });
    assert.deepEqual(sent, ["7 2 /gone"]);
    assert.equal(watches.watchCount, 0);
  });

  test("data list: mzxid > relativeZxid fires NodeDataChanged", () => {
    const { watches, sent } = replay({ dataWatches: ["/newdata"] });
    assert.deepEqual(sent, ["7 3 /newdata"]);
    assert.equal(watches.watchCount, 0);
  });

  test("data list: otherwise the watch is re-armed", () => {
    const { watches, sent } = replay({ dataWatches: ["/old", "/same", "/newkids"] });
    assert.deepEqual(sent, []);
    for (const path of ["/old", "/same", "/newkids"]) assert.ok(watches.hasWatch(path, 7, WatcherType.data));
  });

  test("exist list: a missing node re-arms", () => {
    const { watches, sent } = replay({ existWatches: ["/gone"] });
    assert.deepEqual(sent, []);
    assert.ok(watches.hasWatch("/gone", 7, WatcherType.data));
    assert.deepEqual(lines(watches.trigger("/gone", created)), ["7 1 /gone"]);
  });

  test("exist list: a node that exists fires NodeCreated", () => {
    const { watches, sent } = replay({ existWatches: ["/old"] });
    assert.deepEqual(sent, ["7 1 /old"]);
    assert.equal(watches.watchCount, 0);
  });

  test("child list: a missing node fires NodeDeleted", () => {
    const { sent } = replay({ childWatches: ["/gone"] });
    assert.deepEqual(sent, ["7 2 /gone"]);
  });

  test("child list: pzxid > relativeZxid fires NodeChildrenChanged", () => {
    const { sent } = replay({ childWatches: ["/newkids"] });
    assert.deepEqual(sent, ["7 4 /newkids"]);
  });

  test("child list: otherwise the watch is re-armed", () => {
    const { watches, sent } = replay({ childWatches: ["/old", "/same", "/newdata"] });
    assert.deepEqual(sent, []);
    for (const path of ["/old", "/same", "/newdata"]) assert.ok(watches.hasWatch(path, 7, WatcherType.children));
  });

  test("persistent watches are re-added as-is", () => {
    const { watches, sent } = replay({ persistentWatches: ["/gone", "/newdata"], persistentRecursiveWatches: ["/newkids"] });
    assert.deepEqual(sent, []);
    assert.ok(watches.hasWatch("/gone", 7, WatcherType.persistent));
    assert.ok(watches.hasWatch("/newdata", 7, WatcherType.persistent));
    assert.ok(watches.hasWatch("/newkids", 7, WatcherType.persistentRecursive));
    assert.equal(watches.watchCount, 5);
  });

  test("events come in ZooKeeper's order: data list, then exist list, then child list", () => {
    const { sent } = replay({
      childWatches: ["/gone", "/newkids"],
      existWatches: ["/old"],
      dataWatches: ["/newdata", "/gone"],
    });
    assert.deepEqual(sent, ["7 3 /newdata", "7 2 /gone", "7 1 /old", "7 2 /gone", "7 4 /newkids"]);
  });
});

describe("limits and reports", () => {
  test("a watcher past watchesPerWatcherMax is refused, and other watchers are not", () => {
    const watches = new WatchManager<number>({ watchesPerWatcherMax: 2 });
    assert.equal(watches.addDataWatch("/a", 1), "added");
    assert.equal(watches.addPersistent("/b", 1, false), "limitExceeded", "needs two entries, has room for one");
    assert.equal(watches.watchCount, 1, "nothing half-added");
    assert.equal(watches.addChildWatch("/a", 1), "added");
    assert.equal(watches.addDataWatch("/c", 1), "limitExceeded");
    assert.equal(watches.addPersistent("/a", 1, false), "added", "new modes on held entries need no room");
    assert.equal(watches.addDataWatch("/c", 2), "added");
  });

  test("SetWatches reports the watches it could not re-arm", () => {
    const watches = new WatchManager<number>({ watchesPerWatcherMax: 1 });
    const result = watches.setWatches(0n, { dataWatches: ["/a", "/b"], existWatches: ["/c"], childWatches: [] }, 1, () => ({
      mzxid: 0n,
      pzxid: 0n,
    }));
    assert.equal(result.limitExceeded, true);
    assert.deepEqual(result.notifications, [{ watcher: 1, path: "/c", type: created }]);
    assert.equal(watches.watchCount, 1);
  });

  test("wchs, wchc and wchp report the data table as ZooKeeper does; mntr counts both", () => {
    const watches = new WatchManager<number>();
    watches.addDataWatch("/a", 1);
    watches.addDataWatch("/b", 1);
    watches.addDataWatch("/a", 2);
    watches.addChildWatch("/c", 3);
    watches.addPersistent("/d", 2, false);
    assert.deepEqual(watches.summary(), { watchers: 2, paths: 3, watches: 4 });
    assert.equal(watches.watchCount, 6);
    assert.deepEqual([...watches.byWatcher()].map(([w, paths]) => [w, [...paths].sort()]), [
      [1, ["/a", "/b"]],
      [2, ["/a", "/d"]],
    ]);
    assert.deepEqual(new Map([...watches.byPath()].map(([p, ws]) => [p, [...ws].sort()])), new Map([
      ["/a", [1, 2]],
      ["/b", [1]],
      ["/d", [2]],
    ]));
  });

  test("dumps stop after reportEntriesMax entries", () => {
    const watches = new WatchManager<number>({ reportEntriesMax: 3 });
    for (let i = 0; i < 10; i++) watches.addDataWatch(`/n${i}`, i % 2);
    const count = (report: Map<unknown, unknown[]>): number => [...report.values()].reduce((n, l) => n + l.length, 0);
    assert.equal(count(watches.byWatcher()), 3);
    assert.equal(count(watches.byPath()), 3);
  });
});

// ---------------------------------------------------------------------------
// Model: a flat set of (table, path, watcher, mode) facts, scanned whole.

type Table = "data" | "child";
type ModelMode = "standard" | "persistent" | "recursive";
interface Fact {
  table: Table;
  path: string;
  watcher: number;
  mode: ModelMode;
}

class Model {
  facts: Fact[] = [];
  constructor(readonly watchesPerWatcherMax: number) {}

  private has(table: Table, path: string, watcher: number, mode?: ModelMode): boolean {
    return this.facts.some((f) => Model.matches(f, table, path, watcher, mode));
  }

  static matches(f: Fact, table: Table, path: string, watcher: number, mode: ModelMode | undefined): boolean {
    return f.table === table && f.path === path && f.watcher === watcher && (mode === undefined || f.mode === mode);
  }

  entries(watcher?: number): number {
    const mine = this.facts.filter((f) => watcher === undefined || f.watcher === watcher);
    return new Set(mine.map((f) => `${f.table} ${f.path} ${f.watcher}`)).size;
  }

  add(path: string, watcher: number, mode: ModelMode, tables: Table[]): string {
    const fresh = tables.filter((t) => !this.has(t, path, watcher)).length;
    if (fresh > 0 && this.entries(watcher) + fresh > this.watchesPerWatcherMax) return "limitExceeded";
    const missing = tables.filter((t) => !this.has(t, path, watcher, mode));
    for (const table of missing) this.facts.push({ table, path, watcher, mode });
    return missing.length > 0 ? "added" : "unchanged";
  }

  trigger(path: string, type: WatchEventType): number[] {
    const tables: Table[] = type === 2 ? ["data", "child"] : type === 4 ? ["child"] : ["data"];
    const isDescendant = (ancestor: string): boolean =>
      ancestor === "/" ? path !== "/" : path.startsWith(ancestor + "/");
    const fired = new Set<number>();
    for (const f of this.facts) {
      if (!tables.includes(f.table)) continue;
      if (f.path === path) fired.add(f.watcher);
      if (f.mode === "recursive" && type !== 4 && isDescendant(f.path)) fired.add(f.watcher);
    }
    this.facts = this.facts.filter((f) => !(tables.includes(f.table) && f.path === path && f.mode === "standard"));
    return [...fired].sort((a, b) => a - b);
  }

  /** [table, mode or undefined for all] pairs a WatcherType covers when removing. */
  static removes(type: WatcherTypeNumber): Array<[Table, ModelMode | undefined]> {
    switch (type) {
      case 1: return [["child", "standard"]];
      case 2: return [["data", "standard"]];
      case 3: return [["child", undefined], ["data", undefined]];
      case 4: return [["child", "persistent"], ["data", "persistent"]];
      case 5: return [["data", "recursive"]];
    }
  }

  hasWatch(path: string, watcher: number, type: WatcherTypeNumber): boolean {
    const checks: Array<[Table, ModelMode | undefined]> = type === 4 ? [["data", "persistent"]] : Model.removes(type);
    return checks.some(([table, mode]) => this.has(table, path, watcher, mode));
  }

  removeWatches(path: string, watcher: number, type: WatcherTypeNumber): boolean {
    const before = this.facts.length;
    for (const [table, mode] of Model.removes(type)) {
      this.facts = this.facts.filter((f) => !Model.matches(f, table, path, watcher, mode));
    }
    return this.facts.length < before;
  }

  removeWatcher(watcher: number): void {
    this.facts = this.facts.filter((f) => f.watcher !== watcher);
  }

  dataPathsByWatcher(): Map<number, string[]> {
    const report = new Map<number, Set<string>>();
    for (const f of this.facts) {
      if (f.table !== "data") continue;
      const paths = report.get(f.watcher) ?? new Set<string>();
      paths.add(f.path);
      report.set(f.watcher, paths);
    }
    return new Map([...report].map(([w, paths]) => [w, [...paths].sort()]));
  }
}

type Command =
  | { kind: "data" | "child" | "persistent" | "recursive"; path: string; watcher: number }
  | { kind: "trigger"; path: string; type: WatchEventType }
  | { kind: "remove" | "check"; path: string; watcher: number; type: WatcherTypeNumber }
  | { kind: "close"; watcher: number };

// "/ab" shares a prefix with "/a" without being below it.
const pathArbitrary = fc.constantFrom("/", "/a", "/a/b", "/a/b/c", "/ab", "/b");
const watcherArbitrary = fc.integer({ min: 1, max: 3 });
const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constantFrom("data", "child", "persistent", "recursive"), path: pathArbitrary, watcher: watcherArbitrary }),
  fc.record({ kind: fc.constant("trigger"), path: pathArbitrary, type: fc.constantFrom<WatchEventType>(1, 2, 3, 4) }),
  fc.record({
    kind: fc.constantFrom("remove", "check"),
    path: pathArbitrary,
    watcher: watcherArbitrary,
    type: fc.constantFrom<WatcherTypeNumber>(1, 2, 3, 4, 5),
  }),
  fc.record({ kind: fc.constant("close"), watcher: watcherArbitrary }),
);

function step(command: Command, watches: WatchManager<number>, model: Model): void {
  switch (command.kind) {
    case "data":
    case "child":
    case "persistent":
    case "recursive": {
      const { path, watcher } = command;
      const [actual, expected] =
        command.kind === "data"
          ? [watches.addDataWatch(path, watcher), model.add(path, watcher, "standard", ["data"])]
          : command.kind === "child"
            ? [watches.addChildWatch(path, watcher), model.add(path, watcher, "standard", ["child"])]
            : command.kind === "persistent"
              ? [watches.addPersistent(path, watcher, false), model.add(path, watcher, "persistent", ["data", "child"])]
              : [watches.addPersistent(path, watcher, true), model.add(path, watcher, "recursive", ["data"])];
      assert.equal(actual, expected);
      break;
    }
    case "trigger": {
      const sent = watches.trigger(command.path, command.type);
      assert.ok(sent.every((n) => n.path === command.path && n.type === command.type));
      assert.deepEqual(watchersOf(sent), model.trigger(command.path, command.type));
      break;
    }
    case "remove": {
      const { path, watcher, type } = command;
      assert.equal(watches.removeWatches(path, watcher, type), model.removeWatches(path, watcher, type));
      break;
    }
    case "check": {
      const { path, watcher, type } = command;
      assert.equal(watches.hasWatch(path, watcher, type), model.hasWatch(path, watcher, type));
      break;
    }
    case "close":
      watches.removeWatcher(command.watcher);
      model.removeWatcher(command.watcher);
      break;
  }
}

test("WatchManager agrees with a flat list of facts for random add/trigger/remove sequences", () => {
  fc.assert(
    fc.property(fc.array(commandArbitrary, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (commands, limit) => {
      const watches = new WatchManager<number>({ watchesPerWatcherMax: limit });
      const model = new Model(limit);
      for (const command of commands) {
        step(command, watches, model);
        assert.equal(watches.watchCount, model.entries());
        for (const watcher of [1, 2, 3]) assert.equal(watches.watchCountOf(watcher), model.entries(watcher));
      }
      const report = new Map([...watches.byWatcher()].map(([w, paths]) => [w, [...paths].sort()]));
      assert.deepEqual(report, model.dataPathsByWatcher());
    }),
    { numRuns: 500 },
  );
});
