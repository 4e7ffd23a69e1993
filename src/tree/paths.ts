// ZooKeeper path rules (common/PathUtils.validatePath) and the small string
// helpers the tree uses on paths. Paths are JavaScript strings, so indexing
// walks UTF-16 code units exactly like Java's char[] does; the character
// ranges below therefore match ZooKeeper's, surrogate halves included.

import { ErrorCode } from "../protocol/codes.js";

export const rootPath = "/";

/** Built-in nodes that can never be deleted (DataTree.isSpecialPath). */
export const specialPaths: ReadonlySet<string> = new Set(["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]);

/** Width of a sequential suffix: String.format("%010d"). */
const sequenceSuffixDigits = 10;

const slash = 0x2f;
const dot = 0x2e;

export function isSpecialPath(path: string): boolean {
  return specialPaths.has(path);
}

export function hasNul(path: string): boolean {
  return path.includes("\0");
}

/** 0 when ZooKeeper accepts the path, BadArguments otherwise. */
export function validatePath(path: string): number {
  if (path.length === 0 || path.charCodeAt(0) !== slash) return ErrorCode.badArguments;
  if (path.length === 1) return ErrorCode.ok;
  if (path.charCodeAt(path.length - 1) === slash) return ErrorCode.badArguments;
  let componentStart = 1;
  for (let index = 1; index <= path.length; index++) {
    const code = index === path.length ? slash : path.charCodeAt(index);
    if (code === slash) {
      if (!isValidComponent(path, componentStart, index)) return ErrorCode.badArguments;
      componentStart = index + 1;
    } else if (isForbiddenCharCode(code)) {
      return ErrorCode.badArguments;
    }
  }
  return ErrorCode.ok;
}

export function isValidPath(path: string): boolean {
  return validatePath(path) === ErrorCode.ok;
}

/** A component may be neither empty nor "." nor "..". */
function isValidComponent(path: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0) return false;
  if (length > 2) return true;
  for (let index = start; index < end; index++) {
    if (path.charCodeAt(index) !== dot) return true;
  }
  return false;
}

function isForbiddenCharCode(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xf8ff) ||
    (code >= 0xfff0 && code <= 0xffff)
  );
}

/**
 * The parent ZooKeeper derives from a request path: everything before the
 * last '/', where an empty prefix means the root (DataTree aliases "" to
 * "/"). Undefined when the path has no '/'. The path itself is not
 * validated: "x/y" yields "x", which then simply does not exist (NoNode),
 * exactly as in PrepRequestProcessor.
 */
export function parentOf(path: string): string | undefined {
  const lastSlash = path.lastIndexOf("/");
  if (lastSlash < 0) return undefined;
  return lastSlash === 0 ? rootPath : path.slice(0, lastSlash);
}

/** The last component of a path ("" for the root). */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === rootPath ? `/${name}` : `${parent}/${name}`;
}

/**
 * Java's String.format("%010d", n): zero-padded to ten characters with the
 * sign counted in the width, so -5 is "-000000005" and the overflowed
 * counter -2147483648 keeps all its digits.
 */
export function sequenceSuffix(cversion: number): string {
  const sign = cversion < 0 ? "-" : "";
  return sign + Math.abs(cversion).toString().padStart(sequenceSuffixDigits - sign.length, "0");
}
