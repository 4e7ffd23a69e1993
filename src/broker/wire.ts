// Envelope <-> bytes for the broker links, through protobufjs reflection on
// the schema in broker-proto.ts. Encoding maps our types onto plain objects
// protobufjs can write; decoding lets protobufjs parse (it enforces
// `required` and nesting depth), then checks every field again while
// mapping back, so that a decoded Envelope is always well-typed. Anything
// wrong in the bytes is a BrokerWireError (ERR_BROKER_WIRE), never another
// exception: the link that sent it is closed, the process carries on.

import protobuf from "protobufjs";
import { decodeDelta, encodeDelta } from "../storage/delta-codec.js";
import { StorageError } from "../storage/errors.js";
import type { Acl, CreateKind, Delta, Id, MultiOpResult, OpResult, Stat, WriteRequest } from "../tree/types.js";
import { brokerProtoPackage, brokerProtoSchema } from "./broker-proto.js";
import type { BrokerMessage, Envelope, ForwardOutcome, OriginSeq, UnitEpoch, WriteCount } from "./messages.js";

export const brokerWireErrorCode = "ERR_BROKER_WIRE";

/** Bytes that are not a valid Envelope, or a value that cannot be encoded. */
export class BrokerWireError extends Error {
  readonly code = brokerWireErrorCode;

  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "BrokerWireError";
  }
}

const envelopeType = protobuf.parse(brokerProtoSchema).root.lookupType(`${brokerProtoPackage}.Envelope`);

/** toObject options: plain objects, Long values left as they are, the set oneof member named. */
const plainOptions: protobuf.IConversionOptions = { arrays: true, oneofs: true };

type Plain = { [field: string]: unknown };

const createKindNumber = { create: 1, create2: 2, createContainer: 3, createTTL: 4 } as const satisfies Record<CreateKind, number>;
const createKindByNumber = new Map<number, CreateKind>(
  Object.entries(createKindNumber).map(([kind, value]) => [value, kind as CreateKind]),
);

// ---------------------------------------------------------------- encoding

