// Four-letter words on the client port: the client writes four ASCII bytes,
// the server writes text and closes. Formats follow ZooKeeper 3.8 closely
// enough for zkServer.sh, go-zookeeper's FLW parsers and exporters.

import { hostname, platform, arch, release, userInfo, homedir } from "node:os";
import { getHeapStatistics } from "node:v8";
import { fourLetterWordNames, sessionTimeoutBounds } from "./config.js";
import type { ClientConnection } from "./connection.js";
import type { MaestroServer } from "./server.js";
import type { LeaseStatusReport } from "../broker/status.js";

/** ZooKeeper-shaped version: what tools parse; the suffix says what we are. */
export const zookeeperCompatibleVersion = "3.8.4-maestro-0.1.0";
export const buildDate = "2026-11-27 00:00 UTC";
export const fullVersion = `${zookeeperCompatibleVersion}, built on ${buildDate}`;

/** What `leas` reads: null when the node runs without brokers (a single node). */
export interface LeaseStatusSource {
  leaseStatus(): LeaseStatusReport | null;
}

export const notMultiRegionText = "This ZooKeeper instance is not in a multi-region deployment.\n";

const known = new Set<string>(fourLetterWordNames);

export function isKnownFourLetterWord(word: string): boolean {
  return known.has(word);
}

function isEnabled(server: MaestroServer, word: string): boolean {
  const allowed = server.config.fourLetterWords;
  return allowed.includes("*") || allowed.includes(word);
}

export function answerFourLetterWord(server: MaestroServer, self: ClientConnection, word: string): string {
  if (!isEnabled(server, word)) return `${word} is not executed because it is not in the whitelist.\n`;
  server.logger.debug({ word, remote: self.remoteAddress }, "four-letter word");
  const answer = commands[word];
  return answer === undefined ? "" : answer(server, self);
}

type Command = (server: MaestroServer, self: ClientConnection) => string;

const commands: Record<string, Command> = {
  ruok: () => "imok",
  isro: () => "rw",
  srvr: (server) => statText(server, null),
  stat: (server, self) => statText(server, self),
  mntr: (server) => monitorText(server),
  conf: (server) => confText(server),
  cons: (server, self) => consText(server, self),
  crst: (server) => {
    for (const connection of server.connections.values()) resetConnection(connection);
    return "Connection stats reset.\n";
  },
  srst: (server) => {
    server.stats.reset();
    return "Server stats reset.\n";
  },
  envi: () => enviText(),
  wchs: (server) => {
    const summary = server.watches.summary();
    return `${summary.watchers} connections watching ${summary.paths} paths\nTotal watches:${summary.watches}\n`;
  },
  wchc: (server) => watchesByConnection(server),
  wchp: (server) => watchesByPath(server),
  dump: (server) => dumpText(server),
  dirs: () => "datadir_size: 0\nlogdir_size: 0\n",
  gtmk: () => "0\n",
  stmk: () => "0\n",
  hash: () => "Digest computation is disabled.\n",
  leas: (server) => leaseText(server),
};

/** One JSON object (see src/broker/status.ts), or a line of text when there is no broker. */
export function leaseText(source: LeaseStatusSource): string {
  const report = source.leaseStatus();
  return report === null ? notMultiRegionText : JSON.stringify(report) + "\n";
}

