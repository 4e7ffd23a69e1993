import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Perm } from "../../src/protocol/codes.js";
import { checkAcl, fixupAcl, ipMatches, isValidDigestId, isValidIpAclId, maskDigestIds, superId } from "../../src/tree/acl.js";
import type { Acl, Id } from "../../src/tree/types.js";

const digestAlice: Id = { scheme: "digest", id: "alice:Wx2VVBMWpJqr2LVlGBGMXJ7cE3w=" };
const digestBob: Id = { scheme: "digest", id: "bob:mwN1B2FxkZZsKlzY3ZfTwuy0+xs=" };
const ipClient: Id = { scheme: "ip", id: "10.1.2.3" };

function acl(perms: number, scheme: string, id: string): Acl {
  return { perms, id: { scheme, id } };
}

test("acl: world:anyone matches every caller", () => {
  assert.equal(checkAcl([acl(Perm.read, "world", "anyone")], Perm.read, []), true);
});

test("acl: an empty ACL is open", () => {
  assert.equal(checkAcl([], Perm.admin, []), true);
});

test("acl: a super id bypasses every check", () => {
  assert.equal(checkAcl([acl(Perm.read, "digest", digestBob.id)], Perm.admin, [superId]), true);
});

test("acl: a permission is granted only by entries that carry it", () => {
  const entries = [acl(Perm.read, "world", "anyone"), acl(Perm.write, "digest", digestAlice.id)];
  assert.equal(checkAcl(entries, Perm.write, [ipClient]), false);
  assert.equal(checkAcl(entries, Perm.write, [ipClient, digestAlice]), true);
  assert.equal(checkAcl(entries, Perm.delete, [digestAlice]), false);
});

test("acl: a union of perms is granted by any one of them (getACL asks READ|ADMIN)", () => {
  assert.equal(checkAcl([acl(Perm.admin, "world", "anyone")], Perm.read | Perm.admin, []), true);
});

test("acl: digest ids match exactly", () => {
  const entries = [acl(Perm.all, "digest", digestAlice.id)];
  assert.equal(checkAcl(entries, Perm.read, [digestAlice]), true);
  assert.equal(checkAcl(entries, Perm.read, [digestBob]), false);
  assert.equal(checkAcl(entries, Perm.read, [{ scheme: "digest", id: "alice:x" }]), false);
});

test("acl: an ip id without /bits matches that address exactly", () => {
  assert.equal(ipMatches("10.1.2.3", "10.1.2.3"), true);
  assert.equal(ipMatches("10.1.2.4", "10.1.2.3"), false);
  assert.equal(checkAcl([acl(Perm.read, "ip", "10.1.2.3")], Perm.read, [ipClient]), true);
});

test("acl: an ip id with /bits matches the CIDR prefix", () => {
  assert.equal(ipMatches("10.200.3.4", "10.0.0.0/8"), true);
  assert.equal(ipMatches("11.0.0.1", "10.0.0.0/8"), false);
  assert.equal(ipMatches("192.168.1.77", "192.168.1.64/26"), true);
  assert.equal(ipMatches("192.168.1.128", "192.168.1.64/26"), false);
  assert.equal(ipMatches("1.2.3.4", "0.0.0.0/0"), true);
  assert.equal(ipMatches("255.255.255.255", "255.255.255.255/32"), true);
  assert.equal(ipMatches("10.0.0.1", "10.0.0.0/33"), false);
});

test("acl: an IPv6 client never matches an ip ACL (ZooKeeper parses IPv4 only)", () => {
  assert.equal(ipMatches("::1", "0.0.0.0/0"), false);
  assert.equal(ipMatches("::1", "::1"), false);
});

test("acl: a scheme with no provider never matches", () => {
  assert.equal(checkAcl([acl(Perm.read, "sasl", "alice")], Perm.read, [{ scheme: "sasl", id: "alice" }]), false);
});

test("fixupACL: an empty ACL is InvalidACL", () => {
  assert.deepEqual(fixupAcl([], [digestAlice]), { ok: false, err: ErrorCode.invalidACL });
});

test("fixupACL: auth expands to every digest id of the caller, never to its ip or super ids", () => {
  const fixed = fixupAcl([acl(Perm.read | Perm.write, "auth", "")], [ipClient, superId, digestAlice, digestBob]);
  assert.deepEqual(fixed, { ok: true, acl: [{ perms: 3, id: digestAlice }, { perms: 3, id: digestBob }] });
});

test("fixupACL: auth with no authenticated id is InvalidACL", () => {
  assert.deepEqual(fixupAcl([acl(Perm.all, "auth", "")], [ipClient, superId]), { ok: false, err: ErrorCode.invalidACL });
});

test("fixupACL: a world id other than anyone is InvalidACL", () => {
  assert.equal(fixupAcl([acl(Perm.all, "world", "everyone")], []).ok, false);
  assert.equal(fixupAcl([acl(Perm.all, "world", "anyone")], []).ok, true);
});

test("fixupACL: a digest id must split on ':' into exactly two parts, Java style", () => {
  for (const id of ["alice:hash", ":hash", "alice:hash:", "alice:hash::"]) assert.equal(isValidDigestId(id), true, id);
  for (const id of ["", "alice", "alice:", ":", "a:b:c"]) assert.equal(isValidDigestId(id), false, id);
  assert.equal(fixupAcl([acl(Perm.all, "digest", "alice")], []).ok, false);
});

test("fixupACL: an ip id must be an IPv4 address with an optional /0..32", () => {
  for (const id of ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "+1.2.3.4"]) assert.equal(isValidIpAclId(id), true, id);
  for (const id of ["", "10.0.0", "10.0.0.256", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/x", "::1", "a.b.c.d", "1.2.3.4.5"]) {
    assert.equal(isValidIpAclId(id), false, id);
  }
  assert.equal(fixupAcl([acl(Perm.all, "ip", "::1")], []).ok, false);
});

test("fixupACL: an unknown scheme is InvalidACL, and so is super", () => {
  assert.equal(fixupAcl([acl(Perm.all, "sasl", "alice")], []).ok, false);
  assert.equal(fixupAcl([acl(Perm.all, "super", "")], []).ok, false);
});

test("fixupACL: one invalid entry makes the whole ACL invalid", () => {
  assert.equal(fixupAcl([acl(Perm.all, "world", "anyone"), acl(Perm.all, "digest", "nocolon")], []).ok, false);
});

test("fixupACL: duplicate entries are removed before auth is expanded", () => {
  const fixed = fixupAcl([acl(Perm.all, "world", "anyone"), acl(Perm.all, "world", "anyone"), acl(Perm.read, "world", "anyone")], []);
  assert.deepEqual(fixed, { ok: true, acl: [acl(Perm.all, "world", "anyone"), acl(Perm.read, "world", "anyone")] });
});

test("fixupACL: perms are not validated, as in ZooKeeper", () => {
  assert.equal(fixupAcl([acl(0, "world", "anyone")], []).ok, true);
  assert.equal(fixupAcl([acl(64, "world", "anyone")], []).ok, true);
});

test("getACL masking: digest ids lose everything after the first ':', other ids are unchanged", () => {
  const masked = maskDigestIds([acl(Perm.read, "digest", digestAlice.id), acl(Perm.read, "ip", "10.0.0.0/8"), acl(1, "digest", "a:b:c")]);
  assert.deepEqual(masked, [acl(Perm.read, "digest", "alice:x"), acl(Perm.read, "ip", "10.0.0.0/8"), acl(1, "digest", "a:x")]);
});
