/**
 * The distribution-order lifecycle as one declarative table. The node uses it to refuse steps out
 * of order (409 with the allowed next steps); the hub's monitor uses the same table to apply the
 * events that sync up. Every state change goes through `nextDoState`.
 */
import type { EventStatus } from './schemas.js';

export const DO_STATE_NAMES = [
  'released',
  'acknowledged',
  'picked',
  'short_picked',
  'packed',
  'shipped',
  'ready_for_pickup',
  'picked_up',
  'rejected',
  'cancelled',
] as const;
export type DoState =
  'released' | 'acknowledged' | 'picked' | 'short_picked' | 'packed' | 'shipped' | 'ready_for_pickup' | 'picked_up' | 'rejected' | 'cancelled';

/** state → event → next state. Events missing from a row are not allowed in that state. */
export const DO_TRANSITIONS: Readonly<Record<DoState, Partial<Record<EventStatus, DoState>>>> = {
  released: { ack: 'acknowledged', picked: 'picked', short: 'short_picked', rejected: 'rejected', cancelled: 'cancelled' },
  acknowledged: { picked: 'picked', short: 'short_picked', rejected: 'rejected', cancelled: 'cancelled' },
  picked: { packed: 'packed', ready: 'ready_for_pickup', cancelled: 'cancelled' },
  // a partial pick goes on with what was found; a pick of nothing ends in short_picked
  short_picked: { packed: 'packed', ready: 'ready_for_pickup', cancelled: 'cancelled' },
  packed: { shipped: 'shipped', cancelled: 'cancelled' },
  ready_for_pickup: { picked_up: 'picked_up', cancelled: 'cancelled' },
  shipped: {},
  picked_up: {},
  rejected: {},
  cancelled: {},
};

/** Events that record a fact without moving the DO (flags and replies). */
export const DO_NOTES: ReadonlySet<EventStatus> = new Set(['at_risk', 'cancel_refused']);

export const TERMINAL_DO_STATES: ReadonlySet<DoState> = new Set(['shipped', 'picked_up', 'rejected', 'cancelled']);
/** States in which goods have left or been handed over: a cancel is too late. */
export const DONE_DO_STATES: ReadonlySet<DoState> = new Set(['shipped', 'picked_up']);

export function nextDoState(state: DoState, event: EventStatus): DoState | undefined {
  if (DO_NOTES.has(event)) return state;
  return DO_TRANSITIONS[state][event];
}

export function allowedDoEvents(state: DoState): EventStatus[] {
  return Object.keys(DO_TRANSITIONS[state]) as EventStatus[];
}

/** Associate steps (node API paths) and the event each writes. */
export const STEP_EVENTS = {
  ack: 'ack',
  pick: 'picked',
  pack: 'packed',
  ship: 'shipped',
  ready: 'ready',
  pickedup: 'picked_up',
  reject: 'rejected',
} as const satisfies Record<string, EventStatus>;
export type Step = keyof typeof STEP_EVENTS;

export function allowedSteps(state: DoState): Step[] {
  const events = new Set(allowedDoEvents(state));
  return (Object.keys(STEP_EVENTS) as Step[]).filter((s) => {
    const e = STEP_EVENTS[s];
    // a pick step may write `picked` or `short`
    return events.has(e) || (s === 'pick' && events.has('short'));
  });
}

// ---------------------------------------------------------------- order lifecycle

export const ORDER_STATUS_NAMES = [
  'received',
  'allocated',
  'partially_allocated',
  'backordered',
  'released',
  'in_fulfilment',
  'partially_shipped',
  'shipped',
  'ready_for_pickup',
  'completed',
  'cancelled',
] as const;
export type OrderStatus =
  | 'received'
  | 'allocated'
  | 'partially_allocated'
  | 'backordered'
  | 'released'
  | 'in_fulfilment'
  | 'partially_shipped'
  | 'shipped'
  | 'ready_for_pickup'
  | 'completed'
  | 'cancelled';

export type LineStatus =
  | 'received'
  | 'allocated'
  | 'backordered'
  | 'partially_allocated'
  | 'released'
  | 'in_fulfilment'
  | 'partially_shipped'
  | 'shipped'
  | 'ready_for_pickup'
  | 'picked_up'
  | 'cancelled';
