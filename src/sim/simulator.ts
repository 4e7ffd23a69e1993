// The deterministic simulator (design section 8): every region's broker
// (the same RegionCore the server runs), their region logs, the network
// between them and the clients, in one process on a virtual clock, driven
// by one seeded random source. Faults are swarmed from the seed: message
// loss, delay and reordering, duplication, partitions (one-way too), node
// crashes (losing what was not yet durable) and restarts, operator moves of
// units. Checked during the run: at most one region may write a unit at
// any moment, and every node agrees on who owned a unit at each epoch.
// Checked at the end, after healing: identical trees everywhere, per-unit
// linearizability of the client history, FIFO and monotonic reads per
// session, causal order of writes across units, and no ephemeral outliving
// its session. Pure: no I/O, no clock, no randomness but the seed's.

import { encodeEnvelope, decodeEnvelope } from "../broker/wire.js";
import type { BrokerMessage, RegionName } from "../broker/messages.js";
import { RegionCore, type WriteAnswer } from "../broker/region-core.js";
import type { BrokerSettings, LeaseRootRule, MigrationPolicy } from "../broker/settings.js";
import { ErrorCode } from "../protocol/codes.js";
import { DataTree } from "../tree/data-tree.js";
import { prepare } from "../tree/prepare.js";
import type { Acl, Delta, OpResult, WriteRequest } from "../tree/types.js";
import type { HistoryOp, ZnodeCall, ZnodeResult } from "./history.js";
import { SeededRandom } from "./random.js";
import { checkSessions } from "./session-checks.js";
import { checkZnodeHistory } from "./znode-model.js";
import { EventQueue } from "./event-queue.js";
import { treeDifferences } from "./tree-compare.js";

export interface SimulationOptions {
  seed: number;
  /** Client sessions per region. */
  sessionsPerRegion: number;
  /** Operations each session issues. */
  opsPerSession: number;
  /** Inject faults (the swarm decides which and how often). */
  faults: boolean;
  /** Round-trip every message through the protobuf wire encoding. */
  wire: boolean;
  /** Prints the cores' log lines whose message contains `match` (debugging a seed). */
  trace?: { match: string; print: (line: string) => void };
  /** Migration policy of the contended units (`/shared` and `/p/*`); default static. */
  policy?: SimulatedPolicy;
}

export type SimulatedPolicy = "static" | "consecutive" | "majority-window" | "majority-window-split";

export interface SimulationResult {
  seed: number;
  ok: boolean;
  failures: string[];
  stats: Record<string, number | string>;
}

const openAcl: Acl[] = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
const regions: RegionName[] = ["r0", "r1", "r2"];
const keys = ["k0", "k1", "k2"];
/** Units and their configuration: the root unit stays out of the workload. */
/** Children of /shared each region writes mostly its own of: a splitting policy makes them units. */
const splitChildren = ["/shared/s0", "/shared/s1", "/shared/s2"];
/** Where the workload writes, one history group each: the units, and the split candidates. */
const unitPaths = ["/r1", "/r2", "/shared", "/g", "/p/a", "/p/b", ...splitChildren];
const ephemeralUnits = ["/e1", "/e2"];
/** Lease roots clients create and delete: children of /p (homed at r2) and of /q (no home: the creator's). */
const createdUnits = ["/p", "/q"].flatMap((parent) => [0, 1, 2].map((index) => `${parent}/c${index}`));
const homeUnits: Record<RegionName, string[]> = {
  r0: ["/shared", "/shared/s0"],
  r1: ["/r1", "/g", "/shared/s1"],
  r2: ["/r2", "/p/a", "/p/b", "/shared/s2"],
};

const simulatedLeaseRoots: LeaseRootRule[] = [
  { pattern: "/r1", home: "r1", durability: "region", policy: { name: "static" } },
  { pattern: "/r2", home: "r2", durability: "region", policy: { name: "static" } },
  { pattern: "/shared", home: null, durability: "region", policy: { name: "static" } },
  { pattern: "/g", home: "r1", durability: "global", policy: { name: "static" } },
  { pattern: "/p/*", home: "r2", durability: "region", policy: { name: "static" } },
  { pattern: "/q/*", home: null, durability: "region", policy: { name: "static" } },
  { pattern: "/e1", home: "r1", durability: "region", policy: { name: "static" } },
  { pattern: "/e2", home: "r2", durability: "region", policy: { name: "static" } },
];

/**
 * Settings of one region of an in-process deployment (the simulator's, the
 * lease scripts'): one node per region, the first region the root, short
 * timings (term 3 s, renewals every 500 ms, drift bound 1 %).
 */
export function simulatedSettings(region: RegionName, allRegions: readonly RegionName[], leaseRoots: LeaseRootRule[]): BrokerSettings {
  return {
    nodeId: `${region}-1`,
    region,
    rootNodeId: `${allRegions[0]!}-1`,
    rootRegion: allRegions[0]!,
    regions: [...allRegions],
    nodes: allRegions.map((r, index) => ({
      id: `${r}-1`, region: r, clientHost: "sim", clientPort: 2181 + index, brokerHost: "sim", brokerPort: 2888 + index,
    })),
    leaseRoots,
    leaseTermMs: 3000,
    renewIntervalMs: 500,
    clockDriftMax: 0.01,
    forwardTimeoutMs: 4000,
    ownerUnreachableMs: 3000,
    streamBatchDeltasMax: 32,
    streamRetainedDeltasMax: 1_000_000,
    forwardsInFlightMax: 1000,
    dialAddresses: {},
    messageBytesMax: 1024 * 1024,
  };
}

