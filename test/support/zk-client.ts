// Promise wrappers over node-zookeeper-client, the foreign client most
// integration tests drive Maestro with. Every wait is bounded.

import assert from "node:assert/strict";
import zookeeper, { type ACL, type Client, type ClientOptions, type Event, type Stat } from "node-zookeeper-client";

const connectTimeoutMsDefault = 10_000;
const closeTimeoutMsDefault = 5_000;

export const { CreateMode, Permission } = zookeeper;

export function worldAcl(perms: number = zookeeper.Permission.ALL): ACL[] {
  return [new zookeeper.ACL(perms, new zookeeper.Id("world", "anyone"))];
}

export function acl(perms: number, scheme: string, id: string): ACL {
  return new zookeeper.ACL(perms, new zookeeper.Id(scheme, id));
}

/** The error code of a node-zookeeper-client failure (undefined for other errors). */
export function codeOf(error: unknown): number | undefined {
  if (error !== null && typeof error === "object" && "code" in error && typeof error.code === "number") return error.code;
  return undefined;
}

/** Asserts the promise fails with this ZooKeeper error code. */
export async function rejectsWithCode(promise: Promise<unknown>, code: number, what = "request"): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.equal(codeOf(error), code, `${what}: expected error ${code}, got ${String(error)}`);
    return;
  }
  assert.fail(`${what}: expected error ${code}, but it succeeded`);
}

function callback<T>(run: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolveCall, reject) => {
    run((error, value) => (error ? reject(error) : resolveCall(value)));
  });
}

/** A long from node-zookeeper-client (an 8-byte big-endian Buffer) as a bigint. */
export function longOf(bytes: Buffer): bigint {
  return bytes.readBigInt64BE(0);
}

export class ZkClient {
  readonly client: Client;

  private constructor(client: Client) {
    this.client = client;
  }

  /** Connects and resolves once the session is established. */
  static connect(connectString: string, options: ClientOptions = {}, timeoutMs = connectTimeoutMsDefault): Promise<ZkClient> {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 100, retries: 0, ...options });
    return new Promise((resolveClient, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new Error(`node-zookeeper-client did not connect to ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      client.once("connected", () => {
        clearTimeout(timer);
        resolveClient(new ZkClient(client));
      });
      client.connect();
    });
  }

  get sessionId(): bigint {
    return this.client.getSessionId().readBigInt64BE(0);
  }

  /** Closes the session (closeSession) and waits, bounded, for the disconnect. */
  close(timeoutMs = closeTimeoutMsDefault): Promise<void> {
    return new Promise((resolveClose) => {
      const timer = setTimeout(resolveClose, timeoutMs);
      this.client.once("disconnected", () => {
        clearTimeout(timer);
        resolveClose();
      });
      this.client.close();
    });
  }

  addAuth(scheme: string, auth: string): void {
    this.client.addAuthInfo(scheme, Buffer.from(auth, "utf8"));
  }

  create(path: string, data: Buffer | null = null, mode: number = zookeeper.CreateMode.PERSISTENT, acls: ACL[] = worldAcl()): Promise<string> {
    return callback((done) => this.client.create(path, data, acls, mode, done));
  }

  remove(path: string, version = -1): Promise<void> {
    return callback<void>((done) => this.client.remove(path, version, (error) => done(error, undefined)));
  }

  exists(path: string, watcher: ((event: Event) => void) | null = null): Promise<Stat | null> {
    return callback((done) => this.client.exists(path, watcher, done));
  }

  getData(path: string, watcher: ((event: Event) => void) | null = null): Promise<{ data: Buffer | null; stat: Stat }> {
    return callback((done) => this.client.getData(path, watcher, (error, data, stat) => done(error, { data, stat })));
  }

  setData(path: string, data: Buffer | null, version = -1): Promise<Stat> {
    return callback((done) => this.client.setData(path, data, version, done));
  }

  getChildren(path: string, watcher: ((event: Event) => void) | null = null): Promise<{ children: string[]; stat: Stat }> {
    return callback((done) =>
      this.client.getChildren(path, watcher, (error, children, stat) => done(error, { children, stat })),
    );
  }

  getACL(path: string): Promise<{ acls: ACL[]; stat: Stat }> {
    return callback((done) => this.client.getACL(path, (error, acls, stat) => done(error, { acls, stat })));
  }

  setACL(path: string, acls: ACL[], version = -1): Promise<Stat> {
    return callback((done) => this.client.setACL(path, acls, version, done));
  }

  /** Resolves with the stat, or throws if the node is missing. */
  async stat(path: string): Promise<Stat> {
    const stat = await this.exists(path);
    assert.ok(stat !== null, `${path} should exist`);
    return stat;
  }
}

/** Polls check() until it returns true; fails after timeoutMs. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveSleep) => setTimeout(resolveSleep, intervalMs));
  }
}

/** A watcher callback plus a promise of its first event, bounded by timeoutMs. */
export function watchOnce(timeoutMs = 10_000): { watcher: (event: Event) => void; event: Promise<Event>; events: Event[] } {
  const events: Event[] = [];
  let deliver: (event: Event) => void = () => {};
  const event = new Promise<Event>((resolveEvent, reject) => {
    const timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms`)), timeoutMs);
    deliver = (received) => {
      clearTimeout(timer);
      resolveEvent(received);
    };
  });
  event.catch(() => {});
  return {
    watcher: (received) => {
      events.push(received);
      deliver(received);
    },
    event,
    events,
  };
}
