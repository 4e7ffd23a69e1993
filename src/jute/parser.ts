// A parser for the subset of the jute record language that the ZooKeeper
// client protocol uses:
//
//   schema := module*
//   module := "module" qualifiedName "{" class* "}"
//   class  := "class" Name "{" field* "}"
//   field  := type Name ";"
//   type   := "int" | "long" | "boolean" | "buffer" | "ustring"
//           | "vector" "<" type ">" | RecordName | qualified.RecordName
//
// with // and /* */ comments. Record references are resolved after parsing,
// so a class may refer to one declared later. Every error names the line.

export type JutePrimitive = "int" | "long" | "boolean" | "buffer" | "ustring";

export type JuteType =
  | { readonly kind: "primitive"; readonly name: JutePrimitive }
  | { readonly kind: "vector"; readonly element: JuteType }
  /** name is the simple class name once the schema is resolved. */
  | { readonly kind: "record"; readonly name: string };

export interface JuteField {
  readonly name: string;
  readonly type: JuteType;
  readonly line: number;
}

export interface JuteClass {
  readonly name: string;
  readonly module: string;
  readonly fields: readonly JuteField[];
  readonly line: number;
}

export interface JuteModule {
  readonly name: string;
  readonly classes: readonly JuteClass[];
}

export interface JuteSchema {
  readonly modules: readonly JuteModule[];
}

export class JuteSyntaxError extends Error {
  readonly code = "ERR_JUTE_SYNTAX";
  readonly line: number;
  readonly column: number;

  constructor(line: number, column: number, message: string) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = "JuteSyntaxError";
    this.line = line;
    this.column = column;
  }
}

const primitives: ReadonlySet<string> = new Set<JutePrimitive>(["int", "long", "boolean", "buffer", "ustring"]);
/** Jute types that exist but that the ZooKeeper client protocol never uses. */
const unsupportedTypes: ReadonlySet<string> = new Set(["byte", "float", "double", "map"]);
/** Names the generated module declares or imports itself. */
const reservedClassNames: ReadonlySet<string> = new Set(["Buffer", "JuteReader", "JuteWriter", "RecordCodec"]);
const reservedFieldNames: ReadonlySet<string> = new Set(["__proto__", "constructor"]);

interface Token {
  readonly kind: "word" | "punct" | "end";
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const wordPattern = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const punctuation = "{}<>;";

/** Splits the text into words and punctuation, dropping whitespace and comments. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  let line = 1;
  let lineStart = 0;
  while (offset < text.length) {
    const char = text[offset] ?? "";
    const column = offset - lineStart + 1;
    if (char === "\n") {
      offset += 1;
      line += 1;
      lineStart = offset;
    } else if (/\s/.test(char)) {
      offset += 1;
    } else if (text.startsWith("//", offset)) {
      const end = text.indexOf("\n", offset);
      offset = end === -1 ? text.length : end;
    } else if (text.startsWith("/*", offset)) {
      const end = text.indexOf("*/", offset + 2);
      if (end === -1) throw new JuteSyntaxError(line, column, "unterminated /* comment");
      for (let index = offset; index < end; index++) {
        if (text[index] === "\n") {
          line += 1;
          lineStart = index + 1;
        }
      }
      offset = end + 2;
    } else if (punctuation.includes(char)) {
      tokens.push({ kind: "punct", text: char, line, column });
      offset += 1;
    } else {
      wordPattern.lastIndex = offset;
      const match = wordPattern.exec(text);
      if (match === null) throw new JuteSyntaxError(line, column, `unexpected character ${JSON.stringify(char)}`);
      tokens.push({ kind: "word", text: match[0], line, column });
      offset += match[0].length;
    }
  }
  tokens.push({ kind: "end", text: "end of input", line, column: offset - lineStart + 1 });
  return tokens;
}

class TokenStream {
  readonly #tokens: readonly Token[];
  #index = 0;

  constructor(tokens: readonly Token[]) {
    this.#tokens = tokens;
  }

  peek(): Token {
    const token = this.#tokens[this.#index] ?? this.#tokens[this.#tokens.length - 1];
    if (token === undefined) throw new Error("invariant violated: token stream without end token");
    return token;
  }

  next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.#index += 1;
    return token;
  }

  atEnd(): boolean {
    return this.peek().kind === "end";
  }

  /** Whether the next token is the punctuation `text`. */
  nextIs(text: string): boolean {
    const token = this.peek();
    return token.kind === "punct" && token.text === text;
  }

  /** Consumes the punctuation or keyword `text`, or fails naming what was found. */
  expect(text: string, context: string): Token {
    const token = this.next();
    if (token.text !== text || token.kind === "end") fail(token, `expected '${text}' ${context}, found ${describe(token)}`);
    return token;
  }

  /** Consumes a word; `simple` rejects dotted names. */
  expectName(what: string, simple: boolean): Token {
    const token = this.next();
    if (token.kind !== "word") fail(token, `expected ${what}, found ${describe(token)}`);
    if (simple && token.text.includes(".")) fail(token, `${what} must be a simple name, found '${token.text}'`);
    return token;
  }
}

function describe(token: Token): string {
  return token.kind === "end" ? "end of input" : `'${token.text}'`;
}

function fail(token: Token, message: string): never {
  throw new JuteSyntaxError(token.line, token.column, message);
}

