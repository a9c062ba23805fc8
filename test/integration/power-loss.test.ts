/**
 * A power cut at a store: the node's data folder on LazyFS (../shared/lazyfs), which keeps every
 * write in its own cache until it is fsynced and drops the rest on command. The node acknowledges
 * walk-in sales, is killed with -9, the unsynced bytes are dropped, and the node starts again on
 * what the disk really holds: every acknowledged sale must be there, and reach the hub. Skipped,
 * saying why, where LazyFS cannot run (not root, no /dev/fuse, no fuse3). The same for the hub on
 * its embedded server: every order it answered 201 to must be there after the cut.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ASSOCIATE, PLANNER, api, cleanupDirs, freePort, registerFacility, stockNode, tempDir, testHub, waitFor } from '../helpers.js';
import { spawnHubProc, spawnNodeProc, type Proc } from '../../scripts/chaos/procs.js';

const LAZYFS = resolve(process.env.DOM_LAZYFS_DIR ?? '../shared/lazyfs', 'lazyfs.sh');
const why = (() => {
  if (!existsSync(LAZYFS)) return `no LazyFS at ${LAZYFS}`;
  try {
    execFileSync('bash', [LAZYFS, 'check'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return String((err as { stdout?: Buffer }).stdout ?? err).trim();
  }
})();
if (why) console.log(`power-loss test skipped: LazyFS cannot run here (${why})`);

describe.skipIf(why !== null)('power loss at a node (LazyFS)', () => {
  const mounts: string[] = [];
  afterAll(async () => {
    for (const m of mounts) execFileSync('bash', [LAZYFS, 'umount', m], { stdio: 'ignore' });
    await cleanupDirs();
  });

  it('keeps every sale the node acknowledged through kill -9 and the loss of every unsynced byte', async () => {
    const hub = await testHub();
    let node: Proc | null = null;
    try {
      const token = await registerFacility(hub.url, { id: 'PL1' });
      const fs = tempDir('lazyfs');
      execFileSync('bash', [LAZYFS, 'mount', fs], { stdio: 'ignore' });
      mounts.push(fs);
      const dataDir = join(fs, 'mnt', 'node');
      const port = await freePort();
      const start = () => spawnNodeProc({ id: 'PL1', hubUrl: hub.url, token, port, dataDir, associateToken: ASSOCIATE });
      node = await start();
      // the SKU counted at the store (a node refuses sales of SKUs it has never heard of)
      await stockNode(hub.url, null, 'PL1', 'A', 0);
      await waitFor('the count at the node', async () =>
        (await api(node!.url, 'GET', '/api/v1/inventory', undefined, ASSOCIATE)).body.some?.((p: { sku: string }) => p.sku === 'A'),
      );
      await waitFor('the node linked', async () => (await api(node!.url, 'GET', '/api/v1/sync', undefined, ASSOCIATE)).body.online === true);
      // the link down, so that nothing acknowledged is saved by having reached the hub already
      const acked: string[] = [];
      await hub.stop();
      for (let i = 0; i < 200; i++) {
        const r = await api(node.url, 'POST', '/api/v1/sales', { sku: 'A', qty: 1 }, ASSOCIATE);
        expect(r.status).toBe(201);
        acked.push(r.body.sale._id);
      }
      // the power cut: the process gone at once, every byte it never fsynced gone with it
      await node.kill('SIGKILL');
      node = null;
      execFileSync('bash', [LAZYFS, 'power-loss', fs], { stdio: 'ignore' });
      node = await start();
      const inventory = (await api(node.url, 'GET', '/api/v1/inventory', undefined, ASSOCIATE)).body as { sku: string; onHand: number }[];
      expect(inventory.find((p) => p.sku === 'A')?.onHand).toBe(-acked.length);
      // and they reach the hub once it is back (the same data folder, the same port)
      const back = await testHub(hub.ctx.config.dataDir, { port: hub.port });
      try {
        await waitFor(
          'every acknowledged sale at the hub',
          async () => {
            const rows = (await back.ctx.couch.db('node_pl1').list({ startkey: 'sale:', endkey: 'sale:\ufff0' })).rows;
            return rows.length === acked.length && acked.every((id) => rows.some((r) => r.id === id));
          },
          60_000,
        );
      } finally {
        await back.stop();
      }
    } finally {
      await node?.kill('SIGKILL');
      await hub.stop();
    }
  }, 120_000);

  it('keeps every order the embedded hub acknowledged through kill -9 and the loss of every unsynced byte', async () => {
    const fs = tempDir('lazyfs-hub');
    execFileSync('bash', [LAZYFS, 'mount', fs], { stdio: 'ignore' });
    mounts.push(fs);
    const dataDir = join(fs, 'mnt', 'hub');
    const port = await freePort();
    const start = () => spawnHubProc({ port, dataDir, plannerToken: PLANNER });
    let hub: Proc | null = await start();
    try {
      const facility = await api(hub.url, 'POST', '/api/v1/facilities', {
        id: 'PH1',
        type: 'store',
        name: 'PH1',
        lat: 33.75,
        lon: -84.39,
        capacity: 1000,
        shipFromStore: true,
        pickup: false,
      });
      expect(facility.status).toBe(201);
      expect((await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }])).status).toBe(201);
      const acked: string[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await api(hub.url, 'POST', '/api/v1/orders', {
          id: `PL-${i}`,
          channel: 'web',
          delivery: 'ship',
          shipTo: { lat: 33.75, lon: -84.39 },
          lines: [{ line: 1, sku: 'A', qty: 1 }],
        });
        expect(r.status).toBe(201);
        acked.push(`PL-${i}`);
      }
      await hub.kill('SIGKILL');
      hub = null;
      execFileSync('bash', [LAZYFS, 'power-loss', fs], { stdio: 'ignore' });
      hub = await start();
      const found = await Promise.all(acked.map(async (id) => (await api(hub!.url, 'GET', `/api/v1/orders/${id}`)).status));
      expect(found.filter((s) => s !== 200).length, 'acknowledged orders lost').toBe(0);
      // the registration and the item too: the node's token still opens its database
      expect((await api(hub.url, 'GET', '/sync/PH1/', undefined, facility.body.token)).status).toBe(200);
    } finally {
      await hub?.kill('SIGKILL');
    }
  }, 120_000);
});
