/**
 * startNode(): a store or DC node. Its local PouchDB, the live sync with the hub, the store that
 * runs the fulfilment flow and the ledger, and the associate API and page. stop() cancels the sync,
 * closes the server and the database, and is safe to call twice.
 */
import { serve, type ServerType } from '@hono/node-server';
import type PouchDB from 'pouchdb';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { NodeConfig, type NodeConfigInput } from './config.js';
import { openLocalDb } from './store/db.js';
import { NodeStore } from './store/index.js';
import { HubSync } from './sync/index.js';
import { createNodeApp } from './api/app.js';
import { createLogger, type Logger } from '../shared/log.js';
import { parseWith } from '../shared/http.js';

export interface DomNode {
  url: string;
  port: number;
  store: NodeStore;
  db: PouchDB.Database;
  sync: HubSync;
  config: NodeConfig;
  stop(): Promise<void>;
}

export async function startNode(input: NodeConfigInput, log: Logger = createLogger('node')): Promise<DomNode> {
  const config = parseWith(NodeConfig, input, 'invalid_config');
  const dataDir = resolve(config.dataDir ?? `./data/node-${config.id}`);
  let stopping: Promise<void> | undefined;
  let reopening: Promise<void> | null = null;
  let started = false; // a storage failure while starting fails the start itself

  /** The local database, the store over it and the sync of it: replaced together when the database is reopened. */
  const open = async () => {
    const db = openLocalDb(dataDir, onStorageFailure);
    try {
      const store = new NodeStore(db, config.id, log);
      await store.open();
      const sync = new HubSync({
        db,
        hubUrl: config.hubUrl,
        nodeId: config.id,
        token: config.token,
        log,
        initialBackoffMs: config.initialBackoffMs,
        maxBackoffMs: config.maxBackoffMs,
      });
      await sync.start();
      sync.online$.subscribe((online) => log.info({ online }, online ? 'hub link up' : 'hub link down'));
      return { db, store, sync };
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  };
  let cur = await open();
  started = true;

  // A write the disk refused: LevelDB must be reopened before it may acknowledge another write
  // (node/store/db.ts). Reads keep being served from memory meanwhile; writes answer 503.
  function onStorageFailure(err: Error) {
    if (reopening || stopping || !started) return;
    log.error({ err: err.message }, 'local database write failed; reopening the database (writes refused until then)');
    reopening = (async () => {
      const old = cur;
      await old.sync.stop();
      old.store.close();
      await old.store.serial(async () => undefined).catch(() => undefined);
      await old.db.close().catch(() => undefined);
      for (let attempt = 1; !stopping; attempt++) {
        try {
          cur = await open();
          log.warn({ attempt }, 'local database reopened');
          return;
        } catch (e) {
          log.warn({ err: (e as Error).message, attempt }, 'reopening the local database failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * attempt)));
        }
      }
    })()
      .catch((e) => log.error({ err: (e as Error).message }, 'reopening the local database failed'))
      .finally(() => (reopening = null));
  }

  const app = createNodeApp({
    get store() {
      return cur.store;
    },
    get sync() {
      return cur.sync;
    },
    associateToken: config.associateToken,
    facility: config.id,
    log,
  });
  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => ok(s));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, facility: config.id, hub: config.hubUrl }, 'node started');

  return {
    url,
    port,
    get store() {
      return cur.store;
    },
    get db() {
      return cur.db;
    },
    get sync() {
      return cur.sync;
    },
    config,
    stop() {
      stopping ??= (async () => {
        await reopening;
        const { sync, store, db } = cur;
        await sync.stop();
        store.close();
        await new Promise<void>((ok) => {
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => ok());
        });
        await store.serial(async () => undefined);
        await db.close();
        log.info('node stopped');
      })();
      return stopping;
    },
  };
}
