/**
 * Failed-authentication limiter: after `maxFailures` bad tokens from one client within `windowMs`,
 * that client gets 429 until the window passes. Bounded memory: the oldest keys are dropped.
 */
export class FailureLimiter {
  private failures = new Map<string, { count: number; first: number }>();

  constructor(
    private readonly maxFailures = 20,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 50_000,
  ) {}

  blocked(key: string, now = Date.now()): boolean {
    const f = this.failures.get(key);
    if (!f) return false;
    if (now - f.first > this.windowMs) {
      this.failures.delete(key);
      return false;
    }
    return f.count >= this.maxFailures;
  }

  fail(key: string, now = Date.now()): void {
    const f = this.failures.get(key);
    if (!f || now - f.first > this.windowMs) {
      if (this.failures.size >= this.maxKeys) {
        const oldest = this.failures.keys().next().value;
        if (oldest !== undefined) this.failures.delete(oldest);
      }
      this.failures.set(key, { count: 1, first: now });
    } else f.count++;
  }
}
