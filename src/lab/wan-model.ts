// The WAN model: regions, the one-way latency matrix with jitter, bandwidth
// caps and partitions, and the arithmetic that turns "a chunk of N bytes
// left region A at time t" into "it reaches region B at time t'". Plain
// synchronous code: time arrives as a number of milliseconds and randomness
// from a seeded generator, so the sockets in wan-emulator.ts are the only
// place that touches a clock or a timer.

/**
 * Default inter-region round trips (ms), roughly what public clouds measure
 * between these regions; one-way latency is half of each:
 *
 *   us-east <-> eu-west    70 ms RTT  (35 ms one way)
 *   us-east <-> ap-south  190 ms RTT  (95 ms one way)
 *   eu-west <-> ap-south  120 ms RTT  (60 ms one way)
 *
 * Traffic inside one region has no added delay.
 */
export const defaultRegionRoundTripMs = {
  "us-east": { "eu-west": 70, "ap-south": 190 },
  "eu-west": { "ap-south": 120 },
} as const;

export const defaultRegions: readonly string[] = ["us-east", "eu-west", "ap-south"];

/** Upper bounds on what a configuration or control request may ask for. */
export const wanLimits = {
  regionsMax: 64,
  regionNameLengthMax: 64,
  oneWayLatencyMsMax: 60_000,
  jitterMsMax: 10_000,
} as const;

export class WanError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "WanError";
    this.code = code;
  }
}

export interface LinkProfile {
  /** Mean one-way delay in milliseconds. */
  oneWayMs: number;
  /** Uniform jitter: each chunk's delay is oneWayMs + U(-jitterMs, +jitterMs), never below 0. */
  jitterMs: number;
  /** Bytes per second for this direction, shared by every connection on it; undefined = uncapped. */
  bandwidthBytesPerSecond: number | undefined;
}