export function encodeEnvelope(envelope: Envelope): Buffer {
  const message = envelope.message;
  const wire: Plain = { from: envelope.from, region: envelope.region, epoch: safeIntegerToWire(envelope.epoch, "epoch") };
  wire[message.type] = bodyToWire(message);
  try {
    return Buffer.from(envelopeType.encode(wire).finish());
  } catch (error) {
    // protobufjs refuses, for one, multis nested deeper than any decoder would accept.
    throw new BrokerWireError(`cannot encode: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** int64 as the Long-compatible {low, high} protobufjs writes exactly. */
function longToWire(value: bigint): Plain {
  return { low: Number(BigInt.asIntN(32, value)), high: Number(BigInt.asIntN(32, value >> 32n)), unsigned: false };
}

function safeIntegerToWire(value: number, name: string): number {
  if (!Number.isSafeInteger(value)) throw new BrokerWireError(`cannot encode ${name} ${value}: not a safe integer`);
  return value;
}

function int32ToWire(value: number, name: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new BrokerWireError(`cannot encode ${name} ${value}: not a 32-bit integer`);
  }
  return value;
}

function bodyToWire(message: BrokerMessage): Plain {
  switch (message.type) {
    case "subscribe":
      return { streamPos: longToWire(message.streamPos) };
    case "subscribed":
      return { shipSeq: longToWire(message.shipSeq), streamPos: longToWire(message.streamPos) };
    case "ship":
      return { deltas: message.deltas.map((delta) => encodeDelta(delta)), deps: message.deps.map(originSeqToWire) };
    case "stream":
      return { deltas: message.deltas.map((delta) => encodeDelta(delta)) };
    case "streamGap":
      return { oldestStreamPos: longToWire(message.oldestStreamPos) };
    case "renew":
      return { round: safeIntegerToWire(message.round, "round"), leases: message.leases.map(unitEpochToWire), counts: message.counts.map(writeCountToWire) };
    case "renewed":
      return {
        round: safeIntegerToWire(message.round, "round"), termMs: safeIntegerToWire(message.termMs, "termMs"),
        stale: message.stale.map(unitEpochToWire), streamPos: longToWire(message.streamPos),
      };
    case "revoke":
      return { unit: message.unit, epoch: safeIntegerToWire(message.epoch, "epoch") };
    case "released":
      return { unit: message.unit, epoch: safeIntegerToWire(message.epoch, "epoch"), shipSeq: longToWire(message.shipSeq) };
    case "forward":
      return {
        requestId: safeIntegerToWire(message.requestId, "requestId"),
        sessionId: longToWire(message.sessionId),
        request: writeRequestToWire(message.request),
        authIds: message.authIds.map(idToWire),
        leases: message.leases.map(unitEpochToWire),
        deps: message.deps.map(originSeqToWire),
        carried: message.carried.map((delta) => encodeDelta(delta)),
        carriedDeps: message.carriedDeps.map(originSeqToWire),
      };
    case "forwardReply":
      return { requestId: safeIntegerToWire(message.requestId, "requestId"), outcome: outcomeToWire(message.outcome) };
    case "sync":
      return { requestId: safeIntegerToWire(message.requestId, "requestId"), unit: message.unit };
    case "syncReply":
      return { requestId: safeIntegerToWire(message.requestId, "requestId"), origin: message.origin, shipSeq: longToWire(message.shipSeq), ok: message.ok };
    case "fenced":
      return { shipSeq: longToWire(message.shipSeq), units: message.units };
    case "relay":
      return { origin: message.origin, deltas: message.deltas.map((delta) => encodeDelta(delta)), deps: message.deps.map(originSeqToWire) };
  }
}

function unitEpochToWire(lease: UnitEpoch): Plain {
  return { unit: lease.unit, epoch: safeIntegerToWire(lease.epoch, "epoch") };
}

function writeCountToWire(count: WriteCount): Plain {
  const wire: Plain = { unit: count.unit, origin: count.origin, count: safeIntegerToWire(count.count, "count") };
  if (count.child !== undefined) wire["child"] = count.child;
  return wire;
}

function originSeqToWire(position: OriginSeq): Plain {
  return { origin: position.origin, shipSeq: longToWire(position.shipSeq) };
}

function idToWire(id: Id): Plain {
  return { scheme: id.scheme, id: id.id };
}

function aclToWire(acl: Acl): Plain {
  return { perms: int32ToWire(acl.perms, "perms"), id: idToWire(acl.id) };
}

/** Optional bytes: absent is null, present (even empty) is a buffer. */
function dataToWire(data: Buffer | null): Plain {
  return data === null ? {} : { data };
}

function writeRequestToWire(request: WriteRequest): Plain {
  switch (request.op) {
    case "create":
      return {
        create: {
          kind: createKindNumber[request.kind],
          path: request.path,
          ...dataToWire(request.data),
          acl: request.acl.map(aclToWire),
          flags: int32ToWire(request.flags, "flags"),
          ttl: longToWire(request.ttl),
        },
      };
    case "delete":
    case "check":
      return { [request.op]: { path: request.path, version: int32ToWire(request.version, "version") } };
    case "setData":
      return { setData: { path: request.path, ...dataToWire(request.data), version: int32ToWire(request.version, "version") } };
    case "setACL":
      return { setAcl: { path: request.path, acl: request.acl.map(aclToWire), version: int32ToWire(request.version, "version") } };
    case "multi":
      return { multi: { ops: request.ops.map(writeRequestToWire) } };
    case "deleteContainer":
      return { deleteContainer: { path: request.path } };
    case "createSession":
      return { createSession: { sessionId: longToWire(request.sessionId), timeoutMs: int32ToWire(request.timeoutMs, "timeoutMs") } };
    case "closeSession":
      return { closeSession: { sessionId: longToWire(request.sessionId) } };
    case "deleteEphemerals":
      return { deleteEphemerals: { sessionId: longToWire(request.sessionId), paths: [...request.paths] } };
  }
}

function statToWire(stat: Stat): Plain {
  return {
    czxid: longToWire(stat.czxid),
    mzxid: longToWire(stat.mzxid),
    ctime: longToWire(stat.ctime),
    mtime: longToWire(stat.mtime),
    version: int32ToWire(stat.version, "version"),
    cversion: int32ToWire(stat.cversion, "cversion"),
    aversion: int32ToWire(stat.aversion, "aversion"),
    ephemeralOwner: longToWire(stat.ephemeralOwner),
    dataLength: int32ToWire(stat.dataLength, "dataLength"),
    numChildren: int32ToWire(stat.numChildren, "numChildren"),
    pzxid: longToWire(stat.pzxid),
  };
}

function opResultToWire(result: OpResult): Plain {
  switch (result.op) {
    case "create":
      return { create: { kind: createKindNumber[result.kind], path: result.path, stat: statToWire(result.stat) } };
    case "setData":
      return { setData: { stat: statToWire(result.stat) } };
    case "setACL":
      return { setAcl: { stat: statToWire(result.stat) } };
    case "multi":
      return { multi: multiResultsToWire(result.results) };
    case "delete":
    case "check":
    case "deleteContainer":
    case "createSession":
    case "closeSession":
    case "deleteEphemerals":
      return { [result.op]: {} };
  }
}

function multiResultsToWire(results: readonly MultiOpResult[]): Plain {
  return { results: results.map((entry) => (entry.op === "error" ? { err: int32ToWire(entry.err, "err") } : { result: opResultToWire(entry) })) };
}

function outcomeToWire(outcome: ForwardOutcome): Plain {
  switch (outcome.kind) {
    case "committed":
      return {
        committed: {
          result: opResultToWire(outcome.result), origin: outcome.origin, shipSeq: longToWire(outcome.shipSeq),
          deltas: outcome.delta === null ? [] : [encodeDelta(outcome.delta)], deps: outcome.deps.map(originSeqToWire),
        },
      };
    case "failed": {
      const failed: Plain = { err: int32ToWire(outcome.err, "err"), origin: outcome.origin, shipSeq: longToWire(outcome.shipSeq) };
      if (outcome.multiResults !== undefined) failed["multiResults"] = multiResultsToWire(outcome.multiResults);
      return { failed };
    }
    case "notOwner":
      return { notOwner: { leases: outcome.leases.map(unitEpochToWire), owners: [...outcome.owners] } };
    case "unavailable":
      return { unavailable: { reason: outcome.reason } };
  }
}

// ---------------------------------------------------------------- decoding

/** Decodes one Envelope filling `bytes`; throws BrokerWireError and nothing else. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let plain: Plain;
  try {
    plain = envelopeType.toObject(envelopeType.decode(bytes), plainOptions);
  } catch (error) {
    // protobufjs reports truncation, bad wire types, depth and missing required fields as plain Errors.
    throw new BrokerWireError(`envelope: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const fields = new Fields(plain, "envelope");
  const bodyName = fields.oneof("body");
  const message = bodyFromWire(bodyName, fields.message(bodyName));
  return { from: fields.string("from"), region: fields.string("region"), epoch: fields.safeInteger("epoch"), message };
}

/** Typed reads of one decoded protobuf object; every failure is a BrokerWireError naming the field. */
class Fields {
  constructor(
    private readonly object: Plain,
    private readonly where: string,
  ) {}

  fail(name: string, problem: string): never {
    throw new BrokerWireError(`${this.where}.${name}: ${problem}`);
  }

  present(name: string): unknown {
    const value = this.object[name];
    if (value === undefined || value === null) this.fail(name, "missing");
    return value;
  }

  has(name: string): boolean {
    const value = this.object[name];
    return value !== undefined && value !== null;
  }

  string(name: string): string {
    const value = this.present(name);
    return typeof value === "string" ? value : this.fail(name, "not a string");
  }

  boolean(name: string): boolean {
    const value = this.present(name);
    return typeof value === "boolean" ? value : this.fail(name, "not a boolean");
  }

  int32(name: string): number {
    const value = this.present(name);
    return typeof value === "number" && Number.isInteger(value) ? value : this.fail(name, "not an integer");
  }

  long(name: string): bigint {
    const value = longFromWire(this.present(name));
    return value ?? this.fail(name, "not a 64-bit integer");
  }

  safeInteger(name: string): number {
    const value = Number(this.long(name));
    return Number.isSafeInteger(value) ? value : this.fail(name, "beyond the safe integer range");
  }

  /** Optional bytes: absent is null; a copy, so the frame it came in can be collected. */
  dataOrNull(name: string): Buffer | null {
    if (!this.has(name)) return null;
    const value = this.object[name];
    return value instanceof Uint8Array ? Buffer.from(value) : this.fail(name, "not bytes");
  }

  enumValue<T>(name: string, values: ReadonlyMap<number, T>): T {
    return values.get(this.int32(name)) ?? this.fail(name, `unknown value ${String(this.object[name])}`);
  }

  message(name: string): Fields {
    const value = this.present(name);
    return isPlain(value) ? new Fields(value, `${this.where}.${name}`) : this.fail(name, "not a message");
  }

  list(name: string): unknown[] {
    const value = this.object[name] ?? [];
    return Array.isArray(value) ? value : this.fail(name, "not a list");
  }

  messages(name: string): Fields[] {
    return this.list(name).map((value, index) => (isPlain(value) ? new Fields(value, `${this.where}.${name}[${index}]`) : this.fail(name, "not a message list")));
  }

  strings(name: string): string[] {
    return this.list(name).map((value) => (typeof value === "string" ? value : this.fail(name, "not a string list")));
  }

  bytesList(name: string): Uint8Array[] {
    return this.list(name).map((value) => (value instanceof Uint8Array ? value : this.fail(name, "not a bytes list")));
  }

  /** The name of the oneof member that is set. */
  oneof(name: string): string {
    const value = this.object[name];
    return typeof value === "string" ? value : this.fail(name, "none set (unknown or missing variant)");
  }
}

function isPlain(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** protobufjs yields int64 as a Long ({low, high}), or a number without the long library. */
function longFromWire(value: unknown): bigint | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (!isPlain(value)) return undefined;
  const { low, high } = value;
  if (typeof low !== "number" || typeof high !== "number") return undefined;
  return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0));
}

