// runDifferential: every scenario against ZooKeeper and against Maestro, one
// server after the other, each in its own namespace; transcripts
// normalized, compared field by field, and every difference either
// explained by compat-tests/KNOWN_DIFFERENCES.md or counted as unexplained.
// Writes differential.json, differential.md and the transcripts to outDir.

import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RawClient } from "../../test/support/raw-client.js";
import { compareTranscripts, type Difference } from "./compare.js";
import { explain, globToRegExp, loadKnownDifferences, type KnownDifference } from "./known-differences.js";
import { normalizeTranscript } from "./normalize.js";
import { markdownReport } from "./report.js";
import { ScenarioAbort, ScenarioContext, digestId, superPassword, superUser, type Endpoint, type Scenario, type ScenarioExtras, type SuperCredentials } from "./scenario.js";
import { scenarios as allScenarios } from "./scenarios/index.js";
import { Transcript, type Json, type TranscriptRecord } from "./transcript.js";

/** Bound on one scenario against one server. */
export const scenarioTimeoutMs = 30_000;

export interface RunDifferentialOptions {
  zookeeper: Endpoint;
  maestro: Endpoint;
  /**
   * Servers with the default four-letter-word whitelist; scenarios that need
   * them are skipped without. A function is called only when such a scenario
   * runs, and the server it starts is stopped right after that side's run.
   */
  defaultWhitelist?: { zookeeper: EndpointSource; maestro: EndpointSource };
  /** Scenario names to run: a glob ("watch-*") or a substring; comma-separated alternatives. */
  filter?: string;
  outDir: string;
  /** Defaults to compat-tests/KNOWN_DIFFERENCES.md of this repository. */
  knownDifferencesPath?: string;
  /**
   * The super user both servers accept (their superDigest is
   * digestId(user, password)); default super / differential-super, as
   * servers.ts starts them.
   */
  superCredentials?: SuperCredentials;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** The scenario library (default: all of scenarios/). */
  scenarios?: readonly Scenario[];
}

export interface StartedEndpoint extends Endpoint {
  stop(): Promise<void>;
}

export type EndpointSource = Endpoint | (() => Promise<StartedEndpoint>);

async function withEndpoint<T>(source: EndpointSource | undefined, use: (endpoint: Endpoint | undefined) => Promise<T>): Promise<T> {
  if (typeof source !== "function") return use(source);
  const started = await source();
  try {
    return await use(started);
  } finally {
    await started.stop();
  }
}

export interface ExplainedDifference extends Difference {
  /** The reason from KNOWN_DIFFERENCES.md, or null when unexplained. */
  reason: string | null;
  knownDifferenceLine: number | null;
}

export type ScenarioStatus = "same" | "known" | "unexplained" | "skipped";

export interface ScenarioResult {
  name: string;
  description: string;
  status: ScenarioStatus;
  skipReason?: string;
  durationMs: { zookeeper: number; maestro: number };
  differences: ExplainedDifference[];
}

export interface DifferentialResult {
  /** Scenarios run (skipped ones excluded). */
  scenarios: number;
  /** Scenarios whose normalized transcripts are identical. */
  same: number;
  /** Scenarios that differ only where KNOWN_DIFFERENCES.md says they may. */
  knownDifferences: number;
  /** Scenarios with at least one difference nobody explained. */
  unexplained: number;
  skipped: number;
  /** Field-level counts over all scenarios. */
  differences: { known: number; unexplained: number };
  durationMs: number;
  details: ScenarioResult[];
  /** KNOWN_DIFFERENCES.md entries that matched nothing in this run (stale, or scenario filtered out). */
  unusedKnownDifferences: KnownDifference[];
  files: { json: string; markdown: string; transcripts: string };
}

