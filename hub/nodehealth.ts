/**
 * A node's sync health from what the gateway counted (hub/gateway/stats.ts), one rule for
 * GET /api/v1/nodes, GET /api/v1/network and the metrics. Online means linked now: this instance
 * holds an open sync request from the node (its live pull waits in a longpoll between changes), or
 * the node was heard from within ONLINE_WINDOW_MS (between two requests, or through another hub
 * instance). Heard from within STALE_MS: stale; longer ago, or never: offline.
 */
export const ONLINE_WINDOW_MS = 60_000;
export const STALE_MS = 15 * 60_000;

export type SyncHealth = 'online' | 'stale' | 'offline';

export interface LinkStats {
  openConnections: number;
  /** When the node last called the gateway (ms since the epoch), or null: never. */
  lastSeenMs: number | null;
}

export function isOnline(s: LinkStats, now: number): boolean {
  return s.openConnections > 0 || (s.lastSeenMs !== null && now - s.lastSeenMs < ONLINE_WINDOW_MS);
}

export function syncHealth(s: LinkStats, now: number): SyncHealth {
  if (isOnline(s, now)) return 'online';
  return s.lastSeenMs !== null && now - s.lastSeenMs < STALE_MS ? 'stale' : 'offline';
}

/** A CouchDB sequence's number ("42-g1AAA…" → 42; a cluster's sequences are approximate), or null. */
export function seqNumber(seq: unknown): number | null {
  if (seq === null || seq === undefined) return null;
  const n = parseInt(String(seq), 10);
  return Number.isFinite(n) ? n : null;
}

/**
 * Changes in the node's database it has not pulled yet: none while its live pull waits at the
 * gateway (it has everything the hub wrote; its own uploads move the sequence on, never come
 * down), else the database's sequence less the one its last pull started from; null: unknown.
 */
export function pendingChanges(s: { pullsWaiting: number; lastPullSeq: unknown }, headSeq: unknown): number | null {
  if (s.pullsWaiting > 0) return 0;
  const head = seqNumber(headSeq);
  const pulled = seqNumber(s.lastPullSeq);
  if (head === null) return null;
  return pulled === null ? head : Math.max(0, head - pulled);
}
