// Bad input against a live Maestro process, generated with fast-check and
// delivered in random chunkings: random bytes, mutated ConnectRequests and
// request frames, negative and oversize lengths, truncated frames, invalid
// paths, ACLs and create flags, requests after closeSession.
//
// Every case must end, within a bound, in either ZooKeeper replies (each
// frame a well-formed ReplyHeader carrying 0 or a ZooKeeper error code) or a
// closed connection; and after every case the process must still be alive
// and a separate healthy client must still create and read correctly.
// Run counts are small and fixed so the file stays within its time budget;
// a failure prints fast-check's seed and counterexample.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { startServer, type ServerProcess } from "../support/server-process.js";
import {
  encodeConnectRequest,
  encodeMulti,
  encodeRequest,
  exchange,
  ok,
  openAcl,
  RawClient,
  readGetData,
  splitFrames,
  type Exchange,
  type MultiOp,
} from "../support/raw-client.js";
import { JuteReader, type JuteWriter } from "../../src/protocol/archive.js";
import { readConnectResponse, readReplyHeader, writeAuthPacket, writeCreateRequest, writeSetWatches, type ACL } from "../../src/protocol/records.generated.js";
import { CreateFlag, ErrorCode, OpCode, Xid } from "../../src/protocol/codes.js";
import { ZkClient } from "../support/zk-client.js";

const tickTimeMs = 200;
/** Sessions of fuzzed connections: short, so a connection left waiting for bytes expires. */
const fuzzSessionMs = 2 * tickTimeMs;
const healthySessionMs = 20 * tickTimeMs;
/** Bound on one case: far above an expiry (fuzzSessionMs plus a tick), far below the test timeout. */
const caseBoundMs = 10_000;
const sentinelXid = 0x7ffffff0;
const knownErrorCodes = new Set<number>(Object.values(ErrorCode));
const superPassword = "fuzz-super";

function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

// ---------------------------------------------------------------- arbitraries

/** Cut points as fractions, so one arbitrary fits a buffer of any length. */
const chunkingArbitrary = fc.record({
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
  delayMs: fc.integer({ min: 0, max: 3 }),
});
type Chunking = { cuts: number[]; delayMs: number };

function chunk(bytes: Buffer, chunking: Chunking): Buffer[] {
  const positions = [...new Set(chunking.cuts.map((cut) => Math.floor(cut * bytes.length)))]
    .filter((position) => position > 0 && position < bytes.length)
    .sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const position of positions) {
    chunks.push(bytes.subarray(start, position));
    start = position;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

const pathArbitrary = fc.constantFrom("/", "/fuzz", "/fuzz/a", "/fuzz/b", "/fuzz/a/c", "/zookeeper", "/fuzz/missing");
const dataArbitrary = fc.option(fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)), { nil: null });
const versionArbitrary = fc.integer({ min: -2, max: 3 });

const multiOpArbitrary: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.record({ type: fc.constant(1 as const), path: pathArbitrary, data: dataArbitrary, flags: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant(2 as const), path: pathArbitrary, version: versionArbitrary }),
  fc.record({ type: fc.constant(5 as const), path: pathArbitrary, data: dataArbitrary, version: versionArbitrary }),
  fc.record({ type: fc.constant(13 as const), path: pathArbitrary, version: versionArbitrary }),
);

type RequestSpec = { type: number; xid?: number; body?: (writer: JuteWriter) => void };

function pathRequest(type: number, path: string, watch?: boolean): RequestSpec {
  return {
    type,
    body: (w) => {
      w.writeString(path);
      if (watch !== undefined) w.writeBool(watch);
    },
  };
}

