// A RawClient whose every request, reply and notification goes into the
// scenario's transcript. Requests are awaited one at a time (pipeline() is
// the exception), so the frames between two replies can only be
// notifications: each reply record lists the notifications that arrived
// before it ("eventsBefore"), which is how notification-versus-reply order
// becomes part of the comparison.

import {
  ConnectionClosedError,
  RawClient,
  encodeRequest,
  openAcl,
  type BodyWriter,
  type ConnectOptions,
  type MultiOp,
  type NotificationFrame,
  type ReplyFrame,
} from "../../test/support/raw-client.js";
import { OpCode, Xid } from "../../src/protocol/codes.js";
import type { ACL, SetWatches, SetWatches2 } from "../../src/protocol/records.generated.js";
import { decodeBody, aclFields } from "./decode.js";
import { dataValue, passwdTag, sessionTag, zxidTag, type Json, type JsonObject, type Transcript } from "./transcript.js";

/** How long a scenario waits for a notification it expects. */
export const eventWaitMsDefault = 2_000;
/** Quiet period after the expected notifications, to catch extra ones. */
export const eventSettleMsDefault = 100;
/** How long a request may stay unanswered before it is recorded as "timeout". */
export const replyWaitMsDefault = 3_000;

export interface TracedConnectOptions {
  timeOutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer;
  lastZxidSeen?: bigint;
  sendReadOnly?: boolean;
  readOnly?: boolean;
  autoPing?: boolean;
  pipelined?: Buffer[];
  firstXid?: number;
}

export function notificationFields(frame: NotificationFrame): JsonObject {
  return { type: frame.type, state: frame.state, path: frame.path, zxid: zxidTag(frame.zxid) };
}

function replyFields(opcode: number, reply: ReplyFrame): JsonObject {
  return { xid: reply.xid, zxid: zxidTag(reply.zxid), err: reply.err, ...decodeBody(opcode, reply.err, reply.body) };
}

function aclRequest(acl: readonly ACL[]): Json {
  return aclFields(acl);
}

function multiOpFields(op: MultiOp): JsonObject {
  const fields: JsonObject = { type: op.type, path: op.path };
  if ("data" in op) fields.data = dataValue(op.data ?? null);
  if ("version" in op && op.version !== undefined) fields.version = op.version;
  if ("flags" in op && op.flags !== undefined) fields.flags = op.flags;
  if ("ttl" in op) fields.ttl = op.ttl.toString();
  return fields;
}

export class TracedClient {
  readonly name: string;
  readonly raw: RawClient;
  readonly #transcript: Transcript;
  #cursor = 0;

  private constructor(name: string, raw: RawClient, transcript: Transcript) {
    this.name = name;
    this.raw = raw;
    this.#transcript = transcript;
    raw.requestTimeoutMs = replyWaitMsDefault;
  }

