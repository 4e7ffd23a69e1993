// `maestro leases`: reading a node's `leas` answer and printing it as a table.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatLeaseTable, formatWrites, LeasesError, parseLeaseStatus } from "../../src/cli/leases.js";
import { leaseText, notMultiRegionText } from "../../src/server/four-letter-words.js";
import type { LeaseStatusReport } from "../../src/broker/status.js";

const report: LeaseStatusReport = {
  region: "us-east",
  node: "us-east-1",
  root: true,
  units: [
    { unit: "/app/orders", owner: "eu-west", epoch: 12, durability: "global", state: "remote", writesByOrigin: { "us-east": 3, "eu-west": 140 } },
    { unit: "/", owner: "us-east", epoch: 1, durability: "region", state: "owned", writesByOrigin: {} },
    { unit: "/app/carts", owner: "us-east", epoch: 2, durability: "region", state: "releasing", writesByOrigin: { "us-east": 7 } },
  ],
};

function leasesError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof LeasesError, String(error));
    return error.message;
  }
  return "no error";
}

describe("maestro leases", () => {
  it("prints one row per unit in path order, columns aligned", () => {
    assert.equal(
      formatLeaseTable(report),
      [
        "region us-east, node us-east-1 (root broker)",
        "UNIT         OWNER    EPOCH  DURABILITY  STATE      WRITES BY ORIGIN",
        "/            us-east  1      region      owned      -",
        "/app/carts   us-east  2      region      releasing  us-east=7",
        "/app/orders  eu-west  12     global      remote     eu-west=140 us-east=3",
        "",
      ].join("\n"),
    );
  });

  it("says so when a node knows no units", () => {
    assert.equal(formatLeaseTable({ ...report, root: false, units: [] }), "region us-east, node us-east-1\nno lease units\n");
  });

  it("lists writes by origin region name", () => {
    assert.equal(formatWrites({ b: 1, a: 2 }), "a=2 b=1");
    assert.equal(formatWrites({}), "-");
  });

  it("reads back what the leas word writes", () => {
    const answer = leaseText({ leaseStatus: () => report });
    assert.ok(answer.endsWith("\n"));
    assert.deepEqual(parseLeaseStatus(answer), report);
  });

  it("passes on a text answer as the error", () => {
    assert.equal(leaseText({ leaseStatus: () => null }), notMultiRegionText);
    assert.equal(leasesError(() => parseLeaseStatus(notMultiRegionText)), notMultiRegionText.trim());
    assert.match(leasesError(() => parseLeaseStatus("leas is not executed because it is not in the whitelist.\n")), /fourLetterWords/);
    assert.match(leasesError(() => parseLeaseStatus("")), /empty answer/);
  });

  it("refuses an answer of the wrong shape, naming the field", () => {
    const unit = { unit: "/a", owner: "x", epoch: 1, durability: "region", state: "owned", writesByOrigin: {} };
    const bad = (change: Record<string, unknown>): string =>
      leasesError(() => parseLeaseStatus(JSON.stringify({ region: "r", node: "n", root: false, units: [{ ...unit, ...change }] })));
    assert.match(bad({ epoch: "1" }), /report\.units\[0\]\.epoch/);
    assert.match(bad({ state: "sleeping" }), /report\.units\[0\]\.state/);
    assert.match(bad({ durability: "disk" }), /report\.units\[0\]\.durability/);
    assert.match(bad({ writesByOrigin: { r: "many" } }), /writesByOrigin\.r/);
    assert.match(leasesError(() => parseLeaseStatus('{"region": "r"')), /not valid JSON/);
    assert.match(leasesError(() => parseLeaseStatus('{"region": "r", "node": "n", "root": 1, "units": []}')), /report\.root/);
  });
});
