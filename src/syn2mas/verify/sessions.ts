// Compares compat sessions: device sessions by (user, device) and deviceless sessions as a count per user.
import type { CopyValue } from '../../db/copy.js';
import { decode, flag } from '../reader.js';
import { localpart } from '../synapse-sql.js';
import { transformAccessToken } from '../transform.js';
import { bool, bump, iso, missing, ms, mxid, NO_IDS, num, synapseSide, unexpected, type Comparison } from './context.js';
import { mergeJoin, pairUp, sortedBy, streamSorted } from './merge.js';

interface MasSession {
  admin: boolean;
  createdAt: number;
  finishedAt: number | null;
}

const masSession = (r: CopyValue[]): MasSession => ({ admin: bool(r[0]), createdAt: num(r[1]) ?? 0, finishedAt: num(r[2]) });

function compareSessionRows(c: Comparison, username: string, example: string, es: Array<{ isSynapseAdmin: boolean }>, fs: MasSession[]): void {
  bump(c, 'sessions', 'expected', es.length);
  bump(c, 'sessions', 'found', fs.length);
  pairUp(
    es,
    fs,
    (e, f) => {
      if (e.isSynapseAdmin !== f.admin) {
        bump(c, 'sessions', 'different');
        c.collector.add('E_VERIFY_SESSIONS', 'sessions', 'different', `${example}: is_synapse_admin is ${f.admin} in MAS, should be ${e.isSynapseAdmin}`);
      }
      if (f.finishedAt !== null) c.collector.add('I_VERIFY_FINISHED_SESSIONS', 'sessions', undefined, `${example}: finished ${iso(f.finishedAt)}`);
    },
    () => missing(c, 'sessions', 'E_VERIFY_SESSIONS', username, example),
    (f) => unexpected(c, 'sessions', 'E_VERIFY_SESSIONS', { username, createdAt: f.createdAt, finished: f.finishedAt !== null }, 'I_VERIFY_NEW_SESSIONS', example),
  );
}

export async function compareDeviceSessions(c: Comparison): Promise<void> {
  // Only the admin flag is compared: sorting whole device rows (names, addresses, user agents) spilled
  // to disk from a few hundred thousand users on, and made this the step that grew fastest.
  const expected = streamSorted(
    c.synapse,
    'Synapse devices',
    synapseSide(c.queries.devices, [localpart('s.user_id'), 's.device_id'], '', 's.admin'),
    2,
    (r) => ({ isSynapseAdmin: flag(r[0]) }),
  );
  const found = streamSorted(
    c.mas,
    'MAS device sessions',
    sortedBy(
      `SELECT u.username AS k1, s.device_id AS k2, s.is_synapse_admin, ${ms('s.created_at')}, ${ms('s.finished_at')}
         FROM compat_sessions s JOIN users u ON u.user_id = s.user_id WHERE s.device_id IS NOT NULL`,
      2,
    ),
    2,
    masSession,
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    compareSessionRows(c, username, `${mxid(c, username)} device ${key[1] ?? ''}`, es, fs);
  });
}

export async function compareDevicelessSessions(c: Comparison): Promise<void> {
  // One deviceless session per migrated deviceless token; compared as a count per user (their
  // tokens are compared with the access tokens).
  // The migration's own query for them: the access token query computed every token's session time
  // and owner to keep a few deviceless ones.
  const expected = streamSorted(c.synapse, 'Synapse deviceless tokens', synapseSide(c.queries.devicelessTokens, [localpart('s.user_id')]), 1, (r) =>
    transformAccessToken(decode.accessToken(r), NO_IDS, c.now).session,
  );
  const found = streamSorted(
    c.mas,
    'MAS deviceless sessions',
    sortedBy(
      `SELECT u.username AS k1, s.is_synapse_admin, ${ms('s.created_at')}, ${ms('s.finished_at')}
         FROM compat_sessions s JOIN users u ON u.user_id = s.user_id WHERE s.device_id IS NULL`,
      1,
    ),
    1,
    masSession,
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    compareSessionRows(c, username, `${mxid(c, username)} (a session without a device)`, es, fs);
  });
}
