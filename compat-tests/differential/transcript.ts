// What a scenario produces: a transcript, a list of plain JSON records in the
// order the scenario made them. Values that differ between any two servers
// even when they behave alike (zxids, session ids, passwords, times) are
// written as tagged strings ("zxid:…", "session:…", "passwd:…", "time:…")
// so that normalize.ts can replace them by stable symbols without guessing
// from field names.

export type Json = null | boolean | number | string | Json[] | { [field: string]: Json };
export type JsonObject = { [field: string]: Json };

/** One step of a scenario; `id` is unique within the transcript. */
export interface TranscriptRecord extends JsonObject {
  id: string;
}

const idPattern = /^[A-Za-z0-9_#-]+$/;

export class Transcript {
  readonly records: TranscriptRecord[] = [];
  readonly #idCounts = new Map<string, number>();

  /**
   * Appends a record. A repeated id gets "#2", "#3", … so every record keeps
   * a readable, unique name that KNOWN_DIFFERENCES.md can point at.
   */
  add(id: string, fields: JsonObject): TranscriptRecord {
    if (!idPattern.test(id)) throw new Error(`transcript: record id ${JSON.stringify(id)} must match ${idPattern}`);
    const count = (this.#idCounts.get(id) ?? 0) + 1;
    this.#idCounts.set(id, count);
    const record: TranscriptRecord = { ...fields, id: count === 1 ? id : `${id}#${count}` };
    this.records.push(record);
    return record;
  }
}

// ---------------------------------------------------------------- tags

export function zxidTag(zxid: bigint): string {
  return `zxid:${zxid.toString()}`;
}

export function sessionTag(sessionId: bigint): Json {
  return sessionId === 0n ? 0 : `session:${BigInt.asUintN(64, sessionId).toString(16)}`;
}

export function passwdTag(passwd: Buffer | null): Json {
  return passwd === null ? null : `passwd:${passwd.toString("hex")}`;
}

/** A ctime or mtime, tied to the zxid of the transaction that stamped it. */
export function timeTag(ms: bigint, zxid: bigint): string {
  return `time:${ms.toString()}@${zxid.toString()}`;
}

/** Data as text when it is printable ASCII, as hex otherwise; null stays null. */
export function dataValue(data: Buffer | null): Json {
  if (data === null) return null;
  const printable = data.every((byte) => byte >= 0x20 && byte < 0x7f);
  return printable ? `text:${data.toString("latin1")}` : `hex:${data.toString("hex")}`;
}
