#!/usr/bin/env node
// The Java client through zkCli.sh (Debian's zookeeper package, 3.8.0):
// scripted sessions covering its commands (create -s -e -c -t, get -s -w,
// set -s -v, stat -w, ls -R -s -w, delete -v, deleteall, getAcl -s,
// setAcl -s -v -R, addauth, whoami, sync, getEphemerals, getAllChildrenNumber,
// addWatch -m, removewatches, setquota / listquota / delquota, config,
// reconfig, version, close), each command's output normalized and
// checked against expected/zookeeper-3.8.0.txt (recorded from Apache
// ZooKeeper 3.8.0 and reviewed), and by run.mjs against the other server.
//
//   node compat-tests/java/zkcli-suite.mjs 127.0.0.1:2181 [--json FILE] [--record FILE]
//
// The target should have the super digest super:test (kazoo's harness
// setting), extended types (TTL) and a short container check interval.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CliProcess, Renumberer, judge, readTranscript, sleep, writeTranscript } from "./scripted-cli.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const expectedTranscriptFile = join(here, "expected", "zookeeper-3.8.0.txt");

const zkCliScript = "/usr/share/zookeeper/bin/zkCli.sh";
const marker = "printwatches";
const markerOutput = "printwatches is on\n";
const quietMs = 300;
const sessionTimeoutMs = 180_000;

