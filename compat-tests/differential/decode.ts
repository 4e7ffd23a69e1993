// Reply bodies decoded into plain fields, by the opcode of the request they
// answer. A body that does not decode exactly (bytes missing or left over)
// is kept as hex with the decoder's complaint, so a malformed answer is a
// visible difference rather than an exception.

import { JuteReader } from "../../src/protocol/archive.js";
import {
  readACL,
  readClientInfo,
  readCreate2Response,
  readCreateResponse,
  readErrorResponse,
  readGetChildrenResponse,
  readGetDataResponse,
  readMultiHeader,
  readStat,
  type ACL,
  type Stat,
} from "../../src/protocol/records.generated.js";
import { OpCode } from "../../src/protocol/codes.js";
import { dataValue, sessionTag, timeTag, zxidTag, type Json, type JsonObject } from "./transcript.js";

export function statFields(stat: Stat): JsonObject {
  return {
    czxid: zxidTag(stat.czxid),
    mzxid: zxidTag(stat.mzxid),
    ctime: timeTag(stat.ctime, stat.czxid),
    mtime: timeTag(stat.mtime, stat.mzxid),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: sessionTag(stat.ephemeralOwner),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
    pzxid: zxidTag(stat.pzxid),
  };
}

export function aclFields(acl: readonly ACL[]): Json {
  return acl.map((entry) => ({ perms: entry.perms, scheme: entry.id.scheme, id: entry.id.id }));
}

/** Children lists are unordered in ZooKeeper (a HashSet), so they are sorted here. */
function sortedChildren(children: readonly string[]): Json {
  return [...children].sort();
}

function sortedClientInfo(infos: ReadonlyArray<{ authScheme: string; user: string }>): Json {
  return infos
    .map((info) => ({ scheme: info.authScheme, user: info.user }))
    .sort((a, b) => `${a.scheme}\u0000${a.user}`.localeCompare(`${b.scheme}\u0000${b.user}`));
}

type BodyDecoder = (reader: JuteReader) => JsonObject;

const readStatBody: BodyDecoder = (reader) => ({ stat: statFields(readStat(reader)) });
const readNothing: BodyDecoder = () => ({});
const readPath: BodyDecoder = (reader) => ({ path: readCreateResponse(reader).path });
const readCreate2: BodyDecoder = (reader) => {
  const response = readCreate2Response(reader);
  return { path: response.path, stat: statFields(response.stat) };
};
const readData: BodyDecoder = (reader) => {
  const response = readGetDataResponse(reader);
  return { data: dataValue(response.data), stat: statFields(response.stat) };
};

const bodyDecoders = new Map<number, BodyDecoder>([
  [OpCode.create, readPath],
  [OpCode.create2, readCreate2],
  [OpCode.createContainer, readCreate2],
  [OpCode.createTTL, readCreate2],
  [OpCode.delete, readNothing],
  [OpCode.exists, readStatBody],
  [OpCode.getData, readData],
  [OpCode.setData, readStatBody],
  [OpCode.getACL, (reader) => ({ acl: aclFields(reader.readVector(12, readACL)), stat: statFields(readStat(reader)) })],
  [OpCode.setACL, readStatBody],
  [OpCode.getChildren, (reader) => ({ children: sortedChildren(readGetChildrenResponse(reader).children) })],
  [OpCode.getChildren2, (reader) => ({ children: sortedChildren(reader.readVector(4, (r) => r.readString())), stat: statFields(readStat(reader)) })],
  [OpCode.sync, readPath],
  [OpCode.ping, readNothing],
  [OpCode.check, readNothing],
  [OpCode.multi, (reader) => ({ results: readMultiResults(reader) })],
  [OpCode.multiRead, (reader) => ({ results: readMultiResults(reader) })],
  [OpCode.reconfig, readData],
  [OpCode.checkWatches, readNothing],
  [OpCode.removeWatches, readNothing],
  [OpCode.auth, readNothing],
  [OpCode.setWatches, readNothing],
  [OpCode.setWatches2, readNothing],
  [OpCode.sasl, (reader) => ({ token: dataValue(reader.readBuffer()) })],
  [OpCode.getEphemerals, (reader) => ({ ephemerals: sortedChildren(reader.readVector(4, (r) => r.readString())) })],
  [OpCode.getAllChildrenNumber, (reader) => ({ totalNumber: reader.readInt() })],
  [OpCode.addWatch, (reader) => ({ errorResponse: readErrorResponse(reader).err })],
  // ZooKeeper keeps a connection's ids in a hash set: the order means nothing, so it is sorted.
  [OpCode.whoAmI, (reader) => ({ clientInfo: sortedClientInfo(reader.readVector(8, readClientInfo)) })],
  [OpCode.closeSession, readNothing],
]);

function readMultiResults(reader: JuteReader): Json {
  const results: Json[] = [];
  for (;;) {
    const header = readMultiHeader(reader);
    if (header.done) {
      results.push({ terminator: { type: header.type, err: header.err } });
      return results;
    }
    results.push({ type: header.type, headerErr: header.err, ...readMultiResultBody(reader, header.type) });
  }
}

function readMultiResultBody(reader: JuteReader, type: number): JsonObject {
  switch (type) {
    case OpCode.create:
      return readPath(reader);
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return readCreate2(reader);
    case OpCode.delete:
    case OpCode.check:
      return {};
    case OpCode.setData:
      return readStatBody(reader);
    case OpCode.getData:
      return readData(reader);
    case OpCode.getChildren:
      return { children: sortedChildren(readGetChildrenResponse(reader).children) };
    case OpCode.error:
      return { err: readErrorResponse(reader).err };
    default:
      throw new Error(`multi result of unknown type ${type}`);
  }
}

/**
 * The fields of a reply body. Error replies are expected to be header-only;
 * whatever follows an error header is recorded as hex.
 */
export function decodeBody(opcode: number, err: number, body: Buffer): JsonObject {
  if (err !== 0 || body.length === 0) {
    return body.length === 0 ? { bodyBytes: 0 } : { bodyBytes: body.length, bodyHex: body.toString("hex") };
  }
  const decoder = bodyDecoders.get(opcode);
  if (decoder === undefined) return { bodyBytes: body.length, bodyHex: body.toString("hex") };
  const reader = new JuteReader(body);
  try {
    const fields = decoder(reader);
    reader.expectEnd(`reply to op ${opcode}`);
    return { bodyBytes: body.length, ...fields };
  } catch (error) {
    return { bodyBytes: body.length, undecodable: String((error as Error).message), bodyHex: body.toString("hex") };
  }
}
