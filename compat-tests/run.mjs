#!/usr/bin/env node
// npm run compat: the compatibility suite. Starts Apache ZooKeeper 3.8
// (Debian's, standalone) and Maestro (the built dist/) side by side on
// loopback, runs every foreign-client suite against each, and reports suite
// by suite; see compat-tests/README.md.
//
//   npm run compat                                # both servers, every suite
//   npm run compat -- --only kazoo,java           # some suites
//   npm run compat -- --target 127.0.0.1:2181     # your server instead of Maestro
//   npm run compat -- --target 127.0.0.1:2181 --no-reference   # your server alone
//
// Suites: node-client (node-zookeeper-client scenario checks), java (zkCli.sh
// sessions), c (cli_mt sessions), differential (compat-tests/differential,
// built into dist/), kazoo (kazoo's own test suite, compat-tests/kazoo).
// Writes compat-tests/results/compat.json and compat.md. Exit status: 0 when
// the server under test passes every test ZooKeeper passes and no
// differential difference is unexplained (without a reference: when it
// passes everything), 1 otherwise, 2 on a usage or start-up error, 124 when
// the whole run exceeds --timeout-s.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { javaClientAvailable, runJavaSuite } from "./java/zkcli-suite.mjs";
import { cClientAvailable, runCSuite } from "./c/cli-mt-suite.mjs";
import { runNodeClientSuite } from "./node-client/scenarios.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = resolve(here, "..");
const loopback = "127.0.0.1";

// kazoo's harness configures its servers with super:test; the other suites
// use the same super user to clean up after themselves.
const superAuth = "super:test";
const superDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
const tickTimeMs = 2_000;
const containerCheckIntervalMs = 1_000;

const suiteNames = ["node-client", "java", "c", "differential", "kazoo"];
const suiteAliases = { zkcli: "java", "java-zkcli": "java", cli_mt: "c", "c-cli_mt": "c", node: "node-client", "node-zookeeper-client": "node-client" };

const usage = `usage: npm run compat -- [--target HOST:PORT] [--no-reference] [--only SUITES] [--skip SUITES]
       [--kazoo-args "PYTEST ARGS"] [--no-install] [--out-dir DIR]
       [--zookeeper-port N] [--maestro-port N] [--timeout-s S]
suites: ${suiteNames.join(", ")}`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      "no-reference": { type: "boolean", default: false },
      only: { type: "string" },
      skip: { type: "string" },
      "kazoo-args": { type: "string", default: "" },
      "no-install": { type: "boolean", default: false },
      "out-dir": { type: "string", default: join(here, "results") },
      "zookeeper-port": { type: "string", default: "2481" },
      "maestro-port": { type: "string", default: "2482" },
      "timeout-s": { type: "string", default: "2400" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const pick = (text) =>
    text
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean)
      .map((name) => suiteAliases[name] ?? name);
  const only = values.only ? pick(values.only) : suiteNames;
  const skip = values.skip ? pick(values.skip) : [];
  for (const name of [...only, ...skip]) {
    if (!suiteNames.includes(name)) usageError(`unknown suite ${name}`);
  }
  let target;
  if (values.target !== undefined) {
    const match = /^(.+):(\d+)$/.exec(values.target);
    if (!match) usageError(`--target wants HOST:PORT, got ${values.target}`);
    target = { host: match[1], port: Number(match[2]) };
  }
  if (values["no-reference"] && !target) usageError("--no-reference needs --target");
  return {
    target,
    reference: !values["no-reference"],
    suites: suiteNames.filter((name) => only.includes(name) && !skip.includes(name)),
    kazooArgs: values["kazoo-args"].split(/\s+/).filter(Boolean),
    install: !values["no-install"],
    outDir: resolve(values["out-dir"]),
    zookeeperPort: Number(values["zookeeper-port"]),
    maestroPort: Number(values["maestro-port"]),
    timeoutMs: Number(values["timeout-s"]) * 1000,
  };
}

function usageError(message) {
  console.error(`compat: ${message}\n${usage}`);
  process.exit(2);
}

