// node-zookeeper-client behind promises, with a bounded connect: the one
// client library the benchmarks drive today (issue 5 adds others).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const zookeeperClient = require("node-zookeeper-client");

const connectTimeoutMsDefault = 15_000;
const sessionTimeoutMsDefault = 30_000;

export const persistentMode = zookeeperClient.CreateMode.PERSISTENT;

export function connect(connectionString, { connectTimeoutMs = connectTimeoutMsDefault, sessionTimeoutMs = sessionTimeoutMsDefault } = {}) {
  return new Promise((resolve, reject) => {
    const client = zookeeperClient.createClient(connectionString, { sessionTimeout: sessionTimeoutMs, spinDelay: 100, retries: 0 });
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`could not connect to ${connectionString} within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

export function create(client, path, data, mode = persistentMode) {
  return new Promise((resolve, reject) => {
    client.create(path, data, zookeeperClient.ACL.OPEN_ACL_UNSAFE, mode, (error, createdPath) => (error ? reject(error) : resolve(createdPath)));
  });
}

export function setData(client, path, data, version = -1) {
  return new Promise((resolve, reject) => {
    client.setData(path, data, version, (error, stat) => (error ? reject(error) : resolve(stat)));
  });
}

/** Creates `path` unless it exists already. */
export async function ensureNode(client, path, data = Buffer.alloc(0)) {
  try {
    await create(client, path, data);
  } catch (error) {
    if (error?.code !== zookeeperClient.Exception.NODE_EXISTS) throw error;
  }
}

/** A short stable name for an error, for per-code error counts. */
export function errorName(error) {
  if (typeof error?.name === "string" && typeof error?.code === "number") return `${error.name}(${error.code})`;
  return error?.message ?? String(error);
}

export const createModes = Object.freeze({
  persistent: zookeeperClient.CreateMode.PERSISTENT,
  ephemeral: zookeeperClient.CreateMode.EPHEMERAL,
  persistentSequential: zookeeperClient.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeralSequential: zookeeperClient.CreateMode.EPHEMERAL_SEQUENTIAL,
});

export function getData(client, path, watcher) {
  return new Promise((resolve, reject) => {
    const callback = (error, data) => (error ? reject(error) : resolve(data));
    if (watcher === undefined) client.getData(path, callback);
    else client.getData(path, watcher, callback);
  });
}

/** Resolves with the stat, or null when the node does not exist. */
export function exists(client, path, watcher) {
  return new Promise((resolve, reject) => {
    const callback = (error, stat) => (error ? reject(error) : resolve(stat ?? null));
    if (watcher === undefined) client.exists(path, callback);
    else client.exists(path, watcher, callback);
  });
}

export function getChildren(client, path) {
  return new Promise((resolve, reject) => {
    client.getChildren(path, (error, children) => (error ? reject(error) : resolve(children)));
  });
}

export function remove(client, path, version = -1) {
  return new Promise((resolve, reject) => {
    client.remove(path, version, (error) => (error ? reject(error) : resolve()));
  });
}

/** A multi of setData(setPath) and create(createPath), all or nothing. */
export function setAndCreate(client, setPath, createPath, data) {
  return new Promise((resolve, reject) => {
    client
      .transaction()
      .setData(setPath, data, -1)
      .create(createPath, data, zookeeperClient.ACL.OPEN_ACL_UNSAFE, persistentMode)
      .commit((error, results) => (error ? reject(error) : resolve(results)));
  });
}
