// The lease protocol (design section 4) as scripted interactions with golden
// output, in the manner of etcd's raft testdata: each file under
// test/unit/testdata/lease/ is a script of commands (see
// test/support/lease-script.ts for the language) with "#" comments saying
// what each step shows, and under every command, in lines starting with
// "> ", what it caused. The test runs each script and compares the whole
// transcript with the file.
//
// After a deliberate change of behaviour, regenerate the files with
//   MAESTRO_UPDATE_GOLDEN=1 node --test dist/test/unit/broker-lease-scripts.test.js
// and read the diff: the output is the specification, so every changed line
// must still agree with the design (docs: /work/shared/design/MAESTRO.md s4).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runLeaseScript } from "../support/lease-script.js";

// Compiled to dist/test/unit: the scripts stay in the source tree.
const testdata = fileURLToPath(new URL("../../../test/unit/testdata/lease/", import.meta.url));
const update = process.env["MAESTRO_UPDATE_GOLDEN"] === "1";

const scripts = readdirSync(testdata).filter((name) => name.endsWith(".txt")).sort();

test("lease scripts: the testdata directory holds scripts", () => {
  assert.ok(scripts.length > 0, `no scripts in ${testdata}`);
});

for (const name of scripts) {
  test(`lease script ${name}`, () => {
    const path = `${testdata}${name}`;
    const golden = readFileSync(path, "utf8");
    const actual = runLeaseScript(golden);
    if (update) {
      if (actual !== golden) writeFileSync(path, actual);
      return;
    }
    assert.equal(actual, golden, `${name} differs from its golden output (MAESTRO_UPDATE_GOLDEN=1 regenerates it)`);
  });
}
