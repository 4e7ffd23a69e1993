// A full disk: writes fail with an error (ConnectionLoss: they may or may not
// survive), the node stays up and serves reads, nothing on disk is damaged,
// and writes resume when space returns. The data directory sits on a small
// tmpfs mounted for the test (root only, as in CI).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/codes.js";
import { RawClient, readGetData } from "../support/raw-client.js";
import { maestroMain, startServer } from "../support/server-process.js";

const tmpfsBytes = 3 * 1024 * 1024;
const fillerBytes = 1024 * 1024;
const valueBytes = 64 * 1024;
const writesMax = 200;

function mountTmpfs(): string | null {
  if (process.getuid?.() !== 0) return null;
  const mountPoint = mkdtempSync(join(tmpdir(), "maestro-full-"));
  const result = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${tmpfsBytes}`, "tmpfs", mountPoint]);
  if (result.status !== 0) {
    rmSync(mountPoint, { recursive: true, force: true });
    return null;
  }
  return mountPoint;
}

function unmount(mountPoint: string): void {
  spawnSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
}

const mountPoint = mountTmpfs();

test(
  "disk full: writes fail with ConnectionLoss, reads go on, writes resume when space returns, data intact after restart",
  { skip: mountPoint === null ? "needs root to mount a small tmpfs" : false, timeout: 120_000 },
  async () => {
    const root = mountPoint!;
    const filler = join(root, "filler");
    writeFileSync(filler, Buffer.alloc(fillerBytes, 1));
    const dataDir = join(root, "node");
    mkdirSync(dataDir);
    let server = await startServer({ dataDir, fourLetterWords: "ruok" });
    try {
      const client = await RawClient.connect({ port: server.port });
      const acknowledged: string[] = [];
      let failure = 0;
      for (let i = 0; i < writesMax && failure === 0; i++) {
        const path = `/v${i}`;
        const reply = await client.create(path, Buffer.alloc(valueBytes, i % 251));
        if (reply.err === 0) acknowledged.push(path);
        else failure = reply.err;
      }
      assert.equal(failure, ErrorCode.connectionLoss, `a write on a full disk fails with ConnectionLoss (after ${acknowledged.length} writes)`);
      assert.ok(acknowledged.length > 0);
      assert.ok(server.alive(), "the node stays up");
      const read = await client.getData(acknowledged[0]!);
      assert.equal(read.err, 0, "reads still work");
      assert.equal(readGetData(read.body).data?.length, valueBytes);
      assert.equal((await client.create("/still-full", Buffer.alloc(valueBytes))).err, ErrorCode.connectionLoss);

      unlinkSync(filler);
      const resumed = await client.create("/after-space-returned", Buffer.from("ok"));
      assert.equal(resumed.err, 0, "writes resume once space returns");
      acknowledged.push("/after-space-returned");
      await client.close();
      await server.stop();

      const check = spawnSync(process.execPath, [maestroMain, "check-data", "--data-dir", join(dataDir, "data")], { encoding: "utf8" });
      assert.equal(check.status, 0, `check-data reports no damage:\n${check.stdout}${check.stderr}`);
      server = await startServer({ dataDir, fourLetterWords: "ruok" });
      const after = await RawClient.connect({ port: server.port });
      for (const path of acknowledged) assert.equal((await after.exists(path)).err, 0, `${path} survived`);
      assert.equal((await after.exists("/still-full")).err, ErrorCode.noNode, "a failed write left nothing behind");
      await after.close();
    } finally {
      await server.stop();
      unmount(root);
    }
  },
);
