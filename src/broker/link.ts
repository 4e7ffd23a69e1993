// Broker links: Envelopes over authenticated TCP between the nodes of a
// deployment. The I/O edge of the broker: the pure broker core hands
// messages to send() and receives them through onMessage.
//
// Each node dials every other node for its own outgoing messages and only
// receives on the sockets it accepted: two one-way connections per pair,
// so there is no tie-breaking between simultaneous dials. The link to X is
// up while our outgoing connection to X is authenticated; send() to a link
// that is down drops the message and says so (callers retransmit).
//
// Frames are a 4-byte big-endian length and that many bytes; a length over
// the limit closes the connection before anything is allocated.
//
// Handshake (mutual, with the shared secret, before any message):
//   acceptor -> dialer   "MBL1" | acceptorNonce(32)
//   dialer -> acceptor   dialerNonce(32) | HMAC(dial) | dialerId
//   acceptor -> dialer   HMAC(accept)
// After it, an empty frame is a heartbeat (sent on a link quiet for
// heartbeatIntervalMs); a peer not heard from for peerSilenceMsMax is
// taken as gone, since a partition that drops packets leaves TCP
// connections open for many minutes.
// where HMAC(label) = HMAC-SHA256(secret, label | acceptorNonce | dialerNonce
// | dialerId | acceptorId), ids length-prefixed. Fresh nonces on both sides
// keep either proof from being replayed; the ids in both proofs mean a
// dialer that reached the wrong node, or a node configured under another
// id, fails. This authenticates the ends of the connection, not each
// message: it is no defence against someone who can inject into an
// established TCP stream (that would take TLS).
//
// Nothing thrown while handling a socket's input escapes its callbacks:
// bad input closes that one connection with a warning.

import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { BrokerMessage, Envelope } from "./messages.js";
import {
  decodeOperatorReply, decodeOperatorRequest, encodeOperatorReply, encodeOperatorRequest, operatorDialerId, operatorLimits,
  type OperatorReply, type OperatorRequest,
} from "./operator.js";
import type { NodeAddress } from "./settings.js";
import { BrokerWireError, decodeEnvelope, encodeEnvelope } from "./wire.js";

export const brokerLinkDefaults = {
  reconnectDelayMs: { min: 100, max: 5_000 },
  handshakeTimeoutMs: 5_000,
  /** Bytes a link may have waiting in its socket before it is dropped, at the least... */
  outboundQueueBytesMin: 16 * 1024 * 1024,
  /** ...and in messages of messageBytesMax: a link must hold a few of the largest. */
  outboundQueueMessagesMin: 4,
  /** TCP keepalive: finds a peer that vanished without closing while the link is idle. */
  keepAliveDelayMs: 5_000,
  /** Accepted connections that have not authenticated yet (a flood gets refused, not buffered). */
  pendingHandshakesMax: 64,
  /** An empty frame goes out on a link that sent nothing for this long... */
  heartbeatIntervalMs: 1_000,
  /** ...and a peer heard nothing from for this long is taken as gone: both its connections are closed
   *  and the link is down until a new one authenticates. A partition that drops packets leaves TCP
   *  connections open for many minutes; this is what notices it. */
  peerSilenceMsMax: 4_000,
} as const;

const handshake = {
  magic: Buffer.from("MBL1"),
  nonceBytes: 32,
  proofBytes: 32,
  nodeIdBytesMax: 255,
  /** Largest handshake frame: the dialer's answer with the longest node id. */
  frameBytesMax: 32 + 32 + 255,
  dialLabel: "maestro-broker-dial-v1",
  acceptLabel: "maestro-broker-accept-v1",
} as const;

const frameHeaderBytes = 4;

