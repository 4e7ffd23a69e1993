// Key distributions for the workload generator, as Paxi defines them
// (uniform, zipfian, normal per region, a hotspot that moves between
// regions). Pure code: randomness comes from an injected seeded generator
// and time arrives as an argument, so a seed fixes the key sequence and the
// tests can check frequencies exactly.

/** A uniform number in [0, 1). */
export type Random = () => number;

/** Largest key space the zipfian table is built for (8 bytes per key). */
export const keyCountMax = 10_000_000;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal variate (Box–Muller; the second variate is dropped for simplicity). */
export function standardNormal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) is never taken
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export type DistributionSpec =
  | { readonly kind: "uniform" }
  | { readonly kind: "zipfian"; readonly s: number }
  /** Each region's keys centred on its own slice of the key space; sigma in keys. */
  | { readonly kind: "normal"; readonly sigma: number }
  /** Every region's keys centred on the hot region's slice, which moves every periodMs. */
  | { readonly kind: "hotspot"; readonly sigma: number; readonly periodMs: number }
  /**
   * Region r's keys lie in its own slice with probability percent/100,
   * uniformly there; otherwise in one of the other slices, picked evenly,
   * uniformly within it.
   */
  | { readonly kind: "locality"; readonly percent: number };

export interface KeyChooser {
  /** A key in [0, keyCount) for a client of `region`, at `elapsedMs` since the run began. */
  next(region: number, elapsedMs: number): number;
}

export interface KeySpace {
  readonly keyCount: number;
  readonly regionCount: number;
}

function checkKeySpace({ keyCount, regionCount }: KeySpace): void {
  if (!Number.isInteger(keyCount) || keyCount < 1 || keyCount > keyCountMax) throw new RangeError(`keyCount must be an integer in [1, ${keyCountMax}], got ${keyCount}`);
  if (!Number.isInteger(regionCount) || regionCount < 1 || regionCount > keyCount) throw new RangeError(`regionCount must be an integer in [1, keyCount], got ${regionCount}`);
}

/** The centre of region r's slice: the middle of [r·N/R, (r+1)·N/R). */
export function regionCentre(region: number, space: KeySpace): number {
  return ((region + 0.5) * space.keyCount) / space.regionCount;
}

/**
 * The region whose slice [r·N/R, (r+1)·N/R) holds `key`: the region a key
 * is "local" to (the normal distribution centres region r's draws there).
 */
export function regionSliceOf(key: number, space: KeySpace): number {
  return Math.min(space.regionCount - 1, Math.max(0, Math.floor((key * space.regionCount) / space.keyCount)));
}

/**
 * The keys of region slice `slice`: [start, end), exactly the keys k with
 * regionSliceOf(k) === slice. Integer arithmetic: start = ceil(slice·N/R).
 */
export function regionSliceBounds(slice: number, space: KeySpace): { start: number; end: number } {
  const { keyCount, regionCount } = space;
  const startOf = (index: number): number => Math.floor((index * keyCount + regionCount - 1) / regionCount);
  return { start: startOf(slice), end: startOf(slice + 1) };
}

/** Which region is hot at elapsedMs: region 0 first, then 1, 2, ... and round again. */
export function hotRegionAt(elapsedMs: number, periodMs: number, regionCount: number): number {
  return Math.floor(Math.max(0, elapsedMs) / periodMs) % regionCount;
}

/** Wraps a real key position onto [0, keyCount): the key space is a ring, as in Paxi. */
function wrapKey(position: number, keyCount: number): number {
  const key = Math.floor(position) % keyCount;
  return key < 0 ? key + keyCount : key;
}

/** Cumulative zipf weights: P(rank k) ∝ 1 / (k+1)^s for k in [0, N). */
export function zipfCumulative(keyCount: number, s: number): Float64Array {
  const cumulative = new Float64Array(keyCount);
  let sum = 0;
  for (let rank = 0; rank < keyCount; rank += 1) {
    sum += 1 / Math.pow(rank + 1, s);
    cumulative[rank] = sum;
  }
  for (let rank = 0; rank < keyCount; rank += 1) cumulative[rank] = cumulative[rank]! / sum;
  return cumulative;
}

