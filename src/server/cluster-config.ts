// The multi-region part of the configuration file: the optional top-level key
// "cluster", checked here and turned into the broker's BrokerSettings plus the
// shared secret that authenticates broker links. A file without "cluster"
// describes today's single node and goes through config.ts alone.
//
// Every rejection is a ConfigError naming the dotted path of the bad key
// (cluster.regions[1].nodes[0].broker), so an operator can find it in a
// large file.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { BrokerSettings, Durability, LeaseRootRule, MigrationPolicy, NodeAddress } from "../broker/settings.js";
import type { RegionName } from "../broker/messages.js";
import { isValidPath } from "../tree/paths.js";
import { applyOverrides, ConfigError, defaultConfig, readConfigFile, type ServerConfig } from "./config.js";

/** A region's index + 1 is its session-id prefix, one byte. */
export const regionsMax = 255;
export const clusterNodesMax = 1024;
export const leaseRootRulesMax = 10_000;
export const secretBytesMin = 16;
const regionNameCharsMax = 64;
const nodeIdCharsMax = 64;

export interface ClusterConfig {
  settings: BrokerSettings;
  /** Shared by every node of the deployment; authenticates broker links. */
  secret: Buffer;
}

type Timing = Pick<
  BrokerSettings,
  | "leaseTermMs" | "renewIntervalMs" | "clockDriftMax" | "forwardTimeoutMs" | "ownerUnreachableMs"
  | "streamBatchDeltasMax" | "streamRetainedDeltasMax" | "forwardsInFlightMax" | "messageBytesMax"
>;

const integerDefaults = {
  leaseTermMs: 10_000,
  renewIntervalMs: 2_000,
  forwardTimeoutMs: 10_000,
  ownerUnreachableMs: 10_000,
  streamBatchDeltasMax: 256,
  streamRetainedDeltasMax: 200_000,
  forwardsInFlightMax: 10_000,
  messageBytesMax: 8 * 1024 * 1024,
} as const;
const clockDriftMaxDefault = 0.01;

const clusterKeys = [
  "node", "root", "secret", "secretFile", "regions", "leaseRoots", "clockDriftMax", ...Object.keys(integerDefaults),
];
const regionKeys = ["name", "nodes"];
const nodeKeys = ["id", "client", "broker", "dial"];
const leaseRootKeys = ["path", "home", "durability", "policy"];
const policyKeys = {
  static: ["name"],
  consecutive: ["name", "count"],
  "majority-window": ["name", "share", "windowMs", "holdMs", "split"],
} as const;
const policyDefaults = { count: 3, share: 0.6, windowMs: 10_000, holdMs: 5_000 } as const;

/**
 * Checks the value of the "cluster" key. `nodeId` (the --node flag) names
 * this node and wins over cluster.node; `baseDir` is the config file's
 * directory, against which secretFile is read.
 */
export function parseClusterConfig(raw: unknown, nodeId: string | undefined, baseDir: string): ClusterConfig {
  const cluster = objectAt("cluster", raw);
  checkKeys("cluster", cluster, clusterKeys);
  const { regions, nodes, dials } = parseRegions(cluster.regions);
  const self = findSelf(cluster.node, nodeId, nodes);
  const root = findNode("cluster.root", cluster.root, nodes);
  const settings: BrokerSettings = {
    nodeId: self.id,
    region: self.region,
    rootNodeId: root.id,
    rootRegion: root.region,
    regions,
    nodes,
    leaseRoots: parseLeaseRoots(cluster.leaseRoots, regions),
    dialAddresses: checkDials(dials.get(self.id) ?? {}, nodes, self.id),
    ...parseTiming(cluster),
  };
  return { settings, secret: readSecret(cluster, baseDir) };
}

/** Server settings that follow from this node's entry: its client listener. */
export function clusterServerOverrides(settings: BrokerSettings): { host: string; port: number } {
  const self = settings.nodes.find((node) => node.id === settings.nodeId);
  if (self === undefined) throw new Error(`assertion: node ${settings.nodeId} is not in the settings`);
  return { host: self.clientHost, port: self.clientPort };
}

export interface NodeFlags {
  /** --node: which entry of cluster.regions this process is. */
  node?: string;
  /** ServerConfig keys from command-line flags (undefined values are skipped). */
  overrides: Record<string, unknown>;
}

export interface NodeConfig {
  server: ServerConfig;
  cluster: ClusterConfig | null;
}

/**
 * Defaults, then the file's server keys, then this node's client address
 * from "cluster", then flags: an explicit flag wins over the file.
 */
