// The lab: a WAN emulator plus the servers of one deployment (topology in
// lab-topology.ts), on loopback. Clients of a region connect to that
// region's server directly; only peer traffic between servers goes through
// the emulator. stop() (or the end of the process) stops everything.
// maestro-cluster and maestro-central run one Maestro node per region as one
// multi-region cluster whose broker links all cross the emulator.
//
//   const lab = await Lab.start(parseLabTopology({ deployment: "zk-ensemble" }));
//   lab.clientAddresses()  // one "127.0.0.1:port" per region, in region order
//   await lab.stop();

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WanEmulator } from "./wan-emulator.js";
import { WanError } from "./wan-model.js";
import {
  expectedOwners,
  isMaestroCluster,
  maestroClusterConfig,
  zooKeeperConfig,
  zooKeeperRoles,
  type LabTopology,
  type MaestroClusterNode,
  type ZooKeeperMember,
} from "./lab-topology.js";

const loopbackHost = "127.0.0.1";
const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const maestroMain = join(repositoryRoot, "dist", "src", "cli", "main.js");
const javaLibraryDir = "/usr/share/java";
// The jars of scripts/zookeeper-standalone.mjs (checked there with
// `java -verbose:class`); QuorumPeerMain loads nothing beyond them on the
// NIO path with the admin server off.
const zooKeeperJars = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar", "metrics-core.jar", "snappy-java.jar", "commons-cli.jar", "commons-io.jar"];
const quorumPeerMainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

export const labTimeouts = {
  readyTimeoutMsDefault: 60_000,
  probeTimeoutMs: 1_000,
  probeIntervalMs: 250,
  stopTimeoutMs: 10_000,
  fourLetterReplyBytesMax: 1 << 20,
} as const;

export interface LabServer {
  region: string;
  kind: "maestro" | "zookeeper";
  /** ZooKeeper's myid; 0 for Maestro. */
  id: number;
  /** A Maestro cluster node's id (its --node); absent otherwise. */
  node?: string;
  clientPort: number;
  /** Mode from `srvr` once ready: leader, follower, observer or standalone. */
  mode: string;
  logPath: string;
}

export interface LabStartOptions {
  /** Working directory for data and logs; default a fresh temporary one, removed by stop(). */
  directory?: string;
  readyTimeoutMs?: number;
  /** ZooKeeper tickTime (ms); default 1000. */
  tickTimeMs?: number;
  /** Fresh starts before giving up (ZooKeeper: an election that did not settle; Maestro: a port taken
   *  before a node bound it); default 3. Each is bounded by readyTimeoutMs. */
  startAttempts?: number;
}

export class Lab {
  readonly servers: LabServer[] = [];
  private readonly children: ChildProcess[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly topology: LabTopology,
    readonly emulator: WanEmulator,
    readonly directory: string,
    private readonly ownsDirectory: boolean,
  ) {}

  /**
   * Starts the lab; a ZooKeeper deployment whose election does not settle
   * within readyTimeoutMs is stopped and started afresh, up to
   * startAttempts times in all (Debian's ZooKeeper 3.8 sometimes leaves a
   * peer LOOKING for a minute when election connections cross slow links:
   * its notification back-off grows to 60 s).
   */
  static async start(topology: LabTopology, options: LabStartOptions = {}): Promise<Lab> {
    const attempts = options.startAttempts ?? 3;
    const maestro = topology.deployment.startsWith("maestro");
    for (let attempt = 1; ; attempt += 1) {
      const directory = options.directory === undefined ? undefined : join(options.directory, `attempt-${attempt}`);
      try {
        return await Lab.startOnce(topology, { ...options, directory });
      } catch (error) {
        const notReady = error instanceof WanError && error.code === "ERR_LAB_NOT_READY";
        // Maestro settles at once; it is tried again only when another program took one of the free ports
        // the lab picked before the node could bind it (the lab closes them first: a window nothing can shut).
        const portTaken = error instanceof Error && error.message.includes("EADDRINUSE");
        if (!notReady || (maestro && !portTaken) || attempt >= attempts) throw error;
        process.stderr.write(`lab: attempt ${attempt} of ${attempts} did not settle, starting afresh\n`);
      }
    }
  }

