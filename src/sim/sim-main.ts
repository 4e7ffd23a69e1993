// `npm run sim -- --seeds N [--from S] [--seed S] [--ops N] [--sessions N] [--no-faults] [--no-wire] [--policy P]`:
// runs the deterministic simulator over seeds and prints each failure with
// the command that replays it. Exit 1 when any seed fails.

import { Command } from "commander";
import { runSimulation, type SimulatedPolicy, type SimulationOptions } from "./simulator.js";

const policies: readonly SimulatedPolicy[] = ["static", "consecutive", "majority-window", "majority-window-split"];

interface Flags {
  seeds: string;
  from?: string;
  seed?: string;
  ops: string;
  sessions: string;
  faults: boolean;
  wire: boolean;
  verbose?: boolean;
  trace?: string;
  policy: string;
}

function main(): void {
  const program = new Command()
    .name("sim")
    .option("--seeds <n>", "how many seeds to run", "100")
    .option("--from <seed>", "first seed (default: random)")
    .option("--seed <seed>", "run exactly this seed")
    .option("--ops <n>", "operations per session", "25")
    .option("--sessions <n>", "sessions per region", "3")
    .option("--no-faults", "no fault injection")
    .option("--no-wire", "skip the protobuf round trip of messages")
    .option("--verbose", "print stats of every seed")
    .option("--trace <text>", "print the brokers' log lines containing text (with --seed)")
    .option("--policy <name>", `migration policy of /shared and /p/* (${policies.join(", ")})`, "static")
    .parse();
  const flags = program.opts<Flags>();
  const policy = policies.find((name) => name === flags.policy);
  if (policy === undefined) program.error(`unknown policy ${flags.policy}; one of ${policies.join(", ")}`);
  const seeds = flags.seed !== undefined ? [Number(flags.seed)] : seedRange(flags);
  let failed = 0;
  const started = Date.now();
  for (const seed of seeds) {
    const options: SimulationOptions = {
      seed, sessionsPerRegion: Number(flags.sessions), opsPerSession: Number(flags.ops), faults: flags.faults, wire: flags.wire, policy,
      ...(flags.trace === undefined ? {} : { trace: { match: flags.trace, print: (line: string) => console.log(line) } }),
    };
    const result = runSimulation(options);
    if (flags.verbose === true || seeds.length === 1) console.log(`seed ${seed}: ${result.ok ? "ok" : "FAILED"} ${JSON.stringify(result.stats)}`);
    if (result.ok) continue;
    failed += 1;
    console.log(`seed ${seed} FAILED:`);
    for (const failure of result.failures) console.log(`  ${failure}`);
    const extra = `${flags.faults ? "" : " --no-faults"}${flags.wire ? "" : " --no-wire"}${policy === "static" ? "" : ` --policy ${policy}`}`;
    console.log(`  replay: npm run sim -- --seed ${seed} --ops ${flags.ops} --sessions ${flags.sessions}${extra}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${seeds.length - failed}/${seeds.length} seeds passed in ${seconds} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

function seedRange(flags: Flags): number[] {
  const count = Number(flags.seeds);
  const from = flags.from !== undefined ? Number(flags.from) : Math.floor(Math.random() * 1_000_000_000);
  return Array.from({ length: count }, (_, index) => from + index);
}

main();
