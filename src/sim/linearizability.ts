// A generic linearizability checker (Wing & Gong's search with Lowe's
// memoization, run just in time).
//
// Rather than searching whole orderings, the checker walks the history's
// events in time order and keeps every *configuration* still possible: a
// model state plus which of the currently open operations have already
// been linearized. At an invocation nothing changes; at a return the
// returning operation must take effect, so every configuration is extended
// by linearizing open operations, in any order, ending with the one that
// returns. Configurations are deduplicated by (state key, linearized set),
// which is Lowe's memoization. Where no operation is open the set of
// configurations is just the set of possible states, so a mostly
// sequential history is checked segment by segment in linear time, the
// segments being cut wherever no operation spans the cut.
//
// Operations with an unknown outcome (result null) have no return: they
// stay open and may be linearized at any later point, or never, unless
// they carry a deadline past which they can no longer take effect. Open
// unknown operations multiply configurations, so two prunings keep them in
// check: one that changes nothing is never linearized, and a configuration
// is dropped when another has the same state and the same known operations
// linearized but only a subset of its unknown ones (it can do all the
// first can, and more).

export interface Model<State, Call, Result> {
  init(): State;
  /** Must not modify `state`. */
  step(state: State, call: Call): { state: State; result: Result };
  /** expected: the model's answer; observed: what the client was told. */
  equal(expected: Result, observed: Result): boolean;
  /** Equal keys mean equal states (used to deduplicate configurations). */
  key(state: State): string;
}

export interface CheckedOp<Call, Result> {
  id: number;
  invokeMs: number;
  /** null = never answered. */
  completeMs: number | null;
  call: Call;
  /** null = unknown outcome: may take effect any time after invokeMs, or never. */
  result: Result | null;
  /** Unknown outcome only: no effect after this time (default: until the end of the history). */
  effectDeadlineMs?: number;
}

export type LinearizabilityVerdict =
  | { ok: true }
  /** opIds: the op that could not return, the ops open at that moment, and the ops that set the possible states. */
  | { ok: false; reason: string; opIds: number[] }
  | { ok: "unknown"; reason: "search bound"; opIds: number[] };

export interface CheckOptions {
  /** Bound on model steps for the whole check; past it the verdict is "unknown". */
  stepsMax?: number;
  /** Bound on configurations alive at once (memory); past it the verdict is "unknown". */
  configurationsMax?: number;
}

export const stepsMaxDefault = 1_000_000;
export const configurationsMaxDefault = 50_000;
const statesShownMax = 3;
const dominanceGroupMax = 1_000;
const stateKeyShownChars = 300;

interface Configuration<State> {
  readonly state: State;
  readonly stateKey: string;
  /** Indices of open ops already linearized, ascending. */
  readonly linearized: readonly number[];
  /** Id of the op whose linearization produced this state (for reports). */
  readonly via: number | null;
}

interface Event {
  readonly timeMs: number;
  readonly kind: "invoke" | "return" | "deadline";
  readonly index: number;
}

class SearchBoundReached extends Error {}

/** Checks one independent history (for example one lease unit's operations). */
export function checkLinearizable<State, Call, Result>(
  model: Model<State, Call, Result>,
  ops: readonly CheckedOp<Call, Result>[],
  options: CheckOptions = {},
): LinearizabilityVerdict {
  const search = new Search(model, ops, {
    stepsMax: options.stepsMax ?? stepsMaxDefault,
    configurationsMax: options.configurationsMax ?? configurationsMaxDefault,
  });
  return search.run();
}

class Search<State, Call, Result> {
  private configurations: Configuration<State>[];
  private readonly open = new Set<number>();
  private steps = 0;

  constructor(
    private readonly model: Model<State, Call, Result>,
    private readonly ops: readonly CheckedOp<Call, Result>[],
    private readonly bounds: Required<CheckOptions>,
  ) {
    const state = model.init();
    this.configurations = [{ state, stateKey: model.key(state), linearized: [], via: null }];
  }

  run(): LinearizabilityVerdict {
    for (const event of events(this.ops)) {
      if (event.kind === "invoke") this.open.add(event.index);
      if (event.kind === "deadline") this.forget(event.index);
      if (event.kind !== "return") continue;
      const verdict = this.returnOf(event.index);
      if (verdict !== null) return verdict;
    }
    return { ok: true };
  }

  /** The op at `index` returns: it must be linearized in every surviving configuration. */
  private returnOf(index: number): LinearizabilityVerdict | null {
    const before = this.configurations;
    let after: Configuration<State>[];
    try {
      after = this.extendThrough(index);
    } catch (error) {
      if (!(error instanceof SearchBoundReached)) throw error;
      return { ok: "unknown", reason: "search bound", opIds: this.involved(index, before) };
    }
    if (after.length === 0) return { ok: false, reason: this.failureReason(index, before), opIds: this.involved(index, before) };
    this.configurations = after;
    this.forget(index);
    this.retireSettledUnknowns();
    this.configurations = this.withoutDominated(this.configurations);
    return null;
  }

  /** `index` can take effect no more (returned, or past its deadline): stop tracking it. */
  private forget(index: number): void {
    this.open.delete(index);
    const merged = new Map<string, Configuration<State>>();
    for (const configuration of this.configurations) {
      const linearized = configuration.linearized.filter((linearized) => linearized !== index);
      const next = { ...configuration, linearized };
      merged.set(configurationKey(next), next);
    }
    this.configurations = [...merged.values()];
  }