  /**
   * Connects and records the handshake. A refused session (timeOut 0) still
   * gives a client: record closedWithin() next. Returns null (and records
   * the failure) when the server closes before answering.
   */
  static async connect(
    transcript: Transcript,
    id: string,
    name: string,
    port: number,
    host: string,
    options: TracedConnectOptions = {},
  ): Promise<TracedClient | null> {
    const request: JsonObject = {
      timeOut: options.timeOutMs ?? null,
      sessionId: sessionTag(options.sessionId ?? 0n),
      passwd: passwdTag(options.passwd ?? Buffer.alloc(16)),
      lastZxidSeen: options.lastZxidSeen === undefined ? 0 : zxidTag(options.lastZxidSeen),
      sendReadOnly: options.sendReadOnly ?? true,
      readOnly: options.readOnly ?? false,
    };
    // RawClient passes its options to encodeConnectRequest, which also
    // reads `readOnly` (the byte's value); ConnectOptions does not declare it.
    const connectOptions: ConnectOptions & { readOnly?: boolean } = { port, host, connectTimeoutMs: replyWaitMsDefault, ...options };
    try {
      const raw = await RawClient.connect(connectOptions);
      transcript.add(id, { client: name, op: "connect", request, response: TracedClient.#handshakeFields(raw) });
      return new TracedClient(name, raw, transcript);
    } catch (error) {
      transcript.add(id, { client: name, op: "connect", request, response: errorOutcome(error) });
      return null;
    }
  }

  static #handshakeFields(raw: RawClient): JsonObject {
    const handshake = raw.handshake;
    return {
      protocolVersion: handshake.protocolVersion,
      timeOut: handshake.timeOut,
      sessionId: sessionTag(handshake.sessionId),
      passwd: passwdTag(handshake.passwd),
      readOnly: handshake.readOnly,
      bodyBytes: handshake.bodyBytes,
    };
  }

  get sessionId(): bigint {
    return this.raw.sessionId;
  }

  get passwd(): Buffer {
    return this.raw.passwd;
  }

  get lastZxid(): bigint {
    return this.raw.lastZxid;
  }

  /** Sends one request, waits for its reply (or the connection's end) and records both. */
  async call(
    id: string,
    opcode: number,
    request: JsonObject,
    body?: BodyWriter | Buffer,
    xid?: number,
    transform: (fields: JsonObject) => JsonObject = (fields) => fields,
  ): Promise<ReplyFrame | null> {
    let reply: ReplyFrame | null = null;
    let outcome: Json;
    try {
      reply = await this.raw.request(opcode, body, xid);
      outcome = transform(replyFields(opcode, reply));
    } catch (error) {
      outcome = errorOutcome(error);
    }
    const eventsBefore = this.#takeNotificationsBefore(reply);
    this.#transcript.add(id, { client: this.name, op: opcode, request, eventsBefore, reply: outcome });
    return reply;
  }

  /**
   * Writes several requests in one TCP write and records every frame that
   * answers them, replies and notifications, in arrival order. The caller
   * picks the xids (RawClient only hands out xids as it sends), well away
   * from the ones request() uses.
   */
  async pipeline(id: string, requests: ReadonlyArray<{ opcode: number; request: JsonObject; body?: BodyWriter | Buffer; xid: number }>): Promise<void> {
    const frames: Buffer[] = [];
    const promises: Promise<ReplyFrame>[] = [];
    for (const entry of requests) {
      const xid = entry.xid;
      frames.push(encodeRequest(xid, entry.opcode, entry.body));
      promises.push(this.raw.expectReply(xid, entry.opcode));
    }
    this.raw.writeRaw(Buffer.concat(frames));
    const settled = await Promise.allSettled(promises);
    const arrivals: Json[] = [];
    const end = this.raw.frames.length;
    for (let index = this.#cursor; index < end; index++) {
      const frame = this.raw.frames[index]!;
      if (frame.kind === "notification") {
        arrivals.push({ notification: notificationFields(frame) });
        continue;
      }
      const position = settled.findIndex((result) => result.status === "fulfilled" && result.value === frame);
      const opcode = position >= 0 ? requests[position]!.opcode : -1;
      arrivals.push({ reply: replyFields(opcode, frame) });
    }
    this.#cursor = end;
    const unanswered = settled.flatMap((result, index) => (result.status === "rejected" ? [{ index, outcome: errorOutcome(result.reason) }] : []));
    this.#transcript.add(id, {
      client: this.name,
      op: "pipeline",
      requests: requests.map((entry) => ({ op: entry.opcode, xid: entry.xid, ...entry.request })),
      arrivals,
      unanswered,
    });
  }

  /**
   * Waits until `count` notifications arrived since the last record (or
   * waitMs passed), lets a short quiet period pass to catch extra ones, and
   * records them all.
   */
  async events(id: string, count: number, waitMs = eventWaitMsDefault, settleMs = eventSettleMsDefault): Promise<void> {
    const pending = (): number => this.raw.frames.slice(this.#cursor).filter((frame) => frame.kind === "notification").length;
    await this.raw.waitUntil(() => pending() >= count || this.raw.closed, waitMs, "notifications").catch(() => {});
    await sleep(settleMs);
    this.#recordArrivals(id, "events");
  }

  /** Waits waitMs and records whatever arrived (a notification nobody should get). */
  async quiet(id: string, waitMs = 300): Promise<void> {
    await sleep(waitMs);
    this.#recordArrivals(id, "quiet");
  }

  /** Records whether the server closes the connection within waitMs, and what came before. */
  async closedWithin(id: string, waitMs = 1_500): Promise<boolean> {
    const closed = await this.raw.closesWithin(waitMs);
    const arrivals = this.#arrivalsSinceCursor();
    this.#transcript.add(id, { client: this.name, op: "closed?", closed, arrivals, garbage: this.raw.garbage.length });
    return closed;
  }

  /**
   * Leaves out of the transcript whatever arrived since the last record, for
   * a scenario that recorded what matters of it itself (a race it reduced to
   * its meaning). Returns how many frames were skipped.
   */
  discardArrivals(): number {
    const skipped = this.raw.frames.length - this.#cursor;
    this.#cursor = this.raw.frames.length;
    return skipped;
  }

  /** Drops the TCP connection without closing the session. */
  drop(id: string): void {
    this.raw.destroy();
    this.#transcript.add(id, { client: this.name, op: "drop", arrivals: this.#arrivalsSinceCursor() });
  }

  /** closeSession (-11), recorded, then whether the server closed the connection. */
  async closeSession(id: string): Promise<void> {
    await this.call(id, OpCode.closeSession, {});
    await this.closedWithin(`${id}-closed`);
  }

  #recordArrivals(id: string, op: string): void {
    this.#transcript.add(id, { client: this.name, op, arrivals: this.#arrivalsSinceCursor(), closed: this.raw.closed });
  }

  #arrivalsSinceCursor(): Json[] {
    const arrivals: Json[] = [];
    for (const frame of this.raw.frames.slice(this.#cursor)) {
      arrivals.push(frame.kind === "notification" ? { notification: notificationFields(frame) } : { reply: replyFields(-1, frame) });
    }
    this.#cursor = this.raw.frames.length;
    return arrivals;
  }

  #takeNotificationsBefore(reply: ReplyFrame | null): Json[] {
    const end = reply === null ? this.raw.frames.length : this.raw.frames.indexOf(reply);
    const stop = end < 0 ? this.raw.frames.length : end;
    const events: Json[] = [];
    for (const frame of this.raw.frames.slice(this.#cursor, stop)) {
      events.push(frame.kind === "notification" ? { notification: notificationFields(frame) } : { reply: replyFields(-1, frame) });
    }
    this.#cursor = reply === null ? this.raw.frames.length : stop + 1;
    return events;
  }

  // ------------------------------------------------------ typed requests

  create(id: string, path: string, data: Buffer | null = null, flags = 0, acl: ACL[] = openAcl, opcode: number = OpCode.create): Promise<ReplyFrame | null> {
    return this.call(id, opcode, { path, data: dataValue(data), flags, acl: aclRequest(acl) }, (w) => {
      w.writeString(path);
      w.writeBuffer(data);
      w.writeVector(acl, (writer, entry) => {
        writer.writeInt(entry.perms);
        writer.writeString(entry.id.scheme);
        writer.writeString(entry.id.id);
      });
      w.writeInt(flags);
    });
  }

  create2(id: string, path: string, data: Buffer | null = null, flags = 0, acl: ACL[] = openAcl): Promise<ReplyFrame | null> {
    return this.create(id, path, data, flags, acl, OpCode.create2);
  }

  createContainer(id: string, path: string, data: Buffer | null = null, flags = 4, acl: ACL[] = openAcl): Promise<ReplyFrame | null> {
    return this.create(id, path, data, flags, acl, OpCode.createContainer);
  }

  createTTL(id: string, path: string, ttl: bigint, data: Buffer | null = null, flags = 5, acl: ACL[] = openAcl): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.createTTL, { path, data: dataValue(data), flags, ttl: ttl.toString(), acl: aclRequest(acl) }, (w) => {
      w.writeString(path);
      w.writeBuffer(data);
      w.writeVector(acl, (writer, entry) => {
        writer.writeInt(entry.perms);
        writer.writeString(entry.id.scheme);
        writer.writeString(entry.id.id);
      });
      w.writeInt(flags);
      w.writeLong(ttl);
    });
  }

  delete(id: string, path: string, version = -1): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.delete, { path, version }, (w) => {
      w.writeString(path);
      w.writeInt(version);
    });
  }

  #pathWatch(id: string, opcode: number, path: string, watch: boolean): Promise<ReplyFrame | null> {
    return this.call(id, opcode, { path, watch }, (w) => {
      w.writeString(path);
      w.writeBool(watch);
    });
  }

  exists(id: string, path: string, watch = false): Promise<ReplyFrame | null> {
    return this.#pathWatch(id, OpCode.exists, path, watch);
  }

  getData(id: string, path: string, watch = false): Promise<ReplyFrame | null> {
    return this.#pathWatch(id, OpCode.getData, path, watch);
  }

  getChildren(id: string, path: string, watch = false): Promise<ReplyFrame | null> {
    return this.#pathWatch(id, OpCode.getChildren, path, watch);
  }

  getChildren2(id: string, path: string, watch = false): Promise<ReplyFrame | null> {
    return this.#pathWatch(id, OpCode.getChildren2, path, watch);
  }

  setData(id: string, path: string, data: Buffer | null, version = -1): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.setData, { path, data: dataValue(data), version }, (w) => {
      w.writeString(path);
      w.writeBuffer(data);
      w.writeInt(version);
    });
  }

  /**
   * getACL; `sorted` sorts the entries, for ACLs made from `auth:` with
   * several ids, which ZooKeeper expands in the hash-set order of the
   * connection's ids. Explicit lists keep their order (ZooKeeper stores them as given).
   */
  getACL(id: string, path: string, sorted = false): Promise<ReplyFrame | null> {
    const sortAcl = (fields: JsonObject): JsonObject => {
      if (!sorted || !Array.isArray(fields.acl)) return fields;
      return { ...fields, acl: [...fields.acl].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
    };
    return this.call(id, OpCode.getACL, sorted ? { path, sorted } : { path }, (w) => w.writeString(path), undefined, sortAcl);
  }

  setACL(id: string, path: string, acl: ACL[], version = -1): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.setACL, { path, acl: aclRequest(acl), version }, (w) => {
      w.writeString(path);
      w.writeVector(acl, (writer, entry) => {
        writer.writeInt(entry.perms);
        writer.writeString(entry.id.scheme);
        writer.writeString(entry.id.id);
      });
      w.writeInt(version);
    });
  }

  #pathOnly(id: string, opcode: number, path: string): Promise<ReplyFrame | null> {
    return this.call(id, opcode, { path }, (w) => w.writeString(path));
  }

  sync(id: string, path: string): Promise<ReplyFrame | null> {
    return this.#pathOnly(id, OpCode.sync, path);
  }

  getEphemerals(id: string, prefixPath: string): Promise<ReplyFrame | null> {
    return this.#pathOnly(id, OpCode.getEphemerals, prefixPath);
  }

  getAllChildrenNumber(id: string, path: string): Promise<ReplyFrame | null> {
    return this.#pathOnly(id, OpCode.getAllChildrenNumber, path);
  }

  check(id: string, path: string, version: number): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.check, { path, version }, (w) => {
      w.writeString(path);
      w.writeInt(version);
    });
  }

  multi(id: string, ops: readonly MultiOp[], opcode: number = OpCode.multi): Promise<ReplyFrame | null> {
    return this.call(id, opcode, { ops: ops.map(multiOpFields) }, encodeMultiOps(ops));
  }

  multiRead(id: string, ops: readonly MultiOp[]): Promise<ReplyFrame | null> {
    return this.multi(id, ops, OpCode.multiRead);
  }

  addWatch(id: string, path: string, mode: number): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.addWatch, { path, mode }, (w) => {
      w.writeString(path);
      w.writeInt(mode);
    });
  }

  removeWatches(id: string, path: string, type: number): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.removeWatches, { path, type }, (w) => {
      w.writeString(path);
      w.writeInt(type);
    });
  }

  checkWatches(id: string, path: string, type: number): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.checkWatches, { path, type }, (w) => {
      w.writeString(path);
      w.writeInt(type);
    });
  }

  setWatches(id: string, watches: SetWatches): Promise<ReplyFrame | null> {
    const request: JsonObject = {
      relativeZxid: zxidTag(watches.relativeZxid),
      dataWatches: watches.dataWatches,
      existWatches: watches.existWatches,
      childWatches: watches.childWatches,
    };
    return this.call(id, OpCode.setWatches, request, (w) => {
      w.writeLong(watches.relativeZxid);
      for (const list of [watches.dataWatches, watches.existWatches, watches.childWatches]) w.writeVector(list, (writer, path) => writer.writeString(path));
    }, Xid.setWatches);
  }

  setWatches2(id: string, watches: SetWatches2): Promise<ReplyFrame | null> {
    const lists = [watches.dataWatches, watches.existWatches, watches.childWatches, watches.persistentWatches, watches.persistentRecursiveWatches];
    const request: JsonObject = {
      relativeZxid: zxidTag(watches.relativeZxid),
      dataWatches: watches.dataWatches,
      existWatches: watches.existWatches,
      childWatches: watches.childWatches,
      persistentWatches: watches.persistentWatches,
      persistentRecursiveWatches: watches.persistentRecursiveWatches,
    };
    return this.call(id, OpCode.setWatches2, request, (w) => {
      w.writeLong(watches.relativeZxid);
      for (const list of lists) w.writeVector(list, (writer, path) => writer.writeString(path));
    }, Xid.setWatches);
  }

  whoAmI(id: string): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.whoAmI, {});
  }

  /** AuthPacket on xid -4; a failed auth closes the connection (recorded separately). */
  addAuth(id: string, scheme: string, auth: string): Promise<ReplyFrame | null> {
    const bytes = Buffer.from(auth, "utf8");
    return this.call(id, OpCode.auth, { scheme, auth }, (w) => {
      w.writeInt(0);
      w.writeString(scheme);
      w.writeBuffer(bytes);
    }, Xid.auth);
  }

  ping(id: string): Promise<ReplyFrame | null> {
    return this.call(id, OpCode.ping, {}, undefined, Xid.ping);
  }

  /**
   * A hand-made request: any opcode, any body bytes. `description` is what
   * the transcript shows of the request (by default its length: the bytes
   * may hold the namespace path, which differs between the two servers).
   */
  rawRequest(id: string, opcode: number, body: Buffer, description: JsonObject = { bodyBytes: body.length }, xid?: number): Promise<ReplyFrame | null> {
    return this.call(id, opcode, description, body, xid);
  }

  /** Sends closeSession if the connection is still open; not recorded (cleanup). */
  async dispose(): Promise<void> {
    if (!this.raw.closed) await this.raw.close();
  }
}

