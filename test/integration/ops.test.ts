// The 3.5+ operations, the refused opcodes and the four-letter words,
// against a real Maestro process (zookeeper-protocol.md §2, §3, §6).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fourLetterWord, startServer, type ServerProcess } from "../support/server-process.js";
import {
  decodeMultiResponse,
  exchange,
  ok,
  RawClient,
  readChildren,
  readCreate2,
  readStatBody,
} from "../support/raw-client.js";
import { CreateFlag, ErrorCode, OpCode, Perm } from "../../src/protocol/codes.js";
import { JuteReader } from "../../src/protocol/archive.js";
import {
  readGetAllChildrenNumberResponse,
  readGetEphemeralsResponse,
  readSyncResponse,
  readWhoAmIResponse,
  writeReconfigRequest,
} from "../../src/protocol/records.generated.js";

const testTimeoutMs = 30_000;

/** go-zookeeper's pattern for the srvr/stat version line (either date format). */
const versionLine =
  /^Zookeeper version: [A-Za-z0-9.-]+, built on \d\d\/\d\d\/\d\d\d\d \d\d:\d\d [A-Za-z0-9:+-]+$|^Zookeeper version: [A-Za-z0-9.-]+, built on \d{4}-\d\d-\d\d \d\d:\d\d [A-Za-z0-9:+-]+$/;

function hex(value: bigint): string {
  return value.toString(16);
}

/** The numbers of a srvr answer. */
function serverStats(text: string): { latency: string; received: number; sent: number } {
  const latency = /\nLatency min\/avg\/max: (\S+)\n/.exec(text)?.[1];
  const received = /\nReceived: (-?\d+)\n/.exec(text)?.[1];
  const sent = /\nSent: (-?\d+)\n/.exec(text)?.[1];
  assert.ok(latency !== undefined && received !== undefined && sent !== undefined, `srvr: ${text}`);
  return { latency, received: Number(received), sent: Number(sent) };
}

function decode<T>(body: Buffer, read: (reader: JuteReader) => T): T {
  const reader = new JuteReader(body);
  const value = read(reader);
  reader.expectEnd();
  return value;
}

