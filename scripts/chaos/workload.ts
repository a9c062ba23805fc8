/**
 * The seeded workload: orders arriving through the hub API (a client that retries until each is
 * accepted, as a web shop does), associates working their DOs through the node API (ack, pick,
 * short pick, reject, pack, ship, ready, picked up), walk-in sales, receipts and cycle counts at the
 * nodes, and a planner running replenishment, raising purchase orders and cancelling orders. Every
 * random choice comes from the seed; what each call answered is recorded in the Tracker, which the
 * invariants check the end state against.
 */
import type { Cluster, NodeHandle } from './cluster.js';
import { http, mapLimit, sleep, type HttpResult, type Rng } from './util.js';

export interface OrderInput {
  id: string;
  channel: 'web' | 'mobile' | 'store' | 'call_centre';
  priority: number;
  delivery: 'ship' | 'pickup';
  shipTo?: { lat: number; lon: number };
  pickupFacility?: string;
  customerName?: string;
  lines: { line: number; sku: string; qty: number; allowSubstitutes?: boolean }[];
}

export interface AcceptedStep {
  facility: string;
  doId: string;
  step: string;
  /** The event status the step must have written. */
  status: string;
}

export interface ServerError {
  where: string;
  status: number;
  body: unknown;
  /** A node refusing writes (503 storage_failed) because its disk failed: the designed answer. */
  diskFull: boolean;
  /** The hub answering 503 storage_unavailable while its CouchDB was killed: the designed answer. */
  couchDown: boolean;
}

export interface Ack {
  target: string;
  kind: 'order' | 'sale' | 'receipt' | 'adjustment' | 'step';
  /** order id, sale or receipt document id, `sku#n` for the nth adjustment of a SKU, or `doId|status` for a step */
  key: string;
  at: number;
}

export class Tracker {
  readonly acceptedOrders = new Map<string, OrderInput>();
  orderAttempts = 0;
  readonly orderRefusals: { id: string; status: number; body: unknown }[] = [];
  readonly cancels = new Map<string, number>();
  readonly steps: AcceptedStep[] = [];
  stepsRefused = 0;
  readonly sales = new Map<string, { facility: string; sku: string; qty: number }>();
  readonly receipts = new Map<string, { facility: string; inboundId: string }>();
  readonly adjustments = new Map<string, number>();
  readonly unknown: Record<string, number> = {};
  readonly serverErrors: ServerError[] = [];
  /** inbound id → sku → units received (accepted receipts) */
  readonly received = new Map<string, Map<string, number>>();
  /** transfer DO id → what it carried (picked units), once shipped */
  readonly shippedTransfers = new Map<string, { sku: string; qty: number }[]>();
  /** Inbounds whose receipt answer was lost: not received again, to keep the ledger simple to reason about. */
  readonly receiptUnknown = new Set<string>();
  replenishmentRuns = 0;
  purchaseOrders = 0;
  ops = 0;
  /** facility → poison documents written into its node's database (the gateway must refuse them) */
  readonly poisoned = new Map<string, number>();
  /** Power cuts (LazyFS): the target ('hub' or a facility), when it was killed, the bytes it never fsynced */
  readonly powerLosses: { target: string; at: number; dropped: number | null }[] = [];
  /**
   * Every acknowledgement, when it was answered: orders the hub answered 201/200 (target 'hub'), and
   * sales, receipts, adjustments and DO steps a node answered 2xx (target: the facility). Checked
   * against the end state for every power cut of its target after it (acknowledged_kept).
   */
  readonly acks: Ack[] = [];

  unknownOutcome(kind: string) {
    this.unknown[kind] = (this.unknown[kind] ?? 0) + 1;
  }
}

export interface WorkloadOptions {
  seed: number;
  orders: number;
  orderConcurrency: number;
  tightSkus: string[];
  walkSkus: string[];
  /** Pause between an associate's rounds (ms). */
  associatePauseMs: [number, number];
  /** Milliseconds between replenishment runs. */
  replenishEveryMs: number;
  /** Orders at a steady rate (the soak), instead of as fast as the hub takes them. */
  ordersPerSecond?: number;
  /**
   * The soak: at each replenishment run the planner also orders at the DCs what left the network
   * since the last (the units of the orders accepted and of the walk-in sales), so stock stays level
   * over the run instead of draining, and the backlog of backorders does not grow without end.
   */
  restock?: boolean;
}