export interface BrokerTransportOptions {
  self: NodeAddress;
  /** Every node of the deployment (self included or not). A peer's address is read at each
   *  dial, so a node that starts on port 0 can have its port filled in once known. */
  nodes: readonly NodeAddress[];
  secret: Buffer;
  /** Grows on every restart; carried in every Envelope as `epoch`. */
  incarnation: number;
  /** Largest encoded Envelope sent or accepted. */
  messageBytesMax: number;
  logger: Logger;
  onMessage(envelope: Envelope): void;
  onLinkChange(nodeId: string, up: boolean): void;
  /** Operator commands (operator.ts); without it, a dialer claiming the operator id is refused like any stranger. */
  onOperator?(request: OperatorRequest): Promise<OperatorReply>;
  reconnectDelayMs?: { min: number; max: number };
  handshakeTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  peerSilenceMsMax?: number;
  outboundQueueBytesMax?: number;
}

/** Something wrong on one connection: it gets closed with a warning. */
export class BrokerLinkError extends Error {
  readonly code = "ERR_BROKER_LINK";
  override readonly name = "BrokerLinkError";
}

/**
 * Splits a byte stream into frames, whatever the chunking. The limit is
 * checked on the length prefix, before the frame's bytes are gathered, and
 * may change between frames (small during the handshake).
 */
export class FrameDecoder {
  frameBytesMax: number;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** The next whole frame, or null until more bytes arrive; throws BrokerLinkError on an oversize length. */
  next(): Buffer | null {
    if (this.#bytes < frameHeaderBytes) return null;
    const length = this.#peekLength();
    if (length > this.frameBytesMax) throw new BrokerLinkError(`frame of ${length} bytes exceeds the limit of ${this.frameBytesMax}`);
    const end = frameHeaderBytes + length;
    if (this.#bytes < end) return null;
    // One copy when a frame spans chunks; frames after it in the same buffer are views.
    const joined = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#bytes);
    const rest = joined.subarray(end);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#bytes = rest.length;
    return joined.subarray(frameHeaderBytes, end);
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= frameHeaderBytes) return first.readUInt32BE(0);
    return Buffer.concat(this.#chunks, this.#bytes).readUInt32BE(0);
  }
}

function frameHeader(payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderBytes);
  header.writeUInt32BE(payloadBytes, 0);
  return header;
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.of(bytes.length), bytes]);
}

function handshakeProof(secret: Buffer, label: string, acceptorNonce: Buffer, dialerNonce: Buffer, dialerId: string, acceptorId: string): Buffer {
  return createHmac("sha256", secret)
    .update(label)
    .update(acceptorNonce)
    .update(dialerNonce)
    .update(lengthPrefixed(dialerId))
    .update(lengthPrefixed(acceptorId))
    .digest();
}

