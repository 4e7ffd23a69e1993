// Smaller operations: getEphemerals, getAllChildrenNumber, sync, whoAmI;
// container and TTL removal by the server's sweep.

import type { Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

export const miscScenarios: Scenario[] = [
  {
    name: "get-ephemerals",
    description: "getEphemerals (op 103): the session's own ephemerals under a prefix, by string prefix, not others'.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("dir", context.path("d"));
      await a.create("e1", context.path("d/e1"), null, 1);
      await a.create("e2", context.path("d/ex-"), null, 3);
      await a.create("eroot", context.path("e"), null, 1);
      await b.create("b-ephemeral", context.path("d/b"), null, 1);
      await a.getEphemerals("under-base", context.base);
      await a.getEphemerals("under-dir", context.path("d"));
      await a.getEphemerals("string-prefix", context.path("d/e"));
      await a.getEphemerals("no-match", context.path("zzz"));
      await b.getEphemerals("b-under-base", context.base);
      await a.getEphemerals("prefix-with-trailing-slash", `${context.path("d")}/`);
    },
  },
  {
    name: "get-all-children-number",
    description: "getAllChildrenNumber (op 104): all descendants, not the node itself; NoNode for a missing path.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("p", context.path("p"));
      await a.create("c1", context.path("p/c1"));
      await a.create("c2", context.path("p/c2"));
      await a.create("g", context.path("p/c1/g"));
      await a.getAllChildrenNumber("p", context.path("p"));
      await a.getAllChildrenNumber("leaf", context.path("p/c2"));
      await a.getAllChildrenNumber("missing", context.path("missing"));
      await a.getAllChildrenNumber("zookeeper", "/zookeeper");
      await a.getAllChildrenNumber("invalid-path", "nope");
    },
  },
  {
    name: "empty-path-reads",
    description: "Reads of the empty path \"\" (ZooKeeper's DataTree keeps the root under that key), next to the same reads of /.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.getData("getdata-root", "/");
      await a.getData("getdata-empty", "");
      await a.exists("exists-root", "/");
      await a.exists("exists-empty", "");
      await a.getACL("getacl-empty", "");
      await a.getAllChildrenNumber("all-children-empty", "");
    },
  },
  {
    name: "sync",
    description: "sync (op 9) echoes the path; on a missing or invalid path.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.sync("base", context.base);
      await a.sync("missing", context.path("missing"));
      await a.sync("root", "/");
      await a.sync("invalid", "no-slash");
      await a.sync("empty", "");
    },
  },
  {
    name: "container-sweep",
    description: "A container whose last child is deleted is removed by the sweep (NodeDeleted to a watcher); a never-used one stays.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.createContainer("container", context.path("c"));
      await a.createContainer("never-used", context.path("u"));
      await a.create("child", context.path("c/x"));
      await a.exists("watch", context.path("c"), true);
      await a.delete("delete-child", context.path("c/x"));
      await a.events("container-deleted", 1, 6_000);
      await a.exists("never-used-still-there", context.path("u"));
    },
  },
  {
    name: "ttl-expiry",
    description: "A TTL node without children is removed once its TTL has passed since mtime; one with a child stays.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.createTTL("ttl-short", context.path("t"), 200n, text("x"));
      await a.createTTL("ttl-with-child", context.path("k"), 200n);
      await a.create("child", context.path("k/c"));
      await a.exists("watch", context.path("t"), true);
      await a.events("ttl-deleted", 1, 6_000);
      await a.exists("with-child-still-there", context.path("k"));
    },
  },
];
