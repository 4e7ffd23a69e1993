// A copy-on-write layer over a TreeView: the effect of deltas that were
// prepared but are not applied yet (ZooKeeper's outstandingChanges). Every
// entry remembers the tag of the delta that wrote it last, so when that
// delta reaches the base tree its entries can be dropped while entries
// rewritten by later deltas stay.

import { applyDeltaTo } from "./apply.js";
import type { NodeRecord } from "./node.js";
import type { Delta } from "./types.js";
import type { RecordStore, TreeView } from "./view.js";

interface NodeEntry {
  /** undefined: deleted by a pending delta. */
  record: NodeRecord | undefined;
  tag: number;
}

interface SessionEntry {
  /** undefined: closed by a pending delta. */
  timeoutMs: number | undefined;
  tag: number;
}

interface TaggedKeys {
  paths: string[];
  sessions: bigint[];
}

export class TreeOverlay implements TreeView {
  readonly #base: TreeView;
  readonly #nodes = new Map<string, NodeEntry>();
  readonly #sessions = new Map<bigint, SessionEntry>();
  readonly #keysByTag = new Map<number, TaggedKeys>();

  constructor(base: TreeView) {
    this.#base = base;
  }

  node(path: string): NodeRecord | undefined {
    const entry = this.#nodes.get(path);
    return entry === undefined ? this.#base.node(path) : entry.record;
  }

  sessionTimeoutMs(sessionId: bigint): number | undefined {
    const entry = this.#sessions.get(sessionId);
    return entry === undefined ? this.#base.sessionTimeoutMs(sessionId) : entry.timeoutMs;
  }

  ephemeralsOf(sessionId: bigint): string[] {
    // The base's ephemerals still present here, plus pending ones; an
    // ephemeral never changes owner, so checking the owner suffices.
    const paths = this.#base.ephemeralsOf(sessionId).filter((path) => !this.#nodes.has(path));
    for (const [path, entry] of this.#nodes) {
      if (entry.record !== undefined && entry.record.ephemeralOwner === sessionId) paths.push(path);
    }
    return paths.sort();
  }

  /** Number of overridden nodes and sessions (0 once everything is applied). */
  get entryCount(): number {
    return this.#nodes.size + this.#sessions.size;
  }

  /** Records the delta's effect under `tag` (see forget). */
  applyDelta(delta: Delta, tag = 0): void {
    applyDeltaTo(this.#storeFor(tag), delta);
  }

  /** Drops what the delta tagged `tag` wrote, unless a later delta rewrote it. */
  forget(tag: number): void {
    const keys = this.#keysByTag.get(tag);
    if (keys === undefined) return;
    this.#keysByTag.delete(tag);
    for (const path of keys.paths) {
      if (this.#nodes.get(path)?.tag === tag) this.#nodes.delete(path);
    }
    for (const sessionId of keys.sessions) {
      if (this.#sessions.get(sessionId)?.tag === tag) this.#sessions.delete(sessionId);
    }
  }

  clear(): void {
    this.#nodes.clear();
    this.#sessions.clear();
    this.#keysByTag.clear();
  }

  #keysFor(tag: number): TaggedKeys {
    let keys = this.#keysByTag.get(tag);
    if (keys === undefined) {
      keys = { paths: [], sessions: [] };
      this.#keysByTag.set(tag, keys);
    }
    return keys;
  }

  #storeFor(tag: number): RecordStore {
    const setNode = (path: string, record: NodeRecord | undefined): void => {
      this.#nodes.set(path, { record, tag });
      this.#keysFor(tag).paths.push(path);
    };
    const setSession = (sessionId: bigint, timeoutMs: number | undefined): void => {
      this.#sessions.set(sessionId, { timeoutMs, tag });
      this.#keysFor(tag).sessions.push(sessionId);
    };
    return {
      node: (path) => this.node(path),
      sessionTimeoutMs: (sessionId) => this.sessionTimeoutMs(sessionId),
      ephemeralsOf: (sessionId) => this.ephemeralsOf(sessionId),
      putNode: (path, record) => setNode(path, record),
      removeNode: (path) => setNode(path, undefined),
      putSession: (sessionId, timeoutMs) => setSession(sessionId, timeoutMs),
      removeSession: (sessionId) => setSession(sessionId, undefined),
    };
  }
}
