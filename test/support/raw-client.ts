// A minimal ZooKeeper client speaking the wire protocol directly over
// node:net, for what node-zookeeper-client cannot express: the 3.5+ opcodes,
// exact handshake bytes, pipelining, hand-made or broken frames.
//
// Everything the server sends after the handshake is kept in `frames`, in
// arrival order, replies and notifications interleaved, so tests can assert
// that a notification came before a reply. Requests are pipelined; replies
// are matched to requests by xid, and a reply that is not for the oldest
// outstanding request is recorded in `outOfOrder` (ZooKeeper answers strictly
// in request order, and the Java client dies on "Xid out of order").
// Pings (xid -2) and auth (xid -4) are answered outside that order, as in
// ZooKeeper, and are matched separately.

import net from "node:net";
import { JuteReader, JuteWriter } from "../../src/protocol/archive.js";
import { encodeFrame, FrameDecoder } from "../../src/protocol/frame.js";
import { CreateFlag, OpCode, Xid } from "../../src/protocol/codes.js";
import {
  readConnectResponse,
  readCreate2Response,
  readCreateResponse,
  readErrorResponse,
  readGetChildrenResponse,
  readGetDataResponse,
  readMultiHeader,
  readReplyHeader,
  readSetDataResponse,
  readStat,
  readWatcherEvent,
  writeAddWatchRequest,
  writeAuthPacket,
  writeCheckVersionRequest,
  writeCheckWatchesRequest,
  writeConnectRequest,
  writeCreateRequest,
  writeCreateTTLRequest,
  writeDeleteRequest,
  writeExistsRequest,
  writeGetAllChildrenNumberRequest,
  writeGetChildren2Request,
  writeGetChildrenRequest,
  writeGetDataRequest,
  writeGetEphemeralsRequest,
  writeMultiHeader,
  writeRemoveWatchesRequest,
  writeRequestHeader,
  writeSetACLRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeSetWatches2,
  writeSyncRequest,
  type ACL,
  type SetWatches,
  type SetWatches2,
  type Stat,
} from "../../src/protocol/records.generated.js";

export const loopback = "127.0.0.1";
export const openAcl: ACL[] = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];

const connectTimeoutMsDefault = 5_000;
const requestTimeoutMsDefault = 10_000;
const sessionTimeoutMsDefault = 10_000;

export interface ReplyFrame {
  kind: "reply";
  xid: number;
  zxid: bigint;
  err: number;
  /** The bytes after the ReplyHeader (empty for header-only replies). */
  body: Buffer;
}

export interface NotificationFrame {
  kind: "notification";
  zxid: bigint;
  type: number;
  state: number;
  path: string;
}

export type ServerFrame = ReplyFrame | NotificationFrame;

export interface Handshake {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  /** The trailing readOnly byte, or null when the server did not send it. */
  readOnly: boolean | null;
  /** Length of the ConnectResponse body (36 without readOnly, 37 with). */
  bodyBytes: number;
}

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Requested session timeout. */
  timeOutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer;
  lastZxidSeen?: bigint;
  /** Send the optional trailing readOnly byte (45-byte request); default true. */
  sendReadOnly?: boolean;
  /** Bound on the whole handshake. */
  connectTimeoutMs?: number;
  /** Ping every third of the negotiated timeout; default true. */
  autoPing?: boolean;
  /** Bytes written in the same write as the ConnectRequest, before its answer is read. */
  pipelined?: Buffer[];
  /** The xid of the first request() (default 1); raise it past pipelined xids. */
  firstXid?: number;
}