function parseType(stream: TokenStream): JuteType {
  const token = stream.expectName("a field type", false);
  if (primitives.has(token.text)) return { kind: "primitive", name: token.text as JutePrimitive };
  if (token.text === "vector") {
    stream.expect("<", "after 'vector'");
    const element = parseType(stream);
    stream.expect(">", "to close 'vector<'");
    return { kind: "vector", element };
  }
  if (unsupportedTypes.has(token.text)) {
    fail(token, `unsupported type '${token.text}' (supported: int, long, boolean, buffer, ustring, vector<T>, records)`);
  }
  if (token.text === "module" || token.text === "class") fail(token, `expected a field type, found '${token.text}'`);
  return { kind: "record", name: token.text };
}

function parseField(stream: TokenStream): JuteField {
  const line = stream.peek().line;
  const type = parseType(stream);
  const name = stream.expectName("a field name", true);
  if (reservedFieldNames.has(name.text)) fail(name, `field name '${name.text}' is reserved`);
  stream.expect(";", `after field '${name.text}'`);
  return { name: name.text, type, line };
}

function parseClass(stream: TokenStream, module: string): JuteClass {
  const keyword = stream.expect("class", "to start a class");
  const name = stream.expectName("a class name", true);
  if (reservedClassNames.has(name.text)) fail(name, `class name '${name.text}' is reserved`);
  stream.expect("{", `after class '${name.text}'`);
  const fields: JuteField[] = [];
  const seen = new Set<string>();
  while (!stream.nextIs("}")) {
    if (stream.atEnd()) fail(stream.peek(), `class '${name.text}' is not closed with '}'`);
    const field = parseField(stream);
    if (seen.has(field.name)) throw new JuteSyntaxError(field.line, 1, `duplicate field '${field.name}' in '${name.text}'`);
    seen.add(field.name);
    fields.push(field);
  }
  stream.next();
  return { name: name.text, module, fields, line: keyword.line };
}

function parseModule(stream: TokenStream): JuteModule {
  stream.expect("module", "to start a module");
  const name = stream.expectName("a module name", false);
  stream.expect("{", `after module '${name.text}'`);
  const classes: JuteClass[] = [];
  while (!stream.nextIs("}")) {
    if (stream.atEnd()) fail(stream.peek(), `module '${name.text}' is not closed with '}'`);
    classes.push(parseClass(stream, name.text));
  }
  stream.next();
  return { name: name.text, classes };
}

/** Parses and resolves a schema; throws JuteSyntaxError naming the line. */
export function parseJute(text: string): JuteSchema {
  const stream = new TokenStream(tokenize(text));
  const modules: JuteModule[] = [];
  while (!stream.atEnd()) modules.push(parseModule(stream));
  return resolveSchema({ modules });
}

/** Every class of the schema, in declaration order. */
export function schemaClasses(schema: JuteSchema): JuteClass[] {
  return schema.modules.flatMap((module) => module.classes);
}

function indexClasses(schema: JuteSchema): Map<string, JuteClass> {
  const byName = new Map<string, JuteClass>();
  for (const juteClass of schemaClasses(schema)) {
    const earlier = byName.get(juteClass.name);
    if (earlier !== undefined) {
      throw new JuteSyntaxError(
        juteClass.line,
        1,
        `class '${juteClass.name}' is already declared on line ${earlier.line} (class names must be unique across modules)`,
      );
    }
    byName.set(juteClass.name, juteClass);
  }
  return byName;
}

function resolveType(type: JuteType, field: JuteField, byName: ReadonlyMap<string, JuteClass>): JuteType {
  if (type.kind === "primitive") return type;
  if (type.kind === "vector") return { kind: "vector", element: resolveType(type.element, field, byName) };
  const dot = type.name.lastIndexOf(".");
  const simpleName = type.name.slice(dot + 1);
  const target = byName.get(simpleName);
  if (target === undefined) {
    throw new JuteSyntaxError(field.line, 1, `field '${field.name}' refers to unknown record '${type.name}'`);
  }
  if (dot !== -1 && type.name.slice(0, dot) !== target.module) {
    throw new JuteSyntaxError(
      field.line,
      1,
      `field '${field.name}' refers to '${type.name}', but '${simpleName}' is declared in module '${target.module}'`,
    );
  }
  return { kind: "record", name: simpleName };
}

/** Turns every record reference into a simple name and rejects unknown ones and cycles. */
function resolveSchema(schema: JuteSchema): JuteSchema {
  const byName = indexClasses(schema);
  const resolved: JuteSchema = {
    modules: schema.modules.map((module) => ({
      name: module.name,
      classes: module.classes.map((juteClass) => ({
        ...juteClass,
        fields: juteClass.fields.map((field) => ({ ...field, type: resolveType(field.type, field, byName) })),
      })),
    })),
  };
  rejectCycles(resolved);
  return resolved;
}

function referencedRecords(type: JuteType): string[] {
  if (type.kind === "primitive") return [];
  if (type.kind === "vector") return referencedRecords(type.element);
  return [type.name];
}

/** A record that contains itself, directly or not, has no finite encoding we want. */
function rejectCycles(schema: JuteSchema): void {
  const byName = new Map(schemaClasses(schema).map((juteClass) => [juteClass.name, juteClass]));
  const done = new Set<string>();
  const visit = (juteClass: JuteClass, path: readonly string[]): void => {
    if (path.includes(juteClass.name)) {
      throw new JuteSyntaxError(juteClass.line, 1, `record cycle: ${[...path, juteClass.name].join(" -> ")}`);
    }
    if (done.has(juteClass.name)) return;
    for (const field of juteClass.fields) {
      for (const name of referencedRecords(field.type)) {
        const target = byName.get(name);
        if (target !== undefined) visit(target, [...path, juteClass.name]);
      }
    }
    done.add(juteClass.name);
  };
  for (const juteClass of byName.values()) visit(juteClass, []);
}
