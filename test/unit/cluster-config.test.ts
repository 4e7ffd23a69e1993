// The "cluster" key of the configuration file: what a valid three-region
// deployment turns into, the defaults, and one rejection per rule, each
// naming the key an operator has to fix.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterServerOverrides, loadNodeConfig, parseClusterConfig } from "../../src/server/cluster-config.js";
import { ConfigError, defaultConfig } from "../../src/server/config.js";
import type { BrokerSettings } from "../../src/broker/settings.js";

const secret = "sixteen-chars-or-more";

/** Three regions of one node each; tests change one thing in a fresh copy. */
function threeRegions(): Record<string, unknown> & { regions: Array<{ name: string; nodes: Array<Record<string, string>> }> } {
  return {
    node: "us-east-1",
    root: "us-east-1",
    secret,
    regions: [
      { name: "us-east", nodes: [{ id: "us-east-1", client: "127.0.0.1:2181", broker: "127.0.0.1:2888" }] },
      { name: "eu-west", nodes: [{ id: "eu-west-1", client: "127.0.0.1:2182", broker: "127.0.0.1:2889" }] },
      { name: "ap-south", nodes: [{ id: "ap-south-1", client: "127.0.0.1:2183", broker: "127.0.0.1:2890" }] },
    ],
    leaseRoots: [
      { path: "/app/*", home: "eu-west", durability: "global", policy: { name: "consecutive", count: 5 } },
      { path: "/app/orders", policy: { name: "majority-window", share: 0.75, windowMs: 20000, holdMs: 1000 } },
      { path: "/locks", policy: "static" },
    ],
    leaseTermMs: 8000,
    renewIntervalMs: 1000,
    clockDriftMax: 0.02,
  };
}

function parse(raw: unknown, nodeId?: string): BrokerSettings {
  return parseClusterConfig(raw, nodeId, tmpdir()).settings;
}

/** The key of the ConfigError `run` throws. */
function errorKey(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.key;
  }
  return "no error";
}

function keyFor(change: (cluster: ReturnType<typeof threeRegions>) => void, nodeId?: string): string {
  const cluster = threeRegions();
  change(cluster);
  return errorKey(() => parse(cluster, nodeId));
}

function region(cluster: ReturnType<typeof threeRegions>, index: number): { name: string; nodes: Array<Record<string, string>> } {
  const found = cluster.regions[index];
  assert.ok(found !== undefined);
  return found;
}

function node(cluster: ReturnType<typeof threeRegions>, regionIndex: number): Record<string, string> {
  const found = region(cluster, regionIndex).nodes[0];
  assert.ok(found !== undefined);
  return found;
}

