// Turning a write request into a fully decided delta, checked against the
// applied state plus pending deltas (any TreeView), in ZooKeeper's order
// (PrepRequestProcessor.pRequest2Txn). Nothing here mutates the view.

import { ErrorCode, Perm, containerEphemeralOwner, ttlMsMax } from "../protocol/codes.js";
import { checkAcl, fixupAcl } from "./acl.js";
import {
  clientStat,
  createdRecord,
  dataLength,
  nextCversion,
  nextVersion,
  ownerKind,
  recordAfterSetAcl,
  recordAfterSetData,
  ttlExpired,
  ttlOwner,
  type CreateDeltaOp,
  type NodeRecord,
} from "./node.js";
import { TreeOverlay } from "./overlay.js";
import { hasNul, isSpecialPath, parentOf, sequenceSuffix, validatePath } from "./paths.js";
import type { DeltaOp, MultiOpResult, OpResult, PrepareOutcome, RequestContext, TreeOptions, WriteRequest } from "./types.js";
import type { TreeView } from "./view.js";

/** Defaults for a standalone server. */
export const defaultTreeOptions: TreeOptions = {
  ttlEnabled: false,
  // jute.maxbuffer (0xfffff) bounds a whole request frame anyway.
  dataBytesMax: 0xfffff,
  childrenMax: 1_000_000,
};

type CreateRequest = Extract<WriteRequest, { op: "create" }>;
type SingleRequest = Exclude<WriteRequest, { op: "multi" }>;
type OpOutcome = { ok: true; ops: DeltaOp[]; result: OpResult } | { ok: false; err: number };

function fail(err: number): { ok: false; err: number } {
  return { ok: false, err };
}

/**
 * Decides a write request against `view` (applied state plus pending
 * deltas). On success the delta carries ctx.zxid/ctx.timeMs and the result
 * is exactly what applying the delta produces.
 */
export function prepare(view: TreeView, request: WriteRequest, ctx: RequestContext, options: TreeOptions): PrepareOutcome {
  if (request.op === "multi") return prepareMulti(view, request.ops, ctx, options);
  const outcome = prepareSingle(view, request, ctx, options);
  if (!outcome.ok) return fail(outcome.err);
  return { ok: true, delta: { zxid: ctx.zxid, timeMs: ctx.timeMs, sessionId: ctx.sessionId, ops: outcome.ops }, result: outcome.result };
}

function prepareSingle(view: TreeView, request: SingleRequest, ctx: RequestContext, options: TreeOptions): OpOutcome {
  switch (request.op) {
    case "create":
      return prepareCreate(view, request, ctx, options);
    case "delete":
      return prepareDelete(view, request.path, request.version, ctx);
    case "setData":
      return prepareSetData(view, request, ctx, options);
    case "setACL":
      return prepareSetAcl(view, request, ctx);
    case "check":
      return prepareCheck(view, request.path, request.version, ctx);
    case "deleteContainer":
      return prepareDeleteContainer(view, request.path, ctx);
    case "createSession":
      return prepareCreateSession(view, request.sessionId, request.timeoutMs);
    case "closeSession":
      return prepareCloseSession(view, request.sessionId);
    case "deleteEphemerals":
      return prepareDeleteEphemerals(view, request.sessionId, request.paths);
  }
}

/** Version -1 matches anything; otherwise it must equal the current one. */
function versionMatches(current: number, expected: number): boolean {
  return expected === -1 || expected === current;
}

interface CreateMode {
  readonly ephemeral: boolean;
  readonly sequential: boolean;
  readonly ttl: boolean;
}

/** CreateMode.fromFlag, indexed by flag. */
const createModes: readonly CreateMode[] = [
  { ephemeral: false, sequential: false, ttl: false }, // persistent
  { ephemeral: true, sequential: false, ttl: false }, // ephemeral
  { ephemeral: false, sequential: true, ttl: false }, // persistentSequential
  { ephemeral: true, sequential: true, ttl: false }, // ephemeralSequential
  { ephemeral: false, sequential: false, ttl: false }, // container
  { ephemeral: false, sequential: false, ttl: true }, // persistentWithTtl
  { ephemeral: false, sequential: true, ttl: true }, // persistentSequentialWithTtl
];

