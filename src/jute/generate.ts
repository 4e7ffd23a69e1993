// Turns a jute declaration into the TypeScript module that encodes and
// decodes its records: for every class X an interface X, writeX and readX,
// plus tables (recordSchemas, recordCodecs) that let tests and the server
// treat every record generically. The output is deterministic, so the
// checked-in file can be compared with a fresh generation.

import { type JuteClass, type JuteField, type JuteSchema, type JuteType, parseJute, schemaClasses } from "./parser.js";

const primitiveTypeScript = {
  int: "number",
  long: "bigint",
  boolean: "boolean",
  buffer: "Buffer | null",
  ustring: "string",
} as const;

const primitiveMethod = {
  int: "Int",
  long: "Long",
  boolean: "Bool",
  buffer: "Buffer",
  ustring: "String",
} as const;

/** Smallest encoding of each primitive: a length or count prefix is 4 bytes. */
const primitiveBytesMin = {
  int: 4,
  long: 8,
  boolean: 1,
  buffer: 4,
  ustring: 4,
} as const;
const vectorBytesMin = 4;

type ClassIndex = ReadonlyMap<string, JuteClass>;

function typeScriptType(type: JuteType): string {
  if (type.kind === "primitive") return primitiveTypeScript[type.name];
  if (type.kind === "record") return type.name;
  const element = typeScriptType(type.element);
  return type.element.kind === "primitive" && type.element.name === "buffer" ? `(${element})[]` : `${element}[]`;
}

/** The fewest bytes a value of this type can take on the wire. */
export function typeBytesMin(type: JuteType, classes: ClassIndex): number {
  if (type.kind === "primitive") return primitiveBytesMin[type.name];
  if (type.kind === "vector") return vectorBytesMin;
  const target = classes.get(type.name);
  if (target === undefined) throw new Error(`invariant violated: unresolved record '${type.name}'`);
  return target.fields.reduce((sum, field) => sum + typeBytesMin(field.type, classes), 0);
}

/** An expression that writes `value` with writer variable `writer`. */
function writeExpression(type: JuteType, writer: string, value: string, depth: number): string {
  if (type.kind === "primitive") return `${writer}.write${primitiveMethod[type.name]}(${value})`;
  if (type.kind === "record") return `write${type.name}(${writer}, ${value})`;
  return `${writer}.writeVector(${value}, ${writeElement(type.element, depth + 1)})`;
}

/** A function expression that writes one vector element. */
function writeElement(type: JuteType, depth: number): string {
  if (type.kind === "record") return `write${type.name}`;
  const writer = `w${depth}`;
  const item = `item${depth}`;
  return `(${writer}, ${item}) => ${writeExpression(type, writer, item, depth)}`;
}

/** An expression that reads one value with reader variable `reader`. */
function readExpression(type: JuteType, reader: string, depth: number, classes: ClassIndex): string {
  if (type.kind === "primitive") return `${reader}.read${primitiveMethod[type.name]}()`;
  if (type.kind === "record") return `read${type.name}(${reader})`;
  const bytesMin = typeBytesMin(type.element, classes);
  return `${reader}.readVector(${bytesMin}, ${readElement(type.element, depth + 1, classes)})`;
}

/** A function expression that reads one vector element. */
function readElement(type: JuteType, depth: number, classes: ClassIndex): string {
  if (type.kind === "record") return `read${type.name}`;
  const reader = `r${depth}`;
  return `(${reader}) => ${readExpression(type, reader, depth, classes)}`;
}

function descriptorType(type: JuteType): string {
  if (type.kind === "primitive") return JSON.stringify(type.name);
  if (type.kind === "record") return `{ record: ${JSON.stringify(type.name)} }`;
  return `{ vector: ${descriptorType(type.element)} }`;
}

function generateInterface(juteClass: JuteClass): string[] {
  const fields = juteClass.fields.map((field) => `  ${field.name}: ${typeScriptType(field.type)};`);
  return [`export interface ${juteClass.name} {`, ...fields, "}"];
}

function generateWriter(juteClass: JuteClass): string[] {
  const statements = juteClass.fields.map((field) => `  ${writeExpression(field.type, "w", `v.${field.name}`, 0)};`);
  const name = juteClass.name;
  const parameters = juteClass.fields.length === 0 ? `_w: JuteWriter, _v: ${name}` : `w: JuteWriter, v: ${name}`;
  return [`export function write${name}(${parameters}): void {`, ...statements, "}"];
}

