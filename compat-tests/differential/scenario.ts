// The contract between the runner and the scenario library: a scenario is a
// named async function that drives one server through clients the context
// hands it, inside its own namespace (`base`, created empty beforehand), and
// leaves its transcript behind. The same function runs against ZooKeeper
// and against Maestro; everything it records must be a consequence of the
// server's behaviour, never of timing luck.

import { createHash } from "node:crypto";
import { exchange, splitFrames } from "../../test/support/raw-client.js";
import { JuteReader } from "../../src/protocol/archive.js";
import { readConnectResponse, readReplyHeader, readWatcherEvent } from "../../src/protocol/records.generated.js";
import { decodeBody } from "./decode.js";
import { fourLetterWordShape } from "./four-letter-shape.js";
import { TracedClient, notificationFields, type TracedConnectOptions } from "./traced-client.js";
import { passwdTag, sessionTag, zxidTag, type Json, type JsonObject, type Transcript } from "./transcript.js";

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * The super user both servers are configured with
 * (`-Dzookeeper.DigestAuthenticationProvider.superDigest`, Maestro's
 * --super-digest) when this tool starts them; runDifferential takes another.
 */
export const superUser = "super";
export const superPassword = "differential-super";

export interface SuperCredentials {
  user: string;
  password: string;
}

export function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

export const superDigest = digestId(superUser, superPassword);

/** Requested session timeout of ordinary scenario clients: long enough to never expire mid-scenario. */
export const sessionTimeoutMsDefault = 30_000;

/** Thrown when a scenario cannot go on (a client could not even connect). */
export class ScenarioAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScenarioAbort";
  }
}

export interface ExchangeSpec {
  /** Byte chunks written in order. */
  chunks: Buffer[];
  /** Whether the first frame back is a ConnectResponse. */
  handshake: boolean;
  /** Opcode of the request each xid answers, to decode reply bodies. */
  opcodes?: Record<number, number>;
  waitMs?: number;
  chunkDelayMs?: number;
  endAfterWrite?: boolean;
}

export class ScenarioContext {
  readonly endpoint: Endpoint;
  readonly base: string;
  readonly transcript: Transcript;
  readonly superCredentials: SuperCredentials;
  readonly #clients: TracedClient[] = [];
  /** Sessions opened by hand-made ConnectRequests in exchange(). */
  readonly #exchangeSessions: Array<{ sessionId: bigint; passwd: Buffer }> = [];

  constructor(endpoint: Endpoint, base: string, transcript: Transcript, superCredentials: SuperCredentials = { user: superUser, password: superPassword }) {
    this.endpoint = endpoint;
    this.base = base;
    this.transcript = transcript;
    this.superCredentials = superCredentials;
  }

  /** "user:password" of the super digest, for addAuth. */
  get superAuth(): string {
    return `${this.superCredentials.user}:${this.superCredentials.password}`;
  }

  /** A path inside this scenario's namespace. */
  path(relative: string): string {
    return relative === "" ? this.base : `${this.base}/${relative}`;
  }

  /** Connects a client and records the handshake; aborts the scenario if the server refuses. */
  async connect(id: string, name: string, options: TracedConnectOptions = {}): Promise<TracedClient> {
    const client = await this.tryConnect(id, name, options);
    if (client === null) throw new ScenarioAbort(`client ${name} could not connect`);
    return client;
  }

  /** Connects and records; null when the server closed before answering. */
  async tryConnect(id: string, name: string, options: TracedConnectOptions = {}): Promise<TracedClient | null> {
    const client = await TracedClient.connect(this.transcript, id, name, this.endpoint.port, this.endpoint.host, {
      timeOutMs: sessionTimeoutMsDefault,
      ...options,
    });
    if (client !== null) this.#clients.push(client);
    return client;
  }

  note(id: string, fields: JsonObject): void {
    this.transcript.add(id, { op: "note", ...fields });
  }

  /** Sends a four-letter word on a fresh connection and records the shape of the answer. */
  async fourLetterWord(id: string, word: string, endpoint: Endpoint = this.endpoint): Promise<string> {
    const result = await exchange({ host: endpoint.host, port: endpoint.port, chunks: [Buffer.from(word, "latin1")], waitMs: 3_000 });
    const text = result.received.toString("utf8");
    this.transcript.add(id, { op: "4lw", word, closed: result.closed, shape: fourLetterWordShape(word, text, this.base), _raw: text });
    return text;
  }

