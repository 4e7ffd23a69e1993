// kazoo's own test suite (Debian's python3-kazoo) against a real Maestro
// process: the client, watchers, lock, election, barrier, queue, counter and
// party tests. compat-tests/kazoo/run.sh starts the server, runs pytest with
// our external-server plugin and prints a KAZOO-COMPAT summary line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const suites = [
  "test_client.py",
  "test_watchers.py",
  "test_lock.py",
  "test_election.py",
  "test_barrier.py",
  "test_queue.py",
  "test_counter.py",
  "test_party.py",
];

// Reconfig on a standalone server with reconfig off answers ReconfigDisabled
// (-123), as Apache ZooKeeper does; kazoo 2.8 does not know that code, its
// connection thread dies and both tests hang until their timeout, on
// ZooKeeper exactly as on Maestro. They test quorum reconfiguration.
const deselected = "not TestReconfig";

test("kazoo's client, watchers, lock, election, barrier, queue, counter and party tests pass", { timeout: 900_000 }, () => {
  const install = spawnSync("bash", [join(root, "scripts", "install-test-deps.sh")], { stdio: "inherit" });
  assert.equal(install.status, 0, "scripts/install-test-deps.sh failed");
  const run = spawnSync("bash", [join(root, "compat-tests", "kazoo", "run.sh"), "--maestro", ...suites, "-k", deselected, "-q"], {
    cwd: root,
    encoding: "utf8",
    // Our own output folder: run.sh waits for "serving on" in it, so it must not be shared.
    env: { ...process.env, KAZOO_SERVER_PORT: "2393", KAZOO_TOTAL_TIMEOUT_S: "800", KAZOO_OUT_DIR: mkdtempSync(join(tmpdir(), "maestro-kazoo-")) },
    maxBuffer: 64 * 1024 * 1024,
  });
  const summary = (run.stdout ?? "").split("\n").filter((line) => line.startsWith("KAZOO-COMPAT ")).pop();
  assert.ok(summary !== undefined, `no KAZOO-COMPAT summary; stderr: ${(run.stderr ?? "").slice(-2000)}`);
  const count = (key: string): number => Number(new RegExp(`\\b${key}=(\\d+)`).exec(summary)?.[1] ?? NaN);
  const failures = (run.stdout ?? "").split("\n").filter((line) => /^(FAILED|ERROR) /.test(line));
  assert.equal(count("failed") + count("errors"), 0, `kazoo failures:\n${failures.join("\n")}\n${summary}`);
  assert.ok(count("passed") >= 180, `too few kazoo tests passed: ${summary}`);
  assert.equal(run.status, 0, summary);
});
