/**
 * The sync epoch: `sync:epoch` in `dom`, answered by the gateway as the `uuid` of `GET /sync/`.
 * PouchDB derives its replication ids (and so the `_local` ids of its checkpoints) from it, and
 * nodes keep their checkpoints in their own databases only; a new epoch starts every node's
 * replications from sequence 0, which is what a hub restored from a backup needs: its databases
 * are behind the nodes' checkpoints, and `_revs_diff` then sends up only what it lost.
 */
import { randomUUID } from 'node:crypto';
import type { DocumentScope } from 'nano';
import { isStatus } from '../../shared/errors.js';

export const SYNC_EPOCH_ID = 'sync:epoch';

export interface SyncEpochDoc {
  _id: string;
  _rev?: string;
  type: 'syncepoch';
  epoch: string;
  at: string;
}

export class SyncEpoch {
  value = 'dom-sync';

  constructor(private readonly dom: DocumentScope<SyncEpochDoc>) {}

  /** Read it, or make the first one (another instance may make it at the same moment: theirs wins). */
  async load(): Promise<string> {
    for (let i = 0; i < 3; i++) {
      try {
        this.apply(await this.dom.get(SYNC_EPOCH_ID));
        return this.value;
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      try {
        const doc: SyncEpochDoc = { _id: SYNC_EPOCH_ID, type: 'syncepoch', epoch: randomUUID(), at: new Date().toISOString() };
        await this.dom.insert(doc);
        this.apply(doc);
        return this.value;
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
      }
    }
    return this.value;
  }

  /** A changed `sync:epoch` (from the `dom` feed). */
  apply(doc: Partial<SyncEpochDoc>): void {
    if (typeof doc.epoch === 'string' && doc.epoch) this.value = doc.epoch;
  }
}
