// Session liveness at the server edge: timeouts, passwords, and which
// connection holds each session. The session's existence itself is part of
// the replicated tree state (createSession/closeSession deltas); this table
// only tracks when each one was last heard from.

import { createHmac, randomBytes } from "node:crypto";

export interface SessionEntry {
  id: bigint;
  timeoutMs: number;
  /** Monotonic milliseconds after which the session expires unless touched. */
  expiresAtMs: number;
  /** Connection currently holding the session, if any. */
  connectionId: number | null;
  /** Set once close or expiry has been submitted; no further use allowed. */
  closing: boolean;
}

export const sessionPasswordBytes = 16;

export class SessionTable {
  readonly #entries = new Map<bigint, SessionEntry>();
  readonly #secret: Buffer;
  #nextId: bigint;

  constructor(options: { serverId: number; nowWallMs: number; secret?: Buffer }) {
    this.#secret = options.secret ?? randomBytes(32);
    // ZooKeeper's layout: server id in the top byte, then milliseconds, so
    // ids from successive starts do not collide.
    const time = BigInt(options.nowWallMs) << 24n;
    const base = BigInt.asUintN(56, time) >> 8n;
    this.#nextId = BigInt.asIntN(64, (BigInt(options.serverId) << 56n) | base) + 1n;
  }

  allocateId(): bigint {
    let id = this.#nextId;
    while (this.#entries.has(id) || id === 0n) id += 1n;
    this.#nextId = id + 1n;
    return id;
  }

  /** A password derived from the id with a server secret; verifiable without storing it. */
  passwordOf(id: bigint): Buffer {
    const idBytes = Buffer.alloc(8);
    idBytes.writeBigInt64BE(id);
    return createHmac("sha256", this.#secret).update(idBytes).digest().subarray(0, sessionPasswordBytes);
  }

  verifyPassword(id: bigint, password: Buffer | null): boolean {
    return password !== null && password.length === sessionPasswordBytes && password.equals(this.passwordOf(id));
  }

  add(id: bigint, timeoutMs: number, nowMs: number): SessionEntry {
    const entry: SessionEntry = { id, timeoutMs, expiresAtMs: nowMs + timeoutMs, connectionId: null, closing: false };
    this.#entries.set(id, entry);
    return entry;
  }

  get(id: bigint): SessionEntry | undefined {
    return this.#entries.get(id);
  }

  remove(id: bigint): void {
    this.#entries.delete(id);
  }

  touch(id: bigint, nowMs: number): void {
    const entry = this.#entries.get(id);
    if (entry !== undefined && !entry.closing) entry.expiresAtMs = nowMs + entry.timeoutMs;
  }

  /** Sessions whose timeout has run out and that are not closing yet. */
  expired(nowMs: number): SessionEntry[] {
    const result: SessionEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (!entry.closing && entry.expiresAtMs <= nowMs) result.push(entry);
    }
    return result;
  }

  get size(): number {
    return this.#entries.size;
  }

  values(): IterableIterator<SessionEntry> {
    return this.#entries.values();
  }
}