/** Thrown to pending requests when the connection closes under them. */
export class ConnectionClosedError extends Error {
  readonly code = "ERR_CONNECTION_CLOSED";
  constructor(message: string) {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

export type BodyWriter = (writer: JuteWriter) => void;

export function encodeConnectRequest(options: {
  lastZxidSeen?: bigint;
  timeOutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer;
  sendReadOnly?: boolean;
  readOnly?: boolean;
}): Buffer {
  const writer = new JuteWriter();
  writeConnectRequest(writer, {
    protocolVersion: 0,
    lastZxidSeen: options.lastZxidSeen ?? 0n,
    timeOut: options.timeOutMs ?? sessionTimeoutMsDefault,
    sessionId: options.sessionId ?? 0n,
    passwd: options.passwd ?? Buffer.alloc(16),
  });
  if (options.sendReadOnly ?? true) writer.writeBool(options.readOnly ?? false);
  return encodeFrame(writer.toBuffer());
}

/** A request frame: RequestHeader then the body. */
export function encodeRequest(xid: number, type: number, body?: BodyWriter | Buffer): Buffer {
  const writer = new JuteWriter();
  writeRequestHeader(writer, { xid, type });
  if (typeof body === "function") body(writer);
  else if (body !== undefined) writer.writeRaw(body);
  return encodeFrame(writer.toBuffer());
}

export function decodeHandshake(body: Buffer): Handshake {
  const reader = new JuteReader(body);
  const response = readConnectResponse(reader);
  const readOnly = reader.remaining() >= 1 ? reader.readBool() : null;
  return { ...response, readOnly, bodyBytes: body.length };
}

/** Decodes one server frame after the handshake. */
export function decodeServerFrame(frame: Buffer): ServerFrame {
  const reader = new JuteReader(frame);
  const header = readReplyHeader(reader);
  if (header.xid === Xid.notification) {
    const event = readWatcherEvent(reader);
    return { kind: "notification", zxid: header.zxid, ...event };
  }
  return { kind: "reply", ...header, body: frame.subarray(reader.offset) };
}

// ---------------------------------------------------------------- multi

export type MultiOp =
  | { type: 1 | 15 | 19; path: string; data?: Buffer | null; acl?: ACL[]; flags?: number }
  | { type: 21; path: string; data?: Buffer | null; acl?: ACL[]; flags?: number; ttl: bigint }
  | { type: 2; path: string; version?: number }
  | { type: 5; path: string; data: Buffer | null; version?: number }
  | { type: 13; path: string; version: number }
  | { type: 4 | 8; path: string };

export interface MultiResult {
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
  data?: Buffer | null;
  children?: string[];
}

function writeMultiOp(writer: JuteWriter, op: MultiOp): void {
  writeMultiHeader(writer, { type: op.type, done: false, err: -1 });
  switch (op.type) {
    case 1:
    case 15:
    case 19:
      writeCreateRequest(writer, { path: op.path, data: op.data ?? null, acl: op.acl ?? openAcl, flags: op.flags ?? 0 });
      return;
    case 21:
      writeCreateTTLRequest(writer, {
        path: op.path,
        data: op.data ?? null,
        acl: op.acl ?? openAcl,
        flags: op.flags ?? CreateFlag.persistentWithTtl,
        ttl: op.ttl,
      });
      return;
    case 2:
      writeDeleteRequest(writer, { path: op.path, version: op.version ?? -1 });
      return;
    case 5:
      writeSetDataRequest(writer, { path: op.path, data: op.data, version: op.version ?? -1 });
      return;
    case 13:
      writeCheckVersionRequest(writer, { path: op.path, version: op.version });
      return;
    case 4:
    case 8:
      // multiRead sub-requests: GetDataRequest / GetChildrenRequest without watch.
      writeGetDataRequest(writer, { path: op.path, watch: false });
      return;
  }
}

/** MultiOperationRecord: a MultiHeader and body per op, then {-1, true, -1}. */
export function encodeMulti(ops: readonly MultiOp[]): BodyWriter {
  return (writer) => {
    for (const op of ops) writeMultiOp(writer, op);
    writeMultiHeader(writer, { type: -1, done: true, err: -1 });
  };
}

/** MultiResponse: per-op results up to the terminator; the reader must end there. */
export function decodeMultiResponse(body: Buffer): MultiResult[] {
  const reader = new JuteReader(body);
  const results: MultiResult[] = [];
  for (;;) {
    const header = readMultiHeader(reader);
    if (header.done) break;
    results.push(readMultiResult(reader, header.type, header.err));
  }
  reader.expectEnd("MultiResponse");
  return results;
}

function readMultiResult(reader: JuteReader, type: number, headerErr: number): MultiResult {
  switch (type) {
    case 1:
      return { type, err: headerErr, path: readCreateResponse(reader).path };
    case 15:
    case 19:
    case 21: {
      const response = readCreate2Response(reader);
      return { type, err: headerErr, path: response.path, stat: response.stat };
    }
    case 2:
    case 13:
      return { type, err: headerErr };
    case 5:
      return { type, err: headerErr, stat: readSetDataResponse(reader).stat };
    case 4: {
      const response = readGetDataResponse(reader);
      return { type, err: headerErr, data: response.data, stat: response.stat };
    }
    case 8:
      return { type, err: headerErr, children: readGetChildrenResponse(reader).children };
    case -1: {
      const err = readErrorResponse(reader).err;
      if (err !== headerErr) throw new Error(`multi error result: header err ${headerErr} but ErrorResponse ${err}`);
      return { type, err };
    }
    default:
      throw new Error(`multi result of unexpected type ${type}`);
  }
}

// ---------------------------------------------------------------- client

interface Pending {
  xid: number;
  type: number;
  resolve: (reply: ReplyFrame) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawClient {
  readonly socket: net.Socket;
  readonly handshake: Handshake;
  /** Replies and notifications in arrival order (pings excluded). */
  readonly frames: ServerFrame[] = [];
  /** Replies that did not answer the oldest outstanding request. */
  readonly outOfOrder: string[] = [];
  /** Frames that could not be decoded. */
  readonly garbage: string[] = [];
  /** Largest zxid seen in a reply header. */
  lastZxid = 0n;
  pingReplies = 0;
  closed = false;
  readonly whenClosed: Promise<void>;
  requestTimeoutMs = requestTimeoutMsDefault;

  readonly #ordered: Pending[] = [];
  readonly #special: Pending[] = [];
  readonly #decoder: FrameDecoder;
  readonly #listeners = new Set<() => void>();
  #nextXid = 1;
  #pingTimer: NodeJS.Timeout | null = null;

  private constructor(socket: net.Socket, decoder: FrameDecoder, handshake: Handshake, leftover: Buffer[]) {
    this.socket = socket;
    this.#decoder = decoder;
    this.handshake = handshake;
    this.whenClosed = new Promise((resolveClosed) => {
      const onClose = (): void => {
        this.closed = true;
        this.#stopPinging();
        this.#failAll(new ConnectionClosedError("connection closed"));
        this.#notify();
        resolveClosed();
      };
      if (socket.destroyed) onClose();
      else socket.once("close", onClose);
    });
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    for (const frame of leftover) this.#onFrame(frame);
  }

  /**
   * Connects, sends the ConnectRequest and resolves with the client once the
   * ConnectResponse is in. A rejected session (timeOut 0) still resolves:
   * check `handshake` and `whenClosed`. Rejects if the server closes before
   * answering or the handshake takes longer than connectTimeoutMs.
   */
  static connect(options: ConnectOptions): Promise<RawClient> {
    const socket = net.connect({ host: options.host ?? loopback, port: options.port });
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(0x7fffffff);
    return new Promise((resolveClient, reject) => {
      const timer = setTimeout(() => fail(new Error("handshake timed out")), options.connectTimeoutMs ?? connectTimeoutMsDefault);
      let done = false;
      function fail(error: Error): void {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      }
      socket.on("error", (error) => fail(error));
      socket.once("close", () => fail(new ConnectionClosedError("closed before the ConnectResponse")));
      socket.once("connect", () => {
        socket.write(Buffer.concat([encodeConnectRequest(options), ...(options.pipelined ?? [])]));
      });
      const onData = (chunk: Buffer): void => {
        let frames: Buffer[];
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          fail(error as Error);
          return;
        }
        const [first, ...rest] = frames;
        if (first === undefined || done) return;
        done = true;
        clearTimeout(timer);
        socket.removeListener("data", onData);
        socket.removeAllListeners("close");
        socket.removeAllListeners("error");
        socket.on("error", () => {});
        const client = new RawClient(socket, decoder, decodeHandshake(first), rest);
        client.#nextXid = options.firstXid ?? 1;
        if ((options.autoPing ?? true) && client.handshake.timeOut > 0) client.#startPinging();
        resolveClient(client);
      };
      socket.on("data", onData);
    });
  }

  get sessionId(): bigint {
    return this.handshake.sessionId;
  }

  get passwd(): Buffer {
    return this.handshake.passwd ?? Buffer.alloc(16);
  }

  /** The local port of this connection (as cons/stat print it). */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  notifications(): NotificationFrame[] {
    return this.frames.filter((frame): frame is NotificationFrame => frame.kind === "notification");
  }

  replies(): ReplyFrame[] {
    return this.frames.filter((frame): frame is ReplyFrame => frame.kind === "reply");
  }

  /** Index in `frames` of the reply with this xid, or -1. */
  indexOfReply(xid: number): number {
    return this.frames.findIndex((frame) => frame.kind === "reply" && frame.xid === xid);
  }

  /** The xid the next request() without an explicit xid will use. */
  peekXid(): number {
    return this.#nextXid;
  }

  /**
   * Sends one request and resolves with its reply (whatever its err).
   * Rejects with ConnectionClosedError if the connection closes first.
   */
  request(type: number, body?: BodyWriter | Buffer, xid?: number): Promise<ReplyFrame> {
    const requestXid = xid ?? this.#nextXid++;
    const frame = encodeRequest(requestXid, type, body);
    const promise = this.#expect(requestXid, type);
    this.socket.write(frame);
    return promise;
  }

  /** Writes bytes as they are (hand-made frames); nothing is expected. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Registers that a reply with this xid is expected (for hand-written frames). */
  expectReply(xid: number, type = 0): Promise<ReplyFrame> {
    return this.#expect(xid, type);
  }

  /** Resolves once predicate(frames) holds; rejects after timeoutMs. */
  waitUntil(predicate: () => boolean, timeoutMs: number, what = "condition"): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolveWait, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        cleanup();
        resolveWait();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${this.describeFrames()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }

  /** Waits for a notification matching the filter and returns it. */
  async waitForNotification(
    filter: { type?: number; path?: string },
    timeoutMs = 10_000,
  ): Promise<NotificationFrame> {
    const matches = (frame: ServerFrame): frame is NotificationFrame =>
      frame.kind === "notification" &&
      (filter.type === undefined || frame.type === filter.type) &&
      (filter.path === undefined || frame.path === filter.path);
    await this.waitUntil(() => this.frames.some(matches), timeoutMs, `notification ${JSON.stringify(filter)}`);
    return this.frames.find(matches)!;
  }

  /** Resolves true if the connection closes within timeoutMs, false otherwise. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout(false), timeoutMs);
    });
    const result = await Promise.race([this.whenClosed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  describeFrames(): string {
    return this.frames
      .map((frame) =>
        frame.kind === "reply" ? `reply(xid=${frame.xid},err=${frame.err})` : `event(type=${frame.type},path=${frame.path})`,
      )
      .join(" ");
  }

  /** Drops the TCP connection without closing the session. */
  destroy(): void {
    this.#stopPinging();
    this.socket.destroy();
  }

  /** closeSession (-11), then waits (bounded) for the server to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#stopPinging();
    try {
      await this.request(OpCode.closeSession);
    } catch {
      // already closing
    }
    if (!(await this.closesWithin(5_000))) this.socket.destroy();
  }

  // ------------------------------------------------------ typed requests

  create(path: string, data: Buffer | null = null, flags = 0, acl: ACL[] = openAcl): Promise<ReplyFrame> {
    return this.request(OpCode.create, (w) => writeCreateRequest(w, { path, data, acl, flags }));
  }

  create2(path: string, data: Buffer | null = null, flags = 0, acl: ACL[] = openAcl): Promise<ReplyFrame> {
    return this.request(OpCode.create2, (w) => writeCreateRequest(w, { path, data, acl, flags }));
  }

  createContainer(path: string, data: Buffer | null = null, acl: ACL[] = openAcl): Promise<ReplyFrame> {
    return this.request(OpCode.createContainer, (w) =>
      writeCreateRequest(w, { path, data, acl, flags: CreateFlag.container }),
    );
  }

  createTTL(path: string, ttl: bigint, data: Buffer | null = null, flags: number = CreateFlag.persistentWithTtl, acl: ACL[] = openAcl): Promise<ReplyFrame> {
    return this.request(OpCode.createTTL, (w) => writeCreateTTLRequest(w, { path, data, acl, flags, ttl }));
  }

  delete(path: string, version = -1): Promise<ReplyFrame> {
    return this.request(OpCode.delete, (w) => writeDeleteRequest(w, { path, version }));
  }

  exists(path: string, watch = false): Promise<ReplyFrame> {
    return this.request(OpCode.exists, (w) => writeExistsRequest(w, { path, watch }));
  }

  getData(path: string, watch = false): Promise<ReplyFrame> {
    return this.request(OpCode.getData, (w) => writeGetDataRequest(w, { path, watch }));
  }

  setData(path: string, data: Buffer | null, version = -1): Promise<ReplyFrame> {
    return this.request(OpCode.setData, (w) => writeSetDataRequest(w, { path, data, version }));
  }

  setACL(path: string, acl: ACL[], version = -1): Promise<ReplyFrame> {
    return this.request(OpCode.setACL, (w) => writeSetACLRequest(w, { path, acl, version }));
  }

  getACL(path: string): Promise<ReplyFrame> {
    return this.request(OpCode.getACL, (w) => w.writeString(path));
  }

  getChildren(path: string, watch = false): Promise<ReplyFrame> {
    return this.request(OpCode.getChildren, (w) => writeGetChildrenRequest(w, { path, watch }));
  }

  getChildren2(path: string, watch = false): Promise<ReplyFrame> {
    return this.request(OpCode.getChildren2, (w) => writeGetChildren2Request(w, { path, watch }));
  }

  sync(path: string): Promise<ReplyFrame> {
    return this.request(OpCode.sync, (w) => writeSyncRequest(w, { path }));
  }

  multi(ops: readonly MultiOp[]): Promise<ReplyFrame> {
    return this.request(OpCode.multi, encodeMulti(ops));
  }

  multiRead(ops: readonly MultiOp[]): Promise<ReplyFrame> {
    return this.request(OpCode.multiRead, encodeMulti(ops));
  }

  addWatch(path: string, mode: number): Promise<ReplyFrame> {
    return this.request(OpCode.addWatch, (w) => writeAddWatchRequest(w, { path, mode }));
  }

  removeWatches(path: string, type: number): Promise<ReplyFrame> {
    return this.request(OpCode.removeWatches, (w) => writeRemoveWatchesRequest(w, { path, type }));
  }

  checkWatches(path: string, type: number): Promise<ReplyFrame> {
    return this.request(OpCode.checkWatches, (w) => writeCheckWatchesRequest(w, { path, type }));
  }

  /** SetWatches (op 101) with the special xid -8. */
  setWatches(watches: SetWatches): Promise<ReplyFrame> {
    return this.request(OpCode.setWatches, (w) => writeSetWatches(w, watches), Xid.setWatches);
  }

  setWatches2(watches: SetWatches2): Promise<ReplyFrame> {
    return this.request(OpCode.setWatches2, (w) => writeSetWatches2(w, watches), Xid.setWatches);
  }

  getEphemerals(prefixPath: string): Promise<ReplyFrame> {
    return this.request(OpCode.getEphemerals, (w) => writeGetEphemeralsRequest(w, { prefixPath }));
  }

  getAllChildrenNumber(path: string): Promise<ReplyFrame> {
    return this.request(OpCode.getAllChildrenNumber, (w) => writeGetAllChildrenNumberRequest(w, { path }));
  }

  whoAmI(): Promise<ReplyFrame> {
    return this.request(OpCode.whoAmI);
  }

  /** AuthPacket on xid -4. */
  addAuth(scheme: string, auth: string | Buffer): Promise<ReplyFrame> {
    const bytes = typeof auth === "string" ? Buffer.from(auth, "utf8") : auth;
    return this.request(OpCode.auth, (w) => writeAuthPacket(w, { type: 0, scheme, auth: bytes }), Xid.auth);
  }

  ping(): Promise<ReplyFrame> {
    return this.request(OpCode.ping, undefined, Xid.ping);
  }

  // ------------------------------------------------------ internals

  #expect(xid: number, type: number): Promise<ReplyFrame> {
    if (this.closed) return Promise.reject(new ConnectionClosedError("connection already closed"));
    return new Promise((resolveReply, reject) => {
      const queue = xid === Xid.ping || xid === Xid.auth ? this.#special : this.#ordered;
      const pending: Pending = {
        xid,
        type,
        resolve: resolveReply,
        reject,
        timer: setTimeout(() => {
          const index = queue.indexOf(pending);
          if (index >= 0) queue.splice(index, 1);
          reject(new Error(`no reply to xid ${xid} (op ${type}) within ${this.requestTimeoutMs} ms; frames: ${this.describeFrames()}`));
        }, this.requestTimeoutMs),
      };
      queue.push(pending);
    });
  }

  #onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.garbage.push(String(error));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
  }

