// A lab (dist/src/lab/lab.js) in a child process, with the WAN emulator's
// HTTP control API (src/lab/wan-control.ts) listening on loopback, for
// measurements that drive load from the parent: the emulator's proxies then
// do not share an event loop with the load generator, and partitions go
// through the control API as an operator's would. Run `npm run build` first.
//
//   const lab = await startLabProcess({ deployment: "maestro-cluster", ... });
//   lab.regions, lab.addresses, lab.servers, lab.controlPort
//   await lab.control("POST", "/partition", { a: "ap-south", b: "us-east" });
//   await lab.stop();
//
// As a script (the child): node bench/lib/lab-process.mjs TOPOLOGY_JSON READY_TIMEOUT_MS [DIRECTORY]
// prints one JSON line {event: "ready", ...} (or {event: "failed", error})
// and stops the lab on SIGTERM, SIGINT or when its stdin closes (the
// parent is gone).
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const thisScript = fileURLToPath(import.meta.url);
const stopTimeoutMs = 30_000;
const controlTimeoutMs = 5_000;
const stderrCharsMax = 8_000;

/**
 * Starts the lab of `topology` (a lab topology object) in a child process;
 * resolves once it is ready. With `directory` the lab's data and logs go
 * there (start-<attempt>/) and stay after stop() (default: a temporary
 * directory, removed). A start that fails is tried afresh, `attempts` in all.
 */
export async function startLabProcess(topology, { readyTimeoutMs = 90_000, directory, attempts = 2 } = {}) {
  // A lab picks free ports and then starts its servers on them; another program on the machine can take one
  // in between (EADDRINUSE). A fresh start, with fresh ports, gets past that.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startLabProcessOnce(topology, { readyTimeoutMs, directory: directory === undefined ? undefined : join(directory, `start-${attempt}`) });
    } catch (error) {
      if (attempt >= attempts) throw error;
      process.stderr.write(`lab-process: start ${attempt} of ${attempts} failed, starting afresh: ${String(error?.message ?? error).split("\n")[0]}\n`);
    }
  }
}

function startLabProcessOnce(topology, { readyTimeoutMs, directory }) {
  const args = [thisScript, JSON.stringify(topology), String(readyTimeoutMs), ...(directory === undefined ? [] : [directory])];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-stderrCharsMax);
  });
  const exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return new Promise((resolveLab, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the lab did not start within ${readyTimeoutMs + 30_000} ms${tail(stderr)}`));
    }, readyTimeoutMs + 30_000);
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      clearTimeout(timer);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        child.kill("SIGKILL");
        reject(new Error(`the lab printed ${line.slice(0, 200)}${tail(stderr)}`));
        return;
      }
      if (message.event !== "ready") {
        reject(new Error(`the lab failed: ${message.error ?? line}${tail(stderr)}`));
        return;
      }
      resolveLab({
        ...message,
        control: (method, path, body) => controlRequest(message.controlPort, method, path, body),
        stop: async () => {
          child.stdin.end();
          const timerStop = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
          await exited;
          clearTimeout(timerStop);
          process.off("exit", killOnExit);
        },
      });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the lab process ended (code ${code}, signal ${signal})${tail(stderr)}`));
    });
  });
}

/** One request to the emulator's control API; resolves with the JSON answer, throws on a non-200 status. */
export async function controlRequest(port, method, path, body) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(controlTimeoutMs),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

function tail(text) {
  return text.trim() === "" ? "" : `\n--- lab stderr ---\n${text.trim()}`;
}

async function runChild(topologyJson, readyTimeoutMs, directory) {
  const { Lab } = await import(join(repositoryRoot, "dist", "src", "lab", "lab.js"));
  const { parseLabTopology } = await import(join(repositoryRoot, "dist", "src", "lab", "lab-topology.js"));
  const { startControlServer } = await import(join(repositoryRoot, "dist", "src", "lab", "wan-control.js"));
  const topology = parseLabTopology(JSON.parse(topologyJson));
  const lab = await Lab.start(topology, { readyTimeoutMs, startAttempts: 3, ...(directory === undefined ? {} : { directory }) });
  const control = await startControlServer(lab.emulator, "127.0.0.1", 0);
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      await control.close();
      await lab.stop();
      process.exit(0);
    })();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
  const addresses = lab.clientAddresses();
  const servers = topology.regions.map((region) => {
    const server = lab.servers.find((entry) => entry.region === region);
    return { region, kind: server.kind, id: server.id, node: server.node, clientPort: server.clientPort, mode: server.mode, logPath: server.logPath };
  });
  process.stdout.write(
    `${JSON.stringify({ event: "ready", deployment: topology.deployment, regions: topology.regions, addresses, servers, controlPort: control.port, notes: lab.notes(), directory: lab.directory })}\n`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === thisScript) {
  const [topologyJson, readyTimeoutMs, directory] = process.argv.slice(2);
  runChild(topologyJson ?? "{}", Number(readyTimeoutMs ?? 90_000), directory).catch((error) => {
    process.stdout.write(`${JSON.stringify({ event: "failed", error: error instanceof Error ? error.message : String(error) })}\n`);
    process.exit(1);
  });
}
