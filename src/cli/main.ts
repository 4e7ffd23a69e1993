#!/usr/bin/env node
// The `maestro` command.

import { Command, InvalidArgumentError } from "commander";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, parseFourLetterWords, type ServerConfig } from "../server/config.js";
import { loadNodeConfig, parseHostPort, type ClusterConfig, type NodeConfig } from "../server/cluster-config.js";
import { nextIncarnation, readHaltMarker, type ClusterMembership } from "../server/cluster-node.js";
import { BrokerLinkError } from "../broker/link.js";
import { BrokerWireError } from "../broker/wire.js";
import { formatOperatorReply, operatorTarget, sendOperatorCommand } from "./operator.js";
import type { OperatorRequest } from "../broker/operator.js";
import { MaestroServer } from "../server/server.js";
import { NodeStorage, checkDataDir, StorageError } from "../storage/index.js";
import { formatCheckReport } from "./check-data.js";
import { fetchLeaseStatusText, formatLeaseTable, LeasesError, parseLeaseStatus } from "./leases.js";
import { createLogger } from "../util/logger.js";

function integer(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(value);
  };
}

interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  config?: string;
  node?: string;
  tickTime?: number;
  minSessionTimeout?: number;
  maxSessionTimeout?: number;
  fourLetterWords?: string;
  superDigest?: string;
  frameBytesMax?: number;
  ttl?: boolean;
  containerSweepInterval?: number;
  logLevel?: string;
  logJson?: boolean;
  unsafeNoFsync?: boolean;
  snapshotEveryDeltas?: number;
}

function overridesFrom(options: StartOptions): Record<string, unknown> {
  return {
    port: options.port,
    host: options.host,
    dataDir: options.dataDir,
    tickTimeMs: options.tickTime,
    minSessionTimeoutMs: options.minSessionTimeout,
    maxSessionTimeoutMs: options.maxSessionTimeout,
    fourLetterWords:
      options.fourLetterWords === undefined ? undefined : parseFourLetterWords("--four-letter-words", options.fourLetterWords),
    superDigest: options.superDigest,
    frameBytesMax: options.frameBytesMax,
    ttlEnabled: options.ttl === false ? false : undefined,
    containerSweepIntervalMs: options.containerSweepInterval,
    logLevel: options.logLevel,
    unsafeNoFsync: options.unsafeNoFsync,
    snapshotEveryDeltas: options.snapshotEveryDeltas,
  };
}

