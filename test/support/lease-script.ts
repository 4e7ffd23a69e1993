// An interpreter for lease-protocol scripts (see test/unit/testdata/lease/).
//
// Three RegionCores (r0, the root's region, and r1, r2) are wired by an
// in-memory network the script drives step by step: a message sent is only
// queued, and reaches its receiver on an explicit `deliver`; a region log
// append becomes durable (and is applied) only on an explicit `durable`.
// Time moves only on `advance`; cores see it on their next call (`tick`).
// Each command prints what it caused, in order: messages sent, log appends,
// deltas applied, write answers, the cores' info/warn/error logs.
//
// A script file is its own golden output: lines starting with "> " are
// output, everything else (commands, "#" comments, blank lines) is input.
// runLeaseScript(text) strips the old output and returns the new file.
//
// Commands:
//   start                       boots r0, r1, r2 from the same tree and brings their links up (first command)
//   deliver [from->to] [count]  queued messages (all links, or one; all queued now, or the first `count`)
//   drop from->to               drops the messages queued on a link
//   durable [region...]         pending appends of the regions (default all) become durable, in order
//   settle [quiet]              deliver and durable until nothing is queued or pending
//   advance ms                  moves the clock
//   tick [region...]            ticks the regions (default all) at the current time
//   write region[.sN] op args...
//                               a client write of the region's session (s1 by default): setData path data,
//                               create path data [ephemeral] [sequential] (flags 1, 2, 3), delete path,
//                               multi op args ; op args ..., createSession, closeSession (of that session)
//   read region path|session    the path as the region has applied it; or, for a session ("r1.s1"),
//                               whether the region's tree holds it and which ephemerals it has there
//   reachable region session    RegionCore.sessionReachable now: false once an owner of a unit holding
//                               one of the session's ephemerals has been unreachable ownerUnreachableMs
//   move unit region            operator move (at the root)
//   operator-move unit region   `maestro move` at the root (checks the request, readmits an evicted region)
//   evict region                `maestro evict` at the root: the region's units taken without its release
//   split unit child region     adaptive splitting at the root: child becomes a unit of its own, held by region
//   link region|a-b up|down     every link of a region, or the two directions between a and b
//   crash region / restart region
//   leases [unit...]            each region's view: owner@epoch, and "writable" where it may commit
//                               (as of the region's last call: `tick` it after `advance`)
//   messages                    queued messages, one a line
//   inject a->b ship seq setData path data
//                               queues a ship of one delta a could have committed (a stale owner's)
//   expired region              whether the root's lease table considers the region's leases run out
//                               (a LeaseTable fed with the renewals delivered to r0; see #rootTable)
//   reclaim                     what LeaseTable.reclaimExpired would record now, on that table

import type { BrokerMessage, RegionName } from "../../src/broker/messages.js";
import { LeaseTable } from "../../src/broker/lease-table.js";
import { RegionCore, type WriteAnswer } from "../../src/broker/region-core.js";
import type { BrokerSettings } from "../../src/broker/settings.js";
import { UnitMap } from "../../src/broker/units.js";
import { simulatedSettings } from "../../src/sim/simulator.js";
import { DataTree } from "../../src/tree/data-tree.js";
import { prepare } from "../../src/tree/prepare.js";
import type { Acl, Delta, DeltaOp, LeaseRecord, OpResult, WriteRequest } from "../../src/tree/types.js";

const openAcl: Acl[] = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
const regions: RegionName[] = ["r0", "r1", "r2"];
const treeOptions = { ttlEnabled: false, dataBytesMax: 1 << 20, childrenMax: 10_000 };
const startMs = 1000;
/** The timeout `write region createSession` asks for (sessions never expire in the scripts: nothing expires them). */
const sessionTimeoutMs = 30_000;
/** Units `leases` shows when none are named. */
const shownUnits = ["/", "/a", "/b", "/g"];

/**
 * /a (home r1) and /b (home r2) are `region` units, /g (home r1) a `global`
 * one, children of /p are units of r2, children of /q units without a home
 * (their creator gets them); /c sits in the root unit. Term 3 s,
 * renewals every 500 ms, clock drift bound 1 %: an owner's lease ends 30 ms
 * early, the root waits 30 ms longer.
 */