function generateReader(juteClass: JuteClass, classes: ClassIndex): string[] {
  const name = juteClass.name;
  if (juteClass.fields.length === 0) return [`export function read${name}(_r: JuteReader): ${name} {`, "  return {};", "}"];
  // Object literal properties evaluate in source order, which is wire order.
  const properties = juteClass.fields.map(
    (field: JuteField) => `    ${field.name}: ${readExpression(field.type, "r", 0, classes)},`,
  );
  return [`export function read${name}(r: JuteReader): ${name} {`, "  return {", ...properties, "  };", "}"];
}

function generateClass(juteClass: JuteClass, classes: ClassIndex): string[] {
  return [
    ...generateInterface(juteClass),
    "",
    ...generateWriter(juteClass),
    "",
    ...generateReader(juteClass, classes),
    "",
  ];
}

function generateHeader(sourceName: string): string[] {
  return [
    `// GENERATED FILE, do not edit. Generated by src/jute/generate.ts from ${sourceName}:`,
    "// change the declaration there and run `npm run build && npm run jute`.",
    "",
    'import type { JuteReader, JuteWriter, RecordCodec } from "./archive.js";',
    "",
  ];
}

function generateTables(classes: readonly JuteClass[], index: ClassIndex): string[] {
  const types = classes.map((juteClass) => `  ${juteClass.name}: ${juteClass.name};`);
  const codecs = classes.map((c) => `  ${c.name}: { read: read${c.name}, write: write${c.name} },`);
  return [
    "/** Every record by its simple name. */",
    "export interface RecordTypes {",
    ...types,
    "}",
    "",
    "export type RecordName = keyof RecordTypes;",
    "",
    "export type JuteFieldType =",
    '  | "int"',
    '  | "long"',
    '  | "boolean"',
    '  | "buffer"',
    '  | "ustring"',
    "  | { readonly vector: JuteFieldType }",
    "  | { readonly record: RecordName };",
    "",
    "export interface RecordSchema {",
    "  readonly module: string;",
    "  /** The fewest bytes an encoding of the record can take. */",
    "  readonly bytesMin: number;",
    "  readonly fields: readonly { readonly name: string; readonly type: JuteFieldType }[];",
    "}",
    "",
    "/** The declaration itself, for code that walks records generically. */",
    "export const recordSchemas = {",
    ...classes.flatMap((juteClass) => generateSchemaEntry(juteClass, index)),
    "} as const satisfies { readonly [K in RecordName]: RecordSchema };",
    "",
    "export const recordCodecs: { readonly [K in RecordName]: RecordCodec<RecordTypes[K]> } = {",
    ...codecs,
    "};",
  ];
}

function generateSchemaEntry(juteClass: JuteClass, index: ClassIndex): string[] {
  const bytesMin = juteClass.fields.reduce((sum, field) => sum + typeBytesMin(field.type, index), 0);
  const fields = juteClass.fields.map(
    (field) => `      { name: ${JSON.stringify(field.name)}, type: ${descriptorType(field.type)} },`,
  );
  return [
    `  ${juteClass.name}: {`,
    `    module: ${JSON.stringify(juteClass.module)},`,
    `    bytesMin: ${bytesMin},`,
    fields.length === 0 ? "    fields: []," : "    fields: [",
    ...(fields.length === 0 ? [] : [...fields, "    ],"]),
    "  },",
  ];
}

/** Generates the module for an already parsed schema. */
export function generateFromSchema(schema: JuteSchema, sourceName: string): string {
  const classes = schemaClasses(schema);
  const index = new Map(classes.map((juteClass) => [juteClass.name, juteClass]));
  const lines = generateHeader(sourceName);
  for (const module of schema.modules) {
    lines.push(`// module ${module.name}`, "");
    for (const juteClass of module.classes) lines.push(...generateClass(juteClass, index));
  }
  lines.push(...generateTables(classes, index));
  return `${lines.join("\n")}\n`;
}

/** Parses jute text and generates the TypeScript module source. */
export function generateTypeScript(schemaText: string, sourceName = "jute/zookeeper.jute"): string {
  return generateFromSchema(parseJute(schemaText), sourceName);
}
