// Container (op 19) and TTL (op 21) nodes against a real Maestro process
// whose sweep runs every 200 ms (zookeeper-protocol.md §3, §5.3, §5.7).
// Deletions are awaited by bounded polling; "kept" is asserted only after
// a probe node created later has been swept, which proves a sweep ran.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type ServerProcess } from "../support/server-process.js";
import { decodeMultiResponse, ok, RawClient, readCreate2, readStatBody } from "../support/raw-client.js";
import { CreateFlag, ErrorCode, EventType, OpCode, ttlMsMax } from "../../src/protocol/codes.js";
import { eventually } from "../support/zk-client.js";

const testTimeoutMs = 40_000;
const sweepBoundMs = 15_000;
const shortTtl = 300n;

describe("containers and TTL nodes", { timeout: 240_000 }, () => {
  let server: ServerProcess;
  let client: RawClient;

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*", containerSweepIntervalMs: 200 });
    client = await RawClient.connect({ port: server.port });
  });

  after(async () => {
    await client?.close();
    await server?.stop();
  });

  async function exists(path: string): Promise<boolean> {
    const reply = await client.exists(path);
    assert.ok(reply.err === 0 || reply.err === ErrorCode.noNode, `exists ${path}: err ${reply.err}`);
    return reply.err === 0;
  }

  async function waitUntilGone(path: string): Promise<void> {
    await eventually(async () => !(await exists(path)), sweepBoundMs, `${path} to be swept`, 100);
  }

  /** Creates a container, gives it a child, removes the child and waits for the sweep to take it. */
  async function sweepProbe(path: string): Promise<void> {
    ok(await client.createContainer(path));
    ok(await client.create(`${path}/child`));
    ok(await client.delete(`${path}/child`));
    await waitUntilGone(path);
  }

  test("createContainer answers a Create2Response, and the container reports ephemeralOwner 0", { timeout: testTimeoutMs }, async () => {
    const reply = ok(await client.createContainer("/container", Buffer.from("c")));
    const { path, stat } = readCreate2(reply.body);
    assert.equal(path, "/container");
    assert.equal(stat.ephemeralOwner, 0n);
    assert.equal(stat.dataLength, 1);
    assert.equal(readStatBody(ok(await client.exists("/container")).body).ephemeralOwner, 0n);
    ok(await client.create("/container/child"));
  });

  test("a container is deleted by the sweep after its last child goes, and its watchers hear NodeDeleted", { timeout: testTimeoutMs }, async () => {
    ok(await client.createContainer("/emptied"));
    ok(await client.create("/emptied/a"));
    ok(await client.create("/emptied/b"));
    ok(await client.delete("/emptied/a"));
    ok(await client.exists("/emptied", true));
    ok(await client.delete("/emptied/b"));
    await client.waitForNotification({ type: EventType.nodeDeleted, path: "/emptied" }, sweepBoundMs);
    assert.equal(await exists("/emptied"), false);
  });

  test("a container whose last child was an ephemeral goes once that session closes", { timeout: testTimeoutMs }, async () => {
    ok(await client.createContainer("/lock"));
    const holder = await RawClient.connect({ port: server.port });
    ok(await holder.create("/lock/holder-", null, CreateFlag.ephemeralSequential));
    await holder.close();
    await waitUntilGone("/lock");
  });

  test("a container that never had a child, or still has one, is kept by the sweep", { timeout: testTimeoutMs }, async () => {
    ok(await client.createContainer("/never-used"));
    ok(await client.createContainer("/in-use"));
    ok(await client.create("/in-use/child"));
    await sweepProbe("/probe-1");
    await sweepProbe("/probe-2");
    assert.equal(await exists("/never-used"), true, "never-used containers are kept (ZooKeeper releases)");
    assert.equal(await exists("/in-use"), true);
    assert.equal(await exists("/container"), true, "the first test's container still has its child");
  });

  test("a TTL node is deleted once its ttl has passed while it has no children; it reports ephemeralOwner 0", { timeout: testTimeoutMs }, async () => {
    const reply = ok(await client.createTTL("/ttl", shortTtl, Buffer.from("t")));
    const { path, stat } = readCreate2(reply.body);
    assert.equal(path, "/ttl");
    assert.equal(stat.ephemeralOwner, 0n);
    assert.equal(readStatBody(ok(await client.exists("/ttl")).body).ephemeralOwner, 0n);
    await waitUntilGone("/ttl");
  });

  test("a TTL node with children outlives its ttl, and goes once childless", { timeout: testTimeoutMs }, async () => {
    ok(await client.createTTL("/ttl-parent", shortTtl));
    ok(await client.create("/ttl-parent/child"));
    // A later TTL node with the same ttl being swept proves /ttl-parent's ttl has passed.
    ok(await client.createTTL("/ttl-probe", shortTtl));
    await waitUntilGone("/ttl-probe");
    assert.equal(await exists("/ttl-parent"), true, "kept while it has a child");
    ok(await client.delete("/ttl-parent/child"));
    await waitUntilGone("/ttl-parent");
  });

  test("a sequential TTL node (flags 6) gets its suffix and expires too", { timeout: testTimeoutMs }, async () => {
    ok(await client.create("/ttl-seq"));
    const reply = ok(await client.createTTL("/ttl-seq/n-", shortTtl, null, CreateFlag.persistentSequentialWithTtl));
    assert.equal(readCreate2(reply.body).path, "/ttl-seq/n-0000000000");
    await waitUntilGone("/ttl-seq/n-0000000000");
  });

  test("an invalid ttl or a TTL flag without a ttl is BadArguments", { timeout: testTimeoutMs }, async () => {
    const cases: Array<[string, Promise<{ err: number }>]> = [
      ["ttl 0", client.createTTL("/bad-ttl", 0n)],
      ["ttl -1", client.createTTL("/bad-ttl", -1n)],
      ["ttl above 0xFFFFFFFFFF", client.createTTL("/bad-ttl", ttlMsMax + 1n)],
      ["createTTL with persistent flags", client.createTTL("/bad-ttl", 1_000n, null, CreateFlag.persistent)],
      ["createTTL with ephemeral flags", client.createTTL("/bad-ttl", 1_000n, null, CreateFlag.ephemeral)],
      ["create (op 1) with the TTL flag", client.create("/bad-ttl", null, CreateFlag.persistentWithTtl)],
      ["create (op 1) with the sequential TTL flag", client.create("/bad-ttl", null, CreateFlag.persistentSequentialWithTtl)],
      ["createTTL with unknown flags", client.createTTL("/bad-ttl", 1_000n, null, 7)],
    ];
    for (const [what, reply] of cases) assert.equal((await reply).err, ErrorCode.badArguments, what);
    assert.equal(await exists("/bad-ttl"), false);
    const longest = ok(await client.createTTL("/longest-ttl", ttlMsMax));
    assert.equal(readCreate2(longest.body).stat.ephemeralOwner, 0n);
  });

  test("inside a multi, createContainer and createTTL results are create2 results (type 15) with a Stat", { timeout: testTimeoutMs }, async () => {
    const reply = await client.multi([
      { type: OpCode.createContainer, path: "/multi-container", flags: CreateFlag.container },
      { type: OpCode.createTTL, path: "/multi-ttl", ttl: 60_000n },
    ]);
    assert.equal(reply.err, 0);
    const results = decodeMultiResponse(reply.body);
    assert.deepEqual(
      results.map((result) => [result.type, result.err, result.path]),
      [
        [OpCode.create2, 0, "/multi-container"],
        [OpCode.create2, 0, "/multi-ttl"],
      ],
    );
    assert.equal(results[0]!.stat!.ephemeralOwner, 0n);
    assert.equal(results[1]!.stat!.ephemeralOwner, 0n);
  });
});