type ModeOutcome = { ok: true; mode: CreateMode; owner: bigint } | { ok: false; err: number };

/**
 * Flags, TTL and session checks that come before anything about the path
 * (CreateMode.fromFlag, then validateCreateRequest). Only createTTL carries
 * a ttl; the other opcodes behave as ttl = -1, so TTL flags on them fail
 * validateTTL. The node type follows the opcode for createContainer and
 * createTTL, and the flags otherwise: flag 4 on create/create2 makes a
 * plain persistent node in ZooKeeper (a CreateTxn with ephemeral=false).
 */
function createModeOf(view: TreeView, request: CreateRequest, ctx: RequestContext, options: TreeOptions): ModeOutcome {
  const mode = Number.isInteger(request.flags) ? createModes[request.flags] : undefined;
  if (mode === undefined) return fail(ErrorCode.badArguments);
  if (mode.ttl && !options.ttlEnabled) return fail(ErrorCode.unimplemented);
  const ttl = request.kind === "createTTL" ? request.ttl : -1n;
  if (mode.ttl ? ttl <= 0n || ttl > ttlMsMax : ttl >= 0n) return fail(ErrorCode.badArguments);
  // createTTL with a non-TTL flag and a negative ttl passes ZooKeeper's
  // checks and then fails while applying; refuse it here instead.
  if (request.kind === "createTTL" && !mode.ttl) return fail(ErrorCode.badArguments);
  // An ephemeral needs a live session that is not closing, or it would
  // outlive the closeSession that should have deleted it.
  if (mode.ephemeral && (ctx.sessionId === 0n || view.sessionTimeoutMs(ctx.sessionId) === undefined)) {
    return fail(ErrorCode.sessionExpired);
  }
  return { ok: true, mode, owner: ownerFor(request.kind, mode, ctx.sessionId, ttl) };
}

function ownerFor(kind: CreateRequest["kind"], mode: CreateMode, sessionId: bigint, ttl: bigint): bigint {
  if (kind === "createContainer") return containerEphemeralOwner;
  if (kind === "createTTL") return ttlOwner(ttl);
  return mode.ephemeral ? sessionId : 0n;
}

function prepareCreate(view: TreeView, request: CreateRequest, ctx: RequestContext, options: TreeOptions): OpOutcome {
  const decided = createModeOf(view, request, ctx, options);
  if (!decided.ok) return decided;
  const parentPath = hasNul(request.path) ? undefined : parentOf(request.path);
  if (parentPath === undefined) return fail(ErrorCode.badArguments);
  const acl = fixupAcl(request.acl, ctx.authIds);
  if (!acl.ok) return acl;
  const parent = view.node(parentPath);
  if (parent === undefined) return fail(ErrorCode.noNode);
  if (!checkAcl(parent.acl, Perm.create, ctx.authIds)) return fail(ErrorCode.noAuth);
  // The suffix is the parent's stored cversion, which counts creations only.
  const path = decided.mode.sequential ? request.path + sequenceSuffix(parent.cversion) : request.path;
  if (validatePath(path) !== ErrorCode.ok) return fail(ErrorCode.badArguments);
  if (view.node(path) !== undefined) return fail(ErrorCode.nodeExists);
  if (ownerKind(parent.ephemeralOwner) === "session") return fail(ErrorCode.noChildrenForEphemerals);
  // Our own limits sit where ZooKeeper checks quotas. BadArguments because
  // every client version knows it (QuotaExceeded is 3.7+ only).
  if (dataLength(request.data) > options.dataBytesMax) return fail(ErrorCode.badArguments);
  if (parent.numChildren >= options.childrenMax) return fail(ErrorCode.badArguments);
  const op: CreateDeltaOp = {
    type: "create",
    path,
    data: request.data,
    acl: acl.acl,
    ephemeralOwner: decided.owner,
    parentCversion: nextCversion(parent.cversion),
  };
  const stat = clientStat(createdRecord(op, ctx.zxid, ctx.timeMs));
  return { ok: true, ops: [op], result: { op: "create", kind: request.kind, path, stat } };
}

/** getParentPathAndValidate: no '/', a NUL or a built-in node is refused. */
function deletableParent(path: string): string | undefined {
  if (hasNul(path) || isSpecialPath(path)) return undefined;
  return parentOf(path);
}

