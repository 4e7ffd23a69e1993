// Writes in flight: deltas that were prepared and staged (so later
// prepares see them) but are not applied to the DataTree yet, because the
// durable log has not confirmed them. Reads go to the DataTree and so see
// applied state only.
//
// Use: prepare -> stage (at once, before the next prepare) -> write to the
// log -> commitNext() for each delta in order once it is durable. If the
// log write fails, discardAll() drops everything in flight.

import { invariant } from "./assert.js";
import type { DataTree } from "./data-tree.js";
import { TreeOverlay } from "./overlay.js";
import { prepare } from "./prepare.js";
import type { Delta, PrepareOutcome, RequestContext, TreeEvent, TreeOptions, WriteRequest } from "./types.js";
import type { TreeView } from "./view.js";

interface StagedDelta {
  delta: Delta;
  tag: number;
}

export class PendingTree {
  readonly tree: DataTree;
  readonly #overlay: TreeOverlay;
  readonly #staged: StagedDelta[] = [];
  #nextTag = 1;

  constructor(tree: DataTree) {
    this.tree = tree;
    this.#overlay = new TreeOverlay(tree);
  }

  /** Applied state plus every staged delta. */
  get view(): TreeView {
    return this.#overlay;
  }

  get stagedCount(): number {
    return this.#staged.length;
  }

  /** Prepares against applied plus staged state; stages nothing. */
  prepare(request: WriteRequest, ctx: RequestContext, options: TreeOptions): PrepareOutcome {
    return prepare(this.#overlay, request, ctx, options);
  }

  /**
   * Records a delta prepared against the current view, so the next prepare
   * sees it. Must follow its prepare with no other stage in between; a
   * delta that does not fit the view trips an invariant.
   */
  stage(delta: Delta): void {
    const tag = this.#nextTag++;
    this.#overlay.applyDelta(delta, tag);
    this.#staged.push({ delta, tag });
  }

  /** The delta commitNext() will apply. */
  oldestStaged(): Delta | undefined {
    return this.#staged[0]?.delta;
  }

  /** Applies the oldest staged delta to the tree; returns its watch events. */
  commitNext(): TreeEvent[] {
    const next = this.#staged.shift();
    invariant(next !== undefined, "commitNext: nothing staged");
    const events = this.tree.apply(next.delta);
    this.#overlay.forget(next.tag);
    return events;
  }

  /** Drops every staged delta (none was applied); returns them, oldest first. */
  discardAll(): Delta[] {
    const dropped = this.#staged.map((staged) => staged.delta);
    this.#staged.length = 0;
    this.#overlay.clear();
    return dropped;
  }
}
