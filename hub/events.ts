/**
 * The hub's event feed: order and DO state changes, numbered, kept in a bounded ring so that an
 * SSE client can resume from its last event id. An RxJS Subject underneath.
 */
import { Subject, type Observable } from 'rxjs';

export interface HubEvent {
  id: number;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

export class EventBus {
  private seq = 0;
  private ring: HubEvent[] = [];
  private readonly subject = new Subject<HubEvent>();
  readonly events$: Observable<HubEvent> = this.subject.asObservable();

  constructor(private readonly keep = 5_000) {}

  emit(type: string, data: Record<string, unknown>): HubEvent {
    const e: HubEvent = { id: ++this.seq, type, at: new Date().toISOString(), data };
    this.ring.push(e);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    this.subject.next(e);
    return e;
  }

  /** Events after `id` still held in the ring. */
  since(id: number): HubEvent[] {
    return this.ring.filter((e) => e.id > id);
  }

  close() {
    this.subject.complete();
  }
}