describe("operations and four-letter words", { timeout: 240_000 }, () => {
  let server: ServerProcess;
  let client: RawClient;

  before(async () => {
    server = await startServer({ tickTimeMs: 500, fourLetterWords: "*" });
    client = await RawClient.connect({ port: server.port });
  });

  after(async () => {
    await client?.close();
    await server?.stop();
  });

  test("create2 answers the path and the new node's Stat", { timeout: testTimeoutMs }, async () => {
    const reply = ok(await client.create2("/c2", Buffer.from("data!")));
    const { path, stat } = readCreate2(reply.body);
    assert.equal(path, "/c2");
    assert.equal(stat.czxid, reply.zxid);
    assert.equal(stat.mzxid, stat.czxid);
    assert.equal(stat.pzxid, stat.czxid);
    assert.equal(stat.version, 0);
    assert.equal(stat.dataLength, 5);
    assert.equal(stat.ephemeralOwner, 0n);
    assert.deepEqual(stat, readStatBody(ok(await client.exists("/c2")).body));
    const sequential = readCreate2(ok(await client.create2("/c2/s-", null, CreateFlag.ephemeralSequential)).body);
    assert.equal(sequential.path, "/c2/s-0000000000");
    assert.equal(sequential.stat.ephemeralOwner, client.sessionId);
    assert.equal((await client.create2("/c2")).err, ErrorCode.nodeExists);
  });

  test("getEphemerals lists this session's ephemerals whose path starts with the prefix", { timeout: testTimeoutMs }, async () => {
    const mine = await RawClient.connect({ port: server.port });
    const other = await RawClient.connect({ port: server.port });
    try {
      for (const path of ["/eph", "/ephx", "/other"]) ok(await mine.create(path));
      for (const path of ["/eph/a", "/eph/b", "/ephx/c", "/other/d"]) ok(await mine.create(path, null, CreateFlag.ephemeral));
      ok(await other.create("/eph/not-mine", null, CreateFlag.ephemeral));
      const list = async (prefix: string): Promise<string[]> =>
        decode(ok(await mine.getEphemerals(prefix)).body, readGetEphemeralsResponse).ephemerals.sort();
      assert.deepEqual(await list("/eph/"), ["/eph/a", "/eph/b"]);
      assert.deepEqual(await list("/eph"), ["/eph/a", "/eph/b", "/ephx/c"], "a string prefix, as in ZooKeeper");
      assert.deepEqual(await list("/"), ["/eph/a", "/eph/b", "/ephx/c", "/other/d"]);
      assert.deepEqual(await list("/nothing"), []);
      assert.deepEqual(await list(""), ["/eph/a", "/eph/b", "/ephx/c", "/other/d"], "an empty prefix means all");
    } finally {
      await mine.close();
      await other.close();
    }
  });

  test("getAllChildrenNumber counts every descendant; NoNode for a missing node", { timeout: testTimeoutMs }, async () => {
    for (const path of ["/count", "/count/a", "/count/b", "/count/a/x", "/count/a/y", "/count/a/y/z"]) ok(await client.create(path));
    const count = async (path: string): Promise<number> =>
      decode(ok(await client.getAllChildrenNumber(path)).body, readGetAllChildrenNumberResponse).totalNumber;
    assert.equal(await count("/count"), 5);
    assert.equal(await count("/count/a"), 3);
    assert.equal(await count("/count/b"), 0);
    assert.equal(await count("/zookeeper"), 2);
    assert.equal((await client.getAllChildrenNumber("/count/missing")).err, ErrorCode.noNode);

    // The root counts every node but itself, the built-in /zookeeper nodes included.
    let total = 0;
    const walk = async (path: string): Promise<void> => {
      for (const name of readChildren(ok(await client.getChildren(path)).body)) {
        total += 1;
        await walk(path === "/" ? `/${name}` : `${path}/${name}`);
      }
    };
    await walk("/");
    assert.equal(await count("/"), total);
  });

  test("whoAmI answers the connection's identities: ip, then digest users", { timeout: testTimeoutMs }, async () => {
    const who = await RawClient.connect({ port: server.port });
    try {
      const describe = async (): Promise<string[]> =>
        decode(ok(await who.whoAmI()).body, readWhoAmIResponse).clientInfo.map((info) => `${info.authScheme}:${info.user}`);
      assert.deepEqual(await describe(), ["ip:127.0.0.1"]);
      ok(await who.addAuth("digest", "carol:pass"));
      assert.deepEqual((await describe()).sort(), ["digest:carol", "ip:127.0.0.1"]);
    } finally {
      await who.close();
    }
  });

  test("sync answers the path it was given", { timeout: testTimeoutMs }, async () => {
    ok(await client.create("/synced"));
    assert.equal(decode(ok(await client.sync("/synced")).body, readSyncResponse).path, "/synced");
    assert.equal(decode(ok(await client.sync("/")).body, readSyncResponse).path, "/");
    assert.equal(decode(ok(await client.sync("/no-such-node")).body, readSyncResponse).path, "/no-such-node", "sync does not look the path up");
  });

  test("multiRead returns each op's result or error and never aborts", { timeout: testTimeoutMs }, async () => {
    ok(await client.create("/mr", Buffer.from("parent")));
    ok(await client.create("/mr/a", Buffer.from("A")));
    ok(await client.create("/mr/b"));
    ok(await client.create("/mr/locked", Buffer.from("no"), 0, [{ perms: Perm.admin, id: { scheme: "world", id: "anyone" } }]));
    const reply = await client.multiRead([
      { type: OpCode.getData, path: "/mr/a" },
      { type: OpCode.getData, path: "/mr/missing" },
      { type: OpCode.getChildren, path: "/mr" },
      { type: OpCode.getData, path: "/mr/locked" },
      { type: OpCode.getChildren, path: "/mr/missing" },
      { type: OpCode.getData, path: "/mr" },
    ]);
    assert.equal(reply.err, 0);
    const results = decodeMultiResponse(reply.body);
    assert.deepEqual(
      results.map((result) => [result.type, result.err]),
      [
        [OpCode.getData, 0],
        [-1, ErrorCode.noNode],
        [OpCode.getChildren, 0],
        [-1, ErrorCode.noAuth],
        [-1, ErrorCode.noNode],
        [OpCode.getData, 0],
      ],
    );
    assert.deepEqual(results[0]!.data, Buffer.from("A"));
    assert.equal(results[0]!.stat!.dataLength, 1);
    assert.deepEqual(results[2]!.children!.sort(), ["a", "b", "locked"]);
    assert.deepEqual(results[5]!.data, Buffer.from("parent"));
  });

  test("an unknown opcode is answered Unimplemented (-6) in xid order, then the connection closes", { timeout: testTimeoutMs }, async () => {
    for (const opcode of [999, 10, 0]) {
      const raw = await RawClient.connect({ port: server.port });
      try {
        const first = raw.exists("/");
        const unknown = raw.request(opcode, Buffer.alloc(8));
        const after = raw.exists("/").catch((error: unknown) => error);
        assert.equal((await first).err, 0);
        const reply = await unknown;
        assert.equal(reply.err, ErrorCode.unimplemented, `opcode ${opcode}`);
        assert.ok(await raw.closesWithin(5_000), `opcode ${opcode}: the connection closes after -6`);
        await after;
        assert.deepEqual(raw.outOfOrder, [], `opcode ${opcode}: replies in xid order`);
        const lastReply = raw.replies().at(-1)!;
        assert.equal(lastReply.err, ErrorCode.unimplemented, "nothing is answered after the -6");
      } finally {
        raw.destroy();
      }
    }
  });

  test("a standalone check (op 13) is answered Unimplemented (-6), then the connection closes", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      const first = raw.exists("/");
      const check = raw.request(OpCode.check, (w) => {
        w.writeString("/");
        w.writeInt(-1);
      });
      assert.equal((await first).err, 0);
      assert.equal((await check).err, ErrorCode.unimplemented);
      assert.ok(await raw.closesWithin(5_000));
      assert.deepEqual(raw.outOfOrder, []);
    } finally {
      raw.destroy();
    }
  });

  test("reconfig is ReconfigDisabled (-123) and the connection stays usable", { timeout: testTimeoutMs }, async () => {
    const reply = await client.request(OpCode.reconfig, (w) =>
      writeReconfigRequest(w, { joiningServers: "server.2=127.0.0.1:2888:3888", leavingServers: "", newMembers: "", curConfigId: -1n }),
    );
    assert.equal(reply.err, ErrorCode.reconfigDisabled);
    ok(await client.exists("/"));
  });

  test("four-letter word ruok answers imok with no newline; isro answers rw", { timeout: testTimeoutMs }, async () => {
    assert.equal(await fourLetterWord(server.port, "ruok"), "imok");
    assert.equal(await fourLetterWord(server.port, "isro"), "rw");
  });

  test("srvr prints ZooKeeper's lines in ZooKeeper's order, parseable by go-zookeeper", { timeout: testTimeoutMs }, async () => {
    ok(await client.create("/srvr-zxid"));
    const zxid = client.lastZxid;
    const text = await fourLetterWord(server.port, "srvr");
    const lines = text.split("\n");
    assert.match(lines[0]!, versionLine);
    assert.match(lines[1]!, /^Latency min\/avg\/max: \d+\/[0-9.]+\/\d+$/);
    assert.match(lines[2]!, /^Received: \d+$/);
    assert.match(lines[3]!, /^Sent: \d+$/);
    assert.match(lines[4]!, /^Connections: \d+$/);
    assert.match(lines[5]!, /^Outstanding: \d+$/);
    assert.match(lines[6]!, /^Zxid: 0x[0-9a-f]+$/);
    assert.equal(lines[7], "Mode: standalone");
    assert.match(lines[8]!, /^Node count: \d+$/);
    assert.deepEqual(lines.slice(9), [""], "nothing after Node count but the final newline");
    const reportedZxid = BigInt(lines[6]!.slice("Zxid: ".length));
    assert.ok(reportedZxid >= zxid, `Zxid ${reportedZxid} is at least the last zxid a client saw (${zxid})`);
    assert.ok(Number(lines[4]!.slice("Connections: ".length)) >= 1);
    assert.ok(Number(lines[8]!.slice("Node count: ".length)) >= 5);
  });

  test("stat inserts Clients: and one line per connection after the version", { timeout: testTimeoutMs }, async () => {
    const text = await fourLetterWord(server.port, "stat");
    const lines = text.split("\n");
    assert.match(lines[0]!, versionLine);
    assert.equal(lines[1], "Clients:");
    const clientLine = new RegExp(`^ /127\\.0\\.0\\.1:${client.localPort}\\[\\d+\\]\\(queued=\\d+,recved=\\d+,sent=\\d+\\)$`);
    assert.ok(lines.some((line) => clientLine.test(line)), `a line for our connection in:\n${text}`);
    const latency = lines.findIndex((line) => line.startsWith("Latency min/avg/max: "));
    assert.ok(latency > 2, "the connection lines come before the statistics");
    assert.equal(lines[latency - 1], "", "a blank line ends the client list");
    assert.match(lines[latency + 1]!, /^Received: \d+$/);
    assert.ok(lines.includes("Mode: standalone"));
    assert.ok(lines.some((line) => /^Node count: \d+$/.test(line)));
  });

  test("cons describes each connection with its session, in ZooKeeper's shape", { timeout: testTimeoutMs }, async () => {
    ok(await client.exists("/"));
    const text = await fourLetterWord(server.port, "cons");
    const pattern = new RegExp(
      `^ /127\\.0\\.0\\.1:${client.localPort}\\[\\d+\\]\\(queued=\\d+,recved=\\d+,sent=\\d+,sid=0x${hex(client.sessionId)},lop=\\w+,est=\\d+,to=${client.handshake.timeOut},lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\\d+,llat=\\d+,minlat=\\d+,avglat=\\d+,maxlat=\\d+\\)$`,
    );
    assert.ok(text.split("\n").some((line) => pattern.test(line)), `our connection in:\n${text}`);
    assert.ok(text.endsWith("\n"));
  });

  test("mntr prints tab-separated zk_ keys including ZooKeeper's standard ones", { timeout: testTimeoutMs }, async () => {
    const before = await monitor();
    const owner = await RawClient.connect({ port: server.port });
    try {
      ok(await owner.create("/mntr-e1", null, CreateFlag.ephemeral));
      ok(await owner.create("/mntr-e2", Buffer.from("12345"), CreateFlag.ephemeral));
      ok(await owner.getData("/mntr-e1", true));
      const values = await monitor();
      for (const key of [
        "zk_version",
        "zk_avg_latency",
        "zk_max_latency",
        "zk_min_latency",
        "zk_packets_received",
        "zk_packets_sent",
        "zk_num_alive_connections",
        "zk_outstanding_requests",
        "zk_server_state",
        "zk_znode_count",
        "zk_watch_count",
        "zk_ephemerals_count",
        "zk_approximate_data_size",
        "zk_open_file_descriptor_count",
        "zk_max_file_descriptor_count",
      ]) {
        assert.ok(values.has(key), `mntr has ${key}`);
      }
      assert.equal(values.get("zk_server_state"), "standalone");
      assert.match(values.get("zk_version")!, /^[A-Za-z0-9.-]+, built on /);
      assert.equal(Number(values.get("zk_ephemerals_count")) - Number(before.get("zk_ephemerals_count")), 2);
      assert.equal(Number(values.get("zk_znode_count")) - Number(before.get("zk_znode_count")), 2);
      assert.ok(Number(values.get("zk_watch_count")) >= 1);
      assert.ok(Number(values.get("zk_num_alive_connections")) >= 2);
    } finally {
      await owner.close();
    }

    async function monitor(): Promise<Map<string, string>> {
      const text = await fourLetterWord(server.port, "mntr");
      const map = new Map<string, string>();
      for (const line of text.split("\n")) {
        if (line === "") continue;
        const match = /^(zk_[a-z0-9_]+)\t(.*)$/.exec(line);
        assert.ok(match !== null, `mntr line ${JSON.stringify(line)} is zk_<key>\\t<value>`);
        map.set(match[1]!, match[2]!);
      }
      return map;
    }
  });

  test("wchs, wchc and wchp report the data watches by summary, by session and by path", { timeout: testTimeoutMs }, async () => {
    for (const path of ["/watched-1", "/watched-2", "/watched-3"]) ok(await client.create(path));
    const watcher = await RawClient.connect({ port: server.port });
    try {
      ok(await watcher.getData("/watched-1", true));
      ok(await watcher.exists("/watched-2", true));
      // ZooKeeper's wchs/wchc/wchp report the data-watch table; a child
      // watch may or may not be listed, so nothing below depends on it.
      ok(await watcher.getChildren("/watched-3", true));
      const summary = await fourLetterWord(server.port, "wchs");
      const match = /^(\d+) connections watching (\d+) paths\nTotal watches:(\d+)\n$/.exec(summary);
      assert.ok(match !== null, `wchs shape: ${JSON.stringify(summary)}`);
      assert.ok(Number(match[1]) >= 1, summary);
      assert.ok(Number(match[2]) >= 2, summary);
      assert.ok(Number(match[3]) >= 2, summary);

      const sid = `0x${hex(watcher.sessionId)}`;
      const byConnection = (await fourLetterWord(server.port, "wchc")).split("\n");
      assert.ok(byConnection.includes(sid), `wchc names session ${sid}: ${JSON.stringify(byConnection)}`);
      const watchedPaths = new Set<string>();
      for (let index = 0; index < byConnection.length; index++) {
        if (byConnection[index] !== sid) continue;
        for (let next = index + 1; next < byConnection.length && byConnection[next]!.startsWith("\t"); next++) {
          watchedPaths.add(byConnection[next]!.slice(1));
        }
      }
      assert.ok(watchedPaths.has("/watched-1") && watchedPaths.has("/watched-2"), `wchc paths: ${[...watchedPaths].join(", ")}`);

      const byPath = (await fourLetterWord(server.port, "wchp")).split("\n");
      for (const path of ["/watched-1", "/watched-2"]) {
        const index = byPath.indexOf(path);
        assert.ok(index >= 0, `wchp lists ${path}: ${JSON.stringify(byPath)}`);
        assert.equal(byPath[index + 1], `\t${sid}`);
      }
    } finally {
      await watcher.close();
    }
  });

  test("conf prints key=value lines with the client port, tickTime and session timeout bounds", { timeout: testTimeoutMs }, async () => {
    const lines = (await fourLetterWord(server.port, "conf")).split("\n").filter((line) => line !== "");
    for (const line of lines) assert.match(line, /^[A-Za-z0-9_.]+=.*$/);
    assert.ok(lines.includes(`clientPort=${server.port}`), lines.join("|"));
    assert.ok(lines.includes("tickTime=500"));
    assert.ok(lines.includes("minSessionTimeout=1000"));
    assert.ok(lines.includes("maxSessionTimeout=10000"));
    assert.ok(lines.some((line) => line.startsWith("dataDir=")));
  });

  test("envi, dump and dirs answer in ZooKeeper's shapes", { timeout: testTimeoutMs }, async () => {
    const environment = (await fourLetterWord(server.port, "envi")).split("\n");
    assert.equal(environment[0], "Environment:");
    assert.ok(environment.some((line) => line.startsWith("zookeeper.version=")));
    for (const line of environment.slice(1).filter((entry) => entry !== "")) assert.match(line, /^[^=]+=/);

    const owner = await RawClient.connect({ port: server.port });
    try {
      ok(await owner.create("/dumped", null, CreateFlag.ephemeral));
      const dump = await fourLetterWord(server.port, "dump");
      assert.match(dump, /^SessionTracker dump:\n/);
      assert.match(dump, /\nephemeral nodes dump:\n/);
      assert.match(dump, /Sessions with Ephemerals \(\d+\):\n/);
      assert.ok(dump.includes(`0x${hex(owner.sessionId)}:\n\t/dumped\n`), dump);
    } finally {
      await owner.close();
    }
    assert.match(await fourLetterWord(server.port, "dirs"), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
  });

  test("srst resets the server's counters and latencies", { timeout: testTimeoutMs }, async () => {
    for (let index = 0; index < 20; index++) ok(await client.exists("/"));
    ok(await client.create("/big", Buffer.alloc(900_000, 1)));
    for (let index = 0; index < 3; index++) ok(await client.setData("/big", Buffer.alloc(900_000, index)));
    const before = serverStats(await fourLetterWord(server.port, "srvr"));
    assert.ok(before.received >= 24);
    assert.equal(await fourLetterWord(server.port, "srst"), "Server stats reset.\n");
    const after = serverStats(await fourLetterWord(server.port, "srvr"));
    // Only an automatic ping of `client` can come in between.
    assert.ok(after.received <= 2, `Received ${after.received} right after srst`);
    assert.ok(after.sent <= 2, `Sent ${after.sent} right after srst`);
    if (after.received === 0) assert.equal(after.latency, "0/0.0/0", `latency right after srst (max was ${before.latency})`);
  });

  test("crst resets each connection's statistics but not the server's", { timeout: testTimeoutMs }, async () => {
    const quiet = await RawClient.connect({ port: server.port, autoPing: false });
    try {
      for (let index = 0; index < 5; index++) ok(await quiet.exists("/"));
      const before = serverStats(await fourLetterWord(server.port, "srvr"));
      assert.equal(await fourLetterWord(server.port, "crst"), "Connection stats reset.\n");
      const after = serverStats(await fourLetterWord(server.port, "srvr"));
      assert.ok(after.received >= before.received, `server Received went from ${before.received} to ${after.received} after crst`);
      assert.ok(after.sent >= before.sent, `server Sent went from ${before.sent} to ${after.sent} after crst`);
      const cons = await fourLetterWord(server.port, "cons");
      const line = cons.split("\n").find((entry) => entry.startsWith(` /127.0.0.1:${quiet.localPort}[`));
      assert.ok(line !== undefined, cons);
      assert.match(line, /\(queued=\d+,recved=0,sent=0,/, "the connection's counters restart");
      assert.match(line, /,lop=NA,/, "the last operation is forgotten");
      assert.match(line, /,llat=0,minlat=0,avglat=0,maxlat=0\)$/, "the connection's latencies restart");
    } finally {
      await quiet.close();
    }
  });

  test("srvr stays parseable after srst and crst: no negative counts, no non-numeric latency", { timeout: testTimeoutMs }, async () => {
    for (let index = 0; index < 5; index++) ok(await client.exists("/"));
    assert.equal(await fourLetterWord(server.port, "srst"), "Server stats reset.\n");
    for (let index = 0; index < 5; index++) ok(await client.exists("/"));
    assert.equal(await fourLetterWord(server.port, "crst"), "Connection stats reset.\n");
    const text = await fourLetterWord(server.port, "srvr");
    const lines = text.split("\n");
    assert.match(lines[1]!, /^Latency min\/avg\/max: \d+\/[0-9.]+\/\d+$/, text);
    assert.match(lines[2]!, /^Received: \d+$/, text);
    assert.match(lines[3]!, /^Sent: \d+$/, text);
    const stats = await fourLetterWord(server.port, "mntr");
    for (const key of ["zk_min_latency", "zk_avg_latency", "zk_max_latency", "zk_packets_received", "zk_packets_sent"]) {
      assert.match(stats, new RegExp(`(^|\\n)${key}\\t[0-9.]+\\n`), `${key} after srst and crst:\n${stats}`);
    }
  });

  test("a four-letter word gets its answer and then the connection is closed, even with bytes after it", { timeout: testTimeoutMs }, async () => {
    assert.equal(await fourLetterWord(server.port, "ruokruok"), "imok");
  });

  test("a four-letter word split across TCP segments is still recognised", { timeout: testTimeoutMs }, async () => {
    const result = await exchange({ port: server.port, chunks: [Buffer.from("r"), Buffer.from("uo"), Buffer.from("k")], chunkDelayMs: 30, waitMs: 5_000 });
    assert.equal(result.closed, true);
    assert.equal(result.received.toString("latin1"), "imok");
  });
});

describe("four-letter words with the default whitelist", { timeout: 60_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServer({ tickTimeMs: 500 });
  });

  after(async () => {
    await server?.stop();
  });

  test("only srvr is allowed; any other word answers '<cmd> is not executed because it is not in the whitelist.'", { timeout: testTimeoutMs }, async () => {
    assert.match((await fourLetterWord(server.port, "srvr")).split("\n")[0]!, versionLine);
    for (const word of ["ruok", "mntr", "stat", "cons", "wchc", "dump", "conf", "envi"]) {
      assert.equal(await fourLetterWord(server.port, word), `${word} is not executed because it is not in the whitelist.\n`);
    }
  });

  test("the server still serves clients normally", { timeout: testTimeoutMs }, async () => {
    const raw = await RawClient.connect({ port: server.port });
    try {
      ok(await raw.create("/works"));
      ok(await raw.getData("/works"));
    } finally {
      await raw.close();
    }
  });
});
