// A short real run of `npm run bench` against a Maestro process: two
// sessions for about two seconds, every operation type, then the JSON
// result's shape and counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { operationTypes } from "../../src/bench/mix.js";

// The compiled test runs from dist/test/unit.
const benchScript = fileURLToPath(new URL("../../../scripts/bench.mjs", import.meta.url));
const runTimeoutMs = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

interface Summary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

interface BenchResult {
  command: string;
  options: { sessions: number; mode: string };
  runs: Array<{
    target: string;
    operationsPerSecond: number;
    measuredMs: number;
    latency: Summary;
    byType: Record<string, Summary & { distribution: Array<{ percentile: number; ms: number }> }>;
    byRegion: Record<string, Summary>;
    perSecond: number[];
    errors: Record<string, number>;
  }>;
}

test("bench smoke: 2 sessions for 2 s against a real Maestro give a well-formed result", async () => {
  const directory = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  try {
    const output = join(directory, "result.json");
    const port = await freePort();
    const args = [benchScript, "--maestro", "--maestro-port", String(port), "--sessions", "2", "--workers", "2", "--duration-s", "2", "--warmup-s", "0.2"];
    args.push("--mix", "all", "--keys", "100", "--regions", "2", "--distribution", "normal:10", "--output", output);
    const child = spawnSync(process.execPath, args, { encoding: "utf8", timeout: runTimeoutMs });
    assert.equal(child.status, 0, `bench failed:\n${child.stdout}\n${child.stderr}`);
    assert.match(child.stdout, /p99\.9 ms/);
    const result = JSON.parse(readFileSync(output, "utf8")) as BenchResult;
    assert.ok(existsSync(output.replace(/\.json$/, ".html")));
    assert.equal(result.options.sessions, 2);
    assert.equal(result.options.mode, "closed");
    assert.equal(result.runs.length, 1);
    const [run] = result.runs;
    assert.equal(run!.target, "maestro");
    assert.deepEqual(run!.errors, {});
    assert.ok(run!.latency.count > 50, `only ${run!.latency.count} operations`);
    assert.ok(Math.abs(run!.measuredMs - 2000) < 1, `window ${run!.measuredMs}`);
    // Counts add up: per type, per region and per second each sum to the total.
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    assert.equal(sum(Object.values(run!.byType).map((summary) => summary.count)), run!.latency.count);
    assert.equal(sum(Object.values(run!.byRegion).map((summary) => summary.count)), run!.latency.count);
    assert.deepEqual(Object.keys(run!.byRegion).sort(), ["0", "1"]);
    assert.equal(sum(run!.perSecond), run!.latency.count);
    assert.ok(run!.perSecond.length >= 2 && run!.perSecond.length <= 3);
    for (const [type, summary] of Object.entries(run!.byType)) {
      assert.ok((operationTypes as readonly string[]).includes(type), type);
      assert.ok(summary.p50Ms <= summary.p90Ms && summary.p90Ms <= summary.p99Ms && summary.p99Ms <= summary.p999Ms && summary.p999Ms <= summary.maxMs, type);
      assert.equal(summary.distribution.at(-1)!.ms, summary.maxMs);
    }
    assert.ok(Object.keys(run!.byType).length >= 8, `types: ${Object.keys(run!.byType).join(" ")}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
