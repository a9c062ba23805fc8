/**
 * The node registry: one `node:<id>` document per facility that runs a node, holding the SHA-256
 * of its sync token (never the token). Tokens are checked in constant time. Lookups are cached so
 * that the gateway does not read `dom` on every replication request: kept current by the `dom`
 * feed, which brings every instance each registration and new token within its wait (the registry
 * lives in CouchDB), and read again after a minute while that feed is not current.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DocumentScope } from 'nano';
import { ids, nodeDbName } from '../shared/ids.js';
import { isStatus } from '../shared/errors.js';
import type { NodeRegistryDoc } from '../shared/schemas.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
// hex, never base64url: a token starting with "-" reads as an option to `dom node --token …`
export const newToken = () => randomBytes(32).toString('hex');

export function tokenMatches(token: string, hash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

interface CacheEntry {
  doc: NodeRegistryDoc | null;
  at: number;
}

export class NodeRegistry {
  private cache = new Map<string, CacheEntry>();

  /** Whether the `dom` feed is current (`trustWhile`): while it is, a cached entry is trusted beyond `ttlMs`. */
  private feedLive: () => boolean = () => false;

  /**
   * `ttlMs`: how long a lookup is trusted while the `dom` feed is not known to be current. The feed
   * hands every instance each registry document as it changes (`apply`), so while it answers, a
   * cached entry is current (a new token or registration arrives within the feed's wait); the expiry
   * only bounds how stale one can get if the feed stalls. At 60 s and no more, each active node cost
   * a registry read a minute (0.8-1.1 CouchDB requests per order of sync traffic at 2-5 orders/s and
   * 100 nodes, docs/BENCHMARKS.md).
   */
  constructor(
    private readonly dom: DocumentScope<NodeRegistryDoc>,
    private readonly ttlMs = 60_000,
  ) {}

  /** Trust the cache while `live` answers true (the `dom` feed's `live`). */
  trustWhile(live: () => boolean): void {
    this.feedLive = live;
  }

  /** A registry document as the `dom` feed brought it: the cache holds it from now. */
  apply(doc: NodeRegistryDoc): void {
    if (typeof doc.id !== 'string' || typeof doc.tokenHash !== 'string') return;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(doc.id, { doc, at: Date.now() });
  }

  async create(facilityId: string): Promise<{ doc: NodeRegistryDoc; token: string }> {
    const token = newToken();
    const doc: NodeRegistryDoc = {
      _id: ids.node(facilityId),
      type: 'node',
      id: facilityId,
      db: nodeDbName(facilityId),
      tokenHash: hashToken(token),
      createdAt: new Date().toISOString(),
    };
    await this.dom.insert(doc);
    this.cache.delete(facilityId);
    return { doc, token };
  }

  async get(facilityId: string): Promise<NodeRegistryDoc | null> {
    const hit = this.cache.get(facilityId);
    // an unknown id is asked again after the expiry (a registration this instance missed while
    // the feed was down), as is everything while the feed is not current
    if (hit && (Date.now() - hit.at < this.ttlMs || (hit.doc && this.feedLive()))) return hit.doc;
    let doc: NodeRegistryDoc | null = null;
    try {
      doc = await this.dom.get(ids.node(facilityId));
    } catch (err) {
      // a 404 for the database itself (a CouchDB still opening it after a restart) is not "no such
      // node": answered as unavailable, never cached, so a node is not told its token is wrong
      const reason = String((err as { reason?: string; message?: string }).reason ?? (err as Error).message ?? '');
      if (/database does not exist/i.test(reason)) throw Object.assign(new Error(`the registry's database is not open: ${reason}`), { statusCode: 503 });
      if (!isStatus(err, 404)) throw err;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(facilityId, { doc, at: Date.now() });
    return doc;
  }

  /** The registry entry when the token is this node's, else null. */
  async authenticate(facilityId: string, token: string): Promise<NodeRegistryDoc | null> {
    const doc = await this.get(facilityId);
    if (!doc) {
      // spend the same work as a real comparison so unknown ids do not answer faster
      tokenMatches(token, '0'.repeat(64));
      return null;
    }
    return tokenMatches(token, doc.tokenHash) ? doc : null;
  }

  async list(): Promise<NodeRegistryDoc[]> {
    const res = await this.dom.list({ startkey: 'node:', endkey: 'node:\ufff0', include_docs: true });
    return res.rows.map((r) => r.doc!).filter(Boolean);
  }
}
