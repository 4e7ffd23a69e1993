// A Maestro node serving the ZooKeeper client protocol: the listening
// socket, sessions, the write path, watches and the periodic work
// (session expiry, container/TTL sweep). The semantics of each request live
// in the pure tree; this layer adds sockets, time and ordering. Whether the
// node is a single node (its own commit pipeline) or a region of a cluster
// (the region broker) is decided once, in the choice of WritePath.

import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { JuteReader } from "../protocol/archive.js";
import { readConnectRequest, writeConnectResponse } from "../protocol/records.generated.js";
import { DataTree } from "../tree/data-tree.js";
import { PendingTree } from "../tree/pending.js";
import { WatchManager } from "../tree/watches.js";
import { expiredContainersAndTtls } from "../tree/sweep.js";
import { checkAcl } from "../tree/acl.js";
import { Perm } from "../protocol/codes.js";
import type { Delta, TreeEvent, TreeOptions } from "../tree/types.js";
import { CommitPipeline, VolatileDeltaLog } from "./commit-pipeline.js";
import { ClusterNode, writeHaltMarker, type ClusterMembership } from "./cluster-node.js";
import { SingleNodeWritePath, type WritePath } from "./write-path.js";
import type { NodeStorage } from "../storage/index.js";
import { ClientConnection, type ConnectionHost, type Reply } from "./connection.js";
import { sessionTimeoutBounds, type ServerConfig } from "./config.js";
import { SessionTable, sessionPasswordBytes } from "./sessions.js";
import { plainAddress } from "./auth.js";
import { encodeBody, notificationFrame } from "./replies.js";
import { RequestHandler } from "./handler.js";
import type { ClientRequest } from "./requests.js";
import { answerFourLetterWord, isKnownFourLetterWord } from "./four-letter-words.js";
import { ServerStats } from "./stats.js";
import type { LeaseStatusReport } from "../broker/status.js";

export interface MaestroServerOptions {
  config: ServerConfig;
  logger: Logger;
  /** Durable storage: the delta log, snapshots when due. Without it nothing survives a restart. */
  storage?: NodeStorage;
  /** The tree recovered from storage (a fresh one otherwise). */
  tree?: DataTree;
  /** Secret session passwords derive from; persisted with the data so sessions survive restart. */
  sessionSecret?: Buffer;
  /** This node's place in a multi-region deployment; without it, a single node. */
  cluster?: ClusterMembership;
  /** Called once the server stopped because its region's replica diverged (after an operator's evict). */
  onHalt?(reason: string): void;
}

/** How long a halted node keeps shipping its own writes to the root before it stops anyway. */
export const haltDrainMsMax = 60_000;

export class MaestroServer implements ConnectionHost {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly tree: DataTree;
  readonly watches: WatchManager<number>;
  readonly sessions: SessionTable;
  /** How writes reach the tree (named for what four-letter words read from it). */
  readonly pipeline: WritePath;
  readonly connections = new Map<number, ClientConnection>();
  readonly stats = new ServerStats();
  readonly startedMs = Date.now();
  readonly treeOptions: TreeOptions;
  readonly storage: NodeStorage | null;
  readonly #handler: RequestHandler;
  readonly #server: Server;
  #timers: NodeJS.Timeout[] = [];
  #stopping = false;
  /** The region's replica diverged: no client connection is accepted any more. */
  #halted = false;
  #cluster: ClusterNode | null = null;
  readonly #onHalt: ((reason: string) => void) | undefined;

  constructor(options: MaestroServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.tree = options.tree ?? new DataTree();
    this.treeOptions = {
      ttlEnabled: this.config.ttlEnabled,
      dataBytesMax: this.config.frameBytesMax,
      childrenMax: this.config.childrenMax,
    };
    this.watches = new WatchManager<number>({ watchesPerWatcherMax: this.config.watchesPerConnectionMax });
    this.storage = options.storage ?? null;
    this.#onHalt = options.onHalt;
    this.pipeline = options.cluster === undefined ? this.#singleNodePath() : this.#clusterPath(options.cluster);
    this.sessions = new SessionTable({ serverId: this.pipeline.sessionIdPrefix, nowWallMs: Date.now(), secret: options.sessionSecret });
    // Sessions recovered from storage time out afresh from start-up, as in ZooKeeper.
    for (const [sessionId, timeoutMs] of this.tree.sessions()) {
      if (this.pipeline.ownsSession(sessionId)) this.sessions.add(sessionId, timeoutMs, performance.now());
    }
    this.#handler = new RequestHandler(this);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  #singleNodePath(): WritePath {
    const pipeline = new CommitPipeline({
      tree: this.tree,
      pending: new PendingTree(this.tree),
      log: this.storage ?? new VolatileDeltaLog(),
      options: this.treeOptions,
      onApplied: (delta, events) => this.#onApplied(delta, events),
    });
    return new SingleNodeWritePath(pipeline);
  }