/** The policies the simulator tries, with parameters short enough to act within a run. */
const simulatedPolicies: Record<SimulatedPolicy, MigrationPolicy> = {
  static: { name: "static" },
  consecutive: { name: "consecutive", count: 4 },
  "majority-window": { name: "majority-window", share: 0.5, windowMs: 4000, holdMs: 3000 },
  "majority-window-split": { name: "majority-window", share: 0.5, windowMs: 4000, holdMs: 3000, split: true },
};

function settingsFor(region: RegionName, policy: SimulatedPolicy): BrokerSettings {
  const contended = new Set(["/shared", "/p/*"]);
  const leaseRoots = simulatedLeaseRoots.map((rule) => (contended.has(rule.pattern) ? { ...rule, policy: simulatedPolicies[policy] } : rule));
  return simulatedSettings(region, regions, leaseRoots);
}

/** The tree every node starts from: the units' lease roots and their keys. */
function setupDeltas(): Delta[] {
  const tree = new DataTree();
  const deltas: Delta[] = [];
  const paths = ["/r1", "/r2", "/shared", ...splitChildren, "/g", "/p", "/p/a", "/p/b", "/q", "/e1", "/e2"];
  for (const unit of unitPaths) for (const key of keys) paths.push(`${unit}/${key}`);
  let zxid = 1n;
  for (const path of paths) {
    const request: WriteRequest = { op: "create", kind: "create", path, data: Buffer.from("init"), acl: openAcl, flags: 0, ttl: -1n };
    const outcome = prepare(tree, request, { sessionId: 0n, authIds: [], zxid, timeMs: 0n }, { ttlEnabled: false, dataBytesMax: 1 << 20, childrenMax: 1000 });
    if (!outcome.ok) throw new Error(`setup create ${path} failed: ${outcome.err}`);
    tree.apply(outcome.delta);
    deltas.push(outcome.delta);
    zxid += 1n;
  }
  return deltas;
}

interface Faults {
  lossP: number;
  dupP: number;
  jitterMs: number;
  partitionEveryMs: number;
  crashEveryMs: number;
  moveEveryMs: number;
}

function swarm(random: SeededRandom, enabled: boolean): Faults {
  if (!enabled) return { lossP: 0, dupP: 0, jitterMs: 0, partitionEveryMs: 0, crashEveryMs: 0, moveEveryMs: 0 };
  return {
    lossP: random.pick([0, 0, 0.002, 0.02]),
    dupP: random.pick([0, 0, 0.01, 0.05]),
    jitterMs: random.pick([0, 5, 40, 150]),
    partitionEveryMs: random.pick([0, 3000, 8000]),
    crashEveryMs: random.pick([0, 4000, 12000]),
    moveEveryMs: random.pick([0, 1500, 5000]),
  };
}

class SimNode {
  readonly region: RegionName;
  readonly index: number;
  alive = true;
  incarnation = 0;
  core!: RegionCore;
  /** The disk: deltas whose append completed. */
  durable: Delta[];
  /** Written ids in the order this node applied them (for the causal check). */
  readonly applyOrder: string[] = [];

  constructor(region: RegionName, index: number, setup: Delta[]) {
    this.region = region;
    this.index = index;
    this.durable = [...setup];
  }
}

interface Message {
  from: RegionName;
  to: RegionName;
  message: BrokerMessage;
  generation: number;
}

interface ClientSession {
  name: string;
  region: RegionName;
  node: SimNode;
  sessionId: bigint;
  random: SeededRandom;
  opsLeft: number;
  counter: number;
  outstanding: number;
  incarnation: number;
  /** Written and read data ids, in the order the session learnt of them (causal check). */
  observed: Array<{ atMs: number; id: string }>;
  closed: boolean;
  closing: boolean;
  /** Answers reach the client in request order, as the server's connection sends them. */
  replySlots: Array<{ ready: boolean; deliver: () => void }>;
  /** Reads wait for the session's outstanding writes, as the server's connection makes them. */
  writesOutstanding: number;
  /** Its node was wiped: the client is gone, and the rejoined node closes the session once it knows it again. */
  lost?: boolean;
}

const clientLatencyMs = 1;
/** Longest time after its invocation that a write of unknown outcome may still take effect (timeouts, restarts, heals). */
const unknownEffectWindowMs = 30_000;

