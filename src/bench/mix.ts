// Operation mixes: which operation a client does next, drawn from weights
// given on the command line ("getData:60,setData:20,create:10,delete:10").
// Pure: the draw takes an injected seeded generator.
import type { Random } from "./distributions.js";

export const operationTypes = [
  "create",
  "setData",
  "getData",
  "exists",
  "getChildren",
  "delete",
  "multi",
  "createEphemeral",
  "createSequential",
  "lock",
] as const;

export type OperationType = (typeof operationTypes)[number];

export type Mix = ReadonlyArray<{ readonly type: OperationType; readonly weight: number }>;

/** Named mixes, so the common cases need no weights. */
export const namedMixes: Readonly<Record<string, string>> = Object.freeze({
  "read-heavy": "getData:90,setData:10",
  "write-heavy": "getData:10,setData:90",
  balanced: "getData:50,setData:50",
  all: "create:10,setData:15,getData:25,exists:10,getChildren:10,delete:10,multi:5,createEphemeral:5,createSequential:5,lock:5",
});

function isOperationType(text: string): text is OperationType {
  return (operationTypes as readonly string[]).includes(text);
}

/** Parses a named mix or "type:weight,..." (weights need not sum to 100). */
export function parseMix(text: string): Mix {
  const expanded = namedMixes[text] ?? text;
  const mix: Array<{ type: OperationType; weight: number }> = [];
  for (const part of expanded.split(",")) {
    const [type = "", weightText = ""] = part.trim().split(":");
    if (!isOperationType(type)) throw new RangeError(`--mix: unknown operation ${type}; one of ${operationTypes.join(", ")}`);
    const weight = Number(weightText);
    if (!Number.isFinite(weight) || weight < 0) throw new RangeError(`--mix: weight of ${type} must be a number >= 0, got ${weightText}`);
    if (mix.some((entry) => entry.type === type)) throw new RangeError(`--mix: ${type} given twice`);
    if (weight > 0) mix.push({ type, weight });
  }
  if (mix.length === 0) throw new RangeError("--mix: no operation has a positive weight");
  return mix;
}

/** Draws the next operation type with probability weight / total. */
export function chooseOperation(mix: Mix, random: Random): OperationType {
  const total = mix.reduce((sum, entry) => sum + entry.weight, 0);
  let point = random() * total;
  for (const entry of mix) {
    point -= entry.weight;
    if (point < 0) return entry.type;
  }
  return mix[mix.length - 1]!.type;
}
