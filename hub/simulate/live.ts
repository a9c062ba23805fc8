/**
 * The live sourcing configuration: the strategies per channel the allocator uses (from `--sourcing`
 * until a planner applies a candidate), kept in `dom` as `sourcing:live` with the configuration it
 * replaced, so that one call rolls it back. Applying writes the candidate's facility changes too
 * (capacity, enabled, ship-from-store, pickup, priority) and records who and when on the event
 * stream (`sourcing`, and a `facility` event per facility changed). Every hub instance follows the
 * document on its `dom` feed, so whichever holds the allocator lease allocates with it.
 */
import type { HubContext } from '../context.js';
import type { Allocator } from '../allocator/service.js';
import type { FacilityDoc } from '../../shared/schemas.js';
import { ids } from '../../shared/ids.js';
import { conflict, isStatus } from '../../shared/errors.js';
import { strategiesOf } from './config.js';
import type { FacilityChange, SourcingSettings } from './scenario.js';

export const LIVE_ID = 'sourcing:live';
const FIELDS = ['capacity', 'enabled', 'shipFromStore', 'pickup', 'priority'] as const;

export interface LiveConfig {
  version: number;
  sourcing: SourcingSettings;
  appliedAt: string | null;
  by: string | null;
  /** What was applied: a simulation's candidate, or a rollback. */
  source: { simulation: string; candidate: string } | { rollbackOf: number } | { flag: true };
  /** The facility settings it set, and (in `previous`) the ones to restore on rollback. */
  facilities: FacilityChange[];
}

interface LiveDoc extends LiveConfig {
  _id: string;
  _rev?: string;
  type: 'sourcing';
  previous: (LiveConfig & { restore: FacilityChange[] }) | null;
}

export class LiveSourcing {
  private doc: LiveDoc;

  constructor(
    private readonly ctx: HubContext,
    private readonly allocator: Allocator | null,
    flag: SourcingSettings,
  ) {
    this.doc = {
      _id: LIVE_ID,
      type: 'sourcing',
      version: 0,
      sourcing: flag,
      appliedAt: null,
      by: null,
      source: { flag: true },
      facilities: [],
      previous: null,
    };
  }

  get current(): LiveConfig & { previous: LiveConfig | null } {
    const { _id, _rev, type, previous, ...c } = this.doc;
    if (!previous) return { ...c, previous: null };
    const { restore: _restore, ...prev } = previous;
    return { ...c, previous: prev };
  }

  get sourcing(): SourcingSettings {
    return this.doc.sourcing;
  }

  get version(): number {
    return this.doc.version;
  }

  /** At start: a configuration applied earlier stands over `--sourcing`. */
  async load(): Promise<void> {
    try {
      this.adopt(await this.ctx.couch.db<LiveDoc>('dom').get(LIVE_ID));
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  /** A newer document (written here or by another instance): the allocator uses it from its next batch. */
  adopt(doc: LiveDoc): void {
    if (doc.version < this.doc.version) return;
    this.doc = doc;
    if (!this.allocator) return;
    this.allocator.setStrategies(strategiesOf(doc.sourcing));
  }

  /** Apply a configuration: its sourcing and its facility changes, recorded as done by `by`. */
  async apply(
    next: { sourcing: SourcingSettings; facilities: FacilityChange[]; by: string; source: LiveConfig['source'] },
    expectVersion?: number,
  ): Promise<LiveConfig> {
    const dom = this.ctx.couch.db<LiveDoc>('dom');
    const stored = await dom.get(LIVE_ID).catch((err) => {
      if (isStatus(err, 404)) return null;
      throw err;
    });
    const cur: LiveDoc = stored ?? { ...this.doc, _rev: undefined };
    if (expectVersion !== undefined && cur.version !== expectVersion) {
      throw conflict(
        'config_changed',
        `the live configuration is at version ${cur.version}, not the ${expectVersion} this was simulated against; run the simulation again`,
      );
    }
    const restore: FacilityChange[] = [];
    for (const ch of next.facilities) {
      const f = await this.ctx.facilities.get(ch.id);
      if (!f) throw conflict('unknown_facility', `no facility "${ch.id}" to change`);
      restore.push({ id: ch.id, ...Object.fromEntries(FIELDS.filter((k) => ch[k] !== undefined).map((k) => [k, f[k]])) });
    }
    const at = new Date().toISOString();
    const { _id, _rev, type, previous, ...curConfig } = cur;
    const doc: LiveDoc = {
      _id: LIVE_ID,
      ...(stored?._rev ? { _rev: stored._rev } : {}),
      type: 'sourcing',
      version: cur.version + 1,
      sourcing: next.sourcing,
      appliedAt: at,
      by: next.by,
      source: next.source,
      facilities: next.facilities,
      previous: { ...curConfig, restore },
    };
    try {
      const res = await dom.insert(doc);
      doc._rev = res.rev;
    } catch (err) {
      if (isStatus(err, 409)) throw conflict('config_changed', 'the live configuration changed at the same moment; try again');
      throw err;
    }
    const changed = [];
    for (const ch of next.facilities) changed.push(await this.changeFacility(ch, next.by, at));
    this.adopt(doc);
    this.ctx.events.emit('sourcing', {
      version: doc.version,
      by: next.by,
      at,
      source: next.source,
      sourcing: next.sourcing,
      facilities: changed.filter((c) => Object.keys(c.changes).length),
    });
    this.ctx.log.info({ version: doc.version, by: next.by, source: next.source }, 'sourcing configuration applied');
    return this.current;
  }

  /** Put back the configuration the last apply replaced (its sourcing and the facility settings it changed). */
  async rollback(by: string): Promise<LiveConfig> {
    const stored = await this.ctx.couch
      .db<LiveDoc>('dom')
      .get(LIVE_ID)
      .catch((err) => {
        if (isStatus(err, 404)) return null;
        throw err;
      });
    if (!stored?.previous) throw conflict('nothing_to_roll_back', 'no configuration has been applied: there is nothing to roll back to');
    return this.apply({ sourcing: stored.previous.sourcing, facilities: stored.previous.restore, by, source: { rollbackOf: stored.version } }, stored.version);
  }

  private async changeFacility(ch: FacilityChange, by: string, at: string): Promise<{ id: string; changes: Record<string, { from: unknown; to: unknown }> }> {
    const dom = this.ctx.couch.db<FacilityDoc>('dom');
    for (let attempt = 0; ; attempt++) {
      const stored = await dom.get(ids.facility(ch.id));
      const next: FacilityDoc & { updatedAt?: string } = { ...stored };
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const k of FIELDS) {
        const v = ch[k];
        if (v === undefined || stored[k] === v) continue;
        changes[k] = { from: stored[k] ?? null, to: v };
        (next as Record<string, unknown>)[k] = v;
      }
      if (!Object.keys(changes).length) return { id: ch.id, changes };
      next.updatedAt = at;
      try {
        next._rev = (await dom.insert(next)).rev;
      } catch (err) {
        if (isStatus(err, 409) && attempt < 3) continue;
        throw err;
      }
      this.ctx.facilities.upsert(next);
      this.ctx.events.emit('facility', { id: ch.id, changes, by, at });
      return { id: ch.id, changes };
    }
  }
}
