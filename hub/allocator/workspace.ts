/**
 * Scratch state of one allocation, passed in explicitly: nothing lives at module level, so two
 * allocations (two batches, or a batch and a single order) can run in one process, one inside the
 * other (a strategy's callback may allocate), without touching each other's state.
 *
 * The search predicates are made once per workspace and read the query from it, rather than a
 * closure being made per search (under tsx's keepNames each closure created costs a property
 * definition on a hot path).
 */
import { CandidateTable } from './candidate-table.js';
import type { ArcSelection } from './arc-selection.js';
import type { Network } from './network.js';
import type { Candidate } from './plan.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';

export class Workspace {
  // the nearest searches' query: whose eligibility, which stock rows must hold units, which candidates are taken
  private net: Network | null = null;
  private order: SourcingOrder | null = null;
  private strategy: SourcingStrategy | null = null;
  private memo: Uint8Array = new Uint8Array(0);
  private rows: Int32Array[] = [];
  private have: Candidate[] = [];
  /** eligible for the query's order */
  readonly okEligible: (fi: number) => boolean;
  /** eligible, with capacity left */
  readonly okCandidate: (fi: number) => boolean;
  /** eligible, with capacity left, holding units of one of the query's rows, not among its candidates */
  readonly okHolder: (fi: number) => boolean;

  // a candidate table's greedy (candidate-table.ts), grown as needed: room per (candidate, SKU group),
  // capacity per candidate, units still wanted per want, candidates already shipping, units given per SKU group
  room = new Float64Array(64);
  capLeft = new Float64Array(32);
  remaining = new Float64Array(8);
  shipping = new Uint8Array(32);
  givenOfGroup = new Float64Array(8);
  /** the cost of the units `CandidateTable.units` last counted */
  unitsCost = 0;
  /** candidate tables to load, reused from order to order (planOrder uses two at a time) */
  private readonly tables: CandidateTable[] = [];

  // ejection moves (ejection.ts): the orders in the way found so far, smallest at the facility first
  readonly blockers: number[] = [];
  readonly blockerUnits: number[] = [];
  readonly blockerSize: number[] = [];

  // stock moves (stock-moves.ts): one line's arcs (made there)
  arcTop: ArcSelection | null = null;
  // flow moves (flow-moves.ts): one demand's arcs (made there)
  flowArcTop: ArcSelection | null = null;

  constructor() {
    this.okEligible = (fi) => this.eligible(fi);
    this.okCandidate = (fi) => this.net!.capacity[fi]! > 0 && this.eligible(fi);
    this.okHolder = (fi) => {
      if (this.net!.capacity[fi]! <= 0) return false;
      let any = false;
      for (const r of this.rows) if (r[fi]! > 0) any = true;
      if (!any) return false;
      for (const c of this.have) if (c.fi === fi) return false;
      return this.eligible(fi);
    };
  }

  /** Set the query the predicates answer for. */
  query(net: Network, order: SourcingOrder, s: SourcingStrategy, memo: Uint8Array, rows: Int32Array[] = [], have: Candidate[] = []): void {
    this.net = net;
    this.order = order;
    this.strategy = s;
    this.memo = memo;
    this.rows = rows;
    this.have = have;
  }

  /** Whether the query's strategy lets facility fi serve the query's order (remembered in its memo). */
  eligible(fi: number): boolean {
    let m = this.memo[fi]!;
    if (m === 0) this.memo[fi] = m = this.strategy!.eligible(this.net!.facilities[fi]!, this.order!) === null ? 1 : 2;
    return m === 1;
  }

  /** The k-th reusable candidate table (its contents are whatever it was last loaded with). */
  table(k: number): CandidateTable {
    while (this.tables.length <= k) this.tables.push(new CandidateTable(this));
    return this.tables[k]!;
  }

  /** Room for a table of C candidates, G SKU groups and W wants. */
  grow(C: number, G: number, W: number): void {
    if (this.room.length < C * G) this.room = new Float64Array(2 * C * G);
    if (this.capLeft.length < C) this.capLeft = new Float64Array(2 * C);
    if (this.shipping.length < C) this.shipping = new Uint8Array(2 * C);
    if (this.remaining.length < W) this.remaining = new Float64Array(2 * W);
    if (this.givenOfGroup.length < G) this.givenOfGroup = new Float64Array(2 * G);
  }
}
