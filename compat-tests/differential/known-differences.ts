// compat-tests/KNOWN_DIFFERENCES.md, parsed. The file is for people first:
// a Markdown table whose rows each tolerate one difference, with its reason.
//
// | Scenario | Field | ZooKeeper | Maestro | Reason |
// |---|---|---|---|---|
// | multi-success | `multi.reply.results.*.type` | `1` | `15` | ZOOKEEPER-4026: … |
//
// Scenario and Field are globs: `*` matches within one dot-separated part of
// a path, `**` matches any number of parts. ZooKeeper and Maestro are the
// values each side must show, as JSON (`*` or empty: any value), so an entry
// never hides a different difference at the same place. Cells may be
// wrapped in backticks. Only tables whose header names Scenario and Field
// are read; everything else in the file is prose.

import { readFileSync } from "node:fs";
import type { Difference } from "./compare.js";
import type { Json } from "./transcript.js";

export interface KnownDifference {
  scenario: string;
  field: string;
  zookeeper: Json | RegExp | undefined;
  maestro: Json | RegExp | undefined;
  reason: string;
  /** 1-based line in the file, for messages. */
  line: number;
}

function cells(line: string): string[] {
  const trimmed = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return trimmed.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function unquote(cell: string): string {
  const match = /^`(.*)`$/.exec(cell);
  return match === null ? cell : match[1]!;
}

/** A cell: empty or `*` is any value; `/re/` a regular expression over the
 *  value's JSON text (e.g. `/^"Z\d+\+"$/`); anything else the JSON value. */
function expectedValue(cell: string): Json | RegExp | undefined {
  const text = unquote(cell);
  if (text === "" || text === "*") return undefined;
  const pattern = /^\/(.+)\/$/.exec(text);
  if (pattern !== null) return new RegExp(pattern[1]!);
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

export function parseKnownDifferences(markdown: string): KnownDifference[] {
  const entries: KnownDifference[] = [];
  const lines = markdown.split("\n");
  let columns: string[] | null = null;
  for (const [index, line] of lines.entries()) {
    if (!line.trim().startsWith("|")) {
      columns = null;
      continue;
    }
    const row = cells(line);
    if (columns === null) {
      const lower = row.map((cell) => cell.toLowerCase());
      if (lower.includes("scenario") && lower.includes("field")) columns = lower;
      continue;
    }
    if (row.every((cell) => /^:?-+:?$/.test(cell))) continue;
    const get = (name: string): string => row[columns!.indexOf(name)] ?? "";
    entries.push({
      scenario: unquote(get("scenario")),
      field: unquote(get("field")),
      zookeeper: expectedValue(get("zookeeper")),
      maestro: expectedValue(get("maestro")),
      reason: get("reason"),
      line: index + 1,
    });
  }
  return entries;
}

export function loadKnownDifferences(path: string): KnownDifference[] {
  try {
    return parseKnownDifferences(readFileSync(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export function globToRegExp(glob: string, separator: string | null): RegExp {
  let source = "";
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === "*" && glob[index + 1] === "*") {
      source += ".*";
      index++;
    } else if (char === "*") {
      source += separator === null ? ".*" : `[^${separator}]*`;
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

function sameJson(expected: Json | RegExp | undefined, actual: Json): boolean {
  if (expected instanceof RegExp) return expected.test(JSON.stringify(actual));
  return expected === undefined || JSON.stringify(expected) === JSON.stringify(actual);
}

/** The entry that tolerates this difference, if any. */
export function explain(entries: readonly KnownDifference[], scenario: string, difference: Difference): KnownDifference | undefined {
  return entries.find(
    (entry) =>
      globToRegExp(entry.scenario, null).test(scenario) &&
      globToRegExp(entry.field, "\\.").test(difference.path) &&
      sameJson(entry.zookeeper, difference.zookeeper) &&
      sameJson(entry.maestro, difference.maestro),
  );
}
