// Per-session guarantees that linearizability of one unit does not cover
// (design §6): FIFO order of a session's operations, reads that never go
// back in time within a session, and reads that see the session's own
// writes. These hold for unsynced reads too, and across units.

import { ZnodeError, describeOp } from "./history.js";
import type { HistoryOp } from "./history.js";
import { parentPath } from "./znode-model.js";

export type SessionViolationKind = "fifo" | "monotonic-reads" | "read-your-writes";

export interface SessionViolation {
  kind: SessionViolationKind;
  session: string;
  /** The earlier op, then the op that breaks the guarantee. */
  opIds: number[];
  message: string;
}

/** A znode a session knows to exist, at this version or newer. */
interface Sighting {
  readonly version: number;
  readonly op: HistoryOp;
}

type Sightings = Map<string, Sighting>;

/** All three checks. */
export function checkSessions(history: readonly HistoryOp[]): SessionViolation[] {
  return [...checkFifoOrder(history), ...checkMonotonicReads(history), ...checkReadYourWrites(history)];
}

/** No op completes before an op the same session issued earlier (ConnectionLoss answers included). */
export function checkFifoOrder(history: readonly HistoryOp[]): SessionViolation[] {
  const violations: SessionViolation[] = [];
  for (const [session, ops] of opsBySession(history)) {
    let latest: HistoryOp | null = null;
    for (const op of ops) {
      if (op.completeMs === null) continue;
      if (latest !== null && op.completeMs < latest.completeMs!) {
        violations.push({
          kind: "fifo",
          session,
          opIds: [latest.id, op.id],
          message: `${describeOp(op)} completed at ${op.completeMs} ms, before ${describeOp(latest)} issued earlier completed at ${latest.completeMs} ms`,
        });
      }
      if (latest === null || op.completeMs > latest.completeMs!) latest = op;
    }
  }
  return violations;
}

/**
 * A read never shows a znode older than one the session has already read:
 * a lower version, NoNode, or a child list missing it. Paths that any
 * session may have deleted are skipped, since a re-created znode starts
 * again at version 0.
 */
export function checkMonotonicReads(history: readonly HistoryOp[]): SessionViolation[] {
  return checkSightings(history, "monotonic-reads", sightingsFromRead);
}

/** A read shows the session's own successful creates and setData, at their version or newer. */
export function checkReadYourWrites(history: readonly HistoryOp[]): SessionViolation[] {
  return checkSightings(history, "read-your-writes", sightingsFromWrite);
}

type SightingSource = (op: HistoryOp, sightings: Sightings) => void;

function checkSightings(history: readonly HistoryOp[], kind: SessionViolationKind, learn: SightingSource): SessionViolation[] {
  const deleted = possiblyDeletedPaths(history);
  const violations: SessionViolation[] = [];
  for (const [session, ops] of opsBySession(history)) {
    const sightings: Sightings = new Map();
    for (const op of ops) {
      for (const [earlier, message] of staleness(op, sightings, deleted)) {
        violations.push({ kind, session, opIds: [earlier.id, op.id], message: `${describeOp(op)} ${message} ${describeOp(earlier)}` });
      }
      learn(op, sightings);
    }
  }
  return violations;
}

/** What `op`, a read, fails to show of what the session already knows: [op that showed it, message]. */
function staleness(op: HistoryOp, sightings: Sightings, deleted: ReadonlySet<string>): [HistoryOp, string][] {
  const result = op.result;
  if (result === null) return [];
  const { call } = op;
  if (call.op !== "getData" && call.op !== "getChildren") return [];
  const known = deleted.has(call.path) ? undefined : sightings.get(call.path);
  if (!result.ok) {
    const missing = result.err === ZnodeError.noNode && known !== undefined;
    return missing ? [[known.op, `reports NoNode for a znode known to exist since`]] : [];
  }
  if (call.op === "getData") {
    const older = known !== undefined && result.version !== undefined && result.version < known.version;
    return older ? [[known!.op, `shows version ${result.version}, older than version ${known!.version} seen in`]] : [];
  }
  return missingChildren(call.path, result.children ?? [], sightings, deleted);
}

function missingChildren(path: string, children: readonly string[], sightings: Sightings, deleted: ReadonlySet<string>): [HistoryOp, string][] {
  const listed = new Set(children.map((name) => childPath(path, name)));
  const found: [HistoryOp, string][] = [];
  for (const [known, sighting] of sightings) {
    if (parentPath(known) !== path || listed.has(known) || deleted.has(known)) continue;
    found.push([sighting.op, `misses child ${known}, known to exist since`]);
  }
  return found;
}

function sightingsFromRead(op: HistoryOp, sightings: Sightings): void {
  const { call, result } = op;
  if (result === null || !result.ok) return;
  if (call.op === "getData" && result.version !== undefined) see(sightings, call.path, result.version, op);
  if (call.op !== "getChildren") return;
  see(sightings, call.path, 0, op);
  for (const name of result.children ?? []) see(sightings, childPath(call.path, name), 0, op);
}

function sightingsFromWrite(op: HistoryOp, sightings: Sightings): void {
  const { call, result } = op;
  if (result === null || !result.ok) return;
  if (call.op === "create") see(sightings, result.path ?? call.path, 0, op);
  if (call.op === "setData" && result.version !== undefined) see(sightings, call.path, result.version, op);
}

function see(sightings: Sightings, path: string, version: number, op: HistoryOp): void {
  const known = sightings.get(path);
  if (known === undefined || known.version < version) sightings.set(path, { version, op });
}

/** Paths a delete may have removed: answered ok, or of unknown outcome. */
function possiblyDeletedPaths(history: readonly HistoryOp[]): Set<string> {
  const paths = new Set<string>();
  for (const op of history) {
    if (op.call.op === "delete" && (op.result === null || op.result.ok)) paths.add(op.call.path);
  }
  return paths;
}

/** Each session's ops in issue order. */
function opsBySession(history: readonly HistoryOp[]): Map<string, HistoryOp[]> {
  const bySession = new Map<string, HistoryOp[]>();
  for (const op of history) {
    const ops = bySession.get(op.session);
    if (ops === undefined) bySession.set(op.session, [op]);
    else ops.push(op);
  }
  for (const ops of bySession.values()) ops.sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  return bySession;
}

function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}
