/** The arcs a line keeps in the stock moves' min-cost flow (stock-moves.ts). */

/**
 * One line's arcs in a reassignment: every arc it must keep, and the `limit` cheapest of the
 * rest, visited cheapest first, ties in the order offered (as a stable sort of all of them would).
 */
export class ArcSelection {
  constructor(readonly limit: number) {}

  // the must-keep arcs as offered, and the cheapest others, in (cost, order offered) order
  private readonly must: { f: number[]; cost: number[]; at: number[] } = { f: [], cost: [], at: [] };
  private readonly rest: { f: number[]; cost: number[]; at: number[] } = { f: [], cost: [], at: [] };
  private offered = 0;
  size = 0;

  clear(): void {
    for (const l of [this.must, this.rest]) l.f.length = l.cost.length = l.at.length = 0;
    this.offered = 0;
    this.size = 0;
  }

  /** An arc to facility f at `cost`; `must`: kept whatever it costs. */
  offer(f: number, cost: number, must: boolean): void {
    const at = this.offered++;
    this.size++;
    const l = must ? this.must : this.rest;
    let j = l.f.length;
    if (!must && j >= this.limit) {
      if (l.cost[j - 1]! <= cost) return;
      j--;
    } else {
      l.f.push(f);
      l.cost.push(cost);
      l.at.push(at);
    }
    while (j > 0 && l.cost[j - 1]! > cost) {
      l.f[j] = l.f[j - 1]!;
      l.cost[j] = l.cost[j - 1]!;
      l.at[j] = l.at[j - 1]!;
      j--;
    }
    l.f[j] = f;
    l.cost[j] = cost;
    l.at[j] = at;
  }

  /** The cheapest cost offered (when size > 0). */
  cheapest(): number {
    return Math.min(this.must.cost[0] ?? Infinity, this.rest.cost[0] ?? Infinity);
  }

  /** The arcs kept, cheapest first, ties in the order offered. */
  forEach(fn: (f: number, cost: number) => void): void {
    const { must: m, rest: r } = this;
    let x = 0;
    let y = 0;
    while (x < m.f.length || y < r.f.length) {
      const takeMust = y >= r.f.length || (x < m.f.length && (m.cost[x]! < r.cost[y]! || (m.cost[x] === r.cost[y] && m.at[x]! < r.at[y]!)));
      if (takeMust) fn(m.f[x]!, m.cost[x++]!);
      else fn(r.f[y]!, r.cost[y++]!);
    }
  }
}
