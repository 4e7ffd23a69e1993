// The emulator's HTTP control API, on loopback only:
//   GET  /state                              the matrix, partitions and proxies
//   POST /partition {a, b, oneWay?}          block a->b (and b->a unless oneWay)
//   POST /heal      {a?, b?, oneWay?}        heal all, all of a, or a<->b (a->b if oneWay)
//   POST /latency   {a, b, ms, jitterMs?, oneWay?}   set the one-way delay
//   POST /bandwidth {a, b, bytesPerSecond, oneWay?}  cap a direction (null lifts the cap)
// Every answer is JSON: the state after the change, or {error, code} with
// status 400 (bad request), 404 (no such route) or 413 (body too large).

import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { WanError } from "./wan-model.js";
import type { WanState } from "./wan-emulator.js";

export const controlBodyBytesMax = 64 * 1024;

/** What the control API drives; WanEmulator provides it. */
export interface WanControlTarget {
  state(): WanState;
  partition(a: string, b: string, oneWay?: boolean): void;
  heal(a?: string, b?: string, oneWay?: boolean): void;
  setLatency(a: string, b: string, oneWayMs: number, options?: { jitterMs?: number; oneWay?: boolean }): void;
  setBandwidth(a: string, b: string, bytesPerSecond: number | undefined, oneWay?: boolean): void;
}

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

type Body = Record<string, unknown>;

export async function startControlServer(target: WanControlTarget, host: string, port: number): Promise<ControlServer> {
  const server = http.createServer((request, response) => {
    handle(target, request, response).catch((error: unknown) => answerError(response, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("a TCP listener has a port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(target: WanControlTarget, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const route = `${request.method ?? ""} ${new URL(request.url ?? "/", "http://localhost").pathname}`;
  if (route === "GET /state") return answer(response, 200, target.state());
  const apply = routes[route];
  if (apply === undefined) return answer(response, 404, { error: `no route ${route}`, code: "ERR_WAN_NO_ROUTE" });
  apply(target, await readBody(request));
  return answer(response, 200, target.state());
}

const routes: Record<string, ((target: WanControlTarget, body: Body) => void) | undefined> = {
  "POST /partition": (target, body) => target.partition(requiredString(body, "a"), requiredString(body, "b"), optionalBoolean(body, "oneWay")),
  "POST /heal": (target, body) => target.heal(optionalString(body, "a"), optionalString(body, "b"), optionalBoolean(body, "oneWay")),
  "POST /latency": (target, body) => {
    const jitterMs = optionalNumber(body, "jitterMs");
    target.setLatency(requiredString(body, "a"), requiredString(body, "b"), requiredNumber(body, "ms"), {
      oneWay: optionalBoolean(body, "oneWay"),
      ...(jitterMs === undefined ? {} : { jitterMs }),
    });
  },
  "POST /bandwidth": (target, body) => {
    const bytesPerSecond = body.bytesPerSecond === null ? undefined : requiredNumber(body, "bytesPerSecond");
    target.setBandwidth(requiredString(body, "a"), requiredString(body, "b"), bytesPerSecond, optionalBoolean(body, "oneWay"));
  },
};

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    const bytes = chunk as Buffer;
    length += bytes.length;
    if (length > controlBodyBytesMax) throw new WanError("ERR_WAN_BODY_TOO_LARGE", `bodies are limited to ${controlBodyBytesMax} bytes`);
    chunks.push(bytes);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WanError("ERR_WAN_BAD_REQUEST", "the body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new WanError("ERR_WAN_BAD_REQUEST", "the body must be a JSON object");
  }
  return parsed as Body;
}

function requiredString(body: Body, name: string): string {
  const value = optionalString(body, name);
  if (value === undefined) throw new WanError("ERR_WAN_BAD_REQUEST", `${name} is required`);
  return value;
}

function optionalString(body: Body, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || typeof value === "string") return value;
  throw new WanError("ERR_WAN_BAD_REQUEST", `${name} must be a string`);
}

function requiredNumber(body: Body, name: string): number {
  const value = optionalNumber(body, name);
  if (value === undefined) throw new WanError("ERR_WAN_BAD_REQUEST", `${name} is required`);
  return value;
}

function optionalNumber(body: Body, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || typeof value === "number") return value;
  throw new WanError("ERR_WAN_BAD_REQUEST", `${name} must be a number`);
}

function optionalBoolean(body: Body, name: string): boolean {
  const value = body[name];
  if (value === undefined || typeof value === "boolean") return value ?? false;
  throw new WanError("ERR_WAN_BAD_REQUEST", `${name} must be a boolean`);
}

function answerError(response: ServerResponse, error: unknown): void {
  if (error instanceof WanError) {
    const status = error.code === "ERR_WAN_BODY_TOO_LARGE" ? 413 : 400;
    answer(response, status, { error: error.message, code: error.code });
  } else {
    answer(response, 500, { error: String(error), code: "ERR_WAN_INTERNAL" });
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { "content-type": "application/json" });
  response.end(`${JSON.stringify(body)}\n`);
}