const CARRIERS = ['UPS', 'FedEx', 'USPS', 'DHL'];
const CUSTOMER = 'Pat Lee';

export function generateOrders(r: Rng, o: WorkloadOptions, stores: { id: string; lat: number; lon: number; pickup: boolean }[]): OrderInput[] {
  const skus = [...o.tightSkus, ...o.walkSkus];
  const pickupStores = stores.filter((s) => s.pickup);
  return Array.from({ length: o.orders }, (_, i) => {
    const pickup = pickupStores.length > 0 && r.chance(0.12);
    const nLines = r.int(1, 3);
    const chosen = new Set<string>();
    while (chosen.size < nLines) chosen.add(r.pick(skus));
    const lines = [...chosen].map((sku, j) => ({ line: j + 1, sku, qty: r.int(1, 3), ...(r.chance(0.2) ? { allowSubstitutes: true } : {}) }));
    const base = {
      id: `C${o.seed}-${String(i).padStart(5, '0')}`,
      channel: r.pick(['web', 'mobile', 'store', 'call_centre'] as const),
      priority: r.int(1, 9),
      lines,
    };
    if (pickup) {
      const s = r.pick(pickupStores);
      return { ...base, delivery: 'pickup' as const, pickupFacility: s.id, customerName: CUSTOMER };
    }
    return { ...base, delivery: 'ship' as const, shipTo: { lat: 33.75 + (r() - 0.5) * 1.2, lon: -84.39 + (r() - 0.5) * 1.2 } };
  });
}

