// Operator commands (`maestro move UNIT REGION`, `maestro evict REGION`):
// what they say and how they travel. An operator is not a node: the CLI
// dials the root node's broker port, authenticates with the deployment's
// shared secret under the reserved id "@operator" (the broker link
// handshake of link.ts; node ids cannot contain "@"), sends one request
// frame and reads one reply frame on the same connection.
//
// The messages are protobuf, declared here and loaded by reflection like
// the broker's (broker-proto.ts); decoding checks every field and throws
// BrokerWireError and nothing else.

import protobuf from "protobufjs";
import type { RegionName, UnitName } from "./messages.js";
import { BrokerWireError } from "./wire.js";

/** The dialer id an operator connection authenticates as. */
export const operatorDialerId = "@operator";

export const operatorLimits = {
  /** Largest request or reply frame: a few names, and a reply's detail listing units. */
  frameBytesMax: 1024 * 1024,
  /** Longest unit or region name accepted in a request. */
  nameCharsMax: 4096,
} as const;

export type OperatorRequest =
  | { type: "move"; requestId: number; unit: UnitName; region: RegionName }
  | { type: "evict"; requestId: number; region: RegionName };

export interface OperatorReply {
  requestId: number;
  ok: boolean;
  /** One line for a person: what happened, or why not. */
  message: string;
  /** Machine-readable detail (JSON text), "{}" when there is none. */
  detail: string;
}

const operatorProtoSchema = `
syntax = "proto2";
package maestro.operator;

message OperatorRequest {
  required int64 request_id = 1;
  oneof command {
    Move move = 2;
    Evict evict = 3;
  }
}
message Move { required string unit = 1; required string region = 2; }
message Evict { required string region = 1; }
message OperatorReply {
  required int64 request_id = 1;
  required bool ok = 2;
  required string message = 3;
  required string detail = 4;
}
`;

const schema = protobuf.parse(operatorProtoSchema).root;
const requestType = schema.lookupType("maestro.operator.OperatorRequest");
const replyType = schema.lookupType("maestro.operator.OperatorReply");
const plainOptions: protobuf.IConversionOptions = { oneofs: true, longs: Number };

export function encodeOperatorRequest(request: OperatorRequest): Buffer {
  const body = request.type === "move" ? { move: { unit: request.unit, region: request.region } } : { evict: { region: request.region } };
  return Buffer.from(requestType.encode({ requestId: request.requestId, ...body }).finish());
}

export function encodeOperatorReply(reply: OperatorReply): Buffer {
  return Buffer.from(replyType.encode(reply).finish());
}

export function decodeOperatorRequest(bytes: Uint8Array): OperatorRequest {
  const plain = decodePlain(requestType, bytes, "operator request");
  const requestId = requestIdOf(plain);
  if (plain["command"] === "move") {
    const move = objectField(plain, "move");
    return { type: "move", requestId, unit: nameField(move, "move.unit"), region: nameField(move, "move.region") };
  }
  if (plain["command"] === "evict") return { type: "evict", requestId, region: nameField(objectField(plain, "evict"), "evict.region") };
  throw new BrokerWireError("operator request: no command");
}

export function decodeOperatorReply(bytes: Uint8Array): OperatorReply {
  const plain = decodePlain(replyType, bytes, "operator reply");
  const { ok, message, detail } = plain;
  if (typeof ok !== "boolean" || typeof message !== "string" || typeof detail !== "string") throw new BrokerWireError("operator reply: bad field types");
  return { requestId: requestIdOf(plain), ok, message, detail };
}

type Plain = Record<string, unknown>;

function decodePlain(type: protobuf.Type, bytes: Uint8Array, what: string): Plain {
  try {
    return type.toObject(type.decode(bytes), plainOptions);
  } catch (error) {
    throw new BrokerWireError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function requestIdOf(plain: Plain): number {
  const id = plain["requestId"];
  if (typeof id !== "number" || !Number.isSafeInteger(id)) throw new BrokerWireError("operator message: request_id is not a safe integer");
  return id;
}

function objectField(plain: Plain, name: string): Plain {
  const value = plain[name];
  if (typeof value !== "object" || value === null) throw new BrokerWireError(`operator request: ${name} missing`);
  return value as Plain;
}

function nameField(plain: Plain, name: string): string {
  const key = name.slice(name.indexOf(".") + 1);
  const value = plain[key];
  if (typeof value !== "string" || value.length === 0 || value.length > operatorLimits.nameCharsMax) {
    throw new BrokerWireError(`operator request: ${name} must be a name of 1 to ${operatorLimits.nameCharsMax} characters`);
  }
  return value;
}
