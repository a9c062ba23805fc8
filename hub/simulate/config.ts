/**
 * Sourcing configurations: the strategies a `--sourcing` setting (or a candidate) gives, chosen per
 * order exactly as the live allocator chooses them (its channel's, else its delivery's, else
 * `default`), and a candidate's effective configuration over the current one.
 */
import { costStrategy, type SourcingOrder, type SourcingStrategy } from '../allocator/strategy.js';
import { DEFAULT_COSTS, type Costs } from '../../shared/instance.js';
import type { Candidate, ScenarioFacility, SourcingSettings } from './scenario.js';

/** The strategies of a sourcing setting, as startHub builds them for the live allocator. */
export function strategiesOf(sourcing: SourcingSettings): Record<string, SourcingStrategy> {
  return Object.fromEntries(
    Object.entries(sourcing).map(([key, s]) => {
      const costs = {
        ...DEFAULT_COSTS,
        ...(s.perShipment === undefined ? {} : { perShipment: s.perShipment }),
        ...(s.perKm === undefined ? {} : { perKm: s.perKm }),
        ...(s.perUnit ? { perUnit: s.perUnit } : {}),
      };
      return [key, costStrategy(costs, { name: key, maxCandidates: s.maxCandidates, maxDistanceKm: s.maxDistanceKm })];
    }),
  );
}

/** Allocator.strategyFor over these strategies (service.ts): channel, then delivery, then default. */
export function strategyChooser(sourcing: SourcingSettings): (o: SourcingOrder) => SourcingStrategy {
  const s: Record<string, SourcingStrategy> = { default: costStrategy(DEFAULT_COSTS), ...strategiesOf(sourcing) };
  return (o) => (o.channel && s[o.channel]) || s[o.delivery] || s.default!;
}

/** The default strategy's cost parameters: what a comparison's cost is measured with unless told. */
export function costsOf(sourcing: SourcingSettings): Costs {
  const d = sourcing.default ?? {};
  return { perShipment: d.perShipment ?? DEFAULT_COSTS.perShipment, perKm: d.perKm ?? DEFAULT_COSTS.perKm, perUnit: d.perUnit ?? DEFAULT_COSTS.perUnit };
}

/** A candidate's sourcing: its settings merged field by field over the current ones, then its costs over every key. */
export function candidateSourcing(current: SourcingSettings, c: Pick<Candidate, 'sourcing' | 'costs'>): SourcingSettings {
  const out: SourcingSettings = structuredClone(current);
  for (const [k, v] of Object.entries(c.sourcing ?? {}) as [keyof SourcingSettings, NonNullable<SourcingSettings['default']>][]) out[k] = { ...out[k], ...v };
  if (c.costs && Object.keys(c.costs).length) {
    out.default ??= {};
    for (const k of Object.keys(out) as (keyof SourcingSettings)[]) out[k] = { ...out[k], ...c.costs };
  }
  return out;
}

/** A candidate's facilities: the changes applied, the new ones added. Unknown ids are the caller's to refuse. */
export function candidateFacilities(current: ScenarioFacility[], c: Pick<Candidate, 'facilities' | 'newFacilities'>): ScenarioFacility[] {
  const changes = new Map((c.facilities ?? []).map((f) => [f.id, f]));
  const out = current.map((f) => {
    const ch = changes.get(f.id);
    if (!ch) return f;
    const { id: _id, ...rest } = ch;
    return { ...f, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
  });
  for (const n of c.newFacilities ?? []) {
    out.push({
      id: n.id,
      type: n.type,
      name: n.name ?? n.id,
      lat: n.lat,
      lon: n.lon,
      capacity: n.capacity,
      priority: n.priority,
      shipFromStore: n.shipFromStore,
      pickup: n.pickup,
      enabled: true,
    });
  }
  return out;
}
