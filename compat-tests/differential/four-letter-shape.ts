// Four-letter-word answers compared by shape: which lines, in which order,
// which keys, and what kind of value each holds (integer, float, hex,
// address, version) — not the values, which count packets, bytes, ports and
// milliseconds that no two servers share. Answers with nothing variable in
// them (ruok, isro, gtmk, srst, crst, refusals) are kept verbatim.
//
// Listings whose entries come in hash order (cons, wchc, wchp) are cut into
// blocks (a line and the indented lines under it), sorted; dump, whose
// session buckets depend on when each session last pinged, has runs of
// blocks with the same top line merged into one.

import type { Json, JsonObject } from "./transcript.js";

// The version part is "anything up to the comma": Debian's 3.8.0 build prints
// "3.8.0-${mvngit.commit.id}" (an unexpanded Maven property), which
// go-zookeeper's stricter [A-Za-z0-9.-]+ would refuse. The date must match
// go-zookeeper's FLWSrvr pattern.
const versionValuePattern = /^[^,\s]+, built on (\d\d\/\d\d\/\d{4}|\d{4}-\d\d-\d\d) \d\d:\d\d [A-Z]+$/;

const verbatimWords = new Set(["ruok", "isro", "srst", "crst", "gtmk"]);
const keyValueWords = new Set(["conf", "envi"]);
const blockWords = new Set(["cons", "wchc", "wchp", "dump"]);

/** Keys whose values are configuration both servers share, compared exactly. */
const exactConfKeys = new Set(["tickTime", "minSessionTimeout", "maxSessionTimeout", "secureClientPort", "serverId", "clientPortListenBacklog"]);
const exactMntrKeys = new Set(["zk_server_state"]);

export function valueKind(value: string): string {
  if (/^-?\d+$/.test(value)) return "int";
  if (/^-?\d+\.\d+$/.test(value)) return "float";
  if (/^0x[0-9a-fA-F]+$/.test(value)) return "hex";
  if (versionValuePattern.test(value)) return "version";
  if (value === "") return "empty";
  return "string";
}

/** A line with every variable part replaced by its kind. */
export function linePattern(line: string, base: string): string {
  const version = /^Zookeeper version: (.*)$/.exec(line);
  if (version !== null) {
    return versionValuePattern.test(version[1]!) ? "Zookeeper version: <version>, built on <date>" : `<unparseable version line> ${line}`;
  }
  return replaceRoot(line, base)
    .replace(/0x[0-9a-fA-F]+/g, "<hex>")
    .replace(/\d{1,3}(\.\d{1,3}){3}/g, "<ip>")
    .replace(/-?\d+\.\d+/g, "<float>")
    .replace(/-?\d+/g, "<int>");
}

function replaceRoot(text: string, base: string): string {
  const root = base.split("/").slice(0, 2).join("/");
  return root.length > 1 ? text.split(root).join("/@root") : text;
}

function keyValueShape(text: string, separator: string, exactKeys: ReadonlySet<string>): JsonObject {
  const keys: JsonObject = {};
  const otherLines: Json[] = [];
  for (const line of text.split("\n")) {
    const at = line.indexOf(separator);
    if (at <= 0) {
      otherLines.push(line);
      continue;
    }
    const key = line.slice(0, at);
    const value = line.slice(at + separator.length);
    keys[key] = exactKeys.has(key) ? `=${value}` : valueKind(value);
  }
  return { keys, otherLines };
}

/** Blocks of a top line and its indented lines; indented lines sorted and deduplicated. */
function blocks(lines: readonly string[]): string[][] {
  const result: string[][] = [];
  for (const line of lines) {
    const last = result[result.length - 1];
    if (last !== undefined && /^\s/.test(line)) last.push(line);
    else result.push([line]);
  }
  return result.map(([head, ...rest]) => [head!, ...[...new Set(rest)].sort()]);
}

/** Consecutive blocks with the same top line become one, with the union of their indented lines. */
function mergeRuns(grouped: readonly string[][]): string[][] {
  const merged: string[][] = [];
  for (const block of grouped) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last[0] === block[0]) {
      const [head, ...rest] = last;
      merged[merged.length - 1] = [head!, ...[...new Set([...rest, ...block.slice(1)])].sort()];
    } else {
      merged.push(block);
    }
  }
  return merged;
}

function blockShape(word: string, lines: readonly string[]): Json {
  if (word === "dump") return { blocks: mergeRuns(blocks(lines)).map((block) => block.join("\n")) };
  // cons: one line per connection, in hash order; a connection's last
  // operation depends on when its pings fell, so lop is checked for its form only.
  if (word === "cons") return { blocks: lines.map((line) => line.replace(/,lop=[A-Z]{2,6},/, ",lop=<OP>,")).sort() };
  return { blocks: blocks(lines).map((block) => block.join("\n")).sort() };
}

/**
 * mntr with ZooKeeper's summary metrics folded: zk_avg_x, zk_min_x, zk_max_x,
 * zk_cnt_x, zk_sum_x (and zk_p50_x … zk_p999_x) are one metric x of the
 * metrics provider, listed once as "zk_<x> (summary)" with its statistics.
 */
function mntrShape(text: string): JsonObject {
  const shape = keyValueShape(text, "\t", exactMntrKeys);
  const keys = shape.keys as JsonObject;
  const summaries = new Map<string, string[]>();
  for (const key of Object.keys(keys)) {
    const match = /^zk_(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$/.exec(key);
    if (match === null) continue;
    const statistics = summaries.get(match[2]!) ?? [];
    statistics.push(`${match[1]!}:${String(keys[key])}`);
    summaries.set(match[2]!, statistics);
  }
  const folded: JsonObject = {};
  // mntr prints its metrics in hash order: keys are sorted.
  for (const [key, kind] of Object.entries(keys).sort(([a], [b]) => a.localeCompare(b))) {
    const match = /^zk_(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$/.exec(key);
    // A family needs at least avg, min, max and cnt; a lone zk_max_x is an ordinary key.
    const family = match === null ? undefined : summaries.get(match[2]!);
    if (match !== null && family !== undefined && family.length >= 4) folded[`zk_${match[2]!} (summary)`] = [...family].sort().join(",");
    else folded[key] = kind;
  }
  return { keys: folded, otherLines: shape.otherLines ?? [] };
}

export function fourLetterWordShape(word: string, text: string, base: string): Json {
  if (text.endsWith("is not executed because it is not in the whitelist.\n") || verbatimWords.has(word)) return { verbatim: text };
  if (word === "mntr") return mntrShape(text);
  if (keyValueWords.has(word)) return keyValueShape(text, "=", exactConfKeys);
  const lines = text.split("\n").map((line) => linePattern(line, base));
  if (blockWords.has(word)) return blockShape(word, lines);
  // hash lists one digest per stored zxid bucket: how many depends on history.
  if (word === "hash") return { distinctLines: [...new Set(lines)].sort() };
  return { lines };
}