function bodyFromWire(name: string, body: Fields): BrokerMessage {
  switch (name) {
    case "subscribe":
      return { type: "subscribe", streamPos: body.long("streamPos") };
    case "subscribed":
      return { type: "subscribed", shipSeq: body.long("shipSeq"), streamPos: body.long("streamPos") };
    case "ship":
      return { type: "ship", deltas: deltasFromWire(body), deps: body.messages("deps").map(originSeqFromWire) };
    case "stream":
      return { type: "stream", deltas: deltasFromWire(body) };
    case "streamGap":
      return { type: "streamGap", oldestStreamPos: body.long("oldestStreamPos") };
    case "renew":
      return { type: "renew", round: body.safeInteger("round"), leases: body.messages("leases").map(unitEpochFromWire), counts: body.messages("counts").map(writeCountFromWire) };
    case "renewed":
      return {
        type: "renewed", round: body.safeInteger("round"), termMs: body.safeInteger("termMs"),
        stale: body.messages("stale").map(unitEpochFromWire), streamPos: body.long("streamPos"),
      };
    case "revoke":
      return { type: "revoke", unit: body.string("unit"), epoch: body.safeInteger("epoch") };
    case "released":
      return { type: "released", unit: body.string("unit"), epoch: body.safeInteger("epoch"), shipSeq: body.long("shipSeq") };
    case "forward":
      return forwardFromWire(body);
    case "forwardReply":
      return { type: "forwardReply", requestId: body.safeInteger("requestId"), outcome: outcomeFromWire(body.message("outcome")) };
    case "sync":
      return { type: "sync", requestId: body.safeInteger("requestId"), unit: body.string("unit") };
    case "syncReply":
      return { type: "syncReply", requestId: body.safeInteger("requestId"), origin: body.string("origin"), shipSeq: body.long("shipSeq"), ok: body.boolean("ok") };
    case "fenced":
      return { type: "fenced", shipSeq: body.long("shipSeq"), units: body.strings("units") };
    case "relay":
      return { type: "relay", origin: body.string("origin"), deltas: deltasFromWire(body), deps: body.messages("deps").map(originSeqFromWire) };
    default:
      throw new BrokerWireError(`envelope: unknown message type ${name}`);
  }
}

