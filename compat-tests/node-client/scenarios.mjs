#!/usr/bin/env node
// node-zookeeper-client scenario checks: the whole public API of the client
// (connect, create in every mode and with ACLs, remove, exists / getData /
// getChildren with watchers, setData, getACL / setACL, transactions with every
// op and a failing one, mkdirp, removeRecursive, listSubTreeBFS, addAuthInfo,
// session events, close) as named pass/fail checks against one server.
//
//   node compat-tests/node-client/scenarios.mjs 127.0.0.1:2181 [--only WORD] [--json FILE]
//
// Every check works under its own node below a fresh /compat-node-<random>
// root, deleted at the end (as the super user when the server has kazoo's
// super digest, super:test). Expectations are Apache ZooKeeper 3.8's answers.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  ACL,
  CreateMode,
  CuttableProxy,
  Event,
  Exception,
  Id,
  Permission,
  Session,
  State,
  codeOf,
  longOf,
  sleep,
  watchOnce,
  within,
} from "./client.mjs";

const checkTimeoutMs = 45_000;
// How long a check waits to be sure an event does NOT come.
const quietMs = 300;

const worldAll = () => [new ACL(Permission.ALL, new Id("world", "anyone"))];
const worldRead = () => [new ACL(Permission.READ, new Id("world", "anyone"))];

/** The digest ACL id of user:password, as ZooKeeper's DigestAuthenticationProvider computes it. */
export function digestId(user, password) {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}

async function rejectsWith(promise, code, what) {
  let result;
  try {
    result = await promise;
  } catch (error) {
    assert.equal(codeOf(error), code, `${what}: expected error ${code}, got ${error?.stack ?? error}`);
    return error;
  }
  assert.fail(`${what}: expected error ${code}, got success ${JSON.stringify(result)}`);
}

function eventSummary(event) {
  return `${event.getName()} ${event.getPath()}`;
}

const checks = [];
/** Registers a check: `run(t)` gets t.zk (shared session), t.dir (own node), t.open(), t.hostPort. */
function check(name, run) {
  checks.push({ name, run });
}

// --- connect ---------------------------------------------------------------

check("connect: SYNC_CONNECTED, 8-byte session id, 16-byte password, requested timeout", async (t) => {
  assert.equal(t.zk.client.getState(), State.SYNC_CONNECTED);
  assert.equal(t.zk.sessionId.length, 8);
  assert.notEqual(longOf(t.zk.sessionId), 0n);
  assert.equal(t.zk.client.getSessionPassword().length, 16);
  assert.equal(t.zk.client.getSessionTimeout(), 10_000);
  assert.deepEqual(t.zk.events, ["connected"]);
});

check("connect: session timeout clamped to the server's 2..20 ticks", async (t) => {
  const low = await t.open({ sessionTimeout: 1 });
  const high = await t.open({ sessionTimeout: 10_000_000 });
  const lowTimeout = low.client.getSessionTimeout();
  const highTimeout = high.client.getSessionTimeout();
  assert.ok(lowTimeout > 1, `low request negotiated ${lowTimeout}`);
  assert.ok(highTimeout < 10_000_000, `high request negotiated ${highTimeout}`);
  assert.equal(highTimeout, 10 * lowTimeout, `min ${lowTimeout} and max ${highTimeout} should be 2 and 20 ticks`);
});

check("connect: chroot connect string, paths and events relative to the chroot", async (t) => {
  await t.zk.create(`${t.dir}/jail`);
  const jailed = await t.open({}, `${t.hostPort}${t.dir}/jail`);
  assert.equal(await jailed.create("/x", Buffer.from("in")), "/x");
  assert.deepEqual((await t.zk.getData(`${t.dir}/jail/x`)).data, Buffer.from("in"));
  const watch = watchOnce();
  await jailed.getData("/x", watch.watcher);
  await t.zk.setData(`${t.dir}/jail/x`, Buffer.from("out"));
  assert.equal(eventSummary(await watch.next()), "NODE_DATA_CHANGED /x");
  assert.deepEqual((await jailed.getChildren("/")).children, ["x"]);
  assert.equal(await jailed.create("/s-", null, CreateMode.PERSISTENT_SEQUENTIAL), "/s-0000000001");
});

// --- create ----------------------------------------------------------------

check("create: PERSISTENT returns the path, data and stat round-trip", async (t) => {
  const path = `${t.dir}/p`;
  assert.equal(await t.zk.create(path, Buffer.from("hello"), worldAll(), CreateMode.PERSISTENT), path);
  const { data, stat } = await t.zk.getData(path);
  assert.deepEqual(data, Buffer.from("hello"));
  assert.equal(stat.version, 0);
  assert.equal(stat.cversion, 0);
  assert.equal(stat.aversion, 0);
  assert.equal(stat.dataLength, 5);
  assert.equal(stat.numChildren, 0);
  assert.equal(longOf(stat.ephemeralOwner), 0n);
  assert.equal(longOf(stat.czxid), longOf(stat.mzxid));
  assert.equal(longOf(stat.czxid), longOf(stat.pzxid));
  assert.equal(longOf(stat.ctime), longOf(stat.mtime));
  const now = BigInt(Date.now());
  assert.ok(longOf(stat.ctime) > now - 60_000n && longOf(stat.ctime) <= now + 60_000n, "ctime is wall-clock ms");
});