  private static async startOnce(topology: LabTopology, options: LabStartOptions): Promise<Lab> {
    const ownsDirectory = options.directory === undefined;
    const directory = resolve(options.directory ?? mkdtempSync(join(tmpdir(), "maestro-lab-")));
    // Servers recover whatever data they find: a lab in a used directory would start from an earlier run's trees.
    if (!ownsDirectory && existsSync(directory) && readdirSync(directory).length > 0) {
      throw new WanError("ERR_LAB_DIRECTORY", `${directory} is not empty: a lab starts from empty data; choose another directory or remove it`);
    }
    mkdirSync(directory, { recursive: true });
    const emulator = await WanEmulator.start(topology.wan);
    const lab = new Lab(topology, emulator, directory, ownsDirectory);
    try {
      const readyTimeoutMs = options.readyTimeoutMs ?? labTimeouts.readyTimeoutMsDefault;
      if (topology.deployment === "maestro") await lab.startMaestroNodes(readyTimeoutMs);
      else if (isMaestroCluster(topology.deployment)) await lab.startMaestroCluster(readyTimeoutMs);
      else await lab.startZooKeeper(readyTimeoutMs, options.tickTimeMs ?? 1000);
    } catch (error) {
      await lab.stop();
      throw error;
    }
    return lab;
  }

  /** The address each region's clients use, in region order. */
  clientAddresses(): string[] {
    return this.topology.regions.map((region) => {
      const server = this.servers.find((entry) => entry.region === region);
      if (server === undefined) throw new Error(`the lab has a server in every region (${region})`);
      return `${loopbackHost}:${server.clientPort}`;
    });
  }

  /** What a reader of the output needs to know about this deployment. */
  notes(): string[] {
    switch (this.topology.deployment) {
      case "maestro":
        return ["one standalone Maestro node per region: regions do not replicate to each other yet (multi-region Maestro comes in a later issue)"];
      case "maestro-cluster":
      case "maestro-central":
        return this.clusterNotes();
      case "zk-ensemble":
        return [
          "a ZooKeeper ensemble with one voter per region; quorum and election links go through the WAN emulator",
          `the member in ${this.topology.regions[0]} has the highest id, so it usually wins the first election`,
        ];
      case "zk-observers":
        return [
          `one ZooKeeper voter (the leader) in ${this.topology.regions[0]} and an observer in each other region; peer links go through the WAN emulator`,
          "one voter, not three: the lab shares two cores, and three local JVMs would only add CPU contention",
        ];
    }
  }

