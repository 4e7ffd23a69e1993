// Applying a delta: deterministic, never decides, never fails on a delta
// that was prepared against the state it is applied to. Anything else is a
// bug and trips an invariant.

import { EventType } from "../protocol/codes.js";
import { invariant } from "./assert.js";
import {
  createdRecord,
  nextCversion,
  nextVersion,
  ownerKind,
  parentAfterCreate,
  parentAfterDelete,
  recordAfterSetAcl,
  recordAfterSetData,
  type CreateDeltaOp,
  type NodeRecord,
} from "./node.js";
import { isSpecialPath, isValidPath, parentOf } from "./paths.js";
import type { Delta, DeltaOp, TreeEvent } from "./types.js";
import type { RecordStore } from "./view.js";

/** Applies every op of the delta in order and returns the watch events. */
export function applyDeltaTo(store: RecordStore, delta: Delta): TreeEvent[] {
  const events: TreeEvent[] = [];
  for (const op of delta.ops) applyOp(store, op, delta, events);
  return events;
}

function applyOp(store: RecordStore, op: DeltaOp, delta: Delta, events: TreeEvent[]): void {
  switch (op.type) {
    case "create": {
      applyCreate(store, op, delta);
      const parentPath = parentPathOf(op.path);
      events.push(
        { type: EventType.nodeCreated, path: op.path, acl: op.acl },
        { type: EventType.nodeChildrenChanged, path: parentPath, acl: existingNode(store, parentPath).acl },
      );
      return;
    }
    case "delete": {
      const acl = existingNode(store, op.path).acl;
      applyDelete(store, op.path, delta.zxid);
      const parentPath = parentPathOf(op.path);
      events.push(
        { type: EventType.nodeDeleted, path: op.path, acl },
        { type: EventType.nodeChildrenChanged, path: parentPath, acl: existingNode(store, parentPath).acl },
      );
      return;
    }
    case "setData": {
      const node = existingNode(store, op.path);
      invariant(op.version === nextVersion(node.version), `setData ${op.path}: version ${op.version} after ${node.version}`);
      store.putNode(op.path, recordAfterSetData(node, op.data, op.version, delta.zxid, delta.timeMs));
      events.push({ type: EventType.nodeDataChanged, path: op.path, acl: node.acl });
      return;
    }
    case "setACL": {
      const node = existingNode(store, op.path);
      invariant(op.aversion === nextVersion(node.aversion), `setACL ${op.path}: aversion ${op.aversion} after ${node.aversion}`);
      store.putNode(op.path, recordAfterSetAcl(node, op.acl, op.aversion));
      return;
    }
    case "createSession":
      invariant(ownerKind(op.sessionId) === "session", `createSession: ${op.sessionId} is not a session id`);
      invariant(store.sessionTimeoutMs(op.sessionId) === undefined, `createSession: ${op.sessionId} is already live`);
      store.putSession(op.sessionId, op.timeoutMs);
      return;
    case "closeSession":
      invariant(store.sessionTimeoutMs(op.sessionId) !== undefined, `closeSession: ${op.sessionId} is not live`);
      invariant(store.ephemeralsOf(op.sessionId).length === 0, `closeSession: ${op.sessionId} still owns ephemerals`);
      store.removeSession(op.sessionId);
      return;
  }
}

function parentPathOf(path: string): string {
  const parent = parentOf(path);
  invariant(parent !== undefined, `no parent for ${path}`);
  return parent;
}

function existingNode(store: RecordStore, path: string): NodeRecord {
  const node = store.node(path);
  invariant(node !== undefined, `no node ${path}`);
  return node;
}

function applyCreate(store: RecordStore, op: CreateDeltaOp, delta: Delta): void {
  invariant(isValidPath(op.path) && op.path !== "/", `create: invalid path ${op.path}`);
  const parentPath = parentPathOf(op.path);
  const parent = existingNode(store, parentPath);
  invariant(store.node(op.path) === undefined, `create: ${op.path} exists`);
  invariant(ownerKind(parent.ephemeralOwner) !== "session", `create: parent of ${op.path} is ephemeral`);
  invariant(op.parentCversion === nextCversion(parent.cversion), `create ${op.path}: parent cversion ${op.parentCversion} after ${parent.cversion}`);
  if (ownerKind(op.ephemeralOwner) === "session") {
    invariant(store.sessionTimeoutMs(op.ephemeralOwner) !== undefined, `create ${op.path}: owner session is not live`);
  }
  store.putNode(parentPath, parentAfterCreate(parent, op.parentCversion, delta.zxid));
  store.putNode(op.path, createdRecord(op, delta.zxid, delta.timeMs));
}

function applyDelete(store: RecordStore, path: string, zxid: bigint): void {
  invariant(!isSpecialPath(path), `delete: ${path} is a built-in node`);
  const node = existingNode(store, path);
  invariant(node.numChildren === 0, `delete: ${path} has children`);
  const parentPath = parentPathOf(path);
  store.removeNode(path);
  store.putNode(parentPath, parentAfterDelete(existingNode(store, parentPath), zxid));
}
