// Synapse's registration tokens before a migration: how many can still be used (and are carried),
// how many are expired or used up (skipped), and a warning when the MAS schema has no table for
// them (MAS has registration tokens since 0.17; mas-tool supports schemas from v0.16.0). Counted
// with the same classification SQL the migration streams them with (synapse-sql.ts). Read-only.
import type { MasSchema } from '../../db/mas-schema.js';
import type { Queryable } from '../../db/queryable.js';
import { finding, type Finding } from '../../report/finding.js';
import { NO_MAS_TABLE } from '../phases.js';
import { REGISTRATION_TOKEN_FROM, REGISTRATION_TOKEN_REASON } from '../synapse-sql.js';

export const REGISTRATION_TOKEN_CHECK_CODES = ['W_REGISTRATION_TOKENS_NOT_CARRIED'] as const;

/** What the migration does with the tokens: the plan entry `registrationTokens` of I_SUMMARY. */
export interface RegistrationTokenPlan {
  migrate: number;
  skipped: Record<string, number>;
}

export interface RegistrationTokenFacts {
  /** Tokens that can still be used: not expired, fewer completed registrations than allowed. */
  usable: number;
  expired: number;
  usedUp: number;
}

export async function readRegistrationTokenFacts(synapse: Queryable): Promise<RegistrationTokenFacts> {
  // Every Synapse the check accepts has the table (schema 59 on); a database that is not Synapse at
  // all gets its own error from the schema check, and nothing to count here.
  const { rows: present } = await synapse.query<{ t: string | null }>(`SELECT to_regclass('registration_tokens')::text AS t`);
  if (present[0]?.t == null) return { usable: 0, expired: 0, usedUp: 0 };
  const { rows } = await synapse.query<{ usable: number; expired: number; usedUp: number }>(
    `SELECT count(*) FILTER (WHERE reason = 'migrate')::int AS usable, count(*) FILTER (WHERE reason = 'expired')::int AS expired,
            count(*) FILTER (WHERE reason = 'used_up')::int AS "usedUp"
       FROM (SELECT ${REGISTRATION_TOKEN_REASON} AS reason ${REGISTRATION_TOKEN_FROM}) x`,
  );
  const r = rows[0];
  return { usable: r?.usable ?? 0, expired: r?.expired ?? 0, usedUp: r?.usedUp ?? 0 };
}

/** Findings and plan from the facts; `masSchema` decides whether the usable tokens can be carried. */
export function registrationTokenFindings(facts: RegistrationTokenFacts, masSchema: MasSchema): { findings: Finding[]; plan: RegistrationTokenPlan } {
  const carried = masSchema.columns.user_registration_tokens !== undefined;
  const skipped: Record<string, number> = { expired: facts.expired, used_up: facts.usedUp };
  if (!carried) skipped[NO_MAS_TABLE] = facts.usable;
  const plan = { migrate: carried ? facts.usable : 0, skipped };
  // No MAS schema at all has its own error (E_MAS_SCHEMA_MISSING); this is about an old one.
  if (carried || facts.usable === 0 || masSchema.columns.users === undefined) return { findings: [], plan };
  const n = facts.usable;
  const schema = masSchema.release ?? `migration ${masSchema.latestMigration ?? 'unknown'}`;
  return {
    plan,
    findings: [
      finding(
        'W_REGISTRATION_TOKENS_NOT_CARRIED',
        'warning',
        `${n} Synapse registration token${n === 1 ? '' : 's'} that can still be used ${n === 1 ? 'is' : 'are'} not carried: ` +
          `this MAS schema (${schema}) has no user_registration_tokens table (MAS has registration tokens since 0.17). ` +
          'Invitations that rely on them stop working after the migration.',
        {
          fix:
            'To carry them, upgrade MAS to 0.17 or later and run `mas-cli database migrate` before migrating. Otherwise hand out new ones once MAS is ' +
            'upgraded (`mas-tool manage registration-token issue`), and acknowledge this with --accept W_REGISTRATION_TOKENS_NOT_CARRIED.',
          details: { usable: n, expired: facts.expired, usedUp: facts.usedUp, masMigration: masSchema.latestMigration },
        },
      ),
    ],
  };
}
