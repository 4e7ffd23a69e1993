// Server configuration: defaults, the config file, and validation. A config
// file is JSON; an unknown key or a bad value stops start-up with a message
// naming the key (ConfigError).

import { readFileSync } from "node:fs";
import { frameBytesMaxDefault } from "../protocol/frame.js";

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** ZooKeeper's tickTime: the unit of session timeouts. */
  tickTimeMs: number;
  /** Negotiated session timeouts are clamped to [min, max]; 0 means 2 and 20 ticks. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Four-letter words allowed on the client port; "*" allows all. */
  fourLetterWords: string[];
  /** "user:base64(sha1(user:password))" whose digest auth grants super rights. */
  superDigest: string | null;
  /** Largest frame accepted or sent (jute.maxbuffer). */
  frameBytesMax: number;
  /** Accept TTL nodes (zookeeper.extendedTypesEnabled). */
  ttlEnabled: boolean;
  /** How often empty containers and expired TTL nodes are swept. */
  containerSweepIntervalMs: number;
  /** Delete containers that never had a child after this long; 0 keeps them. */
  containerNeverUsedMs: number;
  connectionsMax: number;
  sessionsMax: number;
  /** Requests one connection may have queued before it stops reading. */
  connectionRequestsQueuedMax: number;
  /** Bytes of replies queued on one socket before it stops reading. */
  connectionOutputBytesMax: number;
  watchesPerConnectionMax: number;
  childrenMax: number;
  logLevel: string;
  /** Acknowledge writes before they reach the disk. Tests and benchmarks only: loses writes on a crash. */
  unsafeNoFsync: boolean;
  /** A snapshot is taken after this many deltas. */
  snapshotEveryDeltas: number;
  /** Newest snapshots kept (with the log needed to replay from the oldest). */
  snapshotsRetained: number;
  /** Snapshots older than this are purged too (the newest always stays); 0 keeps them by count only. */
  snapshotRetainedAgeMs: number;
}

export class ConfigError extends Error {
  readonly code = "ERR_MAESTRO_CONFIG";
  constructor(readonly key: string, message: string) {
    super(`config ${key}: ${message}`);
    this.name = "ConfigError";
  }
}

export function defaultConfig(): ServerConfig {
  return {
    host: "127.0.0.1",
    port: 2181,
    dataDir: "./data",
    tickTimeMs: 3000,
    minSessionTimeoutMs: 0,
    maxSessionTimeoutMs: 0,
    fourLetterWords: ["srvr"],
    superDigest: null,
    frameBytesMax: frameBytesMaxDefault,
    ttlEnabled: true,
    containerSweepIntervalMs: 60_000,
    containerNeverUsedMs: 0,
    connectionsMax: 10_000,
    sessionsMax: 100_000,
    connectionRequestsQueuedMax: 1_000,
    connectionOutputBytesMax: 64 * 1024 * 1024,
    watchesPerConnectionMax: 1_000_000,
    childrenMax: 1_000_000,
    logLevel: "info",
    unsafeNoFsync: false,
    snapshotEveryDeltas: 100_000,
    snapshotsRetained: 3,
    snapshotRetainedAgeMs: 0,
  };
}

type Kind = "string" | "port" | "positive" | "nonNegative" | "boolean" | "words" | "digestOrNull";
const kinds: { [K in keyof ServerConfig]: Kind } = {
  host: "string",
  port: "port",
  dataDir: "string",
  tickTimeMs: "positive",
  minSessionTimeoutMs: "nonNegative",
  maxSessionTimeoutMs: "nonNegative",
  fourLetterWords: "words",
  superDigest: "digestOrNull",
  frameBytesMax: "positive",
  ttlEnabled: "boolean",
  containerSweepIntervalMs: "positive",
  containerNeverUsedMs: "nonNegative",
  connectionsMax: "positive",
  sessionsMax: "positive",
  connectionRequestsQueuedMax: "positive",
  connectionOutputBytesMax: "positive",
  watchesPerConnectionMax: "positive",
  childrenMax: "positive",
  logLevel: "string",
  unsafeNoFsync: "boolean",
  snapshotEveryDeltas: "positive",
  snapshotsRetained: "positive",
  snapshotRetainedAgeMs: "nonNegative",
};

export const fourLetterWordNames = [
  "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
  "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
  // Maestro's own: the multi-region lease table as this node sees it (maestro leases).
  "leas",
] as const;

/** Parses "ruok, srvr" or "*" into a list; unknown words are an error. */
export function parseFourLetterWords(key: string, value: string | string[]): string[] {
  const words = (Array.isArray(value) ? value : value.split(","))
    .map((w) => w.trim())
    .filter((w) => w.length > 0);
  for (const word of words) {
    if (word !== "*" && !(fourLetterWordNames as readonly string[]).includes(word)) {
      throw new ConfigError(key, `unknown four-letter word "${word}"`);
    }
  }
  return words;
}

function checkValue(key: keyof ServerConfig, value: unknown): unknown {
  const kind = kinds[key];
  const fail = (what: string): never => {
    throw new ConfigError(key, `expected ${what}, got ${JSON.stringify(value)}`);
  };
  switch (kind) {
    case "string":
      return typeof value === "string" && value.length > 0 ? value : fail("a non-empty string");
    case "port":
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535
        ? value : fail("a port number 0..65535");
    case "positive":
      return Number.isInteger(value) && (value as number) > 0 ? value : fail("a positive integer");
    case "nonNegative":
      return Number.isInteger(value) && (value as number) >= 0 ? value : fail("a non-negative integer");
    case "boolean":
      return typeof value === "boolean" ? value : fail("true or false");
    case "words":
      return typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))
        ? parseFourLetterWords(key, value as string | string[]) : fail("a list of four-letter words");
    case "digestOrNull":
      if (value === null) return null;
      return typeof value === "string" && /^[^:]+:.+$/.test(value) ? value : fail('"user:base64digest"');
  }
}

/** Applies overrides (from a file or flags) onto a config, validating each. */
export function applyOverrides(config: ServerConfig, overrides: Record<string, unknown>): ServerConfig {
  const result: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(kinds, key)) throw new ConfigError(key, "unknown key");
    result[key] = checkValue(key as keyof ServerConfig, value);
  }
  const checked = result as unknown as ServerConfig;
  checkSessionBounds(checked);
  return checked;
}

function checkSessionBounds(config: ServerConfig): void {
  const { min, max } = sessionTimeoutBounds(config);
  if (min > max) {
    throw new ConfigError("minSessionTimeoutMs", `minimum ${min} ms exceeds maximum ${max} ms`);
  }
}

export function sessionTimeoutBounds(config: ServerConfig): { min: number; max: number } {
  const min = config.minSessionTimeoutMs > 0 ? config.minSessionTimeoutMs : 2 * config.tickTimeMs;
  const max = config.maxSessionTimeoutMs > 0 ? config.maxSessionTimeoutMs : 20 * config.tickTimeMs;
  return { min, max };
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError("config", `cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError("config", `${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError("config", `${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
