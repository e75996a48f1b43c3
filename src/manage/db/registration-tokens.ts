// Registration tokens in MAS's user_registration_tokens, written the way mas-cli's
// issue-user-registration-token and the admin API write them: the token text as it is (MAS compares
// it as given at registration), times_used 0, created now.
import { MasToolError } from '../../errors.js';
import { Secret } from '../../secret.js';
import type { MasRegistrationToken, NewRegistrationToken } from '../model.js';
import { generateRegistrationToken, tokenExists, tokenNotFound } from '../registration-token-rules.js';
import { isUlid, newUlid, toUlid, toUuid } from './ids.js';
import type { ManageSchema } from './schema.js';
import type { MasSql } from './sql.js';
import { isoText } from './users.js';

interface TokenRow {
  id: string;
  token: string;
  usage_limit: number | null;
  times_used: number;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = `user_registration_token_id::text AS id, token, usage_limit, times_used,
  ${isoText('created_at')} AS created_at, ${isoText('last_used_at')} AS last_used_at,
  ${isoText('expires_at')} AS expires_at, ${isoText('revoked_at')} AS revoked_at`;

function toToken(row: TokenRow): MasRegistrationToken {
  // As a Secret it is also scrubbed from any output, like every other secret mas-tool reads.
  return {
    id: toUlid(row.id),
    token: Secret.fromString(row.token),
    usageLimit: row.usage_limit,
    timesUsed: row.times_used,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** Refuses to go on when this MAS has no registration tokens at all. */
export function requireTokens(schema: ManageSchema): void {
  if (schema.registrationTokens) return;
  throw new MasToolError(
    'MAS_TOOL_MAS_SCHEMA_UNSUPPORTED',
    `This MAS database (${schema.release ?? `latest migration ${schema.latestMigration}`}) has no user_registration_tokens table: MAS has registration tokens since 0.17.`,
    { hint: 'Upgrade MAS (it migrates its database when it starts), then retry.', details: { latestMigration: schema.latestMigration } },
  );
}

export async function listTokens(sql: MasSql): Promise<MasRegistrationToken[]> {
  const { rows } = await sql.query<TokenRow>('listing the registration tokens', `SELECT ${COLUMNS} FROM user_registration_tokens ORDER BY user_registration_token_id`);
  return rows.map(toToken);
}

export async function findToken(sql: MasSql, ref: { id?: string; token?: string }): Promise<MasRegistrationToken | undefined> {
  const id = ref.id !== undefined && isUlid(ref.id) ? toUuid(ref.id) : null;
  if (id === null && ref.token === undefined) return undefined;
  // By id first: a token text that happens to look like an id still finds its own row second.
  const { rows } = await sql.query<TokenRow>(
    'looking up a registration token',
    `SELECT ${COLUMNS} FROM user_registration_tokens
      WHERE user_registration_token_id = $1::uuid OR token = $2
      ORDER BY (user_registration_token_id = $1::uuid) DESC NULLS LAST LIMIT 1`,
    [id, ref.token ?? null],
  );
  return rows[0] === undefined ? undefined : toToken(rows[0]);
}

export async function insertToken(sql: MasSql, t: NewRegistrationToken): Promise<MasRegistrationToken> {
  const text = t.token?.reveal() ?? generateRegistrationToken();
  const { rows } = await sql.query<TokenRow>(
    'issuing a registration token',
    `INSERT INTO user_registration_tokens (user_registration_token_id, token, usage_limit, times_used, created_at, expires_at)
     VALUES ($1, $2, $3, 0, now(), $4)
     ON CONFLICT (token) DO NOTHING
     RETURNING ${COLUMNS}`,
    [toUuid(newUlid()), text, t.usageLimit, t.expiresAt],
  );
  if (rows[0] === undefined) throw tokenExists();
  return toToken(rows[0]);
}

export async function setRevoked(sql: MasSql, id: string, revoked: boolean): Promise<MasRegistrationToken> {
  const { rows } = await sql.query<TokenRow>(
    revoked ? 'revoking a registration token' : 'unrevoking a registration token',
    `UPDATE user_registration_tokens SET revoked_at = ${revoked ? 'now()' : 'NULL'} WHERE user_registration_token_id = $1 RETURNING ${COLUMNS}`,
    [toUuid(id, 'registration token id')],
  );
  if (rows[0] === undefined) throw tokenNotFound(id);
  return toToken(rows[0]);
}
