/**
 * What-if simulations: replay a window of real orders (or an uploaded instance) under candidate
 * sourcing configurations, read the comparison (JSON or CSV), apply a candidate as the live
 * configuration, and roll it back. A simulation writes nothing to `dom` or a node's database;
 * applying and rolling back are live changes, recorded on the event stream with who and when.
 */
import { Hono } from 'hono';
import type { HubContext } from '../context.js';
import { parseQuery, readBody } from '../../shared/http.js';
import { conflict, notFound } from '../../shared/errors.js';
import { serve } from '../../shared/openapi.js';
import { HUB_ROUTES as R } from '../../shared/routes/hub.js';
import { toCsv } from '../simulate/compare.js';
import type { SimulationRuns } from '../simulate/runs.js';
import type { LiveSourcing } from '../simulate/live.js';

const RUN_ID = /^[0-9a-f]{24}$/;

export function simulationsApi(ctx: HubContext, runs: SimulationRuns, live: LiveSourcing) {
  const app = new Hono();
  const route = serve(app, '/api/v1/simulations');
  const find = async (id: string) => {
    const run = RUN_ID.test(id) ? await runs.get(id) : undefined;
    if (!run) throw notFound('unknown_simulation', `no simulation "${id.slice(0, 64)}"`);
    return run;
  };

  route(R.simulationStart, async (c) => {
    const body = await readBody(c, R.simulationStart.body);
    const { run, reused } = await runs.start(body);
    const { _id, _rev, ...view } = run;
    return c.json({ ...view, reused }, reused ? 200 : 202, { location: `/api/v1/simulations/${run.id}` });
  });

  route(R.simulationList, async (c) => {
    parseQuery(R.simulationList.query, c.req.query());
    return c.json(await runs.list());
  });

  route(R.simulationGet, async (c) => {
    const q = parseQuery(R.simulationGet.query, c.req.query());
    const run = await find(c.req.param('id'));
    if (q.format === 'csv') {
      if (!run.result) throw conflict('simulation_not_done', `simulation ${run.id} is ${run.status}; its CSV is there once it is done`);
      return c.body(toCsv(run.result.configurations, q.table), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="simulation-${run.id}-${q.table}.csv"`,
      });
    }
    const { _id, _rev, ...view } = run;
    return c.json(view);
  });

  route(R.simulationApply, async (c) => {
    const body = await readBody(c, R.simulationApply.body);
    const run = await find(c.req.param('id'));
    if (run.status !== 'done' || !run.result) throw conflict('simulation_not_done', `simulation ${run.id} is ${run.status}; apply a candidate once it is done`);
    if (run.source !== 'window')
      throw conflict('not_applicable', "an uploaded instance has its own network: only a simulation over the hub's history can be applied");
    const cand = run.candidates.find((x) => x.name === body.candidate);
    const result = run.result.configurations.find((x) => x.name === body.candidate);
    if (!cand || !result)
      throw notFound(
        'unknown_candidate',
        `simulation ${run.id} has no candidate "${body.candidate}"; it has ${run.candidates.map((x) => `"${x.name}"`).join(', ')}`,
      );
    if (cand.newFacilities?.length) {
      throw conflict(
        'cannot_apply_new_facility',
        `candidate "${cand.name}" adds ${cand.newFacilities.map((f) => f.id).join(', ')}: register a new facility (POST /api/v1/facilities) and load its stock first, then simulate again`,
      );
    }
    const applied = await live.apply(
      { sourcing: result.sourcing, facilities: cand.facilities ?? [], by: body.by, source: { simulation: run.id, candidate: cand.name } },
      run.configVersion,
    );
    return c.json(applied);
  });

  return app;
}

/** The live sourcing configuration and its one-call rollback. */
export function sourcingApi(live: LiveSourcing) {
  const app = new Hono();
  const route = serve(app, '/api/v1/sourcing');
  route(R.sourcing, (c) => c.json(live.current));
  route(R.sourcingRollback, async (c) => {
    const body = await readBody(c, R.sourcingRollback.body);
    return c.json(await live.rollback(body.by));
  });
  return app;
}
