/**
 * The DO lifecycle table (shared/states.ts) as its users rely on it: the node refuses steps out of
 * order with the allowed next steps, the hub's monitor moves DO states only through it, and a
 * cancel is too late once the goods have left.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventStatus } from '../../shared/schemas.js';
import {
  DO_NOTES,
  DO_STATE_NAMES,
  DO_TRANSITIONS,
  DONE_DO_STATES,
  STEP_EVENTS,
  TERMINAL_DO_STATES,
  allowedDoEvents,
  allowedSteps,
  nextDoState,
  type DoState,
} from '../../shared/states.js';

const EVENTS = EventStatus.options;

/** Walk a list of events from `released`, returning the state reached (or undefined at the first refused one). */
function walk(events: EventStatus[], from: DoState = 'released'): DoState | undefined {
  let s: DoState | undefined = from;
  for (const e of events) s = s && nextDoState(s, e);
  return s;
}

describe('DO lifecycle table', () => {
  it('every state is named once and has a row; every target is a known state', () => {
    expect(new Set(DO_STATE_NAMES).size).toBe(DO_STATE_NAMES.length);
    expect(Object.keys(DO_TRANSITIONS).sort()).toEqual([...DO_STATE_NAMES].sort());
    for (const row of Object.values(DO_TRANSITIONS)) {
      for (const [event, to] of Object.entries(row)) {
        expect(EVENTS).toContain(event);
        expect(DO_STATE_NAMES).toContain(to);
      }
    }
  });

  it('the happy paths: ship from a DC, pickup at a store', () => {
    expect(walk(['ack', 'picked', 'packed', 'shipped'])).toBe('shipped');
    expect(walk(['ack', 'picked', 'ready', 'picked_up'])).toBe('picked_up');
    // acknowledging is optional
    expect(walk(['picked', 'packed', 'shipped'])).toBe('shipped');
    // a short pick goes on with what was found
    expect(walk(['ack', 'short', 'packed', 'shipped'])).toBe('shipped');
    expect(walk(['short', 'ready', 'picked_up'])).toBe('picked_up');
  });

  it('refuses steps out of order', () => {
    expect(nextDoState('released', 'shipped')).toBeUndefined();
    expect(nextDoState('released', 'packed')).toBeUndefined();
    expect(nextDoState('acknowledged', 'ack')).toBeUndefined();
    expect(nextDoState('picked', 'picked')).toBeUndefined();
    expect(nextDoState('picked', 'rejected')).toBeUndefined(); // once picked, the store cannot reject
    expect(nextDoState('packed', 'ready')).toBeUndefined();
    expect(nextDoState('ready_for_pickup', 'shipped')).toBeUndefined();
    expect(walk(['ack', 'packed'])).toBeUndefined();
  });

  it('rejection is only possible before the pick', () => {
    const rejectable = DO_STATE_NAMES.filter((s) => nextDoState(s, 'rejected') !== undefined);
    expect(rejectable.sort()).toEqual(['acknowledged', 'released']);
  });

  it('a cancel is accepted in every live state and in no terminal one', () => {
    for (const s of DO_STATE_NAMES) {
      expect(nextDoState(s, 'cancelled'), s).toBe(TERMINAL_DO_STATES.has(s) ? undefined : 'cancelled');
    }
  });

  it('terminal states have no way out; every other state has one', () => {
    expect([...TERMINAL_DO_STATES].sort()).toEqual(['cancelled', 'picked_up', 'rejected', 'shipped']);
    for (const s of DO_STATE_NAMES) {
      const moves = allowedDoEvents(s).filter((e) => nextDoState(s, e) !== s);
      if (TERMINAL_DO_STATES.has(s)) expect(moves, s).toEqual([]);
      else expect(moves.length, s).toBeGreaterThan(0);
    }
  });

  it('done states (goods left) are the terminal states that delivered', () => {
    expect([...DONE_DO_STATES].sort()).toEqual(['picked_up', 'shipped']);
    for (const s of DONE_DO_STATES) expect(TERMINAL_DO_STATES.has(s)).toBe(true);
    expect(DONE_DO_STATES.has('cancelled')).toBe(false);
    expect(DONE_DO_STATES.has('rejected')).toBe(false);
  });

  it('notes (at_risk, cancel_refused) record a fact in any state without moving the DO', () => {
    expect([...DO_NOTES].sort()).toEqual(['at_risk', 'cancel_refused']);
    for (const s of DO_STATE_NAMES) for (const n of DO_NOTES) expect(nextDoState(s, n)).toBe(s);
  });

  it('every state is reachable from released, and every walk ends in a terminal state or can reach one', () => {
    const reached = new Set<DoState>(['released']);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of [...reached])
        for (const e of allowedDoEvents(s)) {
          const t = nextDoState(s, e)!;
          if (!reached.has(t)) (reached.add(t), (grew = true));
        }
    }
    expect([...reached].sort()).toEqual([...DO_STATE_NAMES].sort());
    // property: whatever events are thrown at a DO, an accepted walk never leaves a terminal state
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EVENTS), { maxLength: 12 }), (events) => {
        let s: DoState = 'released';
        for (const e of events) {
          const t = nextDoState(s, e);
          if (t === undefined) continue;
          if (TERMINAL_DO_STATES.has(s)) expect(t).toBe(s);
          s = t;
        }
      }),
    );
  });
});

describe('steps a node associate may take', () => {
  it('each step writes a known event', () => {
    for (const e of Object.values(STEP_EVENTS)) expect(EVENTS).toContain(e);
  });

  it('lists the allowed next steps per state, as the node answers in its 409', () => {
    expect(allowedSteps('released').sort()).toEqual(['ack', 'pick', 'reject']);
    expect(allowedSteps('acknowledged').sort()).toEqual(['pick', 'reject']);
    expect(allowedSteps('picked').sort()).toEqual(['pack', 'ready']);
    expect(allowedSteps('short_picked').sort()).toEqual(['pack', 'ready']);
    expect(allowedSteps('packed')).toEqual(['ship']);
    expect(allowedSteps('ready_for_pickup')).toEqual(['pickedup']);
    for (const s of TERMINAL_DO_STATES) expect(allowedSteps(s), s).toEqual([]);
  });

  it('a step is allowed exactly when its event moves the DO', () => {
    for (const s of DO_STATE_NAMES) {
      for (const step of Object.keys(STEP_EVENTS) as (keyof typeof STEP_EVENTS)[]) {
        const e = STEP_EVENTS[step];
        const moves = nextDoState(s, e) !== undefined || (step === 'pick' && nextDoState(s, 'short') !== undefined);
        expect(allowedSteps(s).includes(step), `${s} ${step}`).toBe(moves);
      }
    }
  });
});
