// Create in every mode and through every create opcode, and the ways a
// create can fail.

import { OpCode } from "../../../src/protocol/codes.js";
import type { Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

export const createScenarios: Scenario[] = [
  {
    name: "create-modes",
    description: "op 1 (create) in modes 0-3: response is just the path; sequential names; ephemeral owner in the Stat.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("persistent", context.path("p"), text("p"), 0);
      await a.create("ephemeral", context.path("e"), text("e"), 1);
      await a.create("persistent-seq", context.path("ps-"), text("ps"), 2);
      await a.create("ephemeral-seq", context.path("es-"), text("es"), 3);
      for (const name of ["p", "e", "ps-0000000002", "es-0000000003"]) await a.exists(`exists-${name}`, context.path(name));
      await a.getChildren2("children", context.base);
    },
  },
  {
    name: "create2-modes",
    description: "op 15 (create2) in modes 0-4 answers path and Stat; container through create2 flags 4.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create2("persistent", context.path("p"), text("p"), 0);
      await a.create2("ephemeral", context.path("e"), text("e"), 1);
      await a.create2("persistent-seq", context.path("ps-"), null, 2);
      await a.create2("ephemeral-seq", context.path("es-"), Buffer.alloc(0), 3);
      await a.create2("container-flag", context.path("c"), null, 4);
      await a.exists("exists-container", context.path("c"));
      await a.getChildren2("children", context.base);
    },
  },
  {
    name: "create-container-ttl",
    description: "op 19 (createContainer) and op 21 (createTTL, flags 5 and 6): Create2Response, ephemeralOwner 0.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.createContainer("container", context.path("c"), text("c"));
      await a.createTTL("ttl", context.path("t"), 60_000n, text("t"), 5);
      await a.createTTL("ttl-seq", context.path("ts-"), 60_000n, text("ts"), 6);
      await a.getData("get-container", context.path("c"));
      await a.getData("get-ttl", context.path("t"));
      await a.getData("get-ttl-seq", context.path("ts-0000000002"));
      await a.create("child-of-container", context.path("c/child"));
      await a.create("child-of-ttl", context.path("t/child"));
      await a.createContainer("container-in-container", context.path("c/inner"));
      await a.getChildren2("children", context.base);
    },
  },
  {
    name: "create-ttl-invalid",
    description: "TTL bounds (0, negative, max, max+1), TTL opcode with non-TTL flags, TTL flags through create/create2.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.createTTL("ttl-zero", context.path("t0"), 0n);
      await a.createTTL("ttl-negative", context.path("tn"), -1n);
      await a.createTTL("ttl-max", context.path("tmax"), 0xffffffffffn);
      await a.createTTL("ttl-max-plus-one", context.path("tover"), 0x10000000000n);
      await a.createTTL("ttl-op-persistent-flags", context.path("tp"), 1000n, null, 0);
      await a.createTTL("ttl-op-ephemeral-flags", context.path("te"), 1000n, null, 1);
      await a.createTTL("ttl-op-container-flags", context.path("tc"), 1000n, null, 4);
      await a.create("create-with-ttl-flags", context.path("c5"), null, 5);
      await a.create2("create2-with-ttl-flags", context.path("c6"), null, 6);
      await a.createContainer("container-op-persistent-flags", context.path("cp"), null, 0);
      await a.createContainer("container-op-ephemeral-flags", context.path("ce"), null, 1);
      await a.getChildren("children", context.base);
    },
  },
  {
    name: "create-unknown-flags",
    description: "Create flags outside CreateMode (7, 8, 32, -1) through create and create2.",
    async run(context) {
      const a = await context.connect("connect", "A");
      for (const flags of [7, 8, 32, -1]) {
        const label = flags < 0 ? "minus1" : String(flags);
        await a.create(`create-flags-${label}`, context.path(`f${label}`), null, flags);
        await a.create2(`create2-flags-${label}`, context.path(`g${label}`), null, flags);
      }
      await a.getChildren("children", context.base);
    },
  },
  {
    name: "create-errors",
    description: "NodeExists, missing parent, child of an ephemeral, create of /, and the check order among them.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("parent", context.path("p"));
      await a.create("exists", context.path("p"));
      await a.create2("exists-create2", context.path("p"));
      await a.create("no-parent", context.path("missing/child"));
      await a.create("ephemeral", context.path("e"), null, 1);
      await a.create("child-of-ephemeral", context.path("e/child"));
      await a.create("seq-child-of-ephemeral", context.path("e/s-"), null, 2);
      await a.create("root", "/");
      await a.create("zookeeper", "/zookeeper");
      await a.create("under-zookeeper", "/zookeeper/differential-should-not-exist");
      await a.delete("cleanup-under-zookeeper", "/zookeeper/differential-should-not-exist");
      await a.create("existing-ephemeral-again", context.path("e"), null, 1);
    },
  },
  {
    name: "create-data-null-empty",
    description: "Null data and empty data: getData answers -1 or 0 length, dataLength 0 in both cases.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("null", context.path("n"), null);
      await a.create("empty", context.path("e"), Buffer.alloc(0));
      await a.create("binary", context.path("b"), Buffer.from([0, 1, 2, 255]));
      await a.getData("get-null", context.path("n"));
      await a.getData("get-empty", context.path("e"));
      await a.getData("get-binary", context.path("b"));
      await a.setData("set-null", context.path("e"), null);
      await a.getData("get-after-set-null", context.path("e"));
      await a.setData("set-empty", context.path("n"), Buffer.alloc(0));
      await a.getData("get-after-set-empty", context.path("n"));
    },
  },
  {
    name: "create-sequential-naming",
    description: "Sequence suffix from the parent's creation count: after deletes, mixed prefixes, plain children, trailing slash.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("seq-1", context.path("s-"), null, 2);
      await a.create("seq-2", context.path("s-"), null, 2);
      await a.create("seq-3", context.path("s-"), null, 2);
      await a.delete("delete-middle", context.path("s-0000000001"));
      await a.delete("delete-last", context.path("s-0000000002"));
      await a.create("plain-child", context.path("plain"));
      await a.delete("delete-plain", context.path("plain"));
      await a.create("seq-after-deletes", context.path("s-"), null, 2);
      await a.create("other-prefix", context.path("other-"), null, 3);
      await a.create("trailing-slash-seq", `${context.base}/`, null, 2);
      await a.create2("create2-seq", context.path("t-"), null, 2);
      await a.getChildren2("children", context.base);
      await a.create("parent", context.path("q"));
      await a.create("seq-under-fresh-parent", context.path("q/x"), null, 2);
    },
  },
  {
    name: "create-invalid-paths",
    description: "PathUtils.validatePath cases on create, and the same paths on reads.",
    async run(context) {
      const a = await context.connect("connect", "A");
      const invalid: Array<[string, string]> = [
        ["empty", ""],
        ["relative", "relative"],
        ["trailing-slash", `${context.base}/x/`],
        ["double-slash", `${context.base}//x`],
        ["dot", `${context.base}/./x`],
        ["dotdot", `${context.base}/../x`],
        ["dot-last", `${context.base}/.`],
        ["nul", `${context.base}/a\u0000b`],
        ["control", `${context.base}/a\u0001b`],
        ["del", `${context.base}/a\u007fb`],
        ["c1-control", `${context.base}/a\u0085b`],
        ["surrogate-area", `${context.base}/a\ue000b`],
        ["fff0", `${context.base}/a\ufff5b`],
      ];
      for (const [label, path] of invalid) {
        await a.create(`create-${label}`, path);
      }
      await a.create("dots-in-name-ok", context.path("a.b..c"));
      await a.create("unicode-ok", context.path("ünïcödé"));
      // The empty path on reads has a scenario of its own (empty-path-reads).
      for (const [label, path] of invalid.slice(1, 6)) {
        await a.getData(`get-${label}`, path);
        await a.exists(`exists-${label}`, path);
      }
      await a.setData("set-invalid", `${context.base}//x`, null);
      await a.delete("delete-invalid", `${context.base}//x`);
      await a.call("get-acl-invalid", OpCode.getACL, { path: "relative" }, (w) => w.writeString("relative"));
      await a.getChildren("children", context.base);
    },
  },
];
