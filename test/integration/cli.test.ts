// The `maestro` command: flags, the config file, and refusals at start-up.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maestroMain } from "../support/server-process.js";

function runMaestro(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [maestroMain, ...args], { encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stderr: result.stderr };
}

function configFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "maestro-cli-"));
  const path = join(dir, "maestro.json");
  writeFileSync(path, content);
  return path;
}

test("a config file with an unknown key stops start-up naming the key", () => {
  const result = runMaestro(["start", "--config", configFile('{"port": 2999, "tickTyme": 100}')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /tickTyme: unknown key/);
});

test("a config file with a bad value stops start-up naming the key", () => {
  const result = runMaestro(["start", "--config", configFile('{"tickTimeMs": -5}')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /tickTimeMs: expected a positive integer/);
});

test("a config file that is not JSON is refused with its path", () => {
  const path = configFile("port = 2181");
  const result = runMaestro(["start", "--config", path]);
  assert.equal(result.status, 2);
  assert.ok(result.stderr.includes(path), result.stderr);
});

test("an unknown four-letter word in the whitelist is refused", () => {
  const result = runMaestro(["start", "--four-letter-words", "ruok,nope"]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown four-letter word "nope"/);
});

test("a minimum session timeout above the maximum is refused", () => {
  const result = runMaestro(["start", "--min-session-timeout", "9000", "--max-session-timeout", "1000"]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /minSessionTimeoutMs/);
});

test("a non-numeric port flag is refused by the command line", () => {
  const result = runMaestro(["start", "--port", "abc"]);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /--port must be a non-negative integer/);
});
