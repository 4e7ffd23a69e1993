#!/usr/bin/env node
// Starts a lab (dist/src/lab/lab.js) from a topology file, runs
// scripts/bench.mjs against it with region r's sessions on region r's local
// server (--target A,B,C --regions N), then stops the lab. Every argument
// after the topology goes to the bench unchanged, except that a Maestro
// cluster deployment (maestro-cluster, maestro-central) adds
// --region-subtrees when it is missing: its lease units are the bench's
// region subtrees. Run `npm run build` first.
//
//   node scripts/lab-bench.mjs bench/lab/zk-ensemble.json --duration-s 20 --sessions 24 \
//        --distribution normal:100 --output bench/results/baseline-wan-zk-ensemble.json
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { Lab } = await import(join(root, "dist", "src", "lab", "lab.js"));
const { parseLabTopology } = await import(join(root, "dist", "src", "lab", "lab-topology.js"));
const benchTimeoutMs = 600_000;

const [topologyPath, ...benchArgs] = process.argv.slice(2);
if (topologyPath === undefined) {
  process.stderr.write("usage: node scripts/lab-bench.mjs TOPOLOGY.json [bench options]\n");
  process.exit(2);
}
const topology = parseLabTopology(JSON.parse(readFileSync(topologyPath, "utf8")));
const lab = await Lab.start(topology, { readyTimeoutMs: 30_000, startAttempts: 3 });
let code = 1;
let bench;
// A signal would end Node without its 'exit' hooks; stop the bench and the lab first.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    bench?.kill("SIGKILL");
    void lab.stop().then(() => process.exit(130));
  });
}
try {
  process.stdout.write(`lab ${topology.deployment}: ${lab.servers.map((s) => `${s.region}=${s.mode}@${s.clientPort}`).join(" ")}\n`);
  for (const note of lab.notes()) process.stdout.write(`note: ${note}\n`);
  const clustered = topology.deployment === "maestro-cluster" || topology.deployment === "maestro-central";
  const layout = clustered && !benchArgs.includes("--region-subtrees") ? ["--region-subtrees"] : [];
  if (layout.length > 0) process.stdout.write("note: --region-subtrees added: the cluster's lease units are the bench's region subtrees\n");
  const args = [join(root, "scripts", "bench.mjs"), "--target", lab.clientAddresses().join(","), "--regions", String(topology.regions.length), ...layout, ...benchArgs];
  code = await new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { stdio: "inherit" });
    bench = child;
    const timer = setTimeout(() => child.kill("SIGKILL"), benchTimeoutMs);
    child.once("exit", (exitCode) => {
      clearTimeout(timer);
      resolvePromise(exitCode ?? 1);
    });
  });
} finally {
  await lab.stop();
}
process.exit(code);