/** Valid requests of many kinds: the raw material for mutations. */
const requestArbitrary: fc.Arbitrary<RequestSpec> = fc.oneof(
  fc.tuple(fc.constantFrom(OpCode.exists, OpCode.getData, OpCode.getChildren, OpCode.getChildren2), pathArbitrary, fc.boolean())
    .map(([type, path, watch]) => pathRequest(type, path, watch)),
  fc.tuple(fc.constantFrom(OpCode.getACL, OpCode.sync, OpCode.getEphemerals, OpCode.getAllChildrenNumber), pathArbitrary)
    .map(([type, path]) => pathRequest(type, path)),
  fc.record({ path: pathArbitrary, data: dataArbitrary, flags: fc.integer({ min: 0, max: 3 }), create2: fc.boolean() }).map(
    ({ path, data, flags, create2 }): RequestSpec => ({
      type: create2 ? OpCode.create2 : OpCode.create,
      body: (w) => writeCreateRequest(w, { path: path === "/" ? "/fuzz/n" : `${path}/n`, data, acl: openAcl, flags }),
    }),
  ),
  fc.record({ path: pathArbitrary, data: dataArbitrary, version: versionArbitrary }).map(
    ({ path, data, version }): RequestSpec => ({
      type: OpCode.setData,
      body: (w) => {
        w.writeString(path);
        w.writeBuffer(data);
        w.writeInt(version);
      },
    }),
  ),
  fc.record({ path: pathArbitrary, version: versionArbitrary }).map(
    ({ path, version }): RequestSpec => ({
      type: OpCode.delete,
      body: (w) => {
        w.writeString(path);
        w.writeInt(version);
      },
    }),
  ),
  fc.array(multiOpArbitrary, { maxLength: 3 }).map((ops): RequestSpec => ({ type: OpCode.multi, body: encodeMulti(ops) })),
  fc.tuple(fc.constantFrom(OpCode.addWatch, OpCode.removeWatches, OpCode.checkWatches), pathArbitrary, fc.integer({ min: 0, max: 5 })).map(
    ([type, path, mode]): RequestSpec => ({
      type,
      body: (w) => {
        w.writeString(path);
        w.writeInt(mode);
      },
    }),
  ),
  fc.array(pathArbitrary, { maxLength: 3 }).map(
    (paths): RequestSpec => ({
      type: OpCode.setWatches,
      xid: Xid.setWatches,
      body: (w) => writeSetWatches(w, { relativeZxid: 0n, dataWatches: paths, existWatches: paths, childWatches: paths }),
    }),
  ),
  fc.constantFrom<RequestSpec>(
    { type: OpCode.whoAmI },
    { type: OpCode.ping, xid: Xid.ping },
    { type: OpCode.auth, xid: Xid.auth, body: (w) => writeAuthPacket(w, { type: 0, scheme: "digest", auth: Buffer.from("fuzz:fuzz") }) },
  ),
);

type Mutation =
  | { kind: "none" }
  | { kind: "flip"; flips: Array<{ at: number; value: number }> }
  | { kind: "truncate"; keep: number }
  | { kind: "extend"; extra: Uint8Array }
  | { kind: "opcode"; type: number }
  | { kind: "randomBody"; seed: Uint8Array };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ kind: "none" }),
  fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 })
    .map((flips): Mutation => ({ kind: "flip", flips })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((keep): Mutation => ({ kind: "truncate", keep })),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra): Mutation => ({ kind: "extend", extra })),
  fc.integer().map((type): Mutation => ({ kind: "opcode", type })),
  fc.uint8Array({ maxLength: 64 }).map((seed): Mutation => ({ kind: "randomBody", seed })),
);

/** Applies a mutation to a frame body and re-frames it, so the length prefix stays honest. */
function mutate(frame: Buffer, mutation: Mutation): Buffer {
  let body = Buffer.from(frame.subarray(4));
  switch (mutation.kind) {
    case "none":
      break;
    case "flip":
      for (const flip of mutation.flips) {
        if (body.length > 0) body[Math.min(body.length - 1, Math.floor(flip.at * body.length))] = flip.value;
      }
      break;
    case "truncate":
      body = body.subarray(0, Math.floor(mutation.keep * body.length));
      break;
    case "extend":
      body = Buffer.concat([body, Buffer.from(mutation.extra)]);
      break;
    case "opcode":
      if (body.length >= 8) body.writeInt32BE(mutation.type, 4);
      break;
    case "randomBody":
      body = Buffer.from(mutation.seed);
      break;
  }
  const framed = Buffer.alloc(4 + body.length);
  framed.writeInt32BE(body.length, 0);
  body.copy(framed, 4);
  return framed;
}

