// What every Synapse data check is given, and the shape of one check. A check reads the counts
// (counts.ts) to decide, and queries only for its examples.
import type { Queryable } from '../../../db/queryable.js';
import type { Finding } from '../../../report/finding.js';
import type { SynapseCounts } from './counts.js';
import type { SynapseFacts } from './plan.js';
import type { SynapseSchema } from './schema.js';

/** Example rows per finding: enough to find the pattern, few enough to read. */
export const MAX_EXAMPLES = 20;

export interface DataCheckContext {
  db: Queryable;
  /** [serverName], the parameters of the SQL helpers of synapse-sql.ts. */
  params: unknown[];
  serverName: string;
  schema: SynapseSchema;
  plan: SynapseFacts['plan'];
  counts: SynapseCounts;
}

export interface DataCheck {
  /** The finding's code; also the name of the check's step in the timings. */
  code: string;
  run(ctx: DataCheckContext): Promise<Finding | undefined>;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The singular or the plural wording, for verbs and pronouns that agree with n. */
export function pick(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}
