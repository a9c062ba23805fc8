/** Node settings: flags or environment variables, checked at start with a clear message. */
import { z } from 'zod';
import { Ident } from '../shared/ids.js';

export const NodeConfig = z.object({
  id: Ident,
  /** One hub URL, or several separated by commas: the node moves to the next when one stays unreachable or busy. */
  hubUrl: z
    .string()
    .refine((v) => v.split(',').every((u) => URL.canParse(u.trim())), '--hub must be the hub URL (or several, comma-separated), e.g. http://127.0.0.1:8080'),
  token: z.string().min(16, '--token must be the node token the hub returned at registration'),
  port: z.coerce.number().int().min(0).max(65535).default(8081),
  host: z.string().default('127.0.0.1'),
  dataDir: z.string().min(1).optional(),
  associateToken: z.string().min(4, 'DOM_ASSOCIATE_TOKEN must be at least 4 characters'),
  initialBackoffMs: z.coerce.number().int().positive().default(500),
  maxBackoffMs: z.coerce.number().int().positive().default(30_000),
});
export type NodeConfig = z.infer<typeof NodeConfig>;
export type NodeConfigInput = z.input<typeof NodeConfig>;

export function nodeConfigFromEnv(flags: Record<string, string | undefined>, env = process.env): NodeConfigInput {
  const pick = (flag: string, envName: string) => flags[flag] ?? env[envName];
  return {
    id: pick('id', 'DOM_NODE_ID'),
    hubUrl: pick('hub', 'DOM_HUB_URL'),
    token: pick('token', 'DOM_NODE_TOKEN'),
    port: pick('port', 'DOM_PORT'),
    host: pick('host', 'DOM_HOST'),
    dataDir: pick('data', 'DOM_DATA'),
    associateToken: pick('associate-token', 'DOM_ASSOCIATE_TOKEN'),
  } as NodeConfigInput;
}