function proofMatches(expected: Buffer, received: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One socket carrying frames. Input is handled in a try: whatever a frame
 * handler throws closes this connection with a warning and goes no further.
 */
class FramedConnection {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  readonly #logger: Logger;
  #deadline: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;

  constructor(socket: Socket, logger: Logger, handlers: { onFrame(frame: Buffer): void; onClose(error: Error | undefined): void }) {
    this.socket = socket;
    this.decoder = new FrameDecoder(handshake.frameBytesMax);
    this.#logger = logger;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, brokerLinkDefaults.keepAliveDelayMs);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk, handlers.onFrame));
    socket.on("error", (error) => {
      this.#lastError = error;
    });
    socket.on("close", () => {
      clearTimeout(this.#deadline);
      handlers.onClose(this.#lastError);
    });
  }

  #receive(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (this.socket.destroyed) return;
    try {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== null && !this.socket.destroyed; frame = this.decoder.next()) onFrame(frame);
    } catch (error) {
      this.fail(describeError(error));
    }
  }

  /** Closes the connection, logging why. */
  fail(reason: string): void {
    if (this.socket.destroyed) return;
    this.#logger.warn({ remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` }, `broker link closed: ${reason}`);
    this.socket.destroy();
  }

  startDeadline(ms: number, what: string): void {
    this.#deadline = setTimeout(() => this.fail(`${what} not finished within ${ms} ms`), ms);
  }

  endDeadline(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  send(payload: Uint8Array): void {
    this.socket.cork();
    this.socket.write(frameHeader(payload.length));
    this.socket.write(payload);
    this.socket.uncork();
  }
}

/** Our side of the link to one peer: the outgoing connection and its reconnection schedule. */
interface OutboundLink {
  peerId: string;
  connection: FramedConnection | null;
  /** Authenticated: messages may be sent. */
  up: boolean;
  /** onLinkChange(up) was called for the current connection; down is announced once it closes. */
  announcedUp: boolean;
  /** Failed dials since the link was last up: the backoff exponent. */
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export class BrokerTransport {
  readonly #options: BrokerTransportOptions;
  readonly #logger: Logger;
  readonly #peerIds: ReadonlySet<string>;
  /** Each peer's configured region: an Envelope must name it. */
  readonly #peerRegions: ReadonlyMap<string, string>;
  readonly #outbound = new Map<string, OutboundLink>();
  /** Every accepted socket, authenticated or not, for close(). */
  readonly #accepted = new Set<Socket>();
  /** The current authenticated incoming connection per peer (a newer one replaces it). */
  readonly #inboundByPeer = new Map<string, Socket>();
  readonly #reconnectDelayMs: { min: number; max: number };
  readonly #handshakeTimeoutMs: number;
  readonly #outboundQueueBytesMax: number;
  #pendingHandshakes = 0;
  #server: Server | null = null;
  #closed = false;
  readonly #heartbeatIntervalMs: number;
  readonly #peerSilenceMsMax: number;
  /** When each peer was last heard from (a frame on its incoming connection), or our link to it came up. */
  readonly #lastHeardMs = new Map<string, number>();
  /** When each outgoing link last carried a frame. */
  readonly #lastSentMs = new Map<string, number>();
  #livenessTimer: NodeJS.Timeout | undefined;

  constructor(options: BrokerTransportOptions) {
    assertOptions(options);
    this.#options = options;
    this.#logger = options.logger.child({ component: "broker-link", node: options.self.id });
    const peers = options.nodes.filter((node) => node.id !== options.self.id);
    this.#peerIds = new Set(peers.map((node) => node.id));
    this.#peerRegions = new Map(peers.map((node) => [node.id, node.region]));
    this.#reconnectDelayMs = options.reconnectDelayMs ?? brokerLinkDefaults.reconnectDelayMs;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? brokerLinkDefaults.handshakeTimeoutMs;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? brokerLinkDefaults.heartbeatIntervalMs;
    this.#peerSilenceMsMax = options.peerSilenceMsMax ?? brokerLinkDefaults.peerSilenceMsMax;
    this.#outboundQueueBytesMax =
      options.outboundQueueBytesMax ??
      Math.max(brokerLinkDefaults.outboundQueueBytesMin, brokerLinkDefaults.outboundQueueMessagesMin * (options.messageBytesMax + frameHeaderBytes));
    for (const peerId of this.#peerIds) {
      this.#outbound.set(peerId, { peerId, connection: null, up: false, announcedUp: false, failures: 0, retryTimer: undefined });
    }
  }

  /** Listens on self's broker address (port 0: any), then dials every peer. Resolves to the bound port. */
  async start(): Promise<number> {
    if (this.#server !== null || this.#closed) throw new Error("BrokerTransport.start: already started or closed");
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#options.self.brokerPort, this.#options.self.brokerHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.#logger.error({ err: error }, "broker link listener failed"));
    for (const peerId of this.#peerIds) this.#dial(peerId);
    this.#livenessTimer = setInterval(() => this.#checkLiveness(), Math.max(10, Math.floor(this.#heartbeatIntervalMs / 2)));
    this.#livenessTimer.unref();
    return (server.address() as AddressInfo).port;
  }

  /**
   * Heartbeats out, silence in: an empty frame on every link that has been
   * quiet for a heartbeat interval, and a peer silent for peerSilenceMsMax
   * loses both its connections (the outgoing one redials).
   */
  #checkLiveness(): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const link of this.#outbound.values()) {
      if (!link.up || link.connection === null) continue;
      if (now - (this.#lastHeardMs.get(link.peerId) ?? now) > this.#peerSilenceMsMax) {
        this.#logger.warn({ peer: link.peerId, silentMs: now - (this.#lastHeardMs.get(link.peerId) ?? now) }, "broker link: peer silent; closing its connections");
        this.#inboundByPeer.get(link.peerId)?.destroy();
        link.connection.fail(`peer ${link.peerId} silent for over ${this.#peerSilenceMsMax} ms`);
        continue;
      }
      if (now - (this.#lastSentMs.get(link.peerId) ?? 0) >= this.#heartbeatIntervalMs) {
        link.connection.send(Buffer.alloc(0));
        this.#lastSentMs.set(link.peerId, now);
      }
    }
  }

  /**
   * Sends to one peer if its link is up; false (message dropped) if not. A
   * link whose socket already holds outboundQueueBytesMax is dropped rather
   * than buffered further: the peer is not reading, and reconnecting is the
   * bounded answer. Throws BrokerWireError for a message that cannot be
   * encoded or exceeds messageBytesMax (a bug of the caller: it would never get through).
   */
  send(nodeId: string, message: BrokerMessage): boolean {
    const link = this.#outbound.get(nodeId);
    const connection = link?.connection ?? null;
    if (link === undefined || !link.up || connection === null) return false;
    const { self, incarnation, messageBytesMax } = this.#options;
    const payload = encodeEnvelope({ from: self.id, region: self.region, epoch: incarnation, message });
    if (payload.length > messageBytesMax) {
      throw new BrokerWireError(`${message.type} message of ${payload.length} bytes exceeds messageBytesMax ${messageBytesMax}`);
    }
    if (connection.socket.writableLength + frameHeaderBytes + payload.length > this.#outboundQueueBytesMax) {
      link.up = false;
      connection.fail(`peer ${nodeId} is not reading: over ${this.#outboundQueueBytesMax} bytes queued`);
      return false;
    }
    connection.send(payload);
    this.#lastSentMs.set(nodeId, Date.now());
    return true;
  }

  isUp(nodeId: string): boolean {
    return this.#outbound.get(nodeId)?.up ?? false;
  }

  /** Stops listening, dialing and every connection. No callback is called after close(). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#livenessTimer);
    for (const link of this.#outbound.values()) {
      clearTimeout(link.retryTimer);
      link.up = false;
      link.connection?.socket.destroy();
    }
    for (const socket of this.#accepted) socket.destroy();
    const server = this.#server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------ dialing

  #dial(peerId: string): void {
    const link = this.#outbound.get(peerId)!;
    link.retryTimer = undefined;
    if (this.#closed) return;
    const address = this.#options.nodes.find((node) => node.id === peerId)!;
    const socket = connect({ host: address.brokerHost, port: address.brokerPort });
    let acceptorNonce: Buffer | null = null;
    let dialerNonce: Buffer | null = null;
    const connection = new FramedConnection(socket, this.#logger.child({ peer: peerId }), {
      onFrame: (frame) => {
        if (link.up) throw new BrokerLinkError("the acceptor sent data after the handshake");
        if (acceptorNonce === null) {
          acceptorNonce = readChallenge(frame);
          dialerNonce = randomBytes(handshake.nonceBytes);
          connection.send(this.#dialerAnswer(peerId, acceptorNonce, dialerNonce));
          return;
        }
        this.#verifyAcceptance(peerId, frame, acceptorNonce, dialerNonce!);
        connection.endDeadline();
        this.#linkUp(link);
      },
      onClose: (error) => this.#outboundClosed(link, connection, error),
    });
    link.connection = connection;
    connection.startDeadline(this.#handshakeTimeoutMs, `handshake with ${peerId}`);
  }

  #dialerAnswer(peerId: string, acceptorNonce: Buffer, dialerNonce: Buffer): Buffer {
    const selfId = this.#options.self.id;
    const proof = handshakeProof(this.#options.secret, handshake.dialLabel, acceptorNonce, dialerNonce, selfId, peerId);
    return Buffer.concat([dialerNonce, proof, Buffer.from(selfId, "utf8")]);
  }

  #verifyAcceptance(peerId: string, frame: Buffer, acceptorNonce: Buffer, dialerNonce: Buffer): void {
    const expected = handshakeProof(this.#options.secret, handshake.acceptLabel, acceptorNonce, dialerNonce, this.#options.self.id, peerId);
    if (!proofMatches(expected, frame)) throw new BrokerLinkError(`${peerId} did not prove it knows the secret (wrong secret, or another node at its address)`);
  }

  #linkUp(link: OutboundLink): void {
    link.up = true;
    link.failures = 0;
    // The peer gets a full silence allowance to connect back and be heard.
    this.#lastHeardMs.set(link.peerId, Date.now());
    if (this.#closed) return;
    link.announcedUp = true;
    this.#logger.info({ peer: link.peerId }, "broker link up");
    this.#notifyLinkChange(link.peerId, true);
  }

  #outboundClosed(link: OutboundLink, connection: FramedConnection, error: Error | undefined): void {
    if (link.connection !== connection) return;
    link.connection = null;
    link.up = false;
    if (this.#closed) return;
    if (link.announcedUp) {
      link.announcedUp = false;
      this.#logger.info({ peer: link.peerId, reason: error?.message }, "broker link down");
      this.#notifyLinkChange(link.peerId, false);
    } else {
      // A peer that is down refuses every dial: say so once per outage, not on each retry.
      if (link.failures === 0) this.#logger.info({ peer: link.peerId, reason: error?.message }, "broker link: dial failed, retrying");
      link.failures += 1;
    }
    this.#scheduleDial(link);
  }

  #scheduleDial(link: OutboundLink): void {
    const { min, max } = this.#reconnectDelayMs;
    const ceiling = Math.min(max, min * 2 ** Math.min(link.failures, 30));
    // Jitter: peers that lost each other at once do not redial in step.
    const delay = Math.max(min, Math.floor(ceiling / 2) + randomInt(Math.floor(ceiling / 2) + 1));
    link.retryTimer = setTimeout(() => this.#dial(link.peerId), delay);
  }

  #notifyLinkChange(peerId: string, up: boolean): void {
    try {
      this.#options.onLinkChange(peerId, up);
    } catch (error) {
      this.#logger.error({ err: error, peer: peerId }, "onLinkChange threw");
    }
  }

  // ------------------------------------------------------------ accepting

  #accept(socket: Socket): void {
    if (this.#closed || this.#pendingHandshakes >= brokerLinkDefaults.pendingHandshakesMax) {
      this.#logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, "broker link refused: too many pending handshakes");
      socket.destroy();
      return;
    }
    this.#accepted.add(socket);
    this.#pendingHandshakes += 1;
    const acceptorNonce = randomBytes(handshake.nonceBytes);
    let peerId: string | null = null;
    const connection = new FramedConnection(socket, this.#logger, {
      onFrame: (frame) => {
        if (peerId === operatorDialerId) {
          this.#receiveOperator(connection, frame);
          return;
        }
        if (peerId !== null) {
          this.#lastHeardMs.set(peerId, Date.now());
          // An empty frame is a heartbeat: being heard is all it is for.
          if (frame.length > 0) this.#receiveMessage(peerId, frame);
          return;
        }
        peerId = this.#verifyDialer(connection, frame, acceptorNonce);
        this.#pendingHandshakes -= 1;
        if (peerId === operatorDialerId) this.#operatorAuthenticated(connection);
        else this.#inboundAuthenticated(peerId, connection);
      },
      onClose: () => {
        this.#accepted.delete(socket);
        if (peerId === null) this.#pendingHandshakes -= 1;
        else if (peerId !== operatorDialerId && this.#inboundByPeer.get(peerId) === socket) this.#inboundByPeer.delete(peerId);
      },
    });
    connection.startDeadline(this.#handshakeTimeoutMs, "handshake");
    connection.send(Buffer.concat([handshake.magic, acceptorNonce]));
  }

  /** Checks the dialer's answer, answers with our proof; returns the dialer's node id. */
  #verifyDialer(connection: FramedConnection, frame: Buffer, acceptorNonce: Buffer): string {
    const idStart = handshake.nonceBytes + handshake.proofBytes;
    if (frame.length <= idStart) throw new BrokerLinkError(`handshake answer of ${frame.length} bytes is too short`);
    const dialerNonce = frame.subarray(0, handshake.nonceBytes);
    const dialerId = frame.subarray(idStart).toString("utf8");
    const operator = dialerId === operatorDialerId && this.#options.onOperator !== undefined;
    if (!operator && !this.#peerIds.has(dialerId)) throw new BrokerLinkError(`dialer claims to be ${JSON.stringify(dialerId)}, not a peer of this node`);
    const { secret, self } = this.#options;
    const expected = handshakeProof(secret, handshake.dialLabel, acceptorNonce, dialerNonce, dialerId, self.id);
    if (!proofMatches(expected, frame.subarray(handshake.nonceBytes, idStart))) {
      throw new BrokerLinkError(`dialer claiming to be ${dialerId} did not prove it knows the secret`);
    }
    connection.send(handshakeProof(secret, handshake.acceptLabel, acceptorNonce, dialerNonce, dialerId, self.id));
    return dialerId;
  }

  #inboundAuthenticated(peerId: string, connection: FramedConnection): void {
    connection.endDeadline();
    connection.decoder.frameBytesMax = this.#options.messageBytesMax;
    // A restarted peer dials anew; its old connection may linger half-open.
    this.#inboundByPeer.get(peerId)?.destroy();
    this.#inboundByPeer.set(peerId, connection.socket);
  }

  #operatorAuthenticated(connection: FramedConnection): void {
    connection.endDeadline();
    connection.decoder.frameBytesMax = operatorLimits.frameBytesMax;
    this.#logger.info({ remote: `${connection.socket.remoteAddress}:${connection.socket.remotePort}` }, "operator connected");
  }

  /** One operator request: answered on the same connection, whatever the handler does. */
  #receiveOperator(connection: FramedConnection, frame: Buffer): void {
    const request = decodeOperatorRequest(frame);
    const answer = (reply: OperatorReply): void => {
      if (!connection.socket.destroyed) connection.send(encodeOperatorReply(reply));
    };
    this.#options.onOperator!(request).then(answer, (error: unknown) => {
      this.#logger.error({ err: error }, "operator command failed");
      answer({ requestId: request.requestId, ok: false, message: `failed: ${describeError(error)}`, detail: "{}" });
    });
  }

  #receiveMessage(peerId: string, frame: Buffer): void {
    const envelope = decodeEnvelope(frame);
    if (envelope.from !== peerId) throw new BrokerLinkError(`envelope from ${envelope.from} on the link authenticated as ${peerId}`);
    const region = this.#peerRegions.get(peerId);
    if (envelope.region !== region) throw new BrokerLinkError(`envelope from ${peerId} names region ${envelope.region}, configured ${String(region)}`);
    if (this.#closed) return;
    try {
      this.#options.onMessage(envelope);
    } catch (error) {
      // A bug of the receiver, not of the peer: say so loudly; the connection closes like on bad input.
      this.#logger.error({ err: error, peer: peerId }, "onMessage threw");
      throw new BrokerLinkError(`onMessage threw: ${describeError(error)}`);
    }
  }
}

