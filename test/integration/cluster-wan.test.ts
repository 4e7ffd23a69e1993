// Multi-region Maestro end to end: the maestro-cluster lab (one node per
// region, every broker link through the WAN emulator, scaled-down round
// trips so the test stays short) with units /wan/r0, /wan/r1, /wan/r2 homed
// at regions a, b, c. In every region both node-zookeeper-client and kazoo
// (a Python child process) create nodes in their own region's unit and in
// another region's, make sequential nodes under one parent, take a lock and
// set watches, and each region's view is checked: data converges
// everywhere, a watch in one region fires for a write made in another,
// sequence numbers under one parent are unique across regions, and a lock
// held in one region keeps the others out until it is released. Without
// kazoo (/usr/bin/python3 cannot import it) the kazoo half is skipped with
// the reason; the node-client half still runs.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Event } from "node-zookeeper-client";
import { Lab, fourLetterWord } from "../../src/lab/lab.js";
import { parseLabTopology } from "../../src/lab/lab-topology.js";
import { KazooDriver, kazooUnavailable } from "../support/kazoo-driver.js";
import { CreateMode, eventually, watchOnce, ZkClient } from "../support/zk-client.js";

const regions = ["a", "b", "c"] as const;
const convergeTimeoutMs = 10_000;
const kazooMissing = kazooUnavailable();

/** The lab: round trips of 20 to 30 ms instead of 70 to 190 (same paths, shorter waits). */
function clusterTopology() {
  return parseLabTopology({
    deployment: "maestro-cluster",
    regions: [...regions],
    roundTripMs: { a: { b: 20, c: 30 }, b: { c: 24 } },
    leaseRoots: regions.map((region, index) => ({ path: `/wan/r${index}`, home: region })),
  });
}

/** A lock in kazoo's recipe's shape (…__lock__NNNNNNNNNN, lowest sequence holds it), with node-zookeeper-client. */
async function nodeClientLock(client: ZkClient, directory: string, identifier: string, timeoutMs: number): Promise<{ acquired: boolean; path: string }> {
  const own = await client.create(`${directory}/${identifier}__lock__`, Buffer.from(identifier), CreateMode.EPHEMERAL_SEQUENTIAL);
  const ownName = own.slice(directory.length + 1);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sequenceOf = (name: string): string => /__lock__(-?\d{10})$/.exec(name)?.[1] ?? "";
    const contenders = (await client.getChildren(directory)).children.filter((name) => sequenceOf(name) !== "");
    contenders.sort((x, y) => sequenceOf(x).localeCompare(sequenceOf(y)));
    const index = contenders.indexOf(ownName);
    assert.ok(index >= 0, `${own} is among the contenders`);
    if (index === 0) return { acquired: true, path: own };
    const watch = watchOnce(Math.max(1, deadline - Date.now()));
    if ((await client.exists(`${directory}/${contenders[index - 1]}`, watch.watcher)) === null) continue;
    try {
      await watch.event;
    } catch {
      await client.remove(own);
      return { acquired: false, path: own };
    }
  }
}

/** Whether `promise` is still pending after `ms`. */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol("pending");
  const outcome = await Promise.race([promise, new Promise((resolveWait) => setTimeout(() => resolveWait(pending), ms))]);
  return outcome === pending;
}

async function dataAt(client: ZkClient, path: string): Promise<string | null> {
  if ((await client.exists(path)) === null) return null;
  return (await client.getData(path)).data?.toString("utf8") ?? "";
}

