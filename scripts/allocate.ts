/** `dom allocate --input instance.json [--output result.json]`: the live allocator's core, offline. */
import { readFileSync, writeFileSync } from 'node:fs';
import { Instance } from '../shared/instance.js';
import { solveInstance } from '../hub/allocator/instance.js';
import { DomError } from '../shared/errors.js';
import { zodMessage } from '../shared/http.js';

export async function runAllocate(input: string, output?: string): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(input, 'utf8'));
  } catch (err) {
    throw new DomError(400, 'bad_input', `cannot read ${input}: ${(err as Error).message}`);
  }
  const parsed = Instance.safeParse(raw);
  if (!parsed.success) throw new DomError(400, 'invalid_instance', `${input}: ${zodMessage(parsed.error)}`);
  const facilities = new Set(parsed.data.facilities.map((f) => f.id));
  for (const o of parsed.data.orders) {
    if (o.delivery === 'pickup' && !facilities.has(o.pickupFacility!))
      throw new DomError(400, 'unknown_facility', `order ${o.id}: unknown pickup facility ${o.pickupFacility}`);
  }
  for (const p of parsed.data.inventory)
    if (!facilities.has(p.facility)) throw new DomError(400, 'unknown_facility', `inventory names unknown facility ${p.facility}`);
  const t0 = performance.now();
  const { plans, ...result } = solveInstance(parsed.data);
  const ms = performance.now() - t0;
  const text = JSON.stringify(result, null, 2);
  if (output) writeFileSync(output, text);
  else console.log(text);
  const t = result.totals;
  console.error(
    `allocated ${parsed.data.orders.length} orders in ${ms.toFixed(0)} ms: ${t.unitsFilled} units filled, ${t.unitsUnfilled} unfilled, ${t.shipments} shipments, cost ${t.cost.toFixed(2)}${output ? ` → ${output}` : ''}`,
  );
}
