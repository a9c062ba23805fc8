/**
 * The sync gateway's pure rules: which CouchDB paths and query parameters a node may use
 * (hub/gateway/params.ts), and which documents it may upload (hub/gateway/validate.ts). Everything
 * not listed is refused before it reaches CouchDB, with a reason an operator can read in the logs.
 */
import { describe, expect, it } from 'vitest';
import { checkParams, route } from '../../hub/gateway/params.js';
import { checkNodeDoc } from '../../hub/gateway/validate.js';

const q = (s: string) => new URLSearchParams(s);
const AT = '2026-03-02T09:00:00.000Z';

describe('route: the paths a node may use', () => {
  it('maps the replication endpoints', () => {
    expect(route('GET', '')).toEqual({ endpoint: 'db' });
    expect(route('GET', '/')).toEqual({ endpoint: 'db' });
    expect(route('HEAD', '/')).toEqual({ endpoint: 'db' });
    expect(route('GET', '/_changes')).toEqual({ endpoint: 'changes' });
    expect(route('POST', '/_revs_diff')).toEqual({ endpoint: 'revs_diff' });
    expect(route('POST', '/_bulk_get')).toEqual({ endpoint: 'bulk_get' });
    expect(route('POST', '/_bulk_docs')).toEqual({ endpoint: 'bulk_docs' });
    expect(route('GET', '/_all_docs')).toEqual({ endpoint: 'all_docs' });
    expect(route('POST', '/_all_docs')).toEqual({ endpoint: 'all_docs' });
    expect(route('POST', '/_ensure_full_commit')).toEqual({ endpoint: 'ensure_full_commit' });
  });

  it('maps documents and replication checkpoints, with the id decoded', () => {
    expect(route('GET', '/do%3AATL-01%3A42')).toEqual({ endpoint: 'doc', docId: 'do:ATL-01:42' });
    expect(route('PUT', '/inv:SKU-1')).toEqual({ endpoint: 'doc', docId: 'inv:SKU-1' });
    expect(route('GET', '/_local/abc123')).toEqual({ endpoint: 'local', docId: '_local/abc123' });
    expect(route('PUT', '/_local%2Fabc123')).toEqual({ endpoint: 'local', docId: '_local/abc123' });
  });

  it('refuses CouchDB internals and design documents with a 403 naming them', () => {
    expect(route('GET', '/_design/x')).toEqual({ error: '"_design" is not served to nodes', status: 403 });
    expect(route('GET', '/_design%2Fx')).toEqual({ error: '"_design" is not served to nodes', status: 403 });
    expect(route('GET', '/_security')).toEqual({ error: '"_security" is not served to nodes', status: 403 });
    expect(route('POST', '/_find')).toEqual({ error: '"_find" is not served to nodes', status: 403 });
    expect(route('POST', '/_compact')).toMatchObject({ status: 403 });
    expect(route('GET', '/_all_dbs')).toMatchObject({ status: 403 });
    // "_local/" alone is not a checkpoint id
    expect(route('GET', '/_local/')).toMatchObject({ status: 403 });
  });

  it('refuses attachments, malformed and over-long ids', () => {
    expect(route('GET', '/do:1/file.pdf')).toEqual({ error: 'attachments are not served', status: 403 });
    expect(route('GET', '/do%3A1%2Ffile.pdf')).toEqual({ error: 'attachments are not served', status: 403 });
    expect(route('GET', '/%E0%A4%A')).toEqual({ error: 'malformed document id', status: 400 });
    expect(route('GET', `/${'x'.repeat(301)}`)).toEqual({ error: 'document id too long', status: 400 });
    expect(route('GET', `/${'x'.repeat(300)}`)).toMatchObject({ endpoint: 'doc' });
    expect(route('GET', `/_local/${'x'.repeat(400)}`)).toMatchObject({ status: 403 });
  });

  it('refuses a method the endpoint does not take, with a 405 naming it', () => {
    expect(route('DELETE', '/do:1')).toEqual({ error: 'DELETE is not allowed on this path', status: 405 });
    expect(route('DELETE', '/_local/abc')).toEqual({ error: 'DELETE is not allowed on this path', status: 405 });
    expect(route('POST', '/_changes')).toMatchObject({ status: 405 });
    expect(route('GET', '/_bulk_docs')).toMatchObject({ status: 405 });
    expect(route('PUT', '/')).toMatchObject({ status: 405 });
    expect(route('DELETE', '/')).toMatchObject({ status: 405 });
  });
});

