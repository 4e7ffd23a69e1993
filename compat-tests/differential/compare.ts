// Field-by-field comparison of two normalized transcripts. A difference is
// named by its path: the record's id, then the field names and array
// indexes below it, joined by dots ("create-seq.reply.body.stat.cversion",
// "watch.eventsBefore.0.notification.type"). Fields whose name starts with
// "_" are kept for people reading the JSON and never compared.

import type { Json, TranscriptRecord } from "./transcript.js";

/** Marks a value one side has and the other does not. */
export const absent = "(absent)";

export interface Difference {
  path: string;
  zookeeper: Json;
  maestro: Json;
}

function isObject(value: Json): value is { [field: string]: Json } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function diffValues(path: string, zookeeper: Json, maestro: Json, out: Difference[]): void {
  if (Array.isArray(zookeeper) && Array.isArray(maestro)) {
    const length = Math.max(zookeeper.length, maestro.length);
    for (let index = 0; index < length; index++) {
      diffValues(`${path}.${index}`, index < zookeeper.length ? zookeeper[index]! : absent, index < maestro.length ? maestro[index]! : absent, out);
    }
    return;
  }
  if (isObject(zookeeper) && isObject(maestro)) {
    const fields = [...new Set([...Object.keys(zookeeper), ...Object.keys(maestro)])];
    for (const field of fields) {
      if (field.startsWith("_")) continue;
      diffValues(`${path}.${field}`, field in zookeeper ? zookeeper[field]! : absent, field in maestro ? maestro[field]! : absent, out);
    }
    return;
  }
  if (JSON.stringify(zookeeper) !== JSON.stringify(maestro)) out.push({ path, zookeeper, maestro });
}

export function compareTranscripts(zookeeper: readonly TranscriptRecord[], maestro: readonly TranscriptRecord[]): Difference[] {
  const differences: Difference[] = [];
  const length = Math.max(zookeeper.length, maestro.length);
  for (let index = 0; index < length; index++) {
    const left = zookeeper[index];
    const right = maestro[index];
    if (left === undefined || right === undefined || left.id !== right.id) {
      // The scenarios diverged (one side aborted): name the record by position.
      differences.push({ path: `#${index}`, zookeeper: left ?? absent, maestro: right ?? absent });
      continue;
    }
    const { id, ...leftFields } = left;
    const { id: _rightId, ...rightFields } = right;
    diffValues(id, leftFields, rightFields, differences);
  }
  return differences;
}
