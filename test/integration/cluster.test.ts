// Three regions of one node each, as real `maestro start` processes on
// loopback with broker links between them, driven by node-zookeeper-client
// (design sections 3-7): writes to a region's own units commit locally,
// writes to other units are forwarded to their owner, spanning writes are
// gathered at the root, every region converges on the same tree, sessions
// live in their region while their ephemerals may sit elsewhere, and a
// restarted node catches up. A node with the wrong secret never gets a link.
//
// Regions: east (root; /east), west (/west, /app/*), south (owns nothing).
// The steps share one cluster and run in order.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "../../src/protocol/codes.js";
import { TestCluster } from "../support/cluster.js";
import { fourLetterWord } from "../support/server-process.js";
import { ok, RawClient, readGetData } from "../support/raw-client.js";
import { codeOf, CreateMode, eventually, rejectsWithCode, watchOnce, ZkClient } from "../support/zk-client.js";

const convergeMs = 15_000;
const stepTimeoutMs = 30_000;
const secret = "maestro-cluster-test-secret";

const leaseRoots = [
  { path: "/east", home: "east" },
  { path: "/west", home: "west" },
  { path: "/shared" },
  { path: "/app/*", home: "west" },
  { path: "/team/*" },
];
const timing = { leaseTermMs: 3_000, renewIntervalMs: 500, forwardTimeoutMs: 5_000, ownerUnreachableMs: 3_000 };

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Runs the maestro command; resolves with its exit code and output (bounded by a timeout). */
function maestro(args: string[], timeoutMs = 45_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function text(data: Buffer | null | undefined): string | null {
  return data === null || data === undefined ? null : data.toString("utf8");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Data at `path` as one client sees it; null when the node is missing. */
async function dataAt(client: ZkClient, path: string): Promise<string | null | "missing"> {
  try {
    return text((await client.getData(path)).data);
  } catch (error) {
    if (codeOf(error) === ErrorCode.noNode) return "missing";
    throw error;
  }
}

/**
 * Runs a write until it is not answered with ConnectionLoss (an owner still
 * out of reach), up to a deadline. A create whose earlier attempt did commit
 * answers NodeExists, which counts as done.
 */
async function untilDelivered<T>(write: () => Promise<T>, what: string, timeoutMs = convergeMs): Promise<T | "existed"> {
  const deadline = Date.now() + timeoutMs;
  let lost = false;
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (lost && codeOf(error) === ErrorCode.nodeExists) return "existed";
      if (codeOf(error) !== ErrorCode.connectionLoss || Date.now() > deadline) throw new Error(`${what}: ${String(error)}`);
      lost = true;
      await sleep(100);
    }
  }
}

interface LeaseUnit {
  unit: string;
  owner: string;
}

async function leaseOwners(port: number): Promise<Map<string, string>> {
  const report = JSON.parse(await fourLetterWord(port, "leas")) as { units: LeaseUnit[] };
  return new Map(report.units.map((unit) => [unit.unit, unit.owner]));
}

