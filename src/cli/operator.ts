// `maestro move UNIT REGION` and `maestro evict REGION`: read the
// deployment's configuration for the root node's broker address and the
// shared secret, send the command over an operator connection (link.ts
// callOperator, operator.ts) and print the root's answer.

import { callOperator } from "../broker/link.js";
import type { OperatorReply, OperatorRequest } from "../broker/operator.js";
import { loadNodeConfig, parseHostPort } from "../server/cluster-config.js";
import { ConfigError, readConfigFile } from "../server/config.js";
import { operatorWaitMs } from "../server/cluster-node.js";

/** The root answers once the move is recorded or operatorWaitMs passed; a little more for the round trip. */
export const operatorCallTimeoutMs = operatorWaitMs + 10_000;

export interface OperatorTarget {
  host: string;
  port: number;
  nodeId: string;
  secret: Buffer;
}

/**
 * Where the root is and how to prove we may talk to it, from a node
 * configuration file with a "cluster" key. `broker` (HOST:PORT) replaces
 * the configured broker address, for a root reached through another route.
 */
export function operatorTarget(configPath: string, broker: string | undefined): OperatorTarget {
  const cluster = readConfigFile(configPath)["cluster"];
  if (typeof cluster !== "object" || cluster === null || Array.isArray(cluster)) {
    throw new ConfigError("cluster", `${configPath} has no "cluster" object: operator commands need a multi-region deployment`);
  }
  const root = (cluster as Record<string, unknown>)["root"];
  if (typeof root !== "string") throw new ConfigError("cluster.root", "expected the id of the node carrying the root role");
  const config = loadNodeConfig(configPath, { node: root, overrides: {} });
  if (config.cluster === null) throw new ConfigError("cluster", "no cluster configuration");
  const self = config.cluster.settings.nodes.find((node) => node.id === root)!;
  const address = broker === undefined ? { host: self.brokerHost, port: self.brokerPort } : parseHostPort("--broker", broker);
  return { ...address, nodeId: root, secret: config.cluster.secret };
}

export function sendOperatorCommand(target: OperatorTarget, request: OperatorRequest, timeoutMs = operatorCallTimeoutMs): Promise<OperatorReply> {
  return callOperator({ ...target, request, timeoutMs });
}

/** The reply as printed: its message, then its detail when asked for JSON. */
export function formatOperatorReply(reply: OperatorReply, json: boolean): string {
  if (json) return `${JSON.stringify({ ok: reply.ok, message: reply.message, detail: JSON.parse(reply.detail) as unknown })}\n`;
  return `${reply.ok ? "" : "failed: "}${reply.message}\n`;
}