export function loadNodeConfig(configPath: string | undefined, flags: NodeFlags): NodeConfig {
  const file = configPath === undefined ? {} : readConfigFile(configPath);
  // "cluster" is not a ServerConfig key, and applyOverrides rejects unknown keys.
  const { cluster: rawCluster, ...serverKeys } = file;
  let server = applyOverrides(defaultConfig(), serverKeys);
  let cluster: ClusterConfig | null = null;
  if (configPath !== undefined && Object.hasOwn(file, "cluster")) {
    cluster = parseClusterConfig(rawCluster, flags.node, dirname(resolve(configPath)));
    server = applyOverrides(server, clusterServerOverrides(cluster.settings));
  } else if (flags.node !== undefined) {
    throw new ConfigError("--node", 'needs a configuration file with a "cluster" key');
  }
  server = applyOverrides(server, flags.overrides);
  return { server, cluster };
}

// ---- regions and nodes ----

type Dials = Record<string, { host: string; port: number }>;

function parseRegions(value: unknown): { regions: RegionName[]; nodes: NodeAddress[]; dials: Map<string, Dials> } {
  const list = arrayAt("cluster.regions", value, 1, regionsMax);
  const regions: RegionName[] = [];
  const nodes: NodeAddress[] = [];
  const dials = new Map<string, Dials>();
  const seen = { nodeIds: new Set<string>(), addresses: new Set<string>() };
  list.forEach((item, index) => {
    const key = `cluster.regions[${index}]`;
    const region = objectAt(key, item);
    checkKeys(key, region, regionKeys);
    const name = regionName(`${key}.name`, region.name);
    if (regions.includes(name)) throw new ConfigError(`${key}.name`, `region "${name}" appears twice`);
    regions.push(name);
    arrayAt(`${key}.nodes`, region.nodes, 1, clusterNodesMax).forEach((entry, nodeIndex) => {
      const nodeKey = `${key}.nodes[${nodeIndex}]`;
      const node = parseNode(nodeKey, entry, name, seen);
      nodes.push(node);
      dials.set(node.id, parseDials(`${nodeKey}.dial`, (entry as Record<string, unknown>).dial));
    });
  });
  if (nodes.length > clusterNodesMax) {
    throw new ConfigError("cluster.regions", `at most ${clusterNodesMax} nodes in all, got ${nodes.length}`);
  }
  return { regions, nodes, dials };
}

/** "dial": { "peer-id": "host:port" }: how this node reaches a peer when not at its broker address. */
function parseDials(key: string, value: unknown): Dials {
  if (value === undefined) return {};
  const object = objectAt(key, value);
  const dials: Dials = {};
  for (const [peer, address] of Object.entries(object)) dials[peer] = parseHostPort(`${key}.${peer}`, address);
  return dials;
}

function checkDials(dials: Dials, nodes: readonly NodeAddress[], selfId: string): Dials {
  for (const peer of Object.keys(dials)) {
    if (peer === selfId || !nodes.some((node) => node.id === peer)) {
      throw new ConfigError(`cluster.regions.dial.${peer}`, `"${peer}" is not another node of the cluster`);
    }
  }
  return dials;
}

