// The sequential specification of one lease unit's znodes, written apart
// from src/tree on purpose: the checker must not share the bugs of the code
// it checks. Plus the history-level check: partition by unit, keep the
// operations that must be linearizable, and run the generic checker.

import { ZnodeError, isRead } from "./history.js";
import type { HistoryOp, ZnodeCall, ZnodeResult } from "./history.js";
import { checkLinearizable } from "./linearizability.js";
import type { CheckedOp, LinearizabilityVerdict, Model } from "./linearizability.js";

export interface Znode {
  readonly data: string;
  readonly version: number;
  /** Creations of children ever (deletions do not decrement): the next sequence number. */
  readonly cversion: number;
}

/** path -> znode. Never modified: every step builds a new map. */
export type ZnodeState = ReadonlyMap<string, Znode>;

/**
 * A znode that exists before the run (parents the simulator creates up
 * front). data defaults to ""; cversion defaults to the number of initial
 * children, which is right unless children were created and deleted before.
 */
export type InitialZnode = string | { path: string; data?: string; cversion?: number };

type Step = { state: ZnodeState; result: ZnodeResult };

const sequenceDigits = 10;

/** The model of one unit whose znodes start as `initial` (cversions count the initial children). */
export function znodeModel(initial: readonly InitialZnode[]): Model<ZnodeState, ZnodeCall, ZnodeResult> {
  const keys = new WeakMap<ZnodeState, string>();
  return {
    init: () => initialState(initial),
    step,
    equal: resultsEqual,
    key(state) {
      let key = keys.get(state);
      if (key === undefined) {
        key = stateKey(state);
        keys.set(state, key);
      }
      return key;
    },
  };
}

export function parentPath(path: string): string | null {
  const slash = path.lastIndexOf("/");
  if (slash < 0 || path === "/") return null;
  return slash === 0 ? "/" : path.slice(0, slash);
}

function initialState(initial: readonly InitialZnode[]): ZnodeState {
  const state = new Map<string, Znode>();
  for (const entry of initial) {
    const path = typeof entry === "string" ? entry : entry.path;
    const data = typeof entry === "string" ? "" : (entry.data ?? "");
    state.set(path, { data, version: 0, cversion: 0 });
  }
  for (const path of [...state.keys()]) {
    const parent = parentPath(path);
    const node = parent === null ? undefined : state.get(parent);
    if (parent !== null && node !== undefined) state.set(parent, { ...node, cversion: node.cversion + 1 });
  }
  for (const entry of initial) {
    if (typeof entry === "string" || entry.cversion === undefined) continue;
    state.set(entry.path, { ...state.get(entry.path)!, cversion: entry.cversion });
  }
  return state;
}

function step(state: ZnodeState, call: ZnodeCall): Step {
  switch (call.op) {
    case "create":
      return create(state, call.path, call.data, call.sequential);
    case "setData":
      return setData(state, call.path, call.data, call.version);
    case "delete":
      return remove(state, call.path, call.version);
    case "getData":
      return getData(state, call.path);
    case "getChildren":
      return getChildren(state, call.path);
  }
}

function failed(state: ZnodeState, err: (typeof ZnodeError)[keyof typeof ZnodeError]): Step {
  return { state, result: { ok: false, err } };
}

function create(state: ZnodeState, path: string, data: string, sequential: boolean): Step {
  const parent = parentPath(path);
  const parentNode = parent === null ? undefined : state.get(parent);
  if (parent === null || parentNode === undefined) return failed(state, ZnodeError.noNode);
  // ZooKeeper names a sequential node after the parent's cversion before this creation.
  const actual = sequential ? path + String(parentNode.cversion).padStart(sequenceDigits, "0") : path;
  if (state.has(actual)) return failed(state, ZnodeError.nodeExists);
  const next = new Map(state);
  next.set(parent, { ...parentNode, cversion: parentNode.cversion + 1 });
  next.set(actual, { data, version: 0, cversion: 0 });
  return { state: next, result: { ok: true, path: actual } };
}

function setData(state: ZnodeState, path: string, data: string, version: number): Step {
  const node = state.get(path);
  if (node === undefined) return failed(state, ZnodeError.noNode);
  if (version !== -1 && version !== node.version) return failed(state, ZnodeError.badVersion);
  const next = new Map(state);
  next.set(path, { ...node, data, version: node.version + 1 });
  return { state: next, result: { ok: true, version: node.version + 1 } };
}

