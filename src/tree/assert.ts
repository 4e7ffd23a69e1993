// Invariants of the tree's own code. A failed invariant means a bug (for
// example a delta that was not prepared against the state it is applied
// to); it stays on in production and stops the caller before bad state can
// spread. Bad client input never reaches here: prepare answers it with an
// error code.

export class TreeInvariantError extends Error {
  readonly code = "TREE_INVARIANT";
  override readonly name = "TreeInvariantError";
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new TreeInvariantError(message);
}
