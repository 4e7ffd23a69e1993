// The WAN emulator's proxies over real loopback sockets: a round trip takes
// twice the one-way delay, jitter never reorders a connection's bytes, a
// partition passes nothing (in one direction with oneWay) and a heal lets
// the held bytes through, the control API changes the state, and close()
// leaves nothing running. Latencies are small (40 ms one way) and every
// test is bounded.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { Server, Socket } from "node:net";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { WanEmulator } from "../../src/lab/wan-emulator.js";

const oneWayMs = 40;
const toleranceMs = 40;
const testTimeoutMs = 5000;
const regions = ["east", "west"];

interface TestServer {
  port: number;
  received: Buffer[];
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A loopback server that echoes (or, with echo false, only records) what it receives. */
async function startServer(echo: boolean): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const received: Buffer[] = [];
  const server: Server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (echo) socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    port: address.port,
    received,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with the first `length` bytes the socket receives from now on. */
function readBytes(socket: Socket, length: number, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) finish(undefined);
    };
    const timer = setTimeout(() => finish(new Error(`only ${total} of ${length} bytes in ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      if (error === undefined) resolve(Buffer.concat(chunks));
      else reject(error);
    };
    socket.on("data", onData);
  });
}

/** The bytes the socket receives during the next windowMs. */
async function bytesWithin(socket: Socket, windowMs: number): Promise<number> {
  let total = 0;
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
  };
  socket.on("data", onData);
  await delay(windowMs);
  socket.off("data", onData);
  return total;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function receivedLength(server: TestServer): number {
  return server.received.reduce((sum, chunk) => sum + chunk.length, 0);
}

async function roundTripMs(socket: Socket, payload: string): Promise<number> {
  const startMs = performance.now();
  socket.write(payload);
  const echoed = await readBytes(socket, payload.length);
  assert.equal(echoed.toString(), payload);
  return performance.now() - startMs;
}

describe("WAN emulator proxies", { timeout: 20_000 }, () => {
  let echo: TestServer;
  let emulator: WanEmulator;
  let port: number;
  const clients: Socket[] = [];

  before(async () => {
    echo = await startServer(true);
    emulator = await WanEmulator.start({
      regions,
      roundTripMs: { east: { west: 2 * oneWayMs } },
      links: [{ from: "east", to: "west", targetPort: echo.port }],
    });
    port = emulator.proxy("east", "west")!.port;
  });

  after(async () => {
    for (const client of clients) client.destroy();
    await emulator.close();
    await echo.close();
  });

  async function client(): Promise<Socket> {
    const socket = await connect(port);
    clients.push(socket);
    return socket;
  }

  it("delivers a round trip after twice the one-way delay", { timeout: testTimeoutMs }, async () => {
    const socket = await client();
    for (const payload of ["ping", "pong", "again"]) {
      const elapsedMs = await roundTripMs(socket, payload);
      assert.ok(elapsedMs >= 2 * oneWayMs, `round trip ${elapsedMs.toFixed(1)} ms < ${2 * oneWayMs} ms`);
      assert.ok(elapsedMs <= 2 * oneWayMs + toleranceMs, `round trip ${elapsedMs.toFixed(1)} ms > ${2 * oneWayMs + toleranceMs} ms`);
    }
  });

  it("keeps a connection's bytes in order under jitter", { timeout: testTimeoutMs }, async () => {
    emulator.setLatency("east", "west", oneWayMs, { jitterMs: 35 });
    try {
      const socket = await client();
      const count = 60;
      const reply = readBytes(socket, count * 4);
      for (let index = 0; index < count; index += 1) {
        const chunk = Buffer.alloc(4);
        chunk.writeUInt32BE(index, 0);
        socket.write(chunk);
        await delay(1);
      }
      const bytes = await reply;
      const numbers = Array.from({ length: count }, (_, index) => bytes.readUInt32BE(index * 4));
      assert.deepEqual(numbers, Array.from({ length: count }, (_, index) => index));
    } finally {
      emulator.setLatency("east", "west", oneWayMs, { jitterMs: 0 });
    }
  });

  it("serializes bytes through a bandwidth cap", { timeout: testTimeoutMs }, async () => {
    // 1,000 bytes at 10,000 B/s spend 100 ms on the wire east->west; the
    // echo back is uncapped.
    emulator.setBandwidth("east", "west", 10_000, true);
    try {
      const socket = await client();
      const payload = "b".repeat(1000);
      const elapsedMs = await roundTripMs(socket, payload);
      const expectedMs = 2 * oneWayMs + 100;
      assert.ok(elapsedMs >= expectedMs && elapsedMs <= expectedMs + toleranceMs, `round trip ${elapsedMs.toFixed(1)} ms`);
    } finally {
      emulator.setBandwidth("east", "west", undefined, true);
    }
  });

  it("passes no bytes across a partition and delivers them once healed", { timeout: testTimeoutMs }, async () => {
    const socket = await client();
    await roundTripMs(socket, "before");
    emulator.partition("east", "west");
    socket.write("held");
    assert.equal(await bytesWithin(socket, 300), 0);
    const healedAtMs = performance.now();
    const reply = readBytes(socket, 4);
    emulator.heal("east", "west");
    assert.equal((await reply).toString(), "held");
    const afterHealMs = performance.now() - healedAtMs;
    assert.ok(afterHealMs >= 2 * oneWayMs && afterHealMs <= 2 * oneWayMs + toleranceMs, `${afterHealMs.toFixed(1)} ms after heal`);
    const elapsedMs = await roundTripMs(socket, "after");
    assert.ok(elapsedMs <= 2 * oneWayMs + toleranceMs);
  });

  it("does not complete a new connection across a partition until it heals", { timeout: testTimeoutMs }, async () => {
    emulator.partition("east", "west");
    try {
      const socket = await client();
      socket.write("new");
      assert.equal(await bytesWithin(socket, 300), 0);
      const reply = readBytes(socket, 3);
      emulator.heal();
      assert.equal((await reply).toString(), "new");
    } finally {
      emulator.heal();
    }
  });
});

describe("WAN emulator one-way partitions", { timeout: 20_000 }, () => {
  it("blocks only the partitioned direction", { timeout: testTimeoutMs }, async () => {
    const recorder = await startServer(false);
    const emulator = await WanEmulator.start({
      regions,
      roundTripMs: { east: { west: 2 * oneWayMs } },
      links: [{ from: "east", to: "west", targetPort: recorder.port }],
    });
    const socket = await connect(emulator.proxy("east", "west")!.port);
    try {
      socket.write("hello");
      await delay(oneWayMs + toleranceMs);
      assert.equal(receivedLength(recorder), 5);
      const [serverSide] = [...recorder.sockets];
      assert.ok(serverSide !== undefined);

      emulator.partition("east", "west", true);
      socket.write("lost");
      const toClient = readBytes(socket, 6);
      serverSide.write("reply1");
      assert.equal((await toClient).toString(), "reply1");
      await delay(200);
      assert.equal(receivedLength(recorder), 5, "east->west is blocked");

      emulator.heal();
      emulator.partition("west", "east", true);
      await delay(oneWayMs + toleranceMs);
      assert.equal(receivedLength(recorder), 9, "east->west flows again, with the held bytes");
      serverSide.write("reply2");
      assert.equal(await bytesWithin(socket, 200), 0, "west->east is blocked");
      const lateReply = readBytes(socket, 6);
      emulator.heal("west", "east", true);
      assert.equal((await lateReply).toString(), "reply2");
    } finally {
      socket.destroy();
      await emulator.close();
      await recorder.close();
    }
  });
});

describe("WAN emulator control API", { timeout: 20_000 }, () => {
  it("reports and changes partitions and latency over HTTP", { timeout: testTimeoutMs }, async () => {
    const emulator = await WanEmulator.start({ controlPort: 0 });
    try {
      const control = emulator.controlAddress!;
      const base = `http://${control.host}:${control.port}`;
      type State = { partitions: string[]; links: Array<{ from: string; to: string; oneWayMs: number }> };
      const post = async (path: string, body: unknown): Promise<{ status: number; json: unknown }> => {
        const response = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) });
        return { status: response.status, json: await response.json() };
      };
      const initial = (await (await fetch(`${base}/state`)).json()) as State;
      assert.deepEqual(initial.partitions, []);
      assert.equal(initial.links.find((link) => link.from === "us-east" && link.to === "ap-south")?.oneWayMs, 95);

      const partitioned = await post("/partition", { a: "us-east", b: "eu-west", oneWay: true });
      assert.equal(partitioned.status, 200);
      assert.deepEqual((partitioned.json as State).partitions, ["us-east->eu-west"]);
      assert.equal(emulator.model.isBlocked("us-east", "eu-west"), true);

      const latency = await post("/latency", { a: "eu-west", b: "ap-south", ms: 12 });
      const links = (latency.json as State).links;
      assert.equal(links.find((link) => link.from === "ap-south" && link.to === "eu-west")?.oneWayMs, 12);

      const capped = await post("/bandwidth", { a: "us-east", b: "eu-west", bytesPerSecond: 5000, oneWay: true });
      const cappedLinks = (capped.json as { links: Array<{ from: string; to: string; bandwidthBytesPerSecond: number | null }> }).links;
      assert.equal(cappedLinks.find((link) => link.from === "us-east" && link.to === "eu-west")?.bandwidthBytesPerSecond, 5000);
      assert.equal(cappedLinks.find((link) => link.from === "eu-west" && link.to === "us-east")?.bandwidthBytesPerSecond, null);

      const healed = await post("/heal", {});
      assert.deepEqual((healed.json as State).partitions, []);

      assert.equal((await post("/partition", { a: "us-east", b: "mars" })).status, 400);
      assert.equal((await post("/latency", { a: "us-east", b: "eu-west" })).status, 400);
      assert.equal((await post("/nowhere", {})).status, 404);
    } finally {
      await emulator.close();
    }
  });
});