const log = (line) => console.log(line);

// --- preparation -------------------------------------------------------------

function installDependencies() {
  const script = join(repositoryRoot, "scripts", "install-test-deps.sh");
  log("== test dependencies (scripts/install-test-deps.sh)");
  const result = spawnSync("bash", [script], { stdio: "inherit", timeout: 600_000 });
  if (result.status !== 0) log("compat: install-test-deps.sh did not complete; suites whose tools are missing will say so");
}

/** Why a suite cannot run on this machine, or null. */
function unavailableReason(suite) {
  switch (suite) {
    case "java":
      return javaClientAvailable() && hasCommand("java") ? null : "the Java client (Debian's zookeeper package and a JRE) is not installed";
    case "c":
      return cClientAvailable() ? null : "cli_mt (Debian's zookeeper-bin) is not installed";
    case "kazoo": {
      const check = spawnSync("/usr/bin/python3", ["-c", "import kazoo, pytest, pytest_timeout"], { stdio: "ignore" });
      return check.status === 0 ? null : "Debian's python3-kazoo, python3-pytest and python3-pytest-timeout are not installed";
    }
    case "differential":
      return differentialMain() ? null : "not built yet";
    default:
      return null;
  }
}

function hasCommand(name) {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

function differentialMain() {
  const built = join(repositoryRoot, "dist", "compat-tests", "differential", "main.js");
  return existsSync(built) ? built : null;
}

// --- servers -------------------------------------------------------------------

async function startServers(options) {
  const servers = [];
  const starts = [];
  if (options.reference) {
    const { startZooKeeper } = await import("../scripts/zookeeper-standalone.mjs");
    starts.push(
      startZooKeeper({
        port: options.zookeeperPort,
        extendedTypes: true,
        fourLetterWords: "*",
        superDigest,
        tickTime: tickTimeMs,
        containerCheckIntervalMs,
        // Like Maestro, which has no dynamic reconfiguration; see README.md.
        reconfigEnabled: false,
      }).then((server) => servers.push({ name: "zookeeper", label: "ZooKeeper 3.8", host: loopback, port: server.port, stop: () => server.stop() })),
    );
  }
  if (options.target) {
    servers.push({ name: "target", label: `target ${options.target.host}:${options.target.port}`, host: options.target.host, port: options.target.port, stop: async () => {} });
  } else {
    const { startMaestro } = await import("../scripts/maestro-process.mjs");
    starts.push(
      startMaestro({
        port: options.maestroPort,
        fourLetterWords: "*",
        superDigest,
        tickTime: tickTimeMs,
        extraArgs: ["--container-sweep-interval", String(containerCheckIntervalMs), "--log-level", "warn"],
      }).then((server) => servers.push({ name: "maestro", label: "Maestro", host: loopback, port: server.port, stop: () => server.stop() })),
    );
  }
  const outcomes = await Promise.allSettled(starts);
  const failure = outcomes.find((outcome) => outcome.status === "rejected");
  if (failure) {
    await Promise.allSettled(servers.map((server) => server.stop()));
    throw failure.reason;
  }
  // Reference first, so every table reads ZooKeeper | server under test.
  return servers.sort((a, b) => (a.name === "zookeeper" ? -1 : b.name === "zookeeper" ? 1 : 0));
}

// --- suites --------------------------------------------------------------------

async function runClientSuite(suite, server, options) {
  const parameters = { host: server.host, port: server.port, log: (line) => log(`  [${server.name}] ${line}`) };
  if (suite === "node-client") return runNodeClientSuite({ ...parameters, superAuth });
  if (suite === "java") {
    const logDir = join(options.outDir, server.name);
    mkdirSync(logDir, { recursive: true });
    return runJavaSuite({ ...parameters, logDir });
  }
  return runCSuite(parameters);
}

/** Runs a command with a time bound; resolves with its exit status (124 on timeout). */
function runCommand(command, args, { env = process.env, timeoutMs, prefix }) {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { env, cwd: repositoryRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    const forward = (stream) => {
      let pending = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop();
        for (const line of lines) log(`${prefix}${line}`);
      });
      stream.on("end", () => pending && log(`${prefix}${pending}`));
    };
    forward(child.stdout);
    forward(child.stderr);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolveRun(timedOut ? 124 : code ?? (signal ? 128 : 1));
    });
  });
}

