// The multi-region settings the broker core runs on: plain data, validated
// by the server's cluster configuration (src/server/cluster-config.ts) before
// it gets here. Identical on every node of a deployment.

import type { RegionName } from "./messages.js";

export type Durability = "region" | "global";

export type MigrationPolicy =
  /** Units stay where they are (their home, else the root) unless an operator moves them. */
  | { name: "static" }
  /** Move a unit after `count` consecutive writes from one other region (WanKeeper-like). */
  | { name: "consecutive"; count: number }
  /** Move when one region issued more than `share` of the writes in the last `windowMs`,
   *  and the unit has stayed put at least `holdMs`. With `split`, when no region has the unit's
   *  majority, a child whose writes (two levels down or more) one other region dominates the same
   *  way becomes a unit of its own, granted to that region (adaptive splitting). */
  | { name: "majority-window"; share: number; windowMs: number; holdMs: number; split?: boolean };

/** A lease-root rule: an exact path ("/app/a") or every child of a path ("/app/*"). */
export interface LeaseRootRule {
  pattern: string;
  /** Region the units start with; null: the root's region. */
  home: RegionName | null;
  durability: Durability;
  policy: MigrationPolicy;
}

export interface NodeAddress {
  id: string;
  region: RegionName;
  /** ZooKeeper client port address. */
  clientHost: string;
  clientPort: number;
  /** Broker link address (other nodes connect here). */
  brokerHost: string;
  brokerPort: number;
}

export interface BrokerSettings {
  /** This node. */
  nodeId: string;
  region: RegionName;
  /** The node that carries the root broker role, and its region. */
  rootNodeId: string;
  rootRegion: RegionName;
  /** Every region, in configuration order; a region's index + 1 is its session-id prefix. */
  regions: RegionName[];
  nodes: NodeAddress[];
  leaseRoots: LeaseRootRule[];
  /** Lease term granted on each renewal. */
  leaseTermMs: number;
  /** How often a region renews its leases (well under the term). */
  renewIntervalMs: number;
  /** Assumed bound on clock rate difference between nodes (0.01 = 1 %): an owner treats its
   *  lease as over this much earlier, the root waits this much longer before reassigning. */
  clockDriftMax: number;
  /** A forwarded write or sync with no answer after this long fails with ConnectionLoss. */
  forwardTimeoutMs: number;
  /** A session whose ephemerals sit in units of a region unreachable this long is disconnected. */
  ownerUnreachableMs: number;
  /** This node's way to each peer when it differs from the peer's configured broker address
   *  (a WAN emulator between regions gives each direction a port of its own). */
  dialAddresses: Record<string, { host: string; port: number }>;
  /** Largest broker message (a ship or stream batch is cut to fit). */
  messageBytesMax: number;
  /** Limits. */
  streamBatchDeltasMax: number;
  streamRetainedDeltasMax: number;
  forwardsInFlightMax: number;
}