export interface WanModelOptions {
  regions?: readonly string[];
  /** Seed of the jitter generator; the same seed gives the same delays for the same chunk sequence. */
  seed?: number;
  /** Jitter applied to every pair that does not set its own. */
  jitterMs?: number;
  /** Round trips between pairs of regions (both directions get half); defaults to defaultRegionRoundTripMs. */
  roundTripMs?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface WanModelState {
  regions: string[];
  /** One entry per ordered pair of distinct regions. */
  links: Array<{ from: string; to: string; oneWayMs: number; jitterMs: number; bandwidthBytesPerSecond: number | null; partitioned: boolean }>;
  /** Blocked directions, "from->to". */
  partitions: string[];
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function directionKey(from: string, to: string): string {
  return `${from}->${to}`;
}

export class WanModel {
  private readonly regionList: string[];
  private readonly profiles = new Map<string, LinkProfile>();
  private readonly blocked = new Set<string>();
  /** When each direction's bandwidth-capped pipe finishes sending what it already has (ms). */
  private readonly pipeFreeAtMs = new Map<string, number>();
  private readonly random: () => number;

  constructor(options: WanModelOptions = {}) {
    const regions = options.regions ?? defaultRegions;
    if (regions.length === 0 || regions.length > wanLimits.regionsMax) {
      throw new WanError("ERR_WAN_CONFIG", `between 1 and ${wanLimits.regionsMax} regions are needed`);
    }
    for (const region of regions) checkRegionName(region);
    if (new Set(regions).size !== regions.length) throw new WanError("ERR_WAN_CONFIG", "region names must be distinct");
    this.regionList = [...regions];
    this.random = seededRandom(options.seed ?? 1);
    const jitterMs = checkJitter(options.jitterMs ?? 0);
    for (const from of regions) {
      for (const to of regions) {
        if (from !== to) this.profiles.set(directionKey(from, to), { oneWayMs: 0, jitterMs, bandwidthBytesPerSecond: undefined });
      }
    }
    const roundTrips = options.roundTripMs ?? defaultRegionRoundTripMs;
    for (const [a, row] of Object.entries(roundTrips)) {
      for (const [b, roundTripMs] of Object.entries(row)) {
        // Pairs naming regions outside this run are skipped, so the default
        // matrix serves runs with a subset of its regions.
        if (this.hasRegion(a) && this.hasRegion(b)) this.setLatency(a, b, roundTripMs / 2);
      }
    }
  }

  get regions(): readonly string[] {
    return this.regionList;
  }

  hasRegion(region: string): boolean {
    return this.regionList.includes(region);
  }

  /** The profile of from->to; traffic inside one region has none (undefined). */
  profile(from: string, to: string): LinkProfile | undefined {
    this.requireRegion(from);
    this.requireRegion(to);
    return this.profiles.get(directionKey(from, to));
  }

  /** Sets the one-way delay (and optionally jitter) of a->b, and of b->a unless oneWay. */
  setLatency(a: string, b: string, oneWayMs: number, options: { jitterMs?: number; oneWay?: boolean } = {}): void {
    if (!Number.isFinite(oneWayMs) || oneWayMs < 0 || oneWayMs > wanLimits.oneWayLatencyMsMax) {
      throw new WanError("ERR_WAN_CONFIG", `one-way latency must be within 0..${wanLimits.oneWayLatencyMsMax} ms`);
    }
    const jitterMs = options.jitterMs === undefined ? undefined : checkJitter(options.jitterMs);
    for (const [from, to] of this.directions(a, b, options.oneWay ?? false)) {
      const profile = this.requireProfile(from, to);
      profile.oneWayMs = oneWayMs;
      if (jitterMs !== undefined) profile.jitterMs = jitterMs;
    }
  }

  /** Caps a->b (and b->a unless oneWay) at bytesPerSecond; undefined removes the cap. */
  setBandwidth(a: string, b: string, bytesPerSecond: number | undefined, oneWay = false): void {
    if (bytesPerSecond !== undefined && (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0)) {
      throw new WanError("ERR_WAN_CONFIG", "a bandwidth cap must be a positive number of bytes per second");
    }
    for (const [from, to] of this.directions(a, b, oneWay)) this.requireProfile(from, to).bandwidthBytesPerSecond = bytesPerSecond;
  }

  /** Blocks a->b, and b->a unless oneWay. */
  partition(a: string, b: string, oneWay = false): void {
    for (const [from, to] of this.directions(a, b, oneWay)) this.blocked.add(directionKey(from, to));
  }

  /**
   * Heals partitions: with no region, all of them; with a alone, every
   * direction to or from a; with a and b, a->b and (unless oneWay) b->a.
   */
  heal(a?: string, b?: string, oneWay = false): void {
    if (a === undefined) {
      if (b !== undefined) throw new WanError("ERR_WAN_CONFIG", "heal names region a before region b");
      this.blocked.clear();
      return;
    }
    if (b === undefined) {
      this.requireRegion(a);
      for (const other of this.regionList) {
        this.blocked.delete(directionKey(a, other));
        this.blocked.delete(directionKey(other, a));
      }
      return;
    }
    for (const [from, to] of this.directions(a, b, oneWay)) this.blocked.delete(directionKey(from, to));
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(directionKey(from, to));
  }

  /**
   * When a chunk of `bytes` sent from->to at nowMs arrives. The chunk first
   * waits for the direction's bandwidth-capped pipe, then travels the
   * one-way delay plus jitter, and never arrives before previousArrivalMs
   * (the connection's previous chunk): TCP delivers in order, so jitter
   * may delay a chunk but never let it overtake.
   */
  arrivalMs(from: string, to: string, bytes: number, nowMs: number, previousArrivalMs: number): number {
    const profile = this.profile(from, to);
    if (profile === undefined) return Math.max(nowMs, previousArrivalMs);
    let sentMs = nowMs;
    if (profile.bandwidthBytesPerSecond !== undefined) {
      const key = directionKey(from, to);
      const startMs = Math.max(nowMs, this.pipeFreeAtMs.get(key) ?? nowMs);
      sentMs = startMs + (bytes * 1000) / profile.bandwidthBytesPerSecond;
      this.pipeFreeAtMs.set(key, sentMs);
    }
    const jitter = profile.jitterMs === 0 ? 0 : (this.random() * 2 - 1) * profile.jitterMs;
    const delayMs = Math.max(0, profile.oneWayMs + jitter);
    return Math.max(sentMs + delayMs, previousArrivalMs);
  }

  state(): WanModelState {
    const links: WanModelState["links"] = [];
    for (const from of this.regionList) {
      for (const to of this.regionList) {
        const profile = this.profiles.get(directionKey(from, to));
        if (profile === undefined) continue;
        links.push({
          from,
          to,
          oneWayMs: profile.oneWayMs,
          jitterMs: profile.jitterMs,
          bandwidthBytesPerSecond: profile.bandwidthBytesPerSecond ?? null,
          partitioned: this.isBlocked(from, to),
        });
      }
    }
    return { regions: [...this.regionList], links, partitions: [...this.blocked].sort() };
  }

  private directions(a: string, b: string, oneWay: boolean): Array<[string, string]> {
    this.requireRegion(a);
    this.requireRegion(b);
    if (a === b) throw new WanError("ERR_WAN_SAME_REGION", `a region is not linked to itself: ${a}`);
    return oneWay ? [[a, b]] : [[a, b], [b, a]];
  }

  private requireProfile(from: string, to: string): LinkProfile {
    const profile = this.profiles.get(directionKey(from, to));
    if (profile === undefined) throw new WanError("ERR_WAN_UNKNOWN_REGION", `no link ${from}->${to}`);
    return profile;
  }

  private requireRegion(region: string): void {
    if (!this.hasRegion(region)) throw new WanError("ERR_WAN_UNKNOWN_REGION", `unknown region: ${region}`);
  }
}

function checkRegionName(region: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(region) || region.length > wanLimits.regionNameLengthMax) {
    throw new WanError("ERR_WAN_CONFIG", `bad region name: ${JSON.stringify(region)}`);
  }
}

function checkJitter(jitterMs: number): number {
  if (!Number.isFinite(jitterMs) || jitterMs < 0 || jitterMs > wanLimits.jitterMsMax) {
    throw new WanError("ERR_WAN_CONFIG", `jitter must be within 0..${wanLimits.jitterMsMax} ms`);
  }
  return jitterMs;
}
