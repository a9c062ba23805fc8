/**
 * `dom simulate`: what-if runs on a hub (POST /api/v1/simulations, progress on stderr, the
 * comparison on stdout as JSON or CSV), or offline for an instance file (`--input` without
 * `--hub`: the same replay, no hub needed). `dom simulate apply ID --candidate NAME --by WHO` and
 * `dom simulate rollback --by WHO` change the live configuration.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DomError } from '../shared/errors.js';
import { zodMessage } from '../shared/http.js';
import { SimulationBody } from '../hub/simulate/scenario.js';
import { scenarioFromInstance } from '../hub/simulate/history.js';
import { simulate } from '../hub/simulate/run.js';
import { toCsv } from '../hub/simulate/compare.js';

export interface SimulateFlags {
  hub?: string;
  token?: string;
  scenario?: string;
  input?: string;
  candidates?: string;
  from?: string;
  to?: string;
  batchSize?: string;
  format?: string;
  table?: string;
  output?: string;
  candidate?: string;
  by?: string;
}

function readJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DomError(400, 'bad_input', `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The POST body the flags describe: a whole scenario file, or a window or an instance with a candidates file. */
export function bodyOf(f: SimulateFlags): SimulationBody {
  let raw: Record<string, unknown>;
  if (f.scenario) raw = readJsonFile(f.scenario, 'the scenario') as Record<string, unknown>;
  else {
    if (!f.candidates) throw new DomError(400, 'missing_input', '--candidates FILE (a JSON array of candidate configurations) is required, or --scenario FILE');
    const candidates = readJsonFile(f.candidates, 'the candidates');
    if (f.input) raw = { instance: readJsonFile(f.input, 'the instance'), candidates, ...(f.batchSize ? { batchSize: Number(f.batchSize) } : {}) };
    else if (f.from && f.to) raw = { window: { from: f.from, to: f.to }, candidates };
    else throw new DomError(400, 'missing_input', "give --from and --to (a window of the hub's orders), --input instance.json, or --scenario FILE");
  }
  const r = SimulationBody.safeParse(raw);
  if (!r.success) throw new DomError(400, 'invalid_scenario', zodMessage(r.error));
  return r.data;
}

async function call(hub: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    const headers = { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    res = await fetch(`${hub.replace(/\/$/, '')}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new DomError(503, 'hub_unreachable', `cannot reach the hub at ${hub}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* CSV */
  }
  if (res.status >= 400)
    throw new DomError(400, 'request_failed', `${method} ${path}: ${res.status} ${(parsed as { error?: { message?: string } }).error?.message ?? text}`);
  return { status: res.status, body: parsed };
}

function emit(text: string, output?: string) {
  if (output) writeFileSync(output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export async function runSimulate(args: string[], f: SimulateFlags): Promise<void> {
  const format = f.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new DomError(400, 'invalid_format', `--format must be json or csv, not "${format}"`);
  const table = (f.table ?? 'summary') as 'summary' | 'load' | 'changed';
  if (!['summary', 'load', 'changed'].includes(table)) throw new DomError(400, 'invalid_table', `--table must be summary, load or changed, not "${table}"`);
  const [sub, id] = args;
  const needHub = () => {
    if (!f.hub) throw new DomError(400, 'missing_hub', '--hub URL (or DOM_HUB_URL) is required');
    if (!f.token) throw new DomError(400, 'missing_token', 'set DOM_PLANNER_TOKEN (or --planner-token)');
    return { hub: f.hub, token: f.token };
  };
  if (sub === 'apply') {
    if (!id || !f.candidate || !f.by) throw new DomError(400, 'missing_input', 'dom simulate apply SIMULATION_ID --candidate NAME --by WHO');
    const { hub, token } = needHub();
    const r = await call(hub, token, 'POST', `/api/v1/simulations/${encodeURIComponent(id)}/apply`, { candidate: f.candidate, by: f.by });
    console.log(`applied "${f.candidate}" of ${id}: live configuration v${r.body.version}, by ${r.body.by} at ${r.body.appliedAt}`);
    return;
  }
  if (sub === 'rollback') {
    if (!f.by) throw new DomError(400, 'missing_input', 'dom simulate rollback --by WHO');
    const { hub, token } = needHub();
    const r = await call(hub, token, 'POST', '/api/v1/sourcing/rollback', { by: f.by });
    console.log(`rolled back: live configuration v${r.body.version}, by ${r.body.by} at ${r.body.appliedAt}`);
    return;
  }
  if (sub !== undefined) throw new DomError(400, 'unknown_subcommand', `dom simulate [apply ID | rollback]: "${sub}" is neither`);
  const body = bodyOf(f);

  if (body.instance && !f.hub) {
    // offline: the same replay and comparison as the hub's, for an instance file
    const sc = scenarioFromInstance(body.instance, body.batchSize);
    if (body.measure) sc.measure = body.measure;
    const result = await simulate(sc, body.candidates, { onProgress: (p) => process.stderr.write(`\r  ${p.phase}: ${p.done}/${p.total} batches   `) });
    process.stderr.write('\n');
    emit(format === 'csv' ? toCsv(result.configurations, table) : JSON.stringify(result, null, 2), f.output);
    return;
  }
  const { hub, token } = needHub();
  const started = await call(hub, token, 'POST', '/api/v1/simulations', body);
  const sid = started.body.id as string;
  console.error(`simulation ${sid}${started.body.reused ? ' (the stored run for the same inputs)' : ''}`);
  for (;;) {
    const r = await call(hub, token, 'GET', `/api/v1/simulations/${sid}`);
    const p = r.body.progress ?? { done: 0, total: 0, phase: r.body.status };
    process.stderr.write(`\r  ${r.body.status}: ${p.phase} ${p.done}/${p.total} batches   `);
    if (r.body.status === 'failed') {
      process.stderr.write('\n');
      throw new DomError(422, r.body.error?.code ?? 'simulation_failed', `simulation ${sid} failed: ${r.body.error?.message ?? 'unknown error'}`);
    }
    if (r.body.status === 'done') {
      process.stderr.write('\n');
      if (format === 'csv') emit((await call(hub, token, 'GET', `/api/v1/simulations/${sid}?format=csv&table=${table}`)).body as string, f.output);
      else emit(JSON.stringify(r.body, null, 2), f.output);
      const res = r.body.result;
      for (const c of res.configurations) {
        const vs = c.vsCurrent ? `  Δ ${c.vsCurrent.costDelta}  changed ${c.vsCurrent.changedOrders}` : '';
        console.error(
          `  ${c.name.padEnd(20)} cost ${c.cost.toFixed(2)}  filled ${c.unitsFilled}  backordered ${c.unitsBackordered}  shipments/order ${c.shipmentsPerOrder}${vs}`,
        );
      }
      if (res.fidelity) console.error(`  replay of the current configuration: ${res.fidelity.matching} of ${res.fidelity.checked} orders as live`);
      return;
    }
    await new Promise((ok) => setTimeout(ok, 500));
  }
}