  #onFrame(bytes: Buffer): void {
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(bytes);
    } catch (error) {
      this.garbage.push(`${String(error)}: ${bytes.toString("hex")}`);
      return;
    }
    if (frame.kind === "notification") {
      this.frames.push(frame);
    } else if (frame.xid === Xid.ping) {
      // Pings stay out of `frames`: automatic ones would make the log noisy.
      this.pingReplies += 1;
      this.#takeSpecial(frame);
    } else {
      if (frame.zxid > this.lastZxid) this.lastZxid = frame.zxid;
      this.frames.push(frame);
      if (frame.xid === Xid.auth) this.#takeSpecial(frame);
      else this.#takeOrdered(frame);
    }
    this.#notify();
  }

  #takeSpecial(frame: ReplyFrame): void {
    const index = this.#special.findIndex((pending) => pending.xid === frame.xid);
    if (index < 0) {
      if (frame.xid !== Xid.ping) this.outOfOrder.push(`unexpected reply xid ${frame.xid} (err ${frame.err})`);
      return;
    }
    const [pending] = this.#special.splice(index, 1);
    clearTimeout(pending!.timer);
    pending!.resolve(frame);
  }

  #takeOrdered(frame: ReplyFrame): void {
    const index = this.#ordered.findIndex((pending) => pending.xid === frame.xid);
    if (index < 0) {
      this.outOfOrder.push(`unexpected reply xid ${frame.xid} (err ${frame.err})`);
      return;
    }
    if (index > 0) {
      this.outOfOrder.push(`reply xid ${frame.xid} arrived before the reply to xid ${this.#ordered[0]!.xid}`);
    }
    const [pending] = this.#ordered.splice(index, 1);
    clearTimeout(pending!.timer);
    pending!.resolve(frame);
  }

  #failAll(error: Error): void {
    for (const pending of [...this.#ordered, ...this.#special]) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#ordered.length = 0;
    this.#special.length = 0;
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #startPinging(): void {
    const intervalMs = Math.max(50, Math.floor(this.handshake.timeOut / 3));
    this.#pingTimer = setInterval(() => {
      if (!this.closed) this.socket.write(encodeRequest(Xid.ping, OpCode.ping));
    }, intervalMs);
    this.#pingTimer.unref();
  }

  #stopPinging(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }
}

