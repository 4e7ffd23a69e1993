// The lab's Maestro cluster deployments as plain data: lease roots per
// region slice, the centralized variant, the one config file whose "dial"
// entries route every broker connection through the emulator, the `leas`
// readiness check; and the bench's key-owner split (region slices, table).

import { test } from "node:test";
import assert from "node:assert/strict";
import { ownersDiffer } from "../../src/lab/lab.js";
import { expectedOwners, maestroClusterConfig, parseLabTopology, type LabLeaseRoot, type MaestroClusterNode } from "../../src/lab/lab-topology.js";
import { loadNodeConfig } from "../../src/server/cluster-config.js";
import { regionSliceOf } from "../../src/bench/distributions.js";
import { keyOwnerTable } from "../../src/bench/report.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("maestro-cluster homes one unit per bench region slice at its region; maestro-central homes them all at the root's", () => {
  const cluster = parseLabTopology({ deployment: "maestro-cluster" });
  assert.deepEqual(cluster.leaseRoots, [
    { path: "/maestro-bench/r0", home: "us-east" },
    { path: "/maestro-bench/r1", home: "eu-west" },
    { path: "/maestro-bench/r2", home: "ap-south" },
  ]);
  const central = parseLabTopology({ deployment: "maestro-central", leaseRoots: [{ path: "/x/r1", home: "eu-west" }] });
  assert.deepEqual(central.leaseRoots, [{ path: "/x/r1", home: "us-east" }]);
  assert.deepEqual([...expectedOwners(central)], [["/", "us-east"], ["/x/r1", "us-east"]]);
  assert.throws(() => parseLabTopology({ deployment: "zk-ensemble", leaseRoots: [] }), /maestro-cluster/);
  assert.throws(() => parseLabTopology({ deployment: "maestro-cluster", leaseRoots: [{ path: "/a", home: "mars" }] }), /home must be one of/);
  assert.throws(() => parseLabTopology({ deployment: "maestro-cluster", cluster: { root: "x" } }), /set by the lab/);
});

test("the cluster config sends each node's broker connection to each peer through that direction's proxy", () => {
  const topology = parseLabTopology({ deployment: "maestro-cluster", regions: ["a", "b"], cluster: { leaseTermMs: 6000 } });
  const nodes: MaestroClusterNode[] = [
    { id: "a-1", region: "a", clientPort: 1001, brokerPort: 1002 },
    { id: "b-1", region: "b", clientPort: 2001, brokerPort: 2002 },
  ];
  const config = maestroClusterConfig(nodes, (from, to) => (from.id === "a-1" && to.id === "b-1" ? 9012 : 9021), {
    leaseRoots: topology.leaseRoots,
    secret: "s".repeat(32),
    clusterSettings: topology.clusterSettings,
  });
  const path = join(mkdtempSync(join(tmpdir(), "lab-cluster-")), "cluster.json");
  writeFileSync(path, JSON.stringify(config));
  const nodeA = loadNodeConfig(path, { node: "a-1", overrides: {} });
  assert.equal(nodeA.server.port, 1001);
  assert.deepEqual(nodeA.server.fourLetterWords, ["*"]);
  assert.ok(nodeA.cluster !== null);
  assert.equal(nodeA.cluster.settings.rootNodeId, "a-1");
  assert.equal(nodeA.cluster.settings.leaseTermMs, 6000);
  assert.deepEqual(nodeA.cluster.settings.dialAddresses, { "b-1": { host: "127.0.0.1", port: 9012 } });
  const nodeB = loadNodeConfig(path, { node: "b-1", overrides: {} });
  assert.deepEqual(nodeB.cluster?.settings.dialAddresses, { "a-1": { host: "127.0.0.1", port: 9021 } });
  assert.deepEqual(
    nodeB.cluster?.settings.leaseRoots.map((rule) => [rule.pattern, rule.home]),
    [["/maestro-bench/r0", "a"], ["/maestro-bench/r1", "b"]],
  );
});

test("a lab lease root's policy and durability reach the nodes' config unchanged, and the node checks them", () => {
  const policy = { name: "majority-window", share: 0.6, windowMs: 4000, holdMs: 2000 };
  const topology = parseLabTopology({
    deployment: "maestro-cluster",
    regions: ["a", "b"],
    leaseRoots: [{ path: "/hot", home: "b", policy, durability: "global" }],
  });
  assert.deepEqual(topology.leaseRoots, [{ path: "/hot", home: "b", policy, durability: "global" }]);
  const nodes: MaestroClusterNode[] = [
    { id: "a-1", region: "a", clientPort: 1001, brokerPort: 1002 },
    { id: "b-1", region: "b", clientPort: 2001, brokerPort: 2002 },
  ];
  const write = (leaseRoots: LabLeaseRoot[]): string => {
    const path = join(mkdtempSync(join(tmpdir(), "lab-cluster-")), "cluster.json");
    writeFileSync(path, JSON.stringify(maestroClusterConfig(nodes, () => 9000, { leaseRoots, secret: "s".repeat(32) })));
    return path;
  };
  const rule = loadNodeConfig(write(topology.leaseRoots), { node: "a-1", overrides: {} }).cluster?.settings.leaseRoots[0];
  assert.deepEqual(rule, { pattern: "/hot", home: "b", durability: "global", policy });
  const bad = [{ path: "/hot", home: "b", policy: { name: "majority-window", share: 0.4 } }];
  assert.throws(() => loadNodeConfig(write(bad), { node: "a-1", overrides: {} }), /leaseRoots\[0\]\.policy\.share/);
});

test("leas readiness: every expected unit at its owner, held (not lapsed) there", () => {
  const owners = new Map([["/", "a"], ["/u", "b"]]);
  const reply = (state: string) =>
    JSON.stringify({ region: "b", node: "b-1", root: false, units: [{ unit: "/", owner: "a", state: "remote" }, { unit: "/u", owner: "b", state }] });
  assert.equal(ownersDiffer(reply("owned"), "b", owners), null);
  assert.match(ownersDiffer(reply("lapsed"), "b", owners) ?? "", /lapsed at its owner/);
  assert.match(ownersDiffer(reply("owned"), "b", new Map([["/v", "b"]])) ?? "", /not listed/);
  assert.match(ownersDiffer("This ZooKeeper instance is not multi-region", "b", owners) ?? "", /not JSON/);
});

test("a key's region slice is the one whose normal draws centre on it; the split table lists local and remote keys", () => {
  const space = { keyCount: 1000, regionCount: 3 };
  assert.deepEqual([0, 333, 334, 666, 667, 999].map((key) => regionSliceOf(key, space)), [0, 0, 1, 1, 2, 2]);
  const summary = { count: 2, p50Ms: 1, p90Ms: 2, p99Ms: 3, p999Ms: 4, maxMs: 5 };
  const run = { label: "x", target: "t", operationsPerSecond: 1, latency: summary, byType: {}, perSecond: [] };
  assert.equal(keyOwnerTable([run]), null);
  const table = keyOwnerTable([{ ...run, byRegionKeyOwner: { "0": { setData: { local: summary, remote: summary } }, "1": { setData: { local: summary } } } }]);
  assert.match(table ?? "", /x\s+0\s+setData\s+local\s+2/);
  assert.match(table ?? "", /x\s+0\s+setData\s+remote\s+2/);
  assert.equal((table ?? "").split("\n").length, 4);
});