function readChallenge(frame: Buffer): Buffer {
  const expectedBytes = handshake.magic.length + handshake.nonceBytes;
  if (frame.length !== expectedBytes || !frame.subarray(0, handshake.magic.length).equals(handshake.magic)) {
    throw new BrokerLinkError("the acceptor's greeting is not a Maestro broker link");
  }
  return Buffer.from(frame.subarray(handshake.magic.length));
}

function assertOptions(options: BrokerTransportOptions): void {
  const problems: string[] = [];
  if (options.secret.length === 0) problems.push("secret is empty");
  if (!Number.isSafeInteger(options.messageBytesMax) || options.messageBytesMax <= 0 || options.messageBytesMax > 0xffffffff) {
    problems.push(`messageBytesMax ${options.messageBytesMax} is not a positive 32-bit integer`);
  }
  if (Buffer.byteLength(options.self.id, "utf8") > handshake.nodeIdBytesMax || options.self.id.length === 0) {
    problems.push(`node id ${JSON.stringify(options.self.id)} is empty or over ${handshake.nodeIdBytesMax} bytes`);
  }
  const ids = options.nodes.map((node) => node.id);
  if (new Set(ids).size !== ids.length) problems.push("node ids are not unique");
  const delay = options.reconnectDelayMs;
  if (delay !== undefined && !(delay.min > 0 && delay.max >= delay.min)) problems.push("reconnectDelayMs needs 0 < min <= max");
  if (problems.length > 0) throw new Error(`BrokerTransport: ${problems.join("; ")}`);
}

