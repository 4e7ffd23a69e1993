// The messages brokers exchange (design sections 3-5). Plain data: the pure
// broker core produces and consumes these; the transport encodes them with
// protobufjs and carries them over authenticated TCP links. Every message
// travels in an Envelope naming its sender and the sender's incarnation.

import type { Delta, Id, MultiOpResult, OpResult, WriteRequest } from "../tree/types.js";

/** A region's name from the configuration ("us-east"). */
export type RegionName = string;
/** A unit is named by its lease root path ("/" is the root unit). */
export type UnitName = string;

export interface UnitEpoch {
  unit: UnitName;
  epoch: number;
}

/** Writes to a unit counted by the region the client sat in (for policies and `maestro leases`). */
export interface WriteCount {
  unit: UnitName;
  origin: RegionName;
  count: number;
  /** Writes under one child of the unit (`unit/c/...`, two levels down or more), which a split could make a unit of its own. */
  child?: string;
}

/** Per-origin positions: origin region -> highest shipSeq. */
export interface OriginSeq {
  origin: RegionName;
  shipSeq: bigint;
}

/** What a forwarded write came to, as the owner answers it. */
export type ForwardOutcome =
  /** Committed: the result, and the delta's name so the forwarder can wait for it in the stream.
   *  With it the delta itself and what the owner had applied when it prepared it (`deps`): a
   *  forwarder that has all of that may apply the delta at once instead of waiting for the stream. */
  | { kind: "committed"; result: OpResult; origin: RegionName; shipSeq: bigint; delta: Delta | null; deps: OriginSeq[] }
  /** Refused by the tree's checks (no delta): the ZooKeeper error, per-op results for a multi, and
   *  how far the owner had committed when it decided (the forwarder waits for that before the
   *  session's next read, so the session never sees state older than what the error revealed). */
  | { kind: "failed"; err: number; multiResults?: MultiOpResult[]; origin: RegionName; shipSeq: bigint }
  /** The receiver does not own (all of) the units at the epochs named: try again with this view. */
  | { kind: "notOwner"; leases: UnitEpoch[]; owners: RegionName[] }
  /** The owner cannot commit now (its log failed, it is shutting down): the client sees ConnectionLoss. */
  | { kind: "unavailable"; reason: string };

export type BrokerMessage =
  /** Region -> root after a link comes up: send the stream after `streamPos`. */
  | { type: "subscribe"; streamPos: bigint }
  /** Root -> region: the root has sequenced the region's deltas through `shipSeq`; ship the rest. */
  | { type: "subscribed"; shipSeq: bigint; streamPos: bigint }
  /** Region -> root: committed deltas in commit order (each stamped with origin and shipSeq). `deps`:
   *  other regions' deltas (applied here early, from forward answers) the root must sequence first. */
  | { type: "ship"; deltas: Delta[]; deps: OriginSeq[] }
  /** Root -> region: the global stream, in order (each delta stamped with its stream position). */
  | { type: "stream"; deltas: Delta[] }
  /** Root -> region: the region asked for positions the root no longer keeps. */
  | { type: "streamGap"; oldestStreamPos: bigint }
  /** Region -> root: renews every lease the region holds, with write counts since the last renewal. */
  | { type: "renew"; round: number; leases: UnitEpoch[]; counts: WriteCount[] }
  /** Root -> region: renewal accepted for `termMs` from when it was sent; `stale` leases are not the region's any more;
   *  `streamPos` is how far the stream has got (a region behind it that hears nothing more asks again). */
  | { type: "renewed"; round: number; termMs: number; stale: UnitEpoch[]; streamPos: bigint }
  /** Root -> owner: release the unit (migration or gathering). */
  | { type: "revoke"; unit: UnitName; epoch: number }
  /** Owner -> root: nothing more will be committed to the unit at `epoch`; all of it is shipped through `shipSeq`. */
  | { type: "released"; unit: UnitName; epoch: number; shipSeq: bigint }
  /** Region -> owner: a client write to units the sender believes the receiver owns. `deps` are
   *  the sender's applied positions: the owner applies at least those before it prepares. */
  | {
      type: "forward";
      requestId: number;
      sessionId: bigint;
      request: WriteRequest;
      authIds: Id[];
      leases: UnitEpoch[];
      deps: OriginSeq[];
      /** The sender's own latest deltas the owner may not have yet (contiguous, oldest first), and
       *  other regions' deltas they depend on (applied early at the sender): an owner that has those
       *  applies the carried deltas at once instead of waiting for them through the root's stream. */
      carried: Delta[];
      carriedDeps: OriginSeq[];
    }
  | { type: "forwardReply"; requestId: number; outcome: ForwardOutcome }
  /** Region -> owner of a unit: how far have you committed? */
  | { type: "sync"; requestId: number; unit: UnitName }
  /** Owner -> region: everything committed to the unit is within origin's deltas through shipSeq. */
  | { type: "syncReply"; requestId: number; origin: RegionName; shipSeq: bigint; ok: boolean }
  /** Root -> region: the region's delta `shipSeq` wrote units it did not own (they were taken from it by
   *  an operator's evict) and was dropped: the region's replica has diverged from everyone else's. */
  | { type: "fenced"; shipSeq: bigint; units: UnitName[] }
  /** Region -> root: deltas of `origin` the sender applied early (from forward answers), with what they
   *  rest on: the root sequences them as if `origin` had shipped them, so that the sender's own deltas,
   *  which may depend on them, are not held up while `origin` cannot reach the root. */
  | { type: "relay"; origin: RegionName; deltas: Delta[]; deps: OriginSeq[] };

export interface Envelope {
  /** Sending node's id and region. */
  from: string;
  region: RegionName;
  /** Sender's incarnation: grows on every restart, so a peer can tell a restarted sender. */
  epoch: number;
  message: BrokerMessage;
}
