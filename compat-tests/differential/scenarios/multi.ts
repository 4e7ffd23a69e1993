// multi (op 14) and multiRead (op 22): result shapes, partial failure,
// all-or-nothing, one zxid, watches fired by a multi.

import type { MultiOp } from "../../../test/support/raw-client.js";
import type { Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

export const multiScenarios: Scenario[] = [
  {
    name: "multi-success",
    description: "One multi with create, setData, check, delete, createContainer and createTTL: result types and one zxid.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("existing", context.path("old"), text("old"));
      const ops: MultiOp[] = [
        { type: 1, path: context.path("a"), data: text("a") },
        { type: 1, path: context.path("s-"), data: null, flags: 2 },
        { type: 5, path: context.path("old"), data: text("new"), version: 0 },
        { type: 13, path: context.path("old"), version: 1 },
        { type: 19, path: context.path("c"), data: null, flags: 4 },
        { type: 21, path: context.path("t"), data: null, flags: 5, ttl: 60_000n },
        { type: 2, path: context.path("a"), version: 0 },
      ];
      await a.multi("multi", ops);
      await a.getChildren2("children", context.base);
      await a.getData("old-after", context.path("old"));
    },
  },
  {
    name: "multi-create2-result",
    description: "create2 (op 15) inside multi: the result type and body (ZOOKEEPER-4026).",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.multi("multi-create2", [
        { type: 15, path: context.path("x"), data: text("x") },
        { type: 15, path: context.path("e"), data: null, flags: 1 },
        { type: 1, path: context.path("y"), data: text("y") },
      ]);
      await a.multi("multi-create2-fails", [
        { type: 15, path: context.path("x"), data: text("x") },
        { type: 15, path: context.path("z"), data: null },
      ]);
    },
  },
  {
    name: "multi-partial-failure",
    description: "Failure in the middle: results 0 / code / -2, header err 0, nothing applied.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("existing", context.path("n"), text("v0"));
      await a.multi("fail-middle", [
        { type: 1, path: context.path("new"), data: null },
        { type: 13, path: context.path("n"), version: 5 },
        { type: 5, path: context.path("n"), data: text("x"), version: -1 },
        { type: 2, path: context.path("n"), version: -1 },
      ]);
      await a.multi("fail-first", [
        { type: 2, path: context.path("missing"), version: -1 },
        { type: 1, path: context.path("new"), data: null },
      ]);
      await a.multi("fail-last", [
        { type: 1, path: context.path("new"), data: null },
        { type: 1, path: context.path("new"), data: null },
      ]);
      await a.multi("fail-not-empty", [
        { type: 1, path: context.path("n/child"), data: null },
        { type: 2, path: context.path("n"), version: -1 },
      ]);
      await a.multi("fail-bad-path", [
        { type: 1, path: context.path("ok"), data: null },
        { type: 1, path: "bad-path", data: null },
      ]);
      await a.multi("fail-ephemeral-parent", [
        { type: 1, path: context.path("eph"), data: null, flags: 1 },
        { type: 1, path: context.path("eph/child"), data: null },
      ]);
      await a.getChildren2("children", context.base);
      await a.getData("n-after", context.path("n"));
    },
  },
  {
    name: "multi-dependent-ops",
    description: "Later ops see earlier ones: create then child, setData twice with versions, create and delete in one multi.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.multi("chain", [
        { type: 1, path: context.path("p"), data: null },
        { type: 1, path: context.path("p/c"), data: text("c") },
        { type: 5, path: context.path("p/c"), data: text("c1"), version: 0 },
        { type: 5, path: context.path("p/c"), data: text("c2"), version: 1 },
        { type: 1, path: context.path("tmp"), data: null },
        { type: 2, path: context.path("tmp"), version: 0 },
        { type: 1, path: context.path("p/s-"), data: null, flags: 2 },
        { type: 1, path: context.path("p/s-"), data: null, flags: 2 },
      ]);
      await a.getChildren2("children", context.path("p"));
      await a.getData("c", context.path("p/c"));
    },
  },
  {
    name: "multi-empty",
    description: "A multi with no operations, and a multiRead with none.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.multi("empty-multi", []);
      await a.multiRead("empty-multi-read", []);
      await a.getData("after", context.base);
    },
  },
  {
    name: "multi-read",
    description: "multiRead mixing getData and getChildren results and errors; never aborts; watches are not set.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"), text("n"));
      await a.create("child", context.path("n/c"));
      await a.multiRead("mixed", [
        { type: 4, path: context.path("n") },
        { type: 4, path: context.path("missing") },
        { type: 8, path: context.path("n") },
        { type: 8, path: context.path("missing") },
        { type: 4, path: context.path("n/c") },
      ]);
      const b = await context.connect("connect-B", "B");
      await b.setData("change", context.path("n"), text("m"));
      await a.quiet("no-event-from-multiread", 300);
    },
  },
  {
    name: "multi-read-write-op",
    description: "multiRead carrying a write op, and multi carrying a read op.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.multiRead("multiread-with-create", [
        { type: 4, path: context.base },
        { type: 1, path: context.path("x"), data: null },
      ]);
      await a.closedWithin("closed-after-multiread", 500);
      const b = await context.connect("connect-B", "B");
      await b.multi("multi-with-getdata", [
        { type: 1, path: context.path("y"), data: null },
        { type: 4, path: context.base },
      ]);
      await b.closedWithin("closed-after-multi", 500);
      const c = await context.connect("connect-C", "C");
      await c.getChildren("children", context.base);
    },
  },
  {
    name: "multi-watches",
    description: "Watches fired by a committed multi arrive before its reply; a failed multi fires nothing.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"), text("n"));
      await a.getData("watch-data", context.path("n"), true);
      await a.getChildren("watch-children", context.base, true);
      await a.exists("watch-missing", context.path("new"), true);
      await a.multi("failing-multi", [
        { type: 5, path: context.path("n"), data: text("x") },
        { type: 1, path: context.path("new"), data: null },
        { type: 13, path: context.path("n"), version: 99 },
      ]);
      await a.multi("committed-multi", [
        { type: 5, path: context.path("n"), data: text("x") },
        { type: 1, path: context.path("new"), data: null },
      ]);
      await a.quiet("nothing-more", 200);
    },
  },
];
