/**
 * The facility catalogue, cached in memory and refreshed from `dom` every few seconds so that
 * several hub instances agree (a facility registered at one is seen by the others).
 */
import type { DocumentScope } from 'nano';
import type { FacilityDoc } from '../shared/schemas.js';
import { ids } from '../shared/ids.js';
import { isStatus } from '../shared/errors.js';

export class FacilityStore {
  private byId = new Map<string, FacilityDoc>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly dom: DocumentScope<FacilityDoc>,
    private readonly ttlMs = 5_000,
  ) {}

  async refresh(): Promise<void> {
    this.loading ??= (async () => {
      const res = await this.dom.list({ startkey: 'facility:', endkey: 'facility:\ufff0', include_docs: true });
      const next = new Map<string, FacilityDoc>();
      for (const r of res.rows) if (r.doc) next.set(r.doc.id, r.doc);
      // a facility upserted while the list was read may be missing from it: keep it (facilities are
      // never deleted), or it stays unknown until the next refresh (seen registering 1,000 at once)
      for (const [id, doc] of this.byId) if (!next.has(id)) next.set(id, doc);
      this.byId = next;
      this.loadedAt = Date.now();
    })().finally(() => (this.loading = null));
    return this.loading;
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt > this.ttlMs) await this.refresh();
  }

  async list(): Promise<FacilityDoc[]> {
    await this.fresh();
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A facility registered a moment ago through another hub instance is read through. */
  async get(id: string): Promise<FacilityDoc | undefined> {
    await this.fresh();
    const hit = this.byId.get(id);
    if (hit) return hit;
    try {
      const doc = await this.dom.get(ids.facility(id));
      this.byId.set(id, doc);
      return doc;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** The cached map, as of the last refresh; for hot paths that must not wait on I/O. */
  snapshot(): ReadonlyMap<string, FacilityDoc> {
    return this.byId;
  }

  upsert(doc: FacilityDoc): void {
    this.byId.set(doc.id, doc);
  }

  static docId = ids.facility;
}

/**
 * A facility with a planner's change applied (PATCH /api/v1/facilities/:id): `null` removes a
 * field (`servingDc`), and `changes` lists each field whose value differs, from and to (empty: nothing changed).
 */
export function applyFacilityPatch<F extends object>(
  stored: F,
  patch: Record<string, unknown>,
): { next: F; changes: Record<string, { from: unknown; to: unknown }> } {
  const next = { ...stored } as Record<string, unknown>;
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const before = (stored as Record<string, unknown>)[k];
    if (v === null) delete next[k];
    else next[k] = v;
    if ((before ?? null) !== v) changes[k] = { from: before ?? null, to: v };
  }
  return { next: next as F, changes };
}
