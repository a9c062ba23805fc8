/** Group items by a key, keeping their order (linear: no array copied per item). */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = out.get(k);
    if (g) g.push(it);
    else out.set(k, [it]);
  }
  return out;
}

/**
 * Run `fn` over `items` with at most `n` at a time, answering the results in order. For work that
 * makes a request per item: a `Promise.all` over hundreds of them opens as many connections to the
 * database at once (the soak: 1,400 sockets from the hub to its embedded server; a batch's DOs to
 * hundreds of node databases). Rejects with the first failure, once the ones running have settled,
 * and starts nothing after it.
 */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, n), items.length) }, async () => {
      while (!failure && next < items.length) {
        const i = next++;
        try {
          out[i] = await fn(items[i]!, i);
        } catch (err) {
          failure ??= { err };
        }
      }
    }),
  );
  if (failure) throw failure.err;
  return out;
}
