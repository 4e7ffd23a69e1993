// The generator: the checked-in module is exactly what the declaration
// generates, and a bad declaration is refused with its line number.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { generateTypeScript } from "../../src/jute/generate.js";
import { JuteSyntaxError, parseJute, schemaClasses } from "../../src/jute/parser.js";

/** The repository root, from dist/test/unit/. */
const root = new URL("../../../", import.meta.url);

function readSource(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

function syntaxError(text: string): JuteSyntaxError {
  try {
    parseJute(text);
  } catch (error) {
    assert.ok(error instanceof JuteSyntaxError, `expected JuteSyntaxError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the schema to be refused");
}

describe("generated records", () => {
  it("are exactly what jute/zookeeper.jute generates", () => {
    const generated = generateTypeScript(readSource("jute/zookeeper.jute"), "jute/zookeeper.jute");
    assert.equal(readSource("src/protocol/records.generated.ts"), generated);
  });

  it("say they are generated, and from what", () => {
    const firstLine = readSource("src/protocol/records.generated.ts").split("\n")[0] ?? "";
    assert.match(firstLine, /GENERATED/);
    assert.match(firstLine, /jute\/zookeeper\.jute/);
  });

  it("pass `npm run jute -- --check`", () => {
    const script = fileURLToPath(new URL("dist/src/jute/generate-main.js", root));
    const result = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  });
});

describe("the jute parser", () => {
  it("reads modules, comments, qualified references and nested vectors", () => {
    const schema = parseJute(`
      // line comment
      module a.b { class Inner { int x; } }
      /* block
         comment */
      module c {
        class Outer {
          a.b.Inner inner;        // qualified
          vector<vector<long>> grid;
          vector<Later> later;    // declared further down
        }
        class Later { boolean flag; buffer data; ustring name; }
      }`);
    const classes = schemaClasses(schema);
    assert.deepStrictEqual(classes.map((c) => c.name), ["Inner", "Outer", "Later"]);
    const outer = classes[1];
    assert.deepStrictEqual(outer?.fields[0]?.type, { kind: "record", name: "Inner" });
    assert.deepStrictEqual(outer?.fields[1]?.type, {
      kind: "vector",
      element: { kind: "vector", element: { kind: "primitive", name: "long" } },
    });
    assert.equal(outer?.line, 7);
  });

  it("generates nested vector codecs with a per-element byte bound", () => {
    const source = generateTypeScript("module m { class G { vector<vector<int>> grid; } }", "test.jute");
    assert.match(source, /grid: number\[\]\[\];/);
    assert.match(source, /r\.readVector\(4, \(r1\) => r1\.readVector\(4, \(r2\) => r2\.readInt\(\)\)\)/);
    assert.match(source, /w\.writeVector\(v\.grid, \(w1, item1\) => w1\.writeVector\(item1, \(w2, item2\) => w2\.writeInt\(item2\)\)\)/);
    assert.match(source, /from test\.jute/);
  });

  const badSchemas: readonly { what: string; text: string; line: number; message: RegExp }[] = [
    { what: "an unsupported type", text: "module m {\n class C {\n  float f;\n }\n}", line: 3, message: /unsupported type 'float'/ },
    { what: "a missing semicolon", text: "module m {\n class C {\n  int a\n  int b;\n }\n}", line: 4, message: /expected ';'/ },
    { what: "an unknown record", text: "module m {\n class C {\n  int a;\n  Missing b;\n }\n}", line: 4, message: /unknown record 'Missing'/ },
    { what: "a duplicate class", text: "module m { class C { int a; } }\nmodule n {\n class C { int b; }\n}", line: 3, message: /already declared on line 1/ },
    { what: "a duplicate field", text: "module m {\n class C {\n  int a;\n  long a;\n }\n}", line: 4, message: /duplicate field 'a'/ },
    { what: "an unterminated comment", text: "module m {\n /* never closed\n}", line: 2, message: /unterminated/ },
    { what: "a stray character", text: "module m {\n class C {\n  int @a;\n }\n}", line: 3, message: /unexpected character "@"/ },
    { what: "an unclosed class", text: "module m {\n class C {\n  int a;\n", line: 4, message: /expected a field type, found end of input|not closed/ },
    { what: "a wrongly qualified reference", text: "module m { class A { int x; } }\nmodule n {\n class B {\n  n.A a;\n }\n}", line: 4, message: /declared in module 'm'/ },
    { what: "a record cycle", text: "module m {\n class A { B b; }\n class B { A a; }\n}", line: 2, message: /record cycle: A -> B -> A/ },
    { what: "a dotted class name", text: "module m {\n class a.C { int x; }\n}", line: 2, message: /simple name/ },
    { what: "a vector without its type", text: "module m {\n class C {\n  vector v;\n }\n}", line: 3, message: /expected '<'/ },
    { what: "a reserved class name", text: "module m {\n class Buffer { int x; }\n}", line: 2, message: /reserved/ },
  ];

  for (const bad of badSchemas) {
    it(`refuses ${bad.what}, naming line ${bad.line}`, () => {
      const error = syntaxError(bad.text);
      assert.equal(error.line, bad.line, error.message);
      assert.match(error.message, new RegExp(`^line ${bad.line}, column \\d+: `));
      assert.match(error.message, bad.message);
      assert.equal(error.code, "ERR_JUTE_SYNTAX");
    });
  }
});
