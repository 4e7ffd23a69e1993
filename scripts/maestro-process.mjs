#!/usr/bin/env node
// Starts the built Maestro server (dist/src/cli/main.js) as a child process on
// loopback and waits until it answers `ruok` with `imok`; the twin of
// scripts/zookeeper-standalone.mjs, so comparisons start both the same way.
//
//   import { startMaestro } from "./maestro-process.mjs";
//   const maestro = await startMaestro({ port: 2281, dataDir: "/tmp/m" });
//   ...
//   await maestro.stop();   // SIGTERM, then SIGKILL after 10 s
//
//   node scripts/maestro-process.mjs --port 2281 [--data-dir D]
//        [--super-digest super:BASE64] [--tick-time MS] [-- extra args]
//
// The CLI keeps the server up until Ctrl-C (or SIGTERM). Run `npm run build`
// first: this starts what is in dist/, not the TypeScript sources.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isPortOpen, killOnExit, logTail, terminate, waitUntilServing } from "./zookeeper-standalone.mjs";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const maestroMain = join(repositoryRoot, "dist", "src", "cli", "main.js");

const loopbackHost = "127.0.0.1";
const readyTimeoutMsDefault = 30_000;
const stopTimeoutMsDefault = 10_000;

function maestroArguments({ port, dataDir, fourLetterWords, superDigest, tickTime, extraArgs }) {
  const args = [maestroMain, "start", "--port", String(port), "--host", loopbackHost, "--data-dir", dataDir];
  args.push("--four-letter-words", fourLetterWords);
  if (superDigest) args.push("--super-digest", superDigest);
  if (tickTime !== undefined) args.push("--tick-time", String(tickTime));
  return [...args, ...extraArgs];
}

/**
 * Starts `node dist/src/cli/main.js start ...` bound to 127.0.0.1:port and
 * resolves once a TCP connect plus `ruok` gets `imok` (so fourLetterWords
 * must allow ruok; the default '*' does). Without `dataDir` a temporary
 * directory is used and removed by stop(). The server's stdout and stderr go
 * to maestro.log in dataDir.
 */
export async function startMaestro({
  port,
  dataDir,
  extraArgs = [],
  fourLetterWords = "*",
  superDigest,
  tickTime,
  nodeArgs = [],
  readyTimeoutMs = readyTimeoutMsDefault,
  stopTimeoutMs = stopTimeoutMsDefault,
} = {}) {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`startMaestro: bad port ${port}`);
  if (!existsSync(maestroMain)) throw new Error(`startMaestro: ${maestroMain} not found; run \`npm run build\` first`);
  if (await isPortOpen(loopbackHost, port)) throw new Error(`startMaestro: ${loopbackHost}:${port} is already in use`);

  const ownsDataDir = dataDir === undefined;
  const directory = resolve(dataDir ?? mkdtempSync(join(tmpdir(), "maestro-")));
  mkdirSync(directory, { recursive: true });
  const logPath = join(directory, "maestro.log");
  const logFd = openSync(logPath, "a");
  const args = maestroArguments({ port, dataDir: directory, fourLetterWords, superDigest, tickTime, extraArgs });
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: repositoryRoot, stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  killOnExit(child);
  const spawnFailed = new Promise((_, reject) => child.once("error", reject));
  spawnFailed.catch(() => {});

  let stopping;
  async function stop() {
    stopping ??= (async () => {
      await terminate(child, stopTimeoutMs);
      if (ownsDataDir) rmSync(directory, { recursive: true, force: true });
    })();
    return stopping;
  }

  try {
    await Promise.race([
      spawnFailed,
      waitUntilServing({ host: loopbackHost, port, child, timeoutMs: readyTimeoutMs, name: "Maestro", describe: () => logTail(logPath) }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, host: loopbackHost, dataDir: directory, logPath, pid: child.pid, stop };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: "string", default: "2281" },
      "data-dir": { type: "string" },
      "super-digest": { type: "string" },
      "tick-time": { type: "string" },
      "four-letter-words": { type: "string", default: "*" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("usage: node scripts/maestro-process.mjs --port 2281 [--data-dir D] [--super-digest super:BASE64] [--tick-time MS] [--four-letter-words LIST] [-- extra maestro args]");
    return;
  }
  const maestro = await startMaestro({
    port: Number(values.port),
    dataDir: values["data-dir"],
    superDigest: values["super-digest"],
    tickTime: values["tick-time"] === undefined ? undefined : Number(values["tick-time"]),
    fourLetterWords: values["four-letter-words"],
    extraArgs: positionals,
  });
  console.log(`Maestro serving on ${maestro.host}:${maestro.port} (pid ${maestro.pid}, data ${maestro.dataDir}, log ${maestro.logPath}); Ctrl-C stops it`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await maestro.stop();
    console.log("Maestro stopped");
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
