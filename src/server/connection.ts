// One client TCP connection: framing, the handshake gate, four-letter words,
// and the order of replies. Requests are taken strictly in arrival order;
// a write is prepared at once (so a session can pipeline writes) while any
// other request waits until the connection's earlier writes are applied, and
// replies leave in request order whatever order they complete in.

import type { Socket } from "node:net";
import type { Logger } from "pino";
import { FrameDecoder, encodeFrame } from "../protocol/frame.js";
import { CodecError, JuteReader, JuteWriter } from "../protocol/archive.js";
import { readRequestHeader, writeReplyHeader } from "../protocol/records.generated.js";
import { ErrorCode, OpCode, Xid } from "../protocol/codes.js";
import { decodeRequest, type ClientRequest } from "./requests.js";
import type { Id } from "../tree/types.js";
import type { ServerStats } from "./stats.js";

/** What a handled request sends back: a body after the reply header, or an error. */
export interface Reply {
  xid: number;
  zxid: bigint;
  err: number;
  body: Buffer | null;
  /** Close the connection once this reply is out. */
  close?: boolean;
}

export interface ConnectionHost {
  readonly logger: Logger;
  /** The zxid of the last applied write, for ping replies. */
  readonly lastAppliedZxid: bigint;
  readonly stats: ServerStats;
  readonly frameBytesMax: number;
  readonly requestsQueuedMax: number;
  readonly outputBytesMax: number;
  /** Handles the ConnectRequest frame; resolves once the connection is open or doomed. */
  handshake(connection: ClientConnection, body: Buffer): Promise<void>;
  /** Handles a request of an open session; writes return only when applied. */
  handle(connection: ClientConnection, xid: number, request: ClientRequest): Reply | Promise<Reply>;
  /** Called for any packet of an open session (it keeps the session alive). */
  touch(connection: ClientConnection): void;
  fourLetterWord(connection: ClientConnection, word: string): string;
  isFourLetterWord(word: string): boolean;
  closed(connection: ClientConnection): void;
}

type State = "handshake" | "open" | "closing" | "closed";

interface Slot {
  ready: boolean;
  bytes: Buffer | null;
  close: boolean;
}

let nextConnectionId = 1;

/** Time a new connection has to send its ConnectRequest or four-letter word. */
export const handshakeTimeoutMs = 10_000;

