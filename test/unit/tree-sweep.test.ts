import { test } from "node:test";
import assert from "node:assert/strict";
import { expiredContainersAndTtls, type SweepOptions } from "../../src/tree/sweep.js";
import { Harness, create } from "./tree-support.js";

const releases: SweepOptions = { containerNeverUsedMs: 0n };

function containerHarness(): Harness {
  const harness = new Harness();
  harness.timeMs = 1000n;
  harness.ok(create("/c", { kind: "createContainer", flags: 4 }));
  return harness;
}

test("sweep: a container with no children and stored cversion > 0 is deleted", () => {
  const harness = containerHarness();
  harness.ok(create("/c/x"));
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 1000n, releases), []);
  harness.ok({ op: "delete", path: "/c/x", version: -1 });
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 1000n, releases), ["/c"]);
});

test("sweep: a container that never had a child is kept when containerNeverUsedMs is 0", () => {
  assert.deepEqual(expiredContainersAndTtls(containerHarness().tree, 10n ** 12n, releases), []);
});

test("sweep: a never-used container is deleted once now - mtime exceeds containerNeverUsedMs", () => {
  const { tree } = containerHarness();
  const options: SweepOptions = { containerNeverUsedMs: 300_000n };
  assert.deepEqual(expiredContainersAndTtls(tree, 301_000n, options), []);
  assert.deepEqual(expiredContainersAndTtls(tree, 301_001n, options), ["/c"]);
});

test("sweep: a container with children is kept", () => {
  const harness = containerHarness();
  harness.ok(create("/c/x"));
  harness.ok(create("/c/y"));
  harness.ok({ op: "delete", path: "/c/x", version: -1 });
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 10n ** 12n, { containerNeverUsedMs: 1n }), []);
});

test("sweep: a TTL node with no children is deleted once now - mtime > ttl", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 500n }), { timeMs: 2000n });
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 2500n, releases), []);
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 2501n, releases), ["/t"]);
});

test("sweep: setData renews a TTL node (mtime moves)", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 500n }), { timeMs: 2000n });
  harness.ok({ op: "setData", path: "/t", data: null, version: -1 }, { timeMs: 2400n });
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 2600n, releases), []);
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 2901n, releases), ["/t"]);
});

test("sweep: a TTL node with children is kept", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 1n }), { timeMs: 0n });
  harness.ok(create("/t/x"));
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 10n ** 9n, releases), []);
});

test("sweep: containers come before TTL nodes, and at most pathsMax paths are returned", () => {
  const harness = new Harness();
  harness.ok(create("/t", { kind: "createTTL", flags: 5, ttl: 1n }), { timeMs: 0n });
  for (const name of ["c1", "c2"]) {
    harness.ok(create(`/${name}`, { kind: "createContainer", flags: 4 }));
    harness.ok(create(`/${name}/x`));
    harness.ok({ op: "delete", path: `/${name}/x`, version: -1 });
  }
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 10n ** 9n, releases), ["/c1", "/c2", "/t"]);
  assert.deepEqual(expiredContainersAndTtls(harness.tree, 10n ** 9n, { ...releases, pathsMax: 2 }), ["/c1", "/c2"]);
});
