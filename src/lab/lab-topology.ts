// The lab's topology file (JSON): which deployment to start, over which
// regions and WAN matrix. Parsing and pure planning only: no files, no sockets.
//
// {
//   "deployment": "maestro" | "maestro-cluster" | "maestro-central" | "zk-ensemble" | "zk-observers",
//   "regions": ["us-east", "eu-west", "ap-south"],   // default: these three
//   "roundTripMs": { "us-east": { "eu-west": 70 } },  // default: the emulator's matrix
//   "latency": [...], "jitterMs": 0, "seed": 1,       // as in wan-config.ts
//   // maestro-cluster and maestro-central only:
//   "leaseRoots": [{ "path": "/maestro-bench/r0", "home": "us-east",
//                    "policy": {...}, "durability": "region" }, ...],   // policy, durability optional
//   "cluster": { "leaseTermMs": 10000, ... }          // more keys of the cluster config
// }
//
// Everything else is the WAN emulator's configuration (without "links": the
// lab makes the links itself). leaseRoots default to one unit per region
// slice of the bench's key space (`npm run bench -- --region-subtrees`):
// /maestro-bench/r<i> homed at region i. maestro-central homes every unit at
// the first region (the root's) whatever the file says.

import { parseWanConfig } from "./wan-config.js";
import type { WanEmulatorOptions } from "./wan-emulator.js";
import { WanError, defaultRegions } from "./wan-model.js";

export const labDeployments = ["maestro", "maestro-cluster", "maestro-central", "zk-ensemble", "zk-observers"] as const;
export type LabDeployment = (typeof labDeployments)[number];

/** The deployments that run one multi-region Maestro cluster. */
export function isMaestroCluster(deployment: LabDeployment): boolean {
  return deployment === "maestro-cluster" || deployment === "maestro-central";
}

/** The key space root of `npm run bench` (its --root default). */
export const benchRootDefault = "/maestro-bench";

/** A lease root of a lab cluster and the region its unit starts in. */
export interface LabLeaseRoot {
  path: string;
  home: string;
  /** The cluster config's leaseRoots[i].policy, passed through as written (the node checks it). */
  policy?: unknown;
  /** The cluster config's leaseRoots[i].durability, passed through as written. */
  durability?: unknown;
}

/** Cluster keys the lab writes itself; a topology's "cluster" object may not set them. */
const clusterKeysOfTheLab = ["node", "root", "secret", "secretFile", "regions", "leaseRoots"];

export const labLimits = {
  /** Regions per lab: every ZooKeeper server is a JVM, and a lab runs on one machine. */
  regionsMax: 5,
} as const;

export interface LabTopology {
  deployment: LabDeployment;
  regions: string[];
  wan: WanEmulatorOptions;
  /** Maestro cluster deployments: the lease roots, homes resolved (empty otherwise). */
  leaseRoots: LabLeaseRoot[];
  /** Maestro cluster deployments: further keys of the config's "cluster" object (timing, limits). */
  clusterSettings: Record<string, unknown>;
}

export function parseLabTopology(value: unknown): LabTopology {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw topologyError("the topology must be a JSON object");
  const { deployment, leaseRoots, cluster, ...rest } = value as Record<string, unknown>;
  if (typeof deployment !== "string" || !(labDeployments as readonly string[]).includes(deployment)) {
    throw topologyError(`deployment must be one of ${labDeployments.join(", ")}`);
  }
  const clustered = isMaestroCluster(deployment as LabDeployment);
  if (!clustered && (leaseRoots !== undefined || cluster !== undefined)) {
    throw topologyError("leaseRoots and cluster are for the maestro-cluster and maestro-central deployments");
  }
  if ("links" in rest || "controlPort" in rest) throw topologyError("links and controlPort are set by the lab, not the topology");
  const wan = parseWanConfig(rest);
  const regions = [...(wan.regions ?? defaultRegions)];
  if (regions.length < 1 || regions.length > labLimits.regionsMax) {
    throw topologyError(`a lab has 1 to ${labLimits.regionsMax} regions, not ${regions.length}`);
  }
  if (deployment !== "maestro" && regions.length < 2) throw topologyError(`${deployment} needs at least two regions`);
  return {
    deployment: deployment as LabDeployment,
    regions,
    wan: { ...wan, regions },
    leaseRoots: clustered ? parseLeaseRoots(leaseRoots, regions, deployment === "maestro-central") : [],
    clusterSettings: clustered ? parseClusterSettings(cluster) : {},
  };
}

/** One unit per region slice of the bench key space, homed at that region. */
export function benchLeaseRoots(regions: readonly string[], root: string = benchRootDefault): LabLeaseRoot[] {
  return regions.map((region, index) => ({ path: `${root}/r${index}`, home: region }));
}

function parseLeaseRoots(value: unknown, regions: readonly string[], central: boolean): LabLeaseRoot[] {
  const rootRegion = regions[0]!;
  const list = value === undefined ? benchLeaseRoots(regions) : value;
  if (!Array.isArray(list) || list.length === 0) throw topologyError("leaseRoots must be a non-empty list of {path, home}");
  return list.map((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw topologyError(`leaseRoots[${index}] must be an object`);
    const { path, home, policy, durability, ...other } = entry as Record<string, unknown>;
    if (Object.keys(other).length > 0) throw topologyError(`leaseRoots[${index}]: unknown key ${Object.keys(other)[0]}`);
    if (typeof path !== "string" || !path.startsWith("/")) throw topologyError(`leaseRoots[${index}].path must be an absolute path`);
    const homeRegion = home ?? rootRegion;
    if (typeof homeRegion !== "string" || !regions.includes(homeRegion)) {
      throw topologyError(`leaseRoots[${index}].home must be one of the regions (${regions.join(", ")})`);
    }
    const rule: LabLeaseRoot = { path, home: central ? rootRegion : homeRegion };
    if (policy !== undefined) rule.policy = policy;
    if (durability !== undefined) rule.durability = durability;
    return rule;
  });
}