/** A four-byte length that is no frame: negative, or above jute.maxbuffer, and no four-letter word. */
const badLengthArbitrary = fc
  .oneof(fc.integer({ min: -0x80000000, max: -1 }), fc.integer({ min: 0x100000, max: 0x7fffffff }), fc.constantFrom(-1, 0x100000, 0x7fffffff))
  .filter((length) => {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(length, 0);
    return ![...bytes].every((byte) => byte >= 0x61 && byte <= 0x7a);
  });

// ---------------------------------------------------------------- outcome checks

interface Decoded {
  handshake: { timeOut: number; sessionId: bigint; passwd: Buffer | null; bodyBytes: number } | null;
  replies: Array<{ xid: number; err: number }>;
}

/** Decodes what the server sent after a ConnectRequest; throws on anything malformed. */
function decodeConversation(result: Exchange, expectHandshake: boolean): Decoded {
  const { frames, rest } = splitFrames(result.received);
  if (result.closed) assert.equal(rest.length, 0, `the server closed mid-frame: ${result.received.toString("hex")}`);
  const decoded: Decoded = { handshake: null, replies: [] };
  let index = 0;
  if (expectHandshake && frames.length > 0) {
    const body = frames[0]!;
    assert.ok(body.length === 36 || body.length === 37, `ConnectResponse of ${body.length} bytes`);
    const response = readConnectResponse(new JuteReader(body));
    decoded.handshake = { ...response, bodyBytes: body.length };
    if (response.timeOut === 0) {
      assert.equal(response.sessionId, 0n, "a refused session has id 0");
      assert.deepEqual(response.passwd, Buffer.alloc(16), "a refused session has a zero password");
    }
    index = 1;
  }
  for (const frame of frames.slice(index)) {
    const header = readReplyHeader(new JuteReader(frame));
    assert.ok(knownErrorCodes.has(header.err), `reply xid ${header.xid} carries unknown error ${header.err}`);
    decoded.replies.push({ xid: header.xid, err: header.err });
  }
  return decoded;
}

function sawSentinel(bytes: Buffer): boolean {
  const { frames } = splitFrames(bytes);
  return frames.slice(1).some((frame) => frame.length >= 16 && frame.readInt32BE(0) === sentinelXid);
}

// ---------------------------------------------------------------- tests