describe("three regions on loopback", { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  /** One client per region: east (root), west, south. */
  let east: ZkClient;
  let west: ZkClient;
  let south: ZkClient;
  const extraClients: ZkClient[] = [];

  const clients = (): ZkClient[] => [east, west, south];

  /** Every region shows `expected` at `path` before the deadline. */
  async function converged(path: string, expected: string | null | "missing"): Promise<void> {
    await eventually(
      async () => (await Promise.all(clients().map((client) => dataAt(client, path)))).every((data) => data === expected),
      convergeMs,
      `${path} = ${String(expected)} in every region`,
      100,
    );
  }

  /** Links both ways between every pair: a sync for a unit of another region answers only when they are up. */
  async function linksUp(): Promise<void> {
    const checks: Array<[string, string]> = [["east-1", "/west"], ["west-1", "/east"], ["south-1", "/east"], ["south-1", "/west"]];
    for (const [node, path] of checks) {
      const raw = await RawClient.connect({ port: cluster.member(node).clientPort });
      try {
        await eventually(async () => (await raw.sync(path)).err === 0, convergeMs, `${node} syncing ${path}`, 100);
      } finally {
        await raw.close();
      }
    }
  }

  before(async () => {
    cluster = await TestCluster.start({ regions: ["east", "west", "south"], rootRegion: "east", leaseRoots, timing, secret });
    const connectTo = (id: string): Promise<ZkClient> => ZkClient.connect(`127.0.0.1:${cluster.member(id).clientPort}`);
    [east, west, south] = await Promise.all([connectTo("east-1"), connectTo("west-1"), connectTo("south-1")]);
    await linksUp();
  });

  after(async () => {
    await Promise.all([...clients(), ...extraClients].filter((client) => client !== undefined).map((client) => client.close()));
    await cluster?.stop();
  });

  test("lease roots are created from any region", { timeout: stepTimeoutMs }, async () => {
    // /east: the root owns it and "/"; /west: "/" and west's unit, gathered at the root; /shared, /app: forwarded to the root.
    // /shared has no home, so its creator (south) gets its lease in the creating delta.
    await untilDelivered(() => east.create("/east"), "create /east");
    await untilDelivered(() => west.create("/west"), "create /west");
    await untilDelivered(() => south.create("/shared"), "create /shared");
    await untilDelivered(() => south.create("/app"), "create /app");
    await untilDelivered(() => west.create("/team"), "create /team");
    for (const path of ["/east", "/west", "/shared", "/app"]) await converged(path, null);
  });

  test("local writes commit in their region; remote ones are forwarded and the session reads them at once", { timeout: stepTimeoutMs }, async () => {
    await east.create("/east/a", Buffer.from("e1"));
    assert.equal(await dataAt(east, "/east/a"), "e1");
    await west.create("/west/b", Buffer.from("w1"));
    assert.equal(await dataAt(west, "/west/b"), "w1");
    // Forwarded east -> west, then read on the same session: its own write is visible.
    await east.setData("/west/b", Buffer.from("from-east"));
    assert.equal(await dataAt(east, "/west/b"), "from-east");
    await south.create("/east/c", Buffer.from("from-south"));
    assert.equal(await dataAt(south, "/east/c"), "from-south");
  });

  test("sequential creates in a remote unit are numbered by its owner", { timeout: stepTimeoutMs }, async () => {
    // The number is the parent's cversion: /west/b's create made it 1.
    assert.equal(await south.create("/west/seq-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/west/seq-0000000001");
    assert.equal(await east.create("/west/seq-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/west/seq-0000000002");
    assert.equal(await west.create("/west/seq-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/west/seq-0000000003");
  });

  test("every region converges on the same data", { timeout: stepTimeoutMs }, async () => {
    await converged("/east/a", "e1");
    await converged("/west/b", "from-east");
    await converged("/east/c", "from-south");
    await eventually(
      async () => {
        const lists = await Promise.all(clients().map(async (client) => (await client.getChildren("/west")).children.sort().join(",")));
        return lists.every((list) => list === "b,seq-0000000001,seq-0000000002,seq-0000000003");
      },
      convergeMs,
      "the children of /west in every region",
    );
  });

  test("a multi spanning /east and /west is gathered at the root", { timeout: stepTimeoutMs }, async () => {
    const results = await new Promise<unknown[]>((resolve, reject) => {
      west.client
        .transaction()
        .setData("/east/a", Buffer.from("multi-east"))
        .setData("/west/b", Buffer.from("multi-west"))
        .commit((error, answers) => (error ? reject(error) : resolve(answers)));
    });
    assert.equal(results.length, 2);
    assert.equal(await dataAt(west, "/east/a"), "multi-east");
    await converged("/east/a", "multi-east");
    await converged("/west/b", "multi-west");
  });

  test("a lease root under /app/* becomes a unit of its home region", { timeout: stepTimeoutMs }, async () => {
    await east.create("/app/x", Buffer.from("x"));
    await untilDelivered(() => west.create("/app/x/child", Buffer.from("c")), "create /app/x/child");
    await converged("/app/x/child", "c");
    const westPort = cluster.member("west-1").clientPort;
    await eventually(async () => (await leaseOwners(westPort)).get("/app/x") === "west", convergeMs, "/app/x owned by west");
  });

  test("a region that creates a lease root with no home gets its lease in the same step (proactive leasing)", { timeout: stepTimeoutMs }, async () => {
    const southPort = cluster.member("south-1").clientPort;
    await untilDelivered(() => south.create("/team/s", Buffer.from("s")), "create /team/s");
    // South's next read of the session waits until south applied the create, and the grant is in that very delta.
    assert.equal(await dataAt(south, "/team/s"), "s");
    assert.equal((await leaseOwners(southPort)).get("/team/s"), "south");
    await untilDelivered(() => south.create("/team/s/child", Buffer.from("c")), "create /team/s/child");
    await converged("/team/s/child", "c");
    // South committed the child itself: its own count for the unit says so (a forwarded write is counted by its owner).
    const report = JSON.parse(await fourLetterWord(southPort, "leas")) as { units: Array<LeaseUnit & { writesByOrigin: Record<string, number> }> };
    assert.deepEqual(report.units.find((entry) => entry.unit === "/team/s")?.writesByOrigin, { south: 1 });
    for (const member of cluster.members) {
      await eventually(async () => (await leaseOwners(member.clientPort)).get("/team/s") === "south", convergeMs, `${member.id} sees /team/s at south`);
    }
  });

  test("an ephemeral of an east session in a west unit disappears everywhere once the session closes", { timeout: stepTimeoutMs }, async () => {
    const owner = await ZkClient.connect(`127.0.0.1:${cluster.member("east-1").clientPort}`);
    await owner.create("/west/eph", Buffer.from("e"), CreateMode.EPHEMERAL);
    await converged("/west/eph", "e");
    await owner.close(10_000);
    await converged("/west/eph", "missing");
  });

  test("a data watch in west fires for a write made in east", { timeout: stepTimeoutMs }, async () => {
    const watch = watchOnce(convergeMs);
    await west.getData("/east/a", watch.watcher);
    await east.setData("/east/a", Buffer.from("watched"));
    const event = await watch.event;
    assert.equal(event.getType(), 3 /* NodeDataChanged */);
    assert.equal(event.path, "/east/a");
    assert.equal(await dataAt(west, "/east/a"), "watched");
  });

  test("sync then read sees what was committed before the sync", { timeout: stepTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: cluster.member("south-1").clientPort });
    try {
      for (let round = 0; round < 3; round++) {
        await east.setData("/west/b", Buffer.from(`synced-${round}`));
        ok(await raw.sync("/west/b"), "sync /west/b");
        assert.equal(text(readGetData(ok(await raw.getData("/west/b"), "getData").body).data), `synced-${round}`);
      }
    } finally {
      await raw.close();
    }
  });

  test("leas lists every unit with its owner, the same in every region", { timeout: stepTimeoutMs }, async () => {
    const expected = new Map([["/", "east"], ["/east", "east"], ["/west", "west"], ["/shared", "south"], ["/app/x", "west"], ["/team/s", "south"]]);
    for (const member of cluster.members) {
      await eventually(
        async () => {
          const owners = await leaseOwners(member.clientPort);
          return [...expected].every(([unit, owner]) => owners.get(unit) === owner);
        },
        convergeMs,
        `leas of ${member.id}`,
      );
    }
    const report = JSON.parse(await fourLetterWord(cluster.member("east-1").clientPort, "leas")) as { region: string; node: string; root: boolean };
    assert.deepEqual([report.region, report.node, report.root], ["east", "east-1", true]);
  });

  test("maestro move hands a unit to another region and back; bad requests are refused with a reason", { timeout: 120_000 }, async () => {
    const config = cluster.member("west-1").configPath;
    const moved = await maestro(["move", "/west", "south", "--config", config, "--json"]);
    assert.equal(moved.code, 0, moved.stderr + moved.stdout);
    const answer = JSON.parse(moved.stdout) as { ok: boolean; detail: { owner: string; epoch: number } };
    assert.equal(answer.ok, true);
    assert.equal(answer.detail.owner, "south");
    for (const member of cluster.members) {
      await eventually(async () => (await leaseOwners(member.clientPort)).get("/west") === "south", convergeMs, `${member.id} sees /west at south`);
    }
    await untilDelivered(() => south.create("/west/moved", Buffer.from("m")), "a write of south to /west");
    await converged("/west/moved", "m");
    const back = await maestro(["move", "/west", "west", "--config", config]);
    assert.equal(back.code, 0, back.stderr + back.stdout);
    assert.match(back.stdout, /\/west is held by west at epoch \d+/);
    const refused = await maestro(["move", "/west/moved", "east", "--config", config]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /not a lease unit/);
    const wrongSecret = join(mkdtempSync(join(tmpdir(), "maestro-operator-")), "cluster.json");
    const file = JSON.parse(readFileSync(config, "utf8")) as { cluster: Record<string, unknown> };
    writeFileSync(wrongSecret, JSON.stringify({ ...file, cluster: { ...file.cluster, secret: "a different secret of enough bytes" } }));
    const stranger = await maestro(["move", "/west", "east", "--config", wrongSecret]);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /secret/);
  });

  test("maestro evict takes every unit of a region to the root's; the region keeps serving through forwarding", { timeout: 120_000 }, async () => {
    const config = cluster.member("east-1").configPath;
    const evicted = await maestro(["evict", "south", "--config", config, "--json"]);
    assert.equal(evicted.code, 0, evicted.stderr + evicted.stdout);
    const answer = JSON.parse(evicted.stdout) as { ok: boolean; detail: { units: string[] } };
    assert.deepEqual(answer.detail.units, ["/shared", "/team/s"]);
    for (const member of cluster.members) {
      await eventually(
        async () => {
          const owners = await leaseOwners(member.clientPort);
          return owners.get("/shared") === "east" && owners.get("/team/s") === "east";
        },
        convergeMs,
        `${member.id} sees south's units at east`,
      );
    }
    // South had shipped everything, so nothing diverged: it keeps serving, its writes now forwarded.
    await untilDelivered(() => south.setData("/team/s", Buffer.from("after-evict")), "south writing a unit taken from it");
    await converged("/team/s", "after-evict");
    const refused = await maestro(["evict", "east", "--config", config]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /carries the root role/);
    // Readmitted by a move back.
    const back = await maestro(["move", "/shared", "south", "--config", config]);
    assert.equal(back.code, 0, back.stderr + back.stdout);
  });

  test("a node whose data directory holds a halt marker refuses to start", { timeout: 30_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "maestro-halted-"));
    writeFileSync(join(dataDir, "HALTED"), "2026-11-27T00:00:00.000Z replica diverged (test)\n");
    const started = await maestro(["start", "--config", cluster.member("south-1").configPath, "--node", "south-1", "--data-dir", dataDir, "--port", "0"]);
    assert.equal(started.code, 3);
    assert.match(started.stderr, /stopped for good.*replica diverged \(test\)/);
  });

  test("a non-root node killed and restarted catches up and takes writes again", { timeout: 60_000 }, async () => {
    const westMember = cluster.member("west-1");
    await westMember.process.kill();
    // Written while west is down: west must catch up from the stream.
    await east.setData("/east/a", Buffer.from("while-west-down"));
    await rejectsWithCode(east.setData("/west/b", Buffer.from("lost")), ErrorCode.connectionLoss, "a write to a unit of a dead region");
    await cluster.crashAndRestart("west-1");
    const westAgain = await ZkClient.connect(`127.0.0.1:${westMember.clientPort}`);
    extraClients.push(westAgain);
    await eventually(async () => (await dataAt(westAgain, "/east/a")) === "while-west-down", convergeMs, "west catching up");
    await untilDelivered(() => east.setData("/west/b", Buffer.from("after-restart")), "forwarded to the restarted west");
    await untilDelivered(() => westAgain.setData("/east/a", Buffer.from("from-restarted-west")), "forwarded from the restarted west");
    await untilDelivered(() => westAgain.create("/west/after", Buffer.from("a")), "local write at the restarted west");
    for (const client of [east, south, westAgain]) {
      await eventually(async () => (await dataAt(client, "/west/b")) === "after-restart", convergeMs, "/west/b after the restart");
      await eventually(async () => (await dataAt(client, "/east/a")) === "from-restarted-west", convergeMs, "/east/a after the restart");
      await eventually(async () => (await dataAt(client, "/west/after")) === "a", convergeMs, "/west/after after the restart");
    }
  });

  test("a node whose data directory was lost rejoins from the root's stream, its region's own writes included", { timeout: 90_000 }, async () => {
    await untilDelivered(() => west.create("/west/kept", Buffer.from("before-wipe")), "a west write before the wipe");
    await converged("/west/kept", "before-wipe");
    const holder = await ZkClient.connect(`127.0.0.1:${cluster.member("west-1").clientPort}`);
    await holder.create("/east/west-ephemeral", Buffer.from("e"), CreateMode.EPHEMERAL);
    await converged("/east/west-ephemeral", "e");
    await cluster.crashWipeAndRestart("west-1");
    // The wiped node has a new session secret: the sessions of before cannot reattach, they time out.
    extraClients.push(holder, west);
    west = await ZkClient.connect(`127.0.0.1:${cluster.member("west-1").clientPort}`);
    const westAgain = west;
    // Its own earlier writes come back from the stream; then it writes its unit again, numbering on.
    await eventually(async () => (await dataAt(westAgain, "/west/kept")) === "before-wipe", convergeMs, "west relearning its own writes");
    await untilDelivered(() => westAgain.create("/west/after-wipe", Buffer.from("w")), "a west write after the wipe");
    await converged("/west/after-wipe", "w");
    await untilDelivered(() => east.setData("/west/kept", Buffer.from("forwarded-after-wipe")), "a write forwarded to the rejoined west");
    await converged("/west/kept", "forwarded-after-wipe");
    // The session of before the wipe is timed out by the rejoined node (10 s), and its ephemeral goes everywhere.
    await eventually(
      async () => (await Promise.all(clients().map((client) => dataAt(client, "/east/west-ephemeral")))).every((data) => data === "missing"),
      40_000,
      "the ephemeral of a session of the wiped node's past gone everywhere",
      200,
    );
  });
});

describe("a node with the wrong secret", { timeout: 60_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({
      regions: ["alpha", "beta"],
      rootRegion: "alpha",
      leaseRoots: [],
      timing,
      secret,
      secretOf: { "beta-1": "not-the-cluster-secret-at-all" },
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  test("never gets a link, and serves no session: it never learnt its region's history from the root", { timeout: 30_000 }, async () => {
    // Both ends log the failed proof: alpha refusing beta's dial, beta refusing alpha's.
    for (const member of cluster.members) {
      await eventually(() => /did not prove it knows the secret/.test(member.process.logTail()), convergeMs, `${member.id} refusing its peer`);
    }
    // A node that has not heard from the root cannot tell a fresh start from a lost disk, so it writes
    // nothing, a session's creation included, until it has (ZooKeeper without a quorum does the same).
    await assert.rejects(ZkClient.connect(`127.0.0.1:${cluster.member("beta-1").clientPort}`, {}, 3_000), /did not connect/);
    // The root's region serves as usual.
    const alpha = await ZkClient.connect(`127.0.0.1:${cluster.member("alpha-1").clientPort}`);
    try {
      await alpha.create("/x", Buffer.from("x"));
    } finally {
      await alpha.close(1_000);
    }
  });
});
