// Server-side watch tables: which connection hears about which change.
//
// Pure: no I/O, no clock, no randomness. The tree reports what a delta
// changed as TreeEvents; the server asks `trigger` who must be told and
// writes the notifications (xid -1) before the reply of the request that
// caused them. The watcher key W is whatever the server uses to name a
// connection (a connection id).
//
// Model: ZooKeeper keeps two tables, one for data watches (getData, exists,
// persistent, persistent recursive) and one for child watches (getChildren,
// persistent). Each (path, watcher) appears at most once per table, so
// exists + getData on one path give a single event.
//
// Where several modes meet on one (path, watcher), we follow ZooKeeper 3.9
// (ZOOKEEPER-4466/4471/4472: the entry holds a set of modes) rather than
// 3.6-3.8, where the last addWatch overwrote the mode: a getData watch on a
// path with a persistent watch silently turned the persistent watch into a
// one-shot one (the bug ZOOKEEPER-4466 fixed), and removeWatches(Data)
// removed half of a persistent watch (ZOOKEEPER-4471). Removal types
// Persistent (4) and PersistentRecursive (5) exist only with the 3.9 model.
//
// Reports for the four-letter words follow ZooKeeper, which prints the data
// table only for wchs/wchc/wchp and counts both tables for mntr's
// zk_watch_count (DataTree.getWatchesSummary / getWatchCount).

import { WatcherType } from "../protocol/codes.js";
import type { TreeEvent } from "./types.js";

/** NodeCreated 1, NodeDeleted 2, NodeDataChanged 3, NodeChildrenChanged 4. */
export type WatchEventType = TreeEvent["type"];

/** Children 1, Data 2, Any 3, Persistent 4, PersistentRecursive 5. */
export type WatcherTypeNumber = (typeof WatcherType)[keyof typeof WatcherType];

/** One notification to send: WatcherEvent{type, SyncConnected, path}. */
export interface WatchNotification<W> {
  watcher: W;
  /** Full server path of the node that changed (the client strips its chroot). */
  path: string;
  type: WatchEventType;
}

/** Modes held by one (path, watcher) entry of one table, as bits. */
const Mode = {
  standard: 1,
  persistent: 2,
  persistentRecursive: 4,
} as const;
const allModes = Mode.standard | Mode.persistent | Mode.persistentRecursive;

export interface WatchLimits {
  /** Entries one watcher may hold, data and child tables together (a
   *  persistent watch holds two). ZooKeeper has no such limit; a client past
   *  it gets "limitExceeded" and the server decides how to answer. */
  watchesPerWatcherMax: number;
  /** Path entries one wchc/wchp dump lists before it stops. */
  reportEntriesMax: number;
}

export const watchLimitsDefault: WatchLimits = {
  watchesPerWatcherMax: 100_000,
  reportEntriesMax: 1_000_000,
};

/** "unchanged": the watcher already held that mode there (ZooKeeper's false). */
export type WatchAddResult = "added" | "unchanged" | "limitExceeded";

/** The lists of SetWatches (op 101) and SetWatches2 (op 105), jute names. */
export interface SetWatchesLists {
  dataWatches: readonly string[];
  existWatches: readonly string[];
  childWatches: readonly string[];
  persistentWatches?: readonly string[];
  persistentRecursiveWatches?: readonly string[];
}

/** What SetWatches needs of a node: its Stat fits. */
export interface NodeZxids {
  mzxid: bigint;
  pzxid: bigint;
}

export interface SetWatchesResult<W> {
  /** To send now, before the -8 reply, in this order. */
  notifications: WatchNotification<W>[];
  /** Some watches were not re-armed because the watcher is at its limit. */
  limitExceeded: boolean;
}

/** wchs: "N connections watching M paths\nTotal watches:K". */
export interface WatchSummary {
  watchers: number;
  paths: number;
  watches: number;
}

function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`watches invariant broken: ${message}`);
}

/** One table: path -> watcher -> modes, with the reverse index and the
 *  recursive entries indexed apart so an event walks its ancestors cheaply. */
