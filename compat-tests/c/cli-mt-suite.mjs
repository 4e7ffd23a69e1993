#!/usr/bin/env node
// The C client through cli_mt (Debian's zookeeper-bin, ZooKeeper 3.8.0's
// multi-threaded C library): scripted sessions of its commands (create with
// +e / +s / +c / +t=ttl, create2, get, set, ls, ls2, exists, wexists, sync,
// delete, myid, config, reconfig, addauth, quit), each command's output
// normalized and checked against expected/zookeeper-3.8.0.txt (recorded from
// Apache ZooKeeper 3.8.0 and reviewed), and by run.mjs against the other server.
//
//   node compat-tests/c/cli-mt-suite.mjs 127.0.0.1:2181 [--json FILE] [--record FILE]
//
// cli_mt answers asynchronously on a completion thread, so after each
// command the driver sends `sync /zookeeper` and waits for its completion:
// completions run in request order, so everything the command printed is in
// by then. cli_mt's get, ls, ls2 and exists always leave a watch, and it
// creates every node with the data "new" and the ACL world:anyone:cdrwa.
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CliProcess, Renumberer, judge, readTranscript, writeTranscript } from "../java/scripted-cli.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const expectedTranscriptFile = join(here, "expected", "zookeeper-3.8.0.txt");

const cliMtCandidates = ["/usr/lib/zookeeper/bin/cli_mt", "/usr/bin/cli_mt", "/usr/local/bin/cli_mt"];
const barrier = "sync /zookeeper";
const barrierDone = /\[\/zookeeper\]: rc = (?:0\n\tname = \/zookeeper|-?[1-9]\d*)\n/;
const sessionTimeoutMs = 120_000;

const sessions = [
  {
    name: "nodes",
    steps: [
      { cmd: "create R", expect: [/name = \/ROOT$/] },
      { cmd: "create R", expect: [/rc = -110$/] },
      { cmd: "create R/none/child", expect: [/rc = -101$/] },
      { cmd: "create +e R/e", expect: [/\(mode: 1\)/] },
      { cmd: "create +s R/s-", expect: [/name = \/ROOT\/s-0000000001$/] },
      { cmd: "create +es R/es-", expect: [/\(mode: 3\)/, /es-0000000002$/] },
      { cmd: "create +c R/c", expect: [/\(mode: 4\)/] },
      { cmd: "create +t=60000 R/t", expect: [/\(mode: 5\)/] },
      { cmd: "create +st=60000 R/st-", expect: [/\(mode: 6\)/] },
      "create +t=0 R/t0",
      "create +x R/bad",
      { cmd: "create R/e/child", expect: [/rc = -108$/] },
      { cmd: "create2 R/c2", expect: [/version=0\taversion=0/] },
      { cmd: "create2 +e R/c2e", expect: [/ephemeralOwner = SESSION1/] },
      "get R",
      { cmd: "get R/none", expect: [/rc = -101/] },
      { cmd: "set R hello", expect: [/version=1/] },
      { cmd: "get R", expect: [/value_len = 5\nhello\n/] },
      "set R/none x",
      "ls R",
      "ls2 R",
      "ls R/none",
      "ls2 R/none",
      "exists R",
      { cmd: "exists R/none", expect: [/^Error -101 for \/ROOT\/none$/] },
      "sync R",
      { cmd: "delete R", expect: [/rc = -111$/] },
      "delete R/none",
      "delete R/c",
      { cmd: "myid", expect: [/^session Id = SESSION1$/] },
      "config",
      "reconfig -remove 1",
      "delete R/e",
      "delete R/es-0000000002",
      "delete R/s-0000000001",
      "delete R/t",
      "delete R/st-0000000005",
      "delete R/c2",
      "delete R/c2e",
      "ls R",
      "delete R",
      "exists R",
    ],
  },
  {
    name: "watches",
    steps: [
      "create R",
      "create R/w",
      "get R/w",
      { cmd: "set R/w x", expect: [/Watcher CHANGED_EVENT state = CONNECTED_STATE for path \/ROOT\/w/] },
      "set R/w y",
      "ls R",
      { cmd: "create R/w2", expect: [/Watcher CHILD_EVENT/] },
      "ls2 R",
      "get R/w",
      { cmd: "delete R/w", expect: [/DELETED_EVENT state = CONNECTED_STATE for path \/ROOT\/w/, /CHILD_EVENT/] },
      "exists R/later",
      { cmd: "create R/later", expect: [/CREATED_EVENT/] },
      "wexists R/w3",
      { cmd: "create R/w3", expect: [/CREATED_EVENT/] },
      "exists R/w3",
      "set R/w3 z",
      "delete R/w2",
      "delete R/w3",
      "delete R/later",
      "delete R",
    ],
  },
  {
    name: "auth",
    steps: [
      "create R",
      "addauth digest alice:secret",
      "get R",
      "delete R",
      "addauth nosuchscheme whatever",
      { cmd: "ls /zookeeper", expect: [/exited/] },
    ],
  },
];

export function cliMtPath() {
  return cliMtCandidates.find((candidate) => existsSync(candidate));
}

export function cClientAvailable() {
  return cliMtPath() !== undefined;
}

/** Sorts the child names that ls and ls2 print between "rc =" and "time =". */
function sortChildren(lines) {
  const sorted = [...lines];
  for (let index = 0; index < sorted.length; index += 1) {
    if (!/: rc = 0$/.test(sorted[index])) continue;
    let end = index + 1;
    while (end < sorted.length && /^\t[^=]*$/.test(sorted[end])) end += 1;
    const children = sorted.slice(index + 1, end).sort();
    sorted.splice(index + 1, children.length, ...children);
  }
  return sorted;
}

