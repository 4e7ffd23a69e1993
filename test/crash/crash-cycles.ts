// Crash cycles against a real Maestro process: one writer pipelines
// creates, setData, deletes and multis while the process is killed with
// SIGKILL at a random moment; after each restart the tree must equal the
// writer's model after some prefix of the issued operations that contains
// every acknowledged one. So no acknowledged write is lost and nothing is
// half-applied (a multi is all or nothing). Replies are checked against the
// model too: with one session, FIFO order makes every result predictable.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode, OpCode } from "../../src/protocol/codes.js";
import { RawClient, ConnectionClosedError, encodeMulti, readChildren, readGetData, type ReplyFrame } from "../support/raw-client.js";
import { freePort, startServer, type ServerProcess } from "../support/server-process.js";

type Model = Map<string, string>;

type Op =
  | { kind: "create"; path: string; data: string }
  | { kind: "setData"; path: string; data: string }
  | { kind: "delete"; path: string }
  | { kind: "multi"; creates: Array<{ path: string; data: string }> };

const root = "/crash";
const keysMax = 24;
const pipelineDepthMax = 16;
const opsPerCycleMax = 3_000;
const killAfterMsMax = 400;
/** Frequent snapshots, so that some kills land while one is being written. */
const serverArgs = ["--snapshot-every-deltas", "300"];

/** A small seeded generator (mulberry32): the same seed replays the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nextOp(random: () => number, counter: number): Op {
  const key = (): string => `${root}/k${Math.floor(random() * keysMax)}`;
  const data = `v${counter}`;
  const choice = random();
  if (choice < 0.35) return { kind: "create", path: key(), data };
  if (choice < 0.65) return { kind: "setData", path: key(), data };
  if (choice < 0.85) return { kind: "delete", path: key() };
  return { kind: "multi", creates: [{ path: key(), data }, { path: key(), data: `${data}b` }] };
}

/** Applies an op to the model; returns the error code ZooKeeper would answer. */
function applyToModel(model: Model, op: Op): number {
  switch (op.kind) {
    case "create":
      if (model.has(op.path)) return ErrorCode.nodeExists;
      model.set(op.path, op.data);
      return 0;
    case "setData":
      if (!model.has(op.path)) return ErrorCode.noNode;
      model.set(op.path, op.data);
      return 0;
    case "delete":
      if (!model.has(op.path)) return ErrorCode.noNode;
      model.delete(op.path);
      return 0;
    case "multi": {
      const [first, second] = op.creates as [{ path: string; data: string }, { path: string; data: string }];
      if (model.has(first.path) || model.has(second.path) || first.path === second.path) return 0; // header err stays 0
      model.set(first.path, first.data);
      model.set(second.path, second.data);
      return 0;
    }
  }
}

function send(client: RawClient, op: Op): Promise<ReplyFrame> {
  const data = (text: string): Buffer => Buffer.from(text);
  switch (op.kind) {
    case "create":
      return client.create(op.path, data(op.data));
    case "setData":
      return client.setData(op.path, data(op.data));
    case "delete":
      return client.delete(op.path);
    case "multi":
      return client.request(OpCode.multi, encodeMulti(op.creates.map((c) => ({ type: 1 as const, path: c.path, data: data(c.data) }))));
  }
}

async function readTree(port: number): Promise<Model> {
  const client = await RawClient.connect({ port });
  try {
    const tree: Model = new Map();
    const children = await client.getChildren(root);
    assert.equal(children.err, 0, `getChildren ${root} after restart: ${children.err}`);
    for (const name of readChildren(children.body)) {
      const reply = await client.getData(`${root}/${name}`);
      assert.equal(reply.err, 0);
      tree.set(`${root}/${name}`, readGetData(reply.body).data?.toString() ?? "");
    }
    return tree;
  } finally {
    await client.close();
  }
}

function sameTree(a: Model, b: Model): boolean {
  if (a.size !== b.size) return false;
  for (const [path, data] of a) if (b.get(path) !== data) return false;
  return true;
}

interface CycleResult {
  issued: number;
  acknowledged: number;
}

/** Writes until the kill; returns how many ops were issued and acknowledged in order. */
async function writeUntilKilled(server: ServerProcess, ops: Op[], expected: number[], killAfterMs: number): Promise<CycleResult> {
  const client = await RawClient.connect({ port: server.port });
  let acknowledged = 0;
  let issued = 0;
  let killed = false;
  const kill = setTimeout(() => {
    killed = true;
    void server.kill();
  }, killAfterMs);
  const inFlight = new Set<Promise<void>>();
  try {
    while (!killed && !client.closed && issued < ops.length) {
      const index = issued++;
      const promise = send(client, ops[index]!).then(
        (reply) => {
          assert.equal(acknowledged, index, "replies arrive in request order");
          assert.equal(reply.err, expected[index], `op ${index} ${JSON.stringify(ops[index])}: err ${reply.err}, model says ${expected[index]}`);
          acknowledged = index + 1;
        },
        (error: unknown) => {
          if (!(error instanceof ConnectionClosedError)) throw error;
        },
      );
      const tracked = promise.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= pipelineDepthMax) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    clearTimeout(kill);
    if (!killed) await server.kill();
    await client.close().catch(() => {});
  }
  return { issued, acknowledged };
}

export interface CrashRunOptions {
  cycles: number;
  seed: number;
  log?: (line: string) => void;
}

/** Runs the cycles; throws (with the seed) on the first violation. */
export async function runCrashCycles(options: CrashRunOptions): Promise<{ operations: number; acknowledged: number }> {
  const random = seededRandom(options.seed);
  const dataDir = mkdtempSync(join(tmpdir(), "maestro-crash-"));
  const port = await freePort();
  let model: Model = new Map();
  let counter = 0;
  let totals = { operations: 0, acknowledged: 0 };
  try {
    let server = await startServer({ dataDir, port, fourLetterWords: "ruok", extraArgs: serverArgs });
    const setup = await RawClient.connect({ port });
    assert.equal((await setup.create(root)).err, 0);
    await setup.close();
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const ops: Op[] = [];
      const expected: number[] = [];
      const states: Model[] = [new Map(model)];
      const scratch = new Map(model);
      for (let i = 0; i < opsPerCycleMax; i++) {
        const op = nextOp(random, counter++);
        ops.push(op);
        expected.push(applyToModel(scratch, op));
        states.push(new Map(scratch));
      }
      const killAfterMs = 5 + Math.floor(random() * killAfterMsMax);
      const result = await writeUntilKilled(server, ops, expected, killAfterMs);
      server = await startServer({ dataDir, port, fourLetterWords: "ruok", extraArgs: serverArgs });
      const recovered = await readTree(port);
      const prefix = states.findIndex((state, length) => length >= result.acknowledged && length <= result.issued && sameTree(state, recovered));
      assert.ok(
        prefix >= 0,
        `seed ${options.seed} cycle ${cycle}: recovered tree matches no prefix of the issued ops containing all ${result.acknowledged} acknowledged (issued ${result.issued})`,
      );
      model = states[prefix]!;
      totals = { operations: totals.operations + result.issued, acknowledged: totals.acknowledged + result.acknowledged };
      options.log?.(`cycle ${cycle}: issued ${result.issued}, acknowledged ${result.acknowledged}, recovered prefix ${prefix}, kill after ${killAfterMs} ms`);
    }
    await server.stop();
    return totals;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
