#!/usr/bin/env node
// `npm run lab -- --topology FILE [--deployment D] [--duration-s S]`: starts
// the WAN emulator and the servers of the topology, prints one JSON line
// once ready (each region's client address, the servers' modes, the
// emulator's proxies), and runs until SIGINT/SIGTERM or --duration-s, then
// stops everything and prints {"event":"stopped"}.

import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { Lab } from "./lab.js";
import { parseLabTopology } from "./lab-topology.js";

interface Flags {
  topology?: string;
  deployment?: string;
  durationS?: number;
  readyTimeoutS: number;
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
}

async function main(): Promise<void> {
  const program = new Command("lab")
    .option("--topology <file>", "topology JSON (see src/lab/lab-topology.ts)")
    .option("--deployment <kind>", "maestro | maestro-cluster | maestro-central | zk-ensemble | zk-observers (overrides the file)")
    .option("--duration-s <s>", "stop after this many seconds (default: until a signal)", positiveInteger)
    .option("--ready-timeout-s <s>", "bound on start-up", positiveInteger, 90)
    .parse();
  const flags = program.opts<Flags>();
  const file: unknown = flags.topology === undefined ? {} : JSON.parse(readFileSync(flags.topology, "utf8"));
  const raw = { ...(file as Record<string, unknown>) };
  if (flags.deployment !== undefined) raw.deployment = flags.deployment;
  const topology = parseLabTopology(raw);
  const lab = await Lab.start(topology, { readyTimeoutMs: flags.readyTimeoutS * 1000 });
  const regions = topology.regions.map((region, index) => ({ region, client: lab.clientAddresses()[index] }));
  const servers = lab.servers.map(({ region, kind, id, node, clientPort, mode, logPath }) => ({ region, kind, id, ...(node === undefined ? {} : { node }), clientPort, mode, logPath }));
  process.stdout.write(
    `${JSON.stringify({ event: "ready", deployment: topology.deployment, regions, target: lab.clientAddresses().join(","), servers, notes: lab.notes(), proxies: lab.emulator.proxies() })}\n`,
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await lab.stop();
    process.stdout.write(`${JSON.stringify({ event: "stopped" })}\n`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  if (flags.durationS !== undefined) setTimeout(() => void stop(), flags.durationS * 1000);
}

main().catch((error: unknown) => {
  process.stderr.write(`lab: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
