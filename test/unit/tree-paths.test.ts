import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/codes.js";
import { basename, childPath, isValidPath, parentOf, sequenceSuffix, validatePath } from "../../src/tree/paths.js";

function assertValid(paths: string[]): void {
  for (const path of paths) assert.equal(validatePath(path), ErrorCode.ok, JSON.stringify(path));
}

function assertInvalid(paths: string[]): void {
  for (const path of paths) assert.equal(validatePath(path), ErrorCode.badArguments, JSON.stringify(path));
}

test("path: a path must start with '/'", () => {
  assertInvalid(["", "a", "a/b", " /a"]);
});

test("path: the root '/' is valid", () => {
  assertValid(["/"]);
});

test("path: a trailing '/' is refused except for the root", () => {
  assertInvalid(["/a/", "/a/b/"]);
  assertValid(["/a", "/a/b"]);
});

test("path: empty components are refused", () => {
  assertInvalid(["//", "//a", "/a//b"]);
});

test("path: '.' and '..' components are refused, names merely containing dots are not", () => {
  assertInvalid(["/.", "/..", "/a/.", "/a/..", "/./a", "/../a", "/a/./b", "/a/../b"]);
  assertValid(["/...", "/.a", "/a.", "/..a", "/a..", "/a..b", "/a/.../b"]);
});

test("path: NUL and control characters U+0001-U+001F are refused", () => {
  assertInvalid(["/a\u0000b", "/\u0001", "/a\tb", "/a\nb", "/\u001f"]);
  assertValid(["/ ", "/a b", "/~"]);
});

test("path: characters U+007F-U+009F are refused", () => {
  assertInvalid(["/\u007f", "/\u0080", "/\u009f"]);
  assertValid(["/\u00a0", "/é"]);
});

test("path: characters U+D800-U+F8FF are refused, so is any character outside the BMP", () => {
  assertInvalid(["/\ud800", "/\ue000", "/\uf8ff", "/😀"]);
  assertValid(["/\uf900", "/\ud7ff", "/日本"]);
});

test("path: characters U+FFF0-U+FFFF are refused", () => {
  assertInvalid(["/\ufff0", "/\ufffd", "/\uffff"]);
  assertValid(["/\uffef"]);
  assert.equal(isValidPath("/\ufffe"), false);
});

test("sequence suffix: %010d of the counter, zero padded to ten digits", () => {
  assert.equal(sequenceSuffix(0), "0000000000");
  assert.equal(sequenceSuffix(42), "0000000042");
  assert.equal(sequenceSuffix(2147483647), "2147483647");
});

test("sequence suffix: a negative counter keeps its sign inside the width, -2147483648 keeps all digits", () => {
  assert.equal(sequenceSuffix(-1), "-000000001");
  assert.equal(sequenceSuffix(-2147483647), "-2147483647");
  assert.equal(sequenceSuffix(-2147483648), "-2147483648");
});

test("parent: everything before the last '/', the root for top-level paths, nothing without '/'", () => {
  assert.equal(parentOf("/a"), "/");
  assert.equal(parentOf("/a/b"), "/a");
  assert.equal(parentOf("/"), "/");
  assert.equal(parentOf("a/b"), "a");
  assert.equal(parentOf("a"), undefined);
  assert.equal(basename("/a/b"), "b");
  assert.equal(basename("/"), "");
  assert.equal(childPath("/", "a"), "/a");
  assert.equal(childPath("/a", "b"), "/a/b");
});