function decodeXml(text) {
  return text
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replaceAll("&amp;", "&");
}

/** Per-test results from pytest's junit XML (xunit2). */
export function parseJunit(xml) {
  const tests = [];
  const testcase = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(testcase)) {
    const attributes = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((attribute) => [attribute[1], decodeXml(attribute[2])]));
    const body = match[2] ?? "";
    const id = `${attributes.classname}::${attributes.name}`;
    const failure = /<(failure|error)\b[^>]*?message="([^"]*)"/.exec(body) ?? (/<(failure|error)\b/.exec(body) ? [null, "failure", ""] : null);
    const skipped = /<skipped\b[^>]*?message="([^"]*)"/.exec(body) ?? (/<skipped\b/.exec(body) ? [null, ""] : null);
    if (failure) tests.push({ id, status: "failed", detail: `${failure[1]}: ${decodeXml(failure[2])}`.slice(0, 2000) });
    else if (skipped) tests.push({ id, status: "skipped", reason: decodeXml(skipped[1]) });
    else tests.push({ id, status: "passed" });
  }
  // A test can be reported twice (a failure in the call and an error in
  // teardown): keep the worst.
  const byId = new Map();
  for (const test of tests) {
    const previous = byId.get(test.id);
    if (!previous || test.status === "failed") byId.set(test.id, test);
  }
  return [...byId.values()];
}

async function runKazoo(server, options) {
  const outDir = join(options.outDir, server.name, "kazoo");
  mkdirSync(outDir, { recursive: true });
  const args = [join(here, "kazoo", "run.sh"), `${server.host}:${server.port}`, "--reconfig-disabled", ...options.kazooArgs];
  const env = { ...process.env, KAZOO_OUT_DIR: outDir, KAZOO_TOTAL_TIMEOUT_S: "900", KAZOO_EXTERNAL_SUPER_AUTH: superAuth };
  const started = Date.now();
  const status = await runCommand("bash", args, { env, timeoutMs: 960_000, prefix: `  [${server.name}] ` });
  const junit = join(outDir, "junit.xml");
  const tests = existsSync(junit) ? parseJunit(readFileSync(junit, "utf8")) : [];
  const result = { suite: "kazoo", target: `${server.host}:${server.port}`, tests, durationMs: Date.now() - started, exitStatus: status };
  if (status === 124) result.error = "the kazoo run hit its time limit (KAZOO_TOTAL_TIMEOUT_S)";
  else if (tests.length === 0) result.error = `kazoo produced no results (exit ${status}); see ${relative(repositoryRoot, join(outDir, "pytest.log"))}`;
  return result;
}

/**
 * The differential scenarios (compat-tests/differential, another module):
 * run through its own command line, which starts its own pair of servers
 * configured as its scenarios expect (or compares --target with a ZooKeeper
 * it starts), and writes differential.json.
 */