describe("cluster configuration", () => {
  it("turns a valid three-region configuration into the broker's settings", () => {
    const { settings, secret: bytes } = parseClusterConfig(threeRegions(), undefined, tmpdir());
    assert.deepEqual(settings, {
      nodeId: "us-east-1",
      region: "us-east",
      rootNodeId: "us-east-1",
      rootRegion: "us-east",
      regions: ["us-east", "eu-west", "ap-south"],
      nodes: [
        { id: "us-east-1", region: "us-east", clientHost: "127.0.0.1", clientPort: 2181, brokerHost: "127.0.0.1", brokerPort: 2888 },
        { id: "eu-west-1", region: "eu-west", clientHost: "127.0.0.1", clientPort: 2182, brokerHost: "127.0.0.1", brokerPort: 2889 },
        { id: "ap-south-1", region: "ap-south", clientHost: "127.0.0.1", clientPort: 2183, brokerHost: "127.0.0.1", brokerPort: 2890 },
      ],
      leaseRoots: [
        { pattern: "/app/*", home: "eu-west", durability: "global", policy: { name: "consecutive", count: 5 } },
        { pattern: "/app/orders", home: null, durability: "region", policy: { name: "majority-window", share: 0.75, windowMs: 20000, holdMs: 1000 } },
        { pattern: "/locks", home: null, durability: "region", policy: { name: "static" } },
      ],
      leaseTermMs: 8000,
      renewIntervalMs: 1000,
      clockDriftMax: 0.02,
      forwardTimeoutMs: 10_000,
      ownerUnreachableMs: 10_000,
      streamBatchDeltasMax: 256,
      streamRetainedDeltasMax: 200_000,
      forwardsInFlightMax: 10_000,
      dialAddresses: {},
      messageBytesMax: 8 * 1024 * 1024,
    } satisfies BrokerSettings);
    assert.deepEqual(bytes, Buffer.from(secret));
  });

  it("fills every optional key with its default", () => {
    const settings = parse({
      root: "solo",
      secret,
      regions: [{ name: "only", nodes: [{ id: "solo", client: "localhost:2181", broker: "localhost:2888" }] }],
    }, "solo");
    assert.deepEqual(settings.leaseRoots, []);
    assert.equal(settings.leaseTermMs, 10_000);
    assert.equal(settings.renewIntervalMs, 2_000);
    assert.equal(settings.clockDriftMax, 0.01);
    assert.equal(settings.forwardTimeoutMs, 10_000);
    assert.equal(settings.ownerUnreachableMs, 10_000);
    assert.equal(settings.streamBatchDeltasMax, 256);
    assert.equal(settings.streamRetainedDeltasMax, 200_000);
    assert.equal(settings.messageBytesMax, 8 * 1024 * 1024);
    assert.deepEqual(settings.dialAddresses, {});
    assert.equal(settings.forwardsInFlightMax, 10_000);
    const rule = parse({ ...threeRegions(), leaseRoots: [{ path: "/a" }] }).leaseRoots[0];
    assert.deepEqual(rule, { pattern: "/a", home: null, durability: "region", policy: { name: "static" } });
  });

  it("fills a policy's missing parameters with their defaults", () => {
    const rules = parse({
      ...threeRegions(),
      leaseRoots: [{ path: "/a", policy: { name: "consecutive" } }, { path: "/b", policy: { name: "majority-window" } }],
    }).leaseRoots;
    assert.deepEqual(rules.map((rule) => rule.policy), [
      { name: "consecutive", count: 3 },
      { name: "majority-window", share: 0.6, windowMs: 10_000, holdMs: 5_000 },
    ]);
  });

  it("lets --node override cluster.node, and gives this node's client address to the server", () => {
    const settings = parse(threeRegions(), "eu-west-1");
    assert.equal(settings.nodeId, "eu-west-1");
    assert.equal(settings.region, "eu-west");
    assert.equal(settings.rootRegion, "us-east");
    assert.deepEqual(clusterServerOverrides(settings), { host: "127.0.0.1", port: 2182 });
  });

  it("reads [v6]:port addresses", () => {
    const settings = parse(threeRegions(), undefined);
    assert.equal(settings.nodes[0]?.clientHost, "127.0.0.1");
    const cluster = threeRegions();
    node(cluster, 0).client = "[::1]:2181";
    assert.equal(parse(cluster).nodes[0]?.clientHost, "::1");
  });

  it("allows nested lease roots", () => {
    const cluster = threeRegions();
    cluster.leaseRoots = [{ path: "/app/*" }, { path: "/app" }, { path: "/app/a/b/*" }];
    assert.equal(parse(cluster).leaseRoots.length, 3);
  });

  describe("rejects, naming the key", () => {
    it("a cluster that is not an object", () => assert.equal(errorKey(() => parse([])), "cluster"));
    it("unknown keys at every level", () => {
      assert.equal(keyFor((c) => (c.leaseTerm = 1)), "cluster.leaseTerm");
      assert.equal(keyFor((c) => Object.assign(region(c, 1), { zone: "b" })), "cluster.regions[1].zone");
      assert.equal(keyFor((c) => (node(c, 2).port = "1")), "cluster.regions[2].nodes[0].port");
      assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/a", owner: "x" }])), "cluster.leaseRoots[0].owner");
      assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/a", policy: { name: "static", count: 1 } }])), "cluster.leaseRoots[0].policy.count");
    });
    it("no regions", () => assert.equal(keyFor((c) => (c.regions = [])), "cluster.regions"));
    it("more than 255 regions", () => {
      const regions = Array.from({ length: 256 }, (_, index) => ({
        name: `r${index}`,
        nodes: [{ id: `n${index}`, client: `127.0.0.1:${10_000 + index}`, broker: `127.0.0.1:${20_000 + index}` }],
      }));
      assert.equal(errorKey(() => parse({ root: "n0", secret, regions }, "n0")), "cluster.regions");
    });
    it("a region without nodes", () => assert.equal(keyFor((c) => (region(c, 1).nodes = [])), "cluster.regions[1].nodes"));
    it("a bad region name", () => {
      assert.equal(keyFor((c) => (region(c, 1).name = "EU_West")), "cluster.regions[1].name");
      assert.equal(keyFor((c) => (region(c, 1).name = "")), "cluster.regions[1].name");
    });
    it("a region named twice", () => assert.equal(keyFor((c) => (region(c, 2).name = "us-east")), "cluster.regions[2].name"));
    it("a node id used twice, even across regions", () => {
      assert.equal(keyFor((c) => (node(c, 1).id = "us-east-1")), "cluster.regions[1].nodes[0].id");
    });
    it("an address that is not host:port", () => {
      assert.equal(keyFor((c) => (node(c, 1).broker = "127.0.0.1")), "cluster.regions[1].nodes[0].broker");
      assert.equal(keyFor((c) => (node(c, 1).broker = "127.0.0.1:0")), "cluster.regions[1].nodes[0].broker");
      assert.equal(keyFor((c) => (node(c, 1).client = "127.0.0.1:70000")), "cluster.regions[1].nodes[0].client");
      assert.equal(keyFor((c) => (node(c, 1).client = "::1:2181")), "cluster.regions[1].nodes[0].client");
    });
    it("an address used twice, client or broker", () => {
      assert.equal(keyFor((c) => (node(c, 1).client = "127.0.0.1:2181")), "cluster.regions[1].nodes[0].client");
      assert.equal(keyFor((c) => (node(c, 2).broker = "127.0.0.1:2889")), "cluster.regions[2].nodes[0].broker");
      assert.equal(keyFor((c) => (node(c, 0).broker = "127.0.0.1:2181")), "cluster.regions[0].nodes[0].broker");
    });
    it("a root that is not a node", () => {
      assert.equal(keyFor((c) => (c.root = "us-east")), "cluster.root");
      assert.equal(keyFor((c) => delete c.root), "cluster.root");
    });
    it("this node missing or unnamed", () => {
      assert.equal(keyFor((c) => (c.node = "us-east-9")), "cluster.node");
      assert.equal(keyFor(() => undefined, "nowhere-1"), "--node");
      assert.equal(keyFor((c) => delete c.node), "cluster.node");
    });
    it("lease-root paths ZooKeeper refuses", () => {
      for (const path of ["app", "/app/", "/app//b", "/app/./b", "", 7]) {
        assert.equal(keyFor((c) => (c.leaseRoots = [{ path }])), "cluster.leaseRoots[0].path", String(path));
      }
    });
    it("a wildcard anywhere but as the whole last component", () => {
      for (const path of ["/app/*/b", "/app*", "/app/x*", "/app/**"]) {
        assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/ok" }, { path }])), "cluster.leaseRoots[1].path", path);
      }
    });
    it("/ itself, /*, and anything under /zookeeper", () => {
      for (const path of ["/", "/*", "/zookeeper", "/zookeeper/*", "/zookeeper/quota/x"]) {
        assert.equal(keyFor((c) => (c.leaseRoots = [{ path }])), "cluster.leaseRoots[0].path", path);
      }
      assert.equal(parse({ ...threeRegions(), leaseRoots: [{ path: "/zookeeperish" }] }).leaseRoots.length, 1);
    });
    it("the same pattern twice", () => {
      assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/a/*" }, { path: "/b" }, { path: "/a/*" }])), "cluster.leaseRoots[2].path");
    });
    it("a home that is not a region", () => {
      assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/a", home: "mars" }])), "cluster.leaseRoots[0].home");
    });
    it("an unknown durability", () => {
      assert.equal(keyFor((c) => (c.leaseRoots = [{ path: "/a", durability: "disk" }])), "cluster.leaseRoots[0].durability");
    });
    it("an unknown policy, a count under 1, a share outside (0.5, 1]", () => {
      const policyKey = (policy: unknown): string => keyFor((c) => (c.leaseRoots = [{ path: "/a", policy }]));
      assert.equal(policyKey("adaptive"), "cluster.leaseRoots[0].policy");
      assert.equal(policyKey({ name: "adaptive" }), "cluster.leaseRoots[0].policy.name");
      assert.equal(policyKey({ name: "consecutive", count: 0 }), "cluster.leaseRoots[0].policy.count");
      assert.equal(policyKey({ name: "consecutive", count: 1.5 }), "cluster.leaseRoots[0].policy.count");
      assert.equal(policyKey({ name: "majority-window", share: 0.5 }), "cluster.leaseRoots[0].policy.share");
      assert.equal(policyKey({ name: "majority-window", share: 1.01 }), "cluster.leaseRoots[0].policy.share");
      assert.equal(policyKey({ name: "majority-window", windowMs: 0 }), "cluster.leaseRoots[0].policy.windowMs");
      assert.equal(policyKey({ name: "majority-window", holdMs: -1 }), "cluster.leaseRoots[0].policy.holdMs");
      assert.equal(parse({ ...threeRegions(), leaseRoots: [{ path: "/a", policy: { name: "majority-window", share: 1 } }] }).leaseRoots.length, 1);
      assert.equal(policyKey({ name: "majority-window", split: "yes" }), "cluster.leaseRoots[0].policy.split");
      assert.equal(policyKey({ name: "consecutive", split: true }), "cluster.leaseRoots[0].policy.split");
      const splitting = parse({ ...threeRegions(), leaseRoots: [{ path: "/a", policy: { name: "majority-window", split: true } }] });
      assert.deepEqual(splitting.leaseRoots[0]?.policy, { name: "majority-window", share: 0.6, windowMs: 10000, holdMs: 5000, split: true });
    });
    it("a renewal interval of half the lease term or more", () => {
      assert.equal(keyFor((c) => Object.assign(c, { leaseTermMs: 4000, renewIntervalMs: 2000 })), "cluster.renewIntervalMs");
      assert.equal(parse({ ...threeRegions(), leaseTermMs: 4001, renewIntervalMs: 2000 }).leaseTermMs, 4001);
    });
    it("a clock drift outside [0, 0.5)", () => {
      assert.equal(keyFor((c) => (c.clockDriftMax = 0.5)), "cluster.clockDriftMax");
      assert.equal(keyFor((c) => (c.clockDriftMax = -0.01)), "cluster.clockDriftMax");
      assert.equal(parse({ ...threeRegions(), clockDriftMax: 0 }).clockDriftMax, 0);
    });
    it("numbers that are not positive integers", () => {
      assert.equal(keyFor((c) => (c.forwardTimeoutMs = 0)), "cluster.forwardTimeoutMs");
      assert.equal(keyFor((c) => (c.streamBatchDeltasMax = "256")), "cluster.streamBatchDeltasMax");
    });
    it("a missing, short or doubled secret", () => {
      assert.equal(keyFor((c) => delete c.secret), "cluster.secret");
      assert.equal(keyFor((c) => (c.secret = "fifteen-chars!!")), "cluster.secret");
      assert.equal(keyFor((c) => (c.secretFile = "secret.txt")), "cluster.secretFile");
    });
  });

  describe("secretFile", () => {
    it("is read relative to the config file's directory, without its final newline", () => {
      const dir = mkdtempSync(join(tmpdir(), "maestro-cluster-"));
      writeFileSync(join(dir, "secret.txt"), "a-secret-of-twenty-chars\n");
      const cluster = { ...threeRegions(), secret: undefined, secretFile: "secret.txt" };
      assert.deepEqual(parseClusterConfig(cluster, undefined, dir).secret, Buffer.from("a-secret-of-twenty-chars"));
    });
    it("must exist and hold at least 16 bytes", () => {
      const dir = mkdtempSync(join(tmpdir(), "maestro-cluster-"));
      writeFileSync(join(dir, "short.txt"), "short\n");
      const withFile = (secretFile: string): unknown => ({ ...threeRegions(), secret: undefined, secretFile });
      assert.equal(errorKey(() => parseClusterConfig(withFile("short.txt"), undefined, dir)), "cluster.secretFile");
      assert.equal(errorKey(() => parseClusterConfig(withFile("missing.txt"), undefined, dir)), "cluster.secretFile");
    });
  });

  describe("loadNodeConfig", () => {
    it("without a cluster key is today's single node", () => {
      const dir = mkdtempSync(join(tmpdir(), "maestro-cluster-"));
      const path = join(dir, "c.json");
      writeFileSync(path, JSON.stringify({ port: 3000 }));
      const loaded = loadNodeConfig(path, { overrides: { tickTimeMs: 100 } });
      assert.equal(loaded.cluster, null);
      assert.deepEqual(loaded.server, { ...defaultConfig(), port: 3000, tickTimeMs: 100 });
      assert.deepEqual(loadNodeConfig(undefined, { overrides: {} }), { server: defaultConfig(), cluster: null });
      assert.equal(errorKey(() => loadNodeConfig(path, { node: "x", overrides: {} })), "--node");
    });
    it("strips cluster from the server keys and listens on this node's client address; flags still win", () => {
      const dir = mkdtempSync(join(tmpdir(), "maestro-cluster-"));
      const path = join(dir, "c.json");
      writeFileSync(path, JSON.stringify({ tickTimeMs: 500, cluster: { ...threeRegions(), secret: undefined, secretFile: "s" } }));
      writeFileSync(join(dir, "s"), "0123456789abcdef");
      const loaded = loadNodeConfig(path, { node: "ap-south-1", overrides: { dataDir: "/tmp/x" } });
      assert.equal(loaded.cluster?.settings.nodeId, "ap-south-1");
      assert.deepEqual(loaded.cluster?.secret, Buffer.from("0123456789abcdef"));
      assert.equal(loaded.server.port, 2183);
      assert.equal(loaded.server.host, "127.0.0.1");
      assert.equal(loaded.server.tickTimeMs, 500);
      assert.equal(loaded.server.dataDir, "/tmp/x");
      assert.equal(loadNodeConfig(path, { node: "ap-south-1", overrides: { port: 4000 } }).server.port, 4000);
    });
  });
});

describe("cluster.regions[].nodes[].dial", () => {
  const regionsWith = (dial: Record<string, string>): unknown[] => [
    { name: "a", nodes: [{ id: "a1", client: "127.0.0.1:2181", broker: "127.0.0.1:2888", dial }] },
    { name: "b", nodes: [{ id: "b1", client: "127.0.0.1:2182", broker: "127.0.0.1:2889" }] },
  ];
  const parseAs = (node: string, dial: Record<string, string>): ReturnType<typeof parseClusterConfig> =>
    parseClusterConfig({ root: "a1", secret: "0123456789abcdef", regions: regionsWith(dial) }, node, "/");
  it("gives this node's way to a peer", () => {
    assert.deepEqual(parseAs("a1", { b1: "127.0.0.1:19001" }).settings.dialAddresses, { b1: { host: "127.0.0.1", port: 19001 } });
    assert.deepEqual(parseAs("b1", { b1: "127.0.0.1:19001" }).settings.dialAddresses, {});
  });
  it("refuses a bad address and an unknown peer", () => {
    assert.throws(() => parseAs("a1", { b1: "nowhere" }), (error: ConfigError) => error.key === "cluster.regions[0].nodes[0].dial.b1");
    assert.throws(() => parseAs("a1", { zz: "127.0.0.1:1" }), /not another node/);
  });
});