export function scriptSettings(region: RegionName): BrokerSettings {
  return {
    ...simulatedSettings(region, regions, [
      { pattern: "/a", home: "r1", durability: "region", policy: { name: "static" } },
      { pattern: "/b", home: "r2", durability: "region", policy: { name: "static" } },
      { pattern: "/g", home: "r1", durability: "global", policy: { name: "static" } },
      { pattern: "/p/*", home: "r2", durability: "region", policy: { name: "static" } },
      { pattern: "/q/*", home: null, durability: "region", policy: { name: "static" } },
    ]),
    streamRetainedDeltasMax: 100_000,
    forwardsInFlightMax: 100,
  };
}

/** Every region starts from the same tree: the units' roots, a key in each, and /c, /p, /q in the root unit. */
function setupDeltas(): Delta[] {
  const tree = new DataTree();
  const deltas: Delta[] = [];
  let zxid = 1n;
  for (const path of ["/a", "/a/k", "/b", "/b/k", "/g", "/g/k", "/c", "/c/k", "/p", "/q"]) {
    const request: WriteRequest = { op: "create", kind: "create", path, data: Buffer.from("init"), acl: openAcl, flags: 0, ttl: -1n };
    const outcome = prepare(tree, request, { sessionId: 0n, authIds: [], zxid, timeMs: 0n }, treeOptions);
    if (!outcome.ok) throw new Error(`setup: create ${path} failed with ${outcome.err}`);
    tree.apply(outcome.delta);
    deltas.push(outcome.delta);
    zxid += 1n;
  }
  return deltas;
}

// ------------------------------------------------------------- describing

function describeOp(op: DeltaOp): string {
  switch (op.type) {
    case "create":
      return `create ${op.path}${op.data === null ? "" : `="${op.data.toString()}"`}`;
    case "delete":
      return `delete ${op.path}`;
    case "setData":
      return `setData ${op.path}="${op.data?.toString() ?? ""}" v${op.version}`;
    case "setACL":
      return `setACL ${op.path}`;
    case "createSession":
      return `createSession ${sessionName(op.sessionId)}`;
    case "closeSession":
      return `closeSession ${sessionName(op.sessionId)}`;
  }
}

function describeLease(lease: LeaseRecord): string {
  return `lease ${lease.unit} -> ${lease.owner}@${lease.epoch}`;
}

/** "r1#2 @5 setData /a/k=..." : origin#shipSeq, stream position (when it has one), ops, lease rows. */
export function describeDelta(delta: Delta): string {
  const stamp = delta.stamp;
  const name = stamp === undefined ? "unstamped" : `${stamp.origin}#${stamp.shipSeq}${stamp.streamPos > 0n ? ` @${stamp.streamPos}` : ""}`;
  const parts = [name, ...delta.ops.map(describeOp), ...(stamp?.leases ?? []).map(describeLease)];
  if (delta.ops.length === 0 && (stamp?.leases.length ?? 0) === 0) parts.push("(empty)");
  return parts.join(" ");
}

function describeRequest(request: WriteRequest): string {
  switch (request.op) {
    case "create":
      return `create ${request.path}${(request.flags & 1) !== 0 ? " ephemeral" : ""}${(request.flags & 2) !== 0 ? " sequential" : ""}`;
    case "delete":
    case "setData":
    case "setACL":
    case "check":
    case "deleteContainer":
      return `${request.op} ${request.path}`;
    case "multi":
      return `multi(${request.ops.map(describeRequest).join("; ")})`;
    case "createSession":
    case "closeSession":
      return `${request.op} ${sessionName(request.sessionId)}`;
    case "deleteEphemerals":
      return `deleteEphemerals ${sessionName(request.sessionId)} [${request.paths.join(" ")}]`;
  }
}

function sessionName(sessionId: bigint): string {
  const region = regions[Number(BigInt.asUintN(64, sessionId) >> 56n) - 1] ?? "?";
  return `${region}.s${BigInt.asUintN(56, sessionId)}`;
}

function list<T>(items: readonly T[], show: (item: T) => string): string {
  return `[${items.map(show).join(", ")}]`;
}

