/**
 * A lease held in a CouchDB document, for work that must run in one hub instance at a time (the
 * allocator). Acquired and renewed with the document's revision as the compare-and-set; it
 * expires when its holder stops renewing, and another instance takes it over within
 * `ttlMs + renewMs`. Every change of holder bumps `epoch`.
 */
import type { DocumentScope } from 'nano';
import { BehaviorSubject, type Observable } from 'rxjs';
import { isStatus } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

interface LeaseDoc {
  _id: string;
  _rev?: string;
  type: 'lease';
  holder: string;
  epoch: number;
  expiresAt: number;
  renewedAt: string;
}

export class Lease {
  private readonly held = new BehaviorSubject(false);
  readonly held$: Observable<boolean> = this.held.asObservable();
  private timer: NodeJS.Timeout | undefined;
  private rev: string | undefined;
  private stopped = false;
  epoch = 0;

  constructor(
    private readonly db: DocumentScope<LeaseDoc>,
    readonly name: string,
    readonly holder: string,
    private readonly log: Logger,
    private readonly ttlMs = 10_000,
    private readonly renewMs = 2_000,
  ) {}

  get isHeld() {
    return this.held.value;
  }

  start(): Promise<void> {
    const tick = async () => {
      if (this.stopped) return;
      await this.tryOnce().catch((err) => this.log.warn({ err: (err as Error).message }, 'lease check failed'));
      if (!this.stopped) {
        this.timer = setTimeout(tick, this.renewMs);
        this.timer.unref();
      }
    };
    return tick();
  }

  /** One acquire-or-renew round. */
  async tryOnce(): Promise<boolean> {
    const id = `lease:${this.name}`;
    let cur: LeaseDoc | null = null;
    try {
      cur = await this.db.get(id);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    const now = Date.now();
    const mine = cur?.holder === this.holder;
    if (cur && !mine && cur.expiresAt > now) return this.set(false);
    const next: LeaseDoc = {
      _id: id,
      ...(cur?._rev ? { _rev: cur._rev } : {}),
      type: 'lease',
      holder: this.holder,
      epoch: mine ? cur!.epoch : (cur?.epoch ?? 0) + 1,
      expiresAt: now + this.ttlMs,
      renewedAt: new Date(now).toISOString(),
    };
    try {
      const r = await this.db.insert(next);
      this.rev = r.rev;
      this.epoch = next.epoch;
      if (!mine) this.log.info({ lease: this.name, holder: this.holder, epoch: next.epoch }, 'lease acquired');
      return this.set(true);
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      return this.set(false); // someone else renewed or took it first
    }
  }

  private set(v: boolean): boolean {
    if (this.held.value !== v) {
      if (!v) this.log.warn({ lease: this.name, holder: this.holder }, 'lease lost');
      this.held.next(v);
    }
    return v;
  }

  /** Stop renewing; give the lease up at once so another instance need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.held.value && this.rev) {
      const id = `lease:${this.name}`;
      await this.db
        .insert({ _id: id, _rev: this.rev, type: 'lease', holder: '', epoch: this.epoch, expiresAt: 0, renewedAt: new Date().toISOString() })
        .catch(() => undefined);
    }
    this.held.next(false);
    this.held.complete();
  }
}