function normalize(raw, state, step) {
  let lines = raw.split("\n").filter((line) => line !== "" && !/^time = \d+ msec$/.test(line));
  lines = lines.map((line) =>
    line
      .replaceAll(state.root, "/ROOT")
      .replaceAll(state.hostPort, "HOST:PORT")
      .replace(/^(\t(?:ctime = |mtime=))(.*)$/, (_, key, value) => (/ 1970$/.test(value) ? `${key}${value}` : `${key}TIME`))
      .replace(/^(\t[cm]zxid=)([0-9a-f]+)$/, (_, key, value) => (value === "0" ? `${key}0` : `${key}${state.zxids.name(value)}`))
      .replace(/^(\tephemeralOwner = )([0-9a-f]+)$/, (_, key, value) => (value === "0" ? `${key}0` : `${key}${state.sessions.name(value)}`))
      .replace(/^(session Id = )([0-9a-f]+)$/, (_, key, value) => `${key}${state.sessions.name(value)}`)
      // The C library's log prefix: date, time, pid and thread.
      .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+:\d+\(0x[0-9a-f]+\):/, "LOG:"),
  );
  if (/^(?:ls|ls2) /.test(step.cmd)) lines = sortChildren(lines);
  return lines.join("\n");
}

async function runSession(session, context) {
  // stdbuf: cli_mt prints `myid` with printf, block-buffered on a pipe.
  const cli = new CliProcess("stdbuf", ["-o0", "-e0", context.cliMt, "-h", context.hostPort]);
  const state = { root: context.root, hostPort: context.hostPort, zxids: new Renumberer("ZXID"), sessions: new Renumberer("SESSION") };
  const tests = [];
  const started = Date.now();
  const isDone = (text) => barrierDone.test(text);
  const stepId = (index, step) => `${session.name} ${String(index + 1).padStart(2, "0")} ${step.cmd}`;
  const steps = session.steps.map((step) => (typeof step === "string" ? { cmd: step } : step));
  try {
    // Waits for the connection (the barrier completes once connected).
    await cli.run(barrier, isDone, 30_000, "start cli_mt");
    // The session id, so SESSION1 is this session in every later output.
    state.sessions.name(/Got a new session id: 0x([0-9a-f]+)/.exec(cli.text)?.[1] ?? "unknown");
    for (const [index, step] of steps.entries()) {
      const id = stepId(index, step);
      if (cli.exited) {
        // After an authentication failure cli_mt shuts itself down.
        tests.push({ id, output: "(cli_mt has exited)", ...judge(id, "(cli_mt has exited)", context.expected, step) });
        continue;
      }
      if (Date.now() - started > sessionTimeoutMs) {
        tests.push({ id, status: "failed", detail: "session time limit reached" });
        continue;
      }
      const line = step.cmd.replace(/(^|\s)R(?=[/\s]|$)/g, `$1${context.root}`);
      let raw;
      try {
        raw = await cli.run(`${line}\n${barrier}`, isDone, 20_000, line);
      } catch (error) {
        if (error.exitedWithOutput === undefined) {
          tests.push({ id, status: "failed", detail: String(error.message ?? error) });
          continue;
        }
        raw = `${error.exitedWithOutput}(cli_mt exited)`;
      }
      const output = normalize(raw.replace(barrierDone, "").replace(/\[\/zookeeper\]: rc = .*$/s, ""), state, step);
      tests.push({ id, output, ...judge(id, output, context.expected, step) });
    }
  } catch (error) {
    for (const [index, step] of steps.entries()) tests.push({ id: stepId(index, step), status: "failed", detail: `cli_mt did not connect: ${error.message}` });
  } finally {
    await cli.close("quit");
  }
  return tests;
}

/**
 * Runs every session against host:port; resolves with { suite, target,
 * tests: [{ id, status, output, detail? }], durationMs }.
 */
export async function runCSuite({ host, port, expectedFile = expectedTranscriptFile, log = () => undefined }) {
  const started = Date.now();
  const hostPort = `${host}:${port}`;
  const cliMt = cliMtPath();
  if (!cliMt) throw new Error("cli_mt not found; install Debian's zookeeper-bin (scripts/install-test-deps.sh)");
  const root = `/compat-c-${randomBytes(4).toString("hex")}`;
  const expected = readTranscript(expectedFile);
  const tests = [];
  for (const [index, session] of sessions.entries()) {
    const sessionTests = await runSession(session, { hostPort, root: `${root}-${index}`, expected, cliMt });
    for (const test of sessionTests) log(`${test.status === "passed" ? "ok  " : "FAIL"} ${test.id}${test.detail ? `\n${test.detail.replace(/^/gm, "      ")}` : ""}`);
    tests.push(...sessionTests);
  }
  return { suite: "c-cli_mt", target: hostPort, tests, durationMs: Date.now() - started };
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: "string" }, record: { type: "string" } } });
  const target = positionals[0];
  if (!target || !target.includes(":")) {
    console.error("usage: cli-mt-suite.mjs HOST:PORT [--json FILE] [--record FILE]");
    process.exit(2);
  }
  const separator = target.lastIndexOf(":");
  const result = await runCSuite({ host: target.slice(0, separator), port: Number(target.slice(separator + 1)), log: (line) => console.log(line) });
  if (values.record) {
    writeTranscript(values.record, ["cli_mt (C client 3.8.0) sessions of cli-mt-suite.mjs, normalized output per step,", `recorded from ${target}; review every step before committing it as expected/zookeeper-3.8.0.txt.`], result.tests);
  }
  const failed = result.tests.filter((test) => test.status === "failed").length;
  console.log(`C-CLI_MT target=${target} passed=${result.tests.length - failed} failed=${failed} duration_s=${(result.durationMs / 1000).toFixed(1)}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
