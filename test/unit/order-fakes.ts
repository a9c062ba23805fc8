/** Stand-ins for the order store's tests: `dom` in memory, and orders and DO states to put in it. */
import type { DocumentScope } from 'nano';
import type { OrderDoc } from '../../hub/orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import type { DoState } from '../../shared/states.js';

export const AT = '2026-03-02T09:00:00.000Z';

/** `dom` in memory: revisions, conflicts, and a count of the requests made by kind. */
export function fakeDom() {
  const docs = new Map<string, { _id: string; _rev: string }>();
  const requests = { get: 0, fetch: 0, bulk: 0, insert: 0 };
  let gen = 0;
  const write = (d: { _id: string; _rev?: string }) => {
    const cur = docs.get(d._id);
    if (cur?._rev !== d._rev) return { id: d._id, error: 'conflict' };
    const rev = `${Number.parseInt(cur?._rev ?? '0', 10) + 1}-${++gen}`;
    docs.set(d._id, structuredClone({ ...d, _rev: rev }));
    return { id: d._id, rev, ok: true };
  };
  const scope = {
    get: async (id: string) => {
      requests.get++;
      const d = docs.get(id);
      if (!d) throw Object.assign(new Error('missing'), { statusCode: 404 });
      return structuredClone(d);
    },
    fetch: async ({ keys }: { keys: string[] }) => {
      requests.fetch++;
      return { rows: keys.map((k) => (docs.has(k) ? { key: k, doc: structuredClone(docs.get(k)) } : { key: k, error: 'not_found' })) };
    },
    bulk: async ({ docs: list }: { docs: { _id: string; _rev?: string }[] }) => {
      requests.bulk++;
      return list.map(write);
    },
    insert: async (d: { _id: string; _rev?: string }) => {
      requests.insert++;
      const r = write(d);
      if (r.error) throw Object.assign(new Error('conflict'), { statusCode: 409 });
      return r;
    },
  };
  return { scope: scope as unknown as DocumentScope<OrderDoc>, docs, requests, write };
}

export function order(id: string, doIds: string[]): OrderDoc {
  return {
    _id: `order:${id}`,
    id,
    type: 'order',
    channel: 'web',
    priority: 5,
    delivery: 'ship',
    shipTo: { lat: 33.7, lon: -84.4 },
    lines: [{ line: 1, sku: 'SKU-A', qty: doIds.length, allowSubstitutes: false }],
    bodyHash: 'h',
    receivedAt: AT,
    createdAt: AT,
    updatedAt: AT,
    status: 'released',
    attempts: 1,
    allocations: doIds.map((doId) => ({ attempt: 1, doId, facility: 'F', kind: 'ship', lines: [{ line: 1, sku: 'SKU-A', qty: 1 }] })),
    explanations: [],
  };
}

export function state(doId: string, orderId: string, s: DoState): DoStateDoc {
  return {
    _id: `dostate:${doId}`,
    _rev: '1-a',
    type: 'dostate',
    doId,
    orderId,
    attempt: 1,
    facility: 'F',
    kind: 'ship',
    lines: [{ line: 1, sku: 'SKU-A', qty: 1 }],
    state: s,
    lastEvent: 0,
    history: [],
    createdAt: AT,
    updatedAt: AT,
  };
}
