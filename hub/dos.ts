/**
 * Writing distribution orders (and their cancellations) down to the node databases. DO ids are
 * deterministic, so writing the same DO twice answers 409 "already written", which is success.
 */
import type { DocumentBulkResponse } from 'nano';
import type { Couch } from './couch/index.js';
import { ids, nodeDbName } from '../shared/ids.js';
import type { DistributionOrderDoc, DoCancelDoc } from '../shared/schemas.js';
import { newDoState, type DoStateDoc } from '../shared/dostate.js';
import { groupBy, mapLimit } from '../shared/collections.js';
import { bulkDocs } from './couch/bulk.js';

/** Node databases written at once by one batch (each its own `_bulk_docs`). */
const NODE_DB_WRITES_AT_ONCE = 16;

/** `_bulk_docs` of new documents: a 409 is "written already"; any other refusal throws. */
export async function bulkCreate(couch: Couch, db: string, docs: object[]): Promise<DocumentBulkResponse[]> {
  if (docs.length === 0) return [];
  const res = await bulkDocs(couch.db(db), docs);
  const failed = res.filter((r) => r.error && r.error !== 'conflict');
  if (failed.length) throw new Error(`writing ${failed.length} document(s) to ${db} failed: ${failed[0]!.error} ${failed[0]!.reason ?? ''}`);
  return res;
}

/**
 * Write DO states to `dom` first, then the DOs to each facility's database (`writeNodeDos`).
 * `created`: told of the DO states this call created, as stored (one that existed already may have
 * moved on, and is not among them).
 */
export async function writeDos(couch: Couch, dos: DistributionOrderDoc[], created?: (states: DoStateDoc[]) => void): Promise<void> {
  if (dos.length === 0) return;
  const states = dos.map((d) => newDoState(d));
  const res = await bulkCreate(couch, 'dom', states);
  created?.(storedStates(states, res));
  await writeNodeDos(couch, dos);
}

/** The states a `_bulk_docs` of new DO states stored, with their revisions (one that existed already is not among them). */
export function storedStates(states: DoStateDoc[], res: DocumentBulkResponse[]): DoStateDoc[] {
  return states.flatMap((s, i) => (res[i]?.rev ? [{ ...s, _rev: res[i]!.rev }] : []));
}

/** The DOs to each facility's database, one bulk per database (a DO written before answers 409: written). */
export async function writeNodeDos(couch: Couch, dos: DistributionOrderDoc[]): Promise<void> {
  const byDb = groupBy(dos, (d) => nodeDbName(d.facility));
  // a batch at 1,000 facilities touches hundreds of node databases: a few bulks at a time
  await mapLimit([...byDb], NODE_DB_WRITES_AT_ONCE, async ([db, docs]) => {
    await couch.ensureDb(db);
    await bulkCreate(couch, db, docs);
  });
}

export async function writeCancel(couch: Couch, facility: string, doId: string, reason: string): Promise<void> {
  const doc: DoCancelDoc = { _id: ids.doCancel(doId), type: 'docancel', doId, reason, createdAt: new Date().toISOString() };
  await bulkCreate(couch, nodeDbName(facility), [doc]);
}
