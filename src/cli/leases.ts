// `maestro leases`: asks a node for its lease table with the `leas`
// four-letter word and prints it. Fetching is the only I/O; reading and
// formatting the answer are pure so tests can feed them reports.

import net from "node:net";
import { leaseUnitStates, type LeaseStatusReport, type LeaseUnitState, type LeaseUnitStatus } from "../broker/status.js";

export const leasesReplyBytesMax = 16 * 1024 * 1024;
export const leasesTimeoutMsDefault = 5_000;

export class LeasesError extends Error {
  readonly code = "ERR_MAESTRO_LEASES";
  constructor(message: string) {
    super(message);
    this.name = "LeasesError";
  }
}

/** Sends `leas` to a client port and resolves with the whole answer (the server closes after it). */
export function fetchLeaseStatusText(host: string, port: number, timeoutMs = leasesTimeoutMsDefault): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => finish(new LeasesError(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    function finish(error: Error | null): void {
      clearTimeout(timer);
      socket.destroy();
      if (error !== null) reject(error);
      else resolvePromise(Buffer.concat(chunks).toString("utf8"));
    }
    socket.on("connect", () => socket.write("leas"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > leasesReplyBytesMax) finish(new LeasesError(`answer over ${leasesReplyBytesMax} bytes`));
      else chunks.push(chunk);
    });
    socket.on("error", (error) => finish(new LeasesError(`cannot reach ${host}:${port}: ${error.message}`)));
    socket.on("end", () => finish(null));
  });
}

/**
 * The report in a `leas` answer. A text answer (not in a multi-region
 * deployment, not in the whitelist) becomes the error's message as is.
 */
export function parseLeaseStatus(text: string): LeaseStatusReport {
  if (!text.trimStart().startsWith("{")) {
    if (text.trim().length === 0) throw new LeasesError("empty answer (is this a Maestro node?)");
    const hint = text.includes("whitelist") ? ' (add "leas" to the node\'s fourLetterWords)' : "";
    throw new LeasesError(text.trim() + hint);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LeasesError(`answer is not valid JSON: ${(error as Error).message}`);
  }
  const report = recordAt("report", value);
  const units = report.units;
  if (!Array.isArray(units)) throw new LeasesError("report.units: expected a list");
  return {
    region: stringAt("report.region", report.region),
    node: stringAt("report.node", report.node),
    root: booleanAt("report.root", report.root),
    units: units.map((unit, index) => parseUnit(`report.units[${index}]`, unit)),
  };
}

function parseUnit(where: string, value: unknown): LeaseUnitStatus {
  const unit = recordAt(where, value);
  const durability = unit.durability;
  if (durability !== "region" && durability !== "global") throw new LeasesError(`${where}.durability: unknown value`);
  const epoch = unit.epoch;
  if (!Number.isSafeInteger(epoch)) throw new LeasesError(`${where}.epoch: expected an integer`);
  return {
    unit: stringAt(`${where}.unit`, unit.unit),
    owner: stringAt(`${where}.owner`, unit.owner),
    epoch: epoch as number,
    durability,
    state: stateAt(`${where}.state`, unit.state),
    writesByOrigin: countsAt(`${where}.writesByOrigin`, unit.writesByOrigin),
  };
}

function stateAt(where: string, value: unknown): LeaseUnitState {
  const found = leaseUnitStates.find((known) => known === value);
  if (found === undefined) throw new LeasesError(`${where}: unknown state ${JSON.stringify(value)}`);
  return found;
}

function countsAt(where: string, value: unknown): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [origin, count] of Object.entries(recordAt(where, value))) {
    if (!Number.isSafeInteger(count)) throw new LeasesError(`${where}.${origin}: expected an integer`);
    result[origin] = count as number;
  }
  return result;
}

function recordAt(where: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new LeasesError(`${where}: expected an object`);
  return value as Record<string, unknown>;
}

function stringAt(where: string, value: unknown): string {
  if (typeof value !== "string") throw new LeasesError(`${where}: expected a string`);
  return value;
}

function booleanAt(where: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new LeasesError(`${where}: expected true or false`);
  return value;
}

const columns = ["UNIT", "OWNER", "EPOCH", "DURABILITY", "STATE", "WRITES BY ORIGIN"] as const;

/** A heading line, then one row per unit in path order, columns padded to fit. */
export function formatLeaseTable(report: LeaseStatusReport): string {
  const heading = `region ${report.region}, node ${report.node}${report.root ? " (root broker)" : ""}\n`;
  if (report.units.length === 0) return heading + "no lease units\n";
  const units = [...report.units].sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0));
  const rows: string[][] = [
    [...columns],
    ...units.map((unit) => [unit.unit, unit.owner, String(unit.epoch), unit.durability, unit.state, formatWrites(unit.writesByOrigin)]),
  ];
  const widths = columns.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const lines = rows.map((row) =>
    row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  "),
  );
  return heading + lines.join("\n") + "\n";
}

/** "eu-west=3 us-east=12", by region name; "-" when nothing was written. */
export function formatWrites(writes: Record<string, number>): string {
  const origins = Object.keys(writes).sort();
  if (origins.length === 0) return "-";
  return origins.map((origin) => `${origin}=${writes[origin] ?? 0}`).join(" ");
}
