// ACL checks and ACL validation, following ZooKeeperServer.checkACL,
// PrepRequestProcessor.fixupACL, the ip and digest authentication
// providers, and FinalRequestProcessor's masking of digest ids in getACL.

import { ErrorCode, Perm } from "../protocol/codes.js";
import type { Acl, Id } from "./types.js";

export const worldAnyone: Id = Object.freeze({ scheme: "world", id: "anyone" });

/** Marker id in RequestContext.authIds for a connection that proved the
 *  super digest: it passes every ACL check (ZooKeeper adds Id("super", "")). */
export const superId: Id = Object.freeze({ scheme: "super", id: "" });

/** ZooDefs.Ids.OPEN_ACL_UNSAFE */
export const openAcl: readonly Acl[] = Object.freeze([Object.freeze({ perms: Perm.all, id: worldAnyone })]);

/** ZooDefs.Ids.READ_ACL_UNSAFE */
export const readOnlyAcl: readonly Acl[] = Object.freeze([Object.freeze({ perms: Perm.read, id: worldAnyone })]);

const int32Min = -2147483648;
const int32Max = 2147483647;
const ipv4PrefixBitsMax = 32;

/** What ZooKeeper's ServerAuthenticationProvider contributes to ACLs. */
interface AclScheme {
  /** isAuthenticated(): may `auth` ACL entries expand to ids of this scheme? */
  readonly authenticated: boolean;
  readonly isValid: (id: string) => boolean;
  readonly matches: (clientId: string, aclId: string) => boolean;
}

// The providers ZooKeeper registers by default. `super` deliberately has no
// provider: it bypasses checks but never appears in, or expands into, an ACL.
const aclSchemes: ReadonlyMap<string, AclScheme> = new Map<string, AclScheme>([
  ["digest", { authenticated: true, isValid: isValidDigestId, matches: (clientId, aclId) => clientId === aclId }],
  ["ip", { authenticated: false, isValid: isValidIpAclId, matches: ipMatches }],
]);

function isWorldAnyone(id: Id): boolean {
  return id.scheme === "world" && id.id === "anyone";
}

/**
 * True when the caller may perform `perm` (a Perm bit or a union of bits:
 * any one of them suffices, as for getACL's READ|ADMIN) on a node with `acl`.
 * An empty ACL is open; a super id bypasses everything.
 */
export function checkAcl(acl: readonly Acl[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  if (authIds.some((authId) => authId.scheme === superId.scheme)) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (isWorldAnyone(entry.id)) return true;
    const scheme = aclSchemes.get(entry.id.scheme);
    if (scheme === undefined) continue;
    for (const authId of authIds) {
      if (authId.scheme === entry.id.scheme && scheme.matches(authId.id, entry.id.id)) return true;
    }
  }
  return false;
}

export type AclFixup = { ok: true; acl: Acl[] } | { ok: false; err: number };

/**
 * Validates the ACL of a create or setACL and expands `auth` entries into
 * the caller's authenticated ids (digest; never ip or super). Duplicates
 * are removed first, as ZooKeeper does (ZOOKEEPER-1877); perms are not
 * checked, because ZooKeeper accepts any int there.
 */
export function fixupAcl(acl: readonly Acl[], authIds: readonly Id[]): AclFixup {
  const invalid: AclFixup = { ok: false, err: ErrorCode.invalidACL };
  const unique = removeDuplicates(acl);
  if (unique.length === 0) return invalid;
  const fixed: Acl[] = [];
  for (const entry of unique) {
    if (isWorldAnyone(entry.id)) {
      fixed.push(copyAcl(entry));
    } else if (entry.id.scheme === "auth") {
      const ids = authIds.filter((authId) => aclSchemes.get(authId.scheme)?.authenticated === true);
      if (ids.length === 0) return invalid;
      for (const authId of ids) fixed.push({ perms: entry.perms, id: { scheme: authId.scheme, id: authId.id } });
    } else {
      const scheme = aclSchemes.get(entry.id.scheme);
      if (scheme === undefined || !scheme.isValid(entry.id.id)) return invalid;
      fixed.push(copyAcl(entry));
    }
  }
  return { ok: true, acl: fixed };
}

function copyAcl(entry: Acl): Acl {
  return { perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } };
}

function sameAcl(left: Acl, right: Acl): boolean {
  return left.perms === right.perms && left.id.scheme === right.id.scheme && left.id.id === right.id.id;
}

function removeDuplicates(acl: readonly Acl[]): Acl[] {
  const unique: Acl[] = [];
  for (const entry of acl) {
    if (!unique.some((kept) => sameAcl(kept, entry))) unique.push(entry);
  }
  return unique;
}

/**
 * getACL without ADMIN: every digest id loses what follows its first ':'
 * (FinalRequestProcessor: id.replaceAll(":.*", ":x")), so the password hash
 * is not revealed; other schemes are returned unchanged.
 */
export function maskDigestIds(acl: readonly Acl[]): Acl[] {
  return acl.map((entry) =>
    entry.id.scheme === "digest"
      ? { perms: entry.perms, id: { scheme: "digest", id: entry.id.id.replace(/:.*/g, ":x") } }
      : copyAcl(entry),
  );
}

/**
 * DigestAuthenticationProvider.isValid: Java's id.split(":") must give two
 * parts. Java drops trailing empty strings, so "user:" is invalid while
 * ":hash" and "user:hash:" are valid.
 */
export function isValidDigestId(id: string): boolean {
  if (id.length === 0) return false;
  const parts = id.split(":");
  let count = parts.length;
  while (count > 0 && parts[count - 1] === "") count--;
  return count === 2;
}

/** IPAuthenticationProvider.isValid: an IPv4 address with optional /bits. */
export function isValidIpAclId(id: string): boolean {
  return parseIpAclId(id) !== undefined;
}

/**
 * IPAuthenticationProvider.matches: the client address and the ACL address
 * agree on the first `bits` bits (all 32 without a /bits suffix). Only IPv4
 * is understood, as in ZooKeeper: an IPv6 client never matches.
 */
export function ipMatches(clientAddress: string, aclId: string): boolean {
  const acl = parseIpAclId(aclId);
  const client = parseIpv4(clientAddress);
  if (acl === undefined || client === undefined) return false;
  const mask = acl.bits === 0 ? 0 : (0xffffffff << (ipv4PrefixBitsMax - acl.bits)) >>> 0;
  return ((acl.address & mask) >>> 0) === ((client & mask) >>> 0);
}

function parseIpAclId(id: string): { address: number; bits: number } | undefined {
  const slash = id.indexOf("/");
  const address = parseIpv4(slash < 0 ? id : id.slice(0, slash));
  if (address === undefined) return undefined;
  if (slash < 0) return { address, bits: ipv4PrefixBitsMax };
  const bits = parseJavaInt(id.slice(slash + 1));
  if (bits === undefined || bits < 0 || bits > ipv4PrefixBitsMax) return undefined;
  return { address, bits };
}

/** Four dot-separated Integer.parseInt values in 0..255, as one uint32. */
function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let address = 0;
  for (const part of parts) {
    const octet = parseJavaInt(part);
    if (octet === undefined || octet < 0 || octet > 255) return undefined;
    address = address * 256 + octet;
  }
  return address;
}

/** Integer.parseInt on ASCII input: optional sign, digits, int32 range. */
function parseJavaInt(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= int32Min && value <= int32Max ? value : undefined;
}
