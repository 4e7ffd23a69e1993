// Scripted sessions for the command-line clients that ship with Apache
// ZooKeeper (the Java zkCli here, the C client's cli_mt in ../c): a session is
// one long-running CLI process; each step writes a command line, then a
// marker command whose output the driver waits for, so the text between two
// markers is exactly one command's output. Every wait is bounded.
//
// Outputs are normalized (zxids, times, session ids, the run's root path,
// host:port) and compared with an expected transcript recorded from Apache
// ZooKeeper 3.8.0 and reviewed (expected/zookeeper-3.8.0.txt), and between
// the two servers by run.mjs.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const stepTimeoutMsDefault = 20_000;

/**
 * A CLI process whose stdout and stderr arrive merged in `text`. `run(line,
 * isDone)` writes one or more lines and resolves, once `isDone(newText)`
 * holds, with everything printed since the previous step ended.
 */
export class CliProcess {
  constructor(command, args, { env = process.env } = {}) {
    // sh merges stderr into stdout so the two keep their order.
    this.child = spawn("sh", ["-c", 'exec "$0" "$@" 2>&1', command, ...args], {
      env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.text = "";
    // Where the next step's output starts: nothing printed between two steps
    // (a late watch event) is lost.
    this.cursor = 0;
    this.exited = false;
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk) => {
      this.text += chunk;
      this.wake?.();
    });
    this.child.on("exit", () => {
      this.exited = true;
      this.wake?.();
    });
    this.child.stdin.on("error", () => undefined);
  }

  /** Resolves once isDone(text since `from`) is true; rejects on timeout or exit. */
  waitFor(from, isDone, timeoutMs, what) {
    return new Promise((resolveWait, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`${what}: no complete answer within ${timeoutMs} ms; got ${JSON.stringify(this.text.slice(from).slice(-600))}`));
      }, timeoutMs);
      const test = () => {
        const fresh = this.text.slice(from);
        if (isDone(fresh)) {
          clearTimeout(timer);
          this.wake = undefined;
          this.cursor = this.text.length;
          resolveWait(fresh);
        } else if (this.exited) {
          clearTimeout(timer);
          this.wake = undefined;
          const error = new Error(`${what}: the CLI exited; output ${JSON.stringify(fresh.slice(-600))}`);
          error.exitedWithOutput = fresh;
          reject(error);
        }
      };
      this.wake = test;
      test();
    });
  }

  async run(lines, isDone, timeoutMs = stepTimeoutMsDefault, what = lines) {
    const from = this.cursor;
    this.child.stdin.write(`${lines}\n`);
    return this.waitFor(from, isDone, timeoutMs, what);
  }

  /** Ends stdin, waits (bounded) for the exit, then kills. */
  async close(quitLine, timeoutMs = 10_000) {
    if (!this.exited) {
      if (quitLine) this.child.stdin.write(`${quitLine}\n`);
      this.child.stdin.end();
    }
    const exited = new Promise((resolveExit) => {
      if (this.exited) resolveExit();
      else this.child.once("exit", resolveExit);
    });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/**
 * Replaces each distinct value matched by `pattern` (capture group 1) with
 * `${prefix}${n}`, numbered in order of first appearance: equal values stay
 * equal, so "cZxid equals mZxid" survives while the server's numbering goes.
 */
export class Renumberer {
  constructor(prefix) {
    this.prefix = prefix;
    this.names = new Map();
  }
  name(value) {
    if (!this.names.has(value)) this.names.set(value, `${this.prefix}${this.names.size + 1}`);
    return this.names.get(value);
  }
}

/** Parses an expected transcript: "## id" headers, each followed by its output lines. */
export function readTranscript(file) {
  const expected = new Map();
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return expected;
  }
  let current = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) {
      current = line.slice(3);
      expected.set(current, []);
    } else if (current !== null && !line.startsWith("#")) {
      expected.get(current).push(line);
    }
  }
  for (const [id, lines] of expected) {
    while (lines.length > 0 && lines.at(-1) === "") lines.pop();
    expected.set(id, lines.join("\n"));
  }
  return expected;
}

/** Writes tests' outputs as an expected transcript (for --record). */
export function writeTranscript(file, header, tests) {
  const blocks = tests.filter((test) => test.output !== undefined).map((test) => `## ${test.id}\n${test.output}\n`);
  writeFileSync(file, `${header.map((line) => `# ${line}`).join("\n")}\n\n${blocks.join("\n")}`);
}

/**
 * Judges a step: its normalized output must equal the expected transcript's
 * block (when there is one) and match every `expect` regex of the step.
 */
export function judge(id, output, expectedTranscript, step) {
  const problems = [];
  const expected = expectedTranscript.get(id);
  if (expected === undefined) problems.push("no expected output recorded for this step");
  else if (expected !== output) problems.push(`expected:\n${indent(expected)}\ngot:\n${indent(output)}`);
  for (const pattern of step.expect ?? []) {
    if (!pattern.test(output)) problems.push(`output does not match ${pattern}:\n${indent(output)}`);
  }
  return problems.length === 0 ? { status: "passed" } : { status: "failed", detail: problems.join("\n") };
}

export function indent(text) {
  return text === "" ? "    (no output)" : text.replace(/^/gm, "    ");
}