  #clusterPath(membership: ClusterMembership): WritePath {
    this.#cluster = new ClusterNode({
      ...membership,
      tree: this.tree,
      treeOptions: this.treeOptions,
      storage: this.storage,
      logger: this.logger,
      onApplied: (delta, events) => this.#onApplied(delta, events),
      disconnectSession: (sessionId) => this.#disconnectSession(sessionId),
      onHalt: (reason) => this.#halt(reason),
    });
    return this.#cluster;
  }

  /**
   * The region's replica diverged: the reason goes into the data directory
   * (start-up refuses to serve from it) and the server stops.
   */
  #halt(reason: string): void {
    this.logger.error({ reason }, "halting: this node must not serve from its data any more");
    try {
      writeHaltMarker(this.config.dataDir, reason);
    } catch (error) {
      this.logger.error({ err: error }, "could not write the halt marker");
    }
    // No client is served from here on; the broker keeps shipping what the root may still accept.
    this.#halted = true;
    for (const connection of this.connections.values()) connection.destroy();
    const deadline = Date.now() + haltDrainMsMax;
    const waitForDrain = (): void => {
      if (this.#cluster?.drained !== true && Date.now() < deadline && !this.#stopping) {
        setTimeout(waitForDrain, 100).unref();
        return;
      }
      if (this.#cluster?.drained !== true) this.logger.error({ waitedMs: haltDrainMsMax }, "halting before every own write reached the root");
      void this.stop().finally(() => this.#onHalt?.(reason));
    };
    waitForDrain();
  }

  get lastAppliedZxid(): bigint {
    return this.pipeline.lastAppliedZxid;
  }
  get frameBytesMax(): number {
    return this.config.frameBytesMax;
  }
  get requestsQueuedMax(): number {
    return this.config.connectionRequestsQueuedMax;
  }
  get outputBytesMax(): number {
    return this.config.connectionOutputBytesMax;
  }

  /** Starts the write path (broker links), then listening; resolves with the bound client port. */
  async listen(): Promise<number> {
    await this.pipeline.start();
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.config.port, this.config.host, () => {
        this.#server.off("error", reject);
        const address = this.#server.address();
        const port = typeof address === "object" && address !== null ? address.port : this.config.port;
        this.#startTimers();
        resolve(port);
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.connections.values()) connection.destroy();
    await closed;
    await this.pipeline.close();
    await this.storage?.close();
  }

  /**
   * This region's sessions that reach the tree from elsewhere (a node whose
   * data was wiped learns of its region's earlier sessions from the root's
   * stream) are timed here like recovered ones, so they expire and their
   * ephemerals go; those closed there are forgotten.
   */
  #adoptReplicatedSessions(delta: Delta): void {
    for (const op of delta.ops) {
      if ((op.type !== "createSession" && op.type !== "closeSession") || !this.pipeline.ownsSession(op.sessionId)) continue;
      const entry = this.sessions.get(op.sessionId);
      if (op.type === "createSession" && entry === undefined) this.sessions.add(op.sessionId, op.timeoutMs, performance.now());
      else if (op.type === "closeSession" && entry !== undefined && !entry.closing && entry.connectionId === null) this.sessions.remove(op.sessionId);
    }
  }

  #startTimers(): void {
    const expiryCheckMs = Math.max(10, Math.min(1000, Math.floor(this.config.tickTimeMs / 2)));
    this.#timers.push(setInterval(() => this.#expireSessions(), expiryCheckMs));
    this.#timers.push(setInterval(() => this.#sweepContainers(), this.config.containerSweepIntervalMs));
    for (const timer of this.#timers) timer.unref();
  }

  #accept(socket: Socket): void {
    if (this.#stopping || this.#halted || this.connections.size >= this.config.connectionsMax) {
      this.logger.warn({ remote: socket.remoteAddress }, "refusing connection: too many connections");
      socket.destroy();
      return;
    }
    const connection = new ClientConnection(socket, this, plainAddress(socket.remoteAddress));
    connection.authIds = [{ scheme: "ip", id: connection.remoteAddress }];
    this.connections.set(connection.id, connection);
    this.stats.connectionsAccepted += 1;
  }

  closed(connection: ClientConnection): void {
    this.connections.delete(connection.id);
    this.watches.removeWatcher(connection.id);
    const session = this.sessions.get(connection.sessionId);
    if (session !== undefined && session.connectionId === connection.id) session.connectionId = null;
  }

  touch(connection: ClientConnection): void {
    this.sessions.touch(connection.sessionId, performance.now());
  }

  isFourLetterWord(word: string): boolean {
    return isKnownFourLetterWord(word);
  }

  fourLetterWord(connection: ClientConnection, word: string): string {
    return answerFourLetterWord(this, connection, word);
  }

  /** The `leas` answer; null on a single node (no broker). */
  leaseStatus(): LeaseStatusReport | null {
    return this.pipeline.leaseStatus();
  }

  handle(connection: ClientConnection, xid: number, request: ClientRequest): Reply | Promise<Reply> {
    return this.#handler.handle(connection, xid, request);
  }

  /** ConnectRequest: new session, or reattach to one with id and password. */
  async handshake(connection: ClientConnection, body: Buffer): Promise<void> {
    const reader = new JuteReader(body);
    const request = readConnectRequest(reader);
    // readOnly is optional on the wire: answer with it only if it was sent.
    const readOnly = reader.remaining() >= 1 ? reader.readBool() : null;
    if (request.lastZxidSeen > this.pipeline.lastAppliedZxid) {
      this.logger.warn(
        { connection: connection.id, lastZxidSeen: request.lastZxidSeen.toString(16), zxid: this.pipeline.lastAppliedZxid.toString(16) },
        "refusing client whose last seen zxid is ahead of this server",
      );
      connection.close("zxid ahead");
      return;
    }
    const timeoutMs = this.#negotiateTimeout(request.timeOut);
    if (request.sessionId === 0n) {
      await this.#createSession(connection, timeoutMs, readOnly);
    } else {
      this.#reattachSession(connection, request.sessionId, request.passwd, timeoutMs, readOnly);
    }
  }

  #negotiateTimeout(requestedMs: number): number {
    const { min, max } = sessionTimeoutBounds(this.config);
    return Math.min(max, Math.max(min, requestedMs));
  }

  async #createSession(connection: ClientConnection, timeoutMs: number, readOnly: boolean | null): Promise<void> {
    if (this.sessions.size >= this.config.sessionsMax) {
      this.logger.warn({ connection: connection.id }, "refusing new session: too many sessions");
      connection.close("too many sessions");
      return;
    }
    const sessionId = this.sessions.allocateId();
    const entry = this.sessions.add(sessionId, timeoutMs, performance.now());
    entry.closing = true; // not usable until the createSession delta is applied
    const outcome = await this.pipeline.write({ op: "createSession", sessionId, timeoutMs }, 0n, []);
    if (outcome.kind !== "ok" || connection.state !== "handshake") {
      this.sessions.remove(sessionId);
      if (outcome.kind === "ok") void this.closeSession(sessionId);
      connection.close("session not created");
      return;
    }
    entry.closing = false;
    this.sessions.touch(sessionId, performance.now());
    this.#open(connection, sessionId, timeoutMs, readOnly);
    this.logger.debug({ connection: connection.id, session: sessionId.toString(16), timeoutMs }, "session created");
  }

  #reattachSession(
    connection: ClientConnection,
    sessionId: bigint,
    password: Buffer | null,
    timeoutMs: number,
    readOnly: boolean | null,
  ): void {
    const entry = this.sessions.get(sessionId);
    // Like ZooKeeper, the connection holding the session is closed before the
    // password is checked: a reconnect attempt always takes the session over.
    const previous = entry?.connectionId === null ? undefined : this.connections.get(entry?.connectionId ?? -1);
    if (previous !== undefined && previous !== connection) {
      this.watches.removeWatcher(previous.id);
      previous.destroy();
    }
    if (entry === undefined || entry.closing || !this.sessions.verifyPassword(sessionId, password)) {
      // ZooKeeper's answer to an expired or unknown session: timeout 0, id 0, zero password.
      connection.sendFrame(this.#connectResponse(0, 0n, Buffer.alloc(sessionPasswordBytes), readOnly));
      connection.close("session expired or unknown");
      return;
    }
    if (!this.pipeline.sessionReachable(sessionId)) {
      // The owners of the session's ephemerals are out of reach: no answer, as from a ZooKeeper server
      // without quorum. The client keeps trying and keeps its session if they come back in time.
      this.logger.info({ connection: connection.id, session: sessionId.toString(16) }, "refusing to reattach: ephemerals' owners unreachable");
      connection.close("session's ephemerals' owners unreachable");
      return;
    }
    entry.timeoutMs = timeoutMs;
    this.sessions.touch(sessionId, performance.now());
    this.#open(connection, sessionId, timeoutMs, readOnly);
  }

  #open(connection: ClientConnection, sessionId: bigint, timeoutMs: number, readOnly: boolean | null): void {
    const entry = this.sessions.get(sessionId);
    if (entry !== undefined) entry.connectionId = connection.id;
    connection.markOpen(sessionId, timeoutMs);
    connection.sendFrame(this.#connectResponse(timeoutMs, sessionId, this.sessions.passwordOf(sessionId), readOnly));
  }

  #connectResponse(timeoutMs: number, sessionId: bigint, passwd: Buffer, readOnly: boolean | null): Buffer {
    return encodeBody((w) => {
      writeConnectResponse(w, { protocolVersion: 0, timeOut: timeoutMs, sessionId, passwd });
      if (readOnly !== null) w.writeBool(false);
    });
  }

  /** Closes a session through the log: its ephemerals go in the same delta. */
  closeSession(sessionId: bigint): Promise<void> {
    const entry = this.sessions.get(sessionId);
    if (entry !== undefined) entry.closing = true;
    const failed = (error: string): void => {
      if (entry !== undefined) entry.closing = false;
      this.logger.error({ session: sessionId.toString(16), error }, "closing session failed");
    };
    return this.pipeline.write({ op: "closeSession", sessionId }, 0n, []).then(
      (outcome) => (outcome.kind === "connectionLoss" ? failed(outcome.reason) : this.sessions.remove(sessionId)),
      (error: unknown) => failed(String(error)),
    );
  }

  #expireSessions(): void {
    for (const entry of this.sessions.expired(performance.now())) {
      this.logger.info({ session: entry.id.toString(16), timeoutMs: entry.timeoutMs }, "session expired");
      const connection = entry.connectionId === null ? undefined : this.connections.get(entry.connectionId);
      connection?.destroy();
      void this.closeSession(entry.id);
    }
  }

  #sweepContainers(): void {
    const paths = expiredContainersAndTtls(this.tree, BigInt(Date.now()), {
      containerNeverUsedMs: BigInt(this.config.containerNeverUsedMs),
    });
    const failed = (path: string, error: string): void => this.logger.error({ path, error }, "container sweep failed");
    for (const path of paths) {
      if (!this.pipeline.sweeps(path)) continue;
      void this.pipeline.write({ op: "deleteContainer", path }, 0n, []).then(
        (outcome) => (outcome.kind === "connectionLoss" ? failed(path, outcome.reason) : undefined),
        (error: unknown) => failed(path, String(error)),
      );
    }
  }

  /** Runs the sweep now (tests and operators). */
  sweepNow(): void {
    this.#sweepContainers();
  }

  /** The broker cannot reach the owners of a session's ephemerals: its client goes, the session stays. */
  #disconnectSession(sessionId: bigint): void {
    const connectionId = this.sessions.get(sessionId)?.connectionId ?? null;
    const connection = connectionId === null ? undefined : this.connections.get(connectionId);
    if (connection === undefined) return;
    this.logger.warn({ session: sessionId.toString(16), connection: connection.id }, "disconnecting a session whose ephemerals' owners are unreachable");
    connection.destroy();
  }

  #onApplied(delta: Delta, events: TreeEvent[]): void {
    this.stats.lastAppliedZxid = delta.zxid;
    this.#adoptReplicatedSessions(delta);
    this.storage?.noteApplied(this.tree);
    for (const event of events) {
      for (const notification of this.watches.trigger(event.path, event.type)) {
        const connection = this.connections.get(notification.watcher);
        // Watchers that may not read the node do not learn of it (CVE-2024-23944).
        if (connection === undefined || !checkAcl(event.acl, Perm.read, connection.authIds)) continue;
        connection.notify(notificationFrame(notification.type, notification.path));
      }
    }
  }
}
