// Starts a real Maestro process for one test file: a fresh temporary data
// directory, a free loopback port, readiness by four-letter word (`ruok` →
// `imok`, or `srvr` when the whitelist does not allow ruok), and a bounded
// stop (SIGTERM, then SIGKILL). Every wait here has a deadline, so a server
// that never comes up fails the test file instead of hanging it.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const loopbackHost = "127.0.0.1";
const readyTimeoutMsDefault = 20_000;
const stopTimeoutMs = 5_000;
const probeTimeoutMs = 1_000;
const probeIntervalMs = 100;
const startAttemptsMax = 3;
const fourLetterReplyBytesMax = 1 << 20;
const logTailBytes = 4_000;

/** The repository root, found from dist/test/support/ or test/support/. */
function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    if (existsSync(join(directory, "package.json"))) return directory;
    directory = dirname(directory);
  }
  throw new Error("server-process: cannot find the repository root");
}

export const maestroMain = join(repositoryRoot(), "dist", "src", "cli", "main.js");

export interface ServerOptions {
  tickTimeMs?: number;
  /** Comma-separated list or "*"; undefined keeps Maestro's default (srvr only). */
  fourLetterWords?: string;
  /** "user:base64(sha1(user:password))". */
  superDigest?: string;
  containerSweepIntervalMs?: number;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** Reuse this directory (a restart after a crash); it is kept on stop. */
  dataDir?: string;
  /** Listen on this port instead of a free one (a restart keeps its port). */
  port?: number;
}

export interface ServerProcess {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logPath: string;
  /** "127.0.0.1:port", for node-zookeeper-client. */
  readonly connectString: string;
  readonly tickTimeMs: number;
  /** True while the process has not exited. */
  alive(): boolean;
  /** The last few KB of the server's log, for failure messages. */
  logTail(): string;
  stop(): Promise<void>;
  /** SIGKILL, no chance to flush: a crash. Resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A port that was free a moment ago: bind port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, loopbackHost, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolvePort(address.port);
        else reject(new Error("freePort: no port"));
      });
    });
  });
}

/**
 * Sends a four-letter word and resolves with the whole answer once the
 * server closes the connection. Rejects on error or after timeoutMs.
 */
export function fourLetterWord(port: number, word: string, timeoutMs = 5_000, host = loopbackHost): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => finish(new Error(`${word}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    let finished = false;
    function finish(error: Error | null): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolveAnswer(Buffer.concat(chunks).toString("utf8"));
    }
    socket.on("connect", () => socket.write(word, "latin1"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > fourLetterReplyBytesMax) finish(new Error(`${word}: answer over ${fourLetterReplyBytesMax} bytes`));
      else chunks.push(chunk);
    });
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(null));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

function readTail(path: string): string {
  try {
    const text = readFileSync(path, "utf8");
    return text.length > logTailBytes ? text.slice(-logTailBytes) : text;
  } catch {
    return "(no log)";
  }
}

function allowsRuok(fourLetterWords: string | undefined): boolean {
  if (fourLetterWords === undefined) return false;
  const words = fourLetterWords.split(",").map((word) => word.trim());
  return words.includes("*") || words.includes("ruok");
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test runner that dies must not leave servers behind. */
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const process_ of running) process_.kill("SIGKILL");
  });
}

function serverArguments(port: number, dataDir: string, options: ServerOptions, tickTimeMs: number): string[] {
  const args = [maestroMain, "start", "--port", String(port), "--host", loopbackHost, "--data-dir", dataDir];
  args.push("--tick-time", String(tickTimeMs), "--log-level", "warn");
  if (options.fourLetterWords !== undefined) args.push("--four-letter-words", options.fourLetterWords);
  if (options.superDigest !== undefined) args.push("--super-digest", options.superDigest);
  if (options.containerSweepIntervalMs !== undefined) {
    args.push("--container-sweep-interval", String(options.containerSweepIntervalMs));
  }
  return [...args, ...(options.extraArgs ?? [])];
}

async function waitUntilReady(
  port: number,
  child: ChildProcess,
  ruok: boolean,
  timeoutMs: number,
): Promise<"ready" | "exited"> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return "exited";
    try {
      const answer = await fourLetterWord(port, ruok ? "ruok" : "srvr", probeTimeoutMs);
      if (ruok ? answer === "imok" : answer.startsWith("Zookeeper version:")) return "ready";
    } catch {
      // not listening yet
    }
    await sleep(probeIntervalMs);
  }
  throw new Error(`server on port ${port} not ready within ${timeoutMs} ms`);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const killer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
    child.once("exit", () => {
      clearTimeout(killer);
      resolveStop();
    });
    child.kill("SIGTERM");
  });
}

async function startOnce(options: ServerOptions, dataDir: string): Promise<ServerProcess | "port-taken"> {
  const tickTimeMs = options.tickTimeMs ?? 500;
  const port = options.port ?? (await freePort());
  const logPath = join(dataDir, `maestro-${port}.log`);
  const logFd = openSync(logPath, "a");
  const child = spawn(process.execPath, serverArguments(port, join(dataDir, "data"), options, tickTimeMs), {
    cwd: repositoryRoot(),
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  killOnExit(child);
  child.on("error", () => {});
  let stopping: Promise<void> | undefined;
  const server: ServerProcess = {
    host: loopbackHost,
    port,
    dataDir,
    logPath,
    connectString: `${loopbackHost}:${port}`,
    tickTimeMs,
    alive: () => child.exitCode === null && child.signalCode === null,
    logTail: () => readTail(logPath),
    stop: () => {
      stopping ??= terminate(child).then(() => {
        const keep = process.env.MAESTRO_KEEP_TEST_DATA !== undefined || options.dataDir !== undefined;
        if (!keep) rmSync(dataDir, { recursive: true, force: true });
      });
      return stopping;
    },
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolveKill) => {
        child.once("exit", () => resolveKill());
        child.kill("SIGKILL");
      });
    },
  };
  const outcome = await waitUntilReady(port, child, allowsRuok(options.fourLetterWords), options.readyTimeoutMs ?? readyTimeoutMsDefault).catch(
    async (error: unknown) => {
      await terminate(child);
      throw new Error(`${(error as Error).message}\n--- server log ---\n${readTail(logPath)}`);
    },
  );
  if (outcome === "ready") return server;
  const log = readTail(logPath);
  if (/EADDRINUSE/.test(log)) return "port-taken";
  throw new Error(`maestro exited during start-up (code ${child.exitCode}, signal ${child.signalCode})\n--- server log ---\n${log}`);
}

/**
 * Starts `node dist/src/cli/main.js start ...` on a free port and resolves
 * once it answers. Retries with another port if the chosen one was taken
 * between probing and binding.
 */
export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  if (!existsSync(maestroMain)) throw new Error(`${maestroMain} not found: run \`npx tsc -p tsconfig.json\` first`);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "maestro-test-"));
  const attempts = options.port === undefined ? startAttemptsMax : 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const started = await startOnce(options, dataDir);
    if (started !== "port-taken") return started;
  }
  if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  throw new Error(`could not find a free port in ${startAttemptsMax} attempts`);
}
