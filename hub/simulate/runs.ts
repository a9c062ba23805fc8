/**
 * Simulation runs on the hub: a POST answers an id at once and the run goes on in the background,
 * one at a time (a replay competes with the live allocator for the CPU), with its progress and,
 * when done, its result. Runs are kept in a database of their own (`simulations`, never `dom` nor a
 * node's: a simulation writes nothing to the live databases). The id is a hash of the inputs (the
 * request, the live configuration's version and the facilities' settings), so the same inputs
 * again answer the stored run; a window that has not ended yet is never reused.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { HubContext } from '../context.js';
import { DomError } from '../../shared/errors.js';
import { isStatus } from '../../shared/errors.js';
import { scenarioFromHistory, scenarioFromInstance } from './history.js';
import { checkCandidates, simulate, type Progress, type SimulationResult } from './run.js';
import type { LiveSourcing } from './live.js';
import type { Candidate, Scenario, SimulationBody } from './scenario.js';

export const SIM_DB = 'simulations';
const MAX_QUEUED = 8;

export interface SimulationRun {
  _id: string;
  _rev?: string;
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  progress: Progress;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** The live configuration's version it ran against (apply refuses a stale one). */
  configVersion: number;
  source: 'window' | 'instance';
  window?: SimulationBody['window'];
  candidates: Candidate[];
  result?: SimulationResult;
  error?: { code: string; message: string };
}

/** A stable JSON text: object keys sorted, so equal inputs hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export class SimulationRuns {
  private readonly runs = new Map<string, SimulationRun>();
  private queue: { run: SimulationRun; body: SimulationBody }[] = [];
  private working: Promise<void> | null = null;
  private dbReady: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: HubContext,
    private readonly live: LiveSourcing,
  ) {}

  private db() {
    this.dbReady ??= this.ctx.couch.ensureDb(SIM_DB).catch((err) => {
      this.dbReady = null;
      throw err;
    });
    return this.dbReady.then(() => this.ctx.couch.db<SimulationRun>(SIM_DB));
  }

  /** Saves one after another: a progress save and the final one never race on the revision. */
  private saving: Promise<void> = Promise.resolve();
  private save(run: SimulationRun): Promise<void> {
    const next = this.saving.catch(() => undefined).then(() => this.write(run));
    this.saving = next;
    return next;
  }

  private async write(run: SimulationRun): Promise<void> {
    run.updatedAt = new Date().toISOString();
    const db = await this.db();
    for (let attempt = 0; ; attempt++) {
      try {
        run._rev = (await db.insert(run)).rev;
        return;
      } catch (err) {
        if (!isStatus(err, 409) || attempt >= 3) throw err;
        run._rev = (await db.get(run._id))._rev;
      }
    }
  }

  /** Start a run (or answer the stored one for the same inputs). */
  async start(body: SimulationBody): Promise<{ run: SimulationRun; reused: boolean }> {
    const known = await this.ctx.facilities.list();
    // a candidate naming a facility the scenario lacks is refused now, not found failed later
    checkCandidates({ facilities: body.instance ? body.instance.facilities : known } as Scenario, body.candidates);
    if (body.instance) scenarioFromInstance(body.instance, body.batchSize);
    const facilities = known.map((f) => [f.id, f.type, f.lat, f.lon, f.capacity, f.enabled, f.shipFromStore, f.pickup, f.priority]);
    const open = body.window && Date.parse(body.window.to) > Date.now();
    const key = createHash('sha256')
      .update(canonical({ body, config: this.live.version, sourcing: this.live.sourcing, facilities, ...(open ? { nonce: randomUUID() } : {}) }))
      .digest('hex');
    const id = key.slice(0, 24);
    const stored = this.runs.get(id) ?? (await this.get(id));
    if (stored && stored.status !== 'failed') return { run: stored, reused: true };
    if (this.queue.length >= MAX_QUEUED)
      throw new DomError(429, 'too_many_simulations', `${this.queue.length} simulations wait already; try again when they are done`);
    const now = new Date().toISOString();
    const run: SimulationRun = {
      _id: `sim:${id}`,
      ...(stored?._rev ? { _rev: stored._rev } : {}),
      id,
      status: 'queued',
      progress: { done: 0, total: 0, phase: 'queued' },
      createdAt: now,
      updatedAt: now,
      configVersion: this.live.version,
      source: body.window ? 'window' : 'instance',
      ...(body.window ? { window: body.window } : {}),
      candidates: body.candidates,
    };
    await this.save(run);
    this.runs.set(id, run);
    this.queue.push({ run, body });
    this.working ??= this.work().finally(() => (this.working = null));
    return { run, reused: false };
  }

  async get(id: string): Promise<SimulationRun | undefined> {
    const mine = this.runs.get(id);
    if (mine) return mine;
    try {
      const run = await (await this.db()).get(`sim:${id}`);
      // left running by a hub that stopped: it will not finish; the same inputs start it again
      if ((run.status === 'running' || run.status === 'queued') && Date.now() - Date.parse(run.updatedAt) > 60_000) {
        return { ...run, status: 'failed', error: { code: 'interrupted', message: 'the hub running it stopped; post the same inputs to run it again' } };
      }
      return run;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async list(limit = 50): Promise<Omit<SimulationRun, 'result' | 'candidates'>[]> {
    const res = await (await this.db()).list({ include_docs: true, startkey: 'sim:', endkey: 'sim:\ufff0' });
    return res.rows
      .flatMap((r) => (r.doc ? [r.doc] : []))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit)
      .map(({ result, candidates, _rev, ...r }) => ({
        ...r,
        candidateNames: candidates.map((c) => c.name),
        ...(result ? { summary: result.configurations.map((c) => ({ name: c.name, cost: c.cost, unitsFilled: c.unitsFilled })) } : {}),
      }));
  }

  private async work(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      const { run, body } = this.queue.shift()!;
      try {
        run.status = 'running';
        run.progress = { done: 0, total: 0, phase: 'reading history' };
        run.configVersion = this.live.version; // the configuration it runs against (apply checks it)
        await this.save(run);
        const sc = body.window ? await scenarioFromHistory(this.ctx, this.live.sourcing, body.window) : scenarioFromInstance(body.instance!, body.batchSize);
        if (body.measure) sc.measure = body.measure;
        let lastSave = Date.now();
        run.result = await simulate(sc, body.candidates, {
          cancelled: () => this.stopped,
          onProgress: (p) => {
            run.progress = p;
            if (Date.now() - lastSave > 2000) {
              lastSave = Date.now();
              void this.save(run).catch(() => undefined);
            }
          },
        });
        run.status = 'done';
        run.progress = { ...run.progress, done: run.progress.total, phase: 'done' };
      } catch (err) {
        run.status = 'failed';
        run.error = err instanceof DomError ? { code: err.code, message: err.message } : { code: 'simulation_failed', message: (err as Error).message };
        this.ctx.log.warn({ simulation: run.id, err }, 'simulation failed');
      }
      run.finishedAt = new Date().toISOString();
      // stored: it is read from the database from now on (results are not kept in memory); not
      // stored: it stays here, so this instance still answers it
      await this.save(run).then(
        () => this.runs.delete(run.id),
        (err) => this.ctx.log.error({ err, simulation: run.id }, 'storing a simulation failed'),
      );
      this.ctx.log.info({ simulation: run.id, status: run.status, ms: run.result?.elapsedMs }, 'simulation finished');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.working?.catch(() => undefined);
  }
}
