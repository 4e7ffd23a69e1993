#!/usr/bin/env node
// `npm run wan -- --config FILE` or flags: runs the WAN emulator until
// SIGINT or SIGTERM. Prints one JSON line once ready (the proxies' ports
// and the control API's address), then one line when stopped.

import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { WanEmulator, type WanEmulatorOptions } from "./wan-emulator.js";
import { parseBandwidthFlag, parseLatencyFlag, parseLinkFlag, parseWanConfig } from "./wan-config.js";
import { WanError } from "./wan-model.js";

interface Flags {
  config?: string;
  region: string[];
  link: string[];
  latency: string[];
  bandwidth: string[];
  jitterMs?: number;
  seed?: number;
  controlPort?: number;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(value);
  };
}

/** Flags add to (or override) what the configuration file says. */
function optionsFrom(flags: Flags): WanEmulatorOptions {
  const options = flags.config === undefined ? {} : parseWanConfig(JSON.parse(readFileSync(flags.config, "utf8")));
  if (flags.region.length > 0) options.regions = flags.region;
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.jitterMs !== undefined) options.jitterMs = flags.jitterMs;
  options.latency = [...(options.latency ?? []), ...flags.latency.map(parseLatencyFlag)];
  options.bandwidth = [...(options.bandwidth ?? []), ...flags.bandwidth.map(parseBandwidthFlag)];
  options.links = [...(options.links ?? []), ...flags.link.map(parseLinkFlag)];
  options.controlPort = flags.controlPort ?? options.controlPort ?? 0;
  return options;
}

async function run(flags: Flags): Promise<void> {
  // The signal handlers come first, so a signal during start-up still
  // stops whatever has started.
  let stopSignal: string | undefined;
  const running: { emulator?: WanEmulator } = {};
  const stop = (signal: string): void => {
    stopSignal ??= signal;
    void running.emulator?.close().then(() => {
      process.stdout.write(`${JSON.stringify({ event: "stopped", signal })}\n`);
      process.exitCode = 0;
    });
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  const emulator = await WanEmulator.start(optionsFrom(flags));
  running.emulator = emulator;
  const state = emulator.state();
  process.stdout.write(`${JSON.stringify({ event: "ready", control: state.control, proxies: state.proxies, links: state.links })}\n`);
  if (stopSignal !== undefined) stop(stopSignal);
}

const program = new Command()
  .name("wan")
  .description("WAN emulator: loopback TCP proxies between regions with latency, jitter, bandwidth caps and partitions")
  .option("--config <file>", "JSON configuration (see src/lab/wan-config.ts)")
  .option("--region <name>", "a region (repeat); default us-east, eu-west, ap-south", collect, [])
  .option("--link <from:to:targetPort[:listenPort]>", "a proxy for clients in FROM to a server in TO (repeat)", collect, [])
  .option("--latency <a:b:oneWayMs>", "one-way latency between two regions, both directions (repeat)", collect, [])
  .option("--bandwidth <a:b:bytesPerSecond>", "bandwidth cap between two regions, each direction (repeat)", collect, [])
  .option("--jitter-ms <ms>", "uniform jitter +-ms on every pair", integer("--jitter-ms"))
  .option("--seed <n>", "jitter seed", integer("--seed"))
  .option("--control-port <port>", "HTTP control API port on 127.0.0.1 (default: a free one)", integer("--control-port"))
  .action(async (flags: Flags) => {
    try {
      await run(flags);
    } catch (error) {
      const code = error instanceof WanError ? ` (${error.code})` : "";
      process.stderr.write(`wan: ${error instanceof Error ? error.message : String(error)}${code}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
