// Turns a raw transcript into one that two different servers can share:
// every tagged value becomes a stable symbol, chosen so that the relations
// a client could observe survive.
//
//   zxid:N        -> "Z<rank>" for the zxids of committed changes ("anchors":
//                    every zxid in a Stat, in a notification, and in the
//                    reply header of a write that succeeded): rank of N
//                    among them, so equal zxids stay equal and order is kept
//                    (czxid < mzxid shows as Z3 < Z5 on both sides). Any
//                    other zxid (headers of reads and of failed writes, a
//                    lastZxidSeen or relativeZxid sent) is written relative
//                    to the anchors: "Z5" when equal to one, "Z5+" when
//                    between Z5 and Z6. ZooKeeper spends a zxid on every
//                    failed write (an error txn) and on session creation;
//                    ranking those too would shift every later symbol, so
//                    one such difference would show up everywhere instead of
//                    once, where it happens. 0 and -1 stay "Z0" and "Z-1".
//   session:H     -> "S1", "S2", … in order of first appearance.
//   passwd:H      -> "P1/16", … in order of first appearance; all-zero
//                    passwords stay "zeros/16".
//   time:MS@ZXID  -> "T@<symbol of ZXID>": ctime/mtime are stamped by the
//                    transaction that wrote them, so a time is named after
//                    that transaction. A time that is 0 stays 0; a
//                    transaction seen with two different times, or a time
//                    far from the run, is flagged in the symbol.
//   the run's root path (the namespace prefix, random per run) -> "/@root".
//
// Nothing else is touched: error codes, versions, counts, flags, paths and
// the order of records and of notifications are compared as they are.

import type { Json, TranscriptRecord } from "./transcript.js";

export interface NormalizeOptions {
  /** The namespace root of this run on this server (e.g. "/differential-k3x9"). */
  root: string;
  /** Times outside [earliestMs, latestMs] are flagged as implausible. */
  earliestMs: number;
  latestMs: number;
}

interface Symbols {
  zxidRank: Map<bigint, number>;
  /** Anchors in ascending order, for the relative names of other zxids. */
  anchors: bigint[];
  sessions: Map<string, string>;
  passwords: Map<string, string>;
  timeOfZxid: Map<string, bigint>;
}

const tagPattern = /^(zxid|session|passwd|time):(.*)$/;

function visitStrings(value: Json, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const item of value) visitStrings(item, visit);
  else if (value !== null && typeof value === "object") for (const item of Object.values(value)) visitStrings(item, visit);
}

/** Opcodes whose successful reply carries the zxid of a committed change. */
const writeOpcodes = new Set([1, 2, 5, 7, 14, 15, 19, 21, -11]);

function isObject(value: Json | undefined): value is { [field: string]: Json } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function tagValue(value: Json | undefined, kind: string): string | null {
  if (typeof value !== "string" || !value.startsWith(`${kind}:`)) return null;
  return value.slice(kind.length + 1);
}

function multiFailed(reply: { [field: string]: Json }): boolean {
  const results = reply.results;
  return Array.isArray(results) && results.some((result) => isObject(result) && result.type === -1);
}

/** Zxids of committed changes: in Stats, notifications, and replies to successful writes. */
function collectAnchors(value: Json, opcode: Json | undefined, anchors: Set<bigint>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectAnchors(item, opcode, anchors);
    return;
  }
  if (!isObject(value)) return;
  if ("czxid" in value && "pzxid" in value) {
    for (const field of ["czxid", "mzxid", "pzxid"]) {
      const zxid = tagValue(value[field], "zxid");
      if (zxid !== null) anchors.add(BigInt(zxid));
    }
  }
  const notification = value.notification;
  if (isObject(notification)) {
    const zxid = tagValue(notification.zxid, "zxid");
    if (zxid !== null) anchors.add(BigInt(zxid));
  }
  const reply = value.reply;
  if (isObject(reply) && typeof opcode === "number" && writeOpcodes.has(opcode) && reply.err === 0 && !multiFailed(reply)) {
    const zxid = tagValue(reply.zxid, "zxid");
    if (zxid !== null) anchors.add(BigInt(zxid));
  }
  for (const item of Object.values(value)) collectAnchors(item, opcode, anchors);
}