describe("WAN emulator close", { timeout: 20_000 }, () => {
  it("leaves no open handles: a process that used it exits by itself", { timeout: 10_000 }, async () => {
    const emulatorUrl = new URL("../../src/lab/wan-emulator.js", import.meta.url).href;
    const script = `
      import net from "node:net";
      import { WanEmulator } from ${JSON.stringify(emulatorUrl)};
      const echo = net.createServer((socket) => socket.pipe(socket));
      await new Promise((resolve) => echo.listen(0, "127.0.0.1", resolve));
      const emulator = await WanEmulator.start({
        regions: ["east", "west"], roundTripMs: { east: { west: 40 } }, jitterMs: 5, controlPort: 0,
        links: [{ from: "east", to: "west", targetPort: echo.address().port }],
      });
      const socket = net.connect(emulator.proxy("east", "west").port, "127.0.0.1");
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("x".repeat(1000));
      await new Promise((resolve) => socket.once("data", resolve));
      socket.write("in flight");
      emulator.partition("east", "west");
      await fetch("http://127.0.0.1:" + emulator.controlAddress.port + "/state");
      await emulator.close();
      echo.close();
      console.log("closed");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(null);
      }, 5000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exitCode, 0, `the process did not exit by itself: ${output}`);
    assert.match(output, /closed/);
  });
});