  /**
   * Writes hand-made bytes on a fresh connection and records every frame
   * the server sends back (decoded where possible), and whether it closed.
   */
  async exchange(id: string, spec: ExchangeSpec): Promise<void> {
    const result = await exchange({
      host: this.endpoint.host,
      port: this.endpoint.port,
      chunks: spec.chunks,
      waitMs: spec.waitMs ?? 1_500,
      chunkDelayMs: spec.chunkDelayMs,
      endAfterWrite: spec.endAfterWrite,
    });
    const { frames, rest } = splitFrames(result.received);
    const first = frames[0];
    if (spec.handshake && first !== undefined) this.#rememberSession(first);
    const decoded: Json[] = frames.map((frame, index) =>
      index === 0 && spec.handshake ? decodeHandshakeFrame(frame) : decodeReplyFrame(frame, spec.opcodes ?? {}),
    );
    this.transcript.add(id, {
      op: "exchange",
      sentBytes: spec.chunks.reduce((total, chunk) => total + chunk.length, 0),
      frames: decoded,
      trailingBytes: rest.length,
      closed: result.closed,
    });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
  }

  /** Closes every client the scenario left open (unrecorded cleanup). */
  async disposeClients(): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.dispose().catch(() => {})));
  }

  /**
   * Sessions the scenario created, for the runner's cleanup: a session left
   * to expire would spend a zxid in the middle of a later scenario.
   */
  sessions(): Array<{ sessionId: bigint; passwd: Buffer }> {
    const fromClients = this.#clients.filter((client) => client.sessionId !== 0n).map((client) => ({ sessionId: client.sessionId, passwd: client.passwd }));
    return [...fromClients, ...this.#exchangeSessions];
  }

  #rememberSession(frame: Buffer): void {
    try {
      const response = readConnectResponse(new JuteReader(frame));
      if (response.timeOut > 0 && response.sessionId !== 0n && response.passwd !== null) {
        this.#exchangeSessions.push({ sessionId: response.sessionId, passwd: response.passwd });
      }
    } catch {
      // Not a ConnectResponse: no session to remember.
    }
  }
}

function decodeHandshakeFrame(frame: Buffer): Json {
  try {
    const reader = new JuteReader(frame);
    const response = readConnectResponse(reader);
    const readOnly = reader.remaining() >= 1 ? reader.readBool() : null;
    return {
      handshake: {
        protocolVersion: response.protocolVersion,
        timeOut: response.timeOut,
        sessionId: sessionTag(response.sessionId),
        passwd: passwdTag(response.passwd),
        readOnly,
        bodyBytes: frame.length,
      },
    };
  } catch (error) {
    return { undecodable: (error as Error).message, hex: frame.toString("hex") };
  }
}

function decodeReplyFrame(frame: Buffer, opcodes: Record<number, number>): Json {
  try {
    const reader = new JuteReader(frame);
    const header = readReplyHeader(reader);
    if (header.xid === -1) return { notification: notificationFields({ kind: "notification", zxid: header.zxid, ...readWatcherEvent(reader) }) };
    const body = frame.subarray(reader.offset);
    const opcode = opcodes[header.xid] ?? -1000;
    return { reply: { xid: header.xid, zxid: zxidTag(header.zxid), err: header.err, ...decodeBody(opcode, header.err, body) } };
  } catch (error) {
    return { undecodable: (error as Error).message, hex: frame.toString("hex") };
  }
}

export interface Scenario {
  /** Unique, [a-z0-9-]; also the namespace node's name. */
  name: string;
  /** One sentence: what ZooKeeper behaviour this pins down. */
  description: string;
  /** Servers this scenario needs besides the main pair. */
  needs?: "defaultWhitelist";
  run(context: ScenarioContext, extra: ScenarioExtras): Promise<void>;
}

export interface ScenarioExtras {
  /** The server started with ZooKeeper's default four-letter-word whitelist, when available. */
  defaultWhitelist?: Endpoint;
}
