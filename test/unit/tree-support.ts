// Shared fixtures for the tree tests: a tree with a clock and a zxid
// counter, and short builders for requests.

import { Perm } from "../../src/protocol/codes.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { prepare } from "../../src/tree/prepare.js";
import type { Acl, CreateKind, Id, PrepareOutcome, RequestContext, Stat, TreeEvent, TreeOptions, WriteRequest } from "../../src/tree/types.js";
import type { TreeView } from "../../src/tree/view.js";

export const testOptions: TreeOptions = { ttlEnabled: true, dataBytesMax: 64, childrenMax: 8 };

export const open: Acl[] = [{ perms: Perm.all, id: { scheme: "world", id: "anyone" } }];

export function worldAcl(perms: number): Acl[] {
  return [{ perms, id: { scheme: "world", id: "anyone" } }];
}

export function bytes(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

export interface CreateOptions {
  data?: Buffer | null;
  acl?: readonly Acl[];
  flags?: number;
  kind?: CreateKind;
  ttl?: bigint;
}

export function create(path: string, options: CreateOptions = {}): WriteRequest {
  return {
    op: "create",
    kind: options.kind ?? "create2",
    path,
    data: options.data === undefined ? bytes("x") : options.data,
    acl: options.acl ?? open,
    flags: options.flags ?? 0,
    ttl: options.ttl ?? -1n,
  };
}

export interface WriteOutcome {
  outcome: PrepareOutcome;
  events: TreeEvent[];
}

/** A DataTree driven one write at a time: prepare against it, apply on success. */
export class Harness {
  readonly tree = new DataTree();
  zxid = 0x100n;
  timeMs = 1_000_000n;
  sessionId = 0n;
  authIds: Id[] = [];
  options: TreeOptions = testOptions;

  context(overrides: Partial<RequestContext> = {}): RequestContext {
    return { sessionId: this.sessionId, authIds: this.authIds, zxid: this.zxid + 1n, timeMs: this.timeMs, ...overrides };
  }

  prepare(request: WriteRequest, overrides: Partial<RequestContext> = {}, view: TreeView = this.tree): PrepareOutcome {
    return prepare(view, request, this.context(overrides), this.options);
  }

  write(request: WriteRequest, overrides: Partial<RequestContext> = {}): WriteOutcome {
    const outcome = this.prepare(request, overrides);
    if (!outcome.ok) return { outcome, events: [] };
    this.zxid = outcome.delta.zxid;
    return { outcome, events: this.tree.apply(outcome.delta) };
  }

  /** Writes and insists on success. */
  ok(request: WriteRequest, overrides: Partial<RequestContext> = {}): WriteOutcome {
    const result = this.write(request, overrides);
    if (!result.outcome.ok) throw new Error(`${request.op} failed with ${result.outcome.err}`);
    return result;
  }

  /** The error code of a request that must fail (0 if it succeeded). */
  err(request: WriteRequest, overrides: Partial<RequestContext> = {}): number {
    const outcome = this.prepare(request, overrides);
    return outcome.ok ? 0 : outcome.err;
  }

  openSession(sessionId: bigint, timeoutMs = 30_000): void {
    this.ok({ op: "createSession", sessionId, timeoutMs });
    this.sessionId = sessionId;
  }
}

/** Every observable part of a tree, for comparing two trees exactly. */
export function treeImage(tree: DataTree): unknown {
  return {
    nodes: [...tree.paths()].map((path) => [path, tree.node(path), tree.childrenOf(path)]),
    sessions: [...tree.sessions()],
    ephemerals: [...tree.ephemeralsBySession()].map(([id, paths]) => [id, [...paths]]),
    containers: [...tree.containerPaths()],
    ttls: [...tree.ttlPaths()],
    nodeCount: tree.nodeCount,
    approximateDataSize: tree.approximateDataSize,
    lastZxid: tree.lastZxid,
  };
}

/** The Stat of a built-in node: every field zero. */
export const zeroStat: Stat = {
  czxid: 0n,
  mzxid: 0n,
  ctime: 0n,
  mtime: 0n,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 0,
  numChildren: 0,
  pzxid: 0n,
};