function prepareDelete(view: TreeView, path: string, version: number, ctx: RequestContext): OpOutcome {
  const parentPath = deletableParent(path);
  if (parentPath === undefined) return fail(ErrorCode.badArguments);
  const parent = view.node(parentPath);
  if (parent === undefined) return fail(ErrorCode.noNode);
  if (!checkAcl(parent.acl, Perm.delete, ctx.authIds)) return fail(ErrorCode.noAuth);
  const node = view.node(path);
  if (node === undefined) return fail(ErrorCode.noNode);
  if (!versionMatches(node.version, version)) return fail(ErrorCode.badVersion);
  if (node.numChildren > 0) return fail(ErrorCode.notEmpty);
  return { ok: true, ops: [{ type: "delete", path }], result: { op: "delete" } };
}

/** Validation, existence and permission shared by setData, setACL, check. */
function existingWithPermission(view: TreeView, path: string, perm: number, ctx: RequestContext): NodeRecord | number {
  if (validatePath(path) !== ErrorCode.ok) return ErrorCode.badArguments;
  const node = view.node(path);
  if (node === undefined) return ErrorCode.noNode;
  if (!checkAcl(node.acl, perm, ctx.authIds)) return ErrorCode.noAuth;
  return node;
}

function prepareSetData(
  view: TreeView,
  request: Extract<WriteRequest, { op: "setData" }>,
  ctx: RequestContext,
  options: TreeOptions,
): OpOutcome {
  const node = existingWithPermission(view, request.path, Perm.write, ctx);
  if (typeof node === "number") return fail(node);
  if (dataLength(request.data) > options.dataBytesMax) return fail(ErrorCode.badArguments);
  if (!versionMatches(node.version, request.version)) return fail(ErrorCode.badVersion);
  const version = nextVersion(node.version);
  const stat = clientStat(recordAfterSetData(node, request.data, version, ctx.zxid, ctx.timeMs));
  return { ok: true, ops: [{ type: "setData", path: request.path, data: request.data, version }], result: { op: "setData", stat } };
}

function prepareSetAcl(view: TreeView, request: Extract<WriteRequest, { op: "setACL" }>, ctx: RequestContext): OpOutcome {
  if (validatePath(request.path) !== ErrorCode.ok) return fail(ErrorCode.badArguments);
  // fixupACL comes before the node lookup: an invalid ACL on a missing
  // node is InvalidACL, not NoNode.
  const acl = fixupAcl(request.acl, ctx.authIds);
  if (!acl.ok) return acl;
  const node = existingWithPermission(view, request.path, Perm.admin, ctx);
  if (typeof node === "number") return fail(node);
  if (!versionMatches(node.aversion, request.version)) return fail(ErrorCode.badVersion);
  const aversion = nextVersion(node.aversion);
  const stat = clientStat(recordAfterSetAcl(node, acl.acl, aversion));
  return { ok: true, ops: [{ type: "setACL", path: request.path, acl: acl.acl, aversion }], result: { op: "setACL", stat } };
}

function prepareCheck(view: TreeView, path: string, version: number, ctx: RequestContext): OpOutcome {
  const node = existingWithPermission(view, path, Perm.read, ctx);
  if (typeof node === "number") return fail(node);
  if (!versionMatches(node.version, version)) return fail(ErrorCode.badVersion);
  return { ok: true, ops: [], result: { op: "check" } };
}

/**
 * The sweep's delete (ZooKeeper's deleteContainer), re-checked at prepare
 * time because the node may have changed since the sweep looked: it must
 * still exist, be empty, be a container or TTL node, and a TTL node must
 * still be expired at ctx.timeMs (a setData in between renews it).
 */
function prepareDeleteContainer(view: TreeView, path: string, ctx: RequestContext): OpOutcome {
  const parentPath = deletableParent(path);
  if (parentPath === undefined) return fail(ErrorCode.badArguments);
  const node = view.node(path);
  if (node === undefined) return fail(ErrorCode.noNode);
  if (node.numChildren > 0) return fail(ErrorCode.notEmpty);
  const kind = ownerKind(node.ephemeralOwner);
  if (kind !== "container" && kind !== "ttl") return fail(ErrorCode.badVersion);
  if (kind === "ttl" && !ttlExpired(node, ctx.timeMs)) return fail(ErrorCode.badVersion);
  if (view.node(parentPath) === undefined) return fail(ErrorCode.noNode);
  return { ok: true, ops: [{ type: "delete", path }], result: { op: "deleteContainer" } };
}