  private clusterNotes(): string[] {
    const [rootRegion] = this.topology.regions;
    const units = this.topology.leaseRoots.map((rule) => `${rule.path} -> ${rule.home}`).join(", ");
    return [
      `one Maestro node per region forming one multi-region cluster, root broker in ${rootRegion}; every broker link between regions goes through the WAN emulator`,
      this.topology.deployment === "maestro-central"
        ? `centralized: every unit is homed at ${rootRegion}, so writes from other regions are forwarded there (${units})`
        : `units homed where their writes come from (${units}); / (the root unit) at ${rootRegion}`,
    ];
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.children.map((child) => terminate(child, labTimeouts.stopTimeoutMs)));
      await this.emulator.close();
      if (this.ownsDirectory) rmSync(this.directory, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private async startMaestroNodes(readyTimeoutMs: number): Promise<void> {
    if (!existsSync(maestroMain)) throw new WanError("ERR_LAB_BUILD", `${maestroMain} not found; run npm run build first`);
    const ports = await freePorts(this.topology.regions.length);
    const starting = this.topology.regions.map(async (region, index) => {
      const port = ports[index] ?? 0;
      const dataDir = join(this.directory, `maestro-${index}-${region}`);
      mkdirSync(dataDir, { recursive: true });
      const logPath = join(dataDir, "maestro.log");
      const args = [maestroMain, "start", "--port", String(port), "--host", loopbackHost, "--data-dir", dataDir, "--four-letter-words", "*"];
      const exited = this.spawnLogged(process.execPath, args, logPath);
      const mode = await waitForMode(port, readyTimeoutMs, logPath, undefined, exited);
      this.servers.push({ region, kind: "maestro", id: 0, clientPort: port, mode, logPath });
    });
    await Promise.all(starting);
  }

  /**
   * One node per region, all from one config file: node i's "dial" reaches
   * node j through the emulator's proxy for the i->j direction (a link from
   * i's region to j's broker port), so each one-way broker connection pays
   * the pair's delay, as zk-ensemble's quorum ports do. Ready once every
   * node answers srvr and its `leas` shows each unit at its expected owner
   * (held, not lapsed, at the owner).
   */
  private async startMaestroCluster(readyTimeoutMs: number): Promise<void> {
    if (!existsSync(maestroMain)) throw new WanError("ERR_LAB_BUILD", `${maestroMain} not found; run npm run build first`);
    const ports = await freePorts(this.topology.regions.length * 2);
    const nodes: MaestroClusterNode[] = this.topology.regions.map((region, index) => ({
      id: `${region}-1`,
      region,
      clientPort: ports[index * 2] ?? 0,
      brokerPort: ports[index * 2 + 1] ?? 0,
    }));
    const dials = new Map<string, number>();
    for (const from of nodes) {
      for (const to of nodes) {
        if (from.id === to.id) continue;
        const link = await this.emulator.addLink({ from: from.region, to: to.region, targetPort: to.brokerPort });
        dials.set(`${from.id}>${to.id}`, link.port);
      }
    }
    const dialPort = (from: MaestroClusterNode, to: MaestroClusterNode): number => {
      const port = dials.get(`${from.id}>${to.id}`);
      if (port === undefined) throw new Error(`a proxy from ${from.id} to ${to.id}`);
      return port;
    };
    const configPath = join(this.directory, "cluster.json");
    const config = maestroClusterConfig(nodes, dialPort, {
      leaseRoots: this.topology.leaseRoots,
      secret: randomBytes(24).toString("hex"),
      clusterSettings: this.topology.clusterSettings,
    });
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const owners = expectedOwners(this.topology);
    const deadline = Date.now() + readyTimeoutMs;
    await Promise.all(
      nodes.map(async (node, index) => {
        const dataDir = join(this.directory, `maestro-${index}-${node.region}`);
        mkdirSync(dataDir, { recursive: true });
        const logPath = join(dataDir, "maestro.log");
        const exited = this.spawnLogged(process.execPath, [maestroMain, "start", "--config", configPath, "--node", node.id, "--data-dir", dataDir], logPath);
        const mode = await waitForMode(node.clientPort, Math.max(1, deadline - Date.now()), logPath, () => true, exited);
        await waitForOwners(node, owners, Math.max(1, deadline - Date.now()), logPath);
        this.servers.push({ region: node.region, kind: "maestro", id: 0, node: node.id, clientPort: node.clientPort, mode, logPath });
      }),
    );
  }

  private async startZooKeeper(readyTimeoutMs: number, tickTimeMs: number): Promise<void> {
    const classpath = zooKeeperClasspath();
    const roles = zooKeeperRoles(this.topology.deployment, this.topology.regions);
    const ports = await freePorts(roles.length * 3);
    // The first region gets the highest id: with equal logs ZooKeeper's
    // election picks the highest id, so the leader starts in the first region.
    const members: ZooKeeperMember[] = roles.map((entry, index) => ({
      id: roles.length - index,
      region: entry.region,
      role: entry.role,
      clientPort: ports[index * 3] ?? 0,
      quorumPort: ports[index * 3 + 1] ?? 0,
      electionPort: ports[index * 3 + 2] ?? 0,
    }));
    const proxies = new Map<string, number>();
    for (const from of this.topology.regions) {
      for (const member of members) {
        if (member.region === from) continue;
        for (const kind of ["quorum", "election"] as const) {
          const targetPort = kind === "quorum" ? member.quorumPort : member.electionPort;
          const link = await this.emulator.addLink({ from, to: member.region, targetPort });
          proxies.set(`${from}/${member.id}/${kind}`, link.port);
        }
      }
    }
    const peerPort = (from: string, member: ZooKeeperMember, kind: "quorum" | "election"): number => {
      const port = proxies.get(`${from}/${member.id}/${kind}`);
      if (port === undefined) throw new Error(`a proxy from ${from} to server ${member.id} (${kind})`);
      return port;
    };
    for (const member of members) {
      const memberDir = join(this.directory, `zookeeper-${member.id}-${member.region}`);
      const dataDir = join(memberDir, "data");
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, "myid"), `${member.id}\n`);
      const configPath = join(memberDir, "zoo.cfg");
      writeFileSync(configPath, zooKeeperConfig(member, members, peerPort, { dataDir, tickTimeMs }));
      const logPath = join(memberDir, "zookeeper.log");
      this.spawnLogged("java", zooKeeperJavaArguments(classpath, memberDir, configPath), logPath);
      this.servers.push({ region: member.region, kind: "zookeeper", id: member.id, clientPort: member.clientPort, mode: "", logPath });
    }
    await Promise.all(
      this.servers.map(async (server) => {
        server.mode = await waitForMode(server.clientPort, readyTimeoutMs, server.logPath);
      }),
    );
  }

  /** Starts a server; the answer says whether it has exited since (a readiness wait need not go on). */
  private spawnLogged(command: string, args: string[], logPath: string): () => boolean {
    const logFd = openSync(logPath, "a");
    const child = spawn(command, args, { cwd: this.directory, stdio: ["ignore", logFd, logFd] });
    closeSync(logFd);
    child.once("error", () => {});
    killOnExit(child);
    this.children.push(child);
    return () => child.exitCode !== null || child.signalCode !== null;
  }
}