describe('checkParams: the query parameters a node may pass', () => {
  it('accepts what PouchDB replication sends', () => {
    expect(checkParams('changes', q('style=all_docs&since=0&limit=100&feed=longpoll&heartbeat=10000&seq_interval=100'))).toBeNull();
    expect(checkParams('changes', q('since=12-g1AAAAB4eJzLYWBgYMpgTmHgz8tPSTV0MDQy1zMAQsMcoEQiQ1L9%5B%5D'))).toBeNull();
    expect(checkParams('changes', q('since=now&feed=continuous&heartbeat=true&include_docs=true'))).toBeNull();
    expect(checkParams('bulk_get', q('revs=true&latest=true'))).toBeNull();
    expect(checkParams('all_docs', q('include_docs=true&keys=["a","b"]&limit=10'))).toBeNull();
    expect(checkParams('all_docs', q('startkey="do:"&endkey="do:\uffff"'))).toBeNull();
    expect(checkParams('doc', q('rev=3-0123456789abcdef&revs=true&open_revs=all&latest=true'))).toBeNull();
    expect(checkParams('doc', q('open_revs=["1-abc"]'))).toBeNull();
    expect(checkParams('db', q(''))).toBeNull();
  });

  it('refuses a parameter the endpoint does not take, naming it', () => {
    expect(checkParams('changes', q('filter=_selector'))).toBe('query parameter "filter" is not allowed here');
    expect(checkParams('changes', q('doc_ids=["x"]'))).toBe('query parameter "doc_ids" is not allowed here');
    expect(checkParams('bulk_docs', q('new_edits=false'))).toBe('query parameter "new_edits" is not allowed here');
    expect(checkParams('db', q('x=1'))).toBe('query parameter "x" is not allowed here');
    expect(checkParams('local', q('rev=1-0'))).toBe('query parameter "rev" is not allowed here');
  });

  it('does not take Object.prototype members for allowed parameters', () => {
    expect(checkParams('changes', q('__proto__=1'))).toBe('query parameter "__proto__" is not allowed here');
    expect(checkParams('doc', q('constructor=x'))).toBe('query parameter "constructor" is not allowed here');
    expect(checkParams('all_docs', q('hasOwnProperty=x'))).toBe('query parameter "hasOwnProperty" is not allowed here');
  });

  it('refuses a value of the wrong shape, naming the parameter', () => {
    expect(checkParams('changes', q('limit=ten'))).toBe('query parameter "limit" has an invalid value');
    expect(checkParams('changes', q('limit=-1'))).toBe('query parameter "limit" has an invalid value');
    expect(checkParams('changes', q('limit=1e9'))).toBe('query parameter "limit" has an invalid value');
    expect(checkParams('changes', q('limit=1234567890'))).toBe('query parameter "limit" has an invalid value');
    expect(checkParams('changes', q('feed=eventsource'))).toBe('query parameter "feed" has an invalid value');
    expect(checkParams('changes', q('include_docs=1'))).toBe('query parameter "include_docs" has an invalid value');
    expect(checkParams('changes', q('since=' + 'x'.repeat(513)))).toBe('query parameter "since" has an invalid value');
    expect(checkParams('changes', q('since=a b'))).toBe('query parameter "since" has an invalid value');
    expect(checkParams('all_docs', q('keys=a,b'))).toBe('query parameter "keys" has an invalid value');
    expect(checkParams('doc', q('rev=abc'))).toBe('query parameter "rev" has an invalid value');
    expect(checkParams('doc', q('rev=1-XYZ'))).toBe('query parameter "rev" has an invalid value');
    expect(checkParams('doc', q('open_revs=some'))).toBe('query parameter "open_revs" has an invalid value');
  });

  it('refuses a parameter given twice (CouchDB and the check could read different ones)', () => {
    expect(checkParams('changes', q('limit=1&limit=2'))).toBe('query parameter "limit" given twice');
  });
});

