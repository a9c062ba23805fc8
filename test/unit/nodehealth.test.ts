/** A node's sync health, one rule for GET /api/v1/nodes, the network map and the metrics, without I/O. */
import { describe, expect, it } from 'vitest';
import { ONLINE_WINDOW_MS, STALE_MS, isOnline, pendingChanges, seqNumber, syncHealth } from '../../hub/nodehealth.js';

const now = Date.parse('2026-12-01T12:00:00Z');

describe('sync health', () => {
  it('online while linked (an open sync request), whenever it was last seen', () => {
    expect(isOnline({ openConnections: 1, lastSeenMs: null }, now)).toBe(true);
    expect(syncHealth({ openConnections: 2, lastSeenMs: now - 3 * STALE_MS }, now)).toBe('online');
  });

  it('online when heard from within the minute, stale within 15 minutes, offline after or never', () => {
    const seen = (agoMs: number) => ({ openConnections: 0, lastSeenMs: now - agoMs });
    expect(syncHealth(seen(ONLINE_WINDOW_MS - 1), now)).toBe('online');
    expect(syncHealth(seen(ONLINE_WINDOW_MS), now)).toBe('stale');
    expect(isOnline(seen(ONLINE_WINDOW_MS), now)).toBe(false);
    expect(syncHealth(seen(STALE_MS - 1), now)).toBe('stale');
    expect(syncHealth(seen(STALE_MS), now)).toBe('offline');
    expect(syncHealth({ openConnections: 0, lastSeenMs: null }, now)).toBe('offline');
  });
});

describe('pending changes', () => {
  it("the database's sequence less the one the node's last pull started from", () => {
    expect(pendingChanges({ pullsWaiting: 0, lastPullSeq: '40-g1AAAA' }, '42-g1BBBB')).toBe(2);
    expect(pendingChanges({ pullsWaiting: 0, lastPullSeq: 7 }, 7)).toBe(0);
    // a pull from a later sequence than the head (a cluster's approximations): never below zero
    expect(pendingChanges({ pullsWaiting: 0, lastPullSeq: 9 }, 7)).toBe(0);
  });

  it('none while a live pull waits; everything when it never pulled; unknown without the head', () => {
    expect(pendingChanges({ pullsWaiting: 1, lastPullSeq: 3 }, 50)).toBe(0);
    expect(pendingChanges({ pullsWaiting: 0, lastPullSeq: null }, 50)).toBe(50);
    expect(pendingChanges({ pullsWaiting: 0, lastPullSeq: 3 }, undefined)).toBeNull();
    expect(seqNumber('now')).toBeNull();
  });
});
