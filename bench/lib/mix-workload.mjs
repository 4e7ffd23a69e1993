// The `npm run bench` workload: each client session draws an operation
// from the mix and a key from the distribution (for its region, at the
// elapsed time), both from its own seeded generator. Keys are nodes
// root/keys/k<key>, made by setUpKeySpace before the clients start; creates
// go below a key node and are remembered so deletes remove the client's own
// nodes; the lock recipe takes and releases an ephemeral-sequential lock
// under root/locks/l<n>.
import { chooseOperation } from "../../dist/src/bench/mix.js";
import { keyChooser, seededRandom } from "../../dist/src/bench/distributions.js";
import { connect, create, createModes, ensureNode, exists, getChildren, getData, remove, setAndCreate, setData } from "./zookeeper-client.mjs";

/** Key nodes made by the set-up; more would make the set-up the benchmark. */
export const keyCountMax = 100_000;
/** Each client remembers at most this many of its nodes for deletes. */
const ownNodesMax = 10_000;
/** A lock waiter gives up after this long (and the operation is an error). */
const lockWaitMsMax = 10_000;
const setUpBatch = 256;

export const keyPath = (root, key) => `${root}/keys/k${key}`;
const lockPath = (root, lock) => `${root}/locks/l${lock}`;

/** Makes root, root/keys/k0..k<keyCount-1> (with valueBytes values) and the lock directories; idempotent. */
export async function setUpKeySpace({ connectionString, root, keyCount, lockCount, valueBytes }) {
  if (keyCount > keyCountMax) throw new RangeError(`--keys must be at most ${keyCountMax}`);
  const client = await connect(connectionString);
  try {
    for (const path of [root, `${root}/keys`, `${root}/locks`]) await ensureNode(client, path);
    const value = Buffer.alloc(valueBytes, 0x61);
    const paths = [];
    for (let key = 0; key < keyCount; key += 1) paths.push(keyPath(root, key));
    for (let lock = 0; lock < lockCount; lock += 1) paths.push(lockPath(root, lock));
    for (let start = 0; start < paths.length; start += setUpBatch) {
      await Promise.all(paths.slice(start, start + setUpBatch).map((path) => ensureNode(client, path, value)));
    }
  } finally {
    client.close();
  }
}

/** One client's state: its session, region, generators and the nodes it made. */
export function clientState(client, clientIndex, options) {
  const random = seededRandom(options.seed * 1_000_003 + clientIndex);
  return {
    client,
    clientIndex,
    region: clientIndex % options.regionCount,
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

/** The next operation of a client: { type, region, run() }; run's promise is what gets timed. */
export function nextOperation(state, elapsedMs) {
  const key = state.chooser.next(state.region, elapsedMs);
  const path = keyPath(state.root, key);
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
  return { type, region: state.region, run };
}
