// What each request does once it is its turn: writes go through the node's
// write path, reads run against the applied tree (once the session's own
// writes are visible here) and arm watches, session requests change the
// connection. Replies are values; the connection sends them in request order.

import * as rec from "../protocol/records.generated.js";
import { AddWatchMode, ErrorCode, WatcherType } from "../protocol/codes.js";
import * as reads from "../tree/reads.js";
import type { WatcherTypeNumber } from "../tree/watches.js";
import { authenticate } from "./auth.js";
import type { ClientConnection, Reply } from "./connection.js";
import { encodeBody, multiBody, notificationFrame, writeResultBody } from "./replies.js";
import type { ClientRequest, ReadRequest } from "./requests.js";
import type { MaestroServer } from "./server.js";
import type { WriteOutcome } from "./write-path.js";

type ReadOutcome = { err: number; body: Buffer | null };

/** ZooKeeper keeps the root under "" as well as "/", so these reads of "" answer for the root. */
function lookupPath(path: string): string {
  return path === "" ? "/" : path;
}

export class RequestHandler {
  readonly #server: MaestroServer;

  constructor(server: MaestroServer) {
    this.#server = server;
  }

  get #zxid(): bigint {
    return this.#server.pipeline.lastAppliedZxid;
  }

  #reply(xid: number, err: number, body: Buffer | null = null, close = false): Reply {
    return { xid, zxid: this.#zxid, err, body, close };
  }

  handle(connection: ClientConnection, xid: number, request: ClientRequest): Reply | Promise<Reply> {
    switch (request.kind) {
      case "write":
        return this.#server.pipeline
          .write(request.request, connection.sessionId, connection.authIds)
          .then((outcome) => this.#writeReply(connection, xid, outcome));
      case "read":
        return this.#whenReady(
          connection,
          xid,
          () => {
            const outcome = this.#read(connection, request.request);
            return this.#reply(xid, outcome.err, outcome.body);
          },
          [readPath(request.request)],
        );
      case "multiRead":
        return this.#whenReady(connection, xid, () => this.#reply(xid, 0, this.#multiRead(connection, request.ops)), request.ops.map(readPath));
      case "sync":
        return this.#server.pipeline
          .sync(request.path)
          .then((ok) =>
            ok
              ? this.#reply(xid, 0, encodeBody((w) => rec.writeSyncResponse(w, { path: request.path })))
              : this.#reply(xid, ErrorCode.connectionLoss),
          );
      case "auth":
        return this.#auth(connection, xid, request.scheme, request.auth);
      case "setWatches":
        return this.#whenReady(connection, xid, () => this.#setWatches(connection, xid, request));
      case "addWatch":
        return this.#addWatch(connection, xid, request.path, request.mode);
      case "checkWatches":
      case "removeWatches":
        return this.#checkOrRemoveWatches(connection, xid, request);
      case "whoAmI":
        return this.#reply(xid, 0, this.#whoAmI(connection));
      case "closeSession":
        return this.#server.closeSession(connection.sessionId).then(() => this.#reply(xid, 0, null, true));
      case "refuse":
        return this.#reply(xid, request.err, null, request.close);
      case "sasl":
        return { xid, zxid: 0n, err: 0, body: encodeBody((w) => rec.writeSetSASLResponse(w, { token: null })) };
      case "unknown":
        this.#server.logger.info({ connection: connection.id, type: request.type }, "unknown opcode");
        // ZooKeeper answers an unknown opcode with zxid -1, then closes.
        return { xid, zxid: -1n, err: ErrorCode.unimplemented, body: null, close: true };
      case "ping":
        return { xid, zxid: this.#zxid, err: 0, body: null };
    }
  }

  /**
   * Runs a read once the session's earlier writes are visible on this node
   * (at once on a single node, and usually in a cluster; after a forwarded
   * write, once it came back through the stream). The read runs inside the
   * callback, before anything applied later can slip in.
   */
  #whenReady(connection: ClientConnection, xid: number, run: () => Reply, paths: readonly string[] = []): Reply | Promise<Reply> {
    let reply: Reply | null = null;
    let deliver: ((reply: Reply) => void) | null = null;
    this.#server.pipeline.whenSessionReady(
      connection.sessionId,
      (ok) => {
        reply = ok ? run() : this.#reply(xid, ErrorCode.connectionLoss);
        deliver?.(reply);
      },
      paths,
    );
    if (reply !== null) return reply;
    return new Promise((resolve) => (deliver = resolve));
  }

  /**
   * ConnectionLoss: the write's fate is unknown to the client (the log could
   * not take it, or its unit's owner did not answer). The connection stays
   * open and reads keep working.
   */
  #writeReply(connection: ClientConnection, xid: number, outcome: WriteOutcome): Reply {
    switch (outcome.kind) {
      case "ok":
        return { xid, zxid: outcome.zxid, err: 0, body: writeResultBody(outcome.result) };
      case "failed":
        // A failed multi answers with header error 0 and the per-op results.
        if (outcome.multiResults !== undefined) return this.#reply(xid, 0, multiBody(outcome.multiResults));
        return this.#reply(xid, outcome.err);
      case "connectionLoss":
        this.#server.logger.warn({ connection: connection.id, reason: outcome.reason }, "write failed: ConnectionLoss");
        return this.#reply(xid, ErrorCode.connectionLoss);
    }
  }

  #read(connection: ClientConnection, request: ReadRequest): ReadOutcome {
    const tree = this.#server.tree;
    const ids = connection.authIds;
    const watches = this.#server.watches;
    switch (request.op) {
      case "getData": {
        const result = reads.getData(tree, lookupPath(request.path), ids);
        if ("err" in result) return { err: result.err, body: null };
        if (request.watch) watches.addDataWatch(request.path, connection.id);
        return { err: 0, body: encodeBody((w) => rec.writeGetDataResponse(w, result)) };
      }
      case "exists": {
        const result = reads.exists(tree, lookupPath(request.path), ids);
        // exists arms a watch even when the node is missing.
        if (request.watch && (!("err" in result) || result.err === ErrorCode.noNode)) {
          watches.addDataWatch(request.path, connection.id);
        }
        if ("err" in result) return { err: result.err, body: null };
        return { err: 0, body: encodeBody((w) => rec.writeExistsResponse(w, result)) };
      }
      case "getChildren":
      case "getChildren2":
        return this.#getChildren(connection, request.op, request.path, request.watch);
      case "getACL": {
        const result = reads.getACL(tree, lookupPath(request.path), ids);
        if ("err" in result) return { err: result.err, body: null };
        return { err: 0, body: encodeBody((w) => rec.writeGetACLResponse(w, result)) };
      }
      case "getAllChildrenNumber": {
        const result = reads.getAllChildrenNumber(tree, lookupPath(request.path), ids);
        if ("err" in result) return { err: result.err, body: null };
        // ZooKeeper counts keys under "" by prefix, which takes in "/" itself.
        const totalNumber = result.totalNumber + (request.path === "" ? 1 : 0);
        return { err: 0, body: encodeBody((w) => rec.writeGetAllChildrenNumberResponse(w, { totalNumber })) };
      }
      case "getEphemerals": {
        const ephemerals = reads.getEphemerals(tree, connection.sessionId, request.prefixPath);
        return { err: 0, body: encodeBody((w) => rec.writeGetEphemeralsResponse(w, { ephemerals })) };
      }
    }
  }

  #getChildren(connection: ClientConnection, op: "getChildren" | "getChildren2", path: string, watch: boolean): ReadOutcome {
    const result = reads.getChildren(this.#server.tree, path, connection.authIds);
    if ("err" in result) return { err: result.err, body: null };
    if (watch) this.#server.watches.addChildWatch(path, connection.id);
    const body =
      op === "getChildren"
        ? encodeBody((w) => rec.writeGetChildrenResponse(w, { children: result.children }))
        : encodeBody((w) => rec.writeGetChildren2Response(w, result));
    return { err: 0, body };
  }

  /** multiRead never aborts: each op answers with its result or its error. */
  #multiRead(connection: ClientConnection, ops: readonly ReadRequest[]): Buffer {
    return encodeBody((w) => {
      for (const op of ops) {
        const outcome = this.#read(connection, op);
        if (outcome.err !== 0 || outcome.body === null) {
          rec.writeMultiHeader(w, { type: -1, done: false, err: outcome.err });
          rec.writeErrorResponse(w, { err: outcome.err });
        } else {
          rec.writeMultiHeader(w, { type: op.op === "getData" ? 4 : 8, done: false, err: 0 });
          w.writeRaw(outcome.body);
        }
      }
      rec.writeMultiHeader(w, { type: -1, done: true, err: -1 });
    });
  }

  #auth(connection: ClientConnection, xid: number, scheme: string, auth: Buffer | null): Reply {
    const outcome = authenticate(scheme, auth, connection.remoteAddress, this.#server.config.superDigest);
    if (!outcome.ok) {
      this.#server.logger.info({ connection: connection.id, scheme }, "authentication failed");
      return { xid, zxid: 0n, err: ErrorCode.authFailed, body: null, close: true };
    }
    for (const id of outcome.ids) {
      if (!connection.authIds.some((known) => known.scheme === id.scheme && known.id === id.id)) {
        connection.authIds.push(id);
      }
    }
    return { xid, zxid: 0n, err: 0, body: null };
  }

  #setWatches(connection: ClientConnection, xid: number, request: Extract<ClientRequest, { kind: "setWatches" }>): Reply {
    const tree = this.#server.tree;
    const result = this.#server.watches.setWatches(request.relativeZxid, request.lists, connection.id, (path) =>
      tree.statOf(path),
    );
    for (const notification of result.notifications) {
      connection.notify(notificationFrame(notification.type, notification.path));
    }
    return this.#reply(xid, 0);
  }

  #addWatch(connection: ClientConnection, xid: number, path: string, mode: number): Reply {
    if (mode !== AddWatchMode.persistent && mode !== AddWatchMode.persistentRecursive) {
      return this.#reply(xid, ErrorCode.marshallingError);
    }
    const added = this.#server.watches.addPersistent(path, connection.id, mode === AddWatchMode.persistentRecursive);
    if (added === "limitExceeded") return this.#reply(xid, ErrorCode.throttled);
    return this.#reply(xid, 0, encodeBody((w) => rec.writeErrorResponse(w, { err: 0 })));
  }

  #checkOrRemoveWatches(
    connection: ClientConnection,
    xid: number,
    request: Extract<ClientRequest, { kind: "checkWatches" | "removeWatches" }>,
  ): Reply {
    const type = request.watcherType;
    // ZooKeeper fails to read an unknown type or a relative path: MarshallingError.
    if (type < WatcherType.children || type > WatcherType.persistentRecursive || (request.path !== "" && !request.path.startsWith("/"))) {
      return this.#reply(xid, ErrorCode.marshallingError);
    }
    if (request.path === "") return this.#reply(xid, ErrorCode.noWatcher);
    const watches = this.#server.watches;
    const found =
      request.kind === "checkWatches"
        ? watches.hasWatch(request.path, connection.id, type as WatcherTypeNumber)
        : watches.removeWatches(request.path, connection.id, type as WatcherTypeNumber);
    return this.#reply(xid, found ? 0 : ErrorCode.noWatcher);
  }

  #whoAmI(connection: ClientConnection): Buffer {
    const clientInfo = connection.authIds.map((id) => ({
      authScheme: id.scheme,
      user: id.scheme === "digest" ? id.id.split(":")[0] ?? "" : id.id,
    }));
    return encodeBody((w) => rec.writeWhoAmIResponse(w, { clientInfo }));
  }
}

/** The path a read looks at (getEphemerals: its prefix, a path of the tree). */
function readPath(request: ReadRequest): string {
  return request.op === "getEphemerals" ? request.prefixPath || "/" : request.path;
}
