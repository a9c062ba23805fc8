/**
 * A feed's long-lived abort signal, handed to every request a feed makes (its longpolls and the
 * reads of its handlers), must not gather a listener per request: Node 20's fetch leaves its
 * listener on the signal until the request is garbage-collected (MaxListenersExceededWarning
 * in the hub with 1,000 facilities, and memory held meanwhile).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import { couchJson } from '../../hub/couch/longpoll.js';
import type { Couch } from '../../hub/couch/index.js';
import { cleanupDirs, openTestCouch, tempDir } from '../helpers.js';

describe('requests on a feed signal', () => {
  let couch: Couch | undefined;
  afterAll(async () => {
    await couch?.stop();
    await cleanupDirs();
  });

  it('leave no listener on the signal, and the signal still aborts the one in flight', async () => {
    couch = await openTestCouch(tempDir('couch-signal'));
    await couch.ensureDb('signal');
    const feed = new AbortController();
    for (let i = 0; i < 300; i++) {
      const info = await couchJson<{ db_name: string }>(couch, couch.dbUrl('signal'), 'db info', { signal: feed.signal });
      expect(info.db_name).toBe(`${couch.prefix}signal`);
    }
    expect(getEventListeners(feed.signal, 'abort')).toHaveLength(0);

    // a longpoll that would wait a minute: aborting the feed's signal ends it now
    const poll = couchJson(couch, `${couch.dbUrl('signal')}/_changes?feed=longpoll&since=now&timeout=60000`, 'longpoll', { signal: feed.signal });
    expect(getEventListeners(feed.signal, 'abort')).toHaveLength(1);
    feed.abort();
    await expect(poll).rejects.toThrow(/abort/i);
  });
});
