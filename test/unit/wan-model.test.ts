// The WAN model's arithmetic, without sockets or clocks: the default matrix
// is half of the quoted round trips, jitter never lets a chunk overtake an
// earlier one, a bandwidth cap serializes chunks, partitions are directed.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WanError, WanModel, defaultRegionRoundTripMs, seededRandom } from "../../src/lab/wan-model.js";

describe("WAN model", () => {
  it("defaults one-way latency to half the quoted inter-region round trips", () => {
    const model = new WanModel();
    assert.equal(defaultRegionRoundTripMs["us-east"]["eu-west"], 70);
    assert.equal(model.profile("us-east", "eu-west")?.oneWayMs, 35);
    assert.equal(model.profile("eu-west", "us-east")?.oneWayMs, 35);
    assert.equal(model.profile("us-east", "ap-south")?.oneWayMs, 95);
    assert.equal(model.profile("ap-south", "eu-west")?.oneWayMs, 60);
    assert.equal(model.profile("us-east", "us-east"), undefined);
  });

  it("adds no delay inside a region", () => {
    const model = new WanModel();
    assert.equal(model.arrivalMs("eu-west", "eu-west", 100, 1000, 0), 1000);
  });

  it("keeps jittered chunks in order: each arrives no earlier than the one before", () => {
    const model = new WanModel({ regions: ["a", "b"], roundTripMs: { a: { b: 80 } }, jitterMs: 30, seed: 7 });
    let previousMs = 0;
    let unorderedWouldOvertake = false;
    let lastUnorderedMs = 0;
    for (let sentMs = 0; sentMs < 200; sentMs += 1) {
      const arrival = model.arrivalMs("a", "b", 10, sentMs, previousMs);
      assert.ok(arrival >= previousMs, `chunk sent at ${sentMs} arrived at ${arrival}, before ${previousMs}`);
      assert.ok(arrival >= sentMs + 10 && arrival <= Math.max(previousMs, sentMs + 70));
      previousMs = arrival;
      const unordered = model.arrivalMs("a", "b", 10, sentMs, 0);
      if (unordered < lastUnorderedMs) unorderedWouldOvertake = true;
      lastUnorderedMs = unordered;
    }
    assert.ok(unorderedWouldOvertake, "the jitter is large enough to reorder without the ordering rule");
  });

  it("gives the same delays for the same seed", () => {
    const delays = (seed: number): number[] => {
      const model = new WanModel({ regions: ["a", "b"], roundTripMs: { a: { b: 80 } }, jitterMs: 10, seed });
      return [0, 1, 2, 3, 4].map((sentMs) => model.arrivalMs("a", "b", 1, sentMs, 0));
    };
    assert.deepEqual(delays(3), delays(3));
    assert.notDeepEqual(delays(3), delays(4));
    const random = seededRandom(1);
    for (let i = 0; i < 1000; i += 1) {
      const value = random();
      assert.ok(value >= 0 && value < 1);
    }
  });

  it("serializes chunks through a bandwidth cap shared by the direction", () => {
    const model = new WanModel({ regions: ["a", "b"], roundTripMs: { a: { b: 20 } } });
    model.setBandwidth("a", "b", 1000, true);
    // 500 bytes at 1000 B/s take 500 ms on the wire, then 10 ms one way.
    assert.equal(model.arrivalMs("a", "b", 500, 0, 0), 510);
    // A second connection's chunk waits for the first to leave the pipe.
    assert.equal(model.arrivalMs("a", "b", 100, 0, 0), 610);
    // The other direction is not capped.
    assert.equal(model.arrivalMs("b", "a", 500, 0, 0), 10);
  });

  it("blocks both directions of a partition, or one with oneWay, and heals them", () => {
    const model = new WanModel();
    model.partition("us-east", "eu-west", true);
    assert.equal(model.isBlocked("us-east", "eu-west"), true);
    assert.equal(model.isBlocked("eu-west", "us-east"), false);
    model.partition("ap-south", "eu-west");
    assert.deepEqual(model.state().partitions, ["ap-south->eu-west", "eu-west->ap-south", "us-east->eu-west"]);
    model.heal("eu-west", "ap-south");
    assert.deepEqual(model.state().partitions, ["us-east->eu-west"]);
    model.partition("ap-south", "us-east");
    model.heal("us-east");
    assert.deepEqual(model.state().partitions, []);
    model.partition("ap-south", "us-east");
    model.heal();
    assert.deepEqual(model.state().partitions, []);
  });

  it("refuses unknown regions, self links and out-of-range latencies with coded errors", () => {
    const model = new WanModel();
    const code = (run: () => void): string => {
      try {
        run();
      } catch (error) {
        assert.ok(error instanceof WanError);
        return error.code;
      }
      return "no error";
    };
    assert.equal(code(() => model.partition("us-east", "mars")), "ERR_WAN_UNKNOWN_REGION");
    assert.equal(code(() => model.partition("us-east", "us-east")), "ERR_WAN_SAME_REGION");
    assert.equal(code(() => model.setLatency("us-east", "eu-west", -1)), "ERR_WAN_CONFIG");
    assert.equal(code(() => new WanModel({ regions: ["a", "a"] })), "ERR_WAN_CONFIG");
  });
});