export function describeMessage(message: BrokerMessage): string {
  switch (message.type) {
    case "subscribe":
      return `subscribe after=${message.streamPos}`;
    case "subscribed":
      return `subscribed shipSeq=${message.shipSeq} streamPos=${message.streamPos}`;
    case "ship":
      return `ship ${list(message.deltas, describeDelta)}${message.deps.length > 0 ? ` deps=${list(message.deps, (d) => `${d.origin}#${d.shipSeq}`)}` : ""}`;
    case "stream":
      return `stream ${list(message.deltas, describeDelta)}`;
    case "streamGap":
      return `streamGap oldest=${message.oldestStreamPos}`;
    case "renew":
      return `renew round=${message.round} holds ${list(message.leases, (l) => `${l.unit}@${l.epoch}`)}${message.counts.length > 0 ? ` counts ${list(message.counts, (c) => `${c.unit}${c.child === undefined ? "" : `[${c.child}]`}:${c.origin}=${c.count}`)}` : ""}`;
    case "renewed":
      return `renewed round=${message.round} term=${message.termMs} stale=${list(message.stale, (l) => `${l.unit}@${l.epoch}`)} streamPos=${message.streamPos}`;
    case "revoke":
      return `revoke ${message.unit}@${message.epoch}`;
    case "released":
      return `released ${message.unit}@${message.epoch} shipSeq=${message.shipSeq}`;
    case "forward":
      return `forward ${describeRequest(message.request)} of ${sessionName(message.sessionId)} believing ${list(message.leases, (l) => `${l.unit}@${l.epoch}`)}`;
    case "forwardReply": {
      const outcome = message.outcome;
      switch (outcome.kind) {
        case "committed":
          return `forwardReply committed ${outcome.origin}#${outcome.shipSeq}${outcome.delta === null ? "" : " with delta"}`;
        case "failed":
          return `forwardReply failed err=${outcome.err}`;
        case "notOwner":
          return `forwardReply notOwner ${list(outcome.leases, (l) => `${l.unit}@${l.epoch}`)} owners ${list(outcome.owners, String)}`;
        case "unavailable":
          return `forwardReply unavailable (${outcome.reason})`;
      }
      return "forwardReply";
    }
    case "sync":
      return `sync ${message.unit}`;
    case "syncReply":
      return `syncReply ${message.origin}#${message.shipSeq} ok=${message.ok}`;
    case "fenced":
      return `fenced #${message.shipSeq} ${list(message.units, String)}`;
    case "relay":
      return `relay ${message.origin} ${list(message.deltas, describeDelta)}`;
  }
}

function describeResult(result: OpResult): string {
  switch (result.op) {
    case "create":
      return `created ${result.path}`;
    case "setData":
      return `version ${result.stat.version}`;
    case "multi":
      return `multi ${list(result.results, (r) => (r.op === "error" ? `error ${r.err}` : r.op))}`;
    default:
      return result.op;
  }
}

function describeAnswer(answer: WriteAnswer): string {
  switch (answer.kind) {
    case "ok":
      return `ok (${describeResult(answer.result)})`;
    case "failed":
      return `failed err=${answer.err}`;
    case "connectionLoss":
      return `connectionLoss (${answer.reason})`;
  }
}

