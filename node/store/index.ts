/**
 * The node's store: its DO inbox, the associates' fulfilment steps, and the inventory ledger. It
 * never waits for the hub: every step is a local write (a new document, never an edit of the hub's)
 * that replication carries up whenever the link is there. Mutations run one at a time.
 */
import { randomUUID } from 'node:crypto';
import type PouchDB from 'pouchdb';
import type { Logger } from '../../shared/log.js';
import { DomError, badRequest, conflict, notFound } from '../../shared/errors.js';
import { ids } from '../../shared/ids.js';
import type {
  AdjustmentDoc,
  CountDoc,
  DistributionOrderDoc,
  DoCancelDoc,
  DoEventDoc,
  EventStatus,
  InboundDoc,
  InvDoc,
  ItemDoc,
  ReceiptDoc,
  SaleDoc,
} from '../../shared/schemas.js';
import { DONE_DO_STATES, STEP_EVENTS, TERMINAL_DO_STATES, allowedSteps, type DoState, type Step } from '../../shared/states.js';
import { foldEvents, type DoProgress } from '../../shared/dostate.js';
import { onHandFromLedger, position, reservedBySku, type LedgerEntry, type OpenDo } from './inventory.js';
import type { StepBody } from '../../shared/bodies/node.js';

type AnyDoc = { _id: string; _rev?: string; type?: string; [k: string]: unknown };

/** The generation of a revision ("3-abc" → 3); 0 for none. */
const revGeneration = (rev: string | undefined) => (rev ? parseInt(rev, 10) || 0 : 0);

export interface Task {
  doId: string;
  orderId: string;
  kind: DistributionOrderDoc['kind'];
  status: DoState;
  allowed: Step[];
  atRisk: boolean;
  promiseDate: string | null;
  createdAt: string;
  customerName?: string;
  toFacility?: string;
  lines: (DistributionOrderDoc['lines'][number] & { picked?: number; name?: string; barcode?: string })[];
}

