// What a node reports about the leases it knows of: the answer to the `leas`
// four-letter word and the input of `maestro leases`. Plain data, written as
// JSON on the wire, so it holds no bigints.

import type { Durability } from "./settings.js";
import type { RegionName, UnitName } from "./messages.js";

/** How a unit stands as seen from the reporting node's region. */
export const leaseUnitStates = [
  /** This region holds the lease and commits the unit's writes. */
  "owned",
  /** Another region holds the lease; writes are forwarded to it. */
  "remote",
  /** This region was asked to release the unit and is draining in-flight writes. */
  "releasing",
  /** The unit was granted to this region, which waits to catch up before writing. */
  "acquiring",
  /** This region's lease ran out without renewal (cut off from the root). */
  "lapsed",
] as const;

export type LeaseUnitState = (typeof leaseUnitStates)[number];

export interface LeaseUnitStatus {
  unit: UnitName;
  owner: RegionName;
  epoch: number;
  durability: Durability;
  state: LeaseUnitState;
  /** Writes to the unit by the region the client sat in: at the root, all of them reported with renewals
   *  since the root started; elsewhere, those this node committed as the unit's owner since it started. */
  writesByOrigin: Record<RegionName, number>;
}

export interface LeaseStatusReport {
  region: RegionName;
  node: string;
  /** Whether this node carries the root broker role. */
  root: boolean;
  units: LeaseUnitStatus[];
}
