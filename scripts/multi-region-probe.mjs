#!/usr/bin/env node
// One session's write latencies against a running multi-region lab, with no
// other load: a write to a unit owned elsewhere, a local write right after
// it (waits for the forwarded write to be applied here), and a remote write
// right after a local one (its owner must have the local one first). Median
// of 20 rounds. Start a lab first (npm run lab -- --topology
// bench/lab/maestro-cluster.json) and pass a region's client address:
//
//   node scripts/multi-region-probe.mjs 127.0.0.1:PORT /maestro-bench/r1 /maestro-bench/r0
//
// (local unit, then remote unit; each gets a child "p" created if missing).
import zookeeper from "node-zookeeper-client";
const [addr, localUnit, remoteUnit] = process.argv.slice(2);
const client = zookeeper.createClient(addr, { sessionTimeout: 10000 });
const op = (fn) => new Promise((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
client.once("connected", async () => {
  // The units and their parents, then a child "p" in each (NodeExists is fine).
  for (const unit of [localUnit, remoteUnit]) {
    const parts = `${unit}/p`.split("/").filter((part) => part !== "");
    for (let depth = 1; depth <= parts.length; depth++) {
      try { await op((cb) => client.create(`/${parts.slice(0, depth).join("/")}`, Buffer.from("x"), cb)); } catch { /* exists */ }
    }
  }
  const t = { remote: [], localAfterRemote: [], remoteAfterLocal: [] };
  for (let i = 0; i < 20; i++) {
    let s = performance.now(); await op((cb) => client.setData(`${remoteUnit}/p`, Buffer.from("a"), -1, cb)); t.remote.push(performance.now() - s);
    s = performance.now(); await op((cb) => client.setData(`${localUnit}/p`, Buffer.from("b"), -1, cb)); t.localAfterRemote.push(performance.now() - s);
    s = performance.now(); await op((cb) => client.setData(`${remoteUnit}/p`, Buffer.from("c"), -1, cb)); t.remoteAfterLocal.push(performance.now() - s);
    s = performance.now(); await op((cb) => client.setData(`${localUnit}/p`, Buffer.from("d"), -1, cb));
  }
  const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]?.toFixed(1);
  console.log(addr, Object.fromEntries(Object.entries(t).map(([k, v]) => [k, med(v)])));
  client.close();
});
client.connect();