export class ClientConnection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly establishedMs = Date.now();
  sessionId = 0n;
  sessionTimeoutMs = 0;
  authIds: Id[] = [];
  /** Counters for cons/stat. */
  packetsReceived = 0;
  packetsSent = 0;
  lastXid = 0;
  lastZxid = 0n;
  lastOperation = "NA";
  lastLatencyMs = 0;
  latencyMinMs = Number.POSITIVE_INFINITY;
  latencyMaxMs = 0;
  latencyTotalMs = 0;
  latencyCount = 0;

  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #decoder: FrameDecoder;
  readonly #incoming: Buffer[] = [];
  readonly #slots: Slot[] = [];
  #state: State = "handshake";
  #sawFirstBytes = false;
  #busy = false;
  #outstandingWrites = 0;

  constructor(socket: Socket, host: ConnectionHost, remoteAddress: string) {
    this.#socket = socket;
    this.#host = host;
    this.remoteAddress = remoteAddress;
    this.remotePort = socket.remotePort ?? 0;
    this.#decoder = new FrameDecoder(host.frameBytesMax);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => this.close("socket error"));
    socket.on("close", () => this.#onClosed());
    socket.on("drain", () => this.#updateReading());
    // A connection that never completes its handshake must not hold a slot
    // forever (ZooKeeper's sessionless connection timeout is 10 s).
    setTimeout(() => {
      if (this.#state === "handshake") this.close("no handshake in time");
    }, handshakeTimeoutMs).unref();
  }

  get state(): State {
    return this.#state;
  }

  get queuedRequests(): number {
    return this.#incoming.length + this.#slots.length;
  }

  markOpen(sessionId: bigint, timeoutMs: number): void {
    this.sessionId = sessionId;
    this.sessionTimeoutMs = timeoutMs;
    this.#state = "open";
  }

  #onData(chunk: Buffer): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    let frames: Buffer[];
    try {
      this.#decoder.append(chunk);
      if (!this.#sawFirstBytes) {
        // Before the first length, four ASCII letters are a command instead.
        const first = this.#decoder.firstWord();
        if (first === null) return;
        this.#sawFirstBytes = true;
        const word = first.toString("latin1");
        if (this.#host.isFourLetterWord(word)) {
          this.#answerFourLetterWord(word);
          return;
        }
      }
      frames = this.#decoder.takeFrames();
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    for (const frame of frames) this.#incoming.push(frame);
    this.#updateReading();
    this.#pump();
  }

  #answerFourLetterWord(word: string): void {
    this.#state = "closing";
    const text = this.#host.fourLetterWord(this, word);
    this.#socket.end(text);
  }

  #protocolError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#host.logger.warn({ connection: this.id, remote: this.remoteAddress, error: message }, "closing connection: bad input");
    this.close("bad input");
  }

  /** Stop reading while too much is queued in either direction. */
  #updateReading(): void {
    const overloaded =
      this.queuedRequests >= this.#host.requestsQueuedMax || this.#socket.writableLength >= this.#host.outputBytesMax;
    if (overloaded && !this.#socket.isPaused()) this.#socket.pause();
    else if (!overloaded && this.#socket.isPaused() && this.#state !== "closed") this.#socket.resume();
  }

  #pump(): void {
    while (!this.#busy && this.#incoming.length > 0 && (this.#state === "handshake" || this.#state === "open")) {
      if (this.#state === "handshake") {
        this.#startHandshake(this.#incoming.shift()!);
        return;
      }
      if (!this.#takeRequest()) return;
    }
    this.#updateReading();
  }

  #startHandshake(body: Buffer): void {
    this.#busy = true;
    this.#host.handshake(this, body).then(
      () => this.#resumeAfter(),
      (error: unknown) => this.#protocolError(error),
    );
  }

  #resumeAfter(): void {
    this.#busy = false;
    this.#pump();
  }

  /** Takes the next request if it may run now; false when it must wait. */
  #takeRequest(): boolean {
    const frame = this.#incoming[0]!;
    let xid: number;
    let request: ClientRequest;
    const reader = new JuteReader(frame);
    try {
      const header = readRequestHeader(reader);
      xid = header.xid;
      request = decodeBody(header.type, reader);
    } catch (error) {
      // Without a header there is no xid to answer: the stream is garbage.
      this.#incoming.shift();
      this.#protocolError(error);
      return false;
    }
    const isWrite = request.kind === "write" || request.kind === "closeSession";
    if (!isWrite && request.kind !== "ping" && this.#outstandingWrites > 0) return false;
    this.#incoming.shift();
    this.packetsReceived += 1;
    this.#host.stats.packetsReceived += 1;
    this.#host.touch(this);
    // A sync orders like a write: what the session sends after it waits for it, so a read
    // pipelined behind a sync sees what the sync caught up with (in a cluster a sync takes a WAN trip).
    this.#run(xid, request, isWrite || request.kind === "sync");
    return this.#state === "open";
  }

  #run(xid: number, request: ClientRequest, ordering: boolean): void {
    if (request.kind === "ping") {
      this.#sendNow({ xid: Xid.ping, zxid: this.#host.lastAppliedZxid, err: 0, body: null });
      return;
    }
    if (request.kind === "closeSession") this.#state = "closing";
    const slot: Slot = { ready: false, bytes: null, close: false };
    this.#slots.push(slot);
    const startedMs = Date.now();
    let result: Reply | Promise<Reply>;
    try {
      result = this.#host.handle(this, xid, request);
    } catch (error) {
      // A request must never take the node down: answer it and drop the connection.
      this.#host.logger.error({ connection: this.id, xid, error: String(error) }, "request handler threw");
      result = { xid, zxid: this.lastZxid, err: ErrorCode.systemError, body: null, close: true };
    }
    if (!(result instanceof Promise)) {
      this.#fill(slot, result, request, startedMs);
      return;
    }
    if (ordering) this.#outstandingWrites += 1;
    result.then(
      (reply) => this.#fill(slot, reply, request, startedMs),
      (error: unknown) => {
        this.#host.logger.error({ connection: this.id, error: String(error) }, "request failed");
        this.#fill(slot, { xid, zxid: this.lastZxid, err: ErrorCode.systemError, body: null, close: true }, request, startedMs);
      },
    ).finally(() => {
      if (ordering) {
        this.#outstandingWrites -= 1;
        this.#pump();
      }
    });
  }

  #fill(slot: Slot, reply: Reply, request: ClientRequest, startedMs: number): void {
    this.#recordLatency(reply, request, startedMs);
    slot.bytes = encodeReply(reply);
    slot.close = reply.close === true;
    slot.ready = true;
    this.#flush();
  }

  #recordLatency(reply: Reply, request: ClientRequest, startedMs: number): void {
    const latency = Date.now() - startedMs;
    this.lastXid = reply.xid;
    this.lastZxid = reply.zxid > this.lastZxid ? reply.zxid : this.lastZxid;
    this.lastOperation = operationName(request);
    this.lastLatencyMs = latency;
    this.latencyMinMs = Math.min(this.latencyMinMs, latency);
    this.latencyMaxMs = Math.max(this.latencyMaxMs, latency);
    this.latencyTotalMs += latency;
    this.latencyCount += 1;
    this.#host.stats.recordLatency(latency);
  }

  #flush(): void {
    while (this.#slots.length > 0 && this.#slots[0]!.ready) {
      const slot = this.#slots.shift()!;
      if (this.#state === "closed") continue;
      if (slot.bytes !== null) this.#write(slot.bytes);
      if (slot.close) {
        this.close("closed after reply");
        return;
      }
    }
    this.#updateReading();
  }

  #sendNow(reply: Reply): void {
    this.#write(encodeReply(reply));
  }

  #write(bytes: Buffer): void {
    if (this.#state === "closed" || this.#socket.destroyed) return;
    this.packetsSent += 1;
    this.#host.stats.packetsSent += 1;
    this.#socket.write(bytes);
  }

  /** A watch notification: goes out at once, ahead of replies still queued. */
  notify(bytes: Buffer): void {
    this.#write(bytes);
    this.#updateReading();
  }

  /** Sends raw handshake bytes (ConnectResponse) outside the reply order. */
  sendFrame(body: Buffer): void {
    this.#write(encodeFrame(body));
  }

  /** Flushes what is queued for the socket, then closes it. */
  close(reason: string): void {
    if (this.#state === "closed") return;
    const wasOpen = this.#state !== "closing";
    this.#state = "closing";
    this.#incoming.length = 0;
    if (wasOpen) this.#host.logger.debug({ connection: this.id, reason }, "closing connection");
    this.#socket.end();
    // A peer that never reads must not keep the socket: destroy after a grace period.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  /** Drops the connection at once without flushing (session moved or expired). */
  destroy(): void {
    this.#socket.destroy();
  }

  #onClosed(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#incoming.length = 0;
    this.#host.closed(this);
  }
}

