/**
 * What a node may upload: only node-owned document types, in its own database, each valid against
 * its schema, with the id its fields imply, never deleted, never with attachments, and append-only
 * types only ever as their first revision. Pure: the gateway writes the documents that pass and
 * answers `forbidden` for each one that does not, as CouchDB's validate_doc_update does.
 */
import { nodeDbOwnership } from '../../shared/ownership.js';

export interface UploadRefusal {
  id: string | null;
  reason: string;
}

export function checkNodeDoc(doc: unknown, newEdits: boolean): UploadRefusal | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { id: null, reason: 'not a JSON object' };
  const d = doc as Record<string, unknown>;
  const id = typeof d._id === 'string' ? d._id : null;
  if (id === null) return { id, reason: 'missing _id' };
  const own = nodeDbOwnership(id);
  if (!own) return { id, reason: 'unknown document type' };
  if (own.writer !== 'node') return { id, reason: `"${own.type}" documents are written by the hub only` };
  if (d._deleted === true) return { id, reason: 'documents are never deleted' };
  if (d._attachments !== undefined) return { id, reason: 'attachments are not accepted' };
  if (d.type !== own.type) return { id, reason: `field "type" must be "${own.type}"` };
  const parsed = own.schema?.safeParse(d);
  if (parsed && !parsed.success) {
    const issue = parsed.error.issues[0];
    return { id, reason: `invalid ${own.type}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
  }
  if (own.idOf && own.idOf(d) !== id) return { id, reason: `_id must be "${own.idOf(d)}"` };
  if (own.appendOnly) {
    const rev = typeof d._rev === 'string' ? d._rev : undefined;
    if (newEdits ? rev !== undefined : !rev?.startsWith('1-')) {
      return { id, reason: `"${own.type}" documents are append-only and cannot be edited` };
    }
  }
  return null;
}
