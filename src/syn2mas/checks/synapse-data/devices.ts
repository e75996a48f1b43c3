// Checks on devices and their tokens: tokens on device rows that are not migrated as sessions,
// and last-seen IPs MAS cannot store.
import { finding } from '../../../report/finding.js';
import { AT_REASON, DEVICE_FROM, DEVICE_NOT_MIGRATED, DEVICE_REASON, REFRESH_FROM, REFRESH_REASON, REFRESH_WITH } from '../../synapse-sql.js';
import { MAX_EXAMPLES, pick, plural, type DataCheck } from './context.js';
import { invalidIpSql } from './counts.js';

export const tokensOnHiddenDevices: DataCheck = {
  code: 'W_TOKENS_ON_HIDDEN_DEVICES',
  async run({ db, params, plan }) {
    const hiddenAccess = plan.accessTokens.skipped['hidden_device'] ?? 0;
    const hiddenRefresh = plan.refreshTokens.skipped['hidden_device'] ?? 0;
    if (hiddenAccess + hiddenRefresh === 0) return undefined;
    const { rows } = await db.query<{ user_id: string; device_id: string; token_type: string; guest_device: boolean }>(
      `${REFRESH_WITH}
       SELECT * FROM (
         (SELECT DISTINCT a.user_id, a.device_id, 'access' AS token_type, a.device_id = 'guest_device' AS guest_device
            FROM devices d JOIN access_tokens a ON a.user_id = d.user_id AND a.device_id = d.device_id
            LEFT JOIN users u ON u.name = a.user_id
           WHERE ${DEVICE_NOT_MIGRATED} AND a.refresh_token_id IS NULL AND a.puppets_user_id IS NULL AND ${AT_REASON} = 'hidden_device')
         UNION
         (SELECT DISTINCT x.user_id, x.device_id, 'refresh', x.device_id = 'guest_device'
            ${REFRESH_FROM} WHERE ${REFRESH_REASON} = 'hidden_device')
       ) h ORDER BY 1, 2, 3 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    return finding(
      'W_TOKENS_ON_HIDDEN_DEVICES',
      'warning',
      `${plural(hiddenAccess, 'access token')} and ${plural(hiddenRefresh, 'refresh token pair')} belong to device rows that are hidden ` +
        "(cross-signing keys) or 'guest_device', which are not migrated as sessions; they are skipped (mas-cli syn2mas would fail at the end on them).",
      {
        fix:
          'Nothing to do with mas-tool: these tokens are skipped and their clients have to log in again. If you migrate with mas-cli syn2mas ' +
          'instead, delete these tokens from the Synapse database first.',
        details: {
          accessTokens: hiddenAccess,
          refreshTokens: hiddenRefresh,
          examples: rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, token: r.token_type, device: r.guest_device ? 'guest_device' : 'hidden' })),
        },
      },
    );
  },
};

export const invalidDeviceIps: DataCheck = {
  code: 'W_INVALID_DEVICE_IPS',
  async run({ db, params, schema, counts: { invalidIps } }) {
    if (invalidIps === 0) return undefined;
    const { rows } = await db.query<{ user_id: string; device_id: string; ip: string }>(
      `SELECT d.user_id, d.device_id, d.ip ${DEVICE_FROM}
        WHERE ${DEVICE_REASON} = 'migrate' AND ${invalidIpSql(schema.serverVersion)} ORDER BY 1, 2 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    return finding(
      'W_INVALID_DEVICE_IPS',
      'warning',
      `${plural(invalidIps, 'device')} to migrate ${invalidIps === 1 ? 'has' : 'have'} a last-seen IP that is not a single IPv4 or IPv6 address; ` +
        `${pick(invalidIps, 'it', 'they')} will be migrated without an IP.`,
      {
        fix: 'Nothing to do: the IP is refreshed when the client next connects.',
        details: { count: invalidIps, examples: rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, ip: r.ip })) },
      },
    );
  },
};
