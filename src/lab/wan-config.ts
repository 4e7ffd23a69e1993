// The emulator's configuration file (JSON) and command-line flags, turned
// into WanEmulatorOptions. Parsing only: no files, no sockets.
//
// {
//   "regions": ["us-east", "eu-west", "ap-south"],   // default: these three
//   "seed": 1, "jitterMs": 2,                         // uniform +-jitterMs per chunk
//   "roundTripMs": { "us-east": { "eu-west": 70 } },  // default: defaultRegionRoundTripMs
//   "latency": [{ "a": "us-east", "b": "eu-west", "oneWayMs": 40, "jitterMs": 5, "oneWay": false }],
//   "bandwidth": [{ "a": "us-east", "b": "ap-south", "bytesPerSecond": 1000000 }],
//   "links": [{ "from": "us-east", "to": "eu-west", "targetPort": 2181, "listenPort": 0, "targetHost": "127.0.0.1" }],
//   "controlPort": 0
// }

import { WanError } from "./wan-model.js";
import type { WanBandwidthOptions, WanEmulatorOptions, WanLatencyOptions, WanLinkOptions } from "./wan-emulator.js";

type Json = Record<string, unknown>;

export function parseWanConfig(value: unknown): WanEmulatorOptions {
  const config = object(value, "the configuration");
  const known = new Set(["regions", "seed", "jitterMs", "roundTripMs", "latency", "bandwidth", "links", "controlPort"]);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw configError(`unknown setting: ${key}`);
  }
  const options: WanEmulatorOptions = {};
  if (config.regions !== undefined) options.regions = array(config.regions, "regions").map((item) => string(item, "a region"));
  if (config.seed !== undefined) options.seed = number(config.seed, "seed");
  if (config.jitterMs !== undefined) options.jitterMs = number(config.jitterMs, "jitterMs");
  if (config.controlPort !== undefined) options.controlPort = number(config.controlPort, "controlPort");
  if (config.roundTripMs !== undefined) options.roundTripMs = roundTrips(config.roundTripMs);
  if (config.latency !== undefined) options.latency = array(config.latency, "latency").map(latency);
  if (config.bandwidth !== undefined) options.bandwidth = array(config.bandwidth, "bandwidth").map(bandwidth);
  if (config.links !== undefined) options.links = array(config.links, "links").map(link);
  return options;
}

/** `FROM:TO:TARGET_PORT[:LISTEN_PORT]`, target on 127.0.0.1. */
export function parseLinkFlag(text: string): WanLinkOptions {
  const [from, to, targetPort, listenPort, ...rest] = text.split(":");
  if (from === undefined || to === undefined || targetPort === undefined || rest.length > 0) {
    throw configError(`--link wants FROM:TO:TARGET_PORT[:LISTEN_PORT], not ${text}`);
  }
  return { from, to, targetPort: portText(targetPort), ...(listenPort === undefined ? {} : { listenPort: portText(listenPort) }) };
}

/** `A:B:ONE_WAY_MS` (both directions). */
export function parseLatencyFlag(text: string): WanLatencyOptions {
  const [a, b, ms, ...rest] = text.split(":");
  if (a === undefined || b === undefined || ms === undefined || rest.length > 0 || !/^\d+(\.\d+)?$/.test(ms)) {
    throw configError(`--latency wants A:B:ONE_WAY_MS, not ${text}`);
  }
  return { a, b, oneWayMs: Number(ms) };
}

/** `A:B:BYTES_PER_SECOND` (both directions). */
export function parseBandwidthFlag(text: string): WanBandwidthOptions {
  const [a, b, rate, ...rest] = text.split(":");
  if (a === undefined || b === undefined || rate === undefined || rest.length > 0 || !/^\d+$/.test(rate)) {
    throw configError(`--bandwidth wants A:B:BYTES_PER_SECOND, not ${text}`);
  }
  return { a, b, bytesPerSecond: Number(rate) };
}

function roundTrips(value: unknown): Record<string, Record<string, number>> {
  const result: Record<string, Record<string, number>> = {};
  for (const [a, row] of Object.entries(object(value, "roundTripMs"))) {
    result[a] = {};
    for (const [b, ms] of Object.entries(object(row, `roundTripMs.${a}`))) result[a][b] = number(ms, `roundTripMs.${a}.${b}`);
  }
  return result;
}

function latency(value: unknown): WanLatencyOptions {
  const entry = object(value, "a latency entry");
  return {
    a: string(entry.a, "latency a"),
    b: string(entry.b, "latency b"),
    oneWayMs: number(entry.oneWayMs, "latency oneWayMs"),
    ...(entry.jitterMs === undefined ? {} : { jitterMs: number(entry.jitterMs, "latency jitterMs") }),
    ...(entry.oneWay === undefined ? {} : { oneWay: boolean(entry.oneWay, "latency oneWay") }),
  };
}

function bandwidth(value: unknown): WanBandwidthOptions {
  const entry = object(value, "a bandwidth entry");
  return {
    a: string(entry.a, "bandwidth a"),
    b: string(entry.b, "bandwidth b"),
    bytesPerSecond: number(entry.bytesPerSecond, "bandwidth bytesPerSecond"),
    ...(entry.oneWay === undefined ? {} : { oneWay: boolean(entry.oneWay, "bandwidth oneWay") }),
  };
}

function link(value: unknown): WanLinkOptions {
  const entry = object(value, "a link");
  return {
    from: string(entry.from, "link from"),
    to: string(entry.to, "link to"),
    targetPort: number(entry.targetPort, "link targetPort"),
    ...(entry.targetHost === undefined ? {} : { targetHost: string(entry.targetHost, "link targetHost") }),
    ...(entry.listenPort === undefined ? {} : { listenPort: number(entry.listenPort, "link listenPort") }),
  };
}

function portText(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw configError(`bad port: ${text}`);
  return Number(text);
}

function object(value: unknown, name: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw configError(`${name} must be an object`);
  return value as Json;
}

function array(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw configError(`${name} must be an array`);
  return value as unknown[];
}

function string(value: unknown, name: string): string {
  if (typeof value !== "string") throw configError(`${name} must be a string`);
  return value;
}

function number(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw configError(`${name} must be a number`);
  return value;
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw configError(`${name} must be true or false`);
  return value;
}

function configError(message: string): WanError {
  return new WanError("ERR_WAN_CONFIG", message);
}
