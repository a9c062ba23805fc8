/**
 * What a checkout reservation holds (POST /api/v1/atp with `reserve`): the units there now, all at
 * the one facility that has the whole cart now, else per line from its reported facilities in
 * turn, nearest first (with a pickup store: from that store only). A line may be held in part, or
 * not at all; the reservation says so per line.
 */
import type { CartLine, FacilityOffer, SingleFacility } from './atp.js';

export interface LineHolds {
  sku: string;
  qty: number;
  holds: { facility: string; qty: number }[];
}

export function planHolds(
  lines: CartLine[],
  /** per line, the facilities its check reported, best first */
  offers: FacilityOffer[][],
  single: SingleFacility | null,
  pickupFacility: string | undefined,
  available: (facility: string, sku: string) => number,
): LineHolds[] {
  return lines.map((l, i) => {
    if (single?.date === 'now') return { sku: l.sku, qty: l.qty, holds: [{ facility: single.facility, qty: l.qty }] };
    let need = l.qty;
    const holds: LineHolds['holds'] = [];
    const from = pickupFacility ? (offers[i] ?? []).filter((f) => f.facility === pickupFacility) : (offers[i] ?? []);
    for (const f of from) {
      if (need <= 0) break;
      const take = Math.min(need, available(f.facility, l.sku));
      if (take <= 0) continue;
      holds.push({ facility: f.facility, qty: take });
      need -= take;
    }
    return { sku: l.sku, qty: l.qty, holds };
  });
}
