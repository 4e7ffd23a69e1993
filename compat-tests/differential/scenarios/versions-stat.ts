// Versions and conditional operations; Stat fields of every kind of node,
// including the built-in ones.

import type { Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

export const versionScenarios: Scenario[] = [
  {
    name: "versions-setdata",
    description: "setData with the current version, a stale one, -1, a future one and -2.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("create", context.path("n"), text("v0"));
      await a.setData("set-v0", context.path("n"), text("v1"), 0);
      await a.setData("set-stale-v0", context.path("n"), text("x"), 0);
      await a.setData("set-any", context.path("n"), text("v2"), -1);
      await a.setData("set-future", context.path("n"), text("x"), 7);
      await a.setData("set-minus2", context.path("n"), text("x"), -2);
      await a.setData("set-v2", context.path("n"), text("v3"), 2);
      await a.getData("get", context.path("n"));
      await a.setData("set-missing", context.path("missing"), text("x"), 0);
      await a.setData("set-missing-any", context.path("missing"), text("x"), -1);
    },
  },
  {
    name: "versions-delete",
    description: "delete with bad, good and -1 versions; NotEmpty versus BadVersion order; missing node.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("create", context.path("n"));
      await a.setData("bump", context.path("n"), text("x"));
      await a.delete("delete-stale", context.path("n"), 0);
      await a.delete("delete-future", context.path("n"), 5);
      await a.delete("delete-good", context.path("n"), 1);
      await a.create("parent", context.path("p"));
      await a.create("child", context.path("p/c"));
      await a.delete("delete-not-empty-bad-version", context.path("p"), 3);
      await a.delete("delete-not-empty-any", context.path("p"), -1);
      await a.delete("delete-missing-bad-version", context.path("missing"), 3);
      await a.delete("delete-missing-child-of-missing", context.path("missing/x"), -1);
      await a.delete("delete-child", context.path("p/c"), -1);
      await a.delete("delete-parent", context.path("p"), 0);
    },
  },
  {
    name: "versions-check-in-multi",
    description: "check (op 13) inside multi with good, bad and -1 versions and on a missing node.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("create", context.path("n"));
      await a.setData("bump", context.path("n"), text("x"));
      await a.multi("check-good", [{ type: 13, path: context.path("n"), version: 1 }]);
      await a.multi("check-bad", [{ type: 13, path: context.path("n"), version: 0 }]);
      await a.multi("check-any", [{ type: 13, path: context.path("n"), version: -1 }]);
      await a.multi("check-missing", [{ type: 13, path: context.path("missing"), version: -1 }]);
      await a.multi("check-then-set", [
        { type: 13, path: context.path("n"), version: 1 },
        { type: 5, path: context.path("n"), data: text("y"), version: 1 },
      ]);
      await a.getData("get", context.path("n"));
    },
  },
  {
    name: "versions-setacl",
    description: "setACL checks aversion: good, stale, -1; aversion and no other field changes.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("create", context.path("n"));
      const acl = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
      await a.setACL("set-acl-v0", context.path("n"), acl, 0);
      await a.setACL("set-acl-stale", context.path("n"), acl, 0);
      await a.setACL("set-acl-any", context.path("n"), acl, -1);
      await a.setACL("set-acl-future", context.path("n"), acl, 9);
      await a.getACL("get-acl", context.path("n"));
      await a.setACL("set-acl-missing", context.path("missing"), acl, -1);
    },
  },
];

export const statScenarios: Scenario[] = [
  {
    name: "stat-builtins",
    description: "Stat, data, children and ACL of /zookeeper, /zookeeper/quota and /zookeeper/config; deleting and writing them.",
    async run(context) {
      const a = await context.connect("connect", "A");
      for (const path of ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"]) {
        const label = path.split("/").pop()!;
        await a.getData(`get-${label}`, path);
        await a.getChildren2(`children-${label}`, path);
        await a.getACL(`acl-${label}`, path);
      }
      await a.delete("delete-zookeeper", "/zookeeper");
      await a.delete("delete-quota", "/zookeeper/quota");
      await a.delete("delete-config", "/zookeeper/config");
      await a.delete("delete-root", "/");
      await a.setData("set-config", "/zookeeper/config", text("x"));
      // A wrong version: BadVersion shows the write would be allowed, without changing the node.
      await a.setData("set-quota-bad-version", "/zookeeper/quota", text("x"), 99);
      await a.setACL("setacl-quota-bad-version", "/zookeeper/quota", [{ perms: 31, id: { scheme: "world", id: "anyone" } }], 99);
      await a.exists("exists-root", "/");
      await a.getACL("acl-root", "/");
    },
  },
  {
    name: "stat-relations",
    description: "czxid/mzxid/pzxid/cversion/numChildren/dataLength/ephemeralOwner through creates, deletes, setData, setACL.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create2("parent", context.path("p"), text("abc"));
      await a.create2("child-1", context.path("p/c1"));
      await a.create2("child-2-ephemeral", context.path("p/c2"), text("e"), 1);
      await a.exists("parent-after-2", context.path("p"));
      await a.delete("delete-child-1", context.path("p/c1"));
      await a.exists("parent-after-delete", context.path("p"));
      await a.setData("set-parent", context.path("p"), text("abcdef"));
      await a.setACL("setacl-parent", context.path("p"), [{ perms: 31, id: { scheme: "world", id: "anyone" } }]);
      await a.getChildren2("children-parent", context.path("p"));
      await a.create2("grandchild-of-nothing", context.path("p/c1/g"));
      await a.create2("child-3", context.path("p/c3"));
      await a.create2("grandchild", context.path("p/c3/g"));
      await a.exists("parent-after-grandchild", context.path("p"));
      await a.delete("delete-grandchild", context.path("p/c3/g"));
      await a.exists("child-3-after", context.path("p/c3"));
      await a.getData("ephemeral", context.path("p/c2"));
      const b = await context.connect("connect-B", "B");
      await b.create2("ephemeral-of-B", context.path("p/b"), null, 1);
      await b.exists("parent-seen-by-B", context.path("p"));
    },
  },
  {
    name: "stat-multi-children-counts",
    description: "cversion counts creates and deletes; numChildren; pzxid only on child changes; sequence uses stored cversion.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("parent", context.path("p"));
      for (let index = 0; index < 3; index++) await a.create(`create-${index}`, context.path(`p/c${index}`));
      for (let index = 0; index < 2; index++) await a.delete(`delete-${index}`, context.path(`p/c${index}`));
      await a.exists("parent", context.path("p"));
      await a.create("seq", context.path("p/s-"), null, 2);
      await a.setData("set-child", context.path("p/c2"), text("x"));
      await a.exists("parent-after-child-set", context.path("p"));
      await a.getAllChildrenNumber("all-children", context.path("p"));
    },
  },
];