class WatchTable<W> {
  readonly watchersByPath = new Map<string, Map<W, number>>();
  readonly pathsByWatcher = new Map<W, Set<string>>();
  private readonly recursiveByPath = new Map<string, Set<W>>();
  /** Number of (path, watcher) entries. */
  size = 0;

  modes(path: string, watcher: W): number {
    return this.watchersByPath.get(path)?.get(watcher) ?? 0;
  }

  entriesOf(watcher: W): number {
    return this.pathsByWatcher.get(watcher)?.size ?? 0;
  }

  /** Adds mode bits; true if the entry changed. */
  addModes(path: string, watcher: W, modes: number): boolean {
    const before = this.modes(path, watcher);
    return this.setModes(path, watcher, before, before | modes);
  }

  /** Clears mode bits; true if any of them was set. */
  removeModes(path: string, watcher: W, modes: number): boolean {
    const before = this.modes(path, watcher);
    return this.setModes(path, watcher, before, before & ~modes);
  }

  removeWatcher(watcher: W): void {
    const paths = this.pathsByWatcher.get(watcher);
    if (paths === undefined) return;
    for (const path of [...paths]) this.removeModes(path, watcher, allModes);
    invariant(!this.pathsByWatcher.has(watcher), "watcher left after removal");
  }

  /** Adds to `fired` every watcher of `path` itself (any mode), consuming
   *  one-shot modes, then, if asked, the recursive watchers of its ancestors. */
  fire(path: string, fired: Set<W>, ancestors: boolean): void {
    const here = this.watchersByPath.get(path);
    if (here !== undefined) {
      // Deleting the current key, or overwriting any, is safe while iterating a Map.
      for (const [watcher, modes] of here) {
        fired.add(watcher);
        if ((modes & Mode.standard) !== 0) this.setModes(path, watcher, modes, modes & ~Mode.standard);
      }
    }
    // ZooKeeper also skips the walk when no recursive watch exists at all.
    if (!ancestors || this.recursiveByPath.size === 0) return;
    let end = path.lastIndexOf("/");
    while (path !== "/" && end >= 0) {
      const recursive = this.recursiveByPath.get(end === 0 ? "/" : path.slice(0, end));
      if (recursive !== undefined) for (const watcher of recursive) fired.add(watcher);
      if (end === 0) break;
      end = path.lastIndexOf("/", end - 1);
    }
  }

