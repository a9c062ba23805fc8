/**
 * The invariants checked once the faults have stopped and the system has quiesced. Pure: they take
 * what was read from every database (the hub's `dom` and node databases, each node's own LevelDB),
 * what the APIs answered, and what the workload was told, and return the checks made and the
 * violations found. Zero violations is the bar.
 */
import { lineViews, orderStatus, type OrderDoc } from '../../hub/orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import { nextDoState, TERMINAL_DO_STATES, type DoState } from '../../shared/states.js';
import type { FacilitySpec } from './cluster.js';
import type { Tracker } from './workload.js';

export type Doc = { _id: string; _rev: string; _conflicts?: string[]; type?: string; [k: string]: any };

export interface Snapshot {
  facilities: FacilitySpec[];
  dom: Doc[];
  /** facility → the hub's copy of its database */
  hubDbs: Map<string, Doc[]>;
  /** facility → the node's own database */
  nodeDbs: Map<string, Doc[]>;
  /** order id → the status code of GET /api/v1/orders/:id and the order status it answered */
  apiOrders: Map<string, { status: number; orderStatus?: string }>;
  /** `facility|sku` → on hand in the hub's availability index (GET /api/v1/inventory/:sku) */
  hubOnHand: Map<string, number>;
  /** facility → the poison documents the harness wrote into its node's database (kept out of nodeDbs) */
  nodePoison?: Map<string, Doc[]>;
  /** facility → the ids its node lists as refused by the hub */
  nodeRefused?: Map<string, string[]>;
  /** node processes that ended without the harness killing them */
  crashes?: { node: string; code: number | null; signal: string | null; output: string }[];
}

/** A poison document of the harness's (scripts/node-proc.ts, SIGUSR1). */
export const isPoison = (id: string) => id.startsWith('evt:POISON-');

export interface InvariantResult {
  name: string;
  description: string;
  checked: number;
  violations: number;
  examples: string[];
}

class Check {
  checked = 0;
  violations = 0;
  examples: string[] = [];
  constructor(
    readonly name: string,
    readonly description: string,
  ) {}
  ok(cond: boolean, detail: () => string): void {
    this.checked++;
    if (cond) return;
    this.violations++;
    if (this.examples.length < 15) this.examples.push(detail());
  }
  result(): InvariantResult {
    return { name: this.name, description: this.description, checked: this.checked, violations: this.violations, examples: this.examples };
  }
}

const byPrefix = (docs: Doc[], prefix: string) => docs.filter((d) => d._id.startsWith(prefix));

/** The DO state a node's events lead to, through the shared transition table. */
function fold(evts: Doc[]): DoState {
  let s: DoState = 'released';
  for (const e of [...evts].sort((a, b) => a.n - b.n)) s = nextDoState(s, e.status) ?? s;
  return s;
}

/** The latest pick (picked or short) of a DO: DO line → units found. */
function pickOf(evts: Doc[]): Record<string, number> | undefined {
  const p = [...evts]
    .sort((a, b) => a.n - b.n)
    .reverse()
    .find((e) => e.status === 'picked' || e.status === 'short');
  return p ? Object.fromEntries((p.lines ?? []).map((l: { line: number; qty: number }) => [String(l.line), l.qty])) : undefined;
}

/** Units a DO has taken or holds at its facility, per SKU: picked (or ordered) unless it ended without goods. */
function doUnits(d: Doc, evts: Doc[]): Map<string, number> {
  const state = fold(evts);
  const picked = pickOf(evts);
  const out = new Map<string, number>();
  if (state === 'rejected' || state === 'cancelled') return out; // nothing left the shelf
  for (const l of d.lines as { line: number; sku: string; qty: number }[]) {
    const q = picked ? Math.min(l.qty, picked[String(l.line)] ?? 0) : l.qty;
    if (q > 0) out.set(l.sku, (out.get(l.sku) ?? 0) + q);
  }
  return out;
}

function eventsByDo(docs: Doc[]): Map<string, Doc[]> {
  const m = new Map<string, Doc[]>();
  for (const e of byPrefix(docs, 'evt:')) m.set(e.doId, [...(m.get(e.doId) ?? []), e]);
  return m;
}