function regionName(key: string, value: unknown): RegionName {
  if (typeof value !== "string" || !/^[a-z0-9-]+$/.test(value) || value.length > regionNameCharsMax) {
    throw new ConfigError(key, `expected a region name of a-z, 0-9 and "-" (at most ${regionNameCharsMax}), got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseNode(
  key: string,
  value: unknown,
  region: RegionName,
  seen: { nodeIds: Set<string>; addresses: Set<string> },
): NodeAddress {
  const node = objectAt(key, value);
  checkKeys(key, node, nodeKeys);
  const id = node.id;
  if (typeof id !== "string" || !/^[A-Za-z0-9._-]+$/.test(id) || id.length > nodeIdCharsMax) {
    throw new ConfigError(`${key}.id`, `expected a node id of letters, digits, ".", "_" and "-", got ${JSON.stringify(id)}`);
  }
  if (seen.nodeIds.has(id)) throw new ConfigError(`${key}.id`, `node id "${id}" appears twice`);
  seen.nodeIds.add(id);
  // Two listeners cannot share an address, whether client or broker ports.
  const client = uniqueAddress(`${key}.client`, node.client, seen.addresses);
  const broker = uniqueAddress(`${key}.broker`, node.broker, seen.addresses);
  return { id, region, clientHost: client.host, clientPort: client.port, brokerHost: broker.host, brokerPort: broker.port };
}

function uniqueAddress(key: string, value: unknown, seen: Set<string>): { host: string; port: number } {
  const address = parseHostPort(key, value);
  const normal = `${address.host.toLowerCase()}:${address.port}`;
  if (seen.has(normal)) throw new ConfigError(key, `address ${String(value)} is used twice`);
  seen.add(normal);
  return address;
}

/** "host:port" or "[v6]:port"; port 1..65535 since other nodes must be able to reach it. */
export function parseHostPort(key: string, value: unknown): { host: string; port: number } {
  const fail = (): never => {
    throw new ConfigError(key, `expected "host:port" with a port 1..65535, got ${JSON.stringify(value)}`);
  };
  if (typeof value !== "string") return fail();
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value);
  if (match === null) return fail();
  const host = match[1] ?? match[2] ?? fail();
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return fail();
  return { host, port };
}

function findSelf(fromFile: unknown, fromFlag: string | undefined, nodes: NodeAddress[]): NodeAddress {
  if (fromFlag !== undefined) return findNode("--node", fromFlag, nodes);
  if (fromFile === undefined) throw new ConfigError("cluster.node", "this node is not named: give --node or cluster.node");
  return findNode("cluster.node", fromFile, nodes);
}

function findNode(key: string, id: unknown, nodes: NodeAddress[]): NodeAddress {
  const node = nodes.find((candidate) => candidate.id === id);
  if (node === undefined) throw new ConfigError(key, `${JSON.stringify(id)} is not a node of cluster.regions`);
  return node;
}

// ---- lease roots ----

function parseLeaseRoots(value: unknown, regions: RegionName[]): LeaseRootRule[] {
  if (value === undefined) return [];
  const patterns = new Set<string>();
  return arrayAt("cluster.leaseRoots", value, 0, leaseRootRulesMax).map((item, index) => {
    const key = `cluster.leaseRoots[${index}]`;
    const rule = objectAt(key, item);
    checkKeys(key, rule, leaseRootKeys);
    const pattern = leaseRootPattern(`${key}.path`, rule.path);
    if (patterns.has(pattern)) throw new ConfigError(`${key}.path`, `pattern ${pattern} appears twice`);
    patterns.add(pattern);
    return {
      pattern,
      home: home(`${key}.home`, rule.home, regions),
      durability: durability(`${key}.durability`, rule.durability),
      policy: policy(`${key}.policy`, rule.policy),
    };
  });
}

/**
 * An exact path, or a path followed by "/*" (each child is a unit). A "*"
 * anywhere else is refused rather than read as a literal character, since
 * it would almost surely be a mistaken glob.
 */
function leaseRootPattern(key: string, value: unknown): string {
  if (typeof value !== "string") throw new ConfigError(key, `expected a path, got ${JSON.stringify(value)}`);
  const base = value.endsWith("/*") ? value.slice(0, -2) || "/" : value;
  if (base.includes("*")) throw new ConfigError(key, `"*" is only allowed as the whole last component ("/app/*")`);
  if (!isValidPath(base)) throw new ConfigError(key, `${value} is not a valid ZooKeeper path`);
  if (value === "/") throw new ConfigError(key, "/ is always the root unit; it cannot be a lease root");
  // "/*" would make /zookeeper a unit too.
  if (base === "/zookeeper" || base.startsWith("/zookeeper/") || value === "/*") {
    throw new ConfigError(key, `${value} would put /zookeeper under a lease; it stays with the root`);
  }
  return value;
}

function home(key: string, value: unknown, regions: RegionName[]): RegionName | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !regions.includes(value)) {
    throw new ConfigError(key, `${JSON.stringify(value)} is not a region of cluster.regions`);
  }
  return value;
}

function durability(key: string, value: unknown): Durability {
  if (value === undefined) return "region";
  if (value === "region" || value === "global") return value;
  throw new ConfigError(key, `expected "region" or "global", got ${JSON.stringify(value)}`);
}

function policy(key: string, value: unknown): MigrationPolicy {
  if (value === undefined || value === "static") return { name: "static" };
  const object = objectAt(key, value);
  const name = object.name;
  if (name !== "static" && name !== "consecutive" && name !== "majority-window") {
    throw new ConfigError(`${key}.name`, `expected "static", "consecutive" or "majority-window", got ${JSON.stringify(name)}`);
  }
  checkKeys(key, object, policyKeys[name]);
  if (name === "static") return { name };
  if (name === "consecutive") return { name, count: integerAt(`${key}.count`, object.count ?? policyDefaults.count, 1) };
  const share = object.share ?? policyDefaults.share;
  if (typeof share !== "number" || !(share > 0.5 && share <= 1)) {
    throw new ConfigError(`${key}.share`, `expected a share in (0.5, 1], got ${JSON.stringify(share)}`);
  }
  if (object.split !== undefined && typeof object.split !== "boolean") {
    throw new ConfigError(`${key}.split`, `expected true or false, got ${JSON.stringify(object.split)}`);
  }
  return {
    name,
    share,
    windowMs: integerAt(`${key}.windowMs`, object.windowMs ?? policyDefaults.windowMs, 1),
    holdMs: integerAt(`${key}.holdMs`, object.holdMs ?? policyDefaults.holdMs, 0),
    ...(object.split === true ? { split: true } : {}),
  };
}

// ---- timing, limits, secret ----

function parseTiming(cluster: Record<string, unknown>): Timing {
  const integer = (name: keyof typeof integerDefaults): number =>
    integerAt(`cluster.${name}`, cluster[name] ?? integerDefaults[name], 1);
  const leaseTermMs = integer("leaseTermMs");
  const renewIntervalMs = integer("renewIntervalMs");
  // Two renewals fit in a term, so one lost renewal does not end a lease.
  if (renewIntervalMs >= leaseTermMs / 2) {
    throw new ConfigError("cluster.renewIntervalMs", `must be under half of leaseTermMs (${leaseTermMs}), got ${renewIntervalMs}`);
  }
  const clockDriftMax = cluster.clockDriftMax ?? clockDriftMaxDefault;
  if (typeof clockDriftMax !== "number" || !(clockDriftMax >= 0 && clockDriftMax < 0.5)) {
    throw new ConfigError("cluster.clockDriftMax", `expected a number in [0, 0.5), got ${JSON.stringify(clockDriftMax)}`);
  }
  return {
    leaseTermMs,
    renewIntervalMs,
    clockDriftMax,
    forwardTimeoutMs: integer("forwardTimeoutMs"),
    ownerUnreachableMs: integer("ownerUnreachableMs"),
    streamBatchDeltasMax: integer("streamBatchDeltasMax"),
    streamRetainedDeltasMax: integer("streamRetainedDeltasMax"),
    forwardsInFlightMax: integer("forwardsInFlightMax"),
    messageBytesMax: integer("messageBytesMax"),
  };
}

function readSecret(cluster: Record<string, unknown>, baseDir: string): Buffer {
  if (cluster.secret !== undefined && cluster.secretFile !== undefined) {
    throw new ConfigError("cluster.secretFile", "give secret or secretFile, not both");
  }
  const secret = cluster.secretFile !== undefined ? secretFromFile(cluster.secretFile, baseDir) : secretFromValue(cluster.secret);
  if (secret.bytes.length < secretBytesMin) {
    throw new ConfigError(secret.key, `the secret must be at least ${secretBytesMin} bytes, got ${secret.bytes.length}`);
  }
  return secret.bytes;
}

function secretFromValue(value: unknown): { key: string; bytes: Buffer } {
  if (value === undefined) throw new ConfigError("cluster.secret", "missing: give secret or secretFile");
  if (typeof value !== "string") throw new ConfigError("cluster.secret", "expected a string");
  return { key: "cluster.secret", bytes: Buffer.from(value, "utf8") };
}

function secretFromFile(value: unknown, baseDir: string): { key: string; bytes: Buffer } {
  const key = "cluster.secretFile";
  if (typeof value !== "string" || value.length === 0) throw new ConfigError(key, "expected a file path");
  const path = resolve(baseDir, value);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${(error as Error).message}`);
  }
  // Editors end files with a newline; it is not part of the secret.
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end -= 1;
  return { key, bytes: bytes.subarray(0, end) };
}

// ---- shapes ----

function objectAt(key: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(key, `expected an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function arrayAt(key: string, value: unknown, lengthMin: number, lengthMax: number): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(key, `expected a list, got ${JSON.stringify(value)}`);
  if (value.length < lengthMin) throw new ConfigError(key, `expected at least ${lengthMin} entr${lengthMin === 1 ? "y" : "ies"}`);
  if (value.length > lengthMax) throw new ConfigError(key, `at most ${lengthMax} entries, got ${value.length}`);
  return value;
}

function checkKeys(key: string, object: Record<string, unknown>, allowed: readonly string[]): void {
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) throw new ConfigError(`${key}.${name}`, "unknown key");
  }
}

function integerAt(key: string, value: unknown, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ConfigError(key, `expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}
