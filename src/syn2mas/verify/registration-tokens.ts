// Compares registration tokens, by the token itself (which never appears in a finding: tokens are
// named by their MAS id, or described by their uses and expiry when MAS has none).
//
// Decision: Synapse is read with every token, not only those the migration would carry today,
// because "today" is not the migration's time. A token that expired after the horizon may have been
// usable when it was migrated: MAS holding it is fine (its values are compared), MAS lacking it too.
// A token used up, or expired before the horizon, was never carried: MAS holding it is an error.
// After the migration MAS counts uses itself and may revoke tokens: a higher times_used with a
// last use after the horizon, and a revocation after it, are info; fewer uses than Synapse
// recorded, another usage limit or another expiry are errors. A token MAS created after the
// horizon is info, as for every other entity.
import { uuidToULID } from 'ulid';
import type { CopyValue } from '../../db/copy.js';
import { decode, reasonOf } from '../reader.js';
import type { SynapseRegistrationToken } from '../transform.js';
import { bump, iso, ms, num, unexpected, type Comparison } from './context.js';
import { mergeJoin, pairUp, sortedBy, streamSorted } from './merge.js';

interface MasToken {
  id: string;
  usageLimit: number | null;
  timesUsed: number;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const uses = (limit: number | null): string => (limit === null ? 'unlimited uses' : `${limit} use${limit === 1 ? '' : 's'}`);

/** A Synapse token as findings show it: its uses and expiry, never the token. */
const described = (e: SynapseRegistrationToken): string => `a registration token with ${e.completed} of ${uses(e.usesAllowed)} used, expiring ${iso(e.expiryTime)}`;
const named = (f: MasToken): string => `registration token ${uuidToULID(f.id)}`;

export async function compareRegistrationTokens(c: Comparison): Promise<void> {
  const expected = streamSorted(
    c.synapse,
    'Synapse registration tokens',
    sortedBy(`SELECT s.token AS k1, s.* FROM (${c.queries.registrationTokens}) s`, 1),
    1,
    (r: CopyValue[]) => ({ row: decode.registrationToken(r), reason: reasonOf(r) }),
  );
  const found = streamSorted(
    c.mas,
    'MAS registration tokens',
    sortedBy(
      `SELECT t.token AS k1, t.user_registration_token_id::text, t.usage_limit, t.times_used, ${ms('t.created_at')}, ${ms('t.expires_at')},
              ${ms('t.last_used_at')}, ${ms('t.revoked_at')}
         FROM user_registration_tokens t`,
      1,
    ),
    1,
    (r): MasToken => ({
      id: r[0] ?? '',
      usageLimit: num(r[1]),
      timesUsed: num(r[2]) ?? 0,
      createdAt: num(r[3]) ?? 0,
      expiresAt: num(r[4]),
      lastUsedAt: num(r[5]),
      revokedAt: num(r[6]),
    }),
  );
  await mergeJoin(expected, found, (_key, synapseRows, fs) => {
    // Carried today, or possibly carried when the migration ran (expired since the horizon).
    const carried = synapseRows.filter((s) => s.reason === 'migrate');
    const maybe = synapseRows.filter((s) => s.reason === 'expired' && (s.row.expiryTime ?? 0) > c.horizon);
    const never = synapseRows.filter((s) => !carried.includes(s) && !maybe.includes(s));
    const matchable = [...carried, ...(fs.length > 0 ? maybe : [])].map((s) => s.row);
    bump(c, 'registrationTokens', 'expected', matchable.length);
    bump(c, 'registrationTokens', 'found', fs.length);
    pairUp(
      matchable,
      fs,
      (e, f) => compareValues(c, e, f),
      (e) => {
        bump(c, 'registrationTokens', 'missing');
        c.collector.add('E_VERIFY_REGISTRATION_TOKENS', 'registrationTokens', 'missing', described(e));
      },
      (f) => {
        const skipped = never[0];
        if (skipped === undefined) {
          unexpected(c, 'registrationTokens', 'E_VERIFY_REGISTRATION_TOKENS', { username: null, createdAt: f.createdAt }, 'I_VERIFY_NEW_REGISTRATION_TOKENS', named(f));
          return;
        }
        bump(c, 'registrationTokens', 'unexpected');
        const why = skipped.reason === 'used_up' ? 'used up in Synapse' : `expired in Synapse before the migration (${iso(skipped.row.expiryTime)})`;
        c.collector.add('E_VERIFY_REGISTRATION_TOKENS', 'registrationTokens', 'unexpected', `${named(f)}: ${why}, so never carried`);
      },
    );
  });
}

function compareValues(c: Comparison, e: SynapseRegistrationToken, f: MasToken): void {
  const errors: string[] = [];
  const later: string[] = [];
  if (f.usageLimit !== e.usesAllowed) errors.push(`allows ${uses(f.usageLimit)} in MAS, ${uses(e.usesAllowed)} in Synapse`);
  if (f.expiresAt !== e.expiryTime) errors.push(`expires ${iso(f.expiresAt)} in MAS, ${iso(e.expiryTime)} in Synapse`);
  if (f.timesUsed !== e.completed) {
    const usedInMas = f.timesUsed > e.completed && f.lastUsedAt !== null && f.lastUsedAt > c.horizon;
    (usedInMas ? later : errors).push(`counts ${f.timesUsed} use${f.timesUsed === 1 ? '' : 's'} in MAS${usedInMas ? ` (last ${iso(f.lastUsedAt)})` : ''}, ${e.completed} in Synapse`);
  }
  if (f.revokedAt !== null) (f.revokedAt > c.horizon ? later : errors).push(`revoked in MAS ${iso(f.revokedAt)}`);
  if (errors.length + later.length === 0) return;
  bump(c, 'registrationTokens', 'different');
  const example = `${named(f)}: ${[...errors, ...later].join('; ')}`;
  if (errors.length > 0) c.collector.add('E_VERIFY_REGISTRATION_TOKENS', 'registrationTokens', 'different', example);
  else c.collector.add('I_VERIFY_REGISTRATION_TOKENS_CHANGED', 'registrationTokens', 'different', example);
}
