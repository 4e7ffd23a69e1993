// The client history the deterministic simulator records and its checkers
// read. One entry per operation a simulated client issued; times are on the
// simulator's virtual clock. Pure data: no behaviour lives here.

import { ErrorCode } from "../protocol/codes.js";

/**
 * One client operation.
 *
 * Real-time order: `a` precedes `b` when `a.completeMs < b.invokeMs`
 * (strictly). Operations that touch at the same millisecond count as
 * concurrent, so the simulator should let virtual time pass between an
 * answer and an operation that depends on it if the check is to see the
 * dependency.
 */
export interface HistoryOp {
  /** Unique within a history; the issue order within a session breaks ties of `invokeMs`. */
  id: number;
  session: string;
  region: string;
  invokeMs: number;
  /** When the answer arrived; null = never answered (crash, timeout, end of the run). */
  completeMs: number | null;
  /** The lease unit the operation touches (the simulator issues single-unit operations only). */
  unit: string;
  call: ZnodeCall;
  /**
   * What the client was told; null when the outcome is unknown (never
   * answered, or answered with ConnectionLoss). Such an operation may take
   * effect at any time after its invocation, or never.
   */
  result: ZnodeResult | null;
  /**
   * Unknown outcome only, optional: the time after which the operation can
   * no longer take effect, if the simulator knows one (for example once
   * everything its session sent is settled). Without it an unknown write
   * stays a candidate until the end of the history, which costs search.
   */
  effectDeadlineMs?: number;
}

export type ZnodeCall =
  | { op: "create"; path: string; data: string; sequential: boolean }
  /** version -1 = any version. */
  | { op: "setData"; path: string; data: string; version: number }
  | { op: "delete"; path: string; version: number }
  /** synced: issued right after a sync(path) on the same session, so it must be linearizable. */
  | { op: "getData"; path: string; synced: boolean }
  | { op: "getChildren"; path: string; synced: boolean };

/**
 * A successful answer carries exactly the fields of its operation:
 * - create: `path` (the actual path, with the sequence suffix if any)
 * - setData: `version` (the new version)
 * - delete: nothing
 * - getData: `data` and `version`
 * - getChildren: `children` (child names, not full paths; compared sorted)
 */
export type ZnodeResult =
  | { ok: true; path?: string; version?: number; data?: string; children?: string[] }
  | { ok: false; err: ZnodeErrorCode };

/** The ZooKeeper error codes the znode model answers with. */
export const ZnodeError = {
  noNode: ErrorCode.noNode,
  nodeExists: ErrorCode.nodeExists,
  badVersion: ErrorCode.badVersion,
  notEmpty: ErrorCode.notEmpty,
} as const;
export type ZnodeErrorCode = (typeof ZnodeError)[keyof typeof ZnodeError];

/** True for reads (they never change state). */
export function isRead(call: ZnodeCall): call is Extract<ZnodeCall, { op: "getData" | "getChildren" }> {
  return call.op === "getData" || call.op === "getChildren";
}

/** One line for messages: `#12 s1 setData /a v-1 "x" -> {"ok":true,"version":3}`. */
export function describeOp(op: HistoryOp): string {
  const result = op.result === null ? "unknown" : JSON.stringify(op.result);
  return `#${op.id} ${op.session} ${describeCall(op.call)} -> ${result}`;
}

export function describeCall(call: ZnodeCall): string {
  switch (call.op) {
    case "create":
      return `create${call.sequential ? "(seq)" : ""} ${call.path} ${JSON.stringify(call.data)}`;
    case "setData":
      return `setData ${call.path} v${call.version} ${JSON.stringify(call.data)}`;
    case "delete":
      return `delete ${call.path} v${call.version}`;
    case "getData":
    case "getChildren":
      return `${call.op}${call.synced ? "(synced)" : ""} ${call.path}`;
  }
}