export function encodeMultiOps(ops: readonly MultiOp[]): BodyWriter {
  return (writer) => {
    for (const op of ops) {
      writer.writeInt(op.type);
      writer.writeBool(false);
      writer.writeInt(-1);
      writeOne(writer, op);
    }
    writer.writeInt(-1);
    writer.writeBool(true);
    writer.writeInt(-1);
  };
}

function writeOne(w: Parameters<BodyWriter>[0], op: MultiOp): void {
  switch (op.type) {
    case 1:
    case 15:
    case 19:
    case 21:
      w.writeString(op.path);
      w.writeBuffer(op.data ?? null);
      w.writeVector(op.acl ?? openAcl, (writer, entry) => {
        writer.writeInt(entry.perms);
        writer.writeString(entry.id.scheme);
        writer.writeString(entry.id.id);
      });
      w.writeInt(op.flags ?? (op.type === 21 ? 5 : op.type === 19 ? 4 : 0));
      if (op.type === 21) w.writeLong(op.ttl);
      return;
    case 2:
      w.writeString(op.path);
      w.writeInt(op.version ?? -1);
      return;
    case 5:
      w.writeString(op.path);
      w.writeBuffer(op.data);
      w.writeInt(op.version ?? -1);
      return;
    case 13:
      w.writeString(op.path);
      w.writeInt(op.version);
      return;
    case 4:
    case 8:
      w.writeString(op.path);
      w.writeBool(false);
      return;
  }
}

export function errorOutcome(error: unknown): Json {
  if (error instanceof ConnectionClosedError) return "closed";
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith("no reply to xid")) return "timeout";
  if (message === "handshake timed out") return "timeout";
  return `error:${message.split(";")[0] ?? message}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
