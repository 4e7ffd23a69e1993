// How a node's writes, syncs and session readiness are carried out: the one
// place where a single node and a multi-region node differ. MaestroServer
// and the request handler talk to a WritePath and never ask which kind it
// is. A single node wraps its CommitPipeline (SingleNodeWritePath, below);
// a node of a cluster runs the region broker (ClusterNode, cluster-node.ts).

import type { LeaseStatusReport } from "../broker/status.js";
import type { Id, MultiOpResult, OpResult, WriteRequest } from "../tree/types.js";
import { StorageError, type CommitPipeline } from "./commit-pipeline.js";

/** What a client's write came to, as the handler answers it. */
export type WriteOutcome =
  /** Applied here; `zxid` goes in the reply header. */
  | { kind: "ok"; result: OpResult; zxid: bigint }
  /** Refused by the tree's checks: the ZooKeeper error, per-op results for a multi. */
  | { kind: "failed"; err: number; multiResults?: MultiOpResult[] }
  /** Outcome unknown to the client (log failure, owner unreachable): ConnectionLoss. */
  | { kind: "connectionLoss"; reason: string };

export interface WritePath {
  /** Zxid of the last delta applied to this node's tree. */
  readonly lastAppliedZxid: bigint;
  /** Writes accepted and not yet applied (for `srvr`'s Outstanding). */
  readonly inFlightCount: number;
  /** Top byte of the session ids this node hands out (ZooKeeper's server id). */
  readonly sessionIdPrefix: number;
  /** Starts background work (links, timers); resolves once the node can take writes. */
  start(): Promise<void>;
  /** Stops background work; pending writes stay unanswered (the process is going away). */
  close(): Promise<void>;
  /** One write; resolves once it is applied here or refused. Rejects only on a bug. */
  write(request: WriteRequest, sessionId: bigint, authIds: readonly Id[]): Promise<WriteOutcome>;
  /** sync(path): resolves true once this node has caught up for `path`, false for ConnectionLoss. */
  sync(path: string): Promise<boolean>;
  /** Calls `ready(true)` once the session may read `paths` (its earlier writes are visible here, and nothing
   *  there is a write the node may yet have to give up), `ready(false)` if that takes too long. */
  whenSessionReady(sessionId: bigint, ready: (ok: boolean) => void, paths?: readonly string[]): void;
  /** Whether a client may attach to this session now (its ephemerals' owners are reachable). */
  sessionReachable(sessionId: bigint): boolean;
  /** Whether a session recovered from storage is this node's to track and expire. */
  ownsSession(sessionId: bigint): boolean;
  /** Whether this node's sweep should delete an expired container or TTL node at `path`. */
  sweeps(path: string): boolean;
  /** The `leas` answer; null without brokers. */
  leaseStatus(): LeaseStatusReport | null;
}

/** A single node: every write goes through its own commit pipeline. */
export class SingleNodeWritePath implements WritePath {
  readonly #pipeline: CommitPipeline;
  readonly sessionIdPrefix = 0;

  constructor(pipeline: CommitPipeline) {
    this.#pipeline = pipeline;
  }

  get lastAppliedZxid(): bigint {
    return this.#pipeline.lastAppliedZxid;
  }

  get inFlightCount(): number {
    return this.#pipeline.inFlightCount;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  write(request: WriteRequest, sessionId: bigint, authIds: readonly Id[]): Promise<WriteOutcome> {
    return this.#pipeline.submit(request, sessionId, authIds).then(
      (outcome): WriteOutcome => {
        if (outcome.ok) return { kind: "ok", result: outcome.result, zxid: outcome.delta.zxid };
        return { kind: "failed", err: outcome.err, ...(outcome.multiResults === undefined ? {} : { multiResults: outcome.multiResults }) };
      },
      (error: unknown): WriteOutcome => {
        // The log could not take the write: it may or may not survive a crash. Anything else is a bug.
        if (!(error instanceof StorageError)) throw error;
        return { kind: "connectionLoss", reason: error.message };
      },
    );
  }

  /** Every write accepted before the sync is applied when it answers: one node has nothing else to catch up with. */
  sync(): Promise<boolean> {
    return this.#pipeline.barrier().then(() => true);
  }

  whenSessionReady(_sessionId: bigint, ready: (ok: boolean) => void): void {
    ready(true);
  }

  sessionReachable(): boolean {
    return true;
  }

  ownsSession(): boolean {
    return true;
  }

  sweeps(): boolean {
    return true;
  }

  leaseStatus(): LeaseStatusReport | null {
    return null;
  }
}