// ---------------------------------------------------------------- plain sockets

export interface Exchange {
  /** Every byte the server sent. */
  received: Buffer;
  /** Whether the server closed the connection within the wait. */
  closed: boolean;
  /** Milliseconds from connect to close (or to the end of the wait). */
  elapsedMs: number;
}

export interface ExchangeOptions {
  port: number;
  host?: string;
  /** Written in order, each as its own write. */
  chunks: readonly Buffer[];
  /** Pause between chunks, so they tend to arrive as separate segments. */
  chunkDelayMs?: number;
  /** Half-close our side after the last chunk (the server then sees EOF). */
  endAfterWrite?: boolean;
  /** Upper bound on the whole exchange. */
  waitMs: number;
  /** Stop waiting early once this holds for what was received. */
  until?: (received: Buffer) => boolean;
}

/**
 * Connects, writes the chunks and collects what the server sends until it
 * closes, `until` holds, or waitMs passes; then destroys the socket.
 */
export function exchange(options: ExchangeOptions): Promise<Exchange> {
  const started = Date.now();
  const socket = net.connect({ host: options.host ?? loopback, port: options.port });
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  return new Promise((resolveExchange) => {
    let finished = false;
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolveExchange({ received: Buffer.concat(received), closed, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.waitMs);
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (options.until?.(Buffer.concat(received))) finish(socket.destroyed);
    });
    socket.once("connect", async () => {
      for (const [index, chunk] of options.chunks.entries()) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.chunkDelayMs !== undefined && index < options.chunks.length - 1) {
          await new Promise((resolveDelay) => setTimeout(resolveDelay, options.chunkDelayMs));
        }
      }
      if (options.endAfterWrite === true && !socket.destroyed) socket.end();
    });
  });
}

