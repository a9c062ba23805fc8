/**
 * An order's rank for constrained inventory: priority (1 most urgent), then due date (none last),
 * then arrival, then id. One rule, two forms: `compareRank` for sorting orders, and `rankKey`, a
 * string whose plain (code-unit) order is the same, for ranks kept apart from their orders (the
 * planning store's backorders). Both compare code units, never the locale's collation, so the
 * order does not depend on where the hub runs.
 */
export interface Ranked {
  priority: number;
  dueDate?: string;
  createdAt: string;
  id: string;
}

/** No due date ranks after every date. */
const NO_DUE_DATE = '\uffff';
/** Below every character the fields hold, so a shorter field ranks before a longer one it begins. */
const SEP = '\u0000';
/** Priorities are whole numbers 0–999,999 (orders take 1–9). */
const PRIORITY_WIDTH = 6;

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareRank(a: Ranked, b: Ranked): number {
  return (
    a.priority - b.priority ||
    compareStrings(a.dueDate ?? NO_DUE_DATE, b.dueDate ?? NO_DUE_DATE) ||
    compareStrings(a.createdAt, b.createdAt) ||
    compareStrings(a.id, b.id)
  );
}

/** The rank as a string: `compareStrings(rankKey(a), rankKey(b))` has the sign of `compareRank(a, b)`. */
export function rankKey(o: Ranked): string {
  if (!Number.isInteger(o.priority) || o.priority < 0 || o.priority >= 10 ** PRIORITY_WIDTH) throw new RangeError(`priority ${o.priority} out of range`);
  return [String(o.priority).padStart(PRIORITY_WIDTH, '0'), o.dueDate ?? NO_DUE_DATE, o.createdAt, o.id].join(SEP);
}