function describeFields(fields: Record<string, unknown> | undefined): string {
  if (fields === undefined) return "";
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === "object" && value !== null ? JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) : String(value)}`);
  return parts.length === 0 ? "" : ` (${parts.join(" ")})`;
}

// ---------------------------------------------------------------- the world

interface Queued {
  from: RegionName;
  to: RegionName;
  message: BrokerMessage;
}

interface Region {
  name: RegionName;
  alive: boolean;
  core: RegionCore;
  /** The disk: setup plus every append made durable. */
  disk: Delta[];
  /** Appends not yet durable, in order (lost on a crash). */
  pending: Delta[];
}

class ScriptError extends Error {}

export class LeaseWorld {
  nowMs = startMs;
  readonly #out: string[] = [];
  readonly #regions = new Map<RegionName, Region>();
  #queue: Queued[] = [];
  /** Directed links that are down ("r0>r1"). */
  readonly #down = new Set<string>();
  #nextWrite = 1;
  /**
   * RootRole's LeaseTable is private to the root's RegionCore. This one is
   * fed the same renewals r0 receives (same settings, same start), so that
   * `expired` and `reclaim` show what the root's table decides about them.
   */
  readonly #rootTable: LeaseTable;
  #reclaimed: LeaseRecord[] = [];

  constructor() {
    const setup = setupDeltas();
    for (const name of regions) this.#regions.set(name, { name, alive: true, core: undefined as unknown as RegionCore, disk: [...setup], pending: [] });
    for (const region of this.#regions.values()) this.#boot(region);
    const settings = scriptSettings("r0");
    this.#rootTable = new LeaseTable({
      settings, units: new UnitMap(settings.leaseRoots), rows: [], nowMs: this.nowMs,
      effects: {
        send: () => undefined, record: (lease) => this.#reclaimed.push(lease), releaseLocally: () => undefined,
        sequencedThrough: () => 0n, log: () => undefined,
      },
    });
    // Links come up once every region is running.
    for (const region of this.#regions.values()) for (const other of regions) if (other !== region.name) region.core.linkChanged(other, true, this.nowMs);
  }

  #print(line: string): void {
    this.#out.push(line);
  }

  takeOutput(): string[] {
    return this.#out.splice(0);
  }

  #region(name: string | undefined): Region {
    const region = name === undefined ? undefined : this.#regions.get(name);
    if (region === undefined) throw new ScriptError(`unknown region ${name ?? "(none)"}`);
    return region;
  }

  #boot(region: Region): void {
    const tree = new DataTree();
    for (const delta of region.disk) tree.apply(delta);
    region.alive = true;
    region.pending = [];
    const name = region.name;
    region.core = new RegionCore({
      settings: scriptSettings(name),
      tree,
      options: treeOptions,
      nowMs: this.nowMs,
      effects: {
        send: (to, message) => this.#send(name, to, message),
        append: (delta) => {
          region.pending.push(delta);
          this.#print(`${name} append ${describeDelta(delta)}`);
        },
        applied: (delta) => this.#print(`${name} applied ${describeDelta(delta)}`),
        disconnectSession: (sessionId) => this.#print(`${name} disconnects session ${sessionName(sessionId)}`),
        halt: () => this.#print(`${name} halts`),
        log: (level, message, fields) => {
          if (level !== "debug") this.#print(`${name} ${level}: ${message}${describeFields(fields)}`);
        },
      },
    });
    region.core.restoreUnshipped(region.disk);
    region.core.restoreStream(region.disk);
  }

  #linkUp(from: RegionName, to: RegionName): boolean {
    return this.#region(from).alive && this.#region(to).alive && !this.#down.has(`${from}>${to}`);
  }

  #send(from: RegionName, to: RegionName, message: BrokerMessage): boolean {
    if (!this.#linkUp(from, to)) {
      this.#print(`${from} -> ${to} (link down, not sent) ${describeMessage(message)}`);
      return false;
    }
    this.#queue.push({ from, to, message });
    this.#print(`${from} -> ${to} ${describeMessage(message)}`);
    return true;
  }

  // ---------------------------------------------------------- commands

  run(line: string): void {
    const [command, ...args] = line.trim().split(/\s+/);
    switch (command) {
      case "deliver":
        return this.#deliverCommand(args);
      case "drop":
        return this.#drop(args);
      case "durable":
        return this.#durable(args.length === 0 ? regions : args);
      case "settle":
        return this.#settle(args[0] === "quiet");
      case "advance":
        this.nowMs += Number(args[0]);
        if (!Number.isFinite(this.nowMs)) throw new ScriptError(`advance: bad amount ${args[0] ?? ""}`);
        this.#print(`now ${this.nowMs}`);
        return;
      case "tick":
        for (const name of args.length === 0 ? regions : args) {
          const region = this.#region(name);
          if (region.alive) region.core.tick(this.nowMs);
        }
        return;
      case "write":
        return this.#write(args);
      case "read":
        return this.#read(args);
      case "reachable": {
        const region = this.#region(args[0]);
        const sessionId = parseSession(args[1]);
        this.#print(`${region.name} session ${sessionName(sessionId)} reachable ${region.core.sessionReachable(sessionId, this.nowMs)}`);
        return;
      }
      case "move":
        if (!this.#region("r0").core.moveUnit(args[0] ?? "", args[1] ?? "", this.nowMs)) this.#print("move refused");
        return;
      case "operator-move": {
        const outcome = this.#region("r0").core.operatorMove(args[0] ?? "", args[1] ?? "", this.nowMs);
        this.#print(`operator-move: ${outcome.ok ? "ok" : "refused"}: ${outcome.message}`);
        return;
      }
      case "split":
        if (!this.#region("r0").core.splitUnit(args[0] ?? "", args[1] ?? "", args[2] ?? "", this.nowMs)) this.#print("split refused");
        return;
      case "evict": {
        const outcome = this.#region("r0").core.operatorEvict(args[0] ?? "", this.nowMs);
        this.#print(`evict: ${outcome.ok ? "ok" : "refused"}: ${outcome.message} [${outcome.units.join(", ")}]`);
        return;
      }
      case "link":
        return this.#link(args);
      case "crash":
        return this.#crash(this.#region(args[0]));
      case "restart":
        return this.#restart(this.#region(args[0]));
      case "leases":
        return this.#leases(args.length === 0 ? shownUnits : args);
      case "messages":
        if (this.#queue.length === 0) this.#print("(none)");
        for (const queued of this.#queue) this.#print(`${queued.from} -> ${queued.to} ${describeMessage(queued.message)}`);
        return;
      case "inject":
        return this.#inject(args);
      case "expired": {
        const name = this.#region(args[0]).name;
        this.#print(`root table: ${name}'s leases ${this.#rootTable.expired(name, this.nowMs) ? "have run out" : "still run"}`);
        return;
      }
      case "reclaim":
        this.#reclaimed = [];
        this.#rootTable.reclaimExpired(this.nowMs);
        this.#print(this.#reclaimed.length === 0 ? "root table reclaims nothing" : `root table would record ${list(this.#reclaimed, describeLease)}`);
        return;
      default:
        throw new ScriptError(`unknown command ${command ?? ""}`);
    }
  }

  #parseLink(text: string | undefined): [RegionName, RegionName] {
    const match = /^(\w+)->(\w+)$/.exec(text ?? "");
    if (match === null) throw new ScriptError(`expected from->to, got ${text ?? "(none)"}`);
    return [this.#region(match[1]).name, this.#region(match[2]).name];
  }

  #deliverCommand(args: string[]): void {
    let link: [RegionName, RegionName] | null = null;
    let count = Number.POSITIVE_INFINITY;
    for (const arg of args) {
      if (arg.includes("->")) link = this.#parseLink(arg);
      else count = Number(arg);
    }
    const chosen = this.#queue.filter((q) => link === null || (q.from === link[0] && q.to === link[1])).slice(0, count);
    if (chosen.length === 0) this.#print("(nothing to deliver)");
    this.#deliver(chosen, false);
  }

  #deliver(chosen: readonly Queued[], quiet: boolean): void {
    const set = new Set(chosen);
    this.#queue = this.#queue.filter((q) => !set.has(q));
    for (const queued of chosen) {
      if (!quiet) this.#print(`deliver ${queued.from} -> ${queued.to} ${describeMessage(queued.message)}`);
      const to = this.#region(queued.to);
      if (queued.to === "r0" && queued.message.type === "renew") {
        this.#rootTable.renew(queued.from, queued.message.round, queued.message.leases, [], 0n, this.nowMs);
      }
      to.core.receive(queued.from, queued.message, this.nowMs);
    }
  }

  /** A ship a region could have sent in an earlier life: one delta, stamped origin#shipSeq, queued on the link. */
  #inject(args: string[]): void {
    const [from, to] = this.#parseLink(args[0]);
    const [type, shipSeq, ...request] = args.slice(1);
    if (type !== "ship" || shipSeq === undefined) throw new ScriptError("inject: expected from->to ship <shipSeq> <write>");
    const write = parseRequest(request);
    const target = this.#region(from).core.tree.node(write.op === "setData" ? write.path : "");
    if (write.op !== "setData" || target === undefined) throw new ScriptError("inject: only setData of an existing node");
    const delta: Delta = {
      zxid: 1n, timeMs: BigInt(this.nowMs), sessionId: 0n,
      ops: [{ type: "setData", path: write.path, data: write.data, version: target.version + 1 }],
      stamp: { origin: from, shipSeq: BigInt(shipSeq), streamPos: 0n, leases: [] },
    };
    const message: BrokerMessage = { type: "ship", deltas: [delta], deps: [] };
    this.#queue.push({ from, to, message });
    this.#print(`injected ${from} -> ${to} ${describeMessage(message)}`);
  }

  #drop(args: string[]): void {
    const [from, to] = this.#parseLink(args[0]);
    const dropped = this.#queue.filter((q) => q.from === from && q.to === to);
    this.#queue = this.#queue.filter((q) => !(q.from === from && q.to === to));
    for (const queued of dropped) this.#print(`dropped ${from} -> ${to} ${describeMessage(queued.message)}`);
    if (dropped.length === 0) this.#print("(nothing to drop)");
  }

  #durable(names: readonly string[]): void {
    for (const name of names) {
      const region = this.#region(name);
      const batch = region.pending.splice(0);
      for (const delta of batch) {
        region.disk.push(delta);
        region.core.logDurable(delta.zxid, this.nowMs);
      }
    }
  }

  #settle(quiet: boolean): void {
    const mark = this.#out.length;
    let delivered = 0;
    let durable = 0;
    for (let round = 0; round < 100; round++) {
      const pending = [...this.#regions.values()].reduce((n, r) => n + r.pending.length, 0);
      if (pending === 0 && this.#queue.length === 0) {
        if (quiet) {
          const notes = this.#out.splice(mark).filter((line) => / (warn|error): /.test(line));
          this.#out.push(...notes, `settled: ${delivered} messages delivered, ${durable} appends durable`);
        }
        return;
      }
      durable += pending;
      this.#durable(regions);
      delivered += this.#queue.length;
      this.#deliver([...this.#queue], quiet);
    }
    throw new ScriptError("settle: still busy after 100 rounds");
  }

  /** `write r1 ...` is session r1.s1's; `write r1.s2 ...` another session of r1 (FIFO holds per session only). */
  #write(args: string[]): void {
    const region = this.#region((args[0] ?? "").split(".s")[0]);
    const sessionId = parseSession(args[0]);
    const request = parseRequest(args.slice(1), sessionId);
    const label = `w${this.#nextWrite++}`;
    this.#print(`${label}: ${region.name} ${describeRequest(request)}`);
    region.core.write(sessionId, request, [], this.nowMs, (answer) => this.#print(`${label} answered: ${describeAnswer(answer)}`));
  }

  #read(args: string[]): void {
    const region = this.#region(args[0]);
    const path = args[1] ?? "/";
    if (!path.startsWith("/")) {
      const sessionId = parseSession(path);
      const timeoutMs = region.core.tree.sessionTimeoutMs(sessionId);
      const ephemerals = region.core.tree.ephemeralsOf(sessionId);
      this.#print(`${region.name} session ${sessionName(sessionId)}: ${timeoutMs === undefined ? "none" : "open"}, ephemerals [${ephemerals.join(" ")}]`);
      return;
    }
    const node = region.core.tree.node(path);
    if (node === undefined) this.#print(`${region.name} ${path}: no node`);
    else this.#print(`${region.name} ${path} = "${node.data?.toString() ?? ""}" version ${node.version}`);
  }

  #link(args: string[]): void {
    const [which, state] = args;
    if (state !== "up" && state !== "down") throw new ScriptError("link: expected up or down");
    const pairs: Array<[RegionName, RegionName]> = [];
    if (which?.includes("-") === true) {
      const [a, b] = which.split("-");
      pairs.push([this.#region(a).name, this.#region(b).name]);
    } else {
      const region = this.#region(which).name;
      for (const other of regions) if (other !== region) pairs.push([region, other]);
    }
    for (const [a, b] of pairs) {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const key = `${from}>${to}`;
        if (state === "down") {
          if (this.#down.has(key)) continue;
          this.#down.add(key);
          this.#dropLink(from, to);
          if (this.#region(from).alive && this.#region(to).alive) this.#region(from).core.linkChanged(to, false, this.nowMs);
        } else {
          if (!this.#down.delete(key)) continue;
          if (this.#region(from).alive && this.#region(to).alive) this.#region(from).core.linkChanged(to, true, this.nowMs);
        }
      }
    }
  }

  /** A broken connection loses what it carried. */
  #dropLink(from: RegionName, to: RegionName): void {
    const lost = this.#queue.filter((q) => q.from === from && q.to === to);
    this.#queue = this.#queue.filter((q) => !(q.from === from && q.to === to));
    for (const queued of lost) this.#print(`lost ${from} -> ${to} ${describeMessage(queued.message)}`);
  }

  #crash(region: Region): void {
    if (!region.alive) throw new ScriptError(`${region.name} is not running`);
    region.alive = false;
    for (const delta of region.pending) this.#print(`${region.name} loses ${describeDelta(delta)} (not durable)`);
    region.pending = [];
    for (const other of regions) {
      if (other === region.name) continue;
      this.#dropLink(region.name, other);
      this.#dropLink(other, region.name);
      if (this.#region(other).alive && !this.#down.has(`${other}>${region.name}`)) this.#region(other).core.linkChanged(region.name, false, this.nowMs);
    }
  }

  #restart(region: Region): void {
    if (region.alive) throw new ScriptError(`${region.name} is running`);
    this.#boot(region);
    for (const other of regions) {
      if (other === region.name || !this.#region(other).alive) continue;
      if (this.#linkUp(region.name, other)) region.core.linkChanged(other, true, this.nowMs);
      if (this.#linkUp(other, region.name)) this.#region(other).core.linkChanged(region.name, true, this.nowMs);
    }
  }

  #leases(units: readonly string[]): void {
    for (const region of this.#regions.values()) {
      if (!region.alive) {
        this.#print(`${region.name}: (down)`);
        continue;
      }
      const views = units.map((unit) => {
        const lease = region.core.lease(unit);
        return `${unit} ${lease.owner}@${lease.epoch}${region.core.ownsActiveUnit(unit) ? " writable" : ""}`;
      });
      this.#print(`${region.name}: ${views.join(", ")}`);
    }
  }
}

/** "r1" (session s1 of r1) or "r1.s2": the id a session numbered so of that region has (region's index + 1 in the top byte). */
function parseSession(text: string | undefined): bigint {
  const match = /^(r\d+)(?:\.s(\d+))?$/.exec(text ?? "");
  const index = match === null ? -1 : regions.indexOf(match[1]!);
  if (match === null || index < 0) throw new ScriptError(`expected a session like r1.s1, got ${text ?? "(none)"}`);
  return (BigInt(index + 1) << 56n) | BigInt(match[2] ?? "1");
}

function parseCreateFlags(words: readonly string[]): number {
  let flags = 0;
  for (const word of words) {
    if (word === "ephemeral") flags |= 1;
    else if (word === "sequential") flags |= 2;
    else throw new ScriptError(`create: unknown flag ${word}`);
  }
  return flags;
}

function parseRequest(args: string[], sessionId = 0n): WriteRequest {
  const [op, path, data] = args;
  switch (op) {
    case "setData":
      return { op: "setData", path: path ?? "", data: Buffer.from(data ?? ""), version: -1 };
    case "create":
      return { op: "create", kind: "create", path: path ?? "", data: Buffer.from(data ?? ""), acl: openAcl, flags: parseCreateFlags(args.slice(3)), ttl: -1n };
    case "createSession":
      return { op: "createSession", sessionId, timeoutMs: sessionTimeoutMs };
    case "closeSession":
      return { op: "closeSession", sessionId };
    case "delete":
      return { op: "delete", path: path ?? "", version: -1 };
    case "check":
      return { op: "check", path: path ?? "", version: -1 };
    case "multi": {
      const ops: WriteRequest[] = [];
      let current: string[] = [];
      for (const arg of [...args.slice(1), ";"]) {
        if (arg !== ";") {
          current.push(arg);
          continue;
        }
        if (current.length > 0) ops.push(parseRequest(current, sessionId));
        current = [];
      }
      return { op: "multi", ops };
    }
    default:
      throw new ScriptError(`unknown write ${op ?? "(none)"}`);
  }
}

/** Runs a script (a golden file, its old output ignored) and returns the file with fresh output. */
export function runLeaseScript(text: string): string {
  let world: LeaseWorld | null = null;
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("> ") || line === ">") continue;
    out.push(line);
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    try {
      if (trimmed === "start") {
        if (world !== null) throw new ScriptError("start: already started");
        world = new LeaseWorld();
      } else if (world === null) {
        throw new ScriptError("the script must begin with start");
      } else {
        world.run(trimmed);
      }
    } catch (error) {
      if (!(error instanceof ScriptError)) throw error;
      world?.takeOutput().forEach((l) => out.push(`> ${l}`));
      out.push(`> script error: ${error.message}`);
      continue;
    }
    for (const output of world.takeOutput()) out.push(`> ${output}`);
  }
  return out.join("\n");
}
