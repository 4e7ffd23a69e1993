// A kazoo session in a Python child process (test/support/kazoo-driver.py),
// driven one JSON command at a time. Every wait is bounded; close() ends
// the child.
//
//   const kazoo = await KazooDriver.start("127.0.0.1:2181");
//   await kazoo.request({ op: "create", path: "/a", data: "x" });
//   const fired = kazoo.watch("/a");   // resolves with the event
//   await kazoo.close();

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const pythonPath = "/usr/bin/python3";
const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const driverScript = join(repositoryRoot, "test", "support", "kazoo-driver.py");
const startTimeoutMs = 15_000;
const requestTimeoutMsDefault = 15_000;
const stopTimeoutMs = 5_000;
const stderrCharsMax = 4_000;

/** Why kazoo cannot be used here, or null when /usr/bin/python3 imports it. */
export function kazooUnavailable(): string | null {
  const probe = spawnSync(pythonPath, ["-c", "import kazoo"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error !== undefined) return `${pythonPath} cannot run: ${probe.error.message}`;
  return probe.status === 0 ? null : `${pythonPath} cannot import kazoo (install python3-kazoo): ${probe.stderr.trim().split("\n").pop() ?? ""}`;
}

export interface KazooReply {
  id: number;
  ok: boolean;
  error?: string;
  message?: string;
  path?: string;
  data?: string;
  children?: string[];
  acquired?: boolean;
  stat?: { version: number; cversion: number; numChildren: number } | null;
}

export interface KazooEvent {
  id: number;
  event: string;
  path: string;
}

type Command = { op: string; path?: string; data?: string; sequence?: boolean; ephemeral?: boolean; timeoutS?: number; identifier?: string };

export class KazooDriver {
  private nextId = 1;
  private readonly replies = new Map<number, (reply: KazooReply) => void>();
  private readonly events = new Map<number, (event: KazooEvent) => void>();
  private stderr = "";
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly label: string) {}

  static async start(hosts: string, label = hosts): Promise<KazooDriver> {
    const child = spawn(pythonPath, [driverScript, hosts], { stdio: ["pipe", "pipe", "pipe"] });
    const driver = new KazooDriver(child, label);
    let connected: () => void = () => {};
    const ready = new Promise<void>((resolveReady) => (connected = resolveReady));
    child.stderr.on("data", (chunk: Buffer) => {
      driver.stderr = (driver.stderr + chunk.toString("utf8")).slice(-stderrCharsMax);
    });
    child.once("exit", () => (driver.exited = true));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const message = JSON.parse(line) as Partial<KazooReply & KazooEvent>;
      if (message.event === "connected") connected();
      else if (message.event !== undefined) driver.events.get(message.id ?? -1)?.(message as KazooEvent);
      else driver.replies.get(message.id ?? -1)?.(message as KazooReply);
    });
    try {
      await bounded(ready, startTimeoutMs, () => `kazoo (${label}) did not connect to ${hosts}${driver.stderrTail()}`);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    return driver;
  }

  /** Sends one command and resolves with its reply (ok or not). */
  request(command: Command, timeoutMs = requestTimeoutMsDefault): Promise<KazooReply> {
    const id = this.nextId++;
    const reply = new Promise<KazooReply>((resolveReply) => this.replies.set(id, resolveReply));
    this.child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    return bounded(reply, timeoutMs, () => `kazoo (${this.label}): no reply to ${JSON.stringify(command)}${this.stderrTail()}`).finally(() =>
      this.replies.delete(id),
    );
  }

  /** Like request, but a failure reply throws. */
  async ok(command: Command, timeoutMs = requestTimeoutMsDefault): Promise<KazooReply> {
    const reply = await this.request(command, timeoutMs);
    if (!reply.ok) throw new Error(`kazoo (${this.label}) ${JSON.stringify(command)}: ${reply.error ?? "?"} ${reply.message ?? ""}`);
    return reply;
  }

  /** Sets a one-shot data watch on `path`; `fired` resolves with its event (bounded by timeoutMs). */
  async watch(path: string, timeoutMs = requestTimeoutMsDefault): Promise<{ data: string; fired: Promise<KazooEvent> }> {
    const id = this.nextId++;
    const fired = bounded(
      new Promise<KazooEvent>((resolveEvent) => this.events.set(id, resolveEvent)),
      timeoutMs,
      () => `kazoo (${this.label}): the watch on ${path} did not fire`,
    );
    fired.catch(() => {});
    const reply = new Promise<KazooReply>((resolveReply) => this.replies.set(id, resolveReply));
    this.child.stdin.write(`${JSON.stringify({ op: "watch", path, id })}\n`);
    const answer = await bounded(reply, requestTimeoutMsDefault, () => `kazoo (${this.label}): no reply to watch ${path}`);
    this.replies.delete(id);
    if (!answer.ok) throw new Error(`kazoo (${this.label}) watch ${path}: ${answer.error ?? "?"}`);
    return { data: answer.data ?? "", fired };
  }

  /** Asks the script to quit (it closes its session), then kills it if it lingers. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolveExit) => this.child.once("exit", () => resolveExit()));
    this.child.stdin.end(`${JSON.stringify({ op: "quit", id: 0 })}\n`);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private stderrTail(): string {
    return this.stderr === "" ? "" : `\n--- kazoo stderr ---\n${this.stderr}`;
  }
}

function bounded<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
