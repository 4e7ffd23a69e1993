// When did a starting server become usable? The launchers in scripts/ poll
// `ruok` every 200 ms, too coarse to time a start; these probes poll every
// probeIntervalMs from a given start moment, alongside the launcher.
//
// Two readiness signals, because the servers differ: Maestro listens only
// after recovery, so its first `imok` means the data is loaded; ZooKeeper
// opens its client port before it loads its database and answers `ruok`
// with `imok` all the same, while `srvr` says "not currently serving
// requests" until the database is loaded. "Serving" is therefore the first
// `srvr` reply that carries the server's statistics.
import { fourLetterWord, sleep } from "../../scripts/zookeeper-standalone.mjs";
import { kernelThreadsCpuSeconds, machineCpuSeconds, processCpuSeconds } from "./process-stats.mjs";

const probeIntervalMs = 10;
const probeTimeoutMs = 2_000;
const loopbackHost = "127.0.0.1";

/**
 * Polls `word` until accept(reply) holds; resolves with the reply and the
 * milliseconds since startMs (a performance.now() value). Gives up after
 * timeoutMs or when stopped() is true.
 */
export async function pollFourLetterWord({ port, word, accept, startMs, timeoutMs, stopped = () => false }) {
  const deadline = startMs + timeoutMs;
  while (performance.now() < deadline && !stopped()) {
    try {
      const reply = await fourLetterWord(loopbackHost, port, word, probeTimeoutMs);
      const atMs = performance.now();
      if (accept(reply)) return { reply, elapsedMs: atMs - startMs };
    } catch {
      // Not listening yet.
    }
    await sleep(probeIntervalMs);
  }
  throw new Error(`${word} on ${loopbackHost}:${port}: no acceptable answer within ${timeoutMs} ms`);
}

export const isImOk = (reply) => reply === "imok";
export const isServingStats = (reply) => /^Zxid:/m.test(reply) && /^Node count:/m.test(reply);

/** "Node count: N" from a `srvr` reply, or null. */
export function nodeCountOf(srvrReply) {
  const match = /^Node count: (\d+)/m.exec(srvrReply);
  return match === null ? null : Number(match[1]);
}

/**
 * Runs start() (a launcher call that spawns the server and resolves once
 * it is up) and times it from just before the call with both probes.
 * Resolves with { server, ruokMs, servingMs, srvr, cpu }: cpu holds the
 * server's CPU seconds up to then, and the cores everything else on the
 * machine used meanwhile (other work disturbs the timing).
 */
export async function timeStart({ port, start, timeoutMs }) {
  const startMs = performance.now();
  const machineBefore = machineCpuSeconds().processes - kernelThreadsCpuSeconds();
  const ownBefore = process.cpuUsage();
  let failed = false;
  const ruok = pollFourLetterWord({ port, word: "ruok", accept: isImOk, startMs, timeoutMs, stopped: () => failed });
  const serving = pollFourLetterWord({ port, word: "srvr", accept: isServingStats, startMs, timeoutMs, stopped: () => failed });
  let server;
  try {
    server = await start();
  } catch (error) {
    failed = true;
    await Promise.allSettled([ruok, serving]);
    throw error;
  }
  try {
    const [ruokResult, servingResult] = await Promise.all([ruok, serving]);
    const seconds = (performance.now() - startMs) / 1000;
    const own = process.cpuUsage(ownBefore);
    const serverCpuSeconds = processCpuSeconds(server.pid);
    // Processes' CPU on the machine, minus kernel threads, the server and this process.
    const machineSeconds = machineCpuSeconds().processes - kernelThreadsCpuSeconds() - machineBefore;
    const otherCpuSeconds = machineSeconds - serverCpuSeconds - (own.user + own.system) / 1e6;
    const cpu = { serverCpuSeconds, otherCores: Math.max(0, otherCpuSeconds / seconds) };
    return { server, ruokMs: ruokResult.elapsedMs, servingMs: servingResult.elapsedMs, srvr: servingResult.reply, cpu };
  } catch (error) {
    failed = true;
    await server.stop();
    throw error;
  }
}
