// ACL schemes (world, digest, auth, ip with CIDR, super), invalid ACLs,
// NoAuth on each operation, getACL masking, whoAmI, auth failures.

import type { ACL } from "../../../src/protocol/records.generated.js";
import { digestId, type Scenario } from "../scenario.js";

const text = (value: string): Buffer => Buffer.from(value, "utf8");
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });
const anyone = (perms: number): ACL => acl(perms, "world", "anyone");

export const aclScenarios: Scenario[] = [
  {
    name: "acl-digest",
    description: "digest ACL: NoAuth until addAuth with the right password; a wrong password authenticates as another id.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner");
      const other = await context.connect("connect-other", "Other");
      await owner.create("create", context.path("n"), text("secret"), 0, [acl(31, "digest", digestId("alice", "pw"))]);
      await other.getData("get-unauthenticated", context.path("n"));
      await other.addAuth("auth-wrong-password", "digest", "alice:wrong");
      await other.getData("get-wrong-password", context.path("n"));
      await other.addAuth("auth-right-password", "digest", "alice:pw");
      await other.getData("get-authenticated", context.path("n"));
      await other.whoAmI("who");
      await other.getACL("get-acl", context.path("n"));
    },
  },
  {
    name: "acl-auth-scheme",
    description: "auth: ACL without authentication is InvalidACL; with digest auth it expands to the caller's ids.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.create("auth-acl-unauthenticated", context.path("x"), null, 0, [acl(31, "auth", "")]);
      await a.addAuth("auth-1", "digest", "bob:pw1");
      await a.create("auth-acl", context.path("y"), null, 0, [acl(31, "auth", "")]);
      await a.getACL("acl-expanded", context.path("y"));
      await a.create("auth-acl-with-id", context.path("z"), null, 0, [acl(7, "auth", "ignored")]);
      await a.getACL("acl-expanded-with-id", context.path("z"));
      await a.setACL("setacl-auth", context.path("y"), [acl(1, "auth", ""), anyone(1)]);
      await a.getACL("acl-after-setacl", context.path("y"));
      // With two digest ids the expansion order is the hash-set order of the
      // connection's ids: compared sorted.
      await a.addAuth("auth-2", "digest", "carol:pw2");
      await a.create("auth-acl-two-ids", context.path("w"), null, 0, [acl(31, "auth", "")]);
      await a.getACL("acl-two-ids-sorted", context.path("w"), true);
      await a.whoAmI("who");
    },
  },
  {
    name: "acl-ip",
    description: "ip ACLs: exact address, CIDR ranges that do and do not match, malformed addresses and prefixes.",
    async run(context) {
      const a = await context.connect("connect", "A");
      const cases: Array<[string, string]> = [
        ["exact", "127.0.0.1"],
        ["cidr-8", "127.0.0.0/8"],
        ["cidr-32", "127.0.0.1/32"],
        ["cidr-0", "0.0.0.0/0"],
        ["other-host", "10.1.2.3"],
        ["other-net", "10.0.0.0/8"],
        ["prefix-33", "127.0.0.1/33"],
        ["garbage", "not-an-ip"],
        ["empty", ""],
        ["ipv6-loopback", "0:0:0:0:0:0:0:1"],
        ["negative-prefix", "127.0.0.1/-1"],
      ];
      for (const [label, id] of cases) {
        await a.create(`create-${label}`, context.path(label), text("x"), 0, [acl(31, "ip", id)]);
        await a.getData(`get-${label}`, context.path(label));
      }
      await a.whoAmI("who");
      await a.addAuth("auth-ip-scheme", "ip", "127.0.0.1");
      await a.whoAmI("who-after-ip-auth");
    },
  },
  {
    name: "acl-super",
    description: "The super digest bypasses every ACL; whoAmI shows it.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner");
      await owner.create("create-locked", context.path("locked"), text("x"), 0, [acl(31, "digest", digestId("nobody", "none"))]);
      await owner.create("create-no-perms", context.path("zero"), text("x"), 0, [anyone(0)]);
      const admin = await context.connect("connect-super", "Super");
      await admin.getData("get-before-auth", context.path("locked"));
      await admin.addAuth("auth-super", "digest", context.superAuth);
      await admin.getData("get-locked", context.path("locked"));
      await admin.setData("set-locked", context.path("locked"), text("y"));
      await admin.create("create-under-locked", context.path("locked/c"));
      await admin.getData("get-zero-perms", context.path("zero"));
      await admin.setACL("setacl-zero", context.path("zero"), [anyone(31)]);
      await admin.delete("delete-under-locked", context.path("locked/c"));
      await admin.whoAmI("who");
      await admin.addAuth("auth-super-wrong", "digest", `${context.superCredentials.user}:wrong`);
      await admin.whoAmI("who-after-wrong");
    },
  },
  {
    name: "acl-invalid",
    description: "InvalidACL cases: empty list, unknown scheme, world id other than anyone, digest id without hash, bad perms.",
    async run(context) {
      const a = await context.connect("connect", "A");
      const cases: Array<[string, ACL[]]> = [
        ["empty-list", []],
        ["unknown-scheme", [acl(31, "nosuch", "x")]],
        ["world-someone", [acl(31, "world", "someone")]],
        ["digest-no-colon", [acl(31, "digest", "alice")]],
        ["digest-plain", [acl(31, "digest", "alice:password")]],
        ["perms-zero", [anyone(0)]],
        ["perms-over-31", [anyone(63)]],
        ["perms-negative", [anyone(-1)]],
        ["super-scheme", [acl(31, "super", "anyone")]],
        ["mixed-valid-invalid", [anyone(31), acl(31, "nosuch", "x")]],
      ];
      for (const [label, list] of cases) {
        await a.create(`create-${label}`, context.path(label), null, 0, list);
        await a.getACL(`acl-${label}`, context.path(label));
      }
      await a.create("node", context.path("n"));
      await a.setACL("setacl-empty", context.path("n"), []);
      await a.setACL("setacl-unknown-scheme", context.path("n"), [acl(31, "nosuch", "x")]);
      await a.multi("multi-invalid-acl", [{ type: 1, path: context.path("m"), data: null, acl: [acl(31, "nosuch", "x")] }]);
    },
  },
  {
    name: "acl-noauth-each-op",
    description: "Each operation against a node missing exactly the permission it needs: NoAuth, and the check order.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner");
      const user = await context.connect("connect-user", "User");
      const all = 31;
      for (const [label, perm] of [["no-read", 1], ["no-write", 2], ["no-create", 4], ["no-delete", 8], ["no-admin", 16]] as const) {
        await owner.create(`setup-${label}`, context.path(label), text("x"), 0, [anyone(all & ~perm)]);
      }
      await owner.create("setup-child-of-no-delete", context.path("no-delete/c"));
      await owner.create("setup-child-of-no-read", context.path("no-read/c"));
      await user.getData("getdata-no-read", context.path("no-read"));
      await user.exists("exists-no-read", context.path("no-read"));
      await user.exists("exists-watch-no-read", context.path("no-read"), true);
      await user.getChildren("getchildren-no-read", context.path("no-read"));
      await user.getChildren2("getchildren2-no-read", context.path("no-read"));
      await user.getACL("getacl-no-read", context.path("no-read"));
      await user.getAllChildrenNumber("allchildren-no-read", context.path("no-read"));
      await user.addWatch("addwatch-no-read", context.path("no-read"), 0);
      await user.sync("sync-no-read", context.path("no-read"));
      await user.getEphemerals("ephemerals-no-read", context.path("no-read"));
      await user.multiRead("multiread-no-read", [{ type: 4, path: context.path("no-read") }, { type: 8, path: context.path("no-read") }]);
      await user.multi("check-no-read", [{ type: 13, path: context.path("no-read"), version: -1 }]);
      await user.getData("getdata-child-of-no-read", context.path("no-read/c"));
      await user.setData("setdata-no-write", context.path("no-write"), text("y"));
      await user.setData("setdata-no-write-bad-version", context.path("no-write"), text("y"), 42);
      await user.multi("multi-setdata-no-write", [{ type: 5, path: context.path("no-write"), data: text("y") }]);
      await user.create("create-under-no-create", context.path("no-create/c"));
      await user.create("create-existing-under-no-create", context.path("no-create"));
      await user.delete("delete-under-no-delete", context.path("no-delete/c"));
      await user.delete("delete-missing-under-no-delete", context.path("no-delete/missing"));
      await user.delete("delete-node-without-delete-itself", context.path("no-delete"));
      await user.setACL("setacl-no-admin", context.path("no-admin"), [anyone(31)]);
      await user.setACL("setacl-no-admin-bad-version", context.path("no-admin"), [anyone(31)], 42);
      await user.getACL("getacl-no-admin", context.path("no-admin"));
      await user.getData("getdata-no-admin", context.path("no-admin"));
    },
  },
  {
    name: "acl-getacl-masking",
    description: "getACL without ADMIN masks digest ids; with ADMIN shows them; READ or ADMIN is enough to call it.",
    async run(context) {
      const owner = await context.connect("connect-owner", "Owner");
      const digest = digestId("dave", "pw");
      await owner.create("read-and-digest", context.path("a"), null, 0, [anyone(1), acl(31, "digest", digest)]);
      await owner.create("admin-only", context.path("b"), null, 0, [anyone(16), acl(1, "digest", digest)]);
      await owner.create("nothing", context.path("c"), null, 0, [acl(31, "digest", digest)]);
      const guest = await context.connect("connect-guest", "Guest");
      await guest.getACL("guest-read-only", context.path("a"));
      await guest.getACL("guest-admin-only", context.path("b"));
      await guest.getACL("guest-nothing", context.path("c"));
      await guest.addAuth("auth-dave", "digest", "dave:pw");
      await guest.getACL("dave-read-and-digest", context.path("a"));
      await guest.getACL("dave-nothing", context.path("c"));
    },
  },
  {
    name: "acl-auth-failures",
    description: "addAuth with an unknown scheme: AuthFailed on xid -4, then the connection closes; whoAmI before it.",
    async run(context) {
      const a = await context.connect("connect", "A");
      await a.whoAmI("who-anonymous");
      await a.addAuth("auth-digest-no-colon", "digest", "justuser");
      await a.whoAmI("who-after-no-colon");
      await a.addAuth("auth-unknown-scheme", "nosuch", "x");
      await a.closedWithin("closed-after-auth-failure");
      const b = await context.connect("connect-B", "B");
      await b.addAuth("auth-world", "world", "anyone");
      await b.closedWithin("closed-after-world-auth", 500);
      const c = await context.connect("connect-C", "C");
      await c.addAuth("auth-super-scheme", "super", "x");
      await c.closedWithin("closed-after-super-auth", 500);
    },
  },
];