/** ZooKeeper's order of checks: NoNode, then BadVersion, then NotEmpty. */
function remove(state: ZnodeState, path: string, version: number): Step {
  const node = state.get(path);
  if (node === undefined) return failed(state, ZnodeError.noNode);
  if (version !== -1 && version !== node.version) return failed(state, ZnodeError.badVersion);
  if (childNames(state, path).length > 0) return failed(state, ZnodeError.notEmpty);
  const next = new Map(state);
  next.delete(path);
  return { state: next, result: { ok: true } };
}

function getData(state: ZnodeState, path: string): Step {
  const node = state.get(path);
  if (node === undefined) return failed(state, ZnodeError.noNode);
  return { state, result: { ok: true, data: node.data, version: node.version } };
}

function getChildren(state: ZnodeState, path: string): Step {
  if (!state.has(path)) return failed(state, ZnodeError.noNode);
  return { state, result: { ok: true, children: childNames(state, path) } };
}

/** Sorted names (not paths) of the children of `path`. */
export function childNames(state: ZnodeState, path: string): string[] {
  const names: string[] = [];
  for (const candidate of state.keys()) {
    if (candidate !== path && parentPath(candidate) === path) names.push(candidate.slice(path === "/" ? 1 : path.length + 1));
  }
  return names.sort();
}

/** The fields the model answers must match; extra observed fields are ignored. */
function resultsEqual(expected: ZnodeResult, observed: ZnodeResult): boolean {
  if (!expected.ok || !observed.ok) return !expected.ok && !observed.ok && expected.err === observed.err;
  if (expected.path !== undefined && expected.path !== observed.path) return false;
  if (expected.version !== undefined && expected.version !== observed.version) return false;
  if (expected.data !== undefined && expected.data !== observed.data) return false;
  if (expected.children === undefined) return true;
  return observed.children !== undefined && [...observed.children].sort().join("/") === expected.children.join("/");
}

function stateKey(state: ZnodeState): string {
  const paths = [...state.keys()].sort();
  return paths.map((path) => {
    const node = state.get(path)!;
    return `${path}@${node.version}.${node.cversion}=${JSON.stringify(node.data)}`;
  }).join(" ");
}

export type ZnodeHistoryVerdict =
  | { ok: true }
  | { ok: false; unit: string; reason: string; opIds: number[] }
  | { ok: "unknown"; unit: string; reason: "search bound"; opIds: number[] };

export interface ZnodeHistoryOptions {
  /** The znodes of `unit` that exist before the run. */
  initialZnodes(unit: string): readonly InitialZnode[];
  /** Model steps allowed per unit. */
  stepsMax?: number;
}

/**
 * Checks that each unit's writes and synced reads are linearizable.
 * Unsynced reads may be stale and are left to the session checks; reads of
 * unknown outcome tell nothing. Reports the first unit that fails, else the
 * first whose search hit the bound.
 */
export function checkZnodeHistory(history: readonly HistoryOp[], options: ZnodeHistoryOptions): ZnodeHistoryVerdict {
  let undecided: ZnodeHistoryVerdict | null = null;
  for (const [unit, ops] of linearizableOpsByUnit(history)) {
    const model = znodeModel(options.initialZnodes(unit));
    const verdict: LinearizabilityVerdict = checkLinearizable(model, ops, { stepsMax: options.stepsMax });
    if (verdict.ok === false) return { ...verdict, unit };
    if (verdict.ok === "unknown") undecided ??= { ...verdict, unit };
  }
  return undecided ?? { ok: true };
}

function linearizableOpsByUnit(history: readonly HistoryOp[]): Map<string, CheckedOp<ZnodeCall, ZnodeResult>[]> {
  const byUnit = new Map<string, CheckedOp<ZnodeCall, ZnodeResult>[]>();
  for (const op of history) {
    if (isRead(op.call) && (!op.call.synced || op.result === null)) continue;
    let ops = byUnit.get(op.unit);
    if (ops === undefined) {
      ops = [];
      byUnit.set(op.unit, ops);
    }
    ops.push(op);
  }
  return byUnit;
}
