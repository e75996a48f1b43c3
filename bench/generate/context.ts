// What the statements of each table group are built from: the seeded SQL helpers, the reference
// time, the server name, and the list the statements are added to, in the order they run.
import type { SqlHelpers } from './random-sql.js';

  /** Keeps the planner from inlining a subquery's expressions into every place that uses them. */
  export const FENCE = 'OFFSET 0';
/** access_tokens.last_validated and used arrived shortly after Synapse 1.34 (May 2021). */
export const LAST_VALIDATED_SINCE_MS = Date.UTC(2021, 6, 13);
export const DAY_MS = 86_400_000;

/** One statement: its label (for the timings), its SQL (built when it runs) and what to do with its row count. */
export type GenerationStep = [label: string, sql: () => string, done?: (rows: number) => void];

export interface GenContext extends SqlHelpers {
  /** Number of users. */
  n: number;
  nowMs: number;
  nowS: number;
  /** The server name, as an SQL literal. */
  server: string;
  /** Synapse's checksum: CRC-32 of everything before it (PostgreSQL 18 has crc32()); a hash on older servers. */
  checksum(base: string): string;
  /** A time in ms between `fromMs` and now. */
  between(fromMs: string, key: string, salt: string): string;
  /** Adds a statement. A step's SQL may depend on what earlier steps did (access token ids continue from the last one). */
  step(label: string, sql: string | (() => string), done?: (rows: number) => void): void;
}
