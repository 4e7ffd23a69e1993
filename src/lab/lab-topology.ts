// The lab's topology file (JSON): which deployment to start, over which
// regions and WAN matrix. Parsing and pure planning only: no files, no sockets.
//
// {
//   "deployment": "maestro" | "zk-ensemble" | "zk-observers",
//   "regions": ["us-east", "eu-west", "ap-south"],   // default: these three
//   "roundTripMs": { "us-east": { "eu-west": 70 } },  // default: the emulator's matrix
//   "latency": [...], "jitterMs": 0, "seed": 1        // as in wan-config.ts
// }
//
// Everything but "deployment" is the WAN emulator's configuration (without
// "links": the lab makes the links itself).

import { parseWanConfig } from "./wan-config.js";
import type { WanEmulatorOptions } from "./wan-emulator.js";
import { WanError, defaultRegions } from "./wan-model.js";

export const labDeployments = ["maestro", "zk-ensemble", "zk-observers"] as const;
export type LabDeployment = (typeof labDeployments)[number];

export const labLimits = {
  /** Regions per lab: every ZooKeeper server is a JVM, and a lab runs on one machine. */
  regionsMax: 5,
} as const;

export interface LabTopology {
  deployment: LabDeployment;
  regions: string[];
  wan: WanEmulatorOptions;
}

export function parseLabTopology(value: unknown): LabTopology {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw topologyError("the topology must be a JSON object");
  const { deployment, ...rest } = value as Record<string, unknown>;
  if (typeof deployment !== "string" || !(labDeployments as readonly string[]).includes(deployment)) {
    throw topologyError(`deployment must be one of ${labDeployments.join(", ")}`);
  }
  if ("links" in rest || "controlPort" in rest) throw topologyError("links and controlPort are set by the lab, not the topology");
  const wan = parseWanConfig(rest);
  const regions = [...(wan.regions ?? defaultRegions)];
  if (regions.length < 1 || regions.length > labLimits.regionsMax) {
    throw topologyError(`a lab has 1 to ${labLimits.regionsMax} regions, not ${regions.length}`);
  }
  if (deployment !== "maestro" && regions.length < 2) throw topologyError(`${deployment} needs at least two regions`);
  return { deployment: deployment as LabDeployment, regions, wan: { ...wan, regions } };
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
