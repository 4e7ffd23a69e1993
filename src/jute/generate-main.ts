// `npm run jute`: regenerates src/protocol/records.generated.ts from
// jute/zookeeper.jute. With --check it only reports whether the checked-in
// file is current (exit 1 if not), for CI.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generateTypeScript } from "./generate.js";

/** Relative to the repository root. */
export const schemaPath = "jute/zookeeper.jute";
export const generatedPath = "src/protocol/records.generated.ts";

/** The repository root, found from this file's place in dist/src/jute/. */
function repositoryRoot(): URL {
  return new URL("../../../", import.meta.url);
}

function main(argv: readonly string[]): number {
  const root = repositoryRoot();
  const schemaText = readFileSync(new URL(schemaPath, root), "utf8");
  const source = generateTypeScript(schemaText, schemaPath);
  const target = fileURLToPath(new URL(generatedPath, root));
  if (argv.includes("--check")) {
    const current = readFileSync(target, "utf8");
    if (current === source) return 0;
    process.stderr.write(`${generatedPath} is stale: run \`npm run build && npm run jute\`\n`);
    return 1;
  }
  writeFileSync(target, source);
  process.stdout.write(`wrote ${generatedPath}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
