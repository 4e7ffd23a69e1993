// The lab end to end on loopback, bounded well under a minute: a
// two-region Maestro lab (one standalone node per region) and, when the
// ZooKeeper jars are installed, a three-region ZooKeeper ensemble whose peer
// links cross the WAN emulator: it elects one leader, and a client in each
// region creates a node through its local server and reads every region's
// node back. Without the jars the ZooKeeper part is reported as skipped
// with the reason, never passed silently.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lab, fourLetterWord } from "../../src/lab/lab.js";
import { parseLabTopology, zooKeeperConfig, type ZooKeeperMember } from "../../src/lab/lab-topology.js";
import { eventually, ZkClient } from "../support/zk-client.js";

const zooKeeperJar = "/usr/share/java/zookeeper.jar";

test("a topology names its deployment; the ZooKeeper config points at peers through the emulator", () => {
  assert.throws(() => parseLabTopology({ deployment: "etcd" }), /deployment must be one of/);
  assert.throws(() => parseLabTopology({ deployment: "zk-ensemble", regions: ["a"] }), /at least two regions/);
  assert.throws(() => parseLabTopology({ deployment: "maestro", links: [] }), /set by the lab/);
  const topology = parseLabTopology({ deployment: "zk-observers" });
  assert.deepEqual(topology.regions, ["us-east", "eu-west", "ap-south"]);
  const members: ZooKeeperMember[] = [
    { id: 1, region: "a", role: "participant", clientPort: 1001, quorumPort: 1002, electionPort: 1003 },
    { id: 2, region: "b", role: "observer", clientPort: 2001, quorumPort: 2002, electionPort: 2003 },
  ];
  const config = zooKeeperConfig(members[1]!, members, (from, member, kind) => (from === "b" && member.id === 1 ? (kind === "quorum" ? 9002 : 9003) : 0), {
    dataDir: "/d",
    tickTimeMs: 1000,
  });
  assert.match(config, /^server\.1=127\.0\.0\.1:9002:9003$/m);
  assert.match(config, /^server\.2=127\.0\.0\.1:2002:2003:observer$/m);
  assert.match(config, /^peerType=observer$/m);
  assert.match(config, /^clientPort=2001$/m);
});

test("a two-region Maestro lab serves each region from its own node", { timeout: 30_000 }, async () => {
  const lab = await Lab.start(parseLabTopology({ deployment: "maestro", regions: ["us-east", "eu-west"] }), { readyTimeoutMs: 20_000 });
  try {
    const addresses = lab.clientAddresses();
    assert.equal(addresses.length, 2);
    assert.notEqual(addresses[0], addresses[1]);
    assert.match(lab.notes().join(" "), /later issue/);
    for (const [index, address] of addresses.entries()) {
      const client = await ZkClient.connect(address);
      try {
        await client.create(`/region-${index}`, Buffer.from(`r${index}`));
        assert.deepEqual((await client.getData(`/region-${index}`)).data, Buffer.from(`r${index}`));
      } finally {
        await client.close();
      }
    }
  } finally {
    await lab.stop();
  }
});

test(
  "a three-region ZooKeeper ensemble over the emulator elects a leader and serves a create and a read in every region",
  { timeout: 55_000, skip: existsSync(zooKeeperJar) ? false : `${zooKeeperJar} missing (scripts/install-test-deps.sh installs it)` },
  async () => {
    // Shorter one-way delays than the default matrix keep the election quick; the paths are the same.
    const topology = parseLabTopology({ deployment: "zk-ensemble", regions: ["a", "b", "c"], roundTripMs: { a: { b: 20, c: 40 }, b: { c: 30 } } });
    const lab = await Lab.start(topology, { readyTimeoutMs: 20_000, startAttempts: 2, tickTimeMs: 500 });
    try {
      const modes = lab.servers.map((server) => server.mode).sort();
      assert.deepEqual(modes, ["follower", "follower", "leader"]);
      for (const server of lab.servers) assert.match(await fourLetterWord(server.clientPort, "srvr"), /Mode: (leader|follower)/);
      const proxied = lab.emulator.proxies().reduce((sum, proxy) => sum + proxy.connections, 0);
      assert.ok(proxied > 0, "peer traffic goes through the emulator");
      const clients = await Promise.all(lab.clientAddresses().map((address) => ZkClient.connect(address)));
      try {
        for (const [index, client] of clients.entries()) await client.create(`/from-${index}`, Buffer.from(`r${index}`));
        for (const client of clients) {
          for (let index = 0; index < clients.length; index += 1) {
            // A follower applies a commit shortly after the leader acknowledges it.
            await eventually(async () => (await client.exists(`/from-${index}`)) !== null, 10_000, `/from-${index} visible`);
            assert.deepEqual((await client.getData(`/from-${index}`)).data, Buffer.from(`r${index}`));
          }
        }
      } finally {
        await Promise.all(clients.map((client) => client.close()));
      }
    } finally {
      await lab.stop();
    }
  },
);

test("a lab refuses a directory that holds an earlier run's data: its servers would start from those trees", async () => {
  const directory = mkdtempSync(join(tmpdir(), "maestro-lab-used-"));
  try {
    mkdirSync(join(directory, "attempt-1"));
    writeFileSync(join(directory, "attempt-1", "left-over"), "x");
    await assert.rejects(
      Lab.start(parseLabTopology({ deployment: "maestro", regions: ["us-east", "eu-west"] }), { directory, readyTimeoutMs: 5_000 }),
      (error: unknown) => (error as { code?: string }).code === "ERR_LAB_DIRECTORY",
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
