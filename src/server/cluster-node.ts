// A node of a multi-region deployment: the I/O edge around the pure region
// broker (RegionCore). It owns the core, the broker links to the other
// nodes (BrokerTransport) and the tick timer, and carries out what the core
// asks through CoreEffects: send to a region, append to the data
// directory's log, tell the server a delta was applied, drop a session's
// connection. The server sees it only as a WritePath.
//
// Every call into the core passes Date.now(): the core itself never reads
// a clock. Each region has one node for now, so a region's broker is the
// first (only) node configured for it.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { BrokerTransport } from "../broker/link.js";
import type { BrokerMessage, Envelope, RegionName, UnitName } from "../broker/messages.js";
import type { OperatorReply, OperatorRequest } from "../broker/operator.js";
import { RegionCore, type CoreEffects, type WriteAnswer } from "../broker/region-core.js";
import type { BrokerSettings, NodeAddress } from "../broker/settings.js";
import type { LeaseStatusReport } from "../broker/status.js";
import { BrokerWireError } from "../broker/wire.js";
import type { NodeStorage } from "../storage/index.js";
import type { DataTree } from "../tree/data-tree.js";
import type { Delta, Id, TreeEvent, TreeOptions, WriteRequest } from "../tree/types.js";
import type { WriteOutcome, WritePath } from "./write-path.js";

/** How often the core's timers (renewals, forward deadlines, retries) are looked at. */
export const clusterTickMs = 50;
/** File in the data directory holding the last broker incarnation. */
export const incarnationFileName = "broker-incarnation";
/** File in the data directory saying why the node stopped for good (its replica diverged). */
export const haltFileName = "HALTED";
/** How long an operator command waits for the move or eviction it started to be recorded. */
export const operatorWaitMs = 30_000;

/** What makes a node part of a deployment, besides the server's own settings. */
export interface ClusterMembership {
  settings: BrokerSettings;
  /** Shared by every node; authenticates broker links. */
  secret: Buffer;
  /** Grows on every start (nextIncarnation). */
  incarnation: number;
  /** From NodeStorage.open: own deltas to ship again, and the root's stream tail. */
  replayedStampedDeltas: readonly Delta[];
}

export interface ClusterNodeOptions extends ClusterMembership {
  tree: DataTree;
  treeOptions: TreeOptions;
  /** The region log; without it deltas are durable at once (tests). */
  storage: NodeStorage | null;
  logger: Logger;
  /** A delta reached the tree: stats, snapshots, watches. */
  onApplied(delta: Delta, events: TreeEvent[]): void;
  /** Drop the client connection of a session (not the session). */
  disconnectSession(sessionId: bigint): void;
  /** The region's replica diverged (RegionCore's halt): stop serving; the reason is for the operator. */
  onHalt(reason: string): void;
}

/** What this node knows of a peer's incarnation, to notice a restart the links did not show. */
interface PeerLife {
  epoch: number;
  /** The link to the peer went down since that incarnation was last heard. */
  wentDown: boolean;
}

/** A read waiting for its session's last forwarded write to be applied here. */
interface ReadyWait {
  deadlineMs: number;
  expire(): void;
}