check("create: EPHEMERAL is owned by the session", async (t) => {
  const path = `${t.dir}/e`;
  assert.equal(await t.zk.create(path, Buffer.from("x"), CreateMode.EPHEMERAL), path);
  const stat = await t.zk.exists(path);
  assert.equal(longOf(stat.ephemeralOwner), longOf(t.zk.sessionId));
});

check("create: PERSISTENT_SEQUENTIAL appends a 10-digit counter from the parent's cversion", async (t) => {
  assert.equal(await t.zk.create(`${t.dir}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL), `${t.dir}/s-0000000000`);
  assert.equal(await t.zk.create(`${t.dir}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL), `${t.dir}/s-0000000001`);
  await t.zk.create(`${t.dir}/plain`);
  await t.zk.remove(`${t.dir}/plain`);
  // The suffix counts child creations only; the visible cversion counts
  // creations and deletions (ZooKeeper stores creations and shows
  // stored*2 - numChildren, DataNode.copyStat).
  assert.equal(await t.zk.create(`${t.dir}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL), `${t.dir}/s-0000000003`);
  assert.equal(await t.zk.create(`${t.dir}/s-`, null, CreateMode.EPHEMERAL_SEQUENTIAL), `${t.dir}/s-0000000004`);
  assert.equal((await t.zk.exists(t.dir)).cversion, 6);
});

check("create: EPHEMERAL_SEQUENTIAL is sequential and owned by the session", async (t) => {
  const first = await t.zk.create(`${t.dir}/es-`, null, CreateMode.EPHEMERAL_SEQUENTIAL);
  const second = await t.zk.create(`${t.dir}/es-`, null, CreateMode.EPHEMERAL_SEQUENTIAL);
  assert.equal(first, `${t.dir}/es-0000000000`);
  assert.equal(second, `${t.dir}/es-0000000001`);
  assert.equal(longOf((await t.zk.exists(second)).ephemeralOwner), longOf(t.zk.sessionId));
});

check("create: container flag (4) through the plain create op makes a persistent node", async (t) => {
  // The client sends opcode 1 (create) with flags 4; ZooKeeper builds a
  // CreateTxn with ephemeral=false for it, so the node is a plain one.
  const path = `${t.dir}/c`;
  assert.equal(await t.zk.create(path, null, 4), path);
  const stat = await t.zk.exists(path);
  assert.equal(longOf(stat.ephemeralOwner), 0n);
});

check("create: TTL flags (5, 6) through the plain create op are BAD_ARGUMENTS", async (t) => {
  await rejectsWith(t.zk.create(`${t.dir}/ttl`, null, 5), Exception.BAD_ARGUMENTS, "flags 5");
  await rejectsWith(t.zk.create(`${t.dir}/ttl`, null, 6), Exception.BAD_ARGUMENTS, "flags 6");
  assert.equal(await t.zk.exists(`${t.dir}/ttl`), null);
});

check("create: unknown flags (7, 42) are BAD_ARGUMENTS", async (t) => {
  await rejectsWith(t.zk.create(`${t.dir}/bad`, null, 7), Exception.BAD_ARGUMENTS, "flags 7");
  await rejectsWith(t.zk.create(`${t.dir}/bad`, null, 42), Exception.BAD_ARGUMENTS, "flags 42");
});

check("create: NODE_EXISTS, NO_NODE parent, NO_CHILDREN_FOR_EPHEMERALS, exception fields", async (t) => {
  await t.zk.create(`${t.dir}/a`);
  const exists = await rejectsWith(t.zk.create(`${t.dir}/a`), Exception.NODE_EXISTS, "create twice");
  assert.equal(exists.getName(), "NODE_EXISTS");
  assert.match(String(exists), /NODE_EXISTS\[-110\]/);
  await rejectsWith(t.zk.create(`${t.dir}/missing/child`), Exception.NO_NODE, "create under a missing parent");
  await t.zk.create(`${t.dir}/eph`, null, CreateMode.EPHEMERAL);
  await rejectsWith(t.zk.create(`${t.dir}/eph/child`), Exception.NO_CHILDREN_FOR_EPHEMERALS, "child of an ephemeral");
});

check("create: data without a buffer is stored as empty", async (t) => {
  await t.zk.create(`${t.dir}/nodata`);
  const { data, stat } = await t.zk.getData(`${t.dir}/nodata`);
  assert.equal(stat.dataLength, 0);
  assert.ok(data === null || data === undefined || data.length === 0, `data ${JSON.stringify(data)}`);
  await t.zk.create(`${t.dir}/empty`, Buffer.alloc(0));
  assert.equal((await t.zk.getData(`${t.dir}/empty`)).stat.dataLength, 0);
});

check("create: ACL digest, ip, world read-only; getACL returns them, digests hidden without ADMIN", async (t) => {
  const digest = digestId("alice", "secret");
  const acls = [
    new ACL(Permission.ALL, new Id("digest", digest)),
    new ACL(Permission.READ | Permission.WRITE, new Id("ip", "127.0.0.1")),
    new ACL(Permission.READ, new Id("world", "anyone")),
  ];
  await t.zk.create(`${t.dir}/acl`, Buffer.from("x"), acls);
  // Without ADMIN on the node, getACL hides digest hashes (alice:x), as
  // ZooKeeper's FinalRequestProcessor does since 3.4.x; with it, it shows them.
  const { acls: stored, stat } = await t.zk.getACL(`${t.dir}/acl`);
  assert.deepEqual(
    stored.map((acl) => [acl.permission, acl.id.scheme, acl.id.id]),
    [
      [Permission.ALL, "digest", "alice:x"],
      [Permission.READ | Permission.WRITE, "ip", "127.0.0.1"],
      [Permission.READ, "world", "anyone"],
    ],
  );
  assert.equal(stat.aversion, 0);
  const alice = await t.open();
  alice.client.addAuthInfo("digest", Buffer.from("alice:secret"));
  assert.equal((await alice.getACL(`${t.dir}/acl`)).acls[0].id.id, digest);
  // ip 127.0.0.1 grants WRITE to this loopback client; nothing grants DELETE on
  // the children or ADMIN without alice's digest.
  await t.zk.setData(`${t.dir}/acl`, Buffer.from("y"));
  await rejectsWith(t.zk.setACL(`${t.dir}/acl`, worldAll()), Exception.NO_AUTH, "setACL without ADMIN");
  await rejectsWith(t.zk.create(`${t.dir}/acl/child`), Exception.NO_AUTH, "create without CREATE");
});

check("create: 'auth' scheme ACL needs an authenticated identity (INVALID_ACL), then stores the digest", async (t) => {
  const authAcl = [new ACL(Permission.ALL, new Id("auth", ""))];
  await rejectsWith(t.zk.create(`${t.dir}/auth`, null, authAcl), Exception.INVALID_ACL, "auth ACL without auth");
  const authed = await t.open();
  authed.client.addAuthInfo("digest", Buffer.from("bob:pw"));
  await authed.create(`${t.dir}/auth`, null, authAcl);
  const { acls } = await authed.getACL(`${t.dir}/auth`);
  assert.deepEqual(
    acls.map((acl) => [acl.permission, acl.id.scheme, acl.id.id]),
    [[Permission.ALL, "digest", digestId("bob", "pw")]],
  );
  await rejectsWith(t.zk.getData(`${t.dir}/auth`), Exception.NO_AUTH, "read without bob's digest");
});

check("create: malformed ACLs are INVALID_ACL", async (t) => {
  await rejectsWith(
    t.zk.create(`${t.dir}/x`, null, [new ACL(Permission.ALL, new Id("nosuchscheme", "who"))]),
    Exception.INVALID_ACL,
    "unknown scheme",
  );
  await rejectsWith(
    t.zk.create(`${t.dir}/x`, null, [new ACL(Permission.ALL, new Id("digest", "no-colon"))]),
    Exception.INVALID_ACL,
    "digest id without ':'",
  );
  await rejectsWith(
    t.zk.create(`${t.dir}/x`, null, [new ACL(Permission.ALL, new Id("ip", "not-an-address"))]),
    Exception.INVALID_ACL,
    "bad ip",
  );
  await rejectsWith(
    t.zk.create(`${t.dir}/x`, null, [new ACL(Permission.ALL, new Id("world", "someone"))]),
    Exception.INVALID_ACL,
    "world id other than anyone",
  );
  assert.equal(await t.zk.exists(`${t.dir}/x`), null);
});

// --- remove ----------------------------------------------------------------

check("remove: by version, BAD_VERSION, NOT_EMPTY, NO_NODE", async (t) => {
  await t.zk.create(`${t.dir}/r`, Buffer.from("1"));
  await t.zk.setData(`${t.dir}/r`, Buffer.from("2"));
  await rejectsWith(t.zk.remove(`${t.dir}/r`, 0), Exception.BAD_VERSION, "remove stale version");
  await t.zk.remove(`${t.dir}/r`, 1);
  await rejectsWith(t.zk.remove(`${t.dir}/r`), Exception.NO_NODE, "remove twice");
  await t.zk.create(`${t.dir}/full`);
  await t.zk.create(`${t.dir}/full/child`);
  await rejectsWith(t.zk.remove(`${t.dir}/full`), Exception.NOT_EMPTY, "remove a parent");
  await rejectsWith(t.zk.remove(`${t.dir}/missing`, 3), Exception.NO_NODE, "missing with a version");
});

// --- exists / getData / getChildren with watchers --------------------------

check("exists: null for a missing node; its watcher fires NODE_CREATED", async (t) => {
  const watch = watchOnce();
  assert.equal(await t.zk.exists(`${t.dir}/later`, watch.watcher), null);
  const other = await t.open();
  await other.create(`${t.dir}/later`);
  assert.equal(eventSummary(await watch.next()), `NODE_CREATED ${t.dir}/later`);
  assert.equal((await watch.next()).getType(), Event.NODE_CREATED);
});

check("exists: stat of a node; its watcher fires NODE_DATA_CHANGED then is spent", async (t) => {
  await t.zk.create(`${t.dir}/n`, Buffer.from("abc"));
  const watch = watchOnce();
  const stat = await t.zk.exists(`${t.dir}/n`, watch.watcher);
  assert.equal(stat.dataLength, 3);
  await t.zk.setData(`${t.dir}/n`, Buffer.from("d"));
  assert.equal(eventSummary(await watch.next()), `NODE_DATA_CHANGED ${t.dir}/n`);
  await t.zk.setData(`${t.dir}/n`, Buffer.from("e"));
  await sleep(quietMs);
  assert.equal(watch.events.length, 1, "one-shot watch fired again");
});

check("exists: watcher on an existing node fires NODE_DELETED", async (t) => {
  await t.zk.create(`${t.dir}/n`);
  const watch = watchOnce();
  await t.zk.exists(`${t.dir}/n`, watch.watcher);
  await t.zk.remove(`${t.dir}/n`);
  assert.equal(eventSummary(await watch.next()), `NODE_DELETED ${t.dir}/n`);
});

check("getData: watcher fires NODE_DATA_CHANGED once, for a change by another session", async (t) => {
  await t.zk.create(`${t.dir}/d`, Buffer.from("v0"));
  const watch = watchOnce();
  const { data } = await t.zk.getData(`${t.dir}/d`, watch.watcher);
  assert.deepEqual(data, Buffer.from("v0"));
  const other = await t.open();
  await other.setData(`${t.dir}/d`, Buffer.from("v1"));
  assert.equal(eventSummary(await watch.next()), `NODE_DATA_CHANGED ${t.dir}/d`);
  await other.setData(`${t.dir}/d`, Buffer.from("v2"));
  await sleep(quietMs);
  assert.equal(watch.events.length, 1);
});

check("getData: watcher fires NODE_DELETED; NO_NODE for a missing node sets no watch", async (t) => {
  await t.zk.create(`${t.dir}/d`);
  const watch = watchOnce();
  await t.zk.getData(`${t.dir}/d`, watch.watcher);
  await t.zk.remove(`${t.dir}/d`);
  assert.equal(eventSummary(await watch.next()), `NODE_DELETED ${t.dir}/d`);
  const missing = watchOnce();
  await rejectsWith(t.zk.getData(`${t.dir}/d`, missing.watcher), Exception.NO_NODE, "getData missing");
  await t.zk.create(`${t.dir}/d`);
  await sleep(quietMs);
  assert.equal(missing.events.length, 0, "getData on a missing node left a watch");
});

check("getData: the notification arrives before the reply to the change that caused it", async (t) => {
  await t.zk.create(`${t.dir}/o`);
  const order = [];
  await t.zk.getData(`${t.dir}/o`, () => order.push("event"));
  await t.zk.setData(`${t.dir}/o`, Buffer.from("x"));
  order.push("reply");
  await sleep(quietMs);
  assert.deepEqual(order, ["event", "reply"]);
});

check("getChildren: children and stat; watcher fires NODE_CHILDREN_CHANGED on create and on delete", async (t) => {
  await t.zk.create(`${t.dir}/p`);
  for (const name of ["b", "a", "c"]) await t.zk.create(`${t.dir}/p/${name}`);
  const first = watchOnce();
  const { children, stat } = await t.zk.getChildren(`${t.dir}/p`, first.watcher);
  assert.deepEqual([...children].sort(), ["a", "b", "c"]);
  assert.equal(stat.numChildren, 3);
  assert.equal(stat.cversion, 3);
  await t.zk.create(`${t.dir}/p/d`);
  assert.equal(eventSummary(await first.next()), `NODE_CHILDREN_CHANGED ${t.dir}/p`);
  const second = watchOnce();
  await t.zk.getChildren(`${t.dir}/p`, second.watcher);
  await t.zk.remove(`${t.dir}/p/a`);
  assert.equal(eventSummary(await second.next()), `NODE_CHILDREN_CHANGED ${t.dir}/p`);
  // A data change of the parent or of a child does not fire a child watch.
  const third = watchOnce();
  await t.zk.getChildren(`${t.dir}/p`, third.watcher);
  await t.zk.setData(`${t.dir}/p`, Buffer.from("x"));
  await t.zk.setData(`${t.dir}/p/b`, Buffer.from("x"));
  await sleep(quietMs);
  assert.equal(third.events.length, 0);
  await rejectsWith(t.zk.getChildren(`${t.dir}/none`), Exception.NO_NODE, "getChildren missing");
});

check("getChildren: watcher on a deleted parent fires NODE_DELETED", async (t) => {
  await t.zk.create(`${t.dir}/p`);
  const watch = watchOnce();
  await t.zk.getChildren(`${t.dir}/p`, watch.watcher);
  await t.zk.remove(`${t.dir}/p`);
  assert.equal(eventSummary(await watch.next()), `NODE_DELETED ${t.dir}/p`);
});

// --- setData ---------------------------------------------------------------

check("setData: version, mzxid and mtime move; BAD_VERSION; NO_NODE; 512 KiB round-trip", async (t) => {
  await t.zk.create(`${t.dir}/s`, Buffer.from("a"));
  const before = await t.zk.exists(`${t.dir}/s`);
  const stat = await t.zk.setData(`${t.dir}/s`, Buffer.from("bb"), 0);
  assert.equal(stat.version, 1);
  assert.equal(stat.dataLength, 2);
  assert.ok(longOf(stat.mzxid) > longOf(before.mzxid));
  assert.equal(longOf(stat.czxid), longOf(before.czxid));
  assert.ok(longOf(stat.mtime) >= longOf(before.mtime));
  await rejectsWith(t.zk.setData(`${t.dir}/s`, Buffer.from("c"), 0), Exception.BAD_VERSION, "stale version");
  await rejectsWith(t.zk.setData(`${t.dir}/none`, Buffer.from("c")), Exception.NO_NODE, "missing node");
  const big = randomBytes(512 * 1024);
  assert.equal((await t.zk.setData(`${t.dir}/s`, big)).dataLength, big.length);
  assert.ok((await t.zk.getData(`${t.dir}/s`)).data.equals(big));
  assert.equal((await t.zk.setData(`${t.dir}/s`, Buffer.alloc(0))).dataLength, 0);
});

// --- getACL / setACL -------------------------------------------------------

check("getACL/setACL: default world:anyone ALL, aversion, BAD_VERSION, permission enforced", async (t) => {
  await t.zk.create(`${t.dir}/a`, Buffer.from("x"));
  const { acls, stat } = await t.zk.getACL(`${t.dir}/a`);
  assert.deepEqual(acls.map((acl) => [acl.permission, acl.id.scheme, acl.id.id]), [[Permission.ALL, "world", "anyone"]]);
  assert.equal(stat.aversion, 0);
  await rejectsWith(t.zk.setACL(`${t.dir}/a`, worldRead(), 3), Exception.BAD_VERSION, "setACL stale version");
  const after = await t.zk.setACL(`${t.dir}/a`, [new ACL(Permission.READ | Permission.ADMIN, new Id("world", "anyone"))], 0);
  assert.equal(after.aversion, 1);
  assert.equal(after.version, 0);
  await rejectsWith(t.zk.setData(`${t.dir}/a`, Buffer.from("y")), Exception.NO_AUTH, "setData on read-only");
  await rejectsWith(t.zk.create(`${t.dir}/a/child`), Exception.NO_AUTH, "create under read-only");
  assert.deepEqual((await t.zk.getData(`${t.dir}/a`)).data, Buffer.from("x"));
  // The parent's DELETE permission governs deleting the child.
  await t.zk.remove(`${t.dir}/a`);
  await rejectsWith(t.zk.getACL(`${t.dir}/a`), Exception.NO_NODE, "getACL missing");
  await rejectsWith(t.zk.setACL(`${t.dir}/a`, worldAll()), Exception.NO_NODE, "setACL missing");
});

check("setACL: an empty or malformed ACL list is INVALID_ACL", async (t) => {
  await t.zk.create(`${t.dir}/a`);
  await rejectsWith(
    t.zk.setACL(`${t.dir}/a`, [new ACL(Permission.ALL, new Id("digest", "nocolon"))]),
    Exception.INVALID_ACL,
    "malformed digest",
  );
  assert.equal((await t.zk.getACL(`${t.dir}/a`)).stat.aversion, 0);
});

// --- transaction -----------------------------------------------------------

check("transaction: create, check, setData, remove in one commit", async (t) => {
  await t.zk.create(`${t.dir}/old`, Buffer.from("o"));
  await t.zk.create(`${t.dir}/keep`, Buffer.from("k"));
  const transaction = t.zk.client
    .transaction()
    .create(`${t.dir}/new`, Buffer.from("n"), worldAll(), CreateMode.PERSISTENT)
    .create(`${t.dir}/seq-`, Buffer.from("s"), CreateMode.PERSISTENT_SEQUENTIAL)
    .check(`${t.dir}/keep`, 0)
    .setData(`${t.dir}/keep`, Buffer.from("k2"), 0)
    .remove(`${t.dir}/old`, 0);
  const { error, results } = await t.zk.commit(transaction);
  assert.equal(error, null, `commit failed: ${error}`);
  assert.equal(results.length, 5);
  assert.deepEqual(
    results.map((result) => result.type),
    [1, 1, 13, 5, 2],
  );
  assert.equal(results[0].path, `${t.dir}/new`);
  // The parent had 3 child creations (old, keep, new) before the sequential one.
  assert.equal(results[1].path, `${t.dir}/seq-0000000003`);
  assert.equal(results[3].stat.version, 1);
  assert.deepEqual((await t.zk.getData(`${t.dir}/keep`)).data, Buffer.from("k2"));
  assert.equal(await t.zk.exists(`${t.dir}/old`), null);
  assert.deepEqual((await t.zk.getData(`${t.dir}/new`)).data, Buffer.from("n"));
});

check("transaction: a failing check aborts all; per-op errors 0, -103, -2", async (t) => {
  await t.zk.create(`${t.dir}/k`);
  const transaction = t.zk.client
    .transaction()
    .create(`${t.dir}/a`)
    .check(`${t.dir}/k`, 99)
    .create(`${t.dir}/b`);
  const { error, results } = await t.zk.commit(transaction);
  assert.equal(codeOf(error), Exception.BAD_VERSION);
  assert.deepEqual(
    results.map((result) => [result.type, result.err]),
    [
      [-1, 0],
      [-1, Exception.BAD_VERSION],
      [-1, -2],
    ],
  );
  assert.equal(await t.zk.exists(`${t.dir}/a`), null);
  assert.equal(await t.zk.exists(`${t.dir}/b`), null);
});

check("transaction: failures of create, setData and remove inside a commit", async (t) => {
  await t.zk.create(`${t.dir}/x`);
  const cases = [
    [(tx) => tx.create(`${t.dir}/x`), Exception.NODE_EXISTS],
    [(tx) => tx.create(`${t.dir}/none/child`), Exception.NO_NODE],
    [(tx) => tx.setData(`${t.dir}/x`, Buffer.from("v"), 7), Exception.BAD_VERSION],
    [(tx) => tx.remove(`${t.dir}/none`), Exception.NO_NODE],
    [(tx) => tx.check(`${t.dir}/none`), Exception.NO_NODE],
  ];
  for (const [build, code] of cases) {
    const transaction = build(t.zk.client.transaction().setData(`${t.dir}/x`, Buffer.from("changed")));
    const { error, results } = await t.zk.commit(transaction);
    assert.equal(codeOf(error), code, `expected ${code}, got ${error}`);
    assert.deepEqual(
      results.map((result) => result.err),
      [0, code],
    );
  }
  assert.equal((await t.zk.exists(`${t.dir}/x`)).version, 0, "an aborted transaction changed data");
  const { error } = await t.zk.commit(t.zk.client.transaction().create(`${t.dir}/y`).create(`${t.dir}/y/z`).remove(`${t.dir}/y/z`));
  assert.equal(error, null, "later ops see earlier ops of the same transaction");
  assert.ok(await t.zk.exists(`${t.dir}/y`));
});

// --- mkdirp, removeRecursive, listSubTreeBFS -------------------------------

check("mkdirp: creates every missing level, idempotent, data on the last level", async (t) => {
  assert.equal(await t.zk.mkdirp(`${t.dir}/a/b/c`), `${t.dir}/a/b/c`);
  assert.equal(await t.zk.mkdirp(`${t.dir}/a/b/c`), `${t.dir}/a/b/c`);
  assert.equal(await t.zk.mkdirp(`${t.dir}/a/b/d`, Buffer.from("leaf")), `${t.dir}/a/b/d`);
  assert.deepEqual((await t.zk.getData(`${t.dir}/a/b/d`)).data, Buffer.from("leaf"));
  assert.deepEqual([...(await t.zk.getChildren(`${t.dir}/a/b`)).children].sort(), ["c", "d"]);
});

check("listSubTreeBFS: the node then its children (this client lists two levels)", async (t) => {
  // node-zookeeper-client 1.1.3's listSubTreeBFS reduces over a snapshot of
  // its work list, so it stops after the node's children, whatever the server.
  for (const path of ["t/a/x", "t/b", "t/c"]) await t.zk.mkdirp(`${t.dir}/${path}`);
  const listed = await t.zk.listSubTreeBFS(`${t.dir}/t`);
  assert.equal(listed[0], `${t.dir}/t`);
  assert.deepEqual([...listed.slice(1)].sort(), ["a", "b", "c"].map((name) => `${t.dir}/t/${name}`));
  await rejectsWith(t.zk.listSubTreeBFS(`${t.dir}/none`), Exception.NO_NODE, "list a missing node");
});

check("removeRecursive: removes a node and its children", async (t) => {
  for (const path of ["t/a", "t/b", "t/c"]) await t.zk.mkdirp(`${t.dir}/${path}`, Buffer.from("d"));
  await t.zk.removeRecursive(`${t.dir}/t`);
  assert.equal(await t.zk.exists(`${t.dir}/t`), null);
  assert.deepEqual((await t.zk.getChildren(t.dir)).children, []);
  await rejectsWith(t.zk.removeRecursive(`${t.dir}/t`), Exception.NO_NODE, "remove a removed tree");
});

// --- addAuthInfo -----------------------------------------------------------

check("addAuthInfo: digest grants access; a wrong password does not", async (t) => {
  const acl = [new ACL(Permission.ALL, new Id("digest", digestId("carol", "right")))];
  await t.zk.create(`${t.dir}/locked`, Buffer.from("secret"), acl);
  await rejectsWith(t.zk.getData(`${t.dir}/locked`), Exception.NO_AUTH, "no auth");
  const wrong = await t.open();
  wrong.client.addAuthInfo("digest", Buffer.from("carol:wrong"));
  await rejectsWith(wrong.getData(`${t.dir}/locked`), Exception.NO_AUTH, "wrong password");
  const right = await t.open();
  right.client.addAuthInfo("digest", Buffer.from("carol:right"));
  assert.deepEqual((await right.getData(`${t.dir}/locked`)).data, Buffer.from("secret"));
  await right.setData(`${t.dir}/locked`, Buffer.from("changed"));
  await right.setACL(`${t.dir}/locked`, worldAll());
  assert.deepEqual((await t.zk.getData(`${t.dir}/locked`)).data, Buffer.from("changed"));
});

check("addAuthInfo: auth given before connect is sent on connect", async (t) => {
  await t.zk.create(`${t.dir}/n`, null, [new ACL(Permission.ALL, new Id("digest", digestId("dave", "pw")))]);
  const client = (await import("node-zookeeper-client")).default.createClient(t.hostPort, { sessionTimeout: 10_000 });
  client.addAuthInfo("digest", Buffer.from("dave:pw"));
  const session = new Session(client, t.hostPort);
  t.extraSessions.push(session);
  const connected = session.next("connected");
  client.connect();
  await connected;
  assert.ok(await session.exists(`${t.dir}/n`));
  await session.getData(`${t.dir}/n`);
});

check("addAuthInfo: the super digest (super:test) overrides ACLs", async (t) => {
  await t.zk.create(`${t.dir}/n`, Buffer.from("s"), [new ACL(Permission.READ, new Id("digest", digestId("eve", "x")))]);
  const root = await t.open();
  root.client.addAuthInfo("digest", Buffer.from(t.superAuth));
  assert.deepEqual((await root.getData(`${t.dir}/n`)).data, Buffer.from("s"));
  await root.setData(`${t.dir}/n`, Buffer.from("t"));
});

check("addAuthInfo: an unknown scheme fails authentication (AUTH_FAILED state, requests refused)", async (t) => {
  const session = await t.open();
  const failed = session.next("authenticationFailed");
  session.client.addAuthInfo("nosuchscheme", Buffer.from("whatever"));
  await failed;
  assert.equal(session.client.getState(), State.AUTH_FAILED);
  await rejectsWith(session.exists("/"), Exception.AUTH_FAILED, "request after auth failure");
});

// --- session events and close ----------------------------------------------

check("close: emits disconnected; the session's ephemerals go, watchers of others see NODE_DELETED", async (t) => {
  const owner = await t.open();
  await owner.create(`${t.dir}/eph`, null, CreateMode.EPHEMERAL);
  const watch = watchOnce();
  assert.ok(await t.zk.exists(`${t.dir}/eph`, watch.watcher));
  const disconnected = owner.next("disconnected");
  owner.client.close();
  await disconnected;
  assert.equal(owner.client.getState(), State.DISCONNECTED);
  assert.equal(eventSummary(await watch.next()), `NODE_DELETED ${t.dir}/eph`);
  assert.equal(await t.zk.exists(`${t.dir}/eph`), null);
});

check("session: a second client with the same id and password resumes the session", async (t) => {
  // The first client sits behind a proxy that is cut, so it cannot take the
  // session back while the second one uses it.
  const proxy = new CuttableProxy(t.host, t.port);
  t.cleanups.push(() => proxy.stop());
  await proxy.listen();
  const first = await t.open({ spinDelay: 200 }, `127.0.0.1:${proxy.port}`);
  await first.create(`${t.dir}/mine`, null, CreateMode.EPHEMERAL);
  const disconnected = first.next("disconnected");
  await proxy.cut();
  await disconnected;
  const second = await t.open({ sessionId: first.sessionId, sessionPassword: first.client.getSessionPassword() });
  assert.equal(longOf(second.sessionId), longOf(first.sessionId));
  assert.equal(longOf((await second.exists(`${t.dir}/mine`)).ephemeralOwner), longOf(first.sessionId));
  await second.create(`${t.dir}/also-mine`, null, CreateMode.EPHEMERAL);
  await second.close();
  assert.equal(await t.zk.exists(`${t.dir}/mine`), null);
  assert.equal(await t.zk.exists(`${t.dir}/also-mine`), null);
  const expired = first.next("expired", 15_000);
  await proxy.restore();
  await expired;
});

check("session: reconnecting with a wrong password gives expired", async (t) => {
  const owner = await t.open();
  await owner.create(`${t.dir}/owned`, null, CreateMode.EPHEMERAL);
  const client = (await import("node-zookeeper-client")).default.createClient(t.hostPort, {
    sessionTimeout: 10_000,
    sessionId: owner.sessionId,
    sessionPassword: Buffer.alloc(16, 7),
  });
  const session = new Session(client, t.hostPort);
  t.extraSessions.push(session);
  const expired = session.next("expired");
  client.connect();
  await expired;
  assert.equal(client.getState(), State.EXPIRED);
  // ZooKeeper closes the owner's connection before it checks the password
  // (processConnectRequest), so the owner may have to reconnect; its session
  // and ephemeral node survive.
  await sleep(quietMs);
  for (let attempt = 0; ; attempt += 1) {
    try {
      await owner.exists("/");
      break;
    } catch (error) {
      if (codeOf(error) !== Exception.CONNECTION_LOSS || attempt >= 20) throw error;
      await sleep(200);
    }
  }
  assert.equal(longOf((await t.zk.exists(`${t.dir}/owned`)).ephemeralOwner), longOf(owner.sessionId));
});

check("session: a client cut off past its timeout is expired; its ephemerals go", async (t) => {
  const proxy = new CuttableProxy(t.host, t.port);
  t.cleanups.push(() => proxy.stop());
  await proxy.listen();
  const cutOff = await t.open({ sessionTimeout: 4_000, spinDelay: 200 }, `127.0.0.1:${proxy.port}`);
  await cutOff.create(`${t.dir}/eph`, null, CreateMode.EPHEMERAL);
  const watch = watchOnce();
  assert.ok(await t.zk.exists(`${t.dir}/eph`, watch.watcher));
  const negotiated = cutOff.client.getSessionTimeout();
  const disconnected = cutOff.next("disconnected");
  await proxy.cut();
  await disconnected;
  // The server expires the session within its timeout plus one tick.
  assert.equal(eventSummary(await watch.next(negotiated * 3 + 5_000)), `NODE_DELETED ${t.dir}/eph`);
  const expired = cutOff.next("expired", 15_000);
  await proxy.restore();
  await expired;
});

// --- runner ----------------------------------------------------------------

async function runCheck(entry, index, context) {
  const started = Date.now();
  const t = {
    ...context,
    dir: `${context.root}/${String(index).padStart(2, "0")}`,
    extraSessions: [],
    cleanups: [],
    async open(options = {}, connectString = context.hostPort) {
      const session = await Session.open(connectString, options);
      this.extraSessions.push(session);
      return session;
    },
  };
  let status = "passed";
  let detail;
  try {
    await context.zk.create(t.dir);
    await within(entry.run(t), checkTimeoutMs, "check");
  } catch (error) {
    status = "failed";
    detail = error?.stack ? String(error.stack).split("\n").slice(0, 6).join("\n") : String(error);
  } finally {
    for (const session of t.extraSessions) await session.close().catch(() => undefined);
    for (const cleanup of t.cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  }
  return { id: entry.name, status, ...(detail ? { detail } : {}), durationMs: Date.now() - started };
}

/**
 * Runs the checks (those whose name contains `only`, if given) against
 * host:port. Resolves with { suite, target, tests: [{id, status, detail?}], durationMs }.
 */
export async function runNodeClientSuite({ host, port, only, superAuth = "super:test", log = () => undefined }) {
  const started = Date.now();
  const hostPort = `${host}:${port}`;
  const selected = checks.filter((entry) => !only || entry.name.includes(only));
  const root = `/compat-node-${randomBytes(4).toString("hex")}`;
  let zk;
  try {
    zk = await Session.open(hostPort);
  } catch (error) {
    return {
      suite: "node-client",
      target: hostPort,
      error: `cannot connect: ${error.message}`,
      tests: selected.map((entry) => ({ id: entry.name, status: "failed", detail: `cannot connect: ${error.message}` })),
      durationMs: Date.now() - started,
    };
  }
  const tests = [];
  try {
    await zk.create(root);
    const context = { host, port, hostPort, root, zk, superAuth };
    for (const [index, entry] of selected.entries()) {
      const result = await runCheck(entry, index, context);
      log(`${result.status === "passed" ? "ok  " : "FAIL"} ${entry.name}${result.detail ? `\n      ${result.detail.replaceAll("\n", "\n      ")}` : ""}`);
      tests.push(result);
    }
  } finally {
    await removeRoot(hostPort, root, superAuth, zk);
  }
  return { suite: "node-client", target: hostPort, tests, durationMs: Date.now() - started };
}

/** Deletes a node and everything below it (the client's removeRecursive stops at two levels). */
async function deleteTree(session, path) {
  const { children } = await session.getChildren(path);
  for (const child of children) await deleteTree(session, `${path}/${child}`);
  await session.remove(path);
}

async function removeRoot(hostPort, root, superAuth, zk) {
  await zk.close().catch(() => undefined);
  try {
    const cleaner = await Session.open(hostPort);
    cleaner.client.addAuthInfo("digest", Buffer.from(superAuth));
    await deleteTree(cleaner, root).catch(() => undefined);
    await cleaner.close();
  } catch {
    // Best effort: a server without the super digest keeps nodes under restrictive ACLs.
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { only: { type: "string" }, json: { type: "string" }, "super-auth": { type: "string", default: "super:test" } },
  });
  const target = positionals[0];
  if (!target || !target.includes(":")) {
    console.error("usage: scenarios.mjs HOST:PORT [--only WORD] [--json FILE] [--super-auth user:password]");
    process.exit(2);
  }
  const separator = target.lastIndexOf(":");
  const result = await runNodeClientSuite({
    host: target.slice(0, separator),
    port: Number(target.slice(separator + 1)),
    only: values.only,
    superAuth: values["super-auth"],
    log: (line) => console.log(line),
  });
  const failed = result.tests.filter((test) => test.status === "failed").length;
  console.log(`NODE-CLIENT target=${target} passed=${result.tests.length - failed} failed=${failed} duration_s=${(result.durationMs / 1000).toFixed(1)}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