/**
 * A body that does not decode is answered with MarshallingError and the
 * connection stays open, as ZooKeeper does for a request it cannot read.
 */
function decodeBody(type: number, reader: JuteReader): ClientRequest {
  try {
    return decodeRequest(type, reader);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return { kind: "refuse", type, err: ErrorCode.marshallingError, close: false };
  }
}

export function encodeReply(reply: Reply): Buffer {
  const writer = new JuteWriter();
  writeReplyHeader(writer, { xid: reply.xid, zxid: reply.zxid, err: reply.err });
  const header = writer.toBuffer();
  const body = reply.err === 0 && reply.body !== null ? reply.body : null;
  return encodeFrame(body === null ? header : Buffer.concat([header, body]));
}

/** The short names ZooKeeper's `cons` prints as lop (FinalRequestProcessor's lastOp). */
const lastOperationNames = new Map<number, string>([
  [OpCode.ping, "PING"],
  [OpCode.closeSession, "CLOS"],
  [OpCode.create, "CREA"],
  [OpCode.create2, "CREA"],
  [OpCode.createContainer, "CREA"],
  [OpCode.createTTL, "CREA"],
  [OpCode.delete, "DELE"],
  [OpCode.setData, "SETD"],
  [OpCode.setACL, "SETA"],
  [OpCode.multi, "MULT"],
  [OpCode.multiRead, "MLTR"],
  [OpCode.sync, "SYNC"],
  [OpCode.exists, "EXIS"],
  [OpCode.getData, "GETD"],
  [OpCode.getACL, "GETA"],
  [OpCode.getChildren, "GETC"],
  [OpCode.getChildren2, "GETC"],
  [OpCode.getAllChildrenNumber, "GETACN"],
  [OpCode.getEphemerals, "GETE"],
  [OpCode.setWatches, "SETW"],
  [OpCode.setWatches2, "STW2"],
  [OpCode.addWatch, "ADDW"],
  [OpCode.checkWatches, "CHKW"],
  [OpCode.removeWatches, "REMW"],
  [OpCode.whoAmI, "HOMI"],
  [OpCode.reconfig, "RECO"],
]);

function operationName(request: ClientRequest): string {
  if (request.kind === "ping") return "PING";
  if (request.kind === "auth") return "AUTH";
  return lastOperationNames.get(request.type) ?? "NA";
}