function loadOrExit(options: StartOptions): NodeConfig {
  try {
    return loadNodeConfig(options.config, { node: options.node, overrides: overridesFrom(options) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`maestro: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function start(options: StartOptions): Promise<void> {
  const node = loadOrExit(options);
  await startNode(node.server, node.cluster, options);
}

/** A single node when `cluster` is null, else this node's region of the deployment. */
async function startNode(config: ServerConfig, cluster: ClusterConfig | null, options: StartOptions): Promise<void> {
  const logger = createLogger(config.logLevel, options.logJson === true ? { pretty: false } : {});
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const halted = cluster === null ? null : readHaltMarker(dataDir);
  if (halted !== null) {
    process.stderr.write(`maestro: this node stopped for good and will not serve from ${dataDir}: ${halted}\n`);
    process.exit(3);
  }
  if (config.unsafeNoFsync) logger.warn("fsync is off: acknowledged writes can be lost in a crash (tests only)");
  const opened = await NodeStorage.open(dataDir, {
    unsafeNoFsync: config.unsafeNoFsync,
    snapshotEveryDeltas: config.snapshotEveryDeltas,
    snapshotsRetained: config.snapshotsRetained,
    snapshotAgeMsMax: config.snapshotRetainedAgeMs > 0 ? config.snapshotRetainedAgeMs : Number.POSITIVE_INFINITY,
    warn: (message, fields) => logger.warn(jsonSafe(fields), message),
  });
  logger.info(jsonSafe({ ...opened.report }), "recovered data");
  // Only now: the incarnation file lives in the data directory, which the storage has locked.
  const membership: ClusterMembership | undefined =
    cluster === null
      ? undefined
      : { ...cluster, incarnation: nextIncarnation(dataDir, Date.now()), replayedStampedDeltas: opened.replayedStampedDeltas };
  const server = new MaestroServer({
    config: { ...config, dataDir },
    logger,
    storage: opened.storage,
    tree: opened.tree,
    sessionSecret: opened.secret,
    ...(membership === undefined ? {} : { cluster: membership }),
    onHalt: (reason) => {
      process.stderr.write(`maestro: stopped: ${reason}\n`);
      process.exit(3);
    },
  });
  const port = await server.listen();
  const where = cluster === null ? {} : { node: cluster.settings.nodeId, region: cluster.settings.region };
  logger.info({ host: config.host, port, dataDir, ...where }, `maestro listening on ${config.host}:${port}`);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, "shutting down");
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

/** Bigints (zxids) as hex strings, for logs and JSON. */
function jsonSafe<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? `0x${item.toString(16)}` : item)));
}

const program = new Command();
program.name("maestro").description("ZooKeeper-compatible coordination server with hierarchical lease brokers");
program
  .command("start")
  .description("run a node (with no configuration: a single durable node on 127.0.0.1:2181)")
  .option("--port <n>", "client port", integer("--port"))
  .option("--host <address>", "address to listen on")
  .option("--data-dir <dir>", "data directory")
  .option("--config <file>", "JSON configuration file")
  .option("--node <id>", "which node of the configuration's cluster.regions this is (overrides cluster.node)")
  .option("--tick-time <ms>", "tick time in milliseconds (session timeouts are 2 to 20 ticks)", integer("--tick-time"))
  .option("--min-session-timeout <ms>", "smallest negotiated session timeout", integer("--min-session-timeout"))
  .option("--max-session-timeout <ms>", "largest negotiated session timeout", integer("--max-session-timeout"))
  .option("--four-letter-words <list>", 'comma-separated four-letter words to allow, or "*"')
  .option("--super-digest <user:base64sha1>", "digest id with super rights")
  .option("--frame-bytes-max <n>", "largest request or reply frame (jute.maxbuffer)", integer("--frame-bytes-max"))
  .option("--no-ttl", "refuse TTL nodes")
  .option("--container-sweep-interval <ms>", "how often empty containers and expired TTL nodes are deleted", integer("--container-sweep-interval"))
  .option("--log-level <level>", "trace, debug, info, warn, error")
  .option("--log-json", "JSON logs even on a terminal")
  .option("--unsafe-no-fsync", "acknowledge writes before they are on disk (tests and benchmarks only)")
  .option("--snapshot-every-deltas <n>", "take a snapshot after this many writes", integer("--snapshot-every-deltas"))
  .action(async (options: StartOptions) => {
    try {
      await start(options);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`maestro: ${error.message}\n`);
        process.exit(2);
      }
      if (error instanceof StorageError) {
        process.stderr.write(`maestro: cannot start from the data directory: ${error.message}\n`);
        process.exit(3);
      }
      process.stderr.write(`maestro: ${(error as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command("check-data")
  .description("verify every snapshot and log segment of a data directory without starting")
  .requiredOption("--data-dir <dir>", "data directory")
  .option("--json", "print the report as JSON")
  .action(async (options: { dataDir: string; json?: boolean }) => {
    const report = await checkDataDir(resolve(options.dataDir));
    process.stdout.write(options.json === true ? JSON.stringify(jsonSafe(report), null, 2) + "\n" : formatCheckReport(report));
    process.exit(report.ok ? 0 : report.startable ? 1 : 3);
  });

program
  .command("leases")
  .description("print the lease units a node knows of: owner region, epoch, durability, state, writes by origin")
  .option("--server <host:port>", "a node's client address", "127.0.0.1:2181")
  .option("--json", "print the node's answer as JSON")
  .action(async (options: { server: string; json?: boolean }) => {
    try {
      const { host, port } = parseHostPort("--server", options.server);
      const answer = await fetchLeaseStatusText(host, port);
      // Checked either way; --json then prints the node's own text, fields this version does not know included.
      const report = parseLeaseStatus(answer);
      process.stdout.write(options.json === true ? answer.trimEnd() + "\n" : formatLeaseTable(report));
    } catch (error) {
      if (!(error instanceof LeasesError || error instanceof ConfigError)) throw error;
      process.stderr.write(`maestro: ${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
  });

async function operatorCommand(options: { config: string; broker?: string; json?: boolean }, request: OperatorRequest): Promise<void> {
  try {
    const reply = await sendOperatorCommand(operatorTarget(options.config, options.broker), request);
    process.stdout.write(formatOperatorReply(reply, options.json === true));
    process.exit(reply.ok ? 0 : 1);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof BrokerLinkError || error instanceof BrokerWireError)) throw error;
    process.stderr.write(`maestro: ${error.message}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
}

program
  .command("move")
  .description("move a lease unit to a region (cooperatively: its owner ships everything and releases it first)")
  .argument("<unit>", "the unit's lease root path, as `maestro leases` lists it")
  .argument("<region>", "the region to hold it")
  .requiredOption("--config <file>", "the deployment's configuration (root node, broker addresses, secret)")
  .option("--broker <host:port>", "the root node's broker address, if not the configured one")
  .option("--json", "print the answer as JSON")
  .action(async (unit: string, region: string, options: { config: string; broker?: string; json?: boolean }) => {
    await operatorCommand(options, { type: "move", requestId: 1, unit, region });
  });

program
  .command("evict")
  .description("declare a region lost: its units go to the root's region without its release; its unshipped writes are lost and it is fenced")
  .argument("<region>", "the region declared lost")
  .requiredOption("--config <file>", "the deployment's configuration (root node, broker addresses, secret)")
  .option("--broker <host:port>", "the root node's broker address, if not the configured one")
  .option("--json", "print the answer as JSON")
  .action(async (region: string, options: { config: string; broker?: string; json?: boolean }) => {
    await operatorCommand(options, { type: "evict", requestId: 1, region });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`maestro: ${(error as Error).message}\n`);
  process.exit(1);
});
