import { describe, expect, it } from 'vitest';
import { mapLimit, groupBy } from '../../shared/collections.js';

describe('groupBy', () => {
  it('groups by key, keeping the items in order', () => {
    expect([...groupBy([1, 2, 3, 4, 5], (n) => n % 2)]).toEqual([
      [1, [1, 3, 5]],
      [0, [2, 4]],
    ]);
  });
});

describe('mapLimit', () => {
  it('handles every item with at most `n` running at once, answering the results in order', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const gates: (() => void)[] = [];
    const done = mapLimit([...Array(20).keys()], 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((ok) => gates.push(ok));
      seen.push(i);
      running--;
      return i * 10;
    });
    // open the gates one by one as the workers reach them
    while (seen.length < 20) {
      await new Promise((ok) => setImmediate(ok));
      gates.shift()?.();
    }
    expect(await done).toEqual([...Array(20).keys()].map((i) => i * 10));
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(most).toBe(4);
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    await expect(
      mapLimit([1, 2, 3, 4, 5, 6], 2, async (i) => {
        started.push(i);
        if (i === 2) throw new Error('bulk to node_s2 failed');
      }),
    ).rejects.toThrow('bulk to node_s2 failed');
    expect(started).not.toContain(6);
  });

  it('does nothing for no items', async () => {
    let called = false;
    expect(
      await mapLimit([], 8, async () => {
        called = true;
      }),
    ).toEqual([]);
    expect(called).toBe(false);
  });
});