  /** Drops configurations that another one dominates (see the top of the file). */
  private withoutDominated(configurations: readonly Configuration<State>[]): Configuration<State>[] {
    if (configurations.length < 2) return [...configurations];
    const groups = new Map<string, Configuration<State>[]>();
    for (const configuration of configurations) {
      const known = configuration.linearized.filter((index) => this.ops[index]!.result !== null);
      const key = `${known.join(",")}|${configuration.stateKey}`;
      groups.set(key, [...(groups.get(key) ?? []), configuration]);
    }
    const kept: Configuration<State>[] = [];
    for (const group of groups.values()) {
      // Pairwise subset tests are quadratic; a huge group is kept whole.
      if (group.length > dominanceGroupMax) {
        kept.push(...group);
        continue;
      }
      const minimal: Configuration<State>[] = [];
      for (const configuration of group.sort((a, b) => a.linearized.length - b.linearized.length)) {
        if (!minimal.some((smaller) => smaller.linearized.every((index) => configuration.linearized.includes(index)))) minimal.push(configuration);
      }
      kept.push(...minimal);
    }
    return kept;
  }

  /**
   * Every configuration in which `index` has taken effect: those where it
   * already has, and those reachable by linearizing open ops, in any
   * order, the last being `index`.
   */
  private extendThrough(index: number): Configuration<State>[] {
    const results = new Map<string, Configuration<State>>();
    const seen = new Set<string>(this.configurations.map(configurationKey));
    const stack: Configuration<State>[] = [];
    for (const configuration of this.configurations) {
      if (configuration.linearized.includes(index)) results.set(configurationKey(configuration), configuration);
      else stack.push(configuration);
    }
    for (let configuration = stack.pop(); configuration !== undefined; configuration = stack.pop()) {
      for (const candidate of this.open) {
        if (configuration.linearized.includes(candidate)) continue;
        const next = this.linearize(configuration, candidate);
        if (next === null) continue;
        const key = configurationKey(next);
        if (seen.size + results.size > this.bounds.configurationsMax) throw new SearchBoundReached();
        if (candidate === index) results.set(key, next);
        else if (!seen.has(key)) {
          seen.add(key);
          stack.push(next);
        }
      }
    }
    return [...results.values()];
  }

  /** The configuration after `index` takes effect, or null if its answer contradicts the model. */
  private linearize(configuration: Configuration<State>, index: number): Configuration<State> | null {
    this.steps += 1;
    if (this.steps > this.bounds.stepsMax) throw new SearchBoundReached();
    const op = this.ops[index]!;
    const { state, result } = this.model.step(configuration.state, op.call);
    if (op.result !== null && !this.model.equal(result, op.result)) return null;
    const stateKey = this.model.key(state);
    // An unknown op that changes nothing is better left unlinearized: the
    // configuration without it has the same state and more choices left.
    if (op.result === null && stateKey === configuration.stateKey) return null;
    return { state, stateKey, linearized: insertSorted(configuration.linearized, index), via: op.id };
  }

  /** Unknown ops linearized in every configuration no longer need tracking. */
  private retireSettledUnknowns(): void {
    for (const index of this.open) {
      if (this.ops[index]!.result !== null) continue;
      if (this.configurations.every((configuration) => configuration.linearized.includes(index))) this.forget(index);
    }
  }

  private involved(index: number, before: readonly Configuration<State>[]): number[] {
    const ids = new Set<number>([this.ops[index]!.id]);
    for (const open of this.open) ids.add(this.ops[open]!.id);
    for (const configuration of before) if (configuration.via !== null) ids.add(configuration.via);
    return [...ids].sort((a, b) => a - b);
  }

  private failureReason(index: number, before: readonly Configuration<State>[]): string {
    const op = this.ops[index]!;
    const others = [...this.open].filter((open) => open !== index).map((open) => this.ops[open]!.id);
    const states = before
      .slice(0, statesShownMax)
      .map((configuration) => `${configuration.stateKey.slice(0, stateKeyShownChars)} (after #${configuration.via ?? "init"})`);
    return (
      `op #${op.id} ${JSON.stringify(op.call)} answered ${JSON.stringify(op.result)}, ` +
      `which no order allows; concurrent ops: [${others.join(", ")}]; ` +
      `${before.length} possible state(s) before it: ${states.join("; ")}`
    );
  }
}

/** Invocations before returns and deadlines at the same millisecond: touching ops count as concurrent. */
function events<Call, Result>(ops: readonly CheckedOp<Call, Result>[]): Event[] {
  const list: Event[] = [];
  ops.forEach((op, index) => {
    list.push({ timeMs: op.invokeMs, kind: "invoke", index });
    if (op.result === null && op.effectDeadlineMs !== undefined) list.push({ timeMs: Math.max(op.invokeMs, op.effectDeadlineMs), kind: "deadline", index });
    if (op.result === null) return;
    if (op.completeMs === null) throw new Error(`history: op #${op.id} has a result but no completion time`);
    if (op.completeMs < op.invokeMs) throw new Error(`history: op #${op.id} completes before it is invoked`);
    list.push({ timeMs: op.completeMs, kind: "return", index });
  });
  const rank = (event: Event): number => (event.kind === "invoke" ? 0 : 1);
  return list.sort((a, b) => a.timeMs - b.timeMs || rank(a) - rank(b) || a.index - b.index);
}

function configurationKey<State>(configuration: Configuration<State>): string {
  return `${configuration.linearized.join(",")}|${configuration.stateKey}`;
}

function insertSorted(values: readonly number[], value: number): number[] {
  const result = [...values, value];
  return result.sort((a, b) => a - b);
}