export class Workload {
  private stopped = false;
  private running: Promise<unknown>[] = [];
  private nextOrder = 0;
  /** What every call answered: what the invariants check the end state against. */
  readonly tracker = new Tracker();

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: WorkloadOptions,
    private readonly r: Rng,
    private readonly orders: OrderInput[],
  ) {}

  get walkSkus(): string[] {
    return this.opts.walkSkus;
  }

  get seed(): number {
    return this.opts.seed;
  }

  get progress(): number {
    return this.tracker.acceptedOrders.size / Math.max(1, this.orders.length);
  }

  get ordersDone(): boolean {
    return this.tracker.acceptedOrders.size >= this.orders.length;
  }

  private startedAt = Date.now();

  start(): void {
    this.startedAt = Date.now();
    for (let i = 0; i < this.opts.orderConcurrency; i++) this.running.push(this.orderActor());
    for (const [i, n] of this.cluster.nodes.entries()) this.running.push(this.associateActor(n, this.r.fork(100 + i)));
    this.running.push(this.plannerActor(this.r.fork(7)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    this.running = [];
  }

  private hub<T = any>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    return http<T>(this.cluster.hubUrl, method, path, body, this.cluster.plannerToken, 20_000);
  }

  private note5xx(where: string, res: HttpResult, node?: NodeHandle) {
    if (res.status < 500) return;
    // the node's designed answer while its disk refuses writes, or while it reopens its database after
    const code = (res.body as { error?: { code?: string } } | null)?.error?.code;
    const refusal = res.status === 503 && code === 'storage_failed';
    // the hub's answer while its CouchDB is down (or just back, its shards reopening)
    const couchOut = !node && res.status === 503 && code === 'storage_unavailable' && this.cluster.couchOutage(10_000);
    this.tracker.serverErrors.push({ where, status: res.status, body: res.body, diskFull: !!node?.disk && refusal, couchDown: couchOut });
  }

  // ------------------------------------------------------------------ orders

  /** Post one order until the hub accepts it (201 new, 200 the same body again). */
  async placeOrder(o: OrderInput): Promise<void> {
    for (let tries = 0; !this.tracker.acceptedOrders.has(o.id); tries++) {
      if (!this.cluster.hubUp) {
        await sleep(100);
        continue;
      }
      this.tracker.orderAttempts++;
      const res = await this.hub('POST', '/api/v1/orders', o);
      this.note5xx(`POST /api/v1/orders ${o.id}`, res);
      if (res.status === 201 || res.status === 200) {
        this.tracker.acceptedOrders.set(o.id, o);
        this.tracker.acks.push({ target: 'hub', kind: 'order', key: o.id, at: Date.now() });
        return;
      }
      if (res.status >= 400 && res.status < 500) {
        this.tracker.orderRefusals.push({ id: o.id, status: res.status, body: res.body });
        return;
      }
      if (tries > 2_000) throw new Error(`order ${o.id} never accepted: ${res.status} ${res.error ?? ''}`);
      await sleep(100 + Math.min(1000, tries * 20));
    }
  }

  private async orderActor(): Promise<void> {
    while (!this.stopped) {
      const i = this.nextOrder++;
      if (i >= this.orders.length) return;
      if (this.opts.ordersPerSecond) {
        // the soak: order i is due at its slot, whatever the hub's speed
        const due = this.startedAt + (i * 1000) / this.opts.ordersPerSecond;
        while (!this.stopped && Date.now() < due) await sleep(Math.min(500, due - Date.now()));
        if (this.stopped) return;
      }
      await this.placeOrder(this.orders[i]!);
    }
  }

  // ------------------------------------------------------------------ associates

  private async node<T = any>(n: NodeHandle, method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    if (!n.up) return { status: 0, body: null as T, error: 'node down' };
    const res = await http<T>(n.url, method, `/api/v1${path}`, body, this.cluster.associateToken, 15_000);
    this.note5xx(`${n.id} ${method} ${path}`, res, n);
    return res;
  }

  /** One step on one task, chosen at random among what the task allows (or to finish it, when `finish`). */
  async stepTask(n: NodeHandle, t: Task, r: Rng, finish: boolean): Promise<boolean> {
    const allowed = new Set(t.allowed);
    let step: string | null = null;
    let body: Record<string, unknown> = {};
    let status = '';
    if (!finish && allowed.has('reject') && r.chance(0.03)) {
      step = 'reject';
      body = { reason: 'damaged in the store' };
      status = 'rejected';
    } else if (allowed.has('ack') && t.status === 'released' && (finish ? false : r.chance(0.6))) {
      step = 'ack';
      status = 'ack';
    } else if (allowed.has('pick')) {
      step = 'pick';
      const roll = finish ? 1 : r();
      if (roll < 0.04) body = { lines: t.lines.map((l) => ({ line: l.line, qty: 0, reason: 'not on the shelf' })) };
      else if (roll < 0.12)
        body = {
          lines: t.lines.map((l, i) =>
            i === 0 ? { line: l.line, qty: Math.max(0, l.qty - 1), ...(l.qty - 1 < l.qty ? { reason: 'one damaged' } : {}) } : { line: l.line, qty: l.qty },
          ),
        };
      else body = { lines: t.lines.map((l) => ({ line: l.line, qty: l.qty })) };
      const full = (body.lines as { line: number; qty: number }[]).every((x, i) => x.qty === t.lines[i]!.qty);
      status = full ? 'picked' : 'short';
    } else if (allowed.has('pack')) {
      step = 'pack';
      status = 'packed';
    } else if (allowed.has('ship')) {
      step = 'ship';
      body = { carrier: r.pick(CARRIERS), tracking: `TRK${t.doId.replace(/[^A-Za-z0-9]/g, '')}` };
      status = 'shipped';
    } else if (allowed.has('ready')) {
      step = 'ready';
      status = 'ready';
    } else if (allowed.has('pickedup')) {
      step = 'pickedup';
      body = { customerName: t.customerName ?? CUSTOMER };
      status = 'picked_up';
    }
    if (!step) return false;
    const res = await this.node<Task>(n, 'POST', `/dos/${encodeURIComponent(t.doId)}/${step}`, body);
    this.tracker.ops++;
    if (res.status === 200) {
      this.tracker.steps.push({ facility: n.id, doId: t.doId, step, status });
      this.tracker.acks.push({ target: n.id, kind: 'step', key: `${t.doId}|${status}`, at: Date.now() });
      if (step === 'ship' && t.kind === 'transfer') {
        const lines = res.body.lines.map((l) => ({ sku: l.sku, qty: l.picked ?? l.qty })).filter((l) => l.qty > 0);
        this.tracker.shippedTransfers.set(t.doId, lines);
      }
      return true;
    }
    if (res.status === 0 || res.status >= 500) this.tracker.unknownOutcome('step');
    else this.tracker.stepsRefused++;
    return false;
  }

  private async associateActor(n: NodeHandle, r: Rng): Promise<void> {
    const [lo, hi] = this.opts.associatePauseMs;
    while (!this.stopped) {
      await sleep(r.int(lo, hi));
      if (!n.up) continue;
      const tasks = await this.node<Task[]>(n, 'GET', '/tasks');
      if (tasks.status === 200 && Array.isArray(tasks.body) && tasks.body.length) {
        for (let k = 0; k < Math.min(3, tasks.body.length); k++) await this.stepTask(n, r.pick(tasks.body), r, false);
      }
      if (n.spec.type === 'store' && r.chance(0.25)) await this.sale(n, r);
      if (r.chance(0.04)) await this.adjust(n, r);
      if (r.chance(0.2)) await this.receiveDue(n, r, false);
    }
  }

  private async sale(n: NodeHandle, r: Rng): Promise<void> {
    const sku = r.pick(this.opts.walkSkus);
    const qty = r.int(1, 2);
    const res = await this.node<{ sale: { _id: string } }>(n, 'POST', '/sales', { sku, qty });
    this.tracker.ops++;
    if (res.status === 201) {
      this.tracker.sales.set(res.body.sale._id, { facility: n.id, sku, qty });
      this.tracker.acks.push({ target: n.id, kind: 'sale', key: res.body.sale._id, at: Date.now() });
    } else if (res.status === 0 || res.status >= 500) this.tracker.unknownOutcome('sale');
  }

  private async adjust(n: NodeHandle, r: Rng): Promise<void> {
    const inv = await this.node<{ sku: string; onHand: number }[]>(n, 'GET', '/inventory');
    if (inv.status !== 200 || !Array.isArray(inv.body) || !inv.body.length) return;
    const walk = inv.body.filter((p) => this.opts.walkSkus.includes(p.sku));
    if (!walk.length) return;
    const p = r.pick(walk);
    const onHand = Math.max(0, p.onHand + r.int(-1, 2));
    const res = await this.node(n, 'POST', '/adjustments', { sku: p.sku, onHand, reason: 'cycle count' });
    this.tracker.ops++;
    if (res.status === 201) {
      const nth = (this.tracker.adjustments.get(`${n.id}|${p.sku}`) ?? 0) + 1;
      this.tracker.adjustments.set(`${n.id}|${p.sku}`, nth);
      // the answer is the position, not the adjustment: the nth adjustment of this SKU at this node
      this.tracker.acks.push({ target: n.id, kind: 'adjustment', key: `${p.sku}#${nth}`, at: Date.now() });
    } else if (res.status === 0 || res.status >= 500) this.tracker.unknownOutcome('adjustment');
  }

  /** Receive what has come: purchase orders at once, transfers once the DC shipped them. */
  async receiveDue(n: NodeHandle, r: Rng, all: boolean): Promise<number> {
    const inb = await this.node<Inbound[]>(n, 'GET', '/inbound');
    if (inb.status !== 200 || !Array.isArray(inb.body)) return 0;
    let done = 0;
    for (const i of inb.body) {
      if (this.tracker.receiptUnknown.has(i.inboundId)) continue;
      let expected: { sku: string; qty: number }[];
      if (i.kind === 'transfer') {
        const shipped = this.tracker.shippedTransfers.get(i.inboundId);
        if (!shipped) continue;
        expected = shipped;
      } else expected = i.lines;
      const got = this.tracker.received.get(i.inboundId) ?? new Map<string, number>();
      const lines = expected.map((l) => ({ sku: l.sku, qty: l.qty - (got.get(l.sku) ?? 0) })).filter((l) => l.qty > 0);
      if (!lines.length) continue;
      const res = await this.node<{ receipt: { _id: string } }>(n, 'POST', '/receipts', { inboundId: i.inboundId, lines });
      this.tracker.ops++;
      if (res.status === 201) {
        this.tracker.receipts.set(res.body.receipt._id, { facility: n.id, inboundId: i.inboundId });
        this.tracker.acks.push({ target: n.id, kind: 'receipt', key: res.body.receipt._id, at: Date.now() });
        for (const l of lines) got.set(l.sku, (got.get(l.sku) ?? 0) + l.qty);
        this.tracker.received.set(i.inboundId, got);
        done++;
      } else if (res.status === 0 || res.status >= 500) {
        this.tracker.unknownOutcome('receipt');
        this.tracker.receiptUnknown.add(i.inboundId);
      }
      if (!all && r.chance(0.5)) break;
    }
    return done;
  }

  // ------------------------------------------------------------------ planner

  private async plannerActor(r: Rng): Promise<void> {
    let lastRun = Date.now();
    let po = 0;
    const dcs = this.cluster.nodes.filter((n) => n.spec.type === 'dc');
    while (!this.stopped) {
      await sleep(r.int(300, 900));
      if (!this.cluster.hubUp) continue;
      if (Date.now() - lastRun > this.opts.replenishEveryMs) {
        lastRun = Date.now();
        await this.replenish();
        if (this.opts.restock) await this.restock(dcs);
      }
      if (dcs.length && r.chance(0.08)) {
        const dc = r.pick(dcs);
        const body = {
          id: `PO${this.opts.seed}-${po++}`,
          facility: dc.id,
          supplier: 'Acme',
          expectedAt: new Date(Date.now() + 86_400_000).toISOString(),
          lines: [{ sku: r.pick(this.opts.tightSkus), qty: r.int(5, 20) }],
        };
        const res = await this.hub('POST', '/api/v1/purchase-orders', body);
        this.note5xx('POST /api/v1/purchase-orders', res);
        if (res.status === 201) this.tracker.purchaseOrders++;
      }
      const accepted = [...this.tracker.acceptedOrders.keys()];
      if (accepted.length && r.chance(0.15)) {
        const id = r.pick(accepted);
        if (!this.tracker.cancels.has(id)) {
          const res = await this.hub('POST', `/api/v1/orders/${id}/cancel`, {});
          this.note5xx(`POST /api/v1/orders/${id}/cancel`, res);
          if (res.status) this.tracker.cancels.set(id, res.status);
        }
      }
    }
  }

  private restocked = { orders: 0, sales: 0, runs: 0 };

  /** Purchase orders at the DCs for the units that left the network since the last call, split evenly. */
  private async restock(dcs: NodeHandle[]): Promise<void> {
    if (!dcs.length) return;
    const units = new Map<string, number>();
    const add = (sku: string, qty: number) => units.set(sku, (units.get(sku) ?? 0) + qty);
    const orders = [...this.tracker.acceptedOrders.values()];
    for (const o of orders.slice(this.restocked.orders)) for (const l of o.lines) add(l.sku, l.qty);
    const sales = [...this.tracker.sales.values()];
    for (const x of sales.slice(this.restocked.sales)) add(x.sku, x.qty);
    this.restocked.orders = orders.length;
    this.restocked.sales = sales.length;
    const run = this.restocked.runs++;
    await mapLimit(dcs, 2, async (dc, i) => {
      const lines = [...units].map(([sku, qty]) => ({ sku, qty: Math.floor(qty / dcs.length) + (i < qty % dcs.length ? 1 : 0) })).filter((l) => l.qty > 0);
      if (!lines.length) return;
      const body = {
        id: `PO${this.opts.seed}-R${run}-${dc.id}`,
        facility: dc.id,
        supplier: 'Acme',
        expectedAt: new Date(Date.now() + 3_600_000).toISOString(),
        lines,
      };
      const res = await this.hub('POST', '/api/v1/purchase-orders', body);
      this.note5xx('POST /api/v1/purchase-orders', res);
      if (res.status === 201) this.tracker.purchaseOrders++;
    });
  }

  async replenish(): Promise<HttpResult> {
    const res = await this.hub('POST', '/api/v1/replenishment/run', {});
    this.note5xx('POST /api/v1/replenishment/run', res);
    if (res.status === 200) this.tracker.replenishmentRuns++;
    return res;
  }

  // ------------------------------------------------------------------ drain

  /** Work every open task of a node to its end, and receive everything that has come. */
  async finishNode(n: NodeHandle, r: Rng): Promise<number> {
    let steps = 0;
    for (let round = 0; round < 50 && n.up; round++) {
      const tasks = await this.node<Task[]>(n, 'GET', '/tasks');
      if (tasks.status !== 200 || !Array.isArray(tasks.body)) return steps;
      const open = tasks.body.filter((t) => t.allowed.length);
      if (!open.length) break;
      for (const t of open) if (await this.stepTask(n, t, r, true)) steps++;
    }
    steps += await this.receiveDue(n, r, true);
    return steps;
  }
}

export interface Task {
  doId: string;
  orderId: string;
  kind: 'ship' | 'pickup' | 'transfer';
  status: string;
  allowed: string[];
  customerName?: string;
  lines: { line: number; sku: string; qty: number; picked?: number }[];
}

interface Inbound {
  inboundId: string;
  kind: 'po' | 'transfer' | 'asn';
  lines: { sku: string; qty: number }[];
}
