// Watches of every kind and the order of their events relative to replies.

import type { Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");

export const watchScenarios: Scenario[] = [
  {
    name: "watch-data",
    description: "getData watch: one NodeDataChanged for two writes (one-shot), none for setACL, re-armed by a new read.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("create", context.path("n"), text("0"));
      await a.getData("watch", context.path("n"), true);
      await b.setData("write-1", context.path("n"), text("1"));
      await a.events("event", 1);
      await b.setData("write-2", context.path("n"), text("2"));
      await a.quiet("no-second-event");
      await a.getData("rewatch", context.path("n"), true);
      await b.setACL("setacl", context.path("n"), [{ perms: 31, id: { scheme: "world", id: "anyone" } }]);
      await a.quiet("no-event-on-setacl");
      await b.setData("write-3", context.path("n"), text("3"));
      await a.events("event-after-rewatch", 1);
    },
  },
  {
    name: "watch-exists",
    description: "exists watch on a missing node (NoNode, watch set) fires NodeCreated; on an existing node fires NodeDataChanged/NodeDeleted.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.exists("watch-missing", context.path("n"), true);
      await b.create("create", context.path("n"), text("x"));
      await a.events("created", 1);
      await a.exists("watch-existing", context.path("n"), true);
      await b.delete("delete", context.path("n"));
      await a.events("deleted", 1);
      await a.getData("getdata-missing-no-watch", context.path("m"), true);
      await a.getChildren("getchildren-missing-no-watch", context.path("m"), true);
      await b.create("create-m", context.path("m"));
      await a.quiet("no-event-for-failed-reads");
    },
  },
  {
    name: "watch-children",
    description: "getChildren watch: NodeChildrenChanged on child create/delete, not on child data; parent delete gives NodeDeleted.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("parent", context.path("p"));
      await a.getChildren("watch", context.path("p"), true);
      await b.create("child", context.path("p/c"));
      await a.events("children-changed", 1);
      await a.getChildren2("watch-2", context.path("p"), true);
      await b.setData("child-data", context.path("p/c"), text("x"));
      await a.quiet("no-event-for-child-data");
      await b.delete("delete-child", context.path("p/c"));
      await a.events("children-changed-on-delete", 1);
      await a.getChildren("watch-3", context.path("p"), true);
      await b.delete("delete-parent", context.path("p"));
      await a.events("parent-deleted", 1);
    },
  },
  {
    name: "watch-delete-once",
    description: "A node watched by exists, getData and getChildren: delete fires one NodeDeleted, plus the parent's NodeChildrenChanged.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("node", context.path("n"), text("x"));
      await a.exists("exists-watch", context.path("n"), true);
      await a.getData("data-watch", context.path("n"), true);
      await a.getChildren("child-watch", context.path("n"), true);
      await a.getChildren("parent-watch", context.base, true);
      await b.delete("delete", context.path("n"));
      await a.events("events", 2);
      await a.quiet("nothing-more");
    },
  },
  {
    name: "watch-own-write-order",
    description: "The watcher's own write: the notification comes before the write's reply.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("node", context.path("n"), text("x"));
      await a.getData("watch", context.path("n"), true);
      await a.getChildren("watch-parent", context.base, true);
      await a.setData("own-write", context.path("n"), text("y"));
      await a.create("own-create", context.path("m"));
      await a.exists("watch-again", context.path("n"), true);
      await a.delete("own-delete", context.path("n"));
    },
  },
  {
    name: "watch-before-later-read",
    description: "Another client's write, then a read by the watcher: the notification arrives before the read's reply.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("node", context.path("n"), text("x"));
      await a.getData("watch", context.path("n"), true);
      await a.exists("watch-missing", context.path("m"), true);
      await b.setData("write", context.path("n"), text("y"));
      await b.create("create", context.path("m"));
      await a.getData("later-read", context.path("n"));
    },
  },
  {
    name: "watch-persistent",
    description: "addWatch mode 0 answers ErrorResponse{0}; persistent watch fires for node and child changes and stays.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.addWatch("add-on-missing", context.path("n"), 0);
      await b.create("create", context.path("n"), text("x"));
      await b.setData("set", context.path("n"), text("y"));
      await b.create("child", context.path("n/c"));
      await b.setData("child-set", context.path("n/c"), text("z"));
      await b.create("grandchild", context.path("n/c/g"));
      await b.delete("delete-grandchild", context.path("n/c/g"));
      await b.delete("delete-child", context.path("n/c"));
      await b.delete("delete", context.path("n"));
      await b.create("recreate", context.path("n"));
      await a.events("events", 6);
      await a.quiet("nothing-more");
    },
  },
  {
    name: "watch-persistent-recursive",
    description: "addWatch mode 1: created/changed/deleted for the node and all descendants, never NodeChildrenChanged.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await b.create("create", context.path("r"));
      await a.addWatch("add", context.path("r"), 1);
      await b.create("child", context.path("r/c"), text("1"));
      await b.create("grandchild", context.path("r/c/g"));
      await b.setData("set-grandchild", context.path("r/c/g"), text("x"));
      await b.delete("delete-grandchild", context.path("r/c/g"));
      await b.setData("set-self", context.path("r"), text("y"));
      await b.create("sibling-outside", context.path("rr"));
      await a.events("events", 5);
      await a.quiet("nothing-more");
    },
  },
  {
    name: "watch-persistent-with-standard",
    description: "A persistent watch and a one-shot data watch on the same node and connection: events per write.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await b.create("create", context.path("n"));
      await a.addWatch("add-persistent", context.path("n"), 0);
      await a.getData("one-shot", context.path("n"), true);
      await a.addWatch("add-recursive-on-parent", context.base, 1);
      await b.setData("write-1", context.path("n"), text("1"));
      await a.events("after-write-1", 1);
      await b.setData("write-2", context.path("n"), text("2"));
      await a.events("after-write-2", 1);
      await a.quiet("nothing-more");
    },
  },
  {
    name: "watch-remove-check",
    description: "checkWatches/removeWatches for each watcher type, with and without a watch: 0 or NoWatcher, and no events after removal.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await a.create("node", context.path("n"));
      for (const type of [1, 2, 3, 4, 5]) await a.checkWatches(`check-none-type-${type}`, context.path("n"), type);
      await a.removeWatches("remove-none-any", context.path("n"), 3);
      await a.removeWatches("remove-missing-node", context.path("missing"), 3);
      await a.getData("data-watch", context.path("n"), true);
      await a.getChildren("child-watch", context.path("n"), true);
      await a.checkWatches("check-data", context.path("n"), 2);
      await a.checkWatches("check-children", context.path("n"), 1);
      await a.checkWatches("check-any", context.path("n"), 3);
      await a.removeWatches("remove-data", context.path("n"), 2);
      await a.checkWatches("check-data-after", context.path("n"), 2);
      await a.checkWatches("check-children-after-data-removed", context.path("n"), 1);
      await a.removeWatches("remove-any", context.path("n"), 3);
      await a.checkWatches("check-any-after", context.path("n"), 3);
      await a.exists("exists-watch", context.path("n"), true);
      await a.checkWatches("check-data-from-exists", context.path("n"), 2);
      await a.addWatch("add-persistent", context.path("n"), 0);
      await a.checkWatches("check-persistent", context.path("n"), 4);
      await a.checkWatches("check-any-with-persistent", context.path("n"), 3);
      await a.removeWatches("remove-persistent", context.path("n"), 4);
      await a.checkWatches("check-persistent-after", context.path("n"), 4);
      await a.addWatch("add-recursive", context.path("n"), 1);
      await a.checkWatches("check-recursive", context.path("n"), 5);
      await a.removeWatches("remove-recursive", context.path("n"), 5);
      await a.removeWatches("remove-any-last", context.path("n"), 3);
      await b.setData("write", context.path("n"), Buffer.from("x"));
      await b.create("child", context.path("n/c"));
      await a.quiet("no-events-after-removal");
      await a.checkWatches("check-bad-type", context.path("n"), 9);
      await a.removeWatches("remove-bad-type", context.path("n"), 0);
    },
  },
  {
    name: "watch-exists-and-data-dedup",
    description: "exists and getData watches on one node from one connection give one event; two connections get one each.",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      const c = await context.connect("connect-C", "C");
      await a.create("node", context.path("n"));
      await a.exists("exists-watch", context.path("n"), true);
      await a.getData("data-watch", context.path("n"), true);
      await b.getData("data-watch-B", context.path("n"), true);
      await c.setData("write", context.path("n"), text("x"));
      await a.events("event-A", 1);
      await b.events("event-B", 1);
      await a.quiet("nothing-more-A");
    },
  },
  {
    name: "watch-acl-filter",
    description: "Watch events are not delivered to a connection without READ on the node (CVE-2024-23944 fix in Debian's 3.8.0).",
    async run(context) {
      const a = await context.connect("connect-A", "A");
      const b = await context.connect("connect-B", "B");
      await b.addAuth("auth-B", "digest", "owner:secret");
      await a.addWatch("recursive-watch", context.base, 1);
      await a.getChildren("child-watch", context.base, true);
      await b.create("secret-node", context.path("secret"), text("s"), 0, [{ perms: 31, id: { scheme: "auth", id: "" } }]);
      await b.create("secret-child", context.path("secret/child"), null, 0, [{ perms: 31, id: { scheme: "auth", id: "" } }]);
      await b.setData("secret-write", context.path("secret"), text("t"));
      await b.create("public-node", context.path("public"));
      await a.events("events", 2);
      await a.quiet("nothing-more");
    },
  },
];