function zooKeeperClasspath(): string {
  const jars = zooKeeperJars.map((name) => join(javaLibraryDir, name));
  const missing = jars.filter((jar) => !existsSync(jar));
  if (missing.length > 0) {
    throw new WanError("ERR_LAB_ZOOKEEPER", `ZooKeeper jars missing: ${missing.join(", ")}; run scripts/install-test-deps.sh`);
  }
  return jars.join(":");
}

// Small heaps and the serial collector: several JVMs share two cores.
function zooKeeperJavaArguments(classpath: string, logDir: string, configPath: string): string[] {
  return [
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-Dfile.encoding=UTF-8",
    "-Djava.awt.headless=true",
    `-Dzookeeper.log.dir=${logDir}`,
    "-Dzookeeper.admin.enableServer=false",
    "-cp",
    classpath,
    quorumPeerMainClass,
    configPath,
  ];
}

const servingModes = ["leader", "follower", "observer", "standalone"];

/**
 * Polls `srvr` until it reports a Mode that `accepts` (a ZooKeeper peer
 * answers only once it has joined a quorum; by default the modes of a
 * serving ZooKeeper peer).
 */
async function waitForMode(
  port: number,
  timeoutMs: number,
  logPath: string,
  accepts: (mode: string) => boolean = (mode) => servingModes.includes(mode),
  exited: () => boolean = () => false,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (exited()) throw new WanError("ERR_LAB_NOT_READY", `the server for ${loopbackHost}:${port} exited before it answered srvr${logTail(logPath)}`);
    try {
      const reply = await fourLetterWord(port, "srvr");
      const mode = /^Mode: (\w+)/m.exec(reply)?.[1];
      if (mode !== undefined && accepts(mode)) return mode;
      last = reply.trim().slice(0, 200);
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, labTimeouts.probeIntervalMs));
  }
  throw new WanError("ERR_LAB_NOT_READY", `no Mode from srvr on ${loopbackHost}:${port} within ${timeoutMs} ms (last: ${last})${logTail(logPath)}`);
}

interface LeaseUnitView {
  unit: string;
  owner: string;
  state: string;
}

/** What a `leas` answer says about the expected owners: null when all match, else the first difference. */
export function ownersDiffer(reply: string, region: string, owners: ReadonlyMap<string, string>): string | null {
  let units: LeaseUnitView[];
  try {
    units = (JSON.parse(reply) as { units: LeaseUnitView[] }).units;
  } catch {
    return `leas is not JSON: ${reply.trim().slice(0, 200)}`;
  }
  if (!Array.isArray(units)) return "leas has no units";
  for (const [unit, owner] of owners) {
    const view = units.find((entry) => entry.unit === unit);
    if (view === undefined) return `${unit} not listed`;
    if (view.owner !== owner) return `${unit} owned by ${view.owner}, expected ${owner}`;
    if (owner === region && view.state !== "owned") return `${unit} is ${view.state} at its owner`;
  }
  return null;
}

/** Polls `leas` until the node sees every unit at its expected owner. */
async function waitForOwners(node: MaestroClusterNode, owners: ReadonlyMap<string, string>, timeoutMs: number, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const difference = ownersDiffer(await fourLetterWord(node.clientPort, "leas"), node.region, owners);
      if (difference === null) return;
      last = difference;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, labTimeouts.probeIntervalMs));
  }
  throw new WanError("ERR_LAB_NOT_READY", `node ${node.id}: leases not as expected within ${timeoutMs} ms (last: ${last})${logTail(logPath)}`);
}

export function fourLetterWord(port: number, word: string, timeoutMs: number = labTimeouts.probeTimeoutMs): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = net.connect({ host: loopbackHost, port });
    const timer = setTimeout(() => finish(new Error(`${word}: no answer within ${timeoutMs} ms`)), timeoutMs);
    function finish(error: Error | null): void {
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolvePromise(Buffer.concat(chunks).toString("utf8"));
    }
    socket.on("connect", () => socket.write(word));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > labTimeouts.fourLetterReplyBytesMax) finish(new Error(`${word}: reply too long`));
      else chunks.push(chunk);
    });
    socket.on("error", (error) => finish(error));
    socket.on("end", () => finish(null));
  });
}

/** Ports free right now on loopback (the usual race with other programs applies). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolvePromise, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, loopbackHost, () => resolvePromise(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("a TCP listener has a port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolvePromise) => server.close(resolvePromise))));
  return ports;
}

function logTail(path: string, lines = 20): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    return `\n--- last lines of ${path} ---\n${text.split("\n").slice(-lines).join("\n")}`;
  } catch {
    return "";
  }
}

async function terminate(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolvePromise) => child.once("exit", resolvePromise));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

// Children still running when this process exits are killed: 'exit' runs
// on a normal end; the lab's CLI turns SIGINT/SIGTERM into stop().
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const entry of liveChildren) entry.kill("SIGKILL");
  });
}
