// The deterministic simulator as part of the test suite: a few hundred
// seeds with faults swarmed from each seed (src/sim/simulator.ts lists the
// faults and the checks). MAESTRO_SIM_SEEDS=N runs more; MAESTRO_SIM_FROM=S
// moves the window. A failure names the seed and the command that replays it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../src/sim/simulator.js";

const seeds = Number(process.env["MAESTRO_SIM_SEEDS"] ?? 300);
const from = Number(process.env["MAESTRO_SIM_FROM"] ?? 1);

test(`the simulator's checks hold for seeds ${from}..${from + seeds - 1}`, () => {
  const failures: string[] = [];
  for (let seed = from; seed < from + seeds && failures.length < 3; seed++) {
    const result = runSimulation({ seed, sessionsPerRegion: 3, opsPerSession: 25, faults: true, wire: true });
    if (result.ok) continue;
    failures.push(`seed ${seed}:\n  ${result.failures.join("\n  ")}\n  replay: npm run sim -- --seed ${seed} --ops 25 --sessions 3`);
  }
  assert.deepEqual(failures, []);
});

const policySeeds = Number(process.env["MAESTRO_SIM_POLICY_SEEDS"] ?? 80);

for (const policy of ["consecutive", "majority-window", "majority-window-split"] as const) {
  test(`under the ${policy} policy the checks hold for seeds 1..${policySeeds}, and the policy acts`, () => {
    const failures: string[] = [];
    let moves = 0;
    for (let seed = 1; seed <= policySeeds && failures.length < 3; seed++) {
      const result = runSimulation({ seed, sessionsPerRegion: 3, opsPerSession: 25, faults: true, wire: true, policy });
      moves += Number(result.stats["policyActions"] ?? 0);
      if (result.ok) continue;
      failures.push(`seed ${seed}:\n  ${result.failures.join("\n  ")}\n  replay: npm run sim -- --seed ${seed} --ops 25 --sessions 3 --policy ${policy}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(moves > 0, `the ${policy} policy moved or split something in ${policySeeds} seeds`);
  });
}

test("a fault-free run converges and keeps every check (a guard against a simulator that checks nothing)", () => {
  const result = runSimulation({ seed: 7, sessionsPerRegion: 3, opsPerSession: 25, faults: false, wire: true });
  assert.equal(result.ok, true, result.failures.join("\n"));
  assert.ok(Number(result.stats["historyOps"]) >= 200, "the clients issued their operations");
  assert.ok(Number(result.stats["writes"]) > 50, "writes were made");
});
