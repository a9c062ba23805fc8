/**
 * Who writes what (docs/CONTRACT.md, "Who writes what"). Every document type has exactly
 * one writer, so replication can never produce a conflict. The gateway enforces the node rows on
 * every upload; the hub's own code only ever writes hub rows.
 */
import type { z } from 'zod';
import { AdjustmentDoc, CountDoc, DistributionOrderDoc, DoCancelDoc, DoEventDoc, InboundDoc, InvDoc, ItemDoc, ReceiptDoc, SaleDoc } from './schemas.js';

export type Writer = 'hub' | 'node';
export type Database = 'dom' | 'node';

export interface Ownership {
  prefix: string;
  type: string;
  writer: Writer;
  database: Database;
  /** Append-only documents are written once and never edited (only generation-1 revisions). */
  appendOnly: boolean;
  schema?: z.ZodType;
  /** The id a valid document of this type must have, derived from its fields. */
  idOf?: (doc: Record<string, unknown>) => string;
}

export const OWNERSHIP: readonly Ownership[] = [
  // dom: planning state, hub only, never replicated
  { prefix: 'facility:', type: 'facility', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'item:', type: 'item', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'order:', type: 'order', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'alloc:', type: 'alloc', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'po:', type: 'po', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'asn:', type: 'asn', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'modelstock:', type: 'modelstock', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'forecast:', type: 'forecast', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'node:', type: 'node', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'nodestat:', type: 'nodestat', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'dostate:', type: 'dostate', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'checkpoint:', type: 'checkpoint', writer: 'hub', database: 'dom', appendOnly: false },
  { prefix: 'sync:', type: 'syncepoch', writer: 'hub', database: 'dom', appendOnly: false },
  // node_<id>: written by the hub, synced down
  { prefix: 'do:', type: 'do', writer: 'hub', database: 'node', appendOnly: true, schema: DistributionOrderDoc },
  { prefix: 'docancel:', type: 'docancel', writer: 'hub', database: 'node', appendOnly: true, schema: DoCancelDoc },
  { prefix: 'item:', type: 'item', writer: 'hub', database: 'node', appendOnly: false, schema: ItemDoc },
  { prefix: 'inbound:', type: 'inbound', writer: 'hub', database: 'node', appendOnly: true, schema: InboundDoc },
  { prefix: 'count:', type: 'count', writer: 'hub', database: 'node', appendOnly: true, schema: CountDoc },
  // node_<id>: written by the node, synced up
  {
    prefix: 'inv:',
    type: 'inv',
    writer: 'node',
    database: 'node',
    appendOnly: false,
    schema: InvDoc,
    idOf: (d) => `inv:${String(d.sku)}`,
  },
  {
    prefix: 'evt:',
    type: 'evt',
    writer: 'node',
    database: 'node',
    appendOnly: true,
    schema: DoEventDoc,
    idOf: (d) => `evt:${String(d.doId)}:${String(d.n).padStart(4, '0')}`,
  },
  { prefix: 'sale:', type: 'sale', writer: 'node', database: 'node', appendOnly: true, schema: SaleDoc },
  { prefix: 'adj:', type: 'adj', writer: 'node', database: 'node', appendOnly: true, schema: AdjustmentDoc },
  { prefix: 'rcpt:', type: 'rcpt', writer: 'node', database: 'node', appendOnly: true, schema: ReceiptDoc },
];

/** The ownership row of a document id in a node database, if any. */
export function nodeDbOwnership(docId: string): Ownership | undefined {
  return OWNERSHIP.find((o) => o.database === 'node' && docId.startsWith(o.prefix));
}

/**
 * Whether a node's pull carries this document down: only what the hub writes. A node's own
 * documents never come back to it (the gateway filters its `_changes`), so an upload costs the
 * node no second `_changes` round and checkpoint.
 */
export function pulledByNode(docId: string): boolean {
  return nodeDbOwnership(docId)?.writer === 'hub';
}

/** The same rule as a Mango `$regex` on `_id`, for a CouchDB `_selector` filter. */
export const PULLED_ID_REGEX = `^(${OWNERSHIP.filter((o) => o.database === 'node' && o.writer === 'hub')
  .map((o) => o.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  .join('|')})`;
