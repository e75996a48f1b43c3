// Compares non-refreshable access tokens and refresh tokens (with the access token of their pair), never showing a token.
import { decode } from '../reader.js';
import { extractLocalpart, transformAccessToken, transformRefreshPair } from '../transform.js';
import { bump, iso, missing, ms, mxid, NO_IDS, num, synapseSide, unexpected, type Comparison } from './context.js';
import { mergeJoin, pairUp, sortedBy, streamSorted } from './merge.js';

/** "an access token of @u device D": how tokens are named in findings (never the token itself). */
const tokenName = (c: Comparison, what: string, username: string | null, deviceId: string | null): string =>
  deviceId === null ? `a deviceless ${what} of ${mxid(c, username)}` : `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} of ${mxid(c, username)} device ${deviceId}`;

export async function compareAccessTokens(c: Comparison): Promise<void> {
  // Non-refreshable tokens only: the access token of a refresh pair is compared with its refresh
  // token (compareRefreshTokens), as migrate counts them.
  const expected = streamSorted(c.synapse, 'Synapse access tokens', synapseSide(c.queries.accessTokens, ['s.token']), 1, (r) => {
    const row = decode.accessToken(r);
    return { username: extractLocalpart(row.userId, c.serverName), deviceId: row.deviceId, token: transformAccessToken(row, NO_IDS, c.now).token };
  });
  const found = streamSorted(
    c.mas,
    'MAS access tokens',
    sortedBy(
      `SELECT t.access_token AS k1, u.username, s.device_id, ${ms('t.expires_at')}, ${ms('t.created_at')}, ${ms('s.finished_at')}
         FROM compat_access_tokens t
         JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id
         JOIN users u ON u.user_id = s.user_id
        WHERE NOT EXISTS (SELECT 1 FROM compat_refresh_tokens r WHERE r.compat_access_token_id = t.compat_access_token_id)`,
      1,
    ),
    1,
    (r) => ({ username: r[0] ?? null, deviceId: r[1] ?? null, expiresAt: num(r[2]), createdAt: num(r[3]) ?? 0, finishedAt: num(r[4]) }),
  );
  await mergeJoin(expected, found, (_key, es, fs) => {
    bump(c, 'accessTokens', 'expected', es.length);
    bump(c, 'accessTokens', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        const name = tokenName(c, 'access token', e.username, e.deviceId);
        const diffs: string[] = [];
        if (f.username !== e.username || f.deviceId !== e.deviceId) diffs.push(`belongs to ${tokenName(c, 'session', f.username, f.deviceId).replace(/^an? /, 'the ')} in MAS`);
        if (f.expiresAt !== e.token.expiresAt) diffs.push(`expires ${iso(f.expiresAt)} in MAS, ${iso(e.token.expiresAt)} in Synapse`);
        if (diffs.length > 0) {
          bump(c, 'accessTokens', 'different');
          c.collector.add('E_VERIFY_ACCESS_TOKENS', 'accessTokens', 'different', `${name}: ${diffs.join('; ')}`);
        }
      },
      (e) => missing(c, 'accessTokens', 'E_VERIFY_ACCESS_TOKENS', e.username, tokenName(c, 'access token', e.username, e.deviceId)),
      (f) =>
        unexpected(
          c,
          'accessTokens',
          'E_VERIFY_ACCESS_TOKENS',
          { username: f.username, createdAt: f.createdAt, finished: f.finishedAt !== null },
          'I_VERIFY_NEW_TOKENS',
          tokenName(c, 'access token', f.username, f.deviceId),
        ),
    );
  });
}

export async function compareRefreshTokens(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse refresh tokens', synapseSide(c.queries.refreshPairs, ['s.rt_token']), 1, (r) => {
    const row = decode.refreshPair(r);
    return { username: extractLocalpart(row.userId, c.serverName), deviceId: row.deviceId, ...transformRefreshPair(row, NO_IDS, c.now) };
  });
  const found = streamSorted(
    c.mas,
    'MAS refresh tokens',
    sortedBy(
      `SELECT r.refresh_token AS k1, a.access_token, u.username, s.device_id, ${ms('a.expires_at')}, ${ms('r.created_at')}, ${ms('r.consumed_at')}, ${ms('s.finished_at')}
         FROM compat_refresh_tokens r
         JOIN compat_access_tokens a ON a.compat_access_token_id = r.compat_access_token_id
         JOIN compat_sessions s ON s.compat_session_id = r.compat_session_id
         JOIN users u ON u.user_id = s.user_id`,
      1,
    ),
    1,
    (r) => ({
      accessToken: r[0] ?? '',
      username: r[1] ?? null,
      deviceId: r[2] ?? null,
      expiresAt: num(r[3]),
      createdAt: num(r[4]) ?? 0,
      consumedAt: num(r[5]),
      finishedAt: num(r[6]),
    }),
  );
  await mergeJoin(expected, found, (_key, es, fs) => {
    bump(c, 'refreshTokens', 'expected', es.length);
    bump(c, 'refreshTokens', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        const name = tokenName(c, 'refresh token', e.username, e.deviceId);
        const errors: string[] = [];
        if (f.username !== e.username || f.deviceId !== e.deviceId) errors.push(`belongs to ${tokenName(c, 'session', f.username, f.deviceId).replace(/^an? /, 'the ')} in MAS`);
        if (f.accessToken !== e.accessToken.accessToken) errors.push('is paired with another access token in MAS');
        // A refresh in MAS consumes the refresh token and expires its access token at that moment.
        const expiryChanged = f.expiresAt !== e.accessToken.expiresAt;
        if (expiryChanged && f.consumedAt === null) errors.push(`its access token expires ${iso(f.expiresAt)} in MAS, ${iso(e.accessToken.expiresAt)} in Synapse`);
        if (errors.length > 0 || expiryChanged) bump(c, 'refreshTokens', 'different');
        if (errors.length > 0) c.collector.add('E_VERIFY_REFRESH_TOKENS', 'refreshTokens', 'different', `${name}: ${errors.join('; ')}`);
        else if (f.consumedAt !== null) c.collector.add('I_VERIFY_CONSUMED_REFRESH_TOKENS', 'refreshTokens', undefined, `${name}: used ${iso(f.consumedAt)}`);
        if (errors.length === 0 && f.finishedAt !== null) c.collector.add('I_VERIFY_FINISHED_SESSIONS', 'refreshTokens', undefined, `${name}: session finished ${iso(f.finishedAt)}`);
      },
      (e) => missing(c, 'refreshTokens', 'E_VERIFY_REFRESH_TOKENS', e.username, tokenName(c, 'refresh token', e.username, e.deviceId)),
      (f) =>
        unexpected(
          c,
          'refreshTokens',
          'E_VERIFY_REFRESH_TOKENS',
          // A consumed refresh token that Synapse never had was issued and used in MAS.
          { username: f.username, createdAt: f.createdAt, finished: f.finishedAt !== null },
          'I_VERIFY_NEW_TOKENS',
          tokenName(c, 'refresh token', f.username, f.deviceId),
        ),
    );
  });
}