export class ClusterNode implements WritePath {
  readonly settings: BrokerSettings;
  readonly sessionIdPrefix: number;
  readonly #core: RegionCore;
  readonly #transport: BrokerTransport;
  readonly #storage: NodeStorage | null;
  readonly #logger: Logger;
  readonly #options: ClusterNodeOptions;
  readonly #regionOfNode = new Map<string, RegionName>();
  readonly #nodeOfRegion = new Map<RegionName, string>();
  readonly #peers = new Map<string, PeerLife>();
  /** Reads held until their session is ready, failed by the tick at their deadline. */
  readonly #readyWaits = new Set<ReadyWait>();
  /** Bumped when the log fails: answers for appends of before are stale (their zxids get reused). */
  #logGeneration = 0;
  #tickTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ClusterNodeOptions) {
    const { settings } = options;
    this.settings = settings;
    this.#options = options;
    this.#storage = options.storage;
    this.#logger = options.logger.child({ component: "broker", region: settings.region });
    const regionIndex = settings.regions.indexOf(settings.region);
    if (regionIndex < 0) throw new Error(`assertion: region ${settings.region} is not in settings.regions`);
    // The core reads a session's region from the top byte of its id: index + 1.
    this.sessionIdPrefix = regionIndex + 1;
    for (const node of settings.nodes) {
      this.#regionOfNode.set(node.id, node.region);
      if (!this.#nodeOfRegion.has(node.region)) this.#nodeOfRegion.set(node.region, node.id);
    }
    this.#transport = this.#createTransport(options);
    this.#core = new RegionCore({
      settings,
      tree: options.tree,
      options: options.treeOptions,
      effects: this.#effects(),
      nowMs: Date.now(),
    });
    this.#core.restoreUnshipped(options.replayedStampedDeltas);
    this.#core.restoreStream(options.replayedStampedDeltas);
  }

  #createTransport(options: ClusterNodeOptions): BrokerTransport {
    const { settings } = options;
    const self = settings.nodes.find((node) => node.id === settings.nodeId);
    if (self === undefined) throw new Error(`assertion: node ${settings.nodeId} is not in settings.nodes`);
    return new BrokerTransport({
      self,
      nodes: dialableNodes(settings),
      secret: options.secret,
      incarnation: options.incarnation,
      messageBytesMax: settings.messageBytesMax,
      logger: options.logger,
      onMessage: (envelope) => this.#receive(envelope),
      onLinkChange: (nodeId, up) => this.#linkChanged(nodeId, up),
      onOperator: (request) => this.#operator(request),
    });
  }

  #effects(): CoreEffects {
    return {
      send: (region, message) => this.#send(region, message),
      append: (delta) => this.#append(delta),
      applied: (delta, events) => this.#options.onApplied(delta, events),
      disconnectSession: (sessionId) => this.#options.disconnectSession(sessionId),
      halt: (reason) => this.#options.onHalt(reason),
      log: (level, message, fields) => this.#logger[level](loggable(fields ?? {}), message),
    };
  }

  // ------------------------------------------------------------ operator

  /** `maestro move` and `maestro evict` (operator.ts), on the node carrying the root role. */
  async #operator(request: OperatorRequest): Promise<OperatorReply> {
    const reply = (ok: boolean, message: string, detail: Record<string, unknown> = {}): OperatorReply => ({
      requestId: request.requestId, ok, message, detail: JSON.stringify(detail),
    });
    this.#logger.info({ request }, "operator command");
    if (request.type === "move") {
      const started = this.#core.operatorMove(request.unit, request.region, Date.now());
      if (!started.ok) return reply(false, started.message);
      const done = await this.#waitFor(() => {
        const lease = this.#core.unitLease(request.unit);
        return lease.owner === request.region && !lease.moving;
      });
      const lease = this.#core.unitLease(request.unit);
      const detail = { unit: request.unit, owner: lease.owner, epoch: lease.epoch, moving: lease.moving };
      if (done) return reply(true, `${request.unit} is held by ${lease.owner} at epoch ${lease.epoch}`, detail);
      return reply(false, `${started.message}: not finished within ${operatorWaitMs} ms (is ${lease.owner} reachable? it must release the unit)`, detail);
    }
    const evicted = this.#core.operatorEvict(request.region, Date.now());
    if (!evicted.ok) return reply(false, evicted.message);
    const taken = (unit: UnitName): boolean => this.#core.unitLease(unit).owner !== request.region;
    const done = await this.#waitFor(() => evicted.units.every(taken));
    const detail = { region: request.region, units: evicted.units, root: this.settings.rootRegion };
    if (done) return reply(true, evicted.message, detail);
    return reply(false, `${evicted.message}, but not all recorded within ${operatorWaitMs} ms`, detail);
  }

  /** Resolves true once `condition` holds (looked at every tick), false after operatorWaitMs. */
  #waitFor(condition: () => boolean): Promise<boolean> {
    const deadline = Date.now() + operatorWaitMs;
    return new Promise((resolve) => {
      const look = (): void => {
        if (condition()) resolve(true);
        else if (this.#closed || Date.now() >= deadline) resolve(false);
        else setTimeout(look, clusterTickMs).unref();
      };
      look();
    });
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const port = await this.#transport.start();
    this.#logger.info({ node: this.settings.nodeId, brokerPort: port, incarnation: this.#options.incarnation }, "broker links listening");
    this.#tickTimer = setInterval(() => this.#tick(), clusterTickMs);
    this.#tickTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#tickTimer);
    await this.#transport.close();
  }

  // ------------------------------------------------------------ WritePath

  get lastAppliedZxid(): bigint {
    return this.#core.lastAppliedZxid;
  }

  get inFlightCount(): number {
    const progress = this.#core.progress();
    return progress.staged + progress.forwards + progress.parked;
  }

  write(request: WriteRequest, sessionId: bigint, authIds: readonly Id[]): Promise<WriteOutcome> {
    // Session requests are queued under the session they create or close, whoever submits them.
    const session = request.op === "createSession" || request.op === "closeSession" ? request.sessionId : sessionId;
    return new Promise((resolve) => {
      this.#core.write(session, request, [...authIds], Date.now(), (answer) => resolve(this.#outcome(answer)));
    });
  }

  #outcome(answer: WriteAnswer): WriteOutcome {
    switch (answer.kind) {
      case "ok":
        // Zxids are per region: the reply carries how far this node's tree has got.
        return { kind: "ok", result: answer.result, zxid: this.#core.lastAppliedZxid };
      case "failed":
        return { kind: "failed", err: answer.err, ...(answer.multiResults === undefined ? {} : { multiResults: answer.multiResults }) };
      case "connectionLoss":
        return answer;
    }
  }

  sync(path: string): Promise<boolean> {
    return new Promise((resolve) => this.#core.sync(path, Date.now(), resolve));
  }

  /**
   * The core holds a session's reads until its last forwarded write is
   * applied here, which needs the stream from the root; bounded so that a
   * node cut off from the root answers ConnectionLoss rather than nothing.
   */
  whenSessionReady(sessionId: bigint, ready: (ok: boolean) => void, paths: readonly string[] = []): void {
    let settled = false;
    const wait: ReadyWait = {
      deadlineMs: Date.now() + this.settings.forwardTimeoutMs,
      expire: () => {
        if (settled) return;
        settled = true;
        ready(false);
      },
    };
    this.#core.whenSessionReady(
      sessionId,
      () => {
        if (settled) return;
        settled = true;
        this.#readyWaits.delete(wait);
        ready(true);
      },
      paths,
    );
    if (!settled) this.#readyWaits.add(wait);
  }

  #tick(): void {
    const now = Date.now();
    this.#core.tick(now);
    for (const wait of this.#readyWaits) {
      if (now < wait.deadlineMs) continue;
      this.#readyWaits.delete(wait);
      wait.expire();
    }
  }

  /** Halted (the replica diverged) and every own write the root accepts is in its stream. */
  get drained(): boolean {
    return this.#core.drained;
  }

  sessionReachable(sessionId: bigint): boolean {
    return this.#core.sessionReachable(sessionId, Date.now());
  }

  /** The SessionTable holds this region's sessions only; the tree holds every region's. */
  ownsSession(sessionId: bigint): boolean {
    return Number(BigInt.asUintN(64, sessionId) >> 56n) === this.sessionIdPrefix;
  }

  /** Only the owner of a node's unit deletes it, so regions do not race to sweep the same node. */
  sweeps(path: string): boolean {
    return this.#core.lease(this.#core.units.unitOfNode(path)).owner === this.settings.region;
  }

  leaseStatus(): LeaseStatusReport {
    return this.#core.leaseStatus(this.settings.nodeId);
  }

  // ------------------------------------------------------------ effects

  #send(region: RegionName, message: BrokerMessage): boolean {
    const nodeId = this.#nodeOfRegion.get(region);
    if (nodeId === undefined || this.#closed) return false;
    try {
      return this.#transport.send(nodeId, message);
    } catch (error) {
      if (!(error instanceof BrokerWireError)) throw error;
      // Too large to ever get through: the core treats it as a lost message and its callers time out.
      this.#logger.error({ peer: nodeId, type: message.type, error: error.message }, "broker message not sent");
      return false;
    }
  }

  /** The region log is the data directory's log; the core applies in log order once durable. */
  #append(delta: Delta): void {
    const generation = this.#logGeneration;
    const current = (): boolean => generation === this.#logGeneration && !this.#closed;
    if (this.#storage === null) {
      queueMicrotask(() => {
        if (current()) this.#core.logDurable(delta.zxid, Date.now());
      });
      return;
    }
    this.#storage.append(delta).then(
      () => {
        if (current()) this.#core.logDurable(delta.zxid, Date.now());
      },
      (error: unknown) => {
        if (!current()) return;
        // Everything staged is dropped at once; later failures of the same batch are old news.
        this.#logGeneration += 1;
        this.#core.logFailed(String(error), Date.now());
      },
    );
  }

  // ------------------------------------------------------------ links

  #receive(envelope: Envelope): void {
    if (this.#closed) return;
    const peer = this.#peers.get(envelope.from);
    if (peer !== undefined && envelope.epoch < peer.epoch) {
      this.#logger.info({ peer: envelope.from, epoch: envelope.epoch, current: peer.epoch }, "message from an earlier life of a peer dropped");
      return;
    }
    if (peer === undefined || envelope.epoch > peer.epoch) this.#peerRestarted(envelope, peer);
    this.#core.receive(envelope.region, envelope.message, Date.now());
  }

  /**
   * A peer came back under a new incarnation. If our link to it never went
   * down meanwhile (a proxy between us kept our side open), the core is told
   * as if it had: what it sent the old life is lost and must be redone.
   */
  #peerRestarted(envelope: Envelope, previous: PeerLife | undefined): void {
    this.#peers.set(envelope.from, { epoch: envelope.epoch, wentDown: false });
    if (previous === undefined || previous.wentDown) return;
    this.#logger.info({ peer: envelope.from, epoch: envelope.epoch }, "peer restarted without its link going down");
    const now = Date.now();
    this.#core.linkChanged(envelope.region, false, now);
    if (this.#transport.isUp(envelope.from)) this.#core.linkChanged(envelope.region, true, now);
  }

  #linkChanged(nodeId: string, up: boolean): void {
    const region = this.#regionOfNode.get(nodeId);
    if (region === undefined || this.#closed) return;
    const peer = this.#peers.get(nodeId);
    if (!up && peer !== undefined) peer.wentDown = true;
    this.#logger.info({ peer: nodeId, peerRegion: region, up }, up ? "region link up" : "region link down");
    this.#core.linkChanged(region, up, Date.now());
  }
}