async function runDifferentialSuite(options) {
  const main = differentialMain();
  const outDir = join(options.outDir, "differential");
  rmSync(join(outDir, "differential.json"), { force: true });
  const args = [main, "--out-dir", outDir];
  if (options.target) args.push("--maestro", `${options.target.host}:${options.target.port}`);
  const started = Date.now();
  const status = await runCommand(process.execPath, args, { timeoutMs: 900_000, prefix: "  [differential] " });
  const file = join(outDir, "differential.json");
  if (!existsSync(file)) {
    return { suite: "differential", tests: [], durationMs: Date.now() - started, error: `the differential run wrote no results (exit ${status})` };
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  const tests = report.details.map((detail) => ({
    id: detail.name,
    status: detail.status === "skipped" ? "skipped" : detail.status === "unexplained" ? "failed" : "passed",
    ...(detail.status === "skipped" ? { reason: detail.skipReason } : {}),
    ...(detail.status === "known" ? { note: "differs only where KNOWN_DIFFERENCES.md explains" } : {}),
    ...(detail.status === "unexplained"
      ? { detail: detail.differences.filter((difference) => difference.reason === null).map((difference) => JSON.stringify(difference)).join("\n").slice(0, 4000) }
      : {}),
  }));
  return {
    suite: "differential",
    tests,
    durationMs: Date.now() - started,
    summary: { scenarios: report.scenarios, same: report.same, knownDifferences: report.knownDifferences, unexplained: report.unexplained, skipped: report.skipped },
    report: relative(repositoryRoot, report.files?.markdown ?? join(outDir, "differential.md")),
    exitStatus: status,
  };
}

// --- comparison and report -------------------------------------------------------

function counts(tests) {
  const tally = { passed: 0, failed: 0, skipped: 0 };
  for (const test of tests) tally[test.status] += 1;
  return tally;
}

/**
 * Compares the server under test with the reference, test by test: a test
 * ZooKeeper passes and the other fails is a regression; for the CLI suites a
 * normalized output that differs from ZooKeeper's fails the test too.
 */
function compare(reference, underTest) {
  const referenceById = new Map(reference.tests.map((test) => [test.id, test]));
  const regressions = [];
  for (const test of underTest.tests) {
    const base = referenceById.get(test.id);
    if (!base) continue;
    if (base.output !== undefined && test.output !== undefined && base.output !== test.output) {
      const difference = `differs from ZooKeeper's output:\n  ZooKeeper:\n${indent(base.output, 4)}\n  this server:\n${indent(test.output, 4)}`;
      test.status = "failed";
      test.detail = test.detail ? `${test.detail}\n${difference}` : difference;
    }
    if (base.status === "passed" && test.status === "failed") {
      regressions.push({ suite: underTest.suite, id: test.id, reference: base.output ?? "passed", detail: test.detail ?? "" });
    }
  }
  return regressions;
}

function indent(text, spaces) {
  const pad = " ".repeat(spaces);
  return (text === "" ? "(no output)" : text).replace(/^/gm, pad);
}

function cell(result, suite, serverName) {
  if (!result) return suite === "differential" && serverName === "zookeeper" ? "(reference)" : "—";
  if (result.unavailable) return `not run: ${result.unavailable}`;
  if (result.error && result.tests.length === 0) return `error: ${result.error}`;
  const tally = counts(result.tests);
  return `${tally.passed} / ${tally.failed} / ${tally.skipped}`;
}

function tableRows(report) {
  return report.suites.map((entry) => {
    const columns = report.servers.map((server) => cell(entry.results[server.name], entry.suite, server.name));
    const seconds = Object.values(entry.results).reduce((sum, result) => sum + (result?.durationMs ?? 0), 0) / 1000;
    return { suite: entry.suite, columns, seconds, regressions: entry.regressions.length };
  });
}

function printTable(report) {
  const rows = tableRows(report);
  const header = ["suite", ...report.servers.map((server) => `${server.label} (passed / failed / skipped)`), "regressions", "time"];
  const lines = [header, ...rows.map((row) => [row.suite, ...row.columns, String(row.regressions), `${row.seconds.toFixed(1)} s`])];
  const widths = header.map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  log("");
  for (const [index, line] of lines.entries()) {
    log(line.map((text, column) => text.padEnd(widths[column])).join("  "));
    if (index === 0) log(widths.map((width) => "-".repeat(width)).join("  "));
  }
  log("");
}

function markdown(report) {
  const rows = tableRows(report);
  const out = [];
  out.push("# Compatibility run", "");
  out.push(`${report.startedAt}, ${report.durationS.toFixed(1)} s in all. Servers: ${report.servers.map((server) => `${server.label} on ${server.host}:${server.port}`).join(", ")}.`, "");
  out.push(`| suite | ${report.servers.map((server) => `${server.label}<br>passed / failed / skipped`).join(" | ")} | regressions | time |`);
  out.push(`|---|${report.servers.map(() => "---|").join("")}---|---|`);
  for (const row of rows) out.push(`| ${row.suite} | ${row.columns.join(" | ")} | ${row.regressions} | ${row.seconds.toFixed(1)} s |`);
  out.push("", `**Verdict:** ${report.verdict}`, "");
  if (report.regressions.length > 0) {
    out.push("## Tests ZooKeeper passes and the server under test fails", "");
    for (const regression of report.regressions) {
      out.push(`### ${regression.suite}: ${regression.id}`, "", "```", regression.detail, "```", "");
    }
  }
  const failingBoth = report.failingOnReference;
  if (failingBoth.length > 0) {
    out.push("## Tests that fail on ZooKeeper too (not counted against the server under test)", "");
    for (const entry of failingBoth) out.push(`- ${entry.suite}: ${entry.id}`);
    out.push("");
  }
  if (report.skips.length > 0) {
    out.push("## Skipped tests and their reasons", "", "| suite | server | test | reason |", "|---|---|---|---|");
    for (const skip of report.skips) out.push(`| ${skip.suite} | ${skip.server} | ${skip.id} | ${skip.reason.replaceAll("|", "\\|")} |`);
    out.push("");
  }
  for (const entry of report.suites) {
    const differential = entry.suite === "differential" ? Object.values(entry.results)[0] : undefined;
    if (differential?.summary) {
      const summary = differential.summary;
      out.push("## Differential scenarios", "", `${summary.scenarios} scenarios: ${summary.same} same, ${summary.knownDifferences} with known differences only, ${summary.unexplained} unexplained, ${summary.skipped} skipped. Report: ${differential.report}`, "");
    }
  }
  return `${out.join("\n")}\n`;
}

// --- main --------------------------------------------------------------------

async function main() {
  const options = parseOptions();
  const started = Date.now();
  let servers = [];
  const stopServers = async () => {
    const stopping = servers;
    servers = [];
    await Promise.allSettled(stopping.map((server) => server.stop()));
  };
  const watchdog = setTimeout(() => {
    console.error(`compat: the whole run exceeded ${options.timeoutMs / 1000} s; stopping`);
    stopServers().finally(() => process.exit(124));
  }, options.timeoutMs);
  watchdog.unref();
  mkdirSync(options.outDir, { recursive: true });
  if (options.install) installDependencies();
  if (!options.target && !existsSync(join(repositoryRoot, "dist", "src", "cli", "main.js"))) {
    console.error("compat: dist/ is missing; run `npm run build` first (npm run compat does it through precompat)");
    process.exit(2);
  }

  const clientSuites = options.suites.filter((suite) => suite !== "differential");
  if (clientSuites.length > 0) {
    log(`== starting ${options.reference ? "ZooKeeper 3.8 and " : ""}${options.target ? `target ${options.target.host}:${options.target.port}` : "Maestro"}`);
    try {
      servers = await startServers(options);
    } catch (error) {
      console.error(`compat: could not start the servers: ${error.message}`);
      process.exit(2);
    }
    for (const server of servers) log(`   ${server.label} on ${server.host}:${server.port}`);
  }
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      stopServers().finally(() => process.exit(130));
    });
  }

  const underTestName = options.target ? "target" : "maestro";
  const columns =
    servers.length > 0
      ? servers.map(({ name, label, host, port }) => ({ name, label, host, port }))
      : [
          ...(options.reference ? [{ name: "zookeeper", label: "ZooKeeper 3.8", host: loopback, port: "-" }] : []),
          { name: underTestName, label: options.target ? `target ${options.target.host}:${options.target.port}` : "Maestro", host: loopback, port: "-" },
        ];
  const report = { startedAt: new Date(started).toISOString(), servers: columns, suites: [], regressions: [], failingOnReference: [], skips: [] };
  try {
    for (const suite of options.suites) {
      const unavailable = unavailableReason(suite);
      const entry = { suite, results: {}, regressions: [] };
      report.suites.push(entry);
      if (unavailable) {
        log(`== ${suite}: ${unavailable === "not built yet" ? "not built yet (dist/compat-tests/differential/main.js is missing), skipped" : `not run: ${unavailable}`}`);
        if (suite === "differential") {
          entry.results[underTestName] = { suite, tests: [], unavailable };
        } else {
          for (const server of servers) entry.results[server.name] = { suite, tests: [], unavailable };
        }
        continue;
      }
      log(`== ${suite}`);
      if (suite === "differential") {
        // One comparison, shown in the column of the server under test.
        const result = await runDifferentialSuite(options);
        entry.results[underTestName] = result;
        for (const test of result.tests.filter((test) => test.status === "failed")) {
          entry.regressions.push({ suite, id: test.id, reference: "same as ZooKeeper", detail: test.detail ?? "" });
        }
      } else {
        for (const server of servers) {
          log(`-- ${suite} against ${server.label}`);
          let result;
          try {
            result = suite === "kazoo" ? await runKazoo(server, options) : await runClientSuite(suite, server, options);
          } catch (error) {
            result = { suite, tests: [], error: String(error.message ?? error), durationMs: 0 };
          }
          entry.results[server.name] = result;
          const tally = counts(result.tests);
          log(`-- ${suite} against ${server.label}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped${result.error ? `; ${result.error}` : ""} (${(result.durationMs / 1000).toFixed(1)} s)`);
        }
        const reference = entry.results.zookeeper;
        const underTest = entry.results[underTestName];
        if (reference && underTest) {
          entry.regressions.push(...compare(reference, underTest));
          if (underTest.error && !reference.error) entry.regressions.push({ suite, id: "(whole suite)", reference: "ran", detail: underTest.error });
          for (const test of reference.tests.filter((test) => test.status === "failed")) report.failingOnReference.push({ suite, id: test.id });
        } else if (underTest) {
          for (const test of underTest.tests.filter((test) => test.status === "failed")) entry.regressions.push({ suite, id: test.id, reference: "(no reference run)", detail: test.detail ?? "" });
          if (underTest.error) entry.regressions.push({ suite, id: "(whole suite)", reference: "(no reference run)", detail: underTest.error });
        }
      }
      report.regressions.push(...entry.regressions);
      for (const [serverName, result] of Object.entries(entry.results)) {
        for (const test of result.tests.filter((test) => test.status === "skipped")) report.skips.push({ suite, server: serverName, id: test.id, reason: test.reason ?? "" });
      }
      writeFileSync(join(options.outDir, `suite-${suite}.json`), `${JSON.stringify(entry, null, 2)}\n`);
    }
  } finally {
    if (servers.length > 0) log("== stopping the servers");
    await stopServers();
  }

  const unavailable = report.suites.filter((entry) => Object.values(entry.results).some((result) => result.unavailable && result.unavailable !== "not built yet"));
  report.durationS = (Date.now() - started) / 1000;
  const problems = [];
  if (report.regressions.length > 0) problems.push(`${report.regressions.length} test(s) ZooKeeper passes fail on ${options.target ? "the target" : "Maestro"} (or differ unexplained)`);
  if (unavailable.length > 0) problems.push(`suite(s) not run: ${unavailable.map((entry) => entry.suite).join(", ")}`);
  report.verdict = problems.length === 0 ? "PASS" : `FAIL: ${problems.join("; ")}`;

  writeFileSync(join(options.outDir, "compat.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(options.outDir, "compat.md"), markdown(report));
  printTable(report);
  for (const regression of report.regressions) {
    log(`REGRESSION ${regression.suite}: ${regression.id}${regression.detail ? `\n${indent(regression.detail, 6)}` : ""}`);
  }
  log(`compat: ${report.verdict} in ${report.durationS.toFixed(1)} s; ${relative(process.cwd(), join(options.outDir, "compat.md"))}`);
  clearTimeout(watchdog);
  process.exit(problems.length === 0 ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
