/**
 * A distribution order's progress, folded from its status events: the one fold both sides use. The
 * node folds its own events to show a task (node/store); the hub keeps `dostate:<doId>` in `dom`,
 * created with the DO and moved only by the node's events (hub/monitor). Events go through the
 * shared transition table (shared/states.ts); applying an event twice changes nothing (events carry
 * their number `n`), so a changes follower may replay.
 */
import type { DoEventDoc, DoLine, DistributionOrderDoc, EventStatus } from './schemas.js';
import { nextDoState, type DoState } from './states.js';

/** What a DO's events say: its state and what the events reported along the way. */
export interface DoProgress {
  state: DoState;
  lastEvent: number;
  history: { n: number; status: EventStatus; at: string; applied: boolean; note?: string }[];
  /** Quantity found per DO line, from the pick event. */
  picked?: Record<string, number>;
  shortReason?: string;
  carrier?: string;
  tracking?: string;
  rejectReason?: string;
  atRisk?: boolean;
  cancelRefused?: boolean;
  /**
   * Events that came before an earlier one (a node numbers its events 1, 2, 3…; an upload can reach
   * the hub out of that order): held here, and applied once the ones before them have come.
   */
  pending?: DoEventDoc[];
  updatedAt: string;
}

/** The hub's view of a DO: `dostate:<doId>` in `dom`. */
export interface DoStateDoc extends DoProgress {
  _id: string;
  _rev?: string;
  type: 'dostate';
  doId: string;
  orderId: string;
  attempt: number;
  facility: string;
  kind: DistributionOrderDoc['kind'];
  lines: DoLine[];
  cancelRequested?: boolean;
  /** Set once the hub has re-sourced what this DO did not fill. */
  resourced?: boolean;
  createdAt: string;
}

export function newDoState(d: DistributionOrderDoc): DoStateDoc {
  return {
    _id: `dostate:${d.doId}`,
    type: 'dostate',
    doId: d.doId,
    orderId: d.orderId,
    attempt: d.attempt,
    facility: d.facility,
    kind: d.kind,
    lines: d.lines,
    state: 'released',
    lastEvent: 0,
    history: [],
    createdAt: d.createdAt,
    updatedAt: d.createdAt,
  };
}

/**
 * Apply events (any order, any repeats, across calls) to a DO state, in their numbers' order: an
 * event whose predecessor has not come yet waits in `pending`. Returns whether anything changed.
 */
export function applyEvents(s: DoProgress, events: DoEventDoc[]): boolean {
  let changed = false;
  const waiting = new Map<number, DoEventDoc>();
  for (const e of s.pending ?? []) waiting.set(e.n, e);
  for (const e of events) if (e.n > s.lastEvent && !waiting.has(e.n)) waiting.set(e.n, e);
  const held = s.pending?.length ?? 0;
  for (let e = waiting.get(s.lastEvent + 1); e; e = waiting.get(s.lastEvent + 1)) {
    waiting.delete(e.n);
    const next = nextDoState(s.state, e.status);
    s.lastEvent = e.n;
    s.history.push({ n: e.n, status: e.status, at: e.at, applied: next !== undefined, ...(next ? {} : { note: `not allowed in ${s.state}` }) });
    changed = true;
    if (next === undefined) continue;
    s.state = next;
    s.updatedAt = e.at;
    switch (e.status) {
      case 'picked':
      case 'short':
        s.picked = Object.fromEntries((e.lines ?? []).map((l) => [String(l.line), l.qty]));
        s.shortReason = e.lines?.find((l) => l.reason)?.reason ?? e.reason;
        break;
      case 'shipped':
        s.carrier = e.carrier;
        s.tracking = e.tracking;
        break;
      case 'rejected':
        s.rejectReason = e.reason;
        break;
      case 'at_risk':
        s.atRisk = true;
        break;
      case 'cancel_refused':
        s.cancelRefused = true;
        break;
    }
  }
  for (const n of [...waiting.keys()]) if (n <= s.lastEvent) waiting.delete(n);
  if (waiting.size) s.pending = [...waiting.values()].sort((a, b) => a.n - b.n);
  else delete s.pending;
  if ((s.pending?.length ?? 0) !== held) changed = true;
  return changed;
}

/** A DO's progress from its events alone (from released; events in any order, repeats ignored). */
export function foldEvents(events: DoEventDoc[], since = ''): DoProgress {
  const p: DoProgress = { state: 'released', lastEvent: 0, history: [], updatedAt: since };
  applyEvents(p, events);
  return p;
}

/** Units of each DO line that this facility will not deliver (short pick, rejection). */
export function shortfall(s: DoStateDoc): { line: DoLine; missing: number }[] {
  if (s.state === 'rejected') return s.lines.map((line) => ({ line, missing: line.qty }));
  if (!s.picked || s.state === 'cancelled') return [];
  return s.lines.map((line) => ({ line, missing: line.qty - Math.min(line.qty, s.picked![String(line.line)] ?? 0) })).filter((x) => x.missing > 0);
}
