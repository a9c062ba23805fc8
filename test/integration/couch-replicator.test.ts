/**
 * Apache CouchDB's own replicator as a client of the gateway: a DC whose systems keep their data
 * in a CouchDB of their own replicates its facility database through `/sync/:id`, both ways, with
 * its checkpoints committed, and a second run resumes from them. The "DC's CouchDB" is the
 * suite's Apache CouchDB on the CouchDB pass, or one started from ../shared/couchdb on the
 * embedded one (skipped where that release is absent).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { api, cleanupDirs, registerFacility, tempDir, testHub, TEST_COUCH_URL, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import { couchDist, startCouchDb, type CouchProcess } from '../../scripts/couchdb.js';
import { parseCouchUrl } from '../../hub/couch/index.js';
import { writeDos } from '../../hub/dos.js';
import { ids } from '../../shared/ids.js';
import type { DistributionOrderDoc } from '../../shared/schemas.js';

interface ReplicationResult {
  ok?: boolean;
  /** a run that found its checkpoint up to date: nothing to read */
  no_changes?: boolean;
  session_id?: string;
  error?: string;
  reason?: string;
  source_last_seq?: string;
  history?: { start_last_seq: string; end_last_seq: string; recorded_seq: string; docs_read: number; docs_written: number; doc_write_failures: number }[];
}

describe.skipIf(!TEST_COUCH_URL && !couchDist())("CouchDB's replicator through the gateway (a DC keeping its data in CouchDB)", () => {
  let hub: Hub;
  let token = '';
  let own: CouchProcess | null = null;
  let dc: { url: string; auth: string; user: string; password: string };
  const local = `dc_local_${randomBytes(4).toString('hex')}`;

  const dcCall = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${dc.url}${path}`, {
      method,
      headers: { authorization: dc.auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  /** One-shot replication run by the DC's CouchDB; answers when it is done. */
  const replicate = async (source: object, target: object): Promise<ReplicationResult> => (await dcCall('POST', '/_replicate', { source, target })).body;
  const gateway = () => ({ url: `${hub.url}/sync/DC7`, headers: { authorization: `Bearer ${token}` } });
  const localDb = () => ({ url: `${dc.url}/${local}`, auth: { basic: { username: dc.user, password: dc.password } } });

  beforeAll(async () => {
    if (!TEST_COUCH_URL) own = await startCouchDb({ dir: tempDir('dc-couch') });
    const { url, user, password } = parseCouchUrl(TEST_COUCH_URL ?? own!.url);
    dc = { url, user, password, auth: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    expect((await dcCall('PUT', `/${local}`)).status).toBe(201);
    hub = await testHub();
    token = await registerFacility(hub.url, { id: 'DC7', type: 'dc', pickup: false });
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    await dcCall('DELETE', `/${local}`).catch(() => undefined);
    await own?.stop();
    await cleanupDirs();
  });

  it("pulls the DC's DOs with its checkpoint committed, and a second run resumes from it", async () => {
    const doId = ids.doId('R-1', 1, 'DC7');
    const d: DistributionOrderDoc = {
      _id: ids.do(doId),
      type: 'do',
      doId,
      orderId: 'R-1',
      attempt: 1,
      facility: 'DC7',
      kind: 'ship',
      lines: [{ line: 1, sku: 'SKU-1', qty: 2 }],
      shipTo: { lat: 34, lon: -84 },
      createdAt: new Date().toISOString(),
    };
    await writeDos(hub.ctx.couch, [d]);
    const first = await replicate(gateway(), localDb());
    expect(first.error, JSON.stringify(first)).toBeUndefined();
    expect(first.ok).toBe(true);
    expect(first.history![0]!.doc_write_failures).toBe(0);
    expect((await dcCall('GET', `/${local}/${encodeURIComponent(d._id)}`)).body.doId).toBe(doId);
    // the checkpoint was written through the gateway: the next run starts where this one ended
    // (a run that cannot commit its checkpoint ends in checkpoint_commit_failure, and the next
    // one starts from 0 and reads everything again)
    const again = await replicate(gateway(), localDb());
    expect(again).toMatchObject({ ok: true, no_changes: true, session_id: first.session_id, source_last_seq: first.source_last_seq });
  }, 60_000);

  it("pushes the DC's status events up, refusing what a node may not write document by document, with its checkpoint committed", async () => {
    const doId = ids.doId('R-1', 1, 'DC7');
    const ack = { _id: ids.evt(doId, 1), type: 'evt', doId, n: 1, status: 'ack', facility: 'DC7', at: new Date().toISOString() };
    // a document the hub writes, made up at the DC: refused, and the rest still goes up
    const forged = { _id: 'docancel:R-1.1.DC7', type: 'docancel', doId, reason: 'forged', createdAt: new Date().toISOString() };
    expect((await dcCall('POST', `/${local}/_bulk_docs`, { docs: [ack, forged] })).status).toBe(201);
    const up = await replicate(localDb(), gateway());
    expect(up.error, JSON.stringify(up)).toBeUndefined();
    expect(up.ok).toBe(true);
    expect(up.history![0]!.doc_write_failures).toBe(1);
    await waitFor('the event at the hub', () =>
      hub.ctx.couch
        .db('node_dc7')
        .get(ack._id)
        .then(
          () => true,
          () => false,
        ),
    );
    await expect(hub.ctx.couch.db('node_dc7').get(forged._id)).rejects.toMatchObject({ statusCode: 404 });
    // the hub acts on it as on any node's event
    await waitFor(
      'DO state acknowledged at the hub',
      async () =>
        (
          await hub.ctx.couch
            .db<any>('dom')
            .get(ids.doState(doId))
            .catch(() => null)
        )?.state === 'acknowledged',
    );
    const again = await replicate(localDb(), gateway());
    expect(again).toMatchObject({ ok: true, no_changes: true, session_id: up.session_id, source_last_seq: up.source_last_seq });
    const nodes = await api(hub.url, 'GET', '/api/v1/nodes');
    expect(
      nodes.body
        .find((n: any) => n.id === 'DC7')
        .errors.map((e: any) => e.message)
        .join('\n'),
    ).toContain(forged._id);
  }, 60_000);
});
