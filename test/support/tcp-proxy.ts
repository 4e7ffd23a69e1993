// A tiny TCP proxy between a client and the server, so a test can cut the
// TCP connection under a live session (dropConnections) without touching the
// client or the server.

import net from "node:net";

const loopbackHost = "127.0.0.1";

export class TcpProxy {
  readonly port: number;
  readonly #server: net.Server;
  readonly #sockets: Set<net.Socket>;
  readonly #counter: { accepted: number; refusing: boolean };

  private constructor(server: net.Server, port: number, sockets: Set<net.Socket>, counter: { accepted: number; refusing: boolean }) {
    this.#server = server;
    this.port = port;
    this.#sockets = sockets;
    this.#counter = counter;
  }

  static start(targetPort: number, targetHost = loopbackHost): Promise<TcpProxy> {
    const sockets = new Set<net.Socket>();
    const counter = { accepted: 0, refusing: false };
    const server = net.createServer((client) => {
      if (counter.refusing) {
        // As if the server were unreachable: the client sees the connection drop at once.
        client.on("error", () => {});
        client.destroy();
        return;
      }
      counter.accepted += 1;
      const upstream = net.connect({ host: targetHost, port: targetPort });
      for (const socket of [client, upstream]) {
        socket.setNoDelay(true);
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    return new Promise((resolveProxy, reject) => {
      server.once("error", reject);
      server.listen(0, loopbackHost, () => {
        const address = server.address();
        if (address === null || typeof address !== "object") reject(new Error("proxy: no address"));
        else resolveProxy(new TcpProxy(server, address.port, sockets, counter));
      });
    });
  }

  get connectString(): string {
    return `${loopbackHost}:${this.port}`;
  }

  /** How many client connections the proxy has accepted so far. */
  get accepted(): number {
    return this.#counter.accepted;
  }

  /** While refusing, new connections are dropped on arrival (a partition). */
  set refusing(value: boolean) {
    this.#counter.refusing = value;
  }

  /** Destroys every proxied connection at once, as a network failure would. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.dropConnections();
    return new Promise((resolveClose) => this.#server.close(() => resolveClose()));
  }
}
