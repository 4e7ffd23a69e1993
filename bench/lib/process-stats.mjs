// What the benchmarks record about processes and the machine, read from
// /proc (Linux only): CPU seconds of a pid, its resident memory, and the
// facts a reader needs to judge a result (cores, load, kernel, file system).
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

// USER_HZ: /proc/<pid>/stat counts CPU time in these ticks.
const clockTicksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** User plus system CPU seconds of a process (all its threads), or null if it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return null;
  }
}

/**
 * Busy CPU seconds of the whole machine so far, split into what processes
 * did (user, nice, system, steal: every field of /proc/stat's "cpu" line
 * but idle, iowait and interrupts) and interrupt handling (irq, softirq:
 * loopback traffic lands there when the kernel accounts it separately).
 */
export function machineCpuSeconds() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = fields;
  return { processes: (user + nice + system + (steal ?? 0)) / clockTicksPerSecond, interrupts: (irq + softirq) / clockTicksPerSecond };
}

/** All busy CPU seconds of the machine so far (see machineCpuSeconds). */
export function machineBusyCpuSeconds() {
  const { processes, interrupts } = machineCpuSeconds();
  return processes + interrupts;
}

const kernelThreadFlag = 0x00200000; // PF_KTHREAD in /proc/<pid>/stat's flags

/**
 * CPU seconds of the kernel's own threads so far (jbd2 journal commits and
 * writeback workers do the disk work behind fsync): not "other work", but
 * part of what a durable write costs.
 */
export function kernelThreadsCpuSeconds() {
  let total = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if ((Number(fields[6]) & kernelThreadFlag) === 0) continue;
      total += (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/** VmRSS and VmHWM (peak) of a process in bytes, or null if it is gone. */
export function processMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kibibytes = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kibibytes("VmRSS"), peakRssBytes: kibibytes("VmHWM") };
  } catch {
    return null;
  }
}

/**
 * Bytes of the regular files under `directory` that `include(relativePath)`
 * accepts: their sizes, and the disk space they take (which differs for
 * sparse or preallocated files, such as ZooKeeper's transaction logs).
 */
export function directoryBytes(directory, include = () => true) {
  const total = { bytes: 0, allocatedBytes: 0, files: [] };
  const walk = (path, relative) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const childRelative = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(join(path, entry.name), childRelative);
      } else if (entry.isFile() && include(childRelative)) {
        const stat = statSync(join(path, entry.name));
        total.bytes += stat.size;
        total.allocatedBytes += stat.blocks * 512;
        total.files.push({ name: childRelative, bytes: stat.size });
      }
    }
  };
  walk(directory, "");
  total.files.sort((a, b) => a.name.localeCompare(b.name));
  return total;
}

function commandOutput(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 ? (result.stdout + result.stderr).trim() : null;
}

/** File system (device, type, mount point) that holds `directory`. */
export function fileSystemOf(directory) {
  const line = commandOutput("df", ["--output=source,fstype,target", directory])?.split("\n")[1];
  if (line === undefined) return null;
  const [device, type, mountPoint] = line.trim().split(/\s+/);
  return { device, type, mountPoint };
}

/** The facts about this machine and the software under test that go into every result file. */
export function machineInfo({ repositoryRoot, dataRoot }) {
  return {
    hostname: os.hostname(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    node: process.version,
    java: commandOutput("java", ["-version"])?.split("\n")[0] ?? null,
    zookeeperPackage: commandOutput("dpkg-query", ["-W", "-f", "${Version}", "zookeeper"]),
    maestroCommit: commandOutput("git", ["-C", repositoryRoot, "rev-parse", "HEAD"]),
    maestroTreeDirty: (commandOutput("git", ["-C", repositoryRoot, "status", "--porcelain", "--untracked-files=no", "src"]) ?? "") !== "",
    loadAverageAtStart: os.loadavg(),
    dataRoot,
    dataFileSystem: fileSystemOf(dataRoot),
  };
}

/**
 * Waits, at most maxWaitMs, until the machine has been nearly idle (below
 * thresholdCores busy) for one sampleMs window, so a run does not start on
 * top of someone else's burst of work. Resolves with what it saw.
 */
export async function waitForQuietMachine({ maxWaitMs, thresholdCores = 0.25, sampleMs = 1_000 }) {
  const startMs = performance.now();
  let busyCores = Number.NaN;
  while (true) {
    const before = machineBusyCpuSeconds();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    busyCores = (machineBusyCpuSeconds() - before) / (sampleMs / 1000);
    const waitedMs = performance.now() - startMs;
    if (busyCores < thresholdCores) return { quiet: true, busyCores, waitedMs };
    if (waitedMs >= maxWaitMs) return { quiet: false, busyCores, waitedMs };
  }
}
