/**
 * A min-cost flow on a small graph (successive shortest paths with Dijkstra on reduced costs), and
 * its binary heap: the stock moves' reassignment of a SKU's units among lines (stock-moves.ts).
 */

/**
 * A flow graph's arcs: each arc u→v is stored with its reverse (index e ^ 1), as residual capacity,
 * cost and the next arc out of the same node; `head` holds each node's first arc (-1: none).
 */
export class FlowArcs<Head extends number[] | Int32Array> {
  protected readonly to: number[] = [];
  protected readonly cap: number[] = [];
  protected readonly cost: number[] = [];
  protected readonly next: number[] = [];
  protected readonly flow0: number[] = [];
  constructor(protected readonly head: Head) {}
  /** An arc u→v; returns its index (for flowOn). */
  add(u: number, v: number, cap: number, cost: number): number {
    const e = this.to.length;
    this.to.push(v, u);
    this.cap.push(cap, 0);
    this.flow0.push(cap, 0);
    this.cost.push(cost, -cost);
    this.next.push(this.head[u]!, this.head[v]!);
    this.head[u] = e;
    this.head[v] = e + 1;
    return e;
  }
  /** The units arc `e` carries. */
  flowOn(e: number): number {
    return this.flow0[e]! - this.cap[e]!;
  }
}

/** Min-cost flow on a small graph. */
export class MinCostFlow extends FlowArcs<Int32Array> {
  constructor(readonly n: number) {
    super(new Int32Array(n).fill(-1));
  }
  /**
   * Send `supply[k]` units from each node `from[k]` to t, at least cost for all of them together:
   * successive shortest paths, one source at a time, by Dijkstra on costs reduced by node potentials
   * (every arc's cost is ≥ 0 to begin with), stopping once t is settled. The units sent.
   */
  run(from: number[], supply: number[], t: number): number {
    const { n, to, cap, cost, next, head } = this;
    const dist = new Float64Array(n);
    const pot = new Float64Array(n);
    const prev = new Int32Array(n);
    const done = new Uint8Array(n);
    const heap = new MinHeap(n);
    let sent = 0;
    for (let k = 0; k < from.length; k++) {
      const s = from[k]!;
      let left = supply[k]!;
      while (left > 0) {
        dist.fill(Infinity);
        prev.fill(-1);
        done.fill(0);
        heap.size = 0;
        dist[s] = 0;
        heap.push(s, 0);
        while (heap.size > 0) {
          const u = heap.pop();
          if (done[u]) continue;
          done[u] = 1;
          if (u === t) break;
          const du = dist[u]!;
          for (let e = head[u]!; e >= 0; e = next[e]!) {
            if (cap[e]! <= 0) continue;
            const v = to[e]!;
            if (done[v]) continue;
            const rc = cost[e]! + pot[u]! - pot[v]!;
            const nd = du + (rc > 0 ? rc : 0);
            if (nd < dist[v]! - 1e-12) {
              dist[v] = nd;
              prev[v] = e;
              heap.push(v, nd);
            }
          }
        }
        const dt = dist[t]!;
        if (dt === Infinity) return sent;
        // potentials stay valid: settled nodes move by their distance, the rest by t's
        for (let v = 0; v < n; v++) pot[v] = pot[v]! + (done[v] ? dist[v]! : dt);
        let push = left;
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) push = Math.min(push, cap[prev[v]!]!);
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) {
          cap[prev[v]!] = cap[prev[v]!]! - push;
          cap[prev[v]! ^ 1] = cap[prev[v]! ^ 1]! + push;
        }
        left -= push;
        sent += push;
      }
    }
    return sent;
  }
}

/** A binary min-heap of (node, key), stale entries allowed (the caller skips nodes already done). */
export class MinHeap {
  private ids: Int32Array;
  private keys: Float64Array;
  size = 0;
  constructor(n: number) {
    this.ids = new Int32Array(Math.max(4, n));
    this.keys = new Float64Array(Math.max(4, n));
  }
  push(id: number, key: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p]! <= key) break;
      this.ids[i] = this.ids[p]!;
      this.keys[i] = this.keys[p]!;
      i = p;
    }
    this.ids[i] = id;
    this.keys[i] = key;
  }
  pop(): number {
    const top = this.ids[0]!;
    const n = --this.size;
    const id = this.ids[n]!;
    const key = this.keys[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.keys[c + 1]! < this.keys[c]!) c++;
      if (this.keys[c]! >= key) break;
      this.ids[i] = this.ids[c]!;
      this.keys[i] = this.keys[c]!;
      i = c;
    }
    this.ids[i] = id;
    this.keys[i] = key;
    return top;
  }
}