export class NodeStore {
  readonly dos = new Map<string, DistributionOrderDoc>();
  private readonly events = new Map<string, DoEventDoc[]>();
  private readonly cancels = new Map<string, DoCancelDoc>();
  readonly items = new Map<string, ItemDoc>();
  readonly inbound = new Map<string, InboundDoc>();
  private readonly receipts = new Map<string, ReceiptDoc[]>();
  private readonly inv = new Map<string, InvDoc>();
  private readonly ledger = new Map<string, LedgerEntry>();
  private readonly counts = new Set<string>();
  private feed?: PouchDB.Changes<AnyDoc>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly db: PouchDB.Database,
    readonly facility: string,
    private readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    const all = await this.db.allDocs<AnyDoc>({ include_docs: true });
    for (const row of all.rows) if (row.doc) this.ingest(row.doc);
    // The ledger is the truth: rebuild every position from it (a crash may have left one stale).
    await this.serial(() => this.refreshPositions(null));
    const info = await this.db.info();
    this.feed = this.db.changes<AnyDoc>({ since: info.update_seq, live: true, include_docs: true, return_docs: false });
    this.feed.on('change', (ch: PouchDB.Change<AnyDoc>) => {
      if (!ch.doc || this.closed) return;
      const fresh = this.ingest(ch.doc);
      if (fresh) void this.serial(() => this.react(ch.doc!)).catch((err) => this.log.error({ err }, 'reacting to a hub document failed'));
    });
    // Cancels and counts that arrived while the node was down.
    await this.serial(async () => {
      for (const c of this.cancels.values()) await this.react(c as unknown as AnyDoc);
      for (const row of all.rows) if (row.doc?.type === 'count') await this.react(row.doc);
    });
  }

  close(): void {
    this.closed = true;
    this.feed?.cancel();
  }

  /** Run mutations one after another, so derived positions never interleave. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Add a document to the in-memory view; true when it was not known before. */
  private ingest(doc: AnyDoc): boolean {
    const id = doc._id;
    switch (doc.type) {
      case 'do': {
        const fresh = !this.dos.has((doc as unknown as DistributionOrderDoc).doId);
        this.dos.set((doc as unknown as DistributionOrderDoc).doId, doc as unknown as DistributionOrderDoc);
        return fresh;
      }
      case 'evt': {
        const e = doc as unknown as DoEventDoc;
        const list = this.events.get(e.doId) ?? [];
        if (list.some((x) => x._id === id)) return false;
        list.push(e);
        list.sort((a, b) => a.n - b.n);
        this.events.set(e.doId, list);
        return true;
      }
      case 'docancel': {
        const c = doc as unknown as DoCancelDoc;
        const fresh = !this.cancels.has(c.doId);
        this.cancels.set(c.doId, c);
        return fresh;
      }
      case 'item':
        this.items.set((doc as unknown as ItemDoc).sku, doc as unknown as ItemDoc);
        return false;
      case 'inbound':
        this.inbound.set((doc as unknown as InboundDoc).inboundId, doc as unknown as InboundDoc);
        return false;
      case 'count':
        return !this.counts.has((doc as unknown as CountDoc).countId);
      case 'inv': {
        // The changes feed may deliver a revision this store has already written past (it reads
        // each change as it was): keeping that one would make the next position write conflict,
        // and the position would stay stale for good. Positions have one writer, so the newest
        // generation is the current one.
        const pos = doc as unknown as InvDoc;
        const cur = this.inv.get(pos.sku);
        if (!cur?._rev || revGeneration(pos._rev) > revGeneration(cur._rev)) this.inv.set(pos.sku, pos);
        return false;
      }
      case 'sale':
      case 'adj':
      case 'rcpt': {
        const fresh = !this.ledger.has(id);
        this.ledger.set(id, doc as unknown as LedgerEntry);
        if (doc.type === 'rcpt') {
          const r = doc as unknown as ReceiptDoc;
          const list = this.receipts.get(r.inboundId) ?? [];
          if (!list.some((x) => x._id === id)) list.push(r);
          this.receipts.set(r.inboundId, list);
        }
        if (doc.type === 'adj' && (doc as unknown as AdjustmentDoc).countId) this.counts.add((doc as unknown as AdjustmentDoc).countId!);
        return fresh;
      }
      default:
        return false;
    }
  }

  /** Hub documents that ask the node to act: cancels, counts, and new DOs (reservations). */
  private async react(doc: AnyDoc): Promise<void> {
    if (doc.type === 'docancel') {
      const { doId } = doc as unknown as DoCancelDoc;
      if (!this.dos.has(doId)) return; // the DO itself has not arrived yet; handled when it does
      const state = this.state(doId);
      if (state === 'cancelled') return;
      const evts = this.events.get(doId) ?? [];
      if (DONE_DO_STATES.has(state) || state === 'rejected') {
        if (!evts.some((e) => e.status === 'cancel_refused')) await this.writeEvent(doId, 'cancel_refused', { reason: `already ${state}` });
        return;
      }
      await this.writeEvent(doId, 'cancelled', { reason: (doc as unknown as DoCancelDoc).reason });
    } else if (doc.type === 'count') {
      await this.applyCount(doc as unknown as CountDoc);
    } else if (doc.type === 'do') {
      const d = doc as unknown as DistributionOrderDoc;
      if (this.cancels.has(d.doId)) await this.react(this.cancels.get(d.doId) as unknown as AnyDoc);
      else await this.refreshPositions(d.lines.map((l) => l.sku));
    }
  }

  // ------------------------------------------------------------------ DO lifecycle

  /** A DO's progress, folded from its events by the fold the hub applies too (shared/dostate.ts). */
  private progress(doId: string): DoProgress {
    return foldEvents(this.events.get(doId) ?? []);
  }

  state(doId: string): DoState {
    return this.progress(doId).state;
  }

  private picked(doId: string): Record<string, number> | undefined {
    return this.progress(doId).picked;
  }

  private openDos(): OpenDo[] {
    return [...this.dos.values()].map((doc) => {
      const { state, picked } = this.progress(doc.doId);
      return { doc, state, picked };
    });
  }

  tasks(all = false): Task[] {
    return (
      [...this.dos.values()]
        .map((d) => this.task(d))
        // a pick that found nothing ends the DO here: the hub sources it elsewhere
        .filter((t) => all || !(TERMINAL_DO_STATES.has(t.status) || (t.status === 'short_picked' && t.lines.every((l) => !l.picked))))
        .sort((a, b) => (a.promiseDate ?? a.createdAt).localeCompare(b.promiseDate ?? b.createdAt) || a.doId.localeCompare(b.doId))
    );
  }

  task(d: DistributionOrderDoc): Task {
    const { state: status, picked, atRisk } = this.progress(d.doId);
    return {
      doId: d.doId,
      orderId: d.orderId,
      kind: d.kind,
      status,
      allowed: allowedSteps(status).filter((s) => stepFits(d.kind, s)),
      atRisk: atRisk === true,
      promiseDate: d.promiseDate ?? null,
      createdAt: d.createdAt,
      ...(d.customerName ? { customerName: d.customerName } : {}),
      ...(d.toFacility ? { toFacility: d.toFacility } : {}),
      lines: d.lines.map((l) => ({
        ...l,
        name: l.name ?? this.items.get(l.sku)?.name,
        barcode: l.barcode ?? this.items.get(l.sku)?.barcode,
        ...(picked ? { picked: picked[String(l.line)] ?? 0 } : {}),
      })),
    };
  }

  getTask(doId: string): Task {
    const d = this.dos.get(doId);
    if (!d) throw notFound('unknown_do', `no distribution order "${doId}" at this facility`);
    return this.task(d);
  }

  step(doId: string, step: Step, body: StepBody): Promise<Task> {
    return this.serial(async () => {
      const d = this.dos.get(doId);
      if (!d) throw notFound('unknown_do', `no distribution order "${doId}" at this facility`);
      const state = this.state(doId);
      const allowed = allowedSteps(state).filter((s) => stepFits(d.kind, s));
      // the same ship again (a retry whose answer was lost): done already, answered as done
      const last = this.events.get(doId)?.at(-1);
      if (step === 'ship' && last?.status === 'shipped' && last.carrier === body.carrier && last.tracking === body.tracking) return this.task(d);
      if (!allowed.includes(step)) {
        throw conflict('step_not_allowed', `cannot ${step} a DO that is ${state}${stepFits(d.kind, step) ? '' : ` (${d.kind} DOs do not ${step})`}`, {
          state,
          allowed,
        });
      }
      let status: EventStatus = STEP_EVENTS[step];
      const extra: Partial<DoEventDoc> = {};
      switch (step) {
        case 'pick': {
          const lines = checkPick(d, body);
          status = lines.some((l) => l.qty < d.lines.find((x) => x.line === l.line)!.qty) ? 'short' : 'picked';
          extra.lines = lines;
          break;
        }
        case 'pack': {
          const picked = this.picked(doId) ?? {};
          if (Object.values(picked).every((q) => q === 0))
            throw conflict('nothing_picked', 'nothing was picked: there is nothing to pack', { state, allowed: ['reject'] });
          const known = new Set(d.lines.map((l) => l.line));
          for (const p of body.packages ?? [])
            for (const l of p.lines) if (!known.has(l)) throw badRequest('unknown_line', `package names line ${l}, which this DO does not have`);
          extra.packages = body.packages && body.packages.length ? body.packages : [{ lines: d.lines.map((l) => l.line) }];
          break;
        }
        case 'ship':
          if (!body.carrier || !body.tracking) throw badRequest('missing_tracking', 'ship needs "carrier" and "tracking"');
          extra.carrier = body.carrier;
          extra.tracking = body.tracking;
          break;
        case 'ready': {
          const picked = this.picked(doId) ?? {};
          if (Object.values(picked).every((q) => q === 0))
            throw conflict('nothing_picked', 'nothing was picked: nothing is ready', { state, allowed: ['reject'] });
          break;
        }
        case 'pickedup': {
          const given = body.customerName?.trim().toLowerCase();
          if (!given) throw badRequest('missing_customer_name', "picked up needs the customer's name, as checked");
          if (d.customerName && d.customerName.trim().toLowerCase() !== given) {
            throw new DomError(422, 'name_mismatch', 'the name given does not match the order');
          }
          extra.customerName = body.customerName;
          break;
        }
        case 'reject':
          if (!body.reason) throw badRequest('missing_reason', 'reject needs a "reason"');
          extra.reason = body.reason;
          break;
        case 'ack':
          break;
      }
      await this.writeEvent(doId, status, extra);
      return this.task(d);
    });
  }

  private async writeEvent(doId: string, status: EventStatus, extra: Partial<DoEventDoc>): Promise<DoEventDoc> {
    const n = (this.events.get(doId)?.length ?? 0) + 1;
    const evt: DoEventDoc = { _id: ids.evt(doId, n), type: 'evt', doId, n, status, facility: this.facility, ...extra, at: new Date().toISOString() };
    const d = this.dos.get(doId);
    await this.commit(evt as unknown as AnyDoc, d ? d.lines.map((l) => l.sku) : []);
    return evt;
  }

  // ------------------------------------------------------------------ inventory ledger

  positions(): InvDoc[] {
    return [...this.inv.values()].sort((a, b) => a.sku.localeCompare(b.sku));
  }

  /** A SKU this facility knows: in the catalogue the hub sent it, or with a position here. */
  knows(sku: string): boolean {
    return this.items.has(sku) || this.inv.has(sku);
  }

  private mustKnow(sku: string): void {
    if (!this.knows(sku))
      throw new DomError(
        422,
        'unknown_sku',
        `"${sku}" is not in this store's catalogue: check the SKU, or ask the planners to load it (a count through the hub)`,
      );
  }

  /**
   * A walk-in sale. The goods are gone, so a sale larger than the units on hand is still recorded,
   * and flagged (`oversold`): the position is wrong somewhere, and a count is suggested.
   */
  sale(
    sku: string,
    qty: number,
  ): Promise<{ sale: SaleDoc; position: InvDoc; atRisk: string[]; oversold?: { onHandBefore: number; short: number; countSuggested: true } }> {
    return this.serial(async () => {
      this.mustKnow(sku);
      const before = this.inv.get(sku)?.onHand ?? 0;
      const sale: SaleDoc = { _id: `sale:${randomUUID()}`, type: 'sale', sku, qty, at: new Date().toISOString() };
      await this.commit(sale as unknown as AnyDoc, [sku]);
      const oversold = qty > before ? { onHandBefore: before, short: qty - Math.max(0, before), countSuggested: true as const } : undefined;
      if (oversold) this.log.warn({ sku, qty, onHandBefore: before }, 'sale larger than the units on hand: a count is suggested');
      const pos = this.inv.get(sku)!;
      // A walk-in sale may eat into units held for DOs: flag those DOs at risk, newest first.
      const atRisk: string[] = [];
      let deficit = pos.reserved - pos.onHand;
      if (deficit > 0) {
        const open = this.openDos()
          .filter((o) => !TERMINAL_DO_STATES.has(o.state) && !['packed', 'ready_for_pickup'].includes(o.state) && o.doc.lines.some((l) => l.sku === sku))
          .sort((a, b) => b.doc.createdAt.localeCompare(a.doc.createdAt));
        for (const o of open) {
          if (deficit <= 0) break;
          if (!(this.events.get(o.doc.doId) ?? []).some((e) => e.status === 'at_risk')) {
            await this.writeEvent(o.doc.doId, 'at_risk', { reason: `walk-in sale left ${sku} short` });
          }
          atRisk.push(o.doc.doId);
          deficit -= o.doc.lines.filter((l) => l.sku === sku).reduce((s, l) => s + l.qty, 0);
        }
      }
      return { sale, position: this.inv.get(sku)!, atRisk, ...(oversold ? { oversold } : {}) };
    });
  }

  adjust(sku: string, onHand: number, reason: string, countId?: string): Promise<InvDoc> {
    return this.serial(async () => {
      // an associate's count of a SKU this store has never heard of is a typo, not stock
      if (!countId) this.mustKnow(sku);
      return this.writeAdjustment(sku, onHand, reason, countId);
    });
  }

  private async writeAdjustment(sku: string, onHand: number, reason: string, countId?: string, safetyStock?: number): Promise<InvDoc> {
    const before = this.inv.get(sku)?.onHand ?? 0;
    const adj: AdjustmentDoc = {
      _id: countId ? `adj:count.${countId}.${sku}` : `adj:${randomUUID()}`,
      type: 'adj',
      sku,
      onHand,
      delta: onHand - before,
      reason,
      ...(countId ? { countId } : {}),
      at: new Date().toISOString(),
    };
    try {
      const r = await this.db.put(adj);
      adj._rev = r.rev;
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err; // a count applied before a crash
    }
    this.ingest(adj as unknown as AnyDoc);
    await this.refreshPositions([sku], safetyStock === undefined ? undefined : new Map([[sku, safetyStock]]));
    return this.inv.get(sku)!;
  }

  private async applyCount(count: CountDoc): Promise<void> {
    if (this.counts.has(count.countId)) return;
    // One bulk write of the adjustments and one recompute for the whole count: a put and a full
    // ledger recompute per SKU made a 50,000-SKU count take hours (docs/BENCHMARKS.md).
    const at = new Date().toISOString();
    const adjs: AdjustmentDoc[] = count.positions.map((p) => ({
      _id: `adj:count.${count.countId}.${p.sku}`,
      type: 'adj',
      sku: p.sku,
      onHand: p.onHand,
      delta: p.onHand - (this.inv.get(p.sku)?.onHand ?? 0),
      reason: `count ${count.countId}`,
      countId: count.countId,
      at,
    }));
    for (let i = 0; i < adjs.length; i += 5_000) {
      const chunk = adjs.slice(i, i + 5_000);
      const res = await this.db.bulkDocs(chunk);
      res.forEach((r, j) => {
        if ('rev' in r && r.rev) chunk[j]!._rev = r.rev;
        // 409: written before a crash (the ids are the count's); anything else is a real failure
        else if ((r as { status?: number }).status !== 409) throw new Error(`writing count ${count.countId} failed: ${JSON.stringify(r)}`);
      });
    }
    for (const a of adjs) this.ingest(a as unknown as AnyDoc);
    await this.refreshPositions(
      count.positions.map((p) => p.sku),
      new Map(count.positions.map((p) => [p.sku, p.safetyStock])),
    );
    this.counts.add(count.countId);
  }

  receive(
    inboundId: string,
    lines: { sku: string; qty: number }[],
  ): Promise<{ receipt: ReceiptDoc; over: { sku: string; qty: number }[]; short: { sku: string; qty: number }[] }> {
    return this.serial(async () => {
      const inb = this.inbound.get(inboundId);
      if (!inb) throw notFound('unknown_inbound', `no expected receipt "${inboundId}" at this facility`);
      const expected = new Map<string, number>();
      for (const l of inb.lines) expected.set(l.sku, (expected.get(l.sku) ?? 0) + l.qty);
      const already = new Map<string, number>();
      for (const r of this.receipts.get(inboundId) ?? []) for (const l of r.lines) already.set(l.sku, (already.get(l.sku) ?? 0) + l.qty);
      for (const l of lines) if (!expected.has(l.sku)) throw badRequest('unexpected_sku', `${l.sku} is not on inbound ${inboundId}`);
      const rcpt: ReceiptDoc = {
        _id: `rcpt:${randomUUID()}`,
        type: 'rcpt',
        inboundId,
        lines: lines.map((l) => ({ sku: l.sku, qty: l.qty, expected: Math.max(0, (expected.get(l.sku) ?? 0) - (already.get(l.sku) ?? 0)) })),
        at: new Date().toISOString(),
      };
      const r = await this.db.put(rcpt);
      rcpt._rev = r.rev;
      this.ingest(rcpt as unknown as AnyDoc);
      await this.refreshPositions(lines.map((l) => l.sku));
      const over = rcpt.lines.filter((l) => l.qty > (l.expected ?? 0)).map((l) => ({ sku: l.sku, qty: l.qty - (l.expected ?? 0) }));
      const short = rcpt.lines.filter((l) => l.qty < (l.expected ?? 0)).map((l) => ({ sku: l.sku, qty: (l.expected ?? 0) - l.qty }));
      return { receipt: rcpt, over, short };
    });
  }

  /** Recompute positions (all SKUs when `skus` is null) from the ledger and write the ones that changed. */
  /**
   * Store a new ledger entry or event together with the positions it changes, in one write (one
   * LevelDB batch: both or neither). A write that fails leaves nothing behind, in memory or on
   * disk, so a failed request never counts: the associate may simply try again.
   */
  private async commit(doc: AnyDoc, skus: string[]): Promise<void> {
    this.ingest(doc);
    try {
      await this.refreshPositions(skus, undefined, doc);
    } catch (err) {
      this.forget(doc);
      throw err;
    }
  }

  /** Undo `ingest` of a document that was never stored. */
  private forget(doc: AnyDoc): void {
    if (doc.type === 'evt') {
      const e = doc as unknown as DoEventDoc;
      this.events.set(
        e.doId,
        (this.events.get(e.doId) ?? []).filter((x) => x._id !== doc._id),
      );
    } else this.ledger.delete(doc._id);
  }

  private async refreshPositions(skus: string[] | null, safety?: Map<string, number>, withDoc?: AnyDoc): Promise<void> {
    const events: DoEventDoc[] = [...this.events.values()].flat();
    const picks = new Map<string, Record<string, number>>();
    for (const d of this.dos.keys()) {
      const p = this.picked(d);
      if (p) picks.set(d, p);
    }
    const onHand = onHandFromLedger([...this.ledger.values(), ...events], this.dos, picks);
    const reserved = reservedBySku(this.openDos());
    const wanted = skus ?? [...new Set([...onHand.keys(), ...reserved.keys(), ...this.inv.keys()])];
    const writes: InvDoc[] = [];
    const now = new Date().toISOString();
    for (const sku of new Set(wanted)) {
      const cur = this.inv.get(sku);
      const p = position(sku, onHand.get(sku) ?? 0, reserved.get(sku) ?? 0, safety?.get(sku) ?? cur?.safetyStock ?? 0);
      if (cur && cur.onHand === p.onHand && cur.reserved === p.reserved && cur.safetyStock === p.safetyStock) continue;
      writes.push({ _id: ids.inv(sku), ...(cur?._rev ? { _rev: cur._rev } : {}), type: 'inv', ...p, updatedAt: now });
    }
    // in bulks of 5,000: one bulk of a whole 50,000-SKU count held ~0.5 GB at once (docs/BENCHMARKS.md);
    // a new ledger entry or event goes in the first, with the positions it moves (one batch)
    for (let i = 0; i === 0 || i < writes.length; i += 5_000) {
      const chunk = writes.slice(i, i + 5_000);
      const lead = i === 0 && withDoc ? [withDoc] : [];
      if (chunk.length + lead.length === 0) break;
      const res = await this.db.bulkDocs([...lead, ...chunk] as never[]);
      if (lead.length) {
        const own = res[0]!;
        if (!('rev' in own) || !own.rev) throw new Error(`writing ${withDoc!._id} failed: ${JSON.stringify(own)}`);
        withDoc!._rev = own.rev;
      }
      const conflicted: InvDoc[] = [];
      res.slice(lead.length).forEach((r, j) => {
        if ('rev' in r && r.rev) {
          chunk[j]!._rev = r.rev;
          this.inv.set(chunk[j]!.sku, chunk[j]!);
        } else if ((r as { status?: number }).status === 409) conflicted.push(chunk[j]!);
        else this.log.error({ r, sku: chunk[j]!.sku }, 'position write failed');
      });
      // a stale revision in memory: write the position again over the stored one
      for (const d of conflicted) {
        const stored = await this.db.get<InvDoc>(d._id).catch(() => null);
        const { _rev: _stale, ...body } = d;
        const again = await this.db.put(stored?._rev ? { ...body, _rev: stored._rev } : body);
        this.inv.set(d.sku, { ...body, _rev: again.rev });
      }
    }
  }
}

