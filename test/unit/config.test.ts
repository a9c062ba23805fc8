import { describe, expect, it } from 'vitest';
import { HubConfig, hubConfigFromEnv } from '../../hub/config.js';
import { NodeConfig, nodeConfigFromEnv } from '../../node/config.js';

describe('settings are checked at start with a clear message', () => {
  it('takes every hub setting from a flag or its environment variable, flags first', () => {
    const c = HubConfig.parse(
      hubConfigFromEnv(
        { port: '9000' },
        { DOM_PORT: '7000', DOM_PLANNER_TOKEN: 'a-long-token', DOM_SOURCING: '{"store":{"maxCandidates":8}}', DOM_BATCH_WINDOW_MS: '50' },
      ),
    );
    expect(c).toMatchObject({ port: 9000, plannerToken: 'a-long-token', batchWindowMs: 50, sourcing: { store: { maxCandidates: 8 } } });
    expect(HubConfig.parse(hubConfigFromEnv({ 'max-sync-connections': '800' }, { DOM_PLANNER_TOKEN: 'a-long-token' })).maxSyncConnections).toBe(800);
  });

  it('names the setting that is wrong', () => {
    const bad = [
      [{}, {}, 'plannerToken'],
      [{ port: 'eighty' }, { DOM_PLANNER_TOKEN: 'a-long-token' }, 'port'],
      [{}, { DOM_PLANNER_TOKEN: 'a-long-token', COUCH_URL: 'not a url' }, 'couchUrl'],
      [{}, { DOM_PLANNER_TOKEN: 'a-long-token', DOM_SOURCING: '{oops' }, 'sourcing'],
      [{}, { DOM_PLANNER_TOKEN: 'a-long-token', DOM_MAX_SYNC_CONNECTIONS: '0' }, 'maxSyncConnections'],
    ] as const;
    for (const [flags, env, field] of bad) {
      const r = HubConfig.safeParse(hubConfigFromEnv(flags as Record<string, string>, env as NodeJS.ProcessEnv));
      expect(r.success).toBe(false);
      expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(field);
    }
    const n = NodeConfig.safeParse(nodeConfigFromEnv({ id: 'S1', hub: 'nowhere', token: 'x'.repeat(20) }, { DOM_ASSOCIATE_TOKEN: 'pin1' }));
    expect(n.error!.issues[0]!.message).toMatch(/--hub must be the hub URL/);
  });
});