export class Simulation {
  readonly #options: SimulationOptions;
  readonly #random: SeededRandom;
  readonly #faults: Faults;
  readonly #queue = new EventQueue();
  readonly #nodes: SimNode[];
  readonly #history: HistoryOp[] = [];
  readonly #sessions: ClientSession[] = [];
  /** Directed links cut by a partition ("r0>r1"), and generations that drop in-flight messages when a link breaks. */
  readonly #cut = new Set<string>();
  readonly #generation = new Map<string, number>();
  readonly #lastDeliveryMs = new Map<string, number>();
  readonly #failures: string[] = [];
  readonly #stats = {
    messages: 0, dropped: 0, duplicated: 0, crashes: 0, partitions: 0, moves: 0, writes: 0, forwardedLoss: 0, forcedTransfers: 0, wipes: 0,
    policyActions: 0,
  };
  /** The setup tree every node starts from, and a wiped node starts from again. */
  readonly #setup: Delta[];
  /** Writes each session made, by data id: the causal check's input. */
  readonly #writesBySession = new Map<string, Array<{ id: string; invokeMs: number }>>();
  #faultsActive = true;
  #nextOpId = 1;

  constructor(options: SimulationOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    this.#faults = swarm(this.#random.fork(), options.faults);
    const setup = setupDeltas();
    this.#setup = setup;
    this.#nodes = regions.map((region, index) => new SimNode(region, index, setup));
    for (const node of this.#nodes) this.#boot(node);
    // Nodes booted earlier missed the later ones coming up.
    for (const node of this.#nodes) for (const other of this.#nodes) if (other !== node) node.core.linkChanged(other.region, true, this.now);
  }

  get now(): number {
    return this.#queue.now;
  }

  /** The client history recorded so far (for tools that replay a seed and look closer). */
  get history(): readonly HistoryOp[] {
    return this.#history;
  }

  // ------------------------------------------------------------- nodes

  #boot(node: SimNode): void {
    node.incarnation += 1;
    node.alive = true;
    const tree = new DataTree();
    for (const delta of node.durable) tree.apply(delta);
    const incarnation = node.incarnation;
    node.core = new RegionCore({
      settings: settingsFor(node.region, this.#options.policy ?? "static"),
      tree,
      options: { ttlEnabled: false, dataBytesMax: 1 << 20, childrenMax: 100_000 },
      nowMs: this.now,
      effects: {
        send: (region, message) => this.#send(node, region, message),
        append: (delta) => this.#append(node, incarnation, delta),
        applied: (delta) => this.#noteApplied(node, delta),
        disconnectSession: () => undefined,
        halt: (reason) => this.#halted(node, reason),
        log: (level, message, fields) => {
          if (message === "taking a unit without its owner's release") this.#stats.forcedTransfers += 1;
          if (message === "splitting a unit" || (message === "moving unit" && String(fields?.["reason"] ?? "").startsWith("policy"))) this.#stats.policyActions += 1;
          if (message.startsWith("fenced a delta") && this.#stats.forcedTransfers === 0) this.#fail(`${node.region}: fenced with no unit ever taken by force`);
          const trace = this.#options.trace;
          if (trace !== undefined && message.includes(trace.match)) trace.print(`${this.now} ${node.region} ${message} ${JSON.stringify(fields ?? {}, bigintJson)}`);
          if (level === "error") this.#fail(`${node.region}: ${message} ${JSON.stringify(fields ?? {}, bigintJson)}`);
        },
      },
    });
    node.core.restoreUnshipped(node.durable);
    node.core.restoreStream(node.durable);
    for (const other of this.#nodes ?? []) {
      if (other === node || (other as { core?: RegionCore }).core === undefined) continue;
      if (this.#linkUp(node, other)) node.core.linkChanged(other.region, true, this.now);
      if (this.#linkUp(other, node)) {
        this.#bumpGeneration(other, node);
        other.core.linkChanged(node.region, false, this.now);
        other.core.linkChanged(node.region, true, this.now);
      }
    }
    this.#scheduleTick(node, incarnation);
  }

  #scheduleTick(node: SimNode, incarnation: number): void {
    this.#queue.at(this.now + 50, () => {
      if (!node.alive || node.incarnation !== incarnation) return;
      node.core.tick(this.now);
      this.#scheduleTick(node, incarnation);
    });
  }

  #append(node: SimNode, incarnation: number, delta: Delta): void {
    // Appends complete in order after an fsync-like delay; a crash loses those not yet complete.
    const delay = this.#random.between(1, 4);
    const last = (node as { lastAppendDoneMs?: number }).lastAppendDoneMs ?? 0;
    const doneMs = Math.max(this.now + delay, last);
    (node as { lastAppendDoneMs?: number }).lastAppendDoneMs = doneMs;
    this.#queue.at(doneMs, () => {
      if (!node.alive || node.incarnation !== incarnation) return;
      node.durable.push(delta);
      node.core.logDurable(delta.zxid, this.now);
    });
  }

  #noteApplied(node: SimNode, delta: Delta): void {
    for (const op of delta.ops) {
      if ((op.type === "create" || op.type === "setData") && op.data !== null) {
        const id = op.data.toString();
        if (id.includes(":")) node.applyOrder.push(id);
      }
    }
  }

  #crash(node: SimNode, whileDown?: () => void): void {
    if (!node.alive) return;
    node.alive = false;
    whileDown?.();
    this.#stats.crashes += 1;
    for (const other of this.#nodes) {
      if (other === node || !other.alive) continue;
      this.#bumpGeneration(other, node);
      this.#bumpGeneration(node, other);
      other.core.linkChanged(node.region, false, this.now);
    }
    for (const session of this.#sessions) if (session.node === node) session.incarnation += 1;
    const downMs = this.#random.between(200, 3000);
    this.#queue.at(this.now + downMs, () => {
      this.#boot(node);
      for (const session of this.#sessions) if (session.node === node) this.#resume(session);
    });
  }

  /**
   * A node halts only after the root took one of its units without its
   * release (a `global` unit whose lease ran out; the simulator does not
   * evict). The simulated operator then waits until everything the node
   * committed is in the root's stream or fenced, and wipes it: its disk
   * goes back to the setup tree, its clients' sessions are lost (the
   * rejoined node closes them, as their expiry would), and it rejoins from
   * the root's stream.
   */
  #halted(node: SimNode, reason: string): void {
    if (this.#stats.forcedTransfers === 0) this.#fail(`${node.region} halted with no unit ever taken by force: ${reason}`);
    const incarnation = node.incarnation;
    const waitForDrain = (): void => {
      if (!node.alive || node.incarnation !== incarnation) return;
      if (node.core.drained) this.#wipe(node);
      else this.#queue.at(this.now + 200, waitForDrain);
    };
    this.#queue.at(this.now + 200, waitForDrain);
  }

  #wipe(node: SimNode): void {
    this.#stats.wipes += 1;
    this.#crash(node, () => {
      node.durable = [...this.#setup];
      node.applyOrder.length = 0;
      for (const session of this.#sessions) {
        if (session.node !== node || session.closed) continue;
        session.opsLeft = 0;
        session.lost = true;
      }
    });
  }

  // ------------------------------------------------------------- network

  #key(from: SimNode | RegionName, to: SimNode | RegionName): string {
    const f = typeof from === "string" ? from : from.region;
    const t = typeof to === "string" ? to : to.region;
    return `${f}>${t}`;
  }

  #linkUp(from: SimNode, to: SimNode): boolean {
    return from.alive && to.alive && !this.#cut.has(this.#key(from, to));
  }

  #bumpGeneration(from: SimNode, to: SimNode): void {
    const key = this.#key(from, to);
    this.#generation.set(key, (this.#generation.get(key) ?? 0) + 1);
  }

  #send(from: SimNode, toRegion: RegionName, message: BrokerMessage): boolean {
    const to = this.#nodes.find((n) => n.region === toRegion);
    if (to === undefined || !this.#linkUp(from, to)) return false;
    this.#stats.messages += 1;
    let carried = message;
    if (this.#options.wire) {
      const bytes = encodeEnvelope({ from: `${from.region}-1`, region: from.region, epoch: from.incarnation, message });
      carried = decodeEnvelope(bytes).message;
    }
    const envelope: Message = { from: from.region, to: toRegion, message: carried, generation: this.#generation.get(this.#key(from, to)) ?? 0 };
    if (this.#faultsActive && this.#random.chance(this.#faults.lossP)) {
      this.#stats.dropped += 1;
      return true;
    }
    const copies = this.#faultsActive && this.#random.chance(this.#faults.dupP) ? 2 : 1;
    if (copies === 2) this.#stats.duplicated += 1;
    // A link delivers in order, as a TCP connection does (jitter delays, it does not reorder one link).
    const key = this.#key(from, to);
    for (let copy = 0; copy < copies; copy++) {
      const delayMs = 10 + 15 * Math.abs(from.index - to.index) + (this.#faultsActive ? this.#random.int(this.#faults.jitterMs + 1) : 0);
      const atMs = Math.max(this.now + delayMs, this.#lastDeliveryMs.get(key) ?? 0);
      this.#lastDeliveryMs.set(key, atMs);
      this.#queue.at(atMs, () => this.#deliver(envelope));
    }
    return true;
  }

  #deliver(envelope: Message): void {
    const from = this.#nodes.find((n) => n.region === envelope.from)!;
    const to = this.#nodes.find((n) => n.region === envelope.to)!;
    if (!this.#linkUp(from, to) || (this.#generation.get(this.#key(from, to)) ?? 0) !== envelope.generation) {
      this.#stats.dropped += 1;
      return;
    }
    try {
      to.core.receive(envelope.from, envelope.message, this.now);
    } catch (error) {
      throw new Error(`${to.region} receiving ${envelope.message.type} from ${envelope.from}: ${(error as Error).message}`, { cause: error });
    }
  }

  #partition(): void {
    const a = this.#random.pick(this.#nodes);
    const b = this.#random.pick(this.#nodes.filter((n) => n !== a));
    const oneWay = this.#random.chance(0.3);
    const pairs: Array<[SimNode, SimNode]> = oneWay ? [[a, b]] : [[a, b], [b, a]];
    this.#stats.partitions += 1;
    for (const [from, to] of pairs) {
      const key = this.#key(from, to);
      if (this.#cut.has(key)) continue;
      this.#cut.add(key);
      this.#bumpGeneration(from, to);
      if (from.alive && to.alive) from.core.linkChanged(to.region, false, this.now);
    }
    this.#queue.at(this.now + this.#random.between(300, 5000), () => {
      for (const [from, to] of pairs) this.#heal(from, to);
    });
  }

  #heal(from: SimNode, to: SimNode): void {
    const key = this.#key(from, to);
    if (!this.#cut.delete(key)) return;
    if (from.alive && to.alive) from.core.linkChanged(to.region, true, this.now);
  }

  // ------------------------------------------------------------- clients

  #startClients(): void {
    for (const node of this.#nodes) {
      for (let s = 0; s < this.#options.sessionsPerRegion; s++) {
        const random = this.#random.fork();
        const sessionId = BigInt.asIntN(64, (BigInt(node.index + 1) << 56n) | BigInt(s + 1));
        const session: ClientSession = {
          name: `${node.region}s${s}`, region: node.region, node, sessionId, random, opsLeft: this.#options.opsPerSession,
          counter: 0, outstanding: 0, incarnation: 0, observed: [], closed: false, closing: false, replySlots: [], writesOutstanding: 0,
        };
        this.#sessions.push(session);
        this.#writesBySession.set(session.name, []);
        this.#queue.at(this.now + random.between(0, 50), () => this.#createSession(session));
      }
    }
  }

  #createSession(session: ClientSession): void {
    const node = session.node;
    if (!node.alive) return; // resumed on restart
    const incarnation = session.incarnation;
    node.core.write(session.sessionId, { op: "createSession", sessionId: session.sessionId, timeoutMs: 30_000 }, [], this.now, (answer) => {
      if (incarnation !== session.incarnation) return;
      if (answer.kind === "ok" || (answer.kind === "failed" && answer.err === ErrorCode.sessionExpired)) {
        (session as { created?: boolean }).created = true;
        this.#queue.at(this.now + 1, () => this.#next(session));
      } else {
        this.#queue.at(this.now + 100, () => this.#createSession(session));
      }
    });
  }

  /** After the session's node restarted: abandoned ops stay unknown; carry on. */
  #resume(session: ClientSession): void {
    session.outstanding = 0;
    session.writesOutstanding = 0;
    session.replySlots = [];
    if (session.closed) return;
    if (session.lost === true) {
      this.#queue.at(this.now + 1, () => this.#closeLost(session));
      return;
    }
    const created = (session as { created?: boolean }).created === true && session.node.core.tree.sessionTimeoutMs(session.sessionId) !== undefined;
    if (!created) {
      (session as { created?: boolean }).created = false;
      this.#queue.at(this.now + 1, () => this.#createSession(session));
      return;
    }
    if (session.closing) this.#queue.at(this.now + 1, () => this.#close(session));
    else this.#queue.at(this.now + 1, () => this.#next(session));
  }

  #next(session: ClientSession): void {
    if (!session.node.alive || session.closed) return;
    if (session.opsLeft <= 0) {
      if (session.outstanding === 0 && !session.closing) this.#close(session);
      return;
    }
    const pipeline = session.random.chance(0.2) ? 3 : 1;
    while (session.outstanding < pipeline && session.opsLeft > 0) {
      session.opsLeft -= 1;
      session.outstanding += 1;
      this.#issue(session);
    }
  }

  /** Takes the session's next reply slot; `fill` later makes it ready, and ready slots are delivered in order. */
  #slot(session: ClientSession): (deliver: () => void) => void {
    const slot = { ready: false, deliver: (): void => undefined };
    session.replySlots.push(slot);
    const incarnation = session.incarnation;
    return (deliver) => {
      if (incarnation !== session.incarnation) return;
      slot.ready = true;
      slot.deliver = deliver;
      while (session.replySlots.length > 0 && session.replySlots[0]!.ready) session.replySlots.shift()!.deliver();
    };
  }

  /** Runs a read once the session's earlier writes are answered (the server's connection does the same). */
  #afterWrites(session: ClientSession, read: () => void): void {
    if (session.writesOutstanding === 0) {
      read();
      return;
    }
    const incarnation = session.incarnation;
    this.#queue.at(this.now + 1, () => {
      if (incarnation === session.incarnation) this.#afterWrites(session, read);
    });
  }

  #afterOp(session: ClientSession, incarnation: number): void {
    if (incarnation !== session.incarnation) return;
    session.outstanding -= 1;
    if (session.outstanding === 0) this.#queue.at(this.now + session.random.between(1, 30), () => this.#next(session));
  }

  /** A session of a wiped node: closed (as by expiry) once the rejoined node has it again from the stream. */
  #closeLost(session: ClientSession): void {
    if (!session.node.alive || session.closed) return;
    if (session.node.core.tree.sessionTimeoutMs(session.sessionId) === undefined) {
      // Not relearnt yet; or closed before the wipe, which the node knows once it has caught up.
      const progress = session.node.core.progress();
      if (progress.subscribed && progress.staged === 0 && progress.streamPos === this.#nodes[0]!.core.progress().streamPos) session.closed = true;
      else this.#queue.at(this.now + 200, () => this.#closeLost(session));
      return;
    }
    this.#close(session);
  }

  #close(session: ClientSession): void {
    if (!session.node.alive || session.closed) return;
    session.closing = true;
    const incarnation = session.incarnation;
    session.node.core.write(session.sessionId, { op: "closeSession", sessionId: session.sessionId }, [], this.now, (answer) => {
      if (incarnation !== session.incarnation) return;
      if (answer.kind === "ok") session.closed = true;
      else this.#queue.at(this.now + 200, () => this.#close(session));
    });
  }

  #unitFor(session: ClientSession): string {
    const random = session.random;
    return random.chance(0.7) ? random.pick(homeUnits[session.region]!) : random.pick(unitPaths);
  }

  #issue(session: ClientSession): void {
    const random = session.random;
    const roll = random.next();
    if (roll < 0.05) {
      this.#issueMulti(session);
      return;
    }
    if (roll < 0.08) {
      this.#issueSpanning(session);
      return;
    }
    if (roll < 0.12) {
      this.#issueEphemeral(session);
      return;
    }
    const unit = this.#unitFor(session);
    const data = `${session.name}:${session.counter++}`;
    let call: ZnodeCall;
    const kind = random.next();
    if (kind < 0.3) call = { op: "setData", path: `${unit}/${random.pick(keys)}`, data, version: random.chance(0.7) ? -1 : random.int(4) };
    else if (kind < 0.45) call = { op: "create", path: `${unit}/n${random.int(4)}`, data, sequential: false };
    else if (kind < 0.55) call = { op: "create", path: `${unit}/q-`, data, sequential: true };
    else if (kind < 0.65) call = { op: "delete", path: `${unit}/n${random.int(4)}`, version: -1 };
    else if (kind < 0.85) call = { op: "getData", path: `${unit}/${random.pick(keys)}`, synced: random.chance(0.3) };
    else call = { op: "getChildren", path: unit, synced: random.chance(0.3) };
    this.#run(session, unit, call);
  }

  #record(session: ClientSession, unit: string, call: ZnodeCall): HistoryOp {
    // A write whose outcome the client never learns can still land later (a forward waiting at its owner,
    // a logged delta replayed after a crash), but not after every timeout and restart delay has passed.
    const op: HistoryOp = {
      id: this.#nextOpId++, session: session.name, region: session.region, invokeMs: this.now, completeMs: null, unit, call, result: null,
      effectDeadlineMs: this.now + unknownEffectWindowMs,
    };
    this.#history.push(op);
    return op;
  }

  #run(session: ClientSession, unit: string, call: ZnodeCall): void {
    const op = this.#record(session, unit, call);
    const incarnation = session.incarnation;
    const core = session.node.core;
    const fill = this.#slot(session);
    // Writes and syncs order the session's later requests (the server's connection makes those wait).
    const isWrite = call.op !== "getData" && call.op !== "getChildren";
    const ordering = isWrite || call.synced;
    if (isWrite) session.writesOutstanding += 1;
    const complete = (result: ZnodeResult | null, observedId: string | null): void => {
      if (ordering && incarnation === session.incarnation) session.writesOutstanding -= 1;
      this.#queue.at(this.now + clientLatencyMs, () => fill(() => {
        op.completeMs = this.now;
        op.result = result;
        if (observedId !== null) session.observed.push({ atMs: this.now, id: observedId });
        this.#afterOp(session, incarnation);
      }));
    };
    if (call.op === "getData" || call.op === "getChildren") {
      const readNow = (): void => {
        core.whenSessionReady(
          session.sessionId,
          () => {
            if (incarnation !== session.incarnation) return;
            const { result, observed } = readTree(core.tree, call);
            complete(result, observed);
          },
          [call.path],
        );
      };
      this.#afterWrites(session, () => {
        if (!call.synced) {
          readNow();
          return;
        }
        session.writesOutstanding += 1;
        core.sync(call.path, this.now, (ok) => (ok ? readNow() : complete(null, null)));
      });
      return;
    }
    if (call.op !== "delete") this.#writesBySession.get(session.name)!.push({ id: call.data, invokeMs: this.now });
    this.#stats.writes += 1;
    core.write(session.sessionId, toRequest(call), [], this.now, (answer) => {
      const result = toResult(call, answer);
      if (answer.kind === "connectionLoss") this.#stats.forwardedLoss += 1;
      complete(result, result?.ok === true && call.op !== "delete" ? call.data : null);
    });
  }

  /** A multi over two units of different owners (gathered at the root), recorded as one op per unit. */
  #issueMulti(session: ClientSession): void {
    const [a, b] = session.random.chance(0.5) ? ["/r1", "/r2"] : ["/shared", "/p/a"];
    const key = session.random.pick(keys);
    const dataA = `${session.name}:${session.counter++}`;
    const dataB = `${session.name}:${session.counter++}`;
    const opA = this.#record(session, a!, { op: "setData", path: `${a}/${key}`, data: dataA, version: -1 });
    const opB = this.#record(session, b!, { op: "setData", path: `${b}/${key}`, data: dataB, version: -1 });
    this.#writesBySession.get(session.name)!.push({ id: dataA, invokeMs: this.now }, { id: dataB, invokeMs: this.now });
    const incarnation = session.incarnation;
    const fill = this.#slot(session);
    session.writesOutstanding += 1;
    const request: WriteRequest = {
      op: "multi",
      ops: [
        { op: "setData", path: `${a}/${key}`, data: Buffer.from(dataA), version: -1 },
        { op: "setData", path: `${b}/${key}`, data: Buffer.from(dataB), version: -1 },
      ],
    };
    session.node.core.write(session.sessionId, request, [], this.now, (answer) => {
      if (incarnation === session.incarnation) session.writesOutstanding -= 1;
      this.#queue.at(this.now + clientLatencyMs, () => fill(() => {
        for (const [index, op] of [opA, opB].entries()) {
          op.completeMs = this.now;
          if (answer.kind === "ok" && answer.result.op === "multi") {
            const part = answer.result.results[index];
            op.result = part !== undefined && part.op === "setData" ? { ok: true, version: part.stat.version } : null;
          }
        }
        if (answer.kind === "ok") session.observed.push({ atMs: this.now, id: dataA }, { atMs: this.now, id: dataB });
        this.#afterOp(session, incarnation);
      }));
    });
  }

  /**
   * Create or delete a lease root under /p/* or /q/* (spans the root unit and
   * the new unit), or write a child of one under /q/* (its creator's unit,
   * proactive leasing); not in the history.
   */
  #issueSpanning(session: ClientSession): void {
    const path = session.random.pick(createdUnits);
    const roll = session.random.next();
    const child = `${path}/v`;
    const request: WriteRequest =
      roll < 0.35 ? { op: "create", kind: "create", path, data: Buffer.from("lease-root"), acl: openAcl, flags: 0, ttl: -1n }
      : roll < 0.55 ? { op: "delete", path, version: -1 }
      : roll < 0.8 ? { op: "create", kind: "create", path: child, data: Buffer.from(session.name), acl: openAcl, flags: 0, ttl: -1n }
      : { op: "delete", path: child, version: -1 };
    this.#unrecorded(session, request);
  }

  /** Ephemerals live in units of their own (so they do not disturb the history's units), local or remote. */
  #issueEphemeral(session: ClientSession): void {
    const unit = session.random.pick(ephemeralUnits);
    const request: WriteRequest = {
      op: "create", kind: "create", path: `${unit}/e-${session.name}-`, data: Buffer.from("ephemeral"), acl: openAcl, flags: 3, ttl: -1n,
    };
    this.#unrecorded(session, request);
  }

  #unrecorded(session: ClientSession, request: WriteRequest): void {
    const incarnation = session.incarnation;
    const fill = this.#slot(session);
    session.writesOutstanding += 1;
    session.node.core.write(session.sessionId, request, [], this.now, () => {
      if (incarnation === session.incarnation) session.writesOutstanding -= 1;
      this.#queue.at(this.now + clientLatencyMs, () => fill(() => {
        this.#afterOp(session, incarnation);
      }));
    });
  }

  // ------------------------------------------------------------- faults

  #scheduleFaults(untilMs: number): void {
    const every = (periodMs: number, action: () => void): void => {
      if (periodMs <= 0) return;
      const loop = (): void => {
        if (!this.#faultsActive || this.now >= untilMs) return;
        action();
        this.#queue.at(this.now + this.#random.between(periodMs / 2, periodMs * 1.5), loop);
      };
      this.#queue.at(this.now + this.#random.between(periodMs / 2, periodMs), loop);
    };
    every(this.#faults.partitionEveryMs, () => this.#partition());
    every(this.#faults.crashEveryMs, () => this.#crash(this.#random.pick(this.#nodes)));
    every(this.#faults.moveEveryMs, () => {
      const root = this.#nodes[0]!;
      if (!root.alive) return;
      this.#stats.moves += 1;
      root.core.moveUnit(this.#random.pick(unitPaths), this.#random.pick(regions), this.now);
    });
  }

  // ------------------------------------------------------------- checks

  #fail(message: string): void {
    if (this.#failures.length < 20) this.#failures.push(`at ${this.now} ms: ${message}`);
  }

  /** Safety after every step: one writer per unit, and one owner per unit and epoch everywhere. */
  #checkStep(): void {
    for (const unit of [...unitPaths, ...ephemeralUnits, ...createdUnits]) {
      // A lease root a node does not have yet holds nothing it could write: its home's implicit lease is
      // vacuous there (creating it takes the parent's unit, which is exclusive). A split candidate is a
      // unit only where the split is applied.
      const writers = this.#nodes.filter(
        (n) => n.alive && n.core.units.isLeaseRoot(unit) && n.core.ownsActiveUnit(unit) && n.core.tree.node(unit) !== undefined,
      );
      if (writers.length > 1) this.#fail(`unit ${unit} writable by ${writers.map((n) => `${n.region} (${n.core.describeLease(unit)})`).join(" and ")}`);
    }
    const owners = new Map<string, string>();
    for (const node of this.#nodes) {
      if (!node.alive) continue;
      for (const row of node.core.tree.replication.leases.values()) {
        const key = `${row.unit}@${row.epoch}`;
        const seen = owners.get(key);
        if (seen === undefined) owners.set(key, row.owner);
        else if (seen !== row.owner) this.#fail(`unit ${row.unit} epoch ${row.epoch} owned by ${seen} and ${row.owner}`);
      }
    }
  }

  #quiescent(): boolean {
    const root = this.#nodes[0]!;
    if (!this.#nodes.every((n) => n.alive)) return false;
    const rootPos = root.core.progress().streamPos;
    const clientsDone = this.#sessions.every((s) => s.closed);
    return clientsDone && this.#nodes.every((n) => {
      const p = n.core.progress();
      return p.staged === 0 && p.unshipped === 0 && p.subscribed && p.parked === 0 && p.forwards === 0 && p.streamPos === rootPos;
    });
  }

  #checkEnd(): void {
    const [first, ...others] = this.#nodes;
    for (const other of others) {
      for (const difference of treeDifferences(first!.core.tree, other.core.tree).slice(0, 5)) {
        this.#fail(`trees of ${first!.region} and ${other.region} differ: ${difference}`);
      }
    }
    for (const node of this.#nodes) {
      for (const [sessionId, paths] of node.core.tree.ephemeralsBySession()) {
        this.#fail(`${node.region}: ephemerals ${[...paths].join(",")} outlive their closed session ${sessionId.toString(16)}`);
      }
      if (node.core.tree.sessions().size > 0) this.#fail(`${node.region}: sessions still live after every client closed: ${node.core.tree.sessions().size}`);
    }
    const verdict = checkZnodeHistory(this.#history, { initialZnodes: initialZnodes, stepsMax: 2_000_000 });
    if (verdict.ok === false) this.#fail(`unit ${verdict.unit} not linearizable: ${verdict.reason} (ops ${verdict.opIds.join(",")})`);
    if (verdict.ok === "unknown") this.#stats.writes = this.#stats.writes; // search bound: not a failure, reported in stats
    for (const violation of checkSessions(this.#history).slice(0, 5)) this.#fail(`session check: ${JSON.stringify(violation)}`);
    this.#checkCausal();
  }

  /**
   * Causal order: whatever a session had seen (read, or written and been
   * told of) before it issued a write is applied before that write on every
   * node.
   */
  #checkCausal(): void {
    for (const node of this.#nodes) {
      const position = new Map<string, number>();
      node.applyOrder.forEach((id, index) => position.set(id, index));
      for (const session of this.#sessions) {
        for (const write of this.#writesBySession.get(session.name)!) {
          const at = position.get(write.id);
          if (at === undefined) continue;
          for (const seen of session.observed) {
            if (seen.atMs > write.invokeMs) break;
            const before = position.get(seen.id);
            if (before === undefined || before > at) {
              this.#fail(`${node.region} applied ${write.id} ${before === undefined ? "without" : "before"} ${seen.id}, which its session had seen first`);
              return;
            }
          }
        }
      }
    }
  }

  // ------------------------------------------------------------- run

  run(): SimulationResult {
    const faultWindowMs = 20_000;
    this.#scheduleFaults(faultWindowMs);
    this.#queue.at(10, () => this.#startClients());
    const stepsMax = 3_000_000;
    let steps = 0;
    let healedAt: number | null = null;
    while (steps < stepsMax && this.#failures.length === 0) {
      try {
        if (!this.#queue.step()) break;
      } catch (error) {
        this.#fail(`exception: ${(error as Error).stack ?? String(error)}`.split("\n").slice(0, 6).join(" | "));
        break;
      }
      steps += 1;
      this.#checkStep();
      if (healedAt === null && this.now >= faultWindowMs) {
        healedAt = this.now;
        this.#healAll();
      }
      if (healedAt !== null && this.#quiescent()) break;
      if (this.now > faultWindowMs + 120_000) {
        this.#fail(`no convergence 120 s after healing: ${this.#describeProgress()}`);
        break;
      }
    }
    if (this.#failures.length === 0) this.#checkEnd();
    return {
      seed: this.#options.seed,
      ok: this.#failures.length === 0,
      failures: this.#failures,
      stats: { ...this.#stats, steps, virtualMs: this.now, historyOps: this.#history.length, faults: JSON.stringify(this.#faults) },
    };
  }

  #healAll(): void {
    this.#faultsActive = false;
    for (const key of [...this.#cut]) {
      const [from, to] = key.split(">");
      this.#heal(this.#nodes.find((n) => n.region === from)!, this.#nodes.find((n) => n.region === to)!);
    }
  }

  #describeProgress(): string {
    return this.#nodes.map((n) => `${n.region}${n.alive ? "" : "(down)"} ${JSON.stringify(n.alive ? n.core.progress() : {}, bigintJson)} ${n.alive ? n.core.describeShipping() : ""}`).join("; ")
      + ` open sessions ${this.#sessions.filter((s) => !s.closed).map((s) => `${s.name} (client: outstanding ${s.outstanding} writes ${s.writesOutstanding} slots ${s.replySlots.length} closing ${s.closing} left ${s.opsLeft}; broker: ${s.node.core.describeSession(s.sessionId)}; last op ${describeLast(this.#history, s.name)})`).join(", ")}`;
  }
}

function describeLast(history: readonly HistoryOp[], session: string): string {
  for (let index = history.length - 1; index >= 0; index--) {
    const op = history[index]!;
    if (op.session === session) return `#${op.id} ${JSON.stringify(op.call)} invoked ${op.invokeMs} completed ${op.completeMs}`;
  }
  return "none";
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function initialZnodes(unit: string): Array<{ path: string; data?: string; cversion?: number }> {
  const children = unit === "/shared" ? splitChildren : [];
  return [
    { path: unit, cversion: keys.length + children.length },
    ...keys.map((key) => ({ path: `${unit}/${key}`, data: "init" })),
    ...children.map((path) => ({ path, data: "init" })),
  ];
}

function toRequest(call: ZnodeCall): WriteRequest {
  switch (call.op) {
    case "create":
      return { op: "create", kind: "create", path: call.path, data: Buffer.from(call.data), acl: openAcl, flags: call.sequential ? 2 : 0, ttl: -1n };
    case "setData":
      return { op: "setData", path: call.path, data: Buffer.from(call.data), version: call.version };
    case "delete":
      return { op: "delete", path: call.path, version: call.version };
    default:
      throw new Error(`not a write: ${call.op}`);
  }
}

function toResult(call: ZnodeCall, answer: WriteAnswer): ZnodeResult | null {
  if (answer.kind === "connectionLoss") return null;
  if (answer.kind === "failed") return { ok: false, err: answer.err as ZnodeResult extends { err: infer E } ? E : never };
  const result: OpResult = answer.result;
  if (call.op === "create" && result.op === "create") return { ok: true, path: result.path };
  if (call.op === "setData" && result.op === "setData") return { ok: true, version: result.stat.version };
  return { ok: true };
}

function readTree(tree: DataTree, call: Extract<ZnodeCall, { op: "getData" | "getChildren" }>): { result: ZnodeResult; observed: string | null } {
  const node = tree.node(call.path);
  if (node === undefined) return { result: { ok: false, err: ErrorCode.noNode as -101 }, observed: null };
  if (call.op === "getChildren") return { result: { ok: true, children: [...(tree.childrenOf(call.path) ?? [])].sort() }, observed: null };
  const data = node.data === null ? "" : node.data.toString();
  return { result: { ok: true, data, version: node.version }, observed: data.includes(":") ? data : null };
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}
