/** Small helpers of the chaos harness: a seeded PRNG, an HTTP client that never throws, sleeping. */

/** mulberry32: a deterministic PRNG, so a run can be replayed with its seed. */
export function rng(seed: number): Rng {
  let s = seed | 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = next as Rng;
  r.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  r.pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  r.chance = (p) => next() < p;
  r.fork = (salt) => rng((Math.floor(next() * 2 ** 31) ^ Math.imul(salt + 1, 0x9e3779b1)) | 0);
  return r;
}

export interface Rng {
  (): number;
  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  /** An independent stream, derived deterministically (one per actor). */
  fork(salt: number): Rng;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface HttpResult<T = any> {
  /** 0 when the request did not get an answer (refused, reset, timed out). */
  status: number;
  body: T;
  error?: string;
}

export async function http<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  timeoutMs = 20_000,
  headers: Record<string, string> = {},
): Promise<HttpResult<T>> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T };
  } catch (err) {
    return { status: 0, body: null as T, error: (err as Error).message };
  }
}

/** Run `fn` over `items` with at most `n` at a time. */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
