// The WAN emulator: a TCP proxy per link (client region -> server region ->
// target host:port) listening on loopback, delaying each direction by the
// model's one-way latency (with jitter and bandwidth caps), and applying
// partitions and heals at run time. What partitions do to connections is
// described in wan-connection.ts; new connections are described at
// acceptConnection below. Everything it starts (listeners, sockets, timers,
// the control server) stops in close().

import net from "node:net";
import type { Server, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { ProxiedConnection, type WanClock } from "./wan-connection.js";
import { WanError, WanModel, type WanModelOptions, type WanModelState } from "./wan-model.js";
import { startControlServer, type ControlServer } from "./wan-control.js";

export const loopbackHost = "127.0.0.1";
export const linksMax = 256;
export const connectionsPerLinkMax = 4096;

export interface WanLinkOptions {
  /** Region of the clients that connect to this proxy. */
  from: string;
  /** Region of the server behind it. */
  to: string;
  /** Loopback host of the server; default 127.0.0.1. */
  targetHost?: string;
  targetPort: number;
  /** Port the proxy listens on (loopback); 0 or absent picks a free one. */
  listenPort?: number;
}

export interface WanLatencyOptions {
  a: string;
  b: string;
  oneWayMs: number;
  jitterMs?: number;
  oneWay?: boolean;
}

export interface WanBandwidthOptions {
  a: string;
  b: string;
  bytesPerSecond: number;
  oneWay?: boolean;
}

export interface WanEmulatorOptions extends WanModelOptions {
  /** One-way latencies applied after the round-trip defaults. */
  latency?: readonly WanLatencyOptions[];
  bandwidth?: readonly WanBandwidthOptions[];
  links?: readonly WanLinkOptions[];
  /** Port of the HTTP control API on loopback (0 picks one); absent starts none. */
  controlPort?: number;
}

export interface WanLinkInfo {
  from: string;
  to: string;
  target: string;
  /** Where clients of region `from` connect. */
  host: string;
  port: number;
  connections: number;
}

export interface WanState extends WanModelState {
  proxies: WanLinkInfo[];
  control: { host: string; port: number } | null;
}

const monotonicClock: WanClock = { nowMs: () => performance.now() };

interface Link {
  options: Required<WanLinkOptions>;
  server: Server;
  port: number;
  connections: Set<ProxiedConnection>;
  /** Accepted client sockets whose upstream is not connected yet. */
  waiting: Set<Socket>;
}

export class WanEmulator {
  readonly model: WanModel;
  private readonly links: Link[] = [];
  private readonly sockets = new Set<Socket>();
  private control: ControlServer | undefined;
  private closing: Promise<void> | undefined;

  private constructor(model: WanModel, private readonly clock: WanClock) {
    this.model = model;
  }

  static async start(options: WanEmulatorOptions = {}, clock: WanClock = monotonicClock): Promise<WanEmulator> {
    const emulator = new WanEmulator(new WanModel(options), clock);
    try {
      for (const latency of options.latency ?? []) {
        emulator.setLatency(latency.a, latency.b, latency.oneWayMs, latency);
      }
      for (const cap of options.bandwidth ?? []) emulator.setBandwidth(cap.a, cap.b, cap.bytesPerSecond, cap.oneWay);
      for (const link of options.links ?? []) await emulator.addLink(link);
      if (options.controlPort !== undefined) {
        emulator.control = await startControlServer(emulator, loopbackHost, options.controlPort);
      }
    } catch (error) {
      await emulator.close();
      throw error;
    }
    return emulator;
  }

  async addLink(options: WanLinkOptions): Promise<WanLinkInfo> {
    if (this.closing !== undefined) throw new WanError("ERR_WAN_CLOSED", "the emulator is closed");
    if (this.links.length >= linksMax) throw new WanError("ERR_WAN_CONFIG", `at most ${linksMax} links`);
    const link = checkLink(options, this.model);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const entry: Link = { options: link, server, port: 0, connections: new Set(), waiting: new Set() };
    server.on("connection", (client) => this.acceptConnection(entry, client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(link.listenPort, loopbackHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("a TCP listener has a port");
    entry.port = address.port;
    this.links.push(entry);
    return this.linkInfo(entry);
  }

  proxies(): WanLinkInfo[] {
    return this.links.map((link) => this.linkInfo(link));
  }

  /** The proxy for from->to (the first one, when several targets share the pair). */
  proxy(from: string, to: string): WanLinkInfo | undefined {
    const link = this.links.find((entry) => entry.options.from === from && entry.options.to === to);
    return link === undefined ? undefined : this.linkInfo(link);
  }

  get controlAddress(): { host: string; port: number } | undefined {
    return this.control === undefined ? undefined : { host: loopbackHost, port: this.control.port };
  }

  partition(a: string, b: string, oneWay = false): void {
    this.model.partition(a, b, oneWay);
    this.refreshConnections();
  }

  heal(a?: string, b?: string, oneWay = false): void {
    this.model.heal(a, b, oneWay);
    this.refreshConnections();
  }

  setLatency(a: string, b: string, oneWayMs: number, options: { jitterMs?: number; oneWay?: boolean } = {}): void {
    this.model.setLatency(a, b, oneWayMs, options);
  }

  setBandwidth(a: string, b: string, bytesPerSecond: number | undefined, oneWay = false): void {
    this.model.setBandwidth(a, b, bytesPerSecond, oneWay);
  }

  state(): WanState {
    return { ...this.model.state(), proxies: this.proxies(), control: this.controlAddress ?? null };
  }

  /** Stops every listener, socket, timer and the control server; resolves once all are closed. */
  close(): Promise<void> {
    this.closing ??= this.closeEverything();
    return this.closing;
  }

  private async closeEverything(): Promise<void> {
    const closed: Array<Promise<void>> = [];
    for (const link of this.links) {
      closed.push(new Promise((resolve) => link.server.close(() => resolve())));
      for (const connection of link.connections) connection.destroy();
    }
    for (const socket of this.sockets) {
      if (!socket.closed) closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
      socket.destroy();
    }
    if (this.control !== undefined) closed.push(this.control.close());
    await Promise.all(closed);
  }

  /**
   * A new connection is accepted on loopback at once (the kernel completes
   * the handshake before the proxy can judge it), but the upstream
   * connection is only made while both directions of the pair are open:
   * across a partition a SYN or its SYN-ACK is lost. Until then the client
   * sees a connection that carries nothing, as if its handshake hung, and
   * its bytes wait in its socket; on heal the upstream connection is made
   * and they flow. A refused or failed upstream connection resets the client.
   */
  private acceptConnection(link: Link, client: Socket): void {
    if (this.closing !== undefined || link.connections.size + link.waiting.size >= connectionsPerLinkMax) {
      client.destroy();
      return;
    }
    this.track(client);
    link.waiting.add(client);
    client.on("close", () => link.waiting.delete(client));
    client.on("error", () => client.destroy());
    this.dialWhenOpen(link, client);
  }

  private dialWhenOpen(link: Link, client: Socket): void {
    const { from, to, targetHost, targetPort } = link.options;
    if (client.destroyed || this.model.isBlocked(from, to) || this.model.isBlocked(to, from)) return;
    link.waiting.delete(client);
    const upstream = net.connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    this.track(upstream);
    const connection = new ProxiedConnection(client, upstream, from, to, this.model, this.clock);
    link.connections.add(connection);
    let closedSockets = 0;
    const forget = (): void => {
      closedSockets += 1;
      if (closedSockets === 2) link.connections.delete(connection);
    };
    client.once("close", forget);
    upstream.once("close", forget);
  }

  private refreshConnections(): void {
    for (const link of this.links) {
      for (const connection of link.connections) connection.refresh();
      for (const client of [...link.waiting]) this.dialWhenOpen(link, client);
    }
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  private linkInfo(link: Link): WanLinkInfo {
    const { from, to, targetHost, targetPort } = link.options;
    return { from, to, target: `${targetHost}:${targetPort}`, host: loopbackHost, port: link.port, connections: link.connections.size };
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function checkLink(options: WanLinkOptions, model: WanModel): Required<WanLinkOptions> {
  for (const region of [options.from, options.to]) {
    if (!model.hasRegion(region)) throw new WanError("ERR_WAN_UNKNOWN_REGION", `unknown region: ${region}`);
  }
  const targetHost = options.targetHost ?? loopbackHost;
  if (!isLoopbackHost(targetHost)) throw new WanError("ERR_WAN_NOT_LOOPBACK", `targets must be on loopback: ${targetHost}`);
  for (const port of [options.targetPort, options.listenPort ?? 0]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WanError("ERR_WAN_CONFIG", `bad port: ${port}`);
  }
  if (options.targetPort === 0) throw new WanError("ERR_WAN_CONFIG", "a link needs a target port");
  return { from: options.from, to: options.to, targetHost, targetPort: options.targetPort, listenPort: options.listenPort ?? 0 };
}