describe('checkNodeDoc: what a node may upload', () => {
  const evt = (extra: Record<string, unknown> = {}) => ({
    _id: 'evt:DO-1:0003',
    type: 'evt',
    doId: 'DO-1',
    n: 3,
    status: 'packed',
    facility: 'ATL-01',
    at: AT,
    ...extra,
  });
  const inv = (extra: Record<string, unknown> = {}) => ({
    _id: 'inv:SKU-1',
    type: 'inv',
    sku: 'SKU-1',
    onHand: 5,
    reserved: 1,
    available: 4,
    updatedAt: AT,
    ...extra,
  });

  it('accepts valid node documents', () => {
    expect(checkNodeDoc(evt(), true)).toBeNull();
    expect(checkNodeDoc(inv(), true)).toBeNull();
    expect(checkNodeDoc(inv({ _rev: '7-abc' }), true)).toBeNull(); // positions are edited in place
    expect(checkNodeDoc({ _id: 'sale:1', type: 'sale', sku: 'SKU-1', qty: 2, at: AT }, true)).toBeNull();
    // replication (new_edits=false) carries the generation-1 revision of an append-only doc
    expect(checkNodeDoc(evt({ _rev: '1-abc' }), false)).toBeNull();
  });

  it('refuses what is not a document, or has no id', () => {
    expect(checkNodeDoc(null, true)).toEqual({ id: null, reason: 'not a JSON object' });
    expect(checkNodeDoc([evt()], true)).toEqual({ id: null, reason: 'not a JSON object' });
    expect(checkNodeDoc('evt', true)).toEqual({ id: null, reason: 'not a JSON object' });
    expect(checkNodeDoc({ type: 'evt' }, true)).toEqual({ id: null, reason: 'missing _id' });
    expect(checkNodeDoc({ _id: 42, type: 'evt' }, true)).toEqual({ id: null, reason: 'missing _id' });
  });

  it('refuses unknown types and hub-owned types (ownership)', () => {
    expect(checkNodeDoc({ _id: 'order:1', type: 'order' }, true)).toEqual({ id: 'order:1', reason: 'unknown document type' });
    expect(checkNodeDoc({ _id: '_design/x', language: 'javascript' }, true)).toEqual({ id: '_design/x', reason: 'unknown document type' });
    expect(checkNodeDoc({ _id: 'do:DO-1', type: 'do' }, true)).toEqual({ id: 'do:DO-1', reason: '"do" documents are written by the hub only' });
    expect(checkNodeDoc({ _id: 'docancel:DO-1', type: 'docancel' }, true)).toEqual({
      id: 'docancel:DO-1',
      reason: '"docancel" documents are written by the hub only',
    });
    expect(checkNodeDoc({ _id: 'item:SKU-1', type: 'item' }, true)).toMatchObject({ reason: '"item" documents are written by the hub only' });
    expect(checkNodeDoc({ _id: 'count:1', type: 'count' }, true)).toMatchObject({ reason: '"count" documents are written by the hub only' });
  });

  it('refuses deletions and attachments', () => {
    expect(checkNodeDoc(inv({ _deleted: true }), true)).toEqual({ id: 'inv:SKU-1', reason: 'documents are never deleted' });
    expect(checkNodeDoc(evt({ _attachments: { 'a.txt': { data: 'eA==' } } }), true)).toEqual({ id: 'evt:DO-1:0003', reason: 'attachments are not accepted' });
  });

  it('refuses a type field that does not match the id prefix', () => {
    expect(checkNodeDoc(inv({ type: 'evt' }), true)).toEqual({ id: 'inv:SKU-1', reason: 'field "type" must be "inv"' });
    expect(checkNodeDoc(inv({ type: undefined }), true)).toEqual({ id: 'inv:SKU-1', reason: 'field "type" must be "inv"' });
  });

  it('refuses a document its schema refuses, naming the field', () => {
    expect(checkNodeDoc(inv({ reserved: -1 }), true)).toEqual({ id: 'inv:SKU-1', reason: 'invalid inv: reserved: must not be negative' });
    expect(checkNodeDoc(evt({ status: 'teleported' }), true)?.reason).toMatch(/^invalid evt: status: /);
    expect(checkNodeDoc(evt({ n: 0 }), true)?.reason).toMatch(/^invalid evt: n: /);
    expect(checkNodeDoc(evt({ at: 'yesterday' }), true)?.reason).toMatch(/^invalid evt: at: /);
    expect(checkNodeDoc({ _id: 'sale:1', type: 'sale', sku: 'SKU-1', qty: 0, at: AT }, true)).toEqual({
      id: 'sale:1',
      reason: 'invalid sale: qty: must be positive',
    });
  });

  it('refuses an id its fields do not imply', () => {
    expect(checkNodeDoc(inv({ _id: 'inv:SKU-2' }), true)).toEqual({ id: 'inv:SKU-2', reason: '_id must be "inv:SKU-1"' });
    expect(checkNodeDoc(evt({ _id: 'evt:DO-1:0004' }), true)).toEqual({ id: 'evt:DO-1:0004', reason: '_id must be "evt:DO-1:0003"' });
    expect(checkNodeDoc(evt({ _id: 'evt:DO-2:0003' }), true)).toEqual({ id: 'evt:DO-2:0003', reason: '_id must be "evt:DO-1:0003"' });
  });

  it('append-only types are accepted only as their first revision', () => {
    const reason = '"evt" documents are append-only and cannot be edited';
    // a normal write: no _rev (a _rev means an edit of an existing document)
    expect(checkNodeDoc(evt({ _rev: '1-abc' }), true)).toEqual({ id: 'evt:DO-1:0003', reason });
    // replication: only generation 1
    expect(checkNodeDoc(evt({ _rev: '2-abc' }), false)).toEqual({ id: 'evt:DO-1:0003', reason });
    expect(checkNodeDoc(evt(), false)).toEqual({ id: 'evt:DO-1:0003', reason });
    expect(checkNodeDoc({ _id: 'sale:1', type: 'sale', sku: 'SKU-1', qty: 1, at: AT, _rev: '11-abc' }, false)).toMatchObject({
      reason: '"sale" documents are append-only and cannot be edited',
    });
  });
});