function committedFromWire(body: Fields): ForwardOutcome {
  const deltas = deltasFromWire(body);
  if (deltas.length > 1) throw new BrokerWireError("committed: more than one delta");
  return {
    kind: "committed", result: opResultFromWire(body.message("result")), origin: body.string("origin"), shipSeq: body.long("shipSeq"),
    delta: deltas[0] ?? null, deps: body.messages("deps").map(originSeqFromWire),
  };
}

function deltasFromWire(body: Fields, field = "deltas"): Delta[] {
  return body.bytesList(field).map((bytes, index) => {
    try {
      return decodeDelta(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (error) {
      if (error instanceof StorageError) throw new BrokerWireError(`delta ${index}: ${error.message}`, { cause: error });
      throw error;
    }
  });
}

function forwardFromWire(body: Fields): BrokerMessage {
  return {
    type: "forward",
    requestId: body.safeInteger("requestId"),
    sessionId: body.long("sessionId"),
    request: writeRequestFromWire(body.message("request")),
    authIds: body.messages("authIds").map(idFromWire),
    leases: body.messages("leases").map(unitEpochFromWire),
    deps: body.messages("deps").map(originSeqFromWire),
    carried: deltasFromWire(body, "carried"),
    carriedDeps: body.messages("carriedDeps").map(originSeqFromWire),
  };
}

function originSeqFromWire(fields: Fields): OriginSeq {
  return { origin: fields.string("origin"), shipSeq: fields.long("shipSeq") };
}

function unitEpochFromWire(fields: Fields): UnitEpoch {
  return { unit: fields.string("unit"), epoch: fields.safeInteger("epoch") };
}

function writeCountFromWire(fields: Fields): WriteCount {
  const count: WriteCount = { unit: fields.string("unit"), origin: fields.string("origin"), count: fields.safeInteger("count") };
  if (fields.has("child")) count.child = fields.string("child");
  return count;
}

function idFromWire(fields: Fields): Id {
  return { scheme: fields.string("scheme"), id: fields.string("id") };
}

function aclFromWire(fields: Fields): Acl {
  return { perms: fields.int32("perms"), id: idFromWire(fields.message("id")) };
}

function writeRequestFromWire(request: Fields): WriteRequest {
  const op = request.oneof("op");
  const body = request.message(op);
  switch (op) {
    case "create":
      return {
        op: "create",
        kind: body.enumValue("kind", createKindByNumber),
        path: body.string("path"),
        data: body.dataOrNull("data"),
        acl: body.messages("acl").map(aclFromWire),
        flags: body.int32("flags"),
        ttl: body.long("ttl"),
      };
    case "delete":
    case "check":
      return { op, path: body.string("path"), version: body.int32("version") };
    case "setData":
      return { op: "setData", path: body.string("path"), data: body.dataOrNull("data"), version: body.int32("version") };
    case "setAcl":
      return { op: "setACL", path: body.string("path"), acl: body.messages("acl").map(aclFromWire), version: body.int32("version") };
    case "multi":
      return { op: "multi", ops: body.messages("ops").map(writeRequestFromWire) };
    case "deleteContainer":
      return { op: "deleteContainer", path: body.string("path") };
    case "createSession":
      return { op: "createSession", sessionId: body.long("sessionId"), timeoutMs: body.int32("timeoutMs") };
    case "closeSession":
      return { op: "closeSession", sessionId: body.long("sessionId") };
    case "deleteEphemerals":
      return { op: "deleteEphemerals", sessionId: body.long("sessionId"), paths: body.strings("paths") };
    default:
      throw new BrokerWireError(`write request: unknown op ${op}`);
  }
}

function statFromWire(stat: Fields): Stat {
  return {
    czxid: stat.long("czxid"),
    mzxid: stat.long("mzxid"),
    ctime: stat.long("ctime"),
    mtime: stat.long("mtime"),
    version: stat.int32("version"),
    cversion: stat.int32("cversion"),
    aversion: stat.int32("aversion"),
    ephemeralOwner: stat.long("ephemeralOwner"),
    dataLength: stat.int32("dataLength"),
    numChildren: stat.int32("numChildren"),
    pzxid: stat.long("pzxid"),
  };
}

function opResultFromWire(result: Fields): OpResult {
  const op = result.oneof("op");
  const body = result.message(op);
  switch (op) {
    case "create":
      return { op: "create", kind: body.enumValue("kind", createKindByNumber), path: body.string("path"), stat: statFromWire(body.message("stat")) };
    case "setData":
      return { op: "setData", stat: statFromWire(body.message("stat")) };
    case "setAcl":
      return { op: "setACL", stat: statFromWire(body.message("stat")) };
    case "multi":
      return { op: "multi", results: multiResultsFromWire(body) };
    case "delete":
    case "check":
    case "deleteContainer":
    case "createSession":
    case "closeSession":
    case "deleteEphemerals":
      return { op };
    default:
      throw new BrokerWireError(`op result: unknown op ${op}`);
  }
}

function multiResultsFromWire(results: Fields): MultiOpResult[] {
  return results.messages("results").map((entry) => (entry.oneof("entry") === "err" ? { op: "error", err: entry.int32("err") } : opResultFromWire(entry.message("result"))));
}

function outcomeFromWire(outcome: Fields): ForwardOutcome {
  const kind = outcome.oneof("kind");
  const body = outcome.message(kind);
  switch (kind) {
    case "committed":
      return committedFromWire(body);
    case "failed": {
      const failed = { kind: "failed", err: body.int32("err"), origin: body.string("origin"), shipSeq: body.long("shipSeq") } as const;
      return body.has("multiResults") ? { ...failed, multiResults: multiResultsFromWire(body.message("multiResults")) } : failed;
    }
    case "notOwner":
      return { kind: "notOwner", leases: body.messages("leases").map(unitEpochFromWire), owners: body.strings("owners") };
    case "unavailable":
      return { kind: "unavailable", reason: body.string("reason") };
    default:
      throw new BrokerWireError(`forward outcome: unknown kind ${kind}`);
  }
}
