/**
 * One error type for the whole system. Errors are data: a status that maps to HTTP,
 * a short machine-readable code, and a message a person can act on.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 503;

export class DomError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomError';
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export const badRequest = (code: string, message: string, details?: unknown) => new DomError(400, code, message, details);
export const notFound = (code: string, message: string) => new DomError(404, code, message);
export const conflict = (code: string, message: string, details?: unknown) => new DomError(409, code, message, details);
export const forbidden = (code: string, message: string) => new DomError(403, code, message);
export const unauthorized = (message = 'missing or invalid bearer token') => new DomError(401, 'unauthorized', message);

/** Is this a CouchDB/nano/PouchDB error with the given HTTP status? */
export function isStatus(err: unknown, status: number): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: number; status?: number };
  return e.statusCode === status || e.status === status;
}

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up|other side closed|fetch failed|error happened in your connection/;

/**
 * Is this the database being out of reach (refused, reset, timed out) or answering 5xx itself
 * (a CouchDB restarting, a cluster that lost its quorum)? The caller answers 503: try again.
 * nano reports a refused connection as a plain Error whose message names the cause.
 */
export function isStorageUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { statusCode?: number; status?: number; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const status = e.statusCode ?? e.status;
  if (typeof status === 'number' && status >= 500 && status < 600) return true;
  return [e.code, e.message, e.cause?.code, e.cause?.message].some((v) => typeof v === 'string' && UNREACHABLE.test(v));
}
