// The `npm run bench` workload: each client session draws an operation
// from the mix and a key from the distribution (for its region, at the
// elapsed time), both from its own seeded generator. Keys are nodes
// root/keys/k<key>, or root/r<s>/k<key> with regionSubtrees (s: the region
// slice holding the key, so each region's slice is one subtree, the shape of
// a lease unit), made by setUpKeySpace before the clients start; creates
// go below a key node and are remembered so deletes remove the client's own
// nodes; the lock recipe takes and releases an ephemeral-sequential lock
// under root/locks/l<n>.
import { chooseOperation } from "../../dist/src/bench/mix.js";
import { keyChooser, regionSliceOf, seededRandom } from "../../dist/src/bench/distributions.js";
import { connect, create, createModes, ensureNode, exists, getChildren, getData, remove, setAndCreate, setData } from "./zookeeper-client.mjs";

/** Key nodes made by the set-up; more would make the set-up the benchmark. */
export const keyCountMax = 100_000;
/** Each client remembers at most this many of its nodes for deletes. */
const ownNodesMax = 10_000;
/** A lock waiter gives up after this long (and the operation is an error). */
const lockWaitMsMax = 10_000;
// Set-up spreads the keys over several sessions with a few creates in flight
// each: a multi-region Maestro forwards a session's writes to units owned
// elsewhere one after another (each pays a WAN round trip), so one session
// with hundreds in flight would run into the forward timeout.
const setUpSessions = 16;
const setUpInFlightPerSession = 16;

/** Where key `key` lives; `space` is { keyCount, regionCount, regionSubtrees }. */
export function keyPath(root, key, space = { regionSubtrees: false }) {
  return space.regionSubtrees ? `${root}/r${regionSliceOf(key, space)}/k${key}` : `${root}/keys/k${key}`;
}
const lockPath = (root, lock) => `${root}/locks/l${lock}`;

/** The parents of the keys, in creation order: root/keys, or root/r0 .. root/r<regionCount-1>. */
export function keyParents(root, { regionCount = 1, regionSubtrees = false } = {}) {
  return regionSubtrees ? Array.from({ length: regionCount }, (_, slice) => `${root}/r${slice}`) : [`${root}/keys`];
}

/**
 * Makes root, the key parents, the keys (with valueBytes values) and the
 * lock directories; idempotent. Parents come first, one at a time, so a
 * server that makes each region subtree a lease unit has the unit before
 * its keys arrive. A node already there (read locally) is not created
 * again, so a second address of a replicated deployment costs only reads.
 * With regionSubtrees and several regionAddresses (region r's server at
 * regionAddresses[r mod count]) slice s's keys are made through region s's
 * server, one slice after another: a server that counts writes to a unit by
 * origin region (a migration policy) then sees the set-up's writes come from
 * the unit's home, not a burst from the first region that would move it.
 */
export async function setUpKeySpace({ connectionString, root, keyCount, lockCount, valueBytes, regionCount = 1, regionSubtrees = false, regionAddresses = [] }) {
  if (keyCount > keyCountMax) throw new RangeError(`--keys must be at most ${keyCountMax}`);
  const space = { keyCount, regionCount, regionSubtrees };
  const client = await connect(connectionString);
  try {
    // Read first: a create of a node already there is still a write to the server (on a
    // multi-region Maestro a create below another unit's node gathers both units).
    for (const path of [root, ...keyParents(root, space), `${root}/locks`]) if ((await exists(client, path)) === null) await ensureNode(client, path);
  } finally {
    client.close();
  }
  const value = Buffer.alloc(valueBytes, 0x61);
  const bySlice = regionSubtrees && regionAddresses.length > 1;
  const pathsByAddress = new Map([[connectionString, []]]);
  for (let key = 0; key < keyCount; key += 1) {
    const address = bySlice ? regionAddresses[regionSliceOf(key, space) % regionAddresses.length] : connectionString;
    if (!pathsByAddress.has(address)) pathsByAddress.set(address, []);
    pathsByAddress.get(address).push(keyPath(root, key, space));
  }
  for (let lock = 0; lock < lockCount; lock += 1) pathsByAddress.get(connectionString).push(lockPath(root, lock));
  for (const [address, paths] of pathsByAddress) await ensureNodes(address, paths, value);
}

