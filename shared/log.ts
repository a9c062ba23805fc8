import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; DOM_LOG_LEVEL=silent|error|warn|info|debug. */
export function createLogger(name: string, level = process.env.DOM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { svc: name } });
}
