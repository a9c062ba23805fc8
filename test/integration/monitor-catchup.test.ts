/**
 * The monitor's catch-up of a node database written by someone other than this instance's gateway
 * (another instance's upload, the hub's own DOs and counts): a status event found there is applied
 * once the database is marked, the documents the hub wrote are not handed to the handlers, and a
 * monitor started again on the same instance resumes from the checkpoint its reads left behind
 * (also where a read found nothing to apply). Against the suite's backend.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../hub/monitor/index.js';
import type { Couch } from '../../hub/couch/index.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import { newDoState, type DoStateDoc } from '../../shared/dostate.js';
import type { DistributionOrderDoc, DoEventDoc } from '../../shared/schemas.js';
import { createLogger } from '../../shared/log.js';
import { BACKEND, cleanupDirs, openTestCouch, tempDir, waitFor } from '../helpers.js';

afterAll(cleanupDirs);

const AT = '2026-03-02T09:00:00.000Z';
const FAC = 'S01';
const doc = (doId: string): DistributionOrderDoc =>
  ({
    _id: ids.do(doId),
    type: 'do',
    doId,
    orderId: doId.split('.')[0],
    attempt: 1,
    facility: FAC,
    kind: 'ship',
    lines: [{ line: 1, sku: 'SKU-A', qty: 1 }],
    createdAt: AT,
  }) as DistributionOrderDoc;
const evt = (doId: string, n: number, status: DoEventDoc['status']): DoEventDoc =>
  ({ _id: ids.evt(doId, n), type: 'evt', doId, n, status, facility: FAC, at: AT }) as DoEventDoc;

function monitorOn(couch: Couch, seen: string[]): Monitor {
  const m = new Monitor({
    couch,
    log: createLogger('test', process.env.T_LOG ?? 'silent'),
    catchUp: 'marked',
    catchUpMs: 50,
    instance: 'test-instance',
    filterChanges: BACKEND === 'couchdb',
  });
  m.setHooks({ onInventory: (_f, positions) => void seen.push(...positions.map((p) => p._id)) });
  m.follow(FAC);
  return m;
}

describe('Monitor: catch-up of a marked node database', () => {
  it('applies an event written there by someone else, resumes from its checkpoint after a restart, and hands on only what it handles', async () => {
    const dir = tempDir('monitor-catchup');
    const couch = await openTestCouch(dir);
    const seen: string[] = [];
    let monitor = monitorOn(couch, seen);
    try {
      const db = nodeDbName(FAC);
      await couch.ensureDb('dom');
      await couch.ensureDb(db);
      const doIds = ['O1.1.S01', 'O2.1.S01'];
      await couch.db('dom').bulk({ docs: doIds.map((d) => newDoState(doc(d))) });
      // what the hub writes into a node database: DOs and items (none of them for the monitor)
      await couch.db(db).bulk({ docs: [...doIds.map(doc), { _id: 'item:SKU-A', type: 'item', sku: 'SKU-A', name: 'A' }] });
      await monitor.pokeAll();
      // an event uploaded through another instance: the database is marked, its catch-up applies it
      await couch.db(db).insert(evt(doIds[0]!, 1, 'ack') as never);
      monitor.markChanged(db);
      const state = async (doId: string) => (await couch.db<DoStateDoc>('dom').get(ids.doState(doId))).state;
      await waitFor('the first event applied', async () => (await state(doIds[0]!)) === 'acknowledged', 10_000, 25);
      // more the hub wrote, then the monitor stops and starts again on the same instance
      await couch.db(db).insert({ _id: 'docancel:none', type: 'docancel' } as never);
      monitor.markChanged(db);
      await waitFor('the catch-up done', () => monitor.pendingCatchUps === 0, 10_000, 25);
      await monitor.stop();
      monitor = monitorOn(couch, seen);
      // an event for the second DO, and a position; the first DO's event is not applied again
      await couch.db(db).bulk({ docs: [evt(doIds[1]!, 1, 'ack'), { _id: 'inv:SKU-A', type: 'inv', sku: 'SKU-A', onHand: 3 }] as never[] });
      await monitor.pokeAll();
      expect(await state(doIds[1]!)).toBe('acknowledged');
      expect(await state(doIds[0]!)).toBe('acknowledged');
      expect(seen).toEqual(['inv:SKU-A']);
      const cp = await couch.db<{ seq: string | number }>('dom').get(ids.monitorCheckpoint(`test-instance:${db}`));
      const info = await couch.dbInfo(db);
      expect(String(cp.seq)).toBe(String(info.update_seq));
    } finally {
      await monitor.stop();
      await couch.stop();
    }
  });
});

describe('Monitor: an event that comes before its DO state is stored', () => {
  it('applies it once the state is there (the allocator stores a new DO state after its DO went down), directly and on a catch-up', async () => {
    const couch = await openTestCouch(tempDir('monitor-early-event'));
    const monitor = monitorOn(couch, []);
    try {
      const db = nodeDbName(FAC);
      await couch.ensureDb('dom');
      await couch.ensureDb(db);
      await monitor.pokeAll();
      const [early, uploaded] = ['O3.1.S01', 'O4.1.S01'];
      await couch.db(db).bulk({ docs: [doc(early!), doc(uploaded!)] });
      // one event found by the catch-up, one handed over as an upload, both before their states exist
      await couch.db(db).insert(evt(early!, 1, 'ack') as never);
      monitor.markChanged(db);
      const res = await couch.db(db).bulk({ docs: [evt(uploaded!, 1, 'ack')] as never[] });
      await monitor.applyUploaded(FAC, [{ ...evt(uploaded!, 1, 'ack'), _rev: res[0]!.rev }] as never);
      await couch.db('dom').bulk({ docs: [newDoState(doc(early!)), newDoState(doc(uploaded!))] });
      const state = async (doId: string) => (await couch.db<DoStateDoc>('dom').get(ids.doState(doId))).state;
      await waitFor('both events applied', async () => (await state(early!)) === 'acknowledged' && (await state(uploaded!)) === 'acknowledged', 20_000, 50);
      // each applied once, though read again while its state was missing
      for (const id of [early!, uploaded!]) expect((await couch.db<DoStateDoc>('dom').get(ids.doState(id))).history.map((h) => h.status)).toEqual(['ack']);
    } finally {
      await monitor.stop();
      await couch.stop();
    }
  });
});

describe.runIf(BACKEND === 'embedded')("the embedded server's /_db_updates (what hubs sharing a `dom couch` follow)", () => {
  it('answers a longpoll with the database written after it, each database once, and an unknown sequence with every database', async () => {
    const couch = await openTestCouch(tempDir('dbupdates'));
    try {
      const get = async (q: string) => {
        const res = await fetch(`${couch.url}/_db_updates?${q}`, { headers: { authorization: couch.authHeader } });
        expect(res.status).toBe(200);
        return (await res.json()) as { results: { db_name: string; type: string }[]; last_seq: string };
      };
      await couch.ensureDb('node_a');
      await couch.ensureDb('node_b');
      const now = await get('feed=normal&since=now');
      expect(now.results).toEqual([]);
      const poll = get(`feed=longpoll&timeout=60000&since=${encodeURIComponent(now.last_seq)}`);
      await couch.db('node_b').insert({ _id: 'do:x' } as never);
      await couch.db('node_b').insert({ _id: 'do:y' } as never);
      const woke = await poll;
      expect(woke.results.map((r) => r.db_name)).toEqual(['node_b']);
      const after = await get(`feed=normal&since=${encodeURIComponent(woke.last_seq)}`);
      // the second write, when it came after the longpoll had answered, and nothing else
      expect(after.results.map((r) => r.db_name)).toEqual(after.last_seq === woke.last_seq ? [] : ['node_b']);
      // a sequence this server did not give: every database, so that a follower misses none
      const all = await get('feed=normal&since=0');
      expect(all.results.map((r) => r.db_name)).toEqual(expect.arrayContaining(['node_a', 'node_b']));
    } finally {
      await couch.stop();
    }
  });
});
