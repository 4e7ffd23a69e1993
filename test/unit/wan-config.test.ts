// The emulator's configuration file and flags, and the CLI's life cycle:
// it prints its ports once ready and stops on SIGTERM.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseBandwidthFlag, parseLatencyFlag, parseLinkFlag, parseWanConfig } from "../../src/lab/wan-config.js";
import { WanError } from "../../src/lab/wan-model.js";

function errorCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof WanError);
    return error.code;
  }
  return "no error";
}

describe("WAN configuration", () => {
  it("reads a configuration file's settings", () => {
    const options = parseWanConfig({
      regions: ["a", "b"],
      seed: 3,
      jitterMs: 2,
      roundTripMs: { a: { b: 50 } },
      latency: [{ a: "a", b: "b", oneWayMs: 10, oneWay: true }],
      bandwidth: [{ a: "a", b: "b", bytesPerSecond: 1000 }],
      links: [{ from: "a", to: "b", targetPort: 2181, listenPort: 12181 }],
      controlPort: 0,
    });
    assert.deepEqual(options, {
      regions: ["a", "b"],
      seed: 3,
      jitterMs: 2,
      roundTripMs: { a: { b: 50 } },
      latency: [{ a: "a", b: "b", oneWayMs: 10, oneWay: true }],
      bandwidth: [{ a: "a", b: "b", bytesPerSecond: 1000 }],
      links: [{ from: "a", to: "b", targetPort: 2181, listenPort: 12181 }],
      controlPort: 0,
    });
  });

  it("refuses unknown settings and wrong types", () => {
    assert.equal(errorCode(() => parseWanConfig({ region: ["a"] })), "ERR_WAN_CONFIG");
    assert.equal(errorCode(() => parseWanConfig({ links: [{ from: "a", to: "b", targetPort: "2181" }] })), "ERR_WAN_CONFIG");
    assert.equal(errorCode(() => parseWanConfig([])), "ERR_WAN_CONFIG");
  });

  it("parses link, latency and bandwidth flags", () => {
    assert.deepEqual(parseLinkFlag("us-east:eu-west:2181"), { from: "us-east", to: "eu-west", targetPort: 2181 });
    assert.deepEqual(parseLinkFlag("a:b:2181:3000"), { from: "a", to: "b", targetPort: 2181, listenPort: 3000 });
    assert.deepEqual(parseLatencyFlag("a:b:12.5"), { a: "a", b: "b", oneWayMs: 12.5 });
    assert.deepEqual(parseBandwidthFlag("a:b:1000"), { a: "a", b: "b", bytesPerSecond: 1000 });
    assert.equal(errorCode(() => parseLinkFlag("a:b")), "ERR_WAN_CONFIG");
    assert.equal(errorCode(() => parseLatencyFlag("a:b:fast")), "ERR_WAN_CONFIG");
  });
});

describe("WAN CLI", () => {
  it("prints its proxies once ready and stops on SIGTERM", { timeout: 8000 }, async () => {
    const main = fileURLToPath(new URL("../../src/lab/wan-main.js", import.meta.url));
    const child = spawn(process.execPath, [main, "--region", "a", "--region", "b", "--latency", "a:b:5", "--link", "a:b:9"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${output}`)), 4000);
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("\n")) {
          clearTimeout(timer);
          resolve(output.split("\n")[0] ?? "");
        }
      });
    });
    const state = JSON.parse(ready) as { event: string; proxies: Array<{ from: string; to: string; port: number }> };
    assert.equal(state.event, "ready");
    assert.equal(state.proxies[0]?.from, "a");
    assert.ok((state.proxies[0]?.port ?? 0) > 0);
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 4000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.match(output, /"event":"stopped"/);
  });
});
