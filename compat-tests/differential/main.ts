#!/usr/bin/env node
// The differential run from the command line:
//
//   node dist/compat-tests/differential/main.js [--zookeeper H:P] [--maestro H:P]
//        [--filter NAME[,NAME…]] [--out-dir DIR] [--known-differences FILE]
//        [--zookeeper-port N] [--maestro-port N] [--no-default-whitelist]
//        [--fsync] [--super USER:PASSWORD] [--list]
//
// A server not given is started here (fresh temporary data directory, its
// own port, tickTime 200, all four-letter words, the differential super
// digest, extended types, 1 s container sweep) and stopped at the end. The
// scenario that needs ZooKeeper's *default* whitelist gets its own
// short-lived servers when both main servers are started here (or with
// --zookeeper-default H:P --maestro-default H:P). Servers given with
// --zookeeper/--maestro must be configured alike: extended types, all
// four-letter words, the same tickTime and super digest (--super names its
// user and password; default super:differential-super). Exit status: 0 when
// no difference is unexplained, 1 otherwise, 2 on a usage or startup error.

import { parseArgs } from "node:util";
import { outDirDefault, runDifferential, selectScenarios, type EndpointSource, type StartedEndpoint } from "./runner.js";
import { scenarios } from "./scenarios/index.js";
import type { Endpoint } from "./scenario.js";
import {
  freePort,
  startMaestroDefaultWhitelist,
  startMaestroServer,
  startZooKeeperDefaultWhitelist,
  startZooKeeperServer,
  type RunningServer,
} from "./servers.js";

const usage = `usage: node dist/compat-tests/differential/main.js [--zookeeper H:P] [--maestro H:P] [--filter NAME[,NAME...]]
       [--out-dir DIR] [--known-differences FILE] [--zookeeper-port N] [--maestro-port N]
       [--zookeeper-default H:P --maestro-default H:P] [--no-default-whitelist] [--fsync]
       [--super USER:PASSWORD] [--list]`;

function endpoint(text: string, flag: string): Endpoint {
  const match = /^(.+):(\d+)$/.exec(text);
  if (match === null) throw new UsageError(`${flag} wants HOST:PORT, got ${text}`);
  return { host: match[1]!, port: Number(match[2]) };
}

class UsageError extends Error {}

function superCredentials(text: string): { user: string; password: string } {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new UsageError(`--super wants USER:PASSWORD, got ${text}`);
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      zookeeper: { type: "string" },
      maestro: { type: "string" },
      "zookeeper-default": { type: "string" },
      "maestro-default": { type: "string" },
      filter: { type: "string" },
      "out-dir": { type: "string", default: outDirDefault },
      "known-differences": { type: "string" },
      "zookeeper-port": { type: "string" },
      "maestro-port": { type: "string" },
      "no-default-whitelist": { type: "boolean", default: false },
      fsync: { type: "boolean", default: false },
      super: { type: "string" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.list) {
    for (const scenario of selectScenarios(scenarios, values.filter)) console.log(`${scenario.name}\t${scenario.description}`);
    return 0;
  }
  const started: RunningServer[] = [];
  try {
    const fsync = values.fsync;
    const zookeeper =
      values.zookeeper !== undefined
        ? endpoint(values.zookeeper, "--zookeeper")
        : await startAndKeep(started, async () => startZooKeeperServer({ port: await portOption(values["zookeeper-port"]), fsync }), "ZooKeeper");
    const maestro =
      values.maestro !== undefined
        ? endpoint(values.maestro, "--maestro")
        : await startAndKeep(started, async () => startMaestroServer({ port: await portOption(values["maestro-port"]), fsync }), "Maestro");
    const defaultWhitelist = defaultWhitelistSources(values, started.length === 2);
    const result = await runDifferential({
      zookeeper,
      maestro,
      defaultWhitelist,
      filter: values.filter,
      outDir: values["out-dir"],
      knownDifferencesPath: values["known-differences"],
      superCredentials: values.super === undefined ? undefined : superCredentials(values.super),
      log: (line) => console.log(line),
    });
    console.log(
      `\n${result.scenarios} scenarios: ${result.same} same, ${result.knownDifferences} with known differences only, ${result.unexplained} with unexplained differences` +
        `${result.skipped > 0 ? `, ${result.skipped} skipped` : ""} (${result.differences.unexplained} unexplained / ${result.differences.known} known field differences) in ${(result.durationMs / 1000).toFixed(1)} s`,
    );
    console.log(`report: ${result.files.markdown}\njson: ${result.files.json}`);
    return result.unexplained > 0 ? 1 : 0;
  } finally {
    for (const server of started.reverse()) await server.stop().catch(() => {});
  }
}

/** The port given, or a free one. */
async function portOption(text: string | undefined): Promise<number> {
  if (text === undefined) return freePort();
  const port = Number(text);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`bad port ${text}`);
  return port;
}

async function startAndKeep(started: RunningServer[], start: () => Promise<RunningServer>, name: string): Promise<Endpoint> {
  const server = await start();
  started.push(server);
  console.log(`${name} started on ${server.host}:${server.port}`);
  return { host: server.host, port: server.port };
}

function defaultWhitelistSources(
  values: { "zookeeper-default"?: string; "maestro-default"?: string; "no-default-whitelist": boolean },
  startedBoth: boolean,
): { zookeeper: EndpointSource; maestro: EndpointSource } | undefined {
  if (values["no-default-whitelist"]) return undefined;
  if (values["zookeeper-default"] !== undefined && values["maestro-default"] !== undefined) {
    return { zookeeper: endpoint(values["zookeeper-default"], "--zookeeper-default"), maestro: endpoint(values["maestro-default"], "--maestro-default") };
  }
  if (!startedBoth) return undefined;
  // Started only for the scenario that needs them, one at a time, on free ports.
  return {
    zookeeper: async (): Promise<StartedEndpoint> => startZooKeeperDefaultWhitelist({ port: await freePort() }),
    maestro: async (): Promise<StartedEndpoint> => startMaestroDefaultWhitelist({ port: await freePort() }),
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
