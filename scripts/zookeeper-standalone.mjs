#!/usr/bin/env node
// Starts Debian's Apache ZooKeeper (package `zookeeper`, 3.8) as a single
// standalone server on loopback, for comparison runs and compatibility tests.
//
//   import { startZooKeeper } from "./zookeeper-standalone.mjs";
//   const zk = await startZooKeeper({ port: 2191, dataDir: "/tmp/zk" });
//   ...
//   await zk.stop();
//
//   node scripts/zookeeper-standalone.mjs --port 2191 [--data-dir D]
//        [--super-digest super:BASE64] [--tick-time MS] [--no-extended-types]
//        [--four-letter-words '*'] [--no-force-sync] [--reconfig-enabled]
//        [--sasl-digest-user NAME:PASSWORD]...
//
// kazoo's test harness configures its servers like this (super password
// "test", reconfig on, SASL users super/jaasuser), see compat-tests/kazoo:
//   --super-digest super:D/InIHSb7yEEbrWz8b9l71RjZJU= --reconfig-enabled
//   --sasl-digest-user super:super_secret --sasl-digest-user jaasuser:jaas_password
//
// The CLI keeps the server up until Ctrl-C (or SIGTERM) and then stops it.
// Also exported: `fourLetterWord(host, port, word)` and `waitUntilServing`,
// which scripts/maestro-process.mjs reuses for the same readiness probe.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const javaLibraryDir = "/usr/share/java";

// What ZooKeeperServerMain really loads (checked with `java -verbose:class`
// on Debian 12's zookeeper 3.8.0-11): zookeeper.jar, zookeeper-jute.jar,
// slf4j-api.jar, metrics-core.jar and snappy-java.jar; slf4j-simple.jar is
// the logging binding (without one slf4j drops every log line). zookeeper.jar's
// manifest Class-Path also names the rest of its dependencies (netty, jetty,
// jackson, commons-cli, commons-io), so the list below only has to be a
// superset of what the standalone NIO server path touches.
export const zooKeeperClasspathJars = Object.freeze([
  "zookeeper.jar",
  "zookeeper-jute.jar",
  "slf4j-api.jar",
  "slf4j-simple.jar",
  "metrics-core.jar",
  "snappy-java.jar",
  "commons-cli.jar",
  "commons-io.jar",
]);

export const zooKeeperMainClass = "org.apache.zookeeper.server.ZooKeeperServerMain";

const loopbackHost = "127.0.0.1";
const readyTimeoutMsDefault = 30_000;
const probeTimeoutMs = 1_000;
const probeIntervalMs = 200;
const stopTimeoutMs = 10_000;
const fourLetterReplyBytesMax = 1 << 20;

/** The classpath string, after checking that every jar is installed. */
export function zooKeeperClasspath() {
  const jars = zooKeeperClasspathJars.map((name) => join(javaLibraryDir, name));
  const missing = jars.filter((jar) => !existsSync(jar));
  if (missing.length > 0) {
    throw new Error(
      `ZooKeeper jars missing: ${missing.join(", ")}; run scripts/install-test-deps.sh (Debian packages zookeeper, default-jre-headless)`,
    );
  }
  return jars.join(":");
}

/**
 * Sends a four-letter word and resolves with the whole reply (the server
 * closes the connection after answering). Rejects on error or timeout.
 */