function stepFits(kind: DistributionOrderDoc['kind'], step: Step): boolean {
  if (step === 'ready' || step === 'pickedup') return kind === 'pickup';
  if (step === 'pack' || step === 'ship') return kind !== 'pickup';
  return true;
}

function checkPick(d: DistributionOrderDoc, body: StepBody): { line: number; qty: number; reason?: string }[] {
  if (!Array.isArray(body.lines) || body.lines.length === 0) throw badRequest('missing_lines', 'pick needs "lines": [{"line","qty","reason"?}]');
  const given = new Map<number, { line: number; qty: number; reason?: string }>();
  for (const l of body.lines) {
    const dl = d.lines.find((x) => x.line === l.line);
    if (!dl) throw badRequest('unknown_line', `line ${l.line} is not on this DO`);
    if (given.has(l.line)) throw badRequest('duplicate_line', `line ${l.line} given twice`);
    if (!Number.isInteger(l.qty) || l.qty < 0) throw badRequest('invalid_qty', `line ${l.line}: qty must be a whole number ≥ 0`);
    if (l.qty > dl.qty) throw badRequest('qty_above_ordered', `line ${l.line}: picked ${l.qty} but only ${dl.qty} ordered`);
    given.set(l.line, l);
  }
  return d.lines.map((dl) => {
    const g = given.get(dl.line);
    const qty = g?.qty ?? 0;
    if (qty < dl.qty && !g?.reason) throw badRequest('missing_reason', `line ${dl.line}: a short pick needs a "reason"`);
    return { line: dl.line, qty, ...(g?.reason ? { reason: g.reason } : {}) };
  });
}