const digest = (user, password) => `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;

// Steps: a command (R stands for the run's root node, HOST:PORT for the
// server), or { cmd, until } to repeat a command until its normalized output
// matches (bounded), or { events: n } to wait for n watch events since the
// last events step (its output is those events, after a quiet period that
// catches extra ones), or { expect: [regex] } for the point of the step.
const sessions = [
  {
    name: "nodes",
    steps: [
      { cmd: "create R root", expect: [/^Created \/ROOT$/] },
      "create R/p hello",
      { cmd: "create R/p again", expect: [/already exists/] },
      { cmd: "create R/none/child", expect: [/does not exist/] },
      { cmd: "create -s R/p/seq- a", expect: [/seq-0000000000$/] },
      { cmd: "create -s R/p/seq- b", expect: [/seq-0000000001$/] },
      "create -e R/p/eph e",
      { cmd: "create -s -e R/p/eseq- x", expect: [/eseq-0000000003$/] },
      { cmd: "create R/p/eph/child", expect: [/[Ee]phemerals cannot have children/] },
      "create -c R/cont",
      "create -t 60000 R/ttl t",
      "create -s -t 60000 R/ttlseq- t",
      "create -t 0 R/ttl0 t",
      "create R/acl a world:anyone:r",
      "create R/empty",
      "get R/p",
      "get -s R/p",
      "get R/empty",
      { cmd: "get R/none", expect: [/does not exist/] },
      "stat R/p",
      { cmd: "stat R/p/eph", expect: [/ephemeralOwner = SESSION1/] },
      "stat R/cont",
      "stat R/ttl",
      "stat R/none",
      { cmd: "ls R", expect: [/^\[acl, cont, empty, p, ttl, ttlseq-0000000003\]$/] },
      "ls -s R",
      "ls -R R",
      "ls R/none",
      "set R/p v1",
      { cmd: "set -s R/p v2", expect: [/dataVersion = 2/] },
      { cmd: "set -v 0 R/p v3", expect: [/version No is not valid/] },
      "set -s -v 2 R/p v3",
      { cmd: "set R/acl nope", expect: [/Insufficient permission/] },
      "set R/none x",
      "getAllChildrenNumber R",
      "getAllChildrenNumber R/p",
      "getAllChildrenNumber R/none",
      "getEphemerals R",
      "getEphemerals R/p/eseq-",
      "sync R",
      { cmd: "delete R/p", expect: [/not empty/] },
      { cmd: "delete -v 9 R/p/seq-0000000000", expect: [/version No is not valid/] },
      "delete -v 0 R/p/seq-0000000000",
      "delete R/none",
      "deleteall R/p",
      "ls R",
      "getEphemerals R",
    ],
  },
  {
    name: "acl",
    steps: [
      "create R root",
      "getAcl R",
      "getAcl -s R",
      "setAcl R world:anyone:cdrwa",
      "setAcl -s R world:anyone:cdrwa",
      { cmd: "setAcl -v 9 R world:anyone:r", expect: [/version No is not valid/] },
      "create R/a a",
      "create R/a/b b",
      "setAcl -R R/a world:anyone:cdr",
      "getAcl R/a",
      "getAcl R/a/b",
      "create R/a/c c",
      "delete R/a/b",
      "whoami",
      "addauth digest alice:secret",
      "whoami",
      "create R/mine m auth::cdrwa",
      "getAcl R/mine",
      "create R/ip i ip:127.0.0.1:cdrwa",
      "getAcl R/ip",
      `create R/bob b digest:${digest("bob", "pw")}:r`,
      { cmd: "getAcl R/bob", expect: [/Insufficient permission/] },
      { cmd: "get R/bob", expect: [/Insufficient permission/] },
      "setAcl R/bob world:anyone:cdrwa",
      "addauth digest bob:pw",
      "get R/bob",
      `getAcl R/bob`,
      "create R/locked l world:anyone:",
      "get R/locked",
      "addauth digest super:test",
      "get R/locked",
      "setAcl R/locked world:anyone:cdrwa",
      "getAcl R/locked",
      "whoami",
      "create R/bad b nosuchscheme:x:cdrwa",
      "create R/bad b digest:nocolon:cdrwa",
      "create R/bad b ip:999.1.1.1:cdrwa",
      "setAcl R/ip nosuchscheme:x:cdrwa",
    ],
  },
  {
    name: "watches",
    steps: [
      "create R root",
      "create R/w w",
      "get -w R/w",
      "set R/w x",
      { events: 2 },
      "stat -w R/w",
      "ls -w R",
      "create R/w2",
      "set R/w y",
      { events: 2 },
      "ls -w R",
      "get -w R/w",
      "delete R/w",
      { events: 2 },
      "stat -w R/later",
      "create R/later",
      { events: 1 },
      "addWatch -m PERSISTENT R/pw",
      "create R/pw",
      "create R/pw/c",
      "set R/pw d",
      "set R/pw/c d",
      "delete R/pw/c",
      { events: 4 },
      // zkCli 3.8.0 reuses one AddWatchCommand whose mode outlives a
      // parse, so after `-m PERSISTENT` a bare `addWatch` is persistent too:
      // the mode is always given.
      "addWatch -m PERSISTENT_RECURSIVE R/rw",
      "create R/rw",
      "create R/rw/a",
      "create R/rw/a/deep",
      "set R/rw/a x",
      "delete R/rw/a/deep",
      { events: 5 },
      "removewatches R/pw",
      { events: 1 },
      "set R/pw e",
      "removewatches R/rw -a",
      { events: 1 },
      "set R/rw z",
      "get -w R/w2",
      "removewatches R/w2 -d",
      { events: 1 },
      "removewatches R/w2 -c",
      "removewatches R/none",
      "ls -w R/w2",
      "get -w R/w2",
      "removewatches R/w2 -a",
      { events: 2 },
      "set R/w2 quiet",
      { events: 0 },
    ],
  },
  {
    name: "quota-config-lifetimes",
    steps: [
      "create R root",
      "create R/q",
      "create R/q/a 12345",
      "setquota -n 10 R/q",
      "listquota R/q",
      "create R/q/b 123",
      "set R/q/a 1",
      "listquota R/q",
      "setquota -b 100 R/q",
      "listquota R/q",
      "delquota -n R/q",
      "listquota R/q",
      "delquota R/q",
      "listquota R/q",
      "listquota R/none",
      "config",
      "config -s",
      "reconfig -remove 1",
      "version",
      "create -t 1000 R/ttl x",
      { cmd: "stat R/ttl", until: /does not exist/ },
      "create -c R/c",
      "create R/c/x",
      "stat R/c",
      "delete R/c/x",
      { cmd: "stat R/c", until: /does not exist/ },
      "create -c R/never-used",
      "stat R/never-used",
      "create -e R/eph",
      "getEphemerals R",
      "close",
    ],
  },
  {
    // A new zkCli on the previous session's nodes: the ephemeral went with
    // the closed session. (zkCli's own `connect` after `close` races its
    // connection state, so a new process is used instead.)
    name: "after-close",
    rootOf: "quota-config-lifetimes",
    steps: [
      { cmd: "stat R/eph", expect: [/does not exist/] },
      "ls R",
      "deleteall R",
      "stat R",
    ],
  },
];

/** zkCli.sh, or its main class on Debian's classpath if the script is missing. */
function zkCliCommand(hostPort) {
  if (existsSync(zkCliScript)) return { command: zkCliScript, args: ["-server", hostPort] };
  const classpath = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar"].map((jar) => `/usr/share/java/${jar}`).join(":");
  return { command: "java", args: ["-cp", classpath, "org.apache.zookeeper.ZooKeeperMain", "-server", hostPort] };
}

export function javaClientAvailable() {
  return existsSync(zkCliScript) || existsSync("/usr/share/java/zookeeper.jar");
}

/**
 * DataWatchRemoved/ChildWatchRemoved events are made by the Java client
 * itself when removewatches succeeds, in the order of its own hash maps: the
 * same client prints them in either order against the same server. A step
 * made only of such events is compared as a sorted list.
 */
function sortClientSideRemovals(output) {
  const lines = output.split("\n").filter((line) => line !== "");
  if (lines.length < 2 || !lines.every((line) => /type:\w*WatchRemoved /.test(line))) return output;
  return [...lines].sort().join("\n") + (output.endsWith("\n") ? "\n" : "");
}

/** Normalizes one command's output (lines without watch events). */
function normalize(lines, state) {
  return lines
    .map((line) =>
      line
        .replaceAll(state.root, "/ROOT")
        .replaceAll(state.hostPort, "HOST:PORT")
        .replace(/^([cmp]Zxid = )0x([0-9a-f]+)$/, (_, key, value) => (value === "0" ? `${key}0x0` : `${key}${state.zxids.name(value)}`))
        .replace(/^((?:c|m)time = )(.*)$/, (_, key, value) => (value.includes(" 1970") ? `${key}${value}` : `${key}TIME`))
        .replace(/^(ephemeralOwner = )0x([0-9a-f]+)$/, (_, key, value) => (value === "0" ? `${key}0x0` : `${key}${state.sessions.name(value)}`))
        .replace(/digest:([^:]+):[A-Za-z0-9+/=]{28}/g, "digest:$1:HASH"),
    )
    .join("\n");
}

/**
 * whoami lists the session's identities in the server's order; ZooKeeper's
 * is hash order (ServerCnxn keeps them in a set), not part of the protocol.
 */
function sortWhoAmI(output) {
  const [header, ...identities] = output.split("\n");
  return [header, ...identities.sort()].join("\n");
}

/** getEphemerals prints the session's ephemerals in the server's (ZooKeeper: hash) order. */
function sortList(output) {
  const match = /^\[(.*)\]$/.exec(output);
  if (!match || match[1] === "") return output;
  return `[${match[1].split(", ").sort().join(", ")}]`;
}

const eventLine = /^WatchedEvent state:\S+ type:\S+ path:.*$/;

/** Splits a command's raw output into plain lines and watch-event lines. */
function separateEvents(raw) {
  const lines = [];
  const events = [];
  for (const line of raw.split("\n")) {
    if (eventLine.test(line)) events.push(line);
    else if (line !== "" && line !== "WATCHER::" && !line.startsWith("SLF4J:")) lines.push(line);
  }
  return { lines, events };
}

async function runSession(session, context) {
  const { command, args } = zkCliCommand(context.hostPort);
  const cli = new CliProcess(command, args, {
    env: { ...process.env, CLIENT_JVMFLAGS: "-XX:TieredStopAtLevel=1 -Xshare:auto", ZOO_LOG_DIR: context.logDir },
  });
  const state = { root: context.root, hostPort: context.hostPort, zxids: new Renumberer("ZXID"), sessions: new Renumberer("SESSION"), events: [] };
  let eventsSeen = 0;
  const tests = [];
  const started = Date.now();
  const isMarked = (text) => text.includes(markerOutput);
  // Watch events print from the client's event thread, so they may come
  // before or after the marker: take them from the whole text, and the
  // command's own output from before the marker.
  const absorb = (raw) => {
    const [before, ...after] = raw.split(markerOutput);
    const { lines, events } = separateEvents(before);
    state.events.push(...events, ...separateEvents(after.join("")).events);
    return lines;
  };
  try {
    // Connection preamble ("Connecting to", "Welcome", the SyncConnected event).
    absorb(await cli.run(marker, isMarked, 60_000, "start zkCli"));
    for (const [index, step] of session.steps.entries()) {
      const spec = typeof step === "string" ? { cmd: step } : step;
      const label = spec.events !== undefined ? `(${spec.events} watch events)` : spec.cmd;
      const id = `${session.name} ${String(index + 1).padStart(2, "0")} ${label}`;
      if (Date.now() - started > sessionTimeoutMs) {
        tests.push({ id, status: "failed", detail: "session time limit reached" });
        continue;
      }
      try {
        let output;
        if (spec.events !== undefined) {
          const deadline = Date.now() + 15_000;
          while (state.events.length - eventsSeen < spec.events && Date.now() < deadline) {
            absorb(await cli.run(marker, isMarked));
            await sleep(100);
          }
          await sleep(quietMs);
          absorb(await cli.run(marker, isMarked));
          output = sortClientSideRemovals(normalize(state.events.slice(eventsSeen), state));
          eventsSeen = state.events.length;
        } else {
          const line = spec.cmd.replace(/(^|\s)R(?=[/\s]|$)/g, `$1${context.root}`).replace("HOST:PORT", context.hostPort);
          const deadline = Date.now() + 20_000;
          for (;;) {
            const raw = await cli.run(`${line}\n${marker}`, isMarked, 20_000, line);
            output = normalize(absorb(raw), state);
            if (spec.cmd === "whoami") output = sortWhoAmI(output);
            if (spec.cmd.startsWith("getEphemerals")) output = sortList(output);
            if (!spec.until || spec.until.test(output) || Date.now() > deadline) break;
            await sleep(500);
          }
        }
        tests.push({ id, output, ...judge(id, output, context.expected, spec) });
      } catch (error) {
        tests.push({ id, status: "failed", detail: String(error.message ?? error) });
      }
    }
  } catch (error) {
    for (const [index, step] of session.steps.entries()) {
      const label = typeof step === "string" ? step : step.cmd ?? `(${step.events} watch events)`;
      tests.push({ id: `${session.name} ${String(index + 1).padStart(2, "0")} ${label}`, status: "failed", detail: `zkCli did not start: ${error.message}` });
    }
  } finally {
    await cli.close("quit");
  }
  return tests;
}

/**
 * Runs every session against host:port; resolves with { suite, target,
 * tests: [{ id, status, output, detail? }], durationMs }. Tests compare
 * between servers by `output`.
 */
export async function runJavaSuite({ host, port, logDir = "/tmp", expectedFile = expectedTranscriptFile, log = () => undefined }) {
  const started = Date.now();
  const hostPort = `${host}:${port}`;
  const root = `/compat-java-${randomBytes(4).toString("hex")}`;
  const expected = readTranscript(expectedFile);
  const tests = [];
  for (const [index, session] of sessions.entries()) {
    const rootIndex = session.rootOf ? sessions.findIndex((other) => other.name === session.rootOf) : index;
    const sessionTests = await runSession(session, { hostPort, root: `${root}-${rootIndex}`, expected, logDir });
    for (const test of sessionTests) log(`${test.status === "passed" ? "ok  " : "FAIL"} ${test.id}${test.detail ? `\n${test.detail.replace(/^/gm, "      ")}` : ""}`);
    tests.push(...sessionTests);
  }
  return { suite: "java-zkcli", target: hostPort, tests, durationMs: Date.now() - started };
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: "string" }, record: { type: "string" } } });
  const target = positionals[0];
  if (!target || !target.includes(":")) {
    console.error("usage: zkcli-suite.mjs HOST:PORT [--json FILE] [--record FILE]");
    process.exit(2);
  }
  const separator = target.lastIndexOf(":");
  const result = await runJavaSuite({
    host: target.slice(0, separator),
    port: Number(target.slice(separator + 1)),
    log: (line) => console.log(line),
  });
  if (values.record) {
    writeTranscript(values.record, ["zkCli.sh (Java client 3.8.0) sessions of zkcli-suite.mjs, normalized output per step,", `recorded from ${target}; review every step before committing it as expected/zookeeper-3.8.0.txt.`], result.tests);
  }
  const failed = result.tests.filter((test) => test.status === "failed").length;
  console.log(`JAVA-ZKCLI target=${target} passed=${result.tests.length - failed} failed=${failed} duration_s=${(result.durationMs / 1000).toFixed(1)}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
