// Authentication providers of the client port: digest (user:password hashed
// as ZooKeeper's DigestAuthenticationProvider does), ip (the connection's own
// address), and the configured super digest.

import { createHash } from "node:crypto";
import type { Id } from "../tree/types.js";

/** "user:password" → "user:" + base64(sha1("user:password")). */
export function digestOf(userAndPassword: string): string {
  const colon = userAndPassword.indexOf(":");
  const user = colon < 0 ? userAndPassword : userAndPassword.slice(0, colon);
  const hash = createHash("sha1").update(userAndPassword, "utf8").digest("base64");
  return `${user}:${hash}`;
}

export const superId: Id = { scheme: "super", id: "" };

export type AuthOutcome = { ok: true; ids: Id[] } | { ok: false };

/** The ids an AuthPacket adds to its connection, or failure (AuthFailed). */
export function authenticate(
  scheme: string,
  auth: Buffer | null,
  remoteAddress: string,
  superDigest: string | null,
): AuthOutcome {
  if (scheme === "digest") {
    // Like DigestAuthenticationProvider: "user" without ":password" is hashed as it is.
    const id = digestOf((auth ?? Buffer.alloc(0)).toString("utf8"));
    const ids: Id[] = [{ scheme: "digest", id }];
    if (superDigest !== null && id === superDigest) ids.push(superId);
    return { ok: true, ids };
  }
  if (scheme === "ip") return { ok: true, ids: [{ scheme: "ip", id: remoteAddress }] };
  return { ok: false };
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for dual-stack sockets. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return "0.0.0.0";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
