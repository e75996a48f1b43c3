// Compares users (and their admin, guest, locked and deactivated flags) and passwords.
import { decode } from '../reader.js';
import { localpart } from '../synapse-sql.js';
import { transformUser } from '../transform.js';
import { bool, bump, iso, missing, ms, mxid, NO_IDS, num, synapseSide, unexpected, type Comparison } from './context.js';
import { plural } from './findings.js';
import { mergeJoin, sortedBy, streamSorted } from './merge.js';

export async function compareUsers(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse users', synapseSide(c.queries.users, [localpart('s.name')]), 1, (r) =>
    transformUser(decode.user(r), c.serverName, NO_IDS).user,
  );
  const found = streamSorted(
    c.mas,
    'MAS users',
    sortedBy(
      `SELECT u.username AS k1, ${ms('u.created_at')}, ${ms('u.locked_at')}, ${ms('u.deactivated_at')}, u.can_request_admin, u.is_guest FROM users u`,
      1,
    ),
    1,
    (r) => ({ createdAt: num(r[0]) ?? 0, lockedAt: num(r[1]), deactivatedAt: num(r[2]), canRequestAdmin: bool(r[3]), isGuest: bool(r[4]) }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const who = mxid(c, username);
    bump(c, 'users', 'expected', es.length);
    bump(c, 'users', 'found', fs.length);
    const f = fs[0];
    // Migrate writes locked_at and deactivated_at equal to created_at; any other value was set by MAS.
    const lockedInMas = f !== undefined && f.lockedAt !== null && f.lockedAt !== f.createdAt;
    const deactivatedInMas = f !== undefined && f.deactivatedAt !== null && f.deactivatedAt !== f.createdAt;
    if (deactivatedInMas) c.deactivatedLater.add(username);
    const e = es[0];
    if (e === undefined && f !== undefined) {
      bump(c, 'users', 'unexpected');
      c.collector.add(f.createdAt > c.horizon ? 'I_VERIFY_NEW_USERS' : 'E_VERIFY_USERS_UNEXPECTED', 'users', 'unexpected', who);
      return;
    }
    if (e === undefined) return;
    if (f === undefined) {
      bump(c, 'users', 'missing');
      c.collector.add('E_VERIFY_USERS_MISSING', 'users', 'missing', who);
      return;
    }
    const errors: string[] = [];
    const changed: string[] = [];
    if (e.canRequestAdmin !== f.canRequestAdmin) errors.push(`can_request_admin is ${f.canRequestAdmin} in MAS, Synapse admin is ${e.canRequestAdmin}`);
    if (e.isGuest !== f.isGuest) errors.push(`is_guest is ${f.isGuest} in MAS, ${e.isGuest} in Synapse`);
    if ((e.lockedAt !== null) !== (f.lockedAt !== null)) {
      const text = f.lockedAt === null ? 'not locked in MAS, locked in Synapse' : `locked in MAS (since ${iso(f.lockedAt)}), not in Synapse`;
      (lockedInMas ? changed : errors).push(text);
    }
    if ((e.deactivatedAt !== null) !== (f.deactivatedAt !== null)) {
      const text = f.deactivatedAt === null ? 'active in MAS, deactivated in Synapse' : `deactivated in MAS (since ${iso(f.deactivatedAt)}), not in Synapse`;
      (deactivatedInMas ? changed : errors).push(text);
    }
    if (errors.length > 0 || changed.length > 0) bump(c, 'users', 'different');
    if (errors.length > 0) c.collector.add('E_VERIFY_USER_FLAGS', 'users', 'different', `${who}: ${[...errors, ...changed].join('; ')}`);
    else if (changed.length > 0) c.collector.add('I_VERIFY_USER_STATE_CHANGED', 'users', 'different', `${who}: ${changed.join('; ')}`);
  });
}

export async function comparePasswords(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse passwords', synapseSide(c.queries.users, [localpart('s.name')], 's.password_hash IS NOT NULL'), 1, (r) =>
    transformUser(decode.user(r), c.serverName, NO_IDS).password,
  );
  const found = streamSorted(
    c.mas,
    'MAS passwords',
    sortedBy(
      `SELECT u.username AS k1, p.hashed_password, p.version, ${ms('p.created_at')} FROM user_passwords p JOIN users u ON u.user_id = p.user_id`,
      1,
    ),
    1,
    (r) => ({ hash: r[0] ?? '', version: num(r[1]) ?? 0, createdAt: num(r[2]) ?? 0 }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const who = mxid(c, username);
    const e = es[0];
    bump(c, 'passwords', 'expected', es.length);
    if (fs.length > 0) bump(c, 'passwords', 'found');
    const newest = fs.reduce<(typeof fs)[number] | undefined>((a, b) => (a === undefined || b.createdAt > a.createdAt ? b : a), undefined);
    if (e === undefined) {
      if (newest === undefined) return;
      // A password MAS has and Synapse does not: set in MAS later, or kept after Synapse cleared the
      // hash on a deactivation done in MAS.
      unexpected(c, 'passwords', 'E_VERIFY_PASSWORDS', { username, createdAt: newest.createdAt }, 'I_VERIFY_PASSWORDS_CHANGED', `${who}: a password in MAS, none in Synapse`);
      return;
    }
    // MAS keeps every password row; the migrated one is version 1 with the Synapse hash, verbatim.
    const migrated = fs.find((p) => p.version === e.version && p.hash === e.hashedPassword);
    if (migrated !== undefined) {
      if (newest !== undefined && newest !== migrated && newest.createdAt > migrated.createdAt) {
        c.collector.add('I_VERIFY_PASSWORDS_CHANGED', 'passwords', undefined, `${who}: newest password is version ${newest.version}, from ${iso(newest.createdAt)}`);
      }
      return;
    }
    if (fs.some((p) => p.version === e.version)) {
      bump(c, 'passwords', 'different');
      if (c.deactivatedLater.has(username)) c.collector.add('I_VERIFY_DEACTIVATED_LATER', 'passwords', 'different', `${who}: version ${e.version} password differs`);
      else c.collector.add('E_VERIFY_PASSWORDS', 'passwords', 'different', `${who}: the version ${e.version} password in MAS is not the Synapse hash`);
      return;
    }
    missing(c, 'passwords', 'E_VERIFY_PASSWORDS', username, `${who}: no version ${e.version} password in MAS${fs.length > 0 ? ` (${plural(fs.length, 'other password row')})` : ''}`);
  });
}