async function ensureNodes(connectionString, paths, value) {
  const sessions = Math.max(1, Math.min(setUpSessions, Math.ceil(paths.length / setUpInFlightPerSession)));
  const clients = await Promise.all(Array.from({ length: sessions }, () => connect(connectionString)));
  let next = 0;
  const drain = async (client) => {
    while (next < paths.length) {
      const path = paths[next];
      next += 1;
      if ((await exists(client, path)) === null) await ensureNode(client, path, value);
    }
  };
  try {
    await Promise.all(clients.flatMap((client) => Array.from({ length: setUpInFlightPerSession }, () => drain(client))));
  } finally {
    for (const client of clients) client.close();
  }
}

/** One client's state: its session, region, generators and the nodes it made. */
export function clientState(client, clientIndex, options) {
  const random = seededRandom(options.seed * 1_000_003 + clientIndex);
  return {
    client,
    clientIndex,
    region: clientIndex % options.regionCount,
    space: { keyCount: options.keyCount, regionCount: options.regionCount, regionSubtrees: options.regionSubtrees === true },
    random,
    chooser: keyChooser(options.distribution, { keyCount: options.keyCount, regionCount: options.regionCount }, random),
    mix: options.mix,
    root: options.root,
    lockCount: options.lockCount,
    value: Buffer.alloc(options.valueBytes, 0x62),
    prefix: `${options.runId}-c${clientIndex}-`,
    counter: 0,
    ownNodes: [],
  };
}

function remember(state, path) {
  if (state.ownNodes.length < ownNodesMax) state.ownNodes.push(path);
}

async function lockAndRelease(state, directory) {
  const own = await create(state.client, `${directory}/lock-`, Buffer.alloc(0), createModes.ephemeralSequential);
  const ownName = own.slice(directory.length + 1);
  try {
    const deadline = performance.now() + lockWaitMsMax;
    for (;;) {
      const waiting = (await getChildren(state.client, directory)).filter((name) => name.startsWith("lock-")).sort();
      const index = waiting.indexOf(ownName);
      if (index === 0) return;
      if (index < 0) throw new Error("lock node vanished (session lost?)");
      let release;
      const released = new Promise((resolve) => (release = resolve));
      const stat = await exists(state.client, `${directory}/${waiting[index - 1]}`, () => release());
      if (stat === null) continue;
      const remainingMs = deadline - performance.now();
      let timer;
      const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, remainingMs))));
      const outcome = await Promise.race([released, timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") throw new Error(`lock not acquired within ${lockWaitMsMax} ms`);
    }
  } finally {
    await remove(state.client, own);
  }
}

/**
 * The next operation of a client: { type, region, keyOwner, run() }; run's
 * promise is what gets timed. keyOwner is "local" when the key lies in the
 * client's own region slice, else "remote".
 */
export function nextOperation(state, elapsedMs) {
  const key = state.chooser.next(state.region, elapsedMs);
  const path = keyPath(state.root, key, state.space);
  const keyOwner = regionSliceOf(key, state.space) === state.region ? "local" : "remote";
  let type = chooseOperation(state.mix, state.random);
  if (type === "delete" && state.ownNodes.length === 0) type = "create";
  const child = () => `${path}/${state.prefix}${(state.counter += 1)}`;
  const { client, value } = state;
  const run = {
    create: () => create(client, child(), value).then((made) => remember(state, made)),
    createEphemeral: () => create(client, child(), value, createModes.ephemeral).then((made) => remember(state, made)),
    createSequential: () => create(client, `${path}/s-`, value, createModes.persistentSequential).then((made) => remember(state, made)),
    setData: () => setData(client, path, value),
    getData: () => getData(client, path),
    exists: () => exists(client, path),
    getChildren: () => getChildren(client, path),
    delete: () => remove(client, state.ownNodes.splice(Math.floor(state.random() * state.ownNodes.length), 1)[0]),
    multi: () => {
      const made = child();
      return setAndCreate(client, path, made, value).then(() => remember(state, made));
    },
    lock: () => lockAndRelease(state, lockPath(state.root, key % state.lockCount)),
  }[type];
  return { type, region: state.region, keyOwner, run };
}
