/** The item catalogue (`item:<sku>` in `dom`), cached in memory; SKUs in orders and counts are checked against it. */
import type { DocumentScope } from 'nano';
import type { ItemDoc, Item } from '../shared/schemas.js';
import { ids } from '../shared/ids.js';
import { pagedPrefix } from './inventory/index.js';

export class ItemStore {
  private bySku = new Map<string, ItemDoc>();

  constructor(private readonly dom: DocumentScope<ItemDoc>) {}

  async load(): Promise<void> {
    for (const d of await pagedPrefix(this.dom, 'item:')) this.bySku.set(d.sku, d);
  }

  /** An item written by another hub instance (seen on the dom feed). */
  set(doc: ItemDoc): void {
    this.bySku.set(doc.sku, doc);
  }

  get(sku: string): ItemDoc | undefined {
    return this.bySku.get(sku);
  }

  /**
   * Make sure the cache holds these SKUs if CouchDB does: an item written through another hub
   * instance a moment ago may not have reached this one's feed yet. Returns the unknown ones.
   */
  async ensure(skus: Iterable<string>): Promise<string[]> {
    const missing = [...new Set(skus)].filter((s) => !this.bySku.has(s));
    if (missing.length === 0) return [];
    const res = await this.dom.fetch({ keys: missing.map(ids.item) });
    for (const r of res.rows) if ('doc' in r && r.doc) this.set(r.doc as ItemDoc);
    return missing.filter((s) => !this.bySku.has(s));
  }

  has(sku: string): boolean {
    return this.bySku.has(sku);
  }

  get size() {
    return this.bySku.size;
  }

  substitutesOf = (sku: string): readonly string[] => this.bySku.get(sku)?.substitutes ?? [];

  /** Insert or replace items; returns how many were written. */
  async upsert(items: Item[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      const existing = await this.dom.fetchRevs({ keys: chunk.map((it) => ids.item(it.sku)) });
      const docs: ItemDoc[] = chunk.map((it, j) => {
        const row = existing.rows[j] as { value?: { rev: string; deleted?: boolean } } | undefined;
        const rev = row?.value && !row.value.deleted ? row.value.rev : undefined;
        return { _id: ids.item(it.sku), ...(rev ? { _rev: rev } : {}), type: 'item', ...it };
      });
      const res = await this.dom.bulk({ docs });
      res.forEach((r, j) => {
        if (r.rev) {
          this.bySku.set(docs[j]!.sku, { ...docs[j]!, _rev: r.rev });
          written++;
        }
      });
    }
    return written;
  }
}

/**
 * What is wrong with a batch of items (POST /api/v1/items), or null: a SKU twice, an item that
 * substitutes itself, a substitute that is neither in the batch nor a known item.
 */
export function itemBatchProblem(items: Pick<Item, 'sku' | 'substitutes'>[], known: (sku: string) => boolean): { code: string; message: string } | null {
  const skus = new Set<string>();
  for (const it of items) {
    if (skus.has(it.sku)) return { code: 'duplicate_sku', message: `SKU ${it.sku} appears twice` };
    skus.add(it.sku);
  }
  for (const it of items)
    for (const s of it.substitutes) {
      if (s === it.sku) return { code: 'invalid_substitute', message: `${it.sku} cannot substitute itself` };
      if (!skus.has(s) && !known(s)) return { code: 'unknown_sku', message: `substitute ${s} of ${it.sku} is not a known item` };
    }
  return null;
}