function collectSymbols(records: readonly TranscriptRecord[]): Symbols {
  const zxids = new Set<bigint>();
  for (const record of records) collectAnchors(record, record.op, zxids);
  const sessions = new Map<string, string>();
  const passwords = new Map<string, string>();
  for (const record of records) {
    visitStrings(record, (text) => {
      const match = tagPattern.exec(text);
      if (match === null) return;
      const [, kind, value] = match as unknown as [string, string, string];
      if (kind === "session" && !sessions.has(value)) sessions.set(value, `S${sessions.size + 1}`);
      else if (kind === "passwd" && !passwords.has(value) && !/^(00)*$/.test(value)) {
        passwords.set(value, `P${passwords.size + 1}/${value.length / 2}`);
      }
    });
  }
  const ordinary = [...zxids].filter((zxid) => zxid > 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const zxidRank = new Map<bigint, number>(ordinary.map((zxid, index) => [zxid, index + 1]));
  return { zxidRank, anchors: ordinary, sessions, passwords, timeOfZxid: new Map() };
}

function zxidSymbol(zxid: bigint, symbols: Symbols): string {
  if (zxid <= 0n) return `Z${zxid.toString()}`;
  const rank = symbols.zxidRank.get(zxid);
  if (rank !== undefined) return `Z${rank}`;
  let below = 0;
  for (const [index, anchor] of symbols.anchors.entries()) {
    if (anchor < zxid) below = index + 1;
    else break;
  }
  return `Z${below}+`;
}

function normalizeString(text: string, symbols: Symbols, options: NormalizeOptions): Json {
  const match = tagPattern.exec(text);
  if (match === null) return replaceRoot(text, options.root);
  const [, kind, value] = match as unknown as [string, string, string];
  switch (kind) {
    case "zxid":
      return zxidSymbol(BigInt(value), symbols);
    case "session":
      return symbols.sessions.get(value) ?? "S?";
    case "passwd":
      return /^(00)*$/.test(value) ? `zeros/${value.length / 2}` : (symbols.passwords.get(value) ?? "P?");
    case "time":
      return timeSymbol(value, symbols, options);
    default:
      return text;
  }
}

function timeSymbol(value: string, symbols: Symbols, options: NormalizeOptions): Json {
  const [msText, zxidText] = value.split("@") as [string, string];
  const ms = BigInt(msText);
  if (ms === 0n) return 0;
  const zxid = zxidSymbol(BigInt(zxidText), symbols);
  const flags: string[] = [];
  const known = symbols.timeOfZxid.get(zxid);
  if (known === undefined) symbols.timeOfZxid.set(zxid, ms);
  else if (known !== ms) flags.push("differs-from-other-time-of-same-zxid");
  if (ms < BigInt(options.earliestMs) || ms > BigInt(options.latestMs)) flags.push("outside-run");
  return flags.length === 0 ? `T@${zxid}` : `T@${zxid}!${flags.join("!")}`;
}

function replaceRoot(text: string, root: string): string {
  return text.includes(root) ? text.split(root).join("/@root") : text;
}

function normalizeValue(value: Json, symbols: Symbols, options: NormalizeOptions): Json {
  if (typeof value === "string") return normalizeString(value, symbols, options);
  if (Array.isArray(value)) return value.map((item) => normalizeValue(item, symbols, options));
  if (value !== null && typeof value === "object") {
    const result: { [field: string]: Json } = {};
    for (const [field, item] of Object.entries(value)) result[field] = normalizeValue(item, symbols, options);
    return result;
  }
  return value;
}

export function normalizeTranscript(records: readonly TranscriptRecord[], options: NormalizeOptions): TranscriptRecord[] {
  const symbols = collectSymbols(records);
  return records.map((record) => normalizeValue(record, symbols, options) as TranscriptRecord);
}