/** The first index whose cumulative weight exceeds u (binary search). */
function searchCumulative(cumulative: Float64Array, u: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! > u) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The locality chooser: one draw decides local (draw·100 < percent, so 0
 * never and 100 always), then, for a remote key, one picks among the other
 * R-1 slices evenly, so each of them gets (100-percent)/(R-1) % of a
 * region's keys whatever their sizes; the last draw picks a key uniformly in
 * the slice. Uniform within a slice, not normal: every key of a unit is as
 * likely as any other, so the sweep varies only where writes go.
 */
function localityChooser(percent: number, space: KeySpace, random: Random): KeyChooser {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`locality percent must be in [0, 100], got ${percent}`);
  const { regionCount } = space;
  if (regionCount < 2) throw new RangeError("locality needs at least 2 regions (--regions): with one there is no other slice");
  const slices = Array.from({ length: regionCount }, (_, slice) => regionSliceBounds(slice, space));
  return {
    next: (region) => {
      const own = region % regionCount;
      const local = random() * 100 < percent;
      // Other slices are own+1 .. own+R-1 (mod R): offset in [1, R-1].
      const slice = local ? own : (own + 1 + Math.floor(random() * (regionCount - 1))) % regionCount;
      const { start, end } = slices[slice]!;
      return start + Math.floor(random() * (end - start));
    },
  };
}

export function keyChooser(spec: DistributionSpec, space: KeySpace, random: Random): KeyChooser {
  checkKeySpace(space);
  const { keyCount, regionCount } = space;
  switch (spec.kind) {
    case "uniform":
      return { next: () => Math.floor(random() * keyCount) };
    case "zipfian": {
      if (!(spec.s > 0)) throw new RangeError(`zipfian s must be > 0, got ${spec.s}`);
      const cumulative = zipfCumulative(keyCount, spec.s);
      return { next: () => searchCumulative(cumulative, random()) };
    }
    case "normal":
      if (!(spec.sigma > 0)) throw new RangeError(`normal sigma must be > 0, got ${spec.sigma}`);
      return { next: (region) => wrapKey(regionCentre(region % regionCount, space) + spec.sigma * standardNormal(random), keyCount) };
    case "hotspot":
      if (!(spec.sigma > 0)) throw new RangeError(`hotspot sigma must be > 0, got ${spec.sigma}`);
      if (!(spec.periodMs > 0)) throw new RangeError(`hotspot periodMs must be > 0, got ${spec.periodMs}`);
      return {
        next: (_region, elapsedMs) => {
          const hot = hotRegionAt(elapsedMs, spec.periodMs, regionCount);
          return wrapKey(regionCentre(hot, space) + spec.sigma * standardNormal(random), keyCount);
        },
      };
    case "locality":
      return localityChooser(spec.percent, space, random);
  }
}

/** Parses a locality percentage, "0" to "100" (the CLI's --locality P, or --distribution locality:P). */
export function parseLocality(text: string): DistributionSpec {
  const percent = text.trim() === "" ? Number.NaN : Number(text);
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError(`--locality must be a number in [0, 100] (percent of a region's keys in its own slice), got ${text}`);
  return { kind: "locality", percent };
}

/** Parses "uniform", "zipfian:s", "normal:sigma", "hotspot:sigma:periodMs", "locality:percent" (the CLI's --distribution). */
export function parseDistribution(text: string): DistributionSpec {
  const [kind, ...parameters] = text.split(":");
  const numberAt = (index: number, fallback: number): number => {
    const raw = parameters[index];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--distribution ${text}: parameter ${raw} must be a positive number`);
    return value;
  };
  switch (kind) {
    case "uniform":
      return { kind: "uniform" };
    case "zipfian":
      return { kind: "zipfian", s: numberAt(0, 0.99) };
    case "normal":
      return { kind: "normal", sigma: numberAt(0, 50) };
    case "hotspot":
      return { kind: "hotspot", sigma: numberAt(0, 50), periodMs: numberAt(1, 10_000) };
    case "locality":
      return parseLocality(parameters[0] ?? "");
    default:
      throw new RangeError(`--distribution: unknown kind ${kind}; one of uniform, zipfian:s, normal:sigma, hotspot:sigma:periodMs, locality:percent`);
  }
}
