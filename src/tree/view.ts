// What prepare needs to know about the tree, and what applying a delta
// needs to change. DataTree (applied state) and TreeOverlay (applied state
// plus staged deltas) both provide these.

import type { NodeRecord } from "./node.js";

/** Read-only state a write is prepared against. */
export interface TreeView {
  node(path: string): NodeRecord | undefined;
  /** The session's timeout when it is live, undefined otherwise. */
  sessionTimeoutMs(sessionId: bigint): number | undefined;
  /** Paths of the session's ephemeral nodes, sorted (deterministic deltas). */
  ephemeralsOf(sessionId: bigint): string[];
}

/** A TreeView that a delta can be applied to (see applyDeltaTo). */
export interface RecordStore extends TreeView {
  /** Inserts a new node under its existing parent, or replaces a node. */
  putNode(path: string, record: NodeRecord): void;
  removeNode(path: string): void;
  putSession(sessionId: bigint, timeoutMs: number): void;
  removeSession(sessionId: bigint): void;
}
