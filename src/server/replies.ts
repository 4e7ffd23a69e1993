// Encoding of reply bodies and watch notifications.

import { JuteWriter } from "../protocol/archive.js";
import * as rec from "../protocol/records.generated.js";
import { KeeperState, OpCode, Xid } from "../protocol/codes.js";
import { encodeFrame } from "../protocol/frame.js";
import type { MultiOpResult, OpResult } from "../tree/types.js";

export function encodeBody(write: (writer: JuteWriter) => void): Buffer {
  const writer = new JuteWriter();
  write(writer);
  return writer.toBuffer();
}

/** The body of a successful single write's reply. */
export function writeResultBody(result: OpResult): Buffer | null {
  switch (result.op) {
    case "create":
      return result.kind === "create"
        ? encodeBody((w) => rec.writeCreateResponse(w, { path: result.path }))
        : encodeBody((w) => rec.writeCreate2Response(w, { path: result.path, stat: result.stat }));
    case "setData":
      return encodeBody((w) => rec.writeSetDataResponse(w, { stat: result.stat }));
    case "setACL":
      return encodeBody((w) => rec.writeSetACLResponse(w, { stat: result.stat }));
    case "multi":
      return multiBody(result.results);
    default:
      return null;
  }
}

/** MultiResponse: a header and body per op, then the terminator {-1, true, -1}. */
export function multiBody(results: readonly MultiOpResult[]): Buffer {
  return encodeBody((w) => {
    for (const result of results) writeMultiEntry(w, result);
    rec.writeMultiHeader(w, { type: -1, done: true, err: -1 });
  });
}

function writeMultiEntry(w: JuteWriter, result: MultiOpResult): void {
  switch (result.op) {
    case "error":
      rec.writeMultiHeader(w, { type: OpCode.error, done: false, err: result.err });
      rec.writeErrorResponse(w, { err: result.err });
      return;
    case "create":
      if (result.kind === "create") {
        rec.writeMultiHeader(w, { type: OpCode.create, done: false, err: 0 });
        rec.writeCreateResponse(w, { path: result.path });
      } else {
        rec.writeMultiHeader(w, { type: OpCode.create2, done: false, err: 0 });
        rec.writeCreate2Response(w, { path: result.path, stat: result.stat });
      }
      return;
    case "delete":
      rec.writeMultiHeader(w, { type: OpCode.delete, done: false, err: 0 });
      return;
    case "setData":
      rec.writeMultiHeader(w, { type: OpCode.setData, done: false, err: 0 });
      rec.writeSetDataResponse(w, { stat: result.stat });
      return;
    case "check":
      rec.writeMultiHeader(w, { type: OpCode.check, done: false, err: 0 });
      return;
    default:
      throw new Error(`unexpected multi result ${result.op}`);
  }
}

/** A watch notification frame: xid -1, zxid -1 (as ZooKeeper up to 3.8), WatcherEvent. */
export function notificationFrame(type: number, path: string): Buffer {
  return encodeFrame(
    encodeBody((w) => {
      rec.writeReplyHeader(w, { xid: Xid.notification, zxid: -1n, err: 0 });
      rec.writeWatcherEvent(w, { type, state: KeeperState.syncConnected, path });
    }),
  );
}