describe("bad input", { timeout: 600_000 }, () => {
  let server: ServerProcess;
  let healthy: RawClient;
  let healthyRuns = 0;

  before(async () => {
    server = await startServer({ tickTimeMs, fourLetterWords: "*", superDigest: digestId("super", superPassword) });
    healthy = await RawClient.connect({ port: server.port, timeOutMs: healthySessionMs });
    // Super rights: a fuzzed setACL on "/" must not lock the healthy client out.
    ok(await healthy.addAuth("digest", `super:${superPassword}`));
    ok(await healthy.create("/fuzz"));
    ok(await healthy.create("/fuzz/a"));
    ok(await healthy.create("/bad"));
    ok(await healthy.create("/bad/x"));
  });

  after(async () => {
    await healthy?.close();
    await server?.stop();
  });

  /** The server process lives, and both the long-lived and a fresh client work. */
  async function assertHealthy(context: string): Promise<void> {
    assert.ok(server.alive(), `the server died after ${context}\n--- log ---\n${server.logTail()}`);
    healthyRuns += 1;
    const path = `/healthy-${healthyRuns}`;
    const data = Buffer.from(`payload ${healthyRuns}`);
    ok(await healthy.create(path, data), `healthy create after ${context}`);
    assert.deepEqual(readGetData(ok(await healthy.getData(path)).body).data, data);
    ok(await healthy.delete(path));
    assert.deepEqual(healthy.outOfOrder, [], "the healthy client's replies stay in order");
    assert.equal(healthy.closed, false, "the healthy client's connection stays open");
    const fresh = await RawClient.connect({ port: server.port });
    ok(await fresh.exists("/"), `a fresh client after ${context}`);
    await fresh.close();
  }

  test("random bytes instead of a handshake: closed or answered, never a crash", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), chunkingArbitrary, async (bytes, chunking) => {
        const input = Buffer.from(bytes);
        const result = await exchange({
          port: server.port,
          chunks: chunk(input, chunking),
          chunkDelayMs: chunking.delayMs,
          endAfterWrite: true,
          waitMs: caseBoundMs,
        });
        assert.ok(result.closed, `no close within ${caseBoundMs} ms after EOF`);
        await assertHealthy(`random bytes ${input.toString("hex")}`);
      }),
      { numRuns: 80, endOnFailure: true },
    );
  });

  test("garbage before a valid ConnectRequest: any answer is well-formed and the connection is closed", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 24 }), chunkingArbitrary, async (garbage, chunking) => {
        const input = Buffer.concat([Buffer.from(garbage), encodeConnectRequest({ timeOutMs: fuzzSessionMs })]);
        const result = await exchange({
          port: server.port,
          chunks: chunk(input, chunking),
          chunkDelayMs: chunking.delayMs,
          endAfterWrite: true,
          waitMs: caseBoundMs,
        });
        assert.ok(result.closed, `no close within ${caseBoundMs} ms`);
        decodeConversation(result, true);
        await assertHealthy(`garbage ${Buffer.from(garbage).toString("hex")}`);
      }),
      { numRuns: 30, endOnFailure: true },
    );
  });

  test("mutated ConnectRequests get a well-formed ConnectResponse or a close", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(mutationArbitrary, fc.boolean(), chunkingArbitrary, async (mutation, readOnly, chunking) => {
        const input = mutate(encodeConnectRequest({ timeOutMs: fuzzSessionMs, sendReadOnly: readOnly }), mutation);
        const result = await exchange({
          port: server.port,
          chunks: chunk(input, chunking),
          chunkDelayMs: chunking.delayMs,
          endAfterWrite: true,
          waitMs: caseBoundMs,
        });
        assert.ok(result.closed, `no close within ${caseBoundMs} ms`);
        decodeConversation(result, true);
        await assertHealthy(`ConnectRequest ${input.toString("hex")}`);
      }),
      { numRuns: 40, endOnFailure: true },
    );
  });

  test("mutated request frames after a valid handshake: error replies or a close, and a sentinel answered otherwise", { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(requestArbitrary, mutationArbitrary), { minLength: 1, maxLength: 3 }),
        chunkingArbitrary,
        async (requests, chunking) => {
          const frames = requests.map(([spec, mutation], index) =>
            mutate(encodeRequest(spec.xid ?? index + 1, spec.type, spec.body), mutation),
          );
          const sentinel = encodeRequest(sentinelXid, OpCode.exists, (w) => {
            w.writeString("/");
            w.writeBool(false);
          });
          const input = Buffer.concat([encodeConnectRequest({ timeOutMs: healthySessionMs }), ...frames, sentinel]);
          const result = await exchange({
            port: server.port,
            chunks: chunk(input, chunking),
            chunkDelayMs: chunking.delayMs,
            waitMs: caseBoundMs,
            until: sawSentinel,
          });
          const conversation = decodeConversation(result, true);
          assert.ok(conversation.handshake !== null && conversation.handshake.timeOut > 0, "the valid handshake is accepted");
          assert.ok(
            result.closed || sawSentinel(result.received),
            `neither closed nor answered within ${caseBoundMs} ms; replies ${JSON.stringify(conversation.replies)}`,
          );
          await assertHealthy(`frames ${frames.map((frame) => frame.toString("hex")).join(" ")}`);
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  });

  test("a negative or oversize length closes the connection at once, before or after the handshake", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(badLengthArbitrary, fc.boolean(), fc.uint8Array({ maxLength: 16 }), chunkingArbitrary, async (length, afterHandshake, tail, chunking) => {
        const prefix = Buffer.alloc(4);
        prefix.writeInt32BE(length, 0);
        const bad = Buffer.concat([prefix, Buffer.from(tail)]);
        const input = afterHandshake ? Buffer.concat([encodeConnectRequest({ timeOutMs: healthySessionMs }), bad]) : bad;
        // No EOF from us: the server must close on its own.
        const result = await exchange({ port: server.port, chunks: chunk(input, chunking), chunkDelayMs: chunking.delayMs, waitMs: caseBoundMs });
        assert.ok(result.closed, `length ${length} did not close the connection within ${caseBoundMs} ms`);
        const conversation = decodeConversation(result, afterHandshake);
        assert.deepEqual(conversation.replies, [], "nothing is answered to a bad length");
        await assertHealthy(`length ${length}`);
      }),
      { numRuns: 30, endOnFailure: true },
    );
  });

  test("a truncated frame leaves the server waiting only until the session expires", { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(requestArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), chunkingArbitrary, async (spec, keep, chunking) => {
        const frame = encodeRequest(spec.xid ?? 1, spec.type, spec.body);
        const cut = Math.min(frame.length - 1, Math.max(1, Math.floor(keep * frame.length)));
        const input = Buffer.concat([encodeConnectRequest({ timeOutMs: fuzzSessionMs }), frame.subarray(0, cut)]);
        const result = await exchange({ port: server.port, chunks: chunk(input, chunking), chunkDelayMs: chunking.delayMs, waitMs: caseBoundMs });
        assert.ok(result.closed, `a connection with a partial frame was not closed within ${caseBoundMs} ms (session ${fuzzSessionMs} ms)`);
        const conversation = decodeConversation(result, true);
        assert.deepEqual(conversation.replies, [], "nothing is answered for a frame that never completed");
        await assertHealthy(`truncated ${frame.subarray(0, cut).toString("hex")}`);
      }),
      { numRuns: 8, endOnFailure: true },
    );
  });

  test("invalid paths: create is BadArguments and the connection stays usable", { timeout: 120_000 }, async () => {
    const badName = fc.oneof(
      fc.constantFrom("", ".", ".."),
      fc.tuple(
        fc.string({ maxLength: 4 }).filter((text) => !text.includes("/")),
        fc.oneof(
          fc.integer({ min: 0x00, max: 0x1f }),
          fc.integer({ min: 0x7f, max: 0x9f }),
          fc.integer({ min: 0xe000, max: 0xf8ff }),
          fc.integer({ min: 0xfff0, max: 0xffff }),
        ),
        fc.string({ maxLength: 4 }).filter((text) => !text.includes("/")),
      ).map(([before, code, after]) => `${before}${String.fromCharCode(code)}${after}`),
    );
    const badPath = fc.oneof(
      badName.map((name) => `/bad/${name}`),
      badName.map((name) => `/bad/x/${name}`),
      fc.string({ minLength: 0, maxLength: 8 }).filter((text) => !text.includes("/")),
    );
    const client = await RawClient.connect({ port: server.port, timeOutMs: healthySessionMs });
    try {
      await fc.assert(
        fc.asyncProperty(badPath, fc.constantFrom(OpCode.create, OpCode.create2), async (path, type) => {
          const reply = await client.request(type, (w) => writeCreateRequest(w, { path, data: null, acl: openAcl, flags: 0 }));
          assert.equal(reply.err, ErrorCode.badArguments, `create ${JSON.stringify(path)}`);
          assert.equal(reply.body.length, 0, "an error reply is header-only");
          const set = await client.request(OpCode.setData, (w) => {
            w.writeString(path);
            w.writeBuffer(null);
            w.writeInt(-1);
          });
          assert.ok(set.err === ErrorCode.badArguments || set.err === ErrorCode.noNode, `setData ${JSON.stringify(path)}: ${set.err}`);
          ok(await client.exists("/bad"), "the connection stays usable");
        }),
        { numRuns: 60, endOnFailure: true },
      );
      assert.deepEqual(client.outOfOrder, []);
      assert.deepEqual(readChildrenOf(ok(await client.getChildren("/bad")).body), ["x"], "nothing was created");
    } finally {
      await client.close();
    }
    await assertHealthy("invalid paths");
  });

  test("create checks its parent before the new name: an invalid name under a missing parent is NoNode", { timeout: 30_000 }, async () => {
    const client = await RawClient.connect({ port: server.port });
    try {
      for (const path of ["/missing-parent/..", "/missing-parent/.", "/bad//x", "/bad/missing/"]) {
        assert.equal((await client.create(path)).err, ErrorCode.noNode, `create ${path}`);
      }
      assert.equal((await client.create("no-slash")).err, ErrorCode.badArguments);
      assert.equal((await client.create("/bad/nul\u0000")).err, ErrorCode.badArguments);
    } finally {
      await client.close();
    }
  });

  test("path rules are ZooKeeper's, on UTF-16 code units: dotted names are fine, astral characters are not", { timeout: 30_000 }, async () => {
    const client = await RawClient.connect({ port: server.port });
    try {
      for (const name of [".x", "x.", "...", "a.b", "é", "\uf900", "\u00a0", "with space"]) {
        ok(await client.create(`/bad/x/${name}`), `create /bad/x/${JSON.stringify(name)}`);
      }
      // Java checks UTF-16 units: a surrogate pair falls in U+D800–F8FF.
      for (const name of ["\u{1F600}", "\u{10000}", "a\u{1F4A9}b"]) {
        assert.equal((await client.create(`/bad/x/${name}`)).err, ErrorCode.badArguments, `create ${JSON.stringify(name)}`);
      }
    } finally {
      await client.close();
    }
  });

  test("a frame of exactly jute.maxbuffer (0xfffff) bytes is read; one byte more closes the connection", { timeout: 30_000 }, async () => {
    const client = await RawClient.connect({ port: server.port, timeOutMs: healthySessionMs });
    try {
      ok(await client.create("/fuzz-big"));
      // RequestHeader 8 + path (4 + 9) + buffer length 4 + data + version 4.
      const dataBytes = 0xfffff - (8 + 4 + 9 + 4 + 4);
      const frame = encodeRequest(client.peekXid(), OpCode.setData, (w) => {
        w.writeString("/fuzz-big");
        w.writeBuffer(Buffer.alloc(dataBytes, 7));
        w.writeInt(-1);
      });
      assert.equal(frame.length, 4 + 0xfffff);
      ok(await client.setData("/fuzz-big", Buffer.alloc(dataBytes, 7)), "a maximal frame is accepted");
      const tooBig = await client.setData("/fuzz-big", Buffer.alloc(dataBytes + 1, 7)).catch((error: unknown) => error);
      assert.ok(tooBig instanceof Error, "no reply to a frame over the limit");
      assert.ok(await client.closesWithin(5_000));
    } finally {
      client.destroy();
    }
    await assertHealthy("maximal frames");
  });

  test("invalid ACLs are InvalidACL, whatever valid entries come with them", { timeout: 120_000 }, async () => {
    const invalidEntry: fc.Arbitrary<ACL> = fc.oneof(
      fc.string({ minLength: 1, maxLength: 8 })
        .filter((scheme) => !["world", "auth", "digest", "ip"].includes(scheme))
        .map((scheme) => ({ perms: 31, id: { scheme, id: "x" } })),
      fc.string({ maxLength: 8 }).filter((id) => id !== "anyone").map((id) => ({ perms: 31, id: { scheme: "world", id } })),
      fc.constantFrom("alice", "alice:", "a:b:c", "").map((id) => ({ perms: 31, id: { scheme: "digest", id } })),
      fc.constantFrom("", "1.2.3", "256.1.1.1", "a.b.c.d", "1.2.3.4/33", "1.2.3.4/x", "1.2.3.4.5", "localhost")
        .map((id) => ({ perms: 31, id: { scheme: "ip", id } })),
    );
    const validEntry: fc.Arbitrary<ACL> = fc.oneof(
      fc.constant<ACL>({ perms: 31, id: { scheme: "world", id: "anyone" } }),
      fc.constant<ACL>({ perms: 1, id: { scheme: "ip", id: "127.0.0.1" } }),
      fc.constant<ACL>({ perms: 31, id: { scheme: "digest", id: digestId("someone", "pw") } }),
    );
    const aclArbitrary = fc
      .tuple(fc.array(validEntry, { maxLength: 2 }), fc.array(invalidEntry, { minLength: 1, maxLength: 2 }), fc.boolean())
      .map(([valid, invalid, invalidFirst]) => (invalidFirst ? [...invalid, ...valid] : [...valid, ...invalid]));
    const client = await RawClient.connect({ port: server.port, timeOutMs: healthySessionMs });
    try {
      await fc.assert(
        fc.asyncProperty(aclArbitrary, async (acl) => {
          const reply = await client.create("/fuzz/acl", null, 0, acl);
          assert.equal(reply.err, ErrorCode.invalidACL, `create with ${JSON.stringify(acl)}`);
          assert.equal((await client.setACL("/fuzz", acl)).err, ErrorCode.invalidACL, `setACL with ${JSON.stringify(acl)}`);
        }),
        { numRuns: 40, endOnFailure: true },
      );
      assert.equal((await client.exists("/fuzz/acl")).err, ErrorCode.noNode);
    } finally {
      await client.close();
    }
    await assertHealthy("invalid ACLs");
  });

  test("unknown create flags are BadArguments", { timeout: 120_000 }, async () => {
    const client = await RawClient.connect({ port: server.port, timeOutMs: healthySessionMs });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer().filter((flags) => flags < 0 || flags > 6),
          fc.constantFrom(OpCode.create, OpCode.create2),
          async (flags, type) => {
            const reply = await client.request(type, (w) => writeCreateRequest(w, { path: "/fuzz/flags", data: null, acl: openAcl, flags }));
            assert.equal(reply.err, ErrorCode.badArguments, `flags ${flags}`);
          },
        ),
        { numRuns: 40, endOnFailure: true },
      );
      assert.equal((await client.exists("/fuzz/flags")).err, ErrorCode.noNode);
    } finally {
      await client.close();
    }
    await assertHealthy("unknown create flags");
  });

  test("requests after closeSession are neither answered nor applied", { timeout: 120_000 }, async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(chunkingArbitrary, fc.integer({ min: 1, max: 3 }), async (chunking, followers) => {
        round += 1;
        const ephemeral = `/fuzz-closing-${round}`;
        const frames = [
          encodeRequest(1, OpCode.create, (w) => writeCreateRequest(w, { path: ephemeral, data: null, acl: openAcl, flags: CreateFlag.ephemeral })),
          encodeRequest(2, OpCode.closeSession),
        ];
        for (let index = 0; index < followers; index++) {
          frames.push(
            encodeRequest(3 + index, OpCode.create, (w) =>
              writeCreateRequest(w, { path: `/fuzz-after-close-${round}-${index}`, data: null, acl: openAcl, flags: 0 }),
            ),
          );
        }
        const input = Buffer.concat([encodeConnectRequest({ timeOutMs: healthySessionMs }), ...frames]);
        const result = await exchange({ port: server.port, chunks: chunk(input, chunking), chunkDelayMs: chunking.delayMs, waitMs: caseBoundMs });
        assert.ok(result.closed, "closed after closeSession");
        const conversation = decodeConversation(result, true);
        assert.deepEqual(conversation.replies, [
          { xid: 1, err: 0 },
          { xid: 2, err: 0 },
        ]);
        assert.equal((await healthy.exists(ephemeral)).err, ErrorCode.noNode, "the closed session's ephemeral is gone");
        for (let index = 0; index < followers; index++) {
          const path = `/fuzz-after-close-${round}-${index}`;
          assert.equal((await healthy.exists(path)).err, ErrorCode.noNode, `${path} was not created`);
        }
        await assertHealthy(`closeSession round ${round}`);
      }),
      { numRuns: 12, endOnFailure: true },
    );
  });

  test("after all of it, node-zookeeper-client still works", { timeout: 30_000 }, async () => {
    const client = await ZkClient.connect(server.connectString);
    try {
      await client.create("/still-fine", Buffer.from("yes"));
      assert.deepEqual((await client.getData("/still-fine")).data, Buffer.from("yes"));
    } finally {
      await client.close();
    }
  });
});

function readChildrenOf(body: Buffer): string[] {
  const reader = new JuteReader(body);
  const children = reader.readVector(4, (r) => r.readString());
  reader.expectEnd();
  return children.sort();
}
