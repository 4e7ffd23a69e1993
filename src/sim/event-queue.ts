// The simulator's virtual clock: events run in time order, and events at the
// same millisecond in the order they were scheduled (so a seed replays
// exactly). A binary heap keyed by (time, sequence number).

interface Event {
  atMs: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  readonly #heap: Event[] = [];
  #seq = 0;
  #now = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `run` at `atMs` (never in the past). */
  at(atMs: number, run: () => void): void {
    const event: Event = { atMs: Math.max(this.#now, Math.floor(atMs)), seq: this.#seq++, run };
    const heap = this.#heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  /** Runs the earliest event; false when none is left. */
  step(): boolean {
    const heap = this.#heap;
    const first = heap[0];
    if (first === undefined) return false;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    this.#now = first.atMs;
    first.run();
    return true;
  }
}

function before(a: Event, b: Event): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
