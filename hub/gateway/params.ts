/**
 * The CouchDB endpoints that PouchDB replication uses, and for each the query parameters it may
 * pass with the values it may have. Everything else is refused before it reaches CouchDB: a
 * CouchDB-compatible server that is handed odd parameters (a `_selector` filter, a non-numeric
 * limit) may misbehave or die, and a node has no business asking for them.
 */
export type Endpoint = 'db' | 'local' | 'changes' | 'revs_diff' | 'bulk_get' | 'bulk_docs' | 'all_docs' | 'ensure_full_commit' | 'doc';

const bool = /^(true|false)$/;
const int = /^\d{1,9}$/;
const json = /^[\[{"].*$/s;
const seq = /^[\w\-\[\]",.%]{1,512}$/;

const PARAMS: Record<Endpoint, Record<string, RegExp>> = {
  db: {},
  local: {},
  ensure_full_commit: {},
  revs_diff: {},
  bulk_docs: {},
  changes: {
    since: seq,
    limit: int,
    feed: /^(normal|longpoll|continuous)$/,
    heartbeat: /^(\d{1,9}|true)$/,
    timeout: int,
    style: /^(main_only|all_docs)$/,
    include_docs: bool,
    conflicts: bool,
    descending: bool,
    seq_interval: int,
    return_docs: bool,
    attachments: bool,
    att_encoding_info: bool,
  },
  bulk_get: { revs: bool, latest: bool, attachments: bool },
  all_docs: {
    include_docs: bool,
    conflicts: bool,
    descending: bool,
    limit: int,
    skip: int,
    update_seq: bool,
    inclusive_end: bool,
    keys: json,
    key: json,
    startkey: json,
    endkey: json,
    start_key: json,
    end_key: json,
  },
  doc: {
    rev: /^\d{1,9}-[0-9a-f]{1,64}$/,
    revs: bool,
    revs_info: bool,
    open_revs: /^(all|\[.*\])$/s,
    latest: bool,
    conflicts: bool,
    attachments: bool,
    att_encoding_info: bool,
    new_edits: bool,
  },
};

const METHODS: Record<Endpoint, readonly string[]> = {
  db: ['GET', 'HEAD'],
  local: ['GET', 'HEAD', 'PUT'],
  changes: ['GET'],
  revs_diff: ['POST'],
  bulk_get: ['POST'],
  bulk_docs: ['POST'],
  all_docs: ['GET', 'POST'],
  ensure_full_commit: ['POST'],
  doc: ['GET', 'HEAD', 'PUT'],
};

export interface Route {
  endpoint: Endpoint;
  /** The decoded document id for `doc` and `local`. */
  docId?: string;
}

/** Map the path under `/sync/:nodeId` to an endpoint, or explain why it is refused. */
export function route(method: string, rest: string): Route | { error: string; status: 400 | 403 | 404 | 405 } {
  let endpoint: Endpoint;
  let docId: string | undefined;
  const path = rest.replace(/^\/+/, '');
  if (path === '') endpoint = 'db';
  else if (path === '_changes') endpoint = 'changes';
  else if (path === '_revs_diff') endpoint = 'revs_diff';
  else if (path === '_bulk_get') endpoint = 'bulk_get';
  else if (path === '_bulk_docs') endpoint = 'bulk_docs';
  else if (path === '_all_docs') endpoint = 'all_docs';
  else if (path === '_ensure_full_commit') endpoint = 'ensure_full_commit';
  else {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return { error: 'malformed document id', status: 400 };
    }
    if (decoded.startsWith('_local/') && decoded.length > 7 && decoded.length < 300) {
      endpoint = 'local';
      docId = decoded;
    } else if (decoded.startsWith('_')) {
      return { error: `"${decoded.split('/')[0]}" is not served to nodes`, status: 403 };
    } else if (decoded.includes('/')) {
      return { error: 'attachments are not served', status: 403 };
    } else if (decoded.length > 300) {
      return { error: 'document id too long', status: 400 };
    } else {
      endpoint = 'doc';
      docId = decoded;
    }
  }
  if (!METHODS[endpoint].includes(method)) return { error: `${method} is not allowed on this path`, status: 405 };
  return { endpoint, docId };
}

/** Null when every query parameter is one this endpoint allows with a value of the right shape. */
export function checkParams(endpoint: Endpoint, params: URLSearchParams): string | null {
  const allowed = PARAMS[endpoint];
  const seen = new Set<string>();
  for (const [key, value] of params) {
    // own keys only: "__proto__" or "constructor" must not find Object.prototype's members
    const re = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (!re) return `query parameter "${key}" is not allowed here`;
    if (seen.has(key)) return `query parameter "${key}" given twice`;
    seen.add(key);
    if (!re.test(value)) return `query parameter "${key}" has an invalid value`;
  }
  return null;
}
