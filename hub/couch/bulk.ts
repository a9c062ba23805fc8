/**
 * Writes to one database gathered into shared `_bulk_docs` requests (a group commit): what callers
 * ask in the same turn of the event loop, or while the requests in flight are under way, goes out
 * in one request, and each caller gets the results of its own documents. The monitor's DO states
 * and the order roll-up they cause share a request this way. With no load a write waits for nothing.
 */
import type { DocumentScope, DocumentBulkResponse } from 'nano';
import { couchError, couchRequest } from './http.js';

interface Pending {
  docs: object[];
  resolve: (r: DocumentBulkResponse[]) => void;
  reject: (err: unknown) => void;
}

const idOf = (d: object) => String((d as { _id?: unknown })._id);

/**
 * `db.bulk({docs})`, the body serialised here with a plain `JSON.stringify` (nano's own passes a
 * replacer function, called for every value of every document: the hub's costliest function of its
 * own when orders arrive fast) and sent through `couchRequest` (undici's `request`, not `fetch`:
 * hub/couch/http.ts). Same request, same answer, errors shaped as nano's.
 */
export async function bulkDocs(db: DocumentScope<object>, docs: object[]): Promise<DocumentBulkResponse[]> {
  const d = db as DocumentScope<object> & { config?: { db?: string }; server?: { config?: { plainURL?: string; headers?: Record<string, string> } } };
  const base = d.server?.config?.plainURL;
  if (!d.config?.db || !base) return db.bulk({ docs });
  const a = await couchRequest(`${base.replace(/\/$/, '')}/${encodeURIComponent(d.config.db)}/_bulk_docs`, {
    method: 'POST',
    headers: { ...d.server!.config!.headers, accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ docs }),
  });
  if (a.status !== 201 && a.status !== 200) throw couchError(`_bulk_docs of ${d.config.db}`, a);
  return JSON.parse(a.text) as DocumentBulkResponse[];
}

export class BulkWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Requests made and documents written, for the logs and the benchmarks. */
  readonly counts = { requests: 0, docs: 0 };

  constructor(
    private readonly db: DocumentScope<object>,
    /** Requests in flight at most: the next one gathers behind them. */
    private readonly maxInFlight = 2,
    private readonly maxDocs = 500,
  ) {}

  /** Write these documents; answers CouchDB's result for each, in order (a conflict is a result, not an error). */
  write(docs: object[]): Promise<DocumentBulkResponse[]> {
    if (docs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ docs, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch: Pending[] = [];
    const ids = new Set<string>();
    let n = 0;
    // A document id appears once per request: two updates of one document in one `_bulk_docs`
    // make PouchDB (the embedded server) store both as conflicting leaves, though it answers the
    // second with a 409 (CouchDB answers the 409 and stores one). The caller behind waits a request.
    while (
      this.queue.length &&
      (batch.length === 0 || (n + this.queue[0]!.docs.length <= this.maxDocs && !this.queue[0]!.docs.some((d) => ids.has(idOf(d)))))
    ) {
      const p = this.queue.shift()!;
      batch.push(p);
      for (const d of p.docs) ids.add(idOf(d));
      n += p.docs.length;
    }
    if (batch.length === 0) return;
    this.inFlight++;
    this.counts.requests++;
    this.counts.docs += n;
    try {
      const res = await bulkDocs(
        this.db,
        batch.flatMap((p) => p.docs),
      );
      let i = 0;
      for (const p of batch) {
        p.resolve(res.slice(i, i + p.docs.length));
        i += p.docs.length;
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
