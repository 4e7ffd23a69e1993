// Issue 7 end to end, on real processes behind the WAN emulator (the
// maestro-cluster lab, round trips scaled down to 20-30 ms, lease timing
// scaled down so the test stays short), with clients in every region:
//
// 1. A shifting hotspot: a unit under `majority-window` (short window and
//    hold time) is written mostly by one region at a time, in turns; its
//    ownership follows each region in turn, no acknowledged write is lost or
//    reordered (per-writer sequence values, version-checked counters,
//    sequential names), and every region ends with the same tree.
// 2. A partition of one region: cut off from the others through the
//    emulator, it keeps serving reads of every unit and writes to its own;
//    its writes to units owned elsewhere (and the others' writes to its
//    unit) fail with ConnectionLoss; a session of it whose ephemeral lives
//    in another region's unit is disconnected; the other regions keep
//    writing; after the heal every acknowledged write is present in every
//    region.
//
// kazoo (a Python child process) reads the final tree in one region and
// works in the cut region during the partition; without kazoo
// (/usr/bin/python3 cannot import it) that half is skipped with the reason.

import { test } from "node:test";
import assert from "node:assert/strict";
import { brokerLinkDefaults } from "../../src/broker/link.js";
import { Lab, fourLetterWord } from "../../src/lab/lab.js";
import { parseLabTopology, type LabLeaseRoot } from "../../src/lab/lab-topology.js";
import { KazooDriver, kazooUnavailable } from "../support/kazoo-driver.js";
import { codeOf, CreateMode, eventually, rejectsWithCode, ZkClient } from "../support/zk-client.js";

const regions = ["a", "b", "c"] as const;
const connectionLoss = -4;
const convergeTimeoutMs = 15_000;
const followTimeoutMs = 10_000;
const kazooMissing = kazooUnavailable();
/** Short lease timing: renewals (which carry the write counts the policy reads) every 300 ms. */
const clusterTiming = { renewIntervalMs: 300, leaseTermMs: 3_000, forwardTimeoutMs: 1_500, ownerUnreachableMs: 1_500 };

function topology(leaseRoots: LabLeaseRoot[]) {
  return parseLabTopology({
    deployment: "maestro-cluster",
    regions: [...regions],
    roundTripMs: { a: { b: 20, c: 30 }, b: { c: 24 } },
    leaseRoots,
    cluster: clusterTiming,
  });
}

function serverOf(lab: Lab, region: string) {
  const server = lab.servers.find((entry) => entry.region === region);
  assert.ok(server !== undefined, `a server in region ${region}`);
  return server;
}

interface UnitView {
  unit: string;
  owner: string;
  epoch: number;
  state: string;
}