/** Peers as this node dials them: a configured dial address (a WAN emulator's port) replaces the broker address. */
export function dialableNodes(settings: BrokerSettings): NodeAddress[] {
  return settings.nodes.map((node) => {
    const dial = node.id === settings.nodeId ? undefined : settings.dialAddresses[node.id];
    return dial === undefined ? node : { ...node, brokerHost: dial.host, brokerPort: dial.port };
  });
}

/**
 * The next broker incarnation for the node whose data directory this is:
 * above the last one recorded there and not below the clock, so it grows
 * across restarts even if the file or the clock goes backwards. Call with
 * the directory locked (after NodeStorage.open).
 */
export function nextIncarnation(dataDir: string, nowMs: number): number {
  const path = join(dataDir, incarnationFileName);
  let previous = 0;
  try {
    const text = readFileSync(path, "utf8").trim();
    if (/^\d{1,15}$/.test(text)) previous = Number(text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const next = Math.max(previous + 1, Math.floor(nowMs));
  writeSmallFileDurably(path, `${next}\n`);
  return next;
}

/** Leaves the reason a node stopped for good in its data directory, so that it does not serve from it again. */
export function writeHaltMarker(dataDir: string, reason: string): void {
  writeSmallFileDurably(join(dataDir, haltFileName), `${new Date().toISOString()} ${reason}\n`);
}

/** Written aside, synced and renamed: a crash mid-write leaves the old file (or none), never a torn one. */
function writeSmallFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The reason a node stopped for good, or null when its data directory holds no halt marker. */
export function readHaltMarker(dataDir: string): string | null {
  try {
    return readFileSync(join(dataDir, haltFileName), "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Log fields with bigints (zxids, sequence numbers) as strings: JSON has no bigints. */
function loggable(fields: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))) as Record<
    string,
    unknown
  >;
}
