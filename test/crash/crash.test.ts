// SIGKILL crash cycles (see crash-cycles.ts). CI runs 50; `npm run test:crash`
// runs 500. MAESTRO_CRASH_SEED replays a run.

import { test } from "node:test";
import { runCrashCycles } from "./crash-cycles.js";

const cycles = Number(process.env["MAESTRO_CRASH_CYCLES"] ?? 50);
const seed = Number(process.env["MAESTRO_CRASH_SEED"] ?? Date.now() % 1_000_000);

test(`after each of ${cycles} SIGKILLs every acknowledged write is present and nothing is half-applied (seed ${seed})`, { timeout: cycles * 10_000 + 60_000 }, async () => {
  const verbose = process.env["MAESTRO_CRASH_VERBOSE"] === "1";
  const totals = await runCrashCycles({ cycles, seed, log: verbose ? (line) => console.log(line) : undefined });
  console.log(`crash cycles: ${cycles}, seed ${seed}, operations issued ${totals.operations}, acknowledged ${totals.acknowledged}`);
});