function parseClusterSettings(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw topologyError("cluster must be an object");
  const taken = Object.keys(value).find((key) => clusterKeysOfTheLab.includes(key));
  if (taken !== undefined) throw topologyError(`cluster.${taken} is set by the lab, not the topology`);
  return { ...(value as Record<string, unknown>) };
}

/** One node of a lab cluster: its id, region and real loopback ports. */
export interface MaestroClusterNode {
  id: string;
  region: string;
  clientPort: number;
  brokerPort: number;
}

/** The emulator's proxy port for `from`'s broker connection to `to` (the from->to direction). */
export type BrokerDialLookup = (from: MaestroClusterNode, to: MaestroClusterNode) => number;

/**
 * The configuration file every node of a lab cluster starts from (one file,
 * `--node` says which entry is which process). Each node's "dial" sends its
 * broker connection to every peer through the emulator's proxy for that
 * direction, so every message between regions pays the pair's one-way
 * delay; the first node carries the root role.
 */
export function maestroClusterConfig(
  nodes: readonly MaestroClusterNode[],
  dialPort: BrokerDialLookup,
  settings: { leaseRoots: readonly LabLeaseRoot[]; secret: string; clusterSettings?: Record<string, unknown> },
): Record<string, unknown> {
  const root = nodes[0];
  if (root === undefined) throw topologyError("a cluster has at least one node");
  const address = (port: number): string => `127.0.0.1:${port}`;
  const regions = [...new Set(nodes.map((node) => node.region))].map((name) => ({
    name,
    nodes: nodes
      .filter((node) => node.region === name)
      .map((node) => ({
        id: node.id,
        client: address(node.clientPort),
        broker: address(node.brokerPort),
        dial: Object.fromEntries(nodes.filter((peer) => peer.id !== node.id).map((peer) => [peer.id, address(dialPort(node, peer))])),
      })),
  }));
  return {
    fourLetterWords: "*",
    cluster: {
      ...settings.clusterSettings,
      root: root.id,
      secret: settings.secret,
      regions,
      leaseRoots: settings.leaseRoots.map((rule) => ({
        path: rule.path,
        home: rule.home,
        ...(rule.policy === undefined ? {} : { policy: rule.policy }),
        ...(rule.durability === undefined ? {} : { durability: rule.durability }),
      })),
    },
  };
}

/** Who owns each unit once a lab cluster has started: "/" at the root's region, each lease root at its home. */
export function expectedOwners(topology: LabTopology): Map<string, string> {
  const owners = new Map<string, string>([["/", topology.regions[0]!]]);
  for (const rule of topology.leaseRoots) owners.set(rule.path, rule.home);
  return owners;
}

/** One ZooKeeper server of a lab: its id, region, role and real loopback ports. */
export interface ZooKeeperMember {
  id: number;
  region: string;
  role: "participant" | "observer";
  clientPort: number;
  quorumPort: number;
  electionPort: number;
}

/** The proxy port, from one region, to a member's quorum and election ports. */
export type PeerPortLookup = (fromRegion: string, member: ZooKeeperMember, port: "quorum" | "election") => number;

/**
 * zoo.cfg for `self`: its own entry carries its real ports, every other
 * member's entry the emulator's proxy ports from self's region, so all of
 * self's outgoing peer traffic (and the replies on those connections) pays
 * the WAN delay. Reconfiguration stays off: otherwise a leader would hand
 * its own view of the addresses (its proxies, its real ports) to followers.
 */
export function zooKeeperConfig(
  self: ZooKeeperMember,
  members: readonly ZooKeeperMember[],
  peerPort: PeerPortLookup,
  settings: { dataDir: string; tickTimeMs: number },
): string {
  const lines = [
    `tickTime=${settings.tickTimeMs}`,
    "initLimit=20",
    "syncLimit=10",
    `dataDir=${settings.dataDir}`,
    `clientPort=${self.clientPort}`,
    "clientPortAddress=127.0.0.1",
    "maxClientCnxns=0",
    "4lw.commands.whitelist=*",
    "admin.enableServer=false",
    "reconfigEnabled=false",
    // One voter plus observers is still a distributed deployment.
    "standaloneEnabled=false",
  ];
  if (self.role === "observer") lines.push("peerType=observer");
  for (const member of members) {
    const quorum = member.id === self.id ? member.quorumPort : peerPort(self.region, member, "quorum");
    const election = member.id === self.id ? member.electionPort : peerPort(self.region, member, "election");
    const suffix = member.role === "observer" ? ":observer" : "";
    lines.push(`server.${member.id}=127.0.0.1:${quorum}:${election}${suffix}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Who runs where. zk-ensemble: one voter per region. zk-observers: a single
 * voter (the leader) in the first region and an observer in each other
 * region; one voter rather than three because the lab shares two cores, and
 * three JVMs in the leader region would add local quorum traffic and CPU
 * contention that a real leader region spreads over machines.
 */
export function zooKeeperRoles(deployment: LabDeployment, regions: readonly string[]): Array<{ region: string; role: ZooKeeperMember["role"] }> {
  return regions.map((region, index) => ({
    region,
    role: deployment === "zk-observers" && index > 0 ? "observer" : "participant",
  }));
}

function topologyError(message: string): WanError {
  return new WanError("ERR_LAB_TOPOLOGY", message);
}