test("maestro-cluster over the WAN emulator: creates, sequences, watches and a lock agree across regions", { timeout: 60_000 }, async (t) => {
  const lab = await Lab.start(clusterTopology(), { readyTimeoutMs: 20_000 });
  const clients: ZkClient[] = [];
  const kazoos: KazooDriver[] = [];
  try {
    const addresses = lab.clientAddresses();
    for (const server of lab.servers) {
      const leases = JSON.parse(await fourLetterWord(server.clientPort, "leas")) as { region: string; units: Array<{ unit: string; owner: string }> };
      assert.equal(leases.region, server.region);
      assert.deepEqual(
        leases.units.filter((unit) => unit.unit.startsWith("/wan/")).map((unit) => [unit.unit, unit.owner]),
        regions.map((region, index) => [`/wan/r${index}`, region]),
      );
    }
    for (const address of addresses) clients.push(await ZkClient.connect(address));
    if (kazooMissing === null) for (const [index, address] of addresses.entries()) kazoos.push(await KazooDriver.start(address, `region ${regions[index]}`));
    else t.diagnostic(`kazoo part skipped: ${kazooMissing}`);
    const client = (index: number): ZkClient => clients[index % 3]!;

    // The lease roots: /wan in the root unit (a), each /wan/r<i> made from its own region.
    await client(0).create("/wan");
    for (const index of [0, 1, 2]) {
      await eventually(async () => (await client(index).exists("/wan")) !== null, convergeTimeoutMs, `/wan in region ${regions[index]}`);
      await client(index).create(`/wan/r${index}`);
    }
    assert.ok(lab.emulator.proxies().reduce((sum, proxy) => sum + proxy.connections, 0) > 0, "broker traffic goes through the emulator");

    await t.test("creates in a local and a remote unit converge in every region", async () => {
      const expected = new Map<string, string>();
      for (const index of [0, 1, 2]) {
        for (const [path, data] of [
          [`/wan/r${index}/n-${index}`, `node-${index}`],
          [`/wan/r${(index + 1) % 3}/n-${index}`, `node-${index}-remote`],
        ] as const) {
          await client(index).create(path, Buffer.from(data));
          expected.set(path, data);
        }
        const kazoo = kazoos[index];
        if (kazoo === undefined) continue;
        for (const [path, data] of [
          [`/wan/r${index}/k-${index}`, `kazoo-${index}`],
          [`/wan/r${(index + 2) % 3}/k-${index}`, `kazoo-${index}-remote`],
        ] as const) {
          assert.equal((await kazoo.ok({ op: "create", path, data })).path, path);
          expected.set(path, data);
        }
      }
      for (const index of [0, 1, 2]) {
        for (const [path, data] of expected) {
          await eventually(async () => (await dataAt(client(index), path)) === data, convergeTimeoutMs, `${path} = ${data} in region ${regions[index]}`);
          if (kazoos[index] !== undefined) assert.equal((await kazoos[index].ok({ op: "get", path })).data, data, `kazoo in ${regions[index]} reads ${path}`);
        }
      }
    });

    await t.test("sequential children of one parent are unique across regions", async () => {
      const parent = "/wan/r1/seq";
      await client(1).create(parent);
      for (const index of [0, 2]) await eventually(async () => (await client(index).exists(parent)) !== null, convergeTimeoutMs, `${parent} in ${regions[index]}`);
      const perClient = 4;
      const made = await Promise.all(
        [0, 1, 2].flatMap((index) => {
          const fromNode = Array.from({ length: perClient }, () => client(index).create(`${parent}/s-`, Buffer.from(`n${index}`), CreateMode.PERSISTENT_SEQUENTIAL));
          const kazoo = kazoos[index];
          const fromKazoo =
            kazoo === undefined
              ? []
              : [
                  (async () => {
                    const paths: string[] = [];
                    for (let count = 0; count < perClient; count += 1) paths.push((await kazoo.ok({ op: "create", path: `${parent}/s-`, data: `k${index}`, sequence: true })).path!);
                    return paths;
                  })(),
                ];
          return [...fromNode.map((created) => created.then((path) => [path])), ...fromKazoo];
        }),
      );
      const names = made.flat().map((path) => path.slice(parent.length + 1));
      assert.equal(new Set(names).size, names.length, `unique sequence names: ${names.join(" ")}`);
      const sorted = [...names].sort();
      for (const index of [0, 1, 2]) {
        await eventually(async () => (await client(index).getChildren(parent)).children.length === names.length, convergeTimeoutMs, `all of ${parent} in ${regions[index]}`);
        assert.deepEqual((await client(index).getChildren(parent)).children.sort(), sorted);
        if (kazoos[index] !== undefined) assert.deepEqual((await kazoos[index].ok({ op: "children", path: parent })).children, sorted);
      }
    });

    await t.test("a watch in one region fires for a write in another, on a local and on a remote unit", async () => {
      // Region a watches c's unit; kazoo in c (or node client in c) writes locally there.
      const onRemote = watchOnce(convergeTimeoutMs);
      await client(0).getData("/wan/r2/n-2", onRemote.watcher);
      if (kazoos[2] !== undefined) await kazoos[2].ok({ op: "set", path: "/wan/r2/n-2", data: "changed-by-c" });
      else await client(2).setData("/wan/r2/n-2", Buffer.from("changed-by-c"));
      const event: Event = await onRemote.event;
      assert.equal(event.getName(), "NODE_DATA_CHANGED");
      assert.equal(await dataAt(client(0), "/wan/r2/n-2"), "changed-by-c");

      // Region b watches its own unit; region a's write is forwarded to b.
      const onLocal = watchOnce(convergeTimeoutMs);
      await client(1).getData("/wan/r1/n-1", onLocal.watcher);
      if (kazoos[0] !== undefined) await kazoos[0].ok({ op: "set", path: "/wan/r1/n-1", data: "changed-by-a" });
      else await client(0).setData("/wan/r1/n-1", Buffer.from("changed-by-a"));
      assert.equal((await onLocal.event).getName(), "NODE_DATA_CHANGED");
      assert.equal(await dataAt(client(1), "/wan/r1/n-1"), "changed-by-a");

      // kazoo in b watches a's unit; the node client in c writes it (forwarded to a).
      if (kazoos[1] !== undefined) {
        const watched = await kazoos[1].watch("/wan/r0/n-0", convergeTimeoutMs);
        assert.equal(watched.data, "node-0");
        await client(2).setData("/wan/r0/n-0", Buffer.from("changed-by-c"));
        const fired = await watched.fired;
        assert.equal(fired.event, "CHANGED");
        assert.equal((await kazoos[1].ok({ op: "get", path: "/wan/r0/n-0" })).data, "changed-by-c");
      }
    });

    await t.test("a lock held in one region keeps the other regions out until it is released", async () => {
      const directory = "/wan/r2/lock";
      await client(2).create(directory);
      for (const index of [0, 1]) await eventually(async () => (await client(index).exists(directory)) !== null, convergeTimeoutMs, `${directory} in ${regions[index]}`);
      // Region a holds it (a remote unit for a).
      const held = await nodeClientLock(client(0), directory, "node-a", convergeTimeoutMs);
      assert.ok(held.acquired);
      if (kazoos[1] !== undefined) {
        // kazoo in b cannot take it while a holds it...
        assert.equal((await kazoos[1].ok({ op: "lock", path: directory, timeoutS: 1.5 })).acquired, false);
        await client(0).remove(held.path);
        // ...and takes it once a lets go; then region c (node client) waits for kazoo.
        assert.equal((await kazoos[1].ok({ op: "lock", path: directory, timeoutS: 10 })).acquired, true);
        const waiting = nodeClientLock(client(2), directory, "node-c", convergeTimeoutMs);
        assert.ok(await stillPending(waiting, 1_000), "region c waits while kazoo in b holds the lock");
        await kazoos[1].ok({ op: "unlock", path: directory });
        const taken = await waiting;
        assert.ok(taken.acquired, "region c gets the lock once b releases it");
        await client(2).remove(taken.path);
      } else {
        const waiting = nodeClientLock(client(1), directory, "node-b", convergeTimeoutMs);
        assert.ok(await stillPending(waiting, 1_000), "region b waits while a holds the lock");
        await client(0).remove(held.path);
        const taken = await waiting;
        assert.ok(taken.acquired, "region b gets the lock once a releases it");
        await client(1).remove(taken.path);
      }
    });
  } finally {
    await Promise.all(kazoos.map((kazoo) => kazoo.close()));
    await Promise.all(clients.map((entry) => entry.close()));
    await lab.stop();
  }
});
