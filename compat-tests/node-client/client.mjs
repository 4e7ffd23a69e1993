// Promise wrappers over node-zookeeper-client for the scenario checks, and a
// pausable loopback TCP proxy for the session-expiry check. Every wait is
// bounded: a check that hangs fails with a timeout instead of stalling the run.
import net from "node:net";
import zookeeper from "node-zookeeper-client";

export const { ACL, Id, Permission, CreateMode, Exception, Event, State } = zookeeper;

export const operationTimeoutMs = 10_000;
const connectTimeoutMs = 10_000;
const closeTimeoutMs = 5_000;

/** Rejects with a clear message when `promise` does not settle in time. */
export function within(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms) {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** The ZooKeeper error code of a client error, or undefined. */
export function codeOf(error) {
  if (error && typeof error.getCode === "function") return error.getCode();
  if (error && typeof error.code === "number") return error.code;
  return undefined;
}

/** A long from the client (8-byte big-endian Buffer) as a bigint. */
export function longOf(bytes) {
  return bytes.readBigInt64BE(0);
}

/**
 * One node-zookeeper-client session. Methods return promises; `events`
 * records every state change ("connected", "disconnected", "expired",
 * "authenticationFailed") in order.
 */
export class Session {
  constructor(client, connectString) {
    this.client = client;
    this.connectString = connectString;
    this.events = [];
    for (const name of ["connected", "disconnected", "expired", "authenticationFailed", "connectedReadOnly"]) {
      client.on(name, () => this.events.push(name));
    }
  }

  static async open(connectString, options = {}) {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 200, retries: 0, ...options });
    const session = new Session(client, connectString);
    const connected = new Promise((resolveConnected, reject) => {
      client.once("connected", resolveConnected);
      client.once("expired", () => reject(new Error("session expired while connecting")));
      client.once("authenticationFailed", () => reject(new Error("authentication failed while connecting")));
    });
    client.connect();
    try {
      await within(connected, connectTimeoutMs, `connect to ${connectString}`);
    } catch (error) {
      client.close();
      throw error;
    }
    return session;
  }

  /** Resolves with the next occurrence of a client event (bounded). */
  next(eventName, timeoutMs = operationTimeoutMs) {
    return within(new Promise((resolveEvent) => this.client.once(eventName, resolveEvent)), timeoutMs, `event ${eventName}`);
  }

  call(method, ...args) {
    const work = new Promise((resolveCall, reject) => {
      this.client[method](...args, (error, ...results) => (error ? reject(error) : resolveCall(results)));
    });
    return within(work, operationTimeoutMs, `${method}(${typeof args[0] === "string" ? args[0] : ""})`);
  }

  async create(path, data, acls, mode) {
    const optional = [data, acls, mode].filter((argument) => argument !== undefined);
    const [created] = await this.call("create", path, ...optional);
    return created;
  }
  async remove(path, version = -1) {
    await this.call("remove", path, version);
  }
  async removeRecursive(path, version = -1) {
    await this.call("removeRecursive", path, version);
  }
  async exists(path, watcher) {
    const [stat] = await this.call("exists", path, ...(watcher ? [watcher] : []));
    return stat;
  }
  async getData(path, watcher) {
    const [data, stat] = await this.call("getData", path, ...(watcher ? [watcher] : []));
    return { data, stat };
  }
  async setData(path, data, version = -1) {
    const [stat] = await this.call("setData", path, data, version);
    return stat;
  }
  async getChildren(path, watcher) {
    const [children, stat] = await this.call("getChildren", path, ...(watcher ? [watcher] : []));
    return { children, stat };
  }
  async getACL(path) {
    const [acls, stat] = await this.call("getACL", path);
    return { acls, stat };
  }
  async setACL(path, acls, version = -1) {
    const [stat] = await this.call("setACL", path, acls, version);
    return stat;
  }
  async mkdirp(path, ...optional) {
    const [created] = await this.call("mkdirp", path, ...optional);
    return created;
  }
  async listSubTreeBFS(path) {
    const [paths] = await this.call("listSubTreeBFS", path);
    return paths;
  }
  /** Commits a transaction; resolves with { error, results } (error is the client's, or null). */
  commit(transaction) {
    const work = new Promise((resolveCommit) => {
      transaction.commit((error, results) => resolveCommit({ error: error ?? null, results: results ?? null }));
    });
    return within(work, operationTimeoutMs, "transaction.commit");
  }

  get sessionId() {
    return this.client.getSessionId();
  }

  /** closeSession, then waits (bounded) for the disconnect. */
  async close() {
    if (this.client.getState() === State.DISCONNECTED && this.events.at(-1) !== "connected") {
      this.client.close();
      return;
    }
    const disconnected = this.next("disconnected", closeTimeoutMs).catch(() => undefined);
    this.client.close();
    await disconnected;
  }
}

/**
 * Resolves with the first event a one-shot watcher receives; `watcher` is
 * the function to pass to exists/getData/getChildren.
 */
export function watchOnce() {
  let deliver;
  const events = [];
  const first = new Promise((resolveEvent) => {
    deliver = resolveEvent;
  });
  const watcher = (event) => {
    events.push(event);
    deliver(event);
  };
  return { watcher, events, next: (timeoutMs = operationTimeoutMs) => within(first, timeoutMs, "watch event") };
}

/**
 * A loopback TCP proxy to the server under test that can drop every
 * connection and refuse new ones (`cut`), then accept again on the same port
 * (`restore`): a client behind it loses the server without closing its
 * session, so the server expires the session.
 */
export class CuttableProxy {
  constructor(host, port) {
    this.target = { host, port };
    this.sockets = new Set();
    this.server = null;
    this.port = 0;
  }

  async listen(port = 0) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise((resolveListen, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", resolveListen);
    });
    this.port = this.server.address().port;
    return this.port;
  }

  async cut() {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise((resolveClose) => this.server.close(() => resolveClose()));
  }

  async restore() {
    await this.listen(this.port);
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    if (this.server?.listening) await new Promise((resolveClose) => this.server.close(() => resolveClose()));
  }
}
