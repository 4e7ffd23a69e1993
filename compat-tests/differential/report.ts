// The Markdown report of a differential run: the counts, then every
// scenario that differs, each difference with its path and both values.

import type { DifferentialResult } from "./runner.js";
import type { Endpoint } from "./scenario.js";
import type { Json } from "./transcript.js";

const valueWidthMax = 160;

function cellValue(value: Json): string {
  const text = JSON.stringify(value);
  const short = text.length > valueWidthMax ? `${text.slice(0, valueWidthMax)}…` : text;
  return `\`${short.replace(/\|/g, "\\|").replace(/`/g, "'")}\``;
}

/**
 * A difference with its record name and symbol numbers taken out, so the
 * same behaviour met in many places is listed once ("*.reply.zxid: Zn+ / Zn").
 */
export function differenceKind(path: string, zookeeper: Json, maestro: Json): string {
  const field = path.split(".").slice(1).join(".").replace(/\.\d+(?=\.|$)/g, ".N");
  const general = (value: Json): string => JSON.stringify(value).replace(/\b([ZSP])\d+/g, "$1n");
  return `*.${field}: ${general(zookeeper)} / ${general(maestro)}`;
}

function kindsSection(result: DifferentialResult): string[] {
  const kinds = new Map<string, { count: number; scenarios: Set<string> }>();
  for (const detail of result.details) {
    for (const difference of detail.differences) {
      if (difference.reason !== null) continue;
      const kind = differenceKind(difference.path, difference.zookeeper, difference.maestro);
      const entry = kinds.get(kind) ?? { count: 0, scenarios: new Set<string>() };
      entry.count += 1;
      entry.scenarios.add(detail.name);
      kinds.set(kind, entry);
    }
  }
  if (kinds.size === 0) return [];
  const lines = ["", "## Unexplained differences by kind", "", "| field: ZooKeeper / Maestro | count | scenarios |", "|---|---:|---|"];
  const sorted = [...kinds.entries()].sort((a, b) => b[1].count - a[1].count);
  for (const [kind, entry] of sorted) {
    const scenarios = [...entry.scenarios];
    const shown = scenarios.slice(0, 6).join(", ") + (scenarios.length > 6 ? `, … (${scenarios.length})` : "");
    const text = kind.length > 220 ? `${kind.slice(0, 220)}…` : kind;
    lines.push(`| \`${text.replace(/\|/g, "\\|").replace(/`/g, "'")}\` | ${entry.count} | ${shown} |`);
  }
  return lines;
}

export function markdownReport(result: DifferentialResult, servers: { zookeeper: Endpoint; maestro: Endpoint }): string {
  const lines: string[] = [
    "# Differential scenarios: Apache ZooKeeper vs Maestro",
    "",
    `ZooKeeper ${servers.zookeeper.host}:${servers.zookeeper.port}, Maestro ${servers.maestro.host}:${servers.maestro.port}; ${(result.durationMs / 1000).toFixed(1)} s.`,
    "",
    "| scenarios | same | known differences only | unexplained | skipped |",
    "|---:|---:|---:|---:|---:|",
    `| ${result.scenarios} | ${result.same} | ${result.knownDifferences} | ${result.unexplained} | ${result.skipped} |`,
    "",
    `Field-level differences: ${result.differences.unexplained} unexplained, ${result.differences.known} known.`,
    "",
    "## Scenarios",
    "",
    "| scenario | status | ZooKeeper ms | Maestro ms | differences |",
    "|---|---|---:|---:|---:|",
  ];
  for (const detail of result.details) {
    lines.push(`| ${detail.name} | ${detail.status}${detail.skipReason ? ` (${detail.skipReason})` : ""} | ${detail.durationMs.zookeeper} | ${detail.durationMs.maestro} | ${detail.differences.length} |`);
  }
  lines.push(...kindsSection(result));
  const differing = result.details.filter((detail) => detail.differences.length > 0);
  if (differing.length > 0) lines.push("", "## Differences");
  for (const detail of differing) {
    lines.push("", `### ${detail.name} (${detail.status})`, "", detail.description, "", "| field | ZooKeeper | Maestro | known reason |", "|---|---|---|---|");
    for (const difference of detail.differences) {
      lines.push(`| \`${difference.path}\` | ${cellValue(difference.zookeeper)} | ${cellValue(difference.maestro)} | ${difference.reason ?? "**unexplained**"} |`);
    }
  }
  if (result.unusedKnownDifferences.length > 0) {
    lines.push("", "## KNOWN_DIFFERENCES.md entries that matched nothing", "");
    for (const entry of result.unusedKnownDifferences) lines.push(`- line ${entry.line}: ${entry.scenario} \`${entry.field}\``);
  }
  return `${lines.join("\n")}\n`;
}