/** Splits a byte stream into complete frame bodies plus the incomplete rest. */
export function splitFrames(bytes: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  while (bytes.length - offset >= 4) {
    const length = bytes.readInt32BE(offset);
    if (length < 0 || bytes.length - offset - 4 < length) break;
    frames.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { frames, rest: bytes.subarray(offset) };
}

// ---------------------------------------------------------------- decoding helpers

export function readStatBody(body: Buffer): Stat {
  const reader = new JuteReader(body);
  const stat = readStat(reader);
  reader.expectEnd("Stat");
  return stat;
}

export function readGetData(body: Buffer): { data: Buffer | null; stat: Stat } {
  const reader = new JuteReader(body);
  const response = readGetDataResponse(reader);
  reader.expectEnd("GetDataResponse");
  return response;
}

export function readCreate2(body: Buffer): { path: string; stat: Stat } {
  const reader = new JuteReader(body);
  const response = readCreate2Response(reader);
  reader.expectEnd("Create2Response");
  return response;
}

export function readCreatePath(body: Buffer): string {
  const reader = new JuteReader(body);
  const response = readCreateResponse(reader);
  reader.expectEnd("CreateResponse");
  return response.path;
}

export function readChildren(body: Buffer): string[] {
  const reader = new JuteReader(body);
  const response = readGetChildrenResponse(reader);
  reader.expectEnd("GetChildrenResponse");
  return response.children;
}

/** A reply that must have succeeded; the message names the error otherwise. */
export function ok(reply: ReplyFrame, what = "request"): ReplyFrame {
  if (reply.err !== 0) throw new Error(`${what} failed with err ${reply.err}`);
  return reply;
}