async function unitAt(lab: Lab, region: string, unit: string): Promise<UnitView> {
  const report = JSON.parse(await fourLetterWord(serverOf(lab, region).clientPort, "leas")) as { units: UnitView[] };
  const view = report.units.find((entry) => entry.unit === unit);
  assert.ok(view !== undefined, `${unit} is listed by leas in ${region}`);
  return view;
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Children of every path, from every client: they must agree, and are returned sorted. */
async function sameChildrenEverywhere(clients: readonly ZkClient[], path: string): Promise<string[]> {
  const views = await Promise.all(clients.map(async (client) => (await client.getChildren(path)).children.sort()));
  for (const [index, view] of views.entries()) assert.deepEqual(view, views[0], `children of ${path} in ${regions[index]} and ${regions[0]}`);
  return views[0]!;
}

async function closeAll(clients: readonly ZkClient[], kazoos: readonly KazooDriver[], lab: Lab): Promise<void> {
  await Promise.all(kazoos.map((kazoo) => kazoo.close()));
  await Promise.all(clients.map((client) => client.close()));
  await lab.stop();
}

// ---------------------------------------------------------------- hotspot

const hotUnit = "/hot";

/** One region's writes to the hot unit: a sequential create and a version-checked counter, each carrying (region, seq). */
class HotWriter {
  seq = 0;
  /** Sequential names this writer was answered, with the seq each carried. */
  readonly acknowledged: Array<{ name: string; seq: number }> = [];

  constructor(readonly region: string, readonly client: ZkClient) {}

  get counter(): string {
    return `${hotUnit}/w-${this.region}`;
  }

  async writeOnce(): Promise<void> {
    this.seq += 1;
    const value = Buffer.from(`${this.region}:${this.seq}`);
    const path = await this.client.create(`${hotUnit}/s-`, value, CreateMode.PERSISTENT_SEQUENTIAL);
    this.acknowledged.push({ name: path.slice(hotUnit.length + 1), seq: this.seq });
    // Version seq - 1: a lost or reordered acknowledged setData would make this one fail with BadVersion.
    await this.client.setData(this.counter, value, this.seq - 1);
  }
}

/**
 * `hot` writes continuously while the others write a little (every 400 ms:
 * a forwarded write costs `hot` a round trip of 20-30 ms, so it issues well
 * over the policy's share of 0.6),
 * until leas on hot's own node shows the unit owned there; then hot writes
 * ten more (local now). Bounded by followTimeoutMs.
 */
async function takeTurn(lab: Lab, writers: readonly HotWriter[], hot: number): Promise<{ epoch: number; writesBeforeFollow: number }> {
  const region = regions[hot]!;
  let followed: UnitView | null = null;
  const deadline = Date.now() + followTimeoutMs;
  const watcher = (async () => {
    while (followed === null && Date.now() < deadline) {
      const view = await unitAt(lab, region, hotUnit);
      if (view.owner === region && view.state === "owned") followed = view;
      else await sleep(100);
    }
  })();
  const others = writers.filter((_, index) => index !== hot).map(async (writer) => {
    while (followed === null && Date.now() < deadline) {
      await writer.writeOnce();
      await sleep(400);
    }
  });
  let writesBeforeFollow = 0;
  while (followed === null && Date.now() < deadline) {
    await writers[hot]!.writeOnce();
    writesBeforeFollow += 1;
  }
  await Promise.all([watcher, ...others]);
  const view = followed as UnitView | null;
  assert.ok(view !== null, `ownership of ${hotUnit} followed ${region} within ${followTimeoutMs} ms (now: ${JSON.stringify(await unitAt(lab, region, hotUnit))})`);
  for (let count = 0; count < 10; count += 1) await writers[hot]!.writeOnce();
  return { epoch: view.epoch, writesBeforeFollow };
}

test("a hot unit under majority-window follows the region writing it, losing and reordering nothing", { timeout: 60_000 }, async (t) => {
  const policy = { name: "majority-window", share: 0.6, windowMs: 1_500, holdMs: 1_000 };
  const lab = await Lab.start(topology([{ path: hotUnit, home: "a", policy }]), { readyTimeoutMs: 20_000 });
  const clients: ZkClient[] = [];
  const kazoos: KazooDriver[] = [];
  try {
    for (const address of lab.clientAddresses()) clients.push(await ZkClient.connect(address));
    await clients[0]!.create(hotUnit);
    const writers = regions.map((region, index) => new HotWriter(region, clients[index]!));
    for (const writer of writers) {
      await eventually(async () => (await writer.client.exists(hotUnit)) !== null, convergeTimeoutMs, `${hotUnit} in ${writer.region}`);
      await writer.client.create(writer.counter, Buffer.from(`${writer.region}:0`));
    }

    // Turns: b, c, a, b. Each must end with the unit owned by the turn's region, at a higher epoch.
    let lastEpoch = (await unitAt(lab, "a", hotUnit)).epoch;
    for (const hot of [1, 2, 0, 1]) {
      const turn = await takeTurn(lab, writers, hot);
      assert.ok(turn.epoch > lastEpoch, `the move to ${regions[hot]} raised the epoch (${lastEpoch} -> ${turn.epoch})`);
      t.diagnostic(`${hotUnit} owned by ${regions[hot]} at epoch ${turn.epoch} after ${turn.writesBeforeFollow} of its writes`);
      lastEpoch = turn.epoch;
    }

    // Every acknowledged write, in every region, in each writer's order.
    const expectedNames = writers.flatMap((writer) => writer.acknowledged.map((entry) => entry.name));
    assert.equal(new Set(expectedNames).size, expectedNames.length, "sequential names are unique");
    for (const [index, client] of clients.entries()) {
      await eventually(async () => {
        const present = new Set((await client.getChildren(hotUnit)).children);
        return expectedNames.every((name) => present.has(name));
      }, convergeTimeoutMs, `every acknowledged create in ${regions[index]}`);
    }
    const children = await sameChildrenEverywhere(clients, hotUnit);
    assert.equal(children.length, expectedNames.length + writers.length, "the hot unit holds the acknowledged creates and the counters, nothing else");
    for (const writer of writers) {
      const bySequence = [...writer.acknowledged].sort((x, y) => x.name.localeCompare(y.name)).map((entry) => entry.seq);
      assert.deepEqual(bySequence, writer.acknowledged.map((entry) => entry.seq), `${writer.region}'s creates are numbered in the order it made them`);
      for (const [index, client] of clients.entries()) {
        const { data, stat } = await client.getData(writer.counter);
        assert.equal(data?.toString("utf8"), `${writer.region}:${writer.seq}`, `${writer.counter} in ${regions[index]}`);
        assert.equal(stat.version, writer.seq, `${writer.counter}'s version in ${regions[index]}`);
      }
    }
    for (const [index, client] of clients.entries()) {
      const sample = writers.flatMap((writer) => writer.acknowledged.slice(-3));
      for (const entry of sample) {
        const { data } = await client.getData(`${hotUnit}/${entry.name}`);
        assert.match(data?.toString("utf8") ?? "", new RegExp(`:${entry.seq}$`), `${entry.name} in ${regions[index]}`);
      }
    }
    if (kazooMissing === null) {
      kazoos.push(await KazooDriver.start(lab.clientAddresses()[2]!, "region c"));
      assert.deepEqual((await kazoos[0]!.ok({ op: "children", path: hotUnit })).children, children, "kazoo in c sees the same tree");
      assert.equal((await kazoos[0]!.ok({ op: "get", path: writers[0]!.counter })).data, `a:${writers[0]!.seq}`);
    } else {
      t.diagnostic(`kazoo part skipped: ${kazooMissing}`);
    }
  } finally {
    await closeAll(clients, kazoos, lab);
  }
});

// -------------------------------------------------------------- partition

const partRoot = "/part";
const unitOf = (index: number) => `${partRoot}/r${index}`;

/** Creates `path`, remembering it when acknowledged; returns the error code otherwise (never throws for ZooKeeper errors). */
async function createNoted(client: ZkClient, path: string, acknowledged: string[]): Promise<number | null> {
  try {
    await client.create(path, Buffer.from(path));
    acknowledged.push(path);
    return null;
  } catch (error) {
    const code = codeOf(error);
    if (code === undefined) throw error;
    return code;
  }
}

test("a region cut off serves reads and its own unit, fails writes elsewhere with ConnectionLoss, and converges after the heal", { timeout: 60_000 }, async (t) => {
  const lab = await Lab.start(topology(regions.map((region, index) => ({ path: unitOf(index), home: region }))), { readyTimeoutMs: 20_000 });
  const clients: ZkClient[] = [];
  const kazoos: KazooDriver[] = [];
  const acknowledged: string[] = [];
  let healed = false;
  try {
    for (const address of lab.clientAddresses()) clients.push(await ZkClient.connect(address));
    const client = (index: number) => clients[index]!;
    await client(0).create(partRoot);
    for (const index of [0, 1, 2]) {
      await eventually(async () => (await client(index).exists(partRoot)) !== null, convergeTimeoutMs, `${partRoot} in ${regions[index]}`);
      await client(index).create(unitOf(index));
      await client(index).create(`${unitOf(index)}/k`, Buffer.from(`key of ${regions[index]}`));
    }
    // Before the cut: every region writes its own unit and the next one's; all of it everywhere.
    for (const index of [0, 1, 2]) {
      assert.equal(await createNoted(client(index), `${unitOf(index)}/before-${regions[index]}`, acknowledged), null);
      assert.equal(await createNoted(client(index), `${unitOf((index + 1) % 3)}/before-${regions[index]}`, acknowledged), null);
    }
    for (const index of [0, 1, 2]) {
      await eventually(async () => (await client(2).exists(`${unitOf(index)}/before-${regions[index]}`)) !== null, convergeTimeoutMs, `region ${regions[index]}'s writes in c`);
    }
    if (kazooMissing === null) kazoos.push(await KazooDriver.start(lab.clientAddresses()[2]!, "region c"));
    else t.diagnostic(`kazoo part skipped: ${kazooMissing}`);
    // A session of c with an ephemeral in a's unit (design 6: it should be disconnected while a is unreachable).
    const ephemeralSession = await ZkClient.connect(lab.clientAddresses()[2]!);
    let ephemeralSessionDisconnected = false;
    ephemeralSession.client.on("disconnected", () => (ephemeralSessionDisconnected = true));
    await ephemeralSession.create(`${unitOf(0)}/ephemeral-of-c`, null, CreateMode.EPHEMERAL);

    lab.emulator.partition("c", "a");
    lab.emulator.partition("c", "b");
    const cutAtMs = Date.now();

    await t.test("the cut region reads every unit and writes its own", async () => {
      for (const index of [0, 1, 2]) {
        assert.equal((await client(2).getData(`${unitOf(index)}/k`)).data?.toString("utf8"), `key of ${regions[index]}`);
        assert.ok((await client(2).getChildren(unitOf(index))).children.includes(`before-${regions[index]}`));
      }
      for (let count = 0; count < 5; count += 1) assert.equal(await createNoted(client(2), `${unitOf(2)}/during-c-${count}`, acknowledged), null);
      if (kazoos[0] !== undefined) {
        assert.equal((await kazoos[0].ok({ op: "get", path: `${unitOf(0)}/k` })).data, "key of a");
        assert.equal((await kazoos[0].ok({ op: "create", path: `${unitOf(2)}/during-kazoo`, data: "k" })).path, `${unitOf(2)}/during-kazoo`);
        acknowledged.push(`${unitOf(2)}/during-kazoo`);
      }
    });

    await t.test("writes across the cut fail with ConnectionLoss while the other regions keep writing", async () => {
      const across = [
        rejectsWithCode(client(2).create(`${unitOf(0)}/during-c`), connectionLoss, "c's create in a's unit"),
        rejectsWithCode(client(2).create(`${unitOf(1)}/during-c`), connectionLoss, "c's create in b's unit"),
        rejectsWithCode(client(0).create(`${unitOf(2)}/during-a`), connectionLoss, "a's create in c's unit"),
      ];
      const healthy = (async () => {
        for (let count = 0; count < 5; count += 1) {
          for (const [writer, unit] of [[0, 0], [0, 1], [1, 1], [1, 0]] as const) {
            assert.equal(await createNoted(client(writer), `${unitOf(unit)}/during-${regions[writer]}-${count}`, acknowledged), null, `${regions[writer]} writes ${unitOf(unit)} during the cut`);
          }
        }
      })();
      await Promise.all([...across, healthy]);
      if (kazoos[0] !== undefined) {
        const reply = await kazoos[0].request({ op: "create", path: `${unitOf(1)}/during-kazoo`, data: "k" });
        assert.equal(reply.ok, false, "kazoo's create across the cut fails");
        assert.equal(reply.error, "ConnectionLoss");
      }
    });

    await t.test("a session whose ephemeral lives in an unreachable unit is disconnected", async () => {
      // The emulator's cut stalls connections; a broker link goes down once its peer has been silent for
      // peerSilenceMsMax (src/broker/link.ts), and the owner counts as unreachable ownerUnreachableMs later.
      const boundMs = brokerLinkDefaults.peerSilenceMsMax + clusterTiming.ownerUnreachableMs + 3_000;
      await eventually(() => ephemeralSessionDisconnected, boundMs - (Date.now() - cutAtMs), `c's session holding ${unitOf(0)}/ephemeral-of-c disconnected`, 100);
    });

    lab.emulator.heal();
    healed = true;
    await t.test("after the heal every acknowledged write is in every region, and writes across work again", async () => {
      for (const [index, reader] of clients.entries()) {
        await eventually(async () => {
          const present = new Set<string>();
          for (const unit of [0, 1, 2]) for (const child of (await reader.getChildren(unitOf(unit))).children) present.add(`${unitOf(unit)}/${child}`);
          return acknowledged.every((path) => present.has(path));
        }, convergeTimeoutMs, `every acknowledged create in ${regions[index]}`);
      }
      for (const unit of [0, 1, 2]) await eventually(async () => {
        try {
          await sameChildrenEverywhere(clients, unitOf(unit));
          return true;
        } catch {
          return false;
        }
      }, convergeTimeoutMs, `the same children of ${unitOf(unit)} everywhere`);
      assert.equal(await createNoted(client(2), `${unitOf(0)}/after-c`, acknowledged), null, "c writes a's unit again");
      await eventually(async () => (await client(0).exists(`${unitOf(0)}/after-c`)) !== null, convergeTimeoutMs, "c's write in a");
    });
    await ephemeralSession.close();
  } finally {
    if (!healed) lab.emulator.heal();
    await closeAll(clients, kazoos, lab);
  }
});