function prepareCreateSession(view: TreeView, sessionId: bigint, timeoutMs: number): OpOutcome {
  // Session ids must not collide with the container or TTL owner encodings.
  if (ownerKind(sessionId) !== "session") return fail(ErrorCode.badArguments);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return fail(ErrorCode.badArguments);
  if (view.sessionTimeoutMs(sessionId) !== undefined) return fail(ErrorCode.badArguments);
  return { ok: true, ops: [{ type: "createSession", sessionId, timeoutMs }], result: { op: "createSession" } };
}

/** Close or expiry: one delete per ephemeral (pending ones included), then the close. */
function prepareCloseSession(view: TreeView, sessionId: bigint): OpOutcome {
  if (view.sessionTimeoutMs(sessionId) === undefined) return fail(ErrorCode.sessionExpired);
  const ops: DeltaOp[] = view.ephemeralsOf(sessionId).map((path) => ({ type: "delete", path }));
  ops.push({ type: "closeSession", sessionId });
  return { ok: true, ops, result: { op: "closeSession" } };
}

/**
 * Multi-region close, in the region owning some of a session's ephemerals:
 * deletes those of `paths` that are still the session's, and nothing else.
 * The session itself stays (it lives in its home region), and paths that
 * are gone or now belong to someone else are skipped rather than refused,
 * because the home region names them from a view that may be stale. No ACL
 * check: like closeSession it is an internal request. Zero ops is a success.
 */
function prepareDeleteEphemerals(view: TreeView, sessionId: bigint, paths: readonly string[]): OpOutcome {
  // A non-session id would match persistent (owner 0), container or TTL nodes.
  if (ownerKind(sessionId) !== "session") return fail(ErrorCode.badArguments);
  const ops: DeltaOp[] = [];
  for (const path of new Set(paths)) {
    if (view.node(path)?.ephemeralOwner === sessionId) ops.push({ type: "delete", path });
  }
  return { ok: true, ops, result: { op: "deleteEphemerals" } };
}

/** Operations a multi may carry (MultiOperationRecord's write ops). */
function isMultiSubOp(request: WriteRequest): request is Extract<WriteRequest, { op: "create" | "delete" | "setData" | "check" }> {
  return request.op === "create" || request.op === "delete" || request.op === "setData" || request.op === "check";
}

/**
 * All or nothing, one zxid: each op is prepared against a scratch overlay
 * that already holds the earlier ops' effects. The first failure decides
 * the per-op answers and no delta is produced.
 */
function prepareMulti(view: TreeView, requests: readonly WriteRequest[], ctx: RequestContext, options: TreeOptions): PrepareOutcome {
  const scratch = new TreeOverlay(view);
  const ops: DeltaOp[] = [];
  const results: MultiOpResult[] = [];
  for (const [index, request] of requests.entries()) {
    const outcome = isMultiSubOp(request) ? prepareSingle(scratch, request, ctx, options) : fail(ErrorCode.badArguments);
    if (!outcome.ok) return { ok: false, err: outcome.err, multiResults: failedMultiResults(requests.length, index, outcome.err) };
    scratch.applyDelta({ zxid: ctx.zxid, timeMs: ctx.timeMs, sessionId: ctx.sessionId, ops: outcome.ops });
    ops.push(...outcome.ops);
    results.push(outcome.result);
  }
  return { ok: true, delta: { zxid: ctx.zxid, timeMs: ctx.timeMs, sessionId: ctx.sessionId, ops }, result: { op: "multi", results } };
}

/** 0 before the failing op, its code at it, RuntimeInconsistency after it. */
function failedMultiResults(count: number, failedIndex: number, err: number): MultiOpResult[] {
  const results: MultiOpResult[] = [];
  for (let index = 0; index < count; index++) {
    const code = index < failedIndex ? ErrorCode.ok : index === failedIndex ? err : ErrorCode.runtimeInconsistency;
    results.push({ op: "error", err: code });
  }
  return results;
}