/** Java's Double.toString for the values latency averages take. */
function javaDouble(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function hex(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`;
}

function outstanding(server: MaestroServer): number {
  return server.pipeline.inFlightCount;
}

function statText(server: MaestroServer, self: ClientConnection | null): string {
  const lines = [`Zookeeper version: ${fullVersion}`];
  if (self !== null) {
    lines.push("Clients:");
    for (const connection of server.connections.values()) lines.push(connectionLine(connection, true));
    lines.push("");
  }
  const stats = server.stats;
  lines.push(
    `Latency min/avg/max: ${stats.latencyMinMs}/${javaDouble(stats.latencyAverageMs)}/${stats.latencyMaxMs}`,
    `Received: ${stats.packetsReceived}`,
    `Sent: ${stats.packetsSent}`,
    `Connections: ${server.connections.size}`,
    `Outstanding: ${outstanding(server)}`,
    `Zxid: ${hex(server.pipeline.lastAppliedZxid)}`,
    "Mode: standalone",
    `Node count: ${nodeCountAsZooKeeper(server)}`,
  );
  return lines.join("\n") + "\n";
}

function connectionLine(connection: ClientConnection, brief: boolean): string {
  const head = ` /${connection.remoteAddress}:${connection.remotePort}[1](queued=${connection.queuedRequests},recved=${connection.packetsReceived},sent=${connection.packetsSent}`;
  if (brief || connection.sessionId === 0n) return `${head})`;
  const count = connection.latencyCount;
  const fields = [
    `sid=${hex(connection.sessionId)}`,
    `lop=${connection.lastOperation}`,
    `est=${connection.establishedMs}`,
    `to=${connection.sessionTimeoutMs}`,
    `lcxid=${hex(BigInt(connection.lastXid))}`,
    `lzxid=${hex(connection.lastZxid)}`,
    `lresp=${Date.now()}`,
    `llat=${connection.lastLatencyMs}`,
    `minlat=${count === 0 ? 0 : connection.latencyMinMs}`,
    `avglat=${count === 0 ? 0 : Math.round(connection.latencyTotalMs / count)}`,
    `maxlat=${connection.latencyMaxMs}`,
  ];
  return `${head},${fields.join(",")})`;
}

function consText(server: MaestroServer, self: ClientConnection): string {
  // The asking connection first (brief: it has no session), then the others.
  const lines: string[] = [connectionLine(self, true)];
  for (const connection of server.connections.values()) {
    if (connection !== self) lines.push(connectionLine(connection, false));
  }
  return lines.join("\n") + "\n\n";
}

function resetConnection(connection: ClientConnection): void {
  connection.packetsReceived = 0;
  connection.packetsSent = 0;
  connection.latencyMinMs = Number.POSITIVE_INFINITY;
  connection.latencyMaxMs = 0;
  connection.latencyTotalMs = 0;
  connection.latencyCount = 0;
  connection.lastLatencyMs = 0;
  connection.lastOperation = "NA";
}

function monitorText(server: MaestroServer): string {
  const stats = server.stats;
  const rows: Array<[string, string | number]> = [
    ["zk_version", fullVersion],
    ["zk_server_state", "standalone"],
    ["zk_avg_latency", javaDouble(stats.latencyAverageMs)],
    ["zk_max_latency", stats.latencyMaxMs],
    ["zk_min_latency", stats.latencyMinMs],
    ["zk_packets_received", stats.packetsReceived],
    ["zk_packets_sent", stats.packetsSent],
    ["zk_num_alive_connections", server.connections.size],
    ["zk_outstanding_requests", outstanding(server)],
    ["zk_znode_count", nodeCountAsZooKeeper(server)],
    ["zk_watch_count", server.watches.watchCount],
    ["zk_ephemerals_count", server.tree.ephemeralCount],
    ["zk_approximate_data_size", server.tree.approximateDataSize],
    ["zk_open_file_descriptor_count", server.connections.size + 16],
    ["zk_max_file_descriptor_count", 1048576],
    ["zk_uptime", Date.now() - server.startedMs],
    ["zk_global_sessions", server.sessions.size],
    ["zk_local_sessions", 0],
  ];
  return rows.map(([key, value]) => `${key}\t${value}`).join("\n") + "\n";
}

function confText(server: MaestroServer): string {
  const config = server.config;
  const bounds = sessionTimeoutBounds(config);
  const rows = [
    `clientPort=${config.port}`,
    "secureClientPort=-1",
    `dataDir=${config.dataDir}`,
    "dataDirSize=0",
    `dataLogDir=${config.dataDir}`,
    "dataLogSize=0",
    `tickTime=${config.tickTimeMs}`,
    `maxClientCnxns=${config.connectionsMax}`,
    `minSessionTimeout=${bounds.min}`,
    `maxSessionTimeout=${bounds.max}`,
    "clientPortListenBacklog=-1",
    "serverId=0",
  ];
  return rows.join("\n") + "\n";
}

function enviText(): string {
  const rows = [
    "Environment:",
    `zookeeper.version=${fullVersion}`,
    `host.name=${hostname()}`,
    `node.version=${process.version}`,
    `os.name=${platform()}`,
    `os.arch=${arch()}`,
    `os.version=${release()}`,
    `user.name=${safeUser()}`,
    `user.home=${homedir()}`,
    `user.dir=${process.cwd()}`,
    ...memoryLines(),
  ];
  return rows.join("\n") + "\n";
}

/** ZooKeeper's os.memory.free/max/total lines, from the V8 heap (MB). */
function memoryLines(): string[] {
  const heap = getHeapStatistics();
  const mb = (bytes: number): number => Math.round(bytes / 1048576);
  return [
    `os.memory.free=${mb(heap.total_heap_size - heap.used_heap_size)}MB`,
    `os.memory.max=${mb(heap.heap_size_limit)}MB`,
    `os.memory.total=${mb(heap.total_heap_size)}MB`,
  ];
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

function sessionOf(server: MaestroServer, connectionId: number): bigint {
  return server.connections.get(connectionId)?.sessionId ?? 0n;
}

function watchesByConnection(server: MaestroServer): string {
  let text = "";
  for (const [connectionId, paths] of server.watches.byWatcher()) {
    text += `${hex(sessionOf(server, connectionId))}\n`;
    for (const path of paths) text += `\t${path}\n`;
  }
  return text + "\n";
}

function watchesByPath(server: MaestroServer): string {
  let text = "";
  for (const [path, watchers] of server.watches.byPath()) {
    text += `${path}\n`;
    for (const connectionId of watchers) text += `\t${hex(sessionOf(server, connectionId))}\n`;
  }
  return text + "\n";
}

function dumpText(server: MaestroServer): string {
  const lines = ["SessionTracker dump:", `Global Sessions(${server.sessions.size}):`];
  const now = performance.now();
  for (const entry of server.sessions.values()) {
    lines.push(`${hex(entry.id)}\t${entry.timeoutMs}ms\texpires in ${Math.max(0, Math.round(entry.expiresAtMs - now))}ms`);
  }
  const bySession = server.tree.ephemeralsBySession();
  lines.push("ephemeral nodes dump:", `Sessions with Ephemerals (${bySession.size}):`);
  for (const [sessionId, paths] of bySession) {
    lines.push(`${hex(sessionId)}:`);
    for (const path of paths) lines.push(`\t${path}`);
  }
  lines.push("Connections dump:", `Connections Sets (${server.connections.size})`);
  return lines.join("\n") + "\n";
}

/** ZooKeeper stores the root under both "" and "/", so it counts one node more. */
function nodeCountAsZooKeeper(server: MaestroServer): number {
  return server.tree.nodeCount + 1;
}