/**
 * Sends one operator request to a node's broker port and waits for its
 * reply: the dialer's side of the link handshake under the operator id,
 * then one frame each way. `nodeId` is the node the address belongs to
 * (its proof names it). Rejects with BrokerLinkError on a wrong secret, a
 * closed connection, bad bytes or the timeout.
 */
export function callOperator(args: {
  host: string; port: number; nodeId: string; secret: Buffer; request: OperatorRequest; timeoutMs: number;
}): Promise<OperatorReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: args.host, port: args.port });
    const decoder = new FrameDecoder(handshake.frameBytesMax);
    let acceptorNonce: Buffer | null = null;
    let dialerNonce: Buffer | null = null;
    let authenticated = false;
    let settled = false;
    const finish = (error: Error | null, reply?: OperatorReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new BrokerLinkError(`no answer from ${args.nodeId} within ${args.timeoutMs} ms`)), args.timeoutMs);
    const send = (payload: Buffer): void => {
      socket.write(Buffer.concat([frameHeader(payload.length), payload]));
    };
    const onFrame = (frame: Buffer): void => {
      if (acceptorNonce === null) {
        acceptorNonce = readChallenge(frame);
        dialerNonce = randomBytes(handshake.nonceBytes);
        const proof = handshakeProof(args.secret, handshake.dialLabel, acceptorNonce, dialerNonce, operatorDialerId, args.nodeId);
        send(Buffer.concat([dialerNonce, proof, Buffer.from(operatorDialerId, "utf8")]));
        return;
      }
      if (!authenticated) {
        const expected = handshakeProof(args.secret, handshake.acceptLabel, acceptorNonce, dialerNonce!, operatorDialerId, args.nodeId);
        if (!proofMatches(expected, frame)) throw new BrokerLinkError(`${args.nodeId} did not prove it knows the secret`);
        authenticated = true;
        decoder.frameBytesMax = operatorLimits.frameBytesMax;
        send(encodeOperatorRequest(args.request));
        return;
      }
      finish(null, decodeOperatorReply(frame));
    };
    socket.on("data", (chunk: Buffer) => {
      try {
        decoder.push(chunk);
        for (let frame = decoder.next(); frame !== null && !settled; frame = decoder.next()) onFrame(frame);
      } catch (error) {
        finish(error instanceof Error ? error : new BrokerLinkError(describeError(error)));
      }
    });
    socket.on("error", (error) => finish(new BrokerLinkError(`${args.host}:${args.port}: ${error.message}`)));
    socket.on("close", () => {
      const why = authenticated ? "closed the connection before answering" : "closed the connection during the handshake (wrong secret or node id?)";
      finish(new BrokerLinkError(`${args.nodeId} ${why}`));
    });
  });
}