export function checkInvariants(s: Snapshot, t: Tracker): InvariantResult[] {
  const out: Check[] = [];
  const check = (name: string, description: string) => {
    const c = new Check(name, description);
    out.push(c);
    return c;
  };
  const domById = new Map(s.dom.map((d) => [d._id, d]));
  const states = new Map<string, DoStateDoc>(byPrefix(s.dom, 'dostate:').map((d) => [d.doId, d as unknown as DoStateDoc]));
  const orders = new Map<string, OrderDoc>(byPrefix(s.dom, 'order:').map((d) => [d.id, d as unknown as OrderDoc]));
  const allDos = new Map<string, Doc>();
  const doDb = new Map<string, string[]>();
  for (const [f, docs] of s.hubDbs)
    for (const d of byPrefix(docs, 'do:')) {
      allDos.set(d.doId, d);
      doDb.set(d.doId, [...(doDb.get(d.doId) ?? []), f]);
    }
  const nodeEvents = new Map<string, Map<string, Doc[]>>([...s.nodeDbs].map(([f, docs]) => [f, eventsByDo(docs)]));
  const eventsOf = (doId: string): Doc[] => {
    const d = allDos.get(doId);
    return d ? (nodeEvents.get(d.facility)?.get(doId) ?? []) : [];
  };

  // ---------------------------------------------------------------- orders
  const exist = check('orders_exist', 'every order the hub accepted (201/200) exists, in `dom` and through GET /api/v1/orders/:id');
  const refused = check('orders_never_refused', 'no order of the workload was refused (a retried order body is answered 200, never 409)');
  const consistent = check(
    'orders_consistent',
    "every accepted order reached a consistent, settled state: its stored status is the roll-up of its DOs' states, the API answers the same, its DOs exist and are finished, and no allocation is left half-done",
  );
  for (const r of t.orderRefusals) refused.ok(false, () => `order ${r.id} refused: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  refused.ok(true, () => '');
  for (const id of t.acceptedOrders.keys()) {
    const o = orders.get(id);
    const api = s.apiOrders.get(id);
    exist.ok(!!o && api?.status === 200, () => `order ${id}: in dom ${!!o}, GET answered ${api?.status}`);
    if (!o) continue;
    const lines = lineViews(o, states);
    const status = orderStatus(o, lines);
    consistent.ok(status === o.status, () => `order ${id}: stored status ${o.status}, its DOs say ${status}`);
    consistent.ok(api?.orderStatus === o.status, () => `order ${id}: API says ${api?.orderStatus}, dom says ${o.status}`);
    consistent.ok(
      !['received', 'allocated', 'released', 'in_fulfilment', 'ready_for_pickup'].includes(o.status),
      () =>
        `order ${id} (${o.delivery}) left ${o.status} after the drain: ${o.allocations.map((a) => `${a.doId} ${a.kind} ${states.get(a.doId)?.state}${a.handoverOf ? ` (handover of ${a.handoverOf})` : ''}`).join(', ')}; lines ${lines.map((l) => `${l.line}:${l.status} ${l.delivered}+${l.open}/${l.qty}`).join(', ')}`,
    );
    for (const a of o.allocations) {
      const d = allDos.get(a.doId);
      consistent.ok(!!d && d.facility === a.facility, () => `order ${id}: DO ${a.doId} missing from node_${a.facility.toLowerCase()}`);
      const st = states.get(a.doId);
      const ended = !!st && (TERMINAL_DO_STATES.has(st.state) || (st.state === 'short_picked' && Object.values(st.picked ?? {}).every((q) => q === 0)));
      consistent.ok(ended, () => `order ${id}: DO ${a.doId} left ${st?.state ?? 'without a state'}`);
    }
  }
  // every outbox entry finished: its order records its attempt (hub/allocator/service.ts `applied`)
  for (const a of byPrefix(s.dom, 'alloc:'))
    consistent.ok(
      a.done === true || (orders.get(a.orderId)?.attempts ?? 0) >= a.attempt,
      () => `${a._id} not finished: order ${a.orderId} is at attempt ${orders.get(a.orderId)?.attempts ?? 'none'}`,
    );

  // ---------------------------------------------------------------- no DO twice
  const dup = check(
    'no_duplicate_do',
    "no order line is covered twice (delivered + open ≤ ordered, per line), every DO id is unique and in its facility's database, and every DO belongs to its order's allocations",
  );
  for (const [doId, dbs] of doDb) dup.ok(dbs.length === 1, () => `DO ${doId} in ${dbs.join(', ')}`);
  for (const [f, docs] of s.hubDbs)
    for (const d of byPrefix(docs, 'do:')) dup.ok(d.facility === f, () => `DO ${d.doId} of ${d.facility} in node_${f.toLowerCase()}`);
  for (const o of orders.values()) {
    for (const l of lineViews(o, states))
      dup.ok(l.delivered + l.open <= l.qty, () => `order ${o.id} line ${l.line}: delivered ${l.delivered} + open ${l.open} > ${l.qty}`);
    const known = new Set(o.allocations.map((a) => a.doId));
    for (const d of allDos.values()) if (d.orderId === o.id) dup.ok(known.has(d.doId), () => `DO ${d.doId} is not among order ${o.id}'s allocations`);
  }
  for (const d of allDos.values()) {
    if (d.orderId.startsWith('RPL-')) continue;
    dup.ok(orders.has(d.orderId), () => `DO ${d.doId} for unknown order ${d.orderId}`);
  }

  // ---------------------------------------------------------------- replenishment
  const rpl = check(
    'replenishment_complete',
    'every replenishment transfer is whole: its in-transit record (asn) in `dom`, its DO at the DC and its inbound at the store all exist',
  );
  const asns = byPrefix(s.dom, 'asn:').filter((a) => a.doId);
  for (const a of asns) {
    const d = allDos.get(a.doId);
    rpl.ok(!!d && d.facility === a.from, () => `transfer ${a.doId}: in transit to ${a.facility} but no DO at ${a.from}`);
    const inbound = s.hubDbs.get(a.facility)?.some((x) => x._id === `inbound:${a.doId}`);
    rpl.ok(!!inbound, () => `transfer ${a.doId}: no inbound at ${a.facility}`);
  }
  for (const d of allDos.values())
    if (d.orderId.startsWith('RPL-')) rpl.ok(domById.has(`asn:${d.doId}`), () => `transfer DO ${d.doId} has no in-transit record`);

  // ---------------------------------------------------------------- events
  const evts = check(
    'no_event_lost',
    'every status event at a node is at the hub (same revision) and applied to its DO state there; every step an associate was told succeeded wrote its event',
  );
  for (const [f, docs] of s.nodeDbs) {
    const hub = new Map((s.hubDbs.get(f) ?? []).map((d) => [d._id, d]));
    for (const e of byPrefix(docs, 'evt:'))
      evts.ok(hub.get(e._id)?._rev === e._rev, () => `${f}: ${e._id} ${hub.has(e._id) ? 'has another revision' : 'missing'} at the hub`);
    for (const [doId, list] of nodeEvents.get(f) ?? []) {
      const st = states.get(doId);
      const maxN = Math.max(...list.map((e) => e.n));
      evts.ok(!!st && st.lastEvent === maxN, () => `${doId}: events up to ${maxN} at ${f}, the hub applied up to ${st?.lastEvent}`);
      if (!st) continue;
      const applied = new Set(st.history.map((h) => h.n));
      evts.ok(
        list.every((e) => applied.has(e.n)),
        () =>
          `${doId}: events ${list
            .filter((e) => !applied.has(e.n))
            .map((e) => e.n)
            .join(',')} not in the hub's history`,
      );
      evts.ok(st.state === fold(list), () => `${doId}: hub state ${st.state}, the node's events say ${fold(list)}`);
    }
  }
  for (const step of t.steps) {
    const list = nodeEvents.get(step.facility)?.get(step.doId) ?? [];
    evts.ok(
      list.some((e) => e.status === step.status),
      () => `${step.facility} ${step.doId}: ${step.step} answered 200 but no "${step.status}" event`,
    );
  }

  // ---------------------------------------------------------------- conflicts
  const conf = check('no_conflicts', "no document with _conflicts in any node's database, in the hub's copy of it, or in `dom`");
  const scan = (where: string, docs: Doc[]) => {
    for (const d of docs) conf.ok(!d._conflicts?.length, () => `${where}: ${d._id} has conflicts ${d._conflicts!.join(',')}`);
  };
  scan('dom', s.dom);
  for (const [f, docs] of s.hubDbs) scan(`hub node_${f.toLowerCase()}`, docs);
  for (const [f, docs] of s.nodeDbs) scan(`node ${f}`, docs);

  // ---------------------------------------------------------------- node = hub
  const eq = check('node_equals_hub', "every node database holds the same documents at the same revisions as the hub's copy of it");
  for (const [f, local] of s.nodeDbs) {
    const hub = new Map((s.hubDbs.get(f) ?? []).map((d) => [d._id, d._rev]));
    const mine = new Map(local.map((d) => [d._id, d._rev]));
    for (const [id, rev] of mine) eq.ok(hub.get(id) === rev, () => `${f}: ${id} ${rev} at the node, ${hub.get(id) ?? 'missing'} at the hub`);
    for (const [id, rev] of hub) if (!mine.has(id)) eq.ok(false, () => `${f}: ${id} ${rev} at the hub, missing at the node`);
  }

  // ---------------------------------------------------------------- ledger
  const led = check(
    'ledger_balances',
    "per facility and SKU, on hand = counts + receipts − shipped − sales ± adjustments, folded from the node's ledger; the node's position and the hub's index agree with it; every sale and receipt the node accepted is in its ledger",
  );
  for (const [f, docs] of s.nodeDbs) {
    const evByDo = nodeEvents.get(f)!;
    const dos = new Map(byPrefix(docs, 'do:').map((d) => [d.doId, d]));
    type Entry = { at: string; _id: string; apply: (m: Map<string, number>) => void };
    const entries: Entry[] = [];
    const add = (m: Map<string, number>, sku: string, q: number) => m.set(sku, (m.get(sku) ?? 0) + q);
    for (const d of docs) {
      if (d.type === 'adj') entries.push({ at: d.at, _id: d._id, apply: (m) => m.set(d.sku, d.onHand) });
      else if (d.type === 'sale') entries.push({ at: d.at, _id: d._id, apply: (m) => add(m, d.sku, -d.qty) });
      else if (d.type === 'rcpt')
        entries.push({ at: d.at, _id: d._id, apply: (m) => d.lines.forEach((l: { sku: string; qty: number }) => add(m, l.sku, l.qty)) });
      else if (d.type === 'evt' && (d.status === 'shipped' || d.status === 'picked_up')) {
        const doc = dos.get(d.doId);
        if (!doc) continue;
        const picked = pickOf(evByDo.get(d.doId) ?? []);
        entries.push({
          at: d.at,
          _id: d._id,
          apply: (m) => doc.lines.forEach((l: { line: number; sku: string; qty: number }) => add(m, l.sku, -(picked ? (picked[String(l.line)] ?? 0) : l.qty))),
        });
      }
    }
    entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a._id < b._id ? -1 : 1));
    const onHand = new Map<string, number>();
    for (const e of entries) e.apply(onHand);
    const inv = new Map(byPrefix(docs, 'inv:').map((d) => [d.sku, d]));
    for (const sku of new Set([...onHand.keys(), ...inv.keys()])) {
      const want = onHand.get(sku) ?? 0;
      led.ok(inv.get(sku)?.onHand === want, () => `${f} ${sku}: the ledger says ${want}, the node's position ${inv.get(sku)?.onHand}`);
      const hub = s.hubOnHand.get(`${f}|${sku}`);
      led.ok(hub === want, () => `${f} ${sku}: the ledger says ${want}, the hub's index ${hub}`);
    }
    const ids = new Set(docs.map((d) => d._id));
    for (const [id, sale] of t.sales) if (sale.facility === f) led.ok(ids.has(id), () => `${f}: accepted sale ${id} missing from the ledger`);
    for (const [id, r] of t.receipts) if (r.facility === f) led.ok(ids.has(id), () => `${f}: accepted receipt ${id} missing from the ledger`);
    const adjs = new Map<string, number>();
    for (const d of byPrefix(docs, 'adj:')) if (!d.countId) adjs.set(d.sku, (adjs.get(d.sku) ?? 0) + 1);
    for (const [k, n] of t.adjustments) {
      const [fac, sku] = k.split('|') as [string, string];
      if (fac === f) led.ok((adjs.get(sku) ?? 0) >= n, () => `${f} ${sku}: ${n} adjustments accepted, ${adjs.get(sku) ?? 0} in the ledger`);
    }
  }

  // ---------------------------------------------------------------- capacity
  const cap = check(
    'capacity_respected',
    'per facility and day, the units the allocator released there (DOs of customer orders, less what was rejected, cancelled or not found) never exceed its daily capacity',
  );
  const capacity = new Map(s.facilities.map((f) => [f.id, f.capacity]));
  const used = new Map<string, number>();
  for (const o of orders.values()) {
    for (const a of o.allocations) {
      if (a.handoverOf) continue; // a handover at the pickup counter ships nothing
      const d = allDos.get(a.doId);
      if (!d) continue;
      const units = [...doUnits(d, eventsOf(a.doId)).values()].reduce((x, y) => x + y, 0);
      const k = `${a.facility}|${String(d.createdAt).slice(0, 10)}`;
      used.set(k, (used.get(k) ?? 0) + units);
    }
  }
  for (const [k, u] of used) {
    const [f] = k.split('|') as [string];
    cap.ok(u <= (capacity.get(f) ?? Infinity), () => `${k}: ${u} units released, capacity ${capacity.get(f)}`);
  }

  // ---------------------------------------------------------------- safety stock
  const safe = check(
    'safety_stock_respected',
    'per facility and SKU, units taken by DOs (shipped, or held by open DOs) never exceed the supply that ever was there (counts and adjustments upwards, receipts, transfers in for pickup) less the safety stock: the allocator never hands out safety stock',
  );
  const pickupIn = new Map<string, number>(); // pickup store|sku → units shipped to it by transfers of pickup orders
  for (const o of orders.values()) {
    if (o.delivery !== 'pickup') continue;
    for (const a of o.allocations) {
      if (a.kind !== 'transfer') continue;
      const d = allDos.get(a.doId);
      if (!d) continue;
      const ev = eventsOf(a.doId);
      if (fold(ev) !== 'shipped') continue;
      for (const [sku, q] of doUnits(d, ev)) pickupIn.set(`${o.pickupFacility}|${sku}`, (pickupIn.get(`${o.pickupFacility}|${sku}`) ?? 0) + q);
    }
  }
  for (const [f, docs] of s.nodeDbs) {
    const supply = new Map<string, number>();
    const add = (sku: string, q: number) => supply.set(sku, (supply.get(sku) ?? 0) + q);
    for (const d of byPrefix(docs, 'adj:')) if (d.delta > 0) add(d.sku, d.delta);
    for (const d of byPrefix(docs, 'rcpt:')) for (const l of d.lines) add(l.sku, l.qty);
    const safety = new Map<string, number>();
    for (const c of byPrefix(docs, 'count:')) for (const p of c.positions) safety.set(p.sku, Math.min(safety.get(p.sku) ?? Infinity, p.safetyStock ?? 0));
    const taken = new Map<string, number>();
    const evByDo = nodeEvents.get(f)!;
    for (const d of byPrefix(docs, 'do:')) for (const [sku, q] of doUnits(d, evByDo.get(d.doId) ?? [])) taken.set(sku, (taken.get(sku) ?? 0) + q);
    for (const [sku, q] of taken) {
      const bound = (supply.get(sku) ?? 0) + (pickupIn.get(`${f}|${sku}`) ?? 0) - (Number.isFinite(safety.get(sku)) ? safety.get(sku)! : 0);
      safe.ok(q <= bound, () => `${f} ${sku}: DOs took ${q}, supply less safety stock is ${bound}`);
    }
  }

  // ---------------------------------------------------------------- poison documents
  const poison = check(
    'poison_refused',
    "every poison document written into a node's database was refused by the gateway: never in the hub's copy, listed as refused at the node, while its other uploads went on (the other invariants)",
  );
  for (const [f, want] of t.poisoned) {
    const docs = s.nodePoison?.get(f) ?? [];
    const hub = new Set((s.hubDbs.get(f) ?? []).map((d) => d._id));
    const refused = new Set(s.nodeRefused?.get(f) ?? []);
    poison.ok(docs.length === want, () => `${f}: ${want} poison documents injected, ${docs.length} in the node's database`);
    for (const d of docs) {
      poison.ok(!hub.has(d._id), () => `${f}: ${d._id} reached the hub`);
      poison.ok(refused.has(d._id), () => `${f}: ${d._id} not listed as refused at the node (it lists ${[...refused].join(', ') || 'none'})`);
    }
  }

  // ---------------------------------------------------------------- power loss
  const kept = check(
    'acknowledged_kept',
    'every write acknowledged before a power cut of its process (kill -9, every byte never fsynced dropped) is still there: orders the hub answered 201/200, sales, receipts, adjustments and DO steps a node answered 2xx',
  );
  const lastCut = new Map<string, number>();
  for (const p of t.powerLosses) lastCut.set(p.target, Math.max(lastCut.get(p.target) ?? 0, p.at));
  const nodeIds = new Map([...s.nodeDbs].map(([f, docs]) => [f, new Set(docs.map((d) => d._id))]));
  const userAdjs = new Map<string, number>();
  for (const [f, docs] of s.nodeDbs)
    for (const d of byPrefix(docs, 'adj:')) if (!d.countId) userAdjs.set(`${f}|${d.sku}`, (userAdjs.get(`${f}|${d.sku}`) ?? 0) + 1);
  for (const a of t.acks) {
    const cut = lastCut.get(a.target);
    if (cut === undefined || a.at >= cut) continue; // no power cut of its process after it was answered
    const when = `answered ${new Date(a.at).toISOString()}, power cut ${new Date(cut).toISOString()}`;
    if (a.kind === 'order') kept.ok(orders.has(a.key), () => `hub: order ${a.key} lost (${when})`);
    else if (a.kind === 'sale' || a.kind === 'receipt') kept.ok(!!nodeIds.get(a.target)?.has(a.key), () => `${a.target}: ${a.kind} ${a.key} lost (${when})`);
    else if (a.kind === 'adjustment') {
      const [sku, nth] = a.key.split('#') as [string, string];
      kept.ok(
        (userAdjs.get(`${a.target}|${sku}`) ?? 0) >= Number(nth),
        () => `${a.target} ${sku}: adjustment ${nth} lost, ${userAdjs.get(`${a.target}|${sku}`) ?? 0} in the ledger (${when})`,
      );
    } else {
      const [doId, status] = a.key.split('|') as [string, string];
      kept.ok(
        (nodeEvents.get(a.target)?.get(doId) ?? []).some((e) => e.status === status),
        () => `${a.target} ${doId}: the "${status}" event lost (${when})`,
      );
    }
  }

  // ---------------------------------------------------------------- crashes
  const crash = check('no_crash', "no node process ended by itself (every exit was a kill of the harness's)");
  crash.checked += s.facilities.length;
  for (const c of s.crashes ?? [])
    crash.ok(
      false,
      () =>
        `${c.node} exited by itself (${c.code ?? c.signal}): ${c.output
          .split('\n')
          .filter((l) => /Error|at /.test(l))
          .slice(0, 3)
          .join(' | ')
          .slice(0, 300)}`,
    );

  // ---------------------------------------------------------------- 5xx
  const five = check(
    'no_server_errors',
    "no API call answered 5xx, except node writes refused while that node's disk was full and hub calls answered 503 storage_unavailable while its CouchDB was killed",
  );
  for (const e of t.serverErrors) five.ok(e.diskFull || e.couchDown, () => `${e.where}: ${e.status} ${JSON.stringify(e.body).slice(0, 200)}`);
  five.checked += Math.max(0, t.ops + t.orderAttempts - t.serverErrors.length);

  return out.map((c) => c.result());
}
