// Starting the two servers the way the differential run needs them: the
// same tickTime, super digest, extended types, container sweep interval and
// four-letter words on both. Reuses scripts/zookeeper-standalone.mjs and
// scripts/maestro-process.mjs (imported at run time: they are plain .mjs
// files outside the TypeScript build); the pair with the *default*
// whitelist is spawned here, since those launchers always allow ruok.

import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { superDigest, type Endpoint } from "./scenario.js";

/** The tickTime of both servers: sessions may be as short as 400 ms, so expiry scenarios stay quick. */
export const tickTimeMs = 200;
/** ZooKeeper's znode.container.checkIntervalMs and Maestro's --container-sweep-interval. */
export const containerSweepIntervalMs = 1_000;

export interface RunningServer extends Endpoint {
  stop(): Promise<void>;
}

interface ZooKeeperScript {
  startZooKeeper(options: Record<string, unknown>): Promise<RunningServer>;
  zooKeeperClasspath(): string;
  zooKeeperMainClass: string;
  killOnExit(child: ChildProcess): void;
  terminate(child: ChildProcess, timeoutMs?: number): Promise<void>;
  fourLetterWord(host: string, port: number, word: string, timeoutMs?: number): Promise<string>;
}

interface MaestroScript {
  startMaestro(options: Record<string, unknown>): Promise<RunningServer>;
  maestroMain: string;
}

function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(join(directory, "package.json"))) return directory;
    directory = dirname(directory);
  }
  throw new Error("servers: cannot find the repository root");
}

async function importScript<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(join(repositoryRoot(), "scripts", name)).href)) as T;
}

export interface ServerOptions {
  port: number;
  /** fsync every write (ZooKeeper forceSync, Maestro's default); off by default: semantics do not depend on it. */
  fsync?: boolean;
}

export async function startZooKeeperServer(options: ServerOptions): Promise<RunningServer> {
  const script = await importScript<ZooKeeperScript>("zookeeper-standalone.mjs");
  return script.startZooKeeper({
    port: options.port,
    extendedTypes: true,
    fourLetterWords: "*",
    superDigest,
    tickTime: tickTimeMs,
    containerCheckIntervalMs: containerSweepIntervalMs,
    forceSync: options.fsync ?? false,
  });
}

function maestroExtraArgs(fsync: boolean): string[] {
  const args = ["--container-sweep-interval", String(containerSweepIntervalMs), "--log-level", "warn"];
  if (!fsync) args.push("--unsafe-no-fsync");
  return args;
}

export async function startMaestroServer(options: ServerOptions): Promise<RunningServer> {
  const script = await importScript<MaestroScript>("maestro-process.mjs");
  return script.startMaestro({
    port: options.port,
    fourLetterWords: "*",
    superDigest,
    tickTime: tickTimeMs,
    extraArgs: maestroExtraArgs(options.fsync ?? false),
  });
}

const readyTimeoutMs = 30_000;

/** A loopback port that was free a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolvePort(address.port);
        else reject(new Error("freePort: no port"));
      });
    });
  });
}

/** Polls srvr (the one word the default whitelist allows) until the server answers it. */
async function waitForSrvr(script: ZooKeeperScript, child: ChildProcess, port: number, name: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before serving`);
    try {
      const answer = await script.fourLetterWord("127.0.0.1", port, "srvr", 1_000);
      if (answer.startsWith("Zookeeper version")) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  throw new Error(`${name} did not answer srvr on 127.0.0.1:${port} within ${readyTimeoutMs} ms`);
}

function stopper(script: ZooKeeperScript, child: ChildProcess, directory: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= script.terminate(child).then(() => rmSync(directory, { recursive: true, force: true }));
    return stopping;
  };
}

/** ZooKeeper with no 4lw.commands.whitelist line at all: 3.8's default, srvr only. */
export async function startZooKeeperDefaultWhitelist(options: ServerOptions): Promise<RunningServer> {
  const script = await importScript<ZooKeeperScript>("zookeeper-standalone.mjs");
  const directory = mkdtempSync(join(tmpdir(), "differential-zookeeper-"));
  const config = [`tickTime=${tickTimeMs}`, `dataDir=${directory}`, `clientPort=${options.port}`, "clientPortAddress=127.0.0.1", "maxClientCnxns=0", "admin.enableServer=false"];
  writeFileSync(join(directory, "zoo.cfg"), `${config.join("\n")}\n`);
  const log = openSync(join(directory, "zookeeper.log"), "a");
  const child = spawn(
    "java",
    [
      "-Dfile.encoding=UTF-8",
      `-Dzookeeper.log.dir=${directory}`,
      "-Dzookeeper.admin.enableServer=false",
      "-Dzookeeper.extendedTypesEnabled=true",
      "-Dzookeeper.forceSync=no",
      `-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest}`,
      "-cp",
      script.zooKeeperClasspath(),
      script.zooKeeperMainClass,
      join(directory, "zoo.cfg"),
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  script.killOnExit(child);
  const stop = stopper(script, child, directory);
  try {
    await waitForSrvr(script, child, options.port, "ZooKeeper (default whitelist)");
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: "127.0.0.1", port: options.port, stop };
}

/** Maestro without --four-letter-words: its default whitelist. */
export async function startMaestroDefaultWhitelist(options: ServerOptions): Promise<RunningServer> {
  const script = await importScript<ZooKeeperScript>("zookeeper-standalone.mjs");
  const maestro = await importScript<MaestroScript>("maestro-process.mjs");
  const directory = mkdtempSync(join(tmpdir(), "differential-maestro-"));
  const log = openSync(join(directory, "maestro.log"), "a");
  const args = [maestro.maestroMain, "start", "--port", String(options.port), "--host", "127.0.0.1", "--data-dir", directory];
  args.push("--tick-time", String(tickTimeMs), "--super-digest", superDigest, ...maestroExtraArgs(false));
  const child = spawn(process.execPath, args, { cwd: resolve(repositoryRoot()), stdio: ["ignore", log, log] });
  closeSync(log);
  script.killOnExit(child);
  const stop = stopper(script, child, directory);
  try {
    await waitForSrvr(script, child, options.port, "Maestro (default whitelist)");
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: "127.0.0.1", port: options.port, stop };
}
