/** `dom replenish [--hub URL]`: run replenishment on a hub (POST /api/v1/replenishment/run) and print the summary. */
import { DomError } from '../shared/errors.js';

export async function runReplenish(hubUrl: string, token: string | undefined, json: boolean): Promise<void> {
  if (!token) throw new DomError(400, 'missing_token', 'set DOM_PLANNER_TOKEN (or --planner-token)');
  let res: Response;
  try {
    res = await fetch(`${hubUrl.replace(/\/$/, '')}/api/v1/replenishment/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
  } catch (err) {
    throw new DomError(503, 'hub_unreachable', `cannot reach the hub at ${hubUrl}: ${(err as Error).message}`);
  }
  const body = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new DomError(400, 'run_failed', `${res.status}: ${body.error?.message ?? JSON.stringify(body)}`);
  if (json) {
    console.log(JSON.stringify(body, null, 2));
    return;
  }
  console.log(`replenishment run ${body.runId}: ${body.stores} stores × ${body.skus} SKUs, ${body.created} new transfer DOs`);
  const byRoute = new Map<string, number>();
  for (const t of body.transfers as { from: string; to: string; qty: number }[])
    byRoute.set(`${t.from} → ${t.to}`, (byRoute.get(`${t.from} → ${t.to}`) ?? 0) + t.qty);
  for (const [route, qty] of byRoute) console.log(`  ${route}: ${qty} units`);
  for (const f of body.fairShare as { dc: string; sku: string; available: number; totalNeed: number; daysOfSupply: number | null }[]) {
    console.log(
      `  fair share ${f.sku} at ${f.dc}: ${f.available} of ${f.totalNeed} needed, ${f.daysOfSupply === null ? 'no forecast' : `${f.daysOfSupply.toFixed(1)} days of supply`}`,
    );
  }
  for (const p of body.purchaseSuggestions as { facility: string; sku: string; qty: number }[])
    console.log(`  suggest PO: ${p.qty} × ${p.sku} for ${p.facility}`);
  console.log(
    `forecasts: ${body.forecastSource.forecast} from forecasts, ${body.forecastSource.salesHistory} from sales history, ${body.forecastSource.none} with none`,
  );
}