export function fourLetterWord(host, port, word, timeoutMs = probeTimeoutMs) {
  return new Promise((resolvePromise, reject) => {
    const chunks = [];
    let received = 0;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => finish(new Error(`${word}: no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    function finish(error) {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolvePromise(Buffer.concat(chunks).toString("utf8"));
    }
    socket.on("connect", () => socket.write(word));
    socket.on("data", (chunk) => {
      received += chunk.length;
      if (received > fourLetterReplyBytesMax) {
        finish(new Error(`${word}: reply longer than ${fourLetterReplyBytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on("error", (error) => finish(error));
    socket.on("end", () => finish(null));
  });
}

/** Resolves true when something accepts TCP connections on host:port. */
export function isPortOpen(host, port, timeoutMs = probeTimeoutMs) {
  return new Promise((resolvePromise) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done(false), timeoutMs);
    function done(open) {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(open);
    }
    socket.on("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}

/**
 * Polls `ruok` until the answer is `imok`. Fails early if `child` exits, and
 * after `timeoutMs` otherwise; `describe()` adds context (a log tail) to the
 * error.
 */
export async function waitUntilServing({ host, port, child, timeoutMs, name, describe = () => "" }) {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no attempt yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before serving${describe()}`);
    }
    try {
      const reply = await fourLetterWord(host, port, "ruok");
      if (reply === "imok") return;
      lastError = `ruok answered ${JSON.stringify(reply)}`;
    } catch (error) {
      lastError = error.message;
    }
    await sleep(probeIntervalMs);
  }
  throw new Error(`${name} did not answer ruok with imok on ${host}:${port} within ${timeoutMs} ms (last: ${lastError})${describe()}`);
}

export function sleep(ms) {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

/** Last `lines` lines of a log file, for error messages. */
export function logTail(path, lines = 30) {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    return `\n--- last lines of ${path} ---\n${text.split("\n").slice(-lines).join("\n")}`;
  } catch {
    return "";
  }
}

// Children still running, killed if this process exits first: 'exit' for a
// normal end, and the usual termination signals, which would otherwise end
// Node without running 'exit' handlers and leave the servers behind.
const liveChildren = new Set();
let exitHooksInstalled = false;

export function killOnExit(child) {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once("exit", killLiveChildren);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      // A program with its own handler for this signal decides when to
      // stop (and the 'exit' hook still catches what it leaves running);
      // otherwise keep the default behaviour: terminate.
      if (process.listenerCount(signal) > 1) return;
      killLiveChildren();
      process.exit(128 + signalNumber(signal));
    });
  }
}

function killLiveChildren() {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  liveChildren.clear();
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal] ?? 1;
}

/** Sends SIGTERM, waits up to `timeoutMs`, then SIGKILL; resolves on exit. */
export async function terminate(child, timeoutMs = stopTimeoutMs) {
  // No pid: the spawn itself failed, and no 'exit' event will come.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolvePromise) => child.once("exit", resolvePromise));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function zooCfg({ port, dataDir, tickTime, fourLetterWords, reconfigEnabled, sasl }) {
  const lines = [
    `tickTime=${tickTime}`,
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    `clientPortAddress=${loopbackHost}`,
    "maxClientCnxns=0",
    `4lw.commands.whitelist=${fourLetterWords}`,
    "admin.enableServer=false",
    `reconfigEnabled=${reconfigEnabled ? "true" : "false"}`,
  ];
  if (sasl) lines.push("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider");
  return `${lines.join("\n")}\n`;
}

// A JAAS file for SASL DIGEST-MD5 with the given users (name -> password);
// the login module's option list ends with a semicolon.
function jaasConfig(saslDigestUsers) {
  const options = Object.entries(saslDigestUsers).map(([name, password]) => {
    if (!/^[A-Za-z0-9_]+$/.test(name) || /["\\\n]/.test(password)) throw new Error(`startZooKeeper: unusable SASL user ${name}`);
    return `  user_${name}="${password}"`;
  });
  return `Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n${options.join("\n")};\n};\n`;
}

// The readiness probe needs `ruok`, so it is always allowed.
function withRuok(fourLetterWords) {
  const words = fourLetterWords.split(",").map((word) => word.trim()).filter(Boolean);
  if (words.includes("*") || words.includes("ruok")) return words.join(",");
  return [...words, "ruok"].join(",");
}

function javaArguments({ configPath, logDir, extendedTypes, superDigest, containerCheckIntervalMs, forceSync, jaasPath, jvmArgs }) {
  const properties = [
    // Digest auth hashes "user:password" in the JVM's default charset.
    "-Dfile.encoding=UTF-8",
    "-Djava.awt.headless=true",
    `-Dzookeeper.log.dir=${logDir}`,
    "-Dzookeeper.admin.enableServer=false",
    `-Dzookeeper.extendedTypesEnabled=${extendedTypes ? "true" : "false"}`,
    `-Dzookeeper.forceSync=${forceSync ? "yes" : "no"}`,
  ];
  if (superDigest) properties.push(`-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest}`);
  if (containerCheckIntervalMs !== undefined) properties.push(`-Dznode.container.checkIntervalMs=${containerCheckIntervalMs}`);
  if (jaasPath) properties.push(`-Djava.security.auth.login.config=${jaasPath}`);
  return [...jvmArgs, ...properties, "-cp", zooKeeperClasspath(), zooKeeperMainClass, configPath];
}

/**
 * Starts one standalone ZooKeeper bound to 127.0.0.1:port and resolves once
 * it answers `ruok` with `imok`. Without `dataDir` a temporary directory is
 * used and removed by stop(). zoo.cfg and zookeeper.log (the JVM's stdout and
 * stderr) are written into dataDir.
 */
export async function startZooKeeper({
  port,
  dataDir,
  extendedTypes = true,
  fourLetterWords = "*",
  superDigest,
  tickTime = 2000,
  containerCheckIntervalMs = 1000,
  forceSync = true,
  reconfigEnabled = false,
  saslDigestUsers,
  jvmArgs = [],
  readyTimeoutMs = readyTimeoutMsDefault,
} = {}) {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`startZooKeeper: bad port ${port}`);
  if (await isPortOpen(loopbackHost, port)) {
    throw new Error(`startZooKeeper: ${loopbackHost}:${port} is already in use`);
  }
  const ownsDataDir = dataDir === undefined;
  const directory = resolve(dataDir ?? mkdtempSync(join(tmpdir(), "zookeeper-")));
  mkdirSync(directory, { recursive: true });
  const configPath = join(directory, "zoo.cfg");
  const logPath = join(directory, "zookeeper.log");
  const sasl = saslDigestUsers !== undefined && Object.keys(saslDigestUsers).length > 0;
  writeFileSync(configPath, zooCfg({ port, dataDir: directory, tickTime, fourLetterWords: withRuok(fourLetterWords), reconfigEnabled, sasl }));
  const jaasPath = sasl ? join(directory, "jaas.conf") : undefined;
  if (jaasPath) writeFileSync(jaasPath, jaasConfig(saslDigestUsers));

  const logFd = openSync(logPath, "a");
  const args = javaArguments({ configPath, logDir: directory, extendedTypes, superDigest, containerCheckIntervalMs, forceSync, jaasPath, jvmArgs });
  const child = spawn("java", args, { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  killOnExit(child);
  const spawnFailed = new Promise((_, reject) => child.once("error", reject));
  spawnFailed.catch(() => {});

  let stopping;
  async function stop() {
    stopping ??= (async () => {
      await terminate(child);
      if (ownsDataDir) rmSync(directory, { recursive: true, force: true });
    })();
    return stopping;
  }

  try {
    await Promise.race([
      spawnFailed,
      waitUntilServing({
        host: loopbackHost,
        port,
        child,
        timeoutMs: readyTimeoutMs,
        name: "ZooKeeper",
        describe: () => logTail(logPath),
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, host: loopbackHost, dataDir: directory, logPath, pid: child.pid, stop };
}

function saslUsers(pairs) {
  if (pairs.length === 0) return undefined;
  const users = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(":");
    if (colon <= 0) throw new Error(`--sasl-digest-user wants NAME:PASSWORD, got ${pair}`);
    users[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return users;
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "2191" },
      "data-dir": { type: "string" },
      "super-digest": { type: "string" },
      "tick-time": { type: "string", default: "2000" },
      "four-letter-words": { type: "string", default: "*" },
      "no-extended-types": { type: "boolean", default: false },
      "no-force-sync": { type: "boolean", default: false },
      "reconfig-enabled": { type: "boolean", default: false },
      "sasl-digest-user": { type: "string", multiple: true, default: [] },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("usage: node scripts/zookeeper-standalone.mjs --port 2191 [--data-dir D] [--super-digest super:BASE64] [--tick-time MS] [--four-letter-words LIST] [--no-extended-types] [--no-force-sync] [--reconfig-enabled] [--sasl-digest-user NAME:PASSWORD ...]");
    return;
  }
  const zooKeeper = await startZooKeeper({
    port: Number(values.port),
    dataDir: values["data-dir"],
    superDigest: values["super-digest"],
    tickTime: Number(values["tick-time"]),
    fourLetterWords: values["four-letter-words"],
    extendedTypes: !values["no-extended-types"],
    forceSync: !values["no-force-sync"],
    reconfigEnabled: values["reconfig-enabled"],
    saslDigestUsers: saslUsers(values["sasl-digest-user"]),
  });
  console.log(`ZooKeeper serving on ${zooKeeper.host}:${zooKeeper.port} (pid ${zooKeeper.pid}, data ${zooKeeper.dataDir}, log ${zooKeeper.logPath}); Ctrl-C stops it`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await zooKeeper.stop();
    console.log("ZooKeeper stopped");
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