function repositoryRoot(): string {
  // dist/compat-tests/differential/runner.js or compat-tests/differential/runner.ts
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join("dist", "compat-tests")}`) ? "../../.." : "../..";
  return resolve(here, up);
}

export const knownDifferencesPathDefault = join(repositoryRoot(), "compat-tests", "KNOWN_DIFFERENCES.md");
export const outDirDefault = join(repositoryRoot(), "compat-tests", "results", "differential");

export function selectScenarios(library: readonly Scenario[], filter: string | undefined): Scenario[] {
  if (filter === undefined || filter.trim() === "") return [...library];
  const alternatives = filter.split(",").map((part) => part.trim()).filter(Boolean);
  return library.filter((scenario) =>
    alternatives.some((alternative) => (alternative.includes("*") ? globToRegExp(alternative, null).test(scenario.name) : scenario.name.includes(alternative))),
  );
}

interface SideRun {
  records: TranscriptRecord[];
  normalized: TranscriptRecord[];
  durationMs: number;
}

/** A namespace root per server and run, so repeated runs against one server never collide. */
function newRoot(): string {
  return `/differential-${randomBytes(4).toString("hex")}`;
}

/**
 * The runner's own client, authenticated as super so it can remove whatever
 * ACLs a scenario left (a digest auth succeeds even where that id is not the
 * super digest; cleanup then leaves ACL-protected nodes behind).
 */
async function adminClient(endpoint: Endpoint, credentials: SuperCredentials): Promise<RawClient> {
  const client = await RawClient.connect({ host: endpoint.host, port: endpoint.port, timeOutMs: 30_000 });
  const reply = await client.addAuth("digest", `${credentials.user}:${credentials.password}`);
  if (reply.err !== 0) throw new Error(`super authentication refused by ${endpoint.host}:${endpoint.port} (err ${reply.err}); configure the super digest ${digestId(credentials.user, credentials.password)}`);
  return client;
}

async function deleteTree(client: RawClient, path: string): Promise<void> {
  const reply = await client.getChildren(path);
  if (reply.err === 0) {
    const { readChildren } = await import("../../test/support/raw-client.js");
    for (const child of readChildren(reply.body)) await deleteTree(client, `${path}/${child}`);
  }
  await client.delete(path);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScenarioAbort(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Ends sessions the scenario left behind (dropped connections), so they cannot expire during a later scenario. */
async function closeLeftoverSessions(endpoint: Endpoint, context: ScenarioContext): Promise<void> {
  for (const session of context.sessions()) {
    try {
      const client = await RawClient.connect({ host: endpoint.host, port: endpoint.port, sessionId: session.sessionId, passwd: session.passwd, timeOutMs: 30_000, connectTimeoutMs: 2_000 });
      if (client.handshake.timeOut > 0) await client.close();
      else client.destroy();
    } catch {
      // Already expired or closed: nothing left to end.
    }
  }
}

interface Side {
  endpoint: Endpoint;
  root: string;
  admin: RawClient;
  superCredentials: SuperCredentials;
}

async function runSide(scenario: Scenario, side: Side, extras: ScenarioExtras): Promise<SideRun> {
  const { endpoint, root, admin } = side;
  const base = `${root}/${scenario.name}`;
  const transcript = new Transcript();
  const context = new ScenarioContext(endpoint, base, transcript, side.superCredentials);
  const started = Date.now();
  const created = await admin.create(base);
  if (created.err !== 0) throw new Error(`cannot create the namespace ${base} (err ${created.err})`);
  try {
    await withTimeout(scenario.run(context, extras), scenarioTimeoutMs, scenario.name);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    transcript.add("aborted", { op: "aborted", error: message.split(";")[0] ?? message });
  }
  const durationMs = Date.now() - started;
  await context.disposeClients();
  await closeLeftoverSessions(endpoint, context);
  await deleteTree(admin, base).catch(() => {});
  const normalized = normalizeTranscript(transcript.records, { root, earliestMs: started - 60_000, latestMs: Date.now() + 60_000 });
  return { records: transcript.records, normalized, durationMs };
}

function statusOf(differences: readonly ExplainedDifference[]): ScenarioStatus {
  if (differences.length === 0) return "same";
  return differences.some((difference) => difference.reason === null) ? "unexplained" : "known";
}

function writeTranscripts(directory: string, name: string, zookeeper: SideRun, maestro: SideRun): void {
  const stringify = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  writeFileSync(join(directory, `${name}.zookeeper.json`), stringify({ raw: zookeeper.records, normalized: zookeeper.normalized }));
  writeFileSync(join(directory, `${name}.maestro.json`), stringify({ raw: maestro.records, normalized: maestro.normalized }));
}

interface Sides {
  zookeeper: Side;
  maestro: Side;
}

/** Connects the runner's admin clients and creates each server's namespace root. */
async function openSides(options: RunDifferentialOptions, credentials: SuperCredentials): Promise<Sides> {
  const opened: Side[] = [];
  try {
    for (const endpoint of [options.zookeeper, options.maestro]) {
      const admin = await adminClient(endpoint, credentials);
      const side: Side = { endpoint, root: newRoot(), admin, superCredentials: credentials };
      opened.push(side);
      const reply = await admin.create(side.root);
      if (reply.err !== 0) throw new Error(`cannot create ${side.root} on ${endpoint.host}:${endpoint.port} (err ${reply.err})`);
    }
  } catch (error) {
    await closeSides(opened);
    throw error;
  }
  return { zookeeper: opened[0]!, maestro: opened[1]! };
}

async function closeSides(sides: readonly Side[]): Promise<void> {
  for (const side of sides) {
    await deleteTree(side.admin, side.root).catch(() => {});
    await side.admin.close().catch(() => {});
  }
}

interface Explanations {
  known: readonly KnownDifference[];
  used: Set<KnownDifference>;
}

async function runScenario(scenario: Scenario, sides: Sides, options: RunDifferentialOptions, explanations: Explanations, transcriptsDir: string): Promise<ScenarioResult> {
  const needsExtra = scenario.needs === "defaultWhitelist";
  if (needsExtra && options.defaultWhitelist === undefined) {
    const skipReason = "needs servers with the default four-letter-word whitelist";
    return { name: scenario.name, description: scenario.description, status: "skipped", skipReason, durationMs: { zookeeper: 0, maestro: 0 }, differences: [] };
  }
  const zookeeper = await withEndpoint(needsExtra ? options.defaultWhitelist?.zookeeper : undefined, (extra) =>
    runSide(scenario, sides.zookeeper, { defaultWhitelist: extra }),
  );
  const maestro = await withEndpoint(needsExtra ? options.defaultWhitelist?.maestro : undefined, (extra) =>
    runSide(scenario, sides.maestro, { defaultWhitelist: extra }),
  );
  writeTranscripts(transcriptsDir, scenario.name, zookeeper, maestro);
  const differences: ExplainedDifference[] = compareTranscripts(zookeeper.normalized, maestro.normalized).map((difference) => {
    const entry = explain(explanations.known, scenario.name, difference);
    if (entry !== undefined) explanations.used.add(entry);
    return { ...difference, reason: entry?.reason ?? null, knownDifferenceLine: entry?.line ?? null };
  });
  const durationMs = { zookeeper: zookeeper.durationMs, maestro: maestro.durationMs };
  return { name: scenario.name, description: scenario.description, status: statusOf(differences), durationMs, differences };
}

function progressLine(result: ScenarioResult): string {
  if (result.status === "skipped") return `- ${result.name}: skipped (${result.skipReason ?? ""})`;
  const marks: Record<ScenarioStatus, string> = { same: "=", known: "~", unexplained: "x", skipped: "-" };
  const unexplained = result.differences.filter((difference) => difference.reason === null).length;
  const counts = result.differences.length > 0 ? ` (${result.differences.length} differences, ${unexplained} unexplained)` : "";
  return `${marks[result.status]} ${result.name}: ${result.status}${counts}`;
}

function summarize(details: ScenarioResult[], explanations: Explanations, startedMs: number, outDir: string, transcriptsDir: string): DifferentialResult {
  const ran = details.filter((detail) => detail.status !== "skipped");
  const allDifferences = ran.flatMap((detail) => detail.differences);
  return {
    scenarios: ran.length,
    same: ran.filter((detail) => detail.status === "same").length,
    knownDifferences: ran.filter((detail) => detail.status === "known").length,
    unexplained: ran.filter((detail) => detail.status === "unexplained").length,
    skipped: details.length - ran.length,
    differences: {
      known: allDifferences.filter((difference) => difference.reason !== null).length,
      unexplained: allDifferences.filter((difference) => difference.reason === null).length,
    },
    durationMs: Date.now() - startedMs,
    details,
    unusedKnownDifferences: explanations.known.filter((entry) => !explanations.used.has(entry)),
    files: { json: join(outDir, "differential.json"), markdown: join(outDir, "differential.md"), transcripts: transcriptsDir },
  };
}

/**
 * Runs the selected scenarios against both servers, one scenario at a time
 * (ZooKeeper first, then Maestro), compares, explains, and writes
 * differential.json, differential.md and transcripts/ into outDir.
 */
export async function runDifferential(options: RunDifferentialOptions): Promise<DifferentialResult> {
  const startedMs = Date.now();
  const log = options.log ?? (() => {});
  const explanations: Explanations = { known: loadKnownDifferences(options.knownDifferencesPath ?? knownDifferencesPathDefault), used: new Set() };
  const selected = selectScenarios(options.scenarios ?? allScenarios, options.filter);
  const outDir = resolve(options.outDir);
  const transcriptsDir = join(outDir, "transcripts");
  mkdirSync(transcriptsDir, { recursive: true });

  const sides = await openSides(options, options.superCredentials ?? { user: superUser, password: superPassword });
  const details: ScenarioResult[] = [];
  try {
    for (const scenario of selected) {
      const result = await runScenario(scenario, sides, options, explanations, transcriptsDir);
      details.push(result);
      log(progressLine(result));
    }
  } finally {
    await closeSides([sides.zookeeper, sides.maestro]);
  }
  const result = summarize(details, explanations, startedMs, outDir, transcriptsDir);
  writeFileSync(result.files.json, `${JSON.stringify(result, jsonReplacer, 2)}\n`);
  writeFileSync(result.files.markdown, markdownReport(result, { zookeeper: options.zookeeper, maestro: options.maestro }));
  return result;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export type { Json };
