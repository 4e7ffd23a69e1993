// Read operations against applied state, in FinalRequestProcessor's order:
// NoNode first, then the permission check. Results have the shapes of the
// jute responses (GetDataResponse, ExistsResponse, ...), so the server can
// encode them as they are; a failure is { err } instead.
//
// Watches are the server's business. Note that exists on a missing node
// answers NoNode while ZooKeeper still registers the watch; a NoAuth answer
// registers nothing.

import { ErrorCode, Perm } from "../protocol/codes.js";
import { checkAcl, maskDigestIds } from "./acl.js";
import type { DataTree } from "./data-tree.js";
import { clientStat, type NodeRecord } from "./node.js";
import { hasNul, rootPath } from "./paths.js";
import type { Acl, Id, Stat } from "./types.js";

export interface ReadError {
  err: number;
}

/** A response record, or { err } (test with `"err" in result`). */
export type ReadResult<T> = T | ReadError;

/** The node if it exists and the caller has any bit of `perm`, else the error. */
function readable(tree: DataTree, path: string, perm: number, authIds: readonly Id[]): NodeRecord | ReadError {
  const node = tree.node(path);
  if (node === undefined) return { err: ErrorCode.noNode };
  if (!checkAcl(node.acl, perm, authIds)) return { err: ErrorCode.noAuth };
  return node;
}

function isError(value: NodeRecord | ReadError): value is ReadError {
  return "err" in value;
}

export function getData(tree: DataTree, path: string, authIds: readonly Id[]): ReadResult<{ data: Buffer | null; stat: Stat }> {
  const node = readable(tree, path, Perm.read, authIds);
  if (isError(node)) return node;
  return { data: node.data, stat: clientStat(node) };
}

/** NUL in the path is BadArguments (FinalRequestProcessor), then NoNode, then READ. */
/** exists checks no ACL: ZooKeeper's FinalRequestProcessor answers it for
 *  any caller (up to 3.9 at least), and recipes rely on it. */
export function exists(tree: DataTree, path: string, _authIds: readonly Id[]): ReadResult<{ stat: Stat }> {
  if (hasNul(path)) return { err: ErrorCode.badArguments };
  const node = tree.node(path);
  if (node === undefined) return { err: ErrorCode.noNode };
  return { stat: clientStat(node) };
}

/** Children (unordered, as in ZooKeeper) and the node's stat: serves both
 *  getChildren (send `children` only) and getChildren2. */
export function getChildren(tree: DataTree, path: string, authIds: readonly Id[]): ReadResult<{ children: string[]; stat: Stat }> {
  const node = readable(tree, path, Perm.read, authIds);
  if (isError(node)) return node;
  return { children: tree.childrenOf(path) ?? [], stat: clientStat(node) };
}

export const getChildren2 = getChildren;

/** READ or ADMIN may read an ACL; without ADMIN digest ids come back as user:x. */
export function getACL(tree: DataTree, path: string, authIds: readonly Id[]): ReadResult<{ acl: Acl[]; stat: Stat }> {
  const node = readable(tree, path, Perm.read | Perm.admin, authIds);
  if (isError(node)) return node;
  const acl = checkAcl(node.acl, Perm.admin, authIds)
    ? node.acl.map((entry) => ({ perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } }))
    : maskDigestIds(node.acl);
  return { acl, stat: clientStat(node) };
}

/** Number of all descendants (not only children); needs READ on the node. */
export function getAllChildrenNumber(tree: DataTree, path: string, authIds: readonly Id[]): ReadResult<{ totalNumber: number }> {
  const node = readable(tree, path, Perm.read, authIds);
  if (isError(node)) return node;
  return { totalNumber: tree.countDescendants(path) };
}

/**
 * The session's ephemerals whose path starts with `prefixPath` (a plain
 * string prefix, as in ZooKeeper: "/a" also matches "/ab"). A blank prefix
 * or "/" means all of them. No ACL check: they are the caller's own nodes.
 */
export function getEphemerals(tree: DataTree, sessionId: bigint, prefixPath: string): string[] {
  const all = tree.ephemeralsOf(sessionId);
  const prefix = trimJava(prefixPath);
  if (prefix.length === 0 || prefix === rootPath) return all;
  return all.filter((path) => path.startsWith(prefixPath));
}

/** Java's String.trim: strips code units up to U+0020 at both ends. */
function trimJava(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}
