/**
 * Forecast rows (POST /api/v1/forecasts) into the per-day units a forecast document keeps: a daily
 * row is its day; a weekly row is spread evenly over the seven days from its date.
 */
export interface ForecastInput {
  facility: string;
  sku: string;
  /** YYYY-MM-DD */
  date: string;
  qty: number;
  period: 'day' | 'week';
}

const DAY_MS = 86_400_000;

/** The days a row covers, each with its units. */
export function forecastDays(r: Pick<ForecastInput, 'date' | 'qty' | 'period'>): [string, number][] {
  const start = Date.parse(`${r.date}T00:00:00Z`);
  const n = r.period === 'week' ? 7 : 1;
  return Array.from({ length: n }, (_, i) => [new Date(start + i * DAY_MS).toISOString().slice(0, 10), r.qty / n]);
}

/**
 * Rows merged into the days each facility and SKU already has (`current`): a day a row covers is
 * replaced, the other days stay. Keyed `facility|sku`, in the order the rows first name them.
 */
export function mergeForecasts(
  rows: ForecastInput[],
  current: (facility: string, sku: string) => Record<string, number> | undefined,
): Map<string, { facility: string; sku: string; days: Record<string, number> }> {
  const out = new Map<string, { facility: string; sku: string; days: Record<string, number> }>();
  for (const r of rows) {
    const k = `${r.facility}|${r.sku}`;
    let d = out.get(k);
    if (!d) {
      d = { facility: r.facility, sku: r.sku, days: { ...(current(r.facility, r.sku) ?? {}) } };
      out.set(k, d);
    }
    for (const [day, qty] of forecastDays(r)) d.days[day] = qty;
  }
  return out;
}
