/**
 * Document ids. Every id is `<type>:<key>`; keys are deterministic where the design needs it
 * (DOs, allocations), so that a replay after a crash writes the same ids and gets a 409, not a
 * duplicate.
 */
import { z } from 'zod';

/** Identifiers chosen by clients (facility, order, PO ids): no ':' or '.' so ids compose cleanly. */
export const Ident = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, "_" and "-"');

/** SKUs may carry dots and slashes as retailers' SKUs do, but no ':' and no whitespace. */
export const Sku = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_./-]+$/, 'only letters, digits and "_./-"');

export const ids = {
  facility: (id: string) => `facility:${id}`,
  node: (id: string) => `node:${id}`,
  nodeStat: (id: string) => `nodestat:${id}`,
  item: (sku: string) => `item:${sku}`,
  order: (id: string) => `order:${id}`,
  alloc: (orderId: string, attempt: number) => `alloc:${orderId}:${String(attempt).padStart(4, '0')}`,
  /** The DO id (without the `do:` prefix) is the key events refer to. */
  doId: (orderId: string, attempt: number, facility: string) => `${orderId}.${attempt}.${facility}`,
  do: (doId: string) => `do:${doId}`,
  doCancel: (doId: string) => `docancel:${doId}`,
  doState: (doId: string) => `dostate:${doId}`,
  evt: (doId: string, n: number) => `evt:${doId}:${String(n).padStart(4, '0')}`,
  inv: (sku: string) => `inv:${sku}`,
  inbound: (id: string) => `inbound:${id}`,
  count: (id: string) => `count:${id}`,
  monitorCheckpoint: (dbName: string) => `checkpoint:monitor:${dbName}`,
} as const;

export const nodeDbName = (facilityId: string) => `node_${facilityId.toLowerCase()}`;

/** The key after the first ':' of a document id. */
export function keyOf(docId: string): string {
  const i = docId.indexOf(':');
  return i < 0 ? docId : docId.slice(i + 1);
}

export function prefixOf(docId: string): string {
  const i = docId.indexOf(':');
  return i < 0 ? '' : docId.slice(0, i + 1);
}