  /** The one place that changes an entry; keeps all three indexes in step. */
  private setModes(path: string, watcher: W, before: number, after: number): boolean {
    if (before === after) return false;
    if (before === 0) {
      getOrCreate(this.watchersByPath, path, () => new Map<W, number>()).set(watcher, after);
      getOrCreate(this.pathsByWatcher, watcher, () => new Set<string>()).add(path);
      this.size += 1;
    } else if (after === 0) {
      deleteFromIndex(this.watchersByPath, path, watcher);
      deleteFromIndex(this.pathsByWatcher, watcher, path);
      this.size -= 1;
    } else {
      this.watchersByPath.get(path)?.set(watcher, after);
    }
    const wasRecursive = (before & Mode.persistentRecursive) !== 0;
    const isRecursive = (after & Mode.persistentRecursive) !== 0;
    if (isRecursive && !wasRecursive) {
      getOrCreate(this.recursiveByPath, path, () => new Set<W>()).add(watcher);
    } else if (wasRecursive && !isRecursive) {
      deleteFromIndex(this.recursiveByPath, path, watcher);
    }
    invariant(this.size >= 0, "negative entry count");
    return true;
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Removes `member` from the collection under `key`, and the key once empty. */
function deleteFromIndex<K, M>(index: Map<K, Map<M, unknown> | Set<M>>, key: K, member: M): void {
  const members = index.get(key);
  const removed = members?.delete(member) ?? false;
  invariant(members !== undefined && removed, "index out of step with entries");
  if (members.size === 0) index.delete(key);
}

export class WatchManager<W> {
  private readonly data = new WatchTable<W>();
  private readonly child = new WatchTable<W>();
  private readonly limits: WatchLimits;

  constructor(limits: Partial<WatchLimits> = {}) {
    this.limits = { ...watchLimitsDefault, ...limits };
  }

  /** getData/exists with watch=true (exists also on a missing node). */
  addDataWatch(path: string, watcher: W): WatchAddResult {
    return this.add(path, watcher, Mode.standard, true, false);
  }

  /** getChildren/getChildren2 with watch=true. */
  addChildWatch(path: string, watcher: W): WatchAddResult {
    return this.add(path, watcher, Mode.standard, false, true);
  }

  /** addWatch (op 106): persistent goes in both tables, recursive in the
   *  data table only (DataTree.addWatch). */
  addPersistent(path: string, watcher: W, recursive: boolean): WatchAddResult {
    if (recursive) return this.add(path, watcher, Mode.persistentRecursive, true, false);
    return this.add(path, watcher, Mode.persistent, true, true);
  }

  /** The notifications for one TreeEvent, one per watcher, path = the
   *  changed node (DataTree.createNode/deleteNode/setData). */
  trigger(path: string, type: WatchEventType): WatchNotification<W>[] {
    const fired = new Set<W>();
    switch (type) {
      case 1: // NodeCreated
      case 3: // NodeDataChanged
        this.data.fire(path, fired, true);
        break;
      case 2: // NodeDeleted: the child table's one-shot entries are consumed
        // too, but a watcher already told by the data table hears it once.
        this.data.fire(path, fired, true);
        this.child.fire(path, fired, false);
        break;
      case 4: // NodeChildrenChanged: the child table holds no recursive entry.
        this.child.fire(path, fired, false);
        break;
    }
    const notifications: WatchNotification<W>[] = [];
    for (const watcher of fired) notifications.push({ watcher, path, type });
    return notifications;
  }

  /** The connection closed: forget every watch it held. */
  removeWatcher(watcher: W): void {
    this.data.removeWatcher(watcher);
    this.child.removeWatcher(watcher);
  }

  /** checkWatches (op 17); false maps to NoWatcher (-121). DataTree.containsWatcher. */
  hasWatch(path: string, watcher: W, watcherType: WatcherTypeNumber): boolean {
    switch (watcherType) {
      case WatcherType.children:
        return (this.child.modes(path, watcher) & Mode.standard) !== 0;
      case WatcherType.data:
        return (this.data.modes(path, watcher) & Mode.standard) !== 0;
      case WatcherType.any:
        return this.child.modes(path, watcher) !== 0 || this.data.modes(path, watcher) !== 0;
      case WatcherType.persistent:
        return (this.data.modes(path, watcher) & Mode.persistent) !== 0;
      case WatcherType.persistentRecursive:
        return (this.data.modes(path, watcher) & Mode.persistentRecursive) !== 0;
    }
  }

  /** removeWatches (op 18); false maps to NoWatcher (-121). DataTree.removeWatch. */
  removeWatches(path: string, watcher: W, watcherType: WatcherTypeNumber): boolean {
    switch (watcherType) {
      case WatcherType.children:
        return this.child.removeModes(path, watcher, Mode.standard);
      case WatcherType.data:
        return this.data.removeModes(path, watcher, Mode.standard);
      case WatcherType.any: {
        const fromChild = this.child.removeModes(path, watcher, allModes);
        return this.data.removeModes(path, watcher, allModes) || fromChild;
      }
      case WatcherType.persistent: {
        const fromChild = this.child.removeModes(path, watcher, Mode.persistent);
        return this.data.removeModes(path, watcher, Mode.persistent) || fromChild;
      }
      case WatcherType.persistentRecursive:
        return this.data.removeModes(path, watcher, Mode.persistentRecursive);
    }
  }

  /** SetWatches/SetWatches2 after a reconnect (DataTree.setWatches): fires
   *  what changed since relativeZxid, re-arms the rest. Lists are read in
   *  ZooKeeper's order: data, exist, child, then persistent ones with no event. */
  setWatches(
    relativeZxid: bigint,
    lists: SetWatchesLists,
    watcher: W,
    lookup: (path: string) => NodeZxids | undefined,
  ): SetWatchesResult<W> {
    const notifications: WatchNotification<W>[] = [];
    let limitExceeded = false;
    const fire = (path: string, type: WatchEventType): void => {
      notifications.push({ watcher, path, type });
    };
    const rearm = (result: WatchAddResult): void => {
      if (result === "limitExceeded") limitExceeded = true;
    };
    for (const path of lists.dataWatches) {
      const node = lookup(path);
      if (node === undefined) fire(path, 2);
      else if (node.mzxid > relativeZxid) fire(path, 3);
      else rearm(this.addDataWatch(path, watcher));
    }
    for (const path of lists.existWatches) {
      if (lookup(path) !== undefined) fire(path, 1);
      else rearm(this.addDataWatch(path, watcher));
    }
    for (const path of lists.childWatches) {
      const node = lookup(path);
      if (node === undefined) fire(path, 2);
      else if (node.pzxid > relativeZxid) fire(path, 4);
      else rearm(this.addChildWatch(path, watcher));
    }
    for (const path of lists.persistentWatches ?? []) rearm(this.addPersistent(path, watcher, false));
    for (const path of lists.persistentRecursiveWatches ?? []) rearm(this.addPersistent(path, watcher, true));
    return { notifications, limitExceeded };
  }

  /** Entries in both tables (mntr zk_watch_count). O(1). */
  get watchCount(): number {
    return this.data.size + this.child.size;
  }

  /** Entries one watcher holds, both tables: what the limit counts. O(1). */
  watchCountOf(watcher: W): number {
    return this.data.entriesOf(watcher) + this.child.entriesOf(watcher);
  }

  /** wchs, over the data table as ZooKeeper prints it. O(1). */
  summary(): WatchSummary {
    return {
      watchers: this.data.pathsByWatcher.size,
      paths: this.data.watchersByPath.size,
      watches: this.data.size,
    };
  }

  /** wchc: watcher -> watched paths (data table), at most reportEntriesMax paths. */
  byWatcher(): Map<W, string[]> {
    return capReport(this.data.pathsByWatcher, this.limits.reportEntriesMax);
  }

  /** wchp: path -> watchers (data table), at most reportEntriesMax watchers. */
  byPath(): Map<string, W[]> {
    const watchersByPath = new Map<string, Iterable<W>>();
    for (const [path, watchers] of this.data.watchersByPath) watchersByPath.set(path, watchers.keys());
    return capReport(watchersByPath, this.limits.reportEntriesMax);
  }

  private add(path: string, watcher: W, mode: number, inData: boolean, inChild: boolean): WatchAddResult {
    const newEntries =
      (inData && this.data.modes(path, watcher) === 0 ? 1 : 0) +
      (inChild && this.child.modes(path, watcher) === 0 ? 1 : 0);
    if (newEntries > 0 && this.watchCountOf(watcher) + newEntries > this.limits.watchesPerWatcherMax) {
      return "limitExceeded";
    }
    const addedToData = inData && this.data.addModes(path, watcher, mode);
    const addedToChild = inChild && this.child.addModes(path, watcher, mode);
    return addedToData || addedToChild ? "added" : "unchanged";
  }
}

/** Copies an index into arrays, stopping after `entriesMax` members in all. */
function capReport<K, M>(index: Map<K, Iterable<M>>, entriesMax: number): Map<K, M[]> {
  const report = new Map<K, M[]>();
  let remaining = entriesMax;
  for (const [key, members] of index) {
    if (remaining <= 0) break;
    const list: M[] = [];
    for (const member of members) {
      if (remaining <= 0) break;
      list.push(member);
      remaining -= 1;
    }
    report.set(key, list);
  }
  return report;
}
