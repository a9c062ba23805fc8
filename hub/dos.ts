/**
 * Writing distribution orders (and their cancellations) down to the node databases. DO ids are
 * deterministic, so writing the same DO twice answers 409 "already written", which is success.
 */
import type { Couch } from './couch/index.js';
import { ids, nodeDbName } from '../shared/ids.js';
import type { DistributionOrderDoc, DoCancelDoc } from '../shared/schemas.js';
import { newDoState, type DoStateDoc } from '../shared/dostate.js';
import { groupBy } from '../shared/collections.js';

async function bulkCreate(couch: Couch, db: string, docs: object[]): Promise<void> {
  if (docs.length === 0) return;
  const res = await couch.db(db).bulk({ docs });
  const failed = res.filter((r) => r.error && r.error !== 'conflict');
  if (failed.length) throw new Error(`writing ${failed.length} document(s) to ${db} failed: ${failed[0]!.error} ${failed[0]!.reason ?? ''}`);
}

/** Write DO states to `dom` first, then the DOs to each facility's database, one bulk per database. */
export async function writeDos(couch: Couch, dos: DistributionOrderDoc[]): Promise<void> {
  if (dos.length === 0) return;
  await bulkCreate(couch, 'dom', dos.map((d) => newDoState(d)) as DoStateDoc[]);
  const byDb = groupBy(dos, (d) => nodeDbName(d.facility));
  await Promise.all(
    [...byDb].map(async ([db, docs]) => {
      await couch.ensureDb(db);
      await bulkCreate(couch, db, docs);
    }),
  );
}

export async function writeCancel(couch: Couch, facility: string, doId: string, reason: string): Promise<void> {
  const doc: DoCancelDoc = { _id: ids.doCancel(doId), type: 'docancel', doId, reason, createdAt: new Date().toISOString() };
  await bulkCreate(couch, nodeDbName(facility), [doc]);
}
