// The Synapse data pre-flight checks and migration plan, against real PostgreSQL databases cloned
// from our Synapse v94 schema fixture. Each scenario gets its own database and runs the check the
// way the caller does: inside a READ ONLY snapshot transaction.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/report/finding.js';
import {
  checkSynapseData,
  MIN_SYNAPSE_SCHEMA,
  PLAN_SKIP_REASONS,
  SYNAPSE_DATA_CHECK_CODES,
  type EntityPlan,
  type SynapseFacts,
} from '../../src/syn2mas/checks/synapse-data.js';
import { IPV4_PATTERN, IPV6_PATTERN, validIpSql } from '../../src/syn2mas/synapse-sql.js';
import { createTestDatabase, loadFixture, useTestDatabase, type TestDatabase } from '../helpers/db.js';
import type { TemplateName } from '../helpers/templates.js';

const SERVER = 'example.com';
type Result = Awaited<ReturnType<typeof checkSynapseData>>;

async function runCheck(db: TestDatabase, serverName = SERVER): Promise<Result> {
  // As the caller runs it: one read-only snapshot. A write would fail here.
  await db.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return await checkSynapseData(db.client, { serverName });
  } finally {
    await db.client.query('COMMIT');
  }
}

/** A fresh database from `template`, set up with `sql` (and fixture files), checked, dropped. */
async function scenario(sql: string, opts: { template?: TemplateName; fixtures?: string[]; serverName?: string } = {}): Promise<Result> {
  const db = await createTestDatabase(opts.template ?? 'synapse');
  try {
    for (const f of opts.fixtures ?? []) await loadFixture(db.client, f);
    if (sql !== '') await db.client.query(sql);
    return await runCheck(db, opts.serverName);
  } finally {
    await db.drop();
  }
}

const codes = (r: Result): string[] => r.findings.map((f) => f.code).sort();
const get = (r: Result, code: string): Finding => {
  const f = r.findings.find((x) => x.code === code);
  if (f === undefined) throw new Error(`no ${code} in ${JSON.stringify(codes(r))}`);
  return f;
};

/** An entity plan with the given counts and zeros for every other reason, in the documented order. */
function entity(key: keyof SynapseFacts['plan'], migrate: number, skipped: Record<string, number> = {}): EntityPlan {
  for (const reason of Object.keys(skipped)) if (!(PLAN_SKIP_REASONS[key] as readonly string[]).includes(reason)) throw new Error(`bad reason ${reason}`);
  return { migrate, skipped: Object.fromEntries(PLAN_SKIP_REASONS[key].map((r) => [r, skipped[r] ?? 0])) };
}

// --- Small SQL builders for scenarios ---
const q = (v: string | null): string => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
let tokenSeq = 1000;
function user(name: string, o: { pw?: string | null; guest?: boolean; deactivated?: boolean; as?: string; ts?: number | null } = {}): string {
  const ts = o.ts === undefined ? 1600000000 : o.ts;
  return `INSERT INTO users (name, password_hash, creation_ts, is_guest, deactivated, appservice_id)
          VALUES (${q(name)}, ${q(o.pw ?? null)}, ${ts === null ? 'NULL' : ts}, ${o.guest ? 1 : 0}, ${o.deactivated ? 1 : 0}, ${q(o.as ?? null)});`;
}
function device(userId: string, deviceId: string, o: { ip?: string | null; hidden?: boolean | null } = {}): string {
  const hidden = o.hidden === undefined ? 'false' : o.hidden === null ? 'NULL' : String(o.hidden);
  return `INSERT INTO devices (user_id, device_id, ip, hidden) VALUES (${q(userId)}, ${q(deviceId)}, ${q(o.ip ?? null)}, ${hidden});`;
}
function token(userId: string, deviceId: string | null, o: { puppets?: string; refresh?: number; used?: boolean } = {}): string {
  const id = tokenSeq++;
  return `INSERT INTO access_tokens (id, user_id, device_id, token, puppets_user_id, refresh_token_id, used)
          VALUES (${id}, ${q(userId)}, ${q(deviceId)}, 'syt_scenario_${id}', ${q(o.puppets ?? null)}, ${o.refresh ?? 'NULL'}, ${o.used ?? 'NULL'});`;
}
function refresh(id: number, userId: string, deviceId: string, next: number | null = null): string {
  return `INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id) VALUES (${id}, ${q(userId)}, ${q(deviceId)}, 'syr_scenario_${id}', ${next ?? 'NULL'});`;
}
function threepid(userId: string, medium: string, address: string): string {
  return `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES (${q(userId)}, ${q(medium)}, ${q(address)}, 1, 1);`;
}
function externalId(userId: string, provider: string, subject: string): string {
  return `INSERT INTO user_external_ids (auth_provider, external_id, user_id) VALUES (${q(provider)}, ${q(subject)}, ${q(userId)});`;
}

// ---------------------------------------------------------------------------------------------
// One scenario that triggers each code, and one near miss that does not.
// ---------------------------------------------------------------------------------------------

interface Case {
  trigger: { sql: string; template?: TemplateName };
  nearMiss: { sql: string; template?: TemplateName };
}

const CASES: Record<string, Case> = {
  E_SYNAPSE_SCHEMA_MISSING: {
    trigger: { sql: '', template: 'empty' },
    // background_updates is optional: without it, the rest is still a Synapse database.
    nearMiss: { sql: 'DROP TABLE background_updates;' },
  },
  E_SYNAPSE_SCHEMA_TOO_OLD: {
    trigger: { sql: `UPDATE schema_version SET version = ${MIN_SYNAPSE_SCHEMA - 1};` },
    nearMiss: { sql: `UPDATE schema_version SET version = ${MIN_SYNAPSE_SCHEMA};` },
  },
  E_FOREIGN_USER_IDS: {
    trigger: { sql: user('@eve:other.org') },
    // An appservice user with ':' in the localpart, and its rows, are skipped, not foreign.
    nearMiss: { sql: user('@wa_1:2:example.com', { as: 'wa' }) + device('@wa_1:2:example.com', 'W') + token('@wa_1:2:example.com', 'W') },
  },
  E_USERS_WITHOUT_CREATION_TS: {
    trigger: { sql: user('@old:example.com', { ts: null }) },
    // Appservice users are not migrated, so their creation time does not matter.
    nearMiss: { sql: user('@bot:example.com', { ts: null, as: 'bots' }) },
  },
  W_ORPHAN_ROWS: {
    trigger: { sql: device('@ghost:example.com', 'G') },
    nearMiss: { sql: user('@ann:example.com') + device('@ann:example.com', 'G') },
  },
  W_APPSERVICE_USERS: {
    trigger: { sql: user('@irc_ann:example.com', { as: 'irc' }) },
    // A user in a bridge's namespace that the bridge did not register is an ordinary user.
    nearMiss: { sql: user('@irc_bob:example.com') },
  },
  W_GUESTS_IN_DATABASE: {
    trigger: { sql: user('@101:example.com', { guest: true }) },
    // A numeric localpart is not a guest (upgraded guests keep theirs).
    nearMiss: { sql: user('@102:example.com') },
  },
  W_NON_EMAIL_THREEPIDS: {
    trigger: { sql: user('@ann:example.com') + threepid('@ann:example.com', 'msisdn', '15550001') },
    // The phone number of an appservice user is not migrated.
    nearMiss: {
      sql: user('@ann:example.com') + threepid('@ann:example.com', 'email', 'ann@example.org') + user('@irc_x:example.com', { as: 'irc' }) +
        threepid('@irc_x:example.com', 'msisdn', '15550002'),
    },
  },
  W_DUPLICATE_EMAILS: {
    trigger: {
      sql: user('@ann:example.com') + user('@bob:example.com') + threepid('@ann:example.com', 'email', 'Same@Example.org') +
        threepid('@bob:example.com', 'email', 'same@example.org'),
    },
    // Two case variants on one user, and an address shared with an appservice user (not migrated).
    nearMiss: {
      sql: user('@ann:example.com') + user('@irc_x:example.com', { as: 'irc' }) + threepid('@ann:example.com', 'email', 'Ann@Example.org') +
        threepid('@ann:example.com', 'email', 'ann@example.org') + threepid('@irc_x:example.com', 'email', 'ANN@example.org'),
    },
  },
  E_INVALID_EMAILS: {
    trigger: { sql: user('@ann:example.com') + threepid('@ann:example.com', 'email', 'ann@example.org ') },
    // Whitespace in a phone number, and an empty address of an appservice user (not migrated).
    nearMiss: {
      sql: user('@ann:example.com') + threepid('@ann:example.com', 'msisdn', ' 15550001') + user('@irc_x:example.com', { as: 'irc' }) +
        threepid('@irc_x:example.com', 'email', ''),
    },
  },
  W_CASE_DUPLICATE_EMAILS: {
    trigger: { sql: user('@ann:example.com') + threepid('@ann:example.com', 'email', 'Ann@Example.org') + threepid('@ann:example.com', 'email', 'ann@example.org') },
    // The same address in two cases on two users is W_DUPLICATE_EMAILS.
    nearMiss: { sql: user('@ann:example.com') + user('@bob:example.com') + threepid('@ann:example.com', 'email', 'Ann@Example.org') + threepid('@bob:example.com', 'email', 'ann@example.org') },
  },
  I_MIXED_CASE_EMAILS: {
    trigger: { sql: user('@ann:example.com') + threepid('@ann:example.com', 'email', 'Ann@Example.org') },
    nearMiss: { sql: user('@ann:example.com') + threepid('@ann:example.com', 'email', 'ann@example.org') + threepid('@ann:example.com', 'msisdn', 'X1') },
  },
  W_CASE_COLLIDING_USERNAMES: {
    trigger: { sql: user('@alice:example.com') + user('@ALICE:example.com') },
    // The other one is an appservice user: not migrated.
    nearMiss: { sql: user('@alice:example.com') + user('@Alice:example.com', { as: 'irc' }) },
  },
  W_NONSTANDARD_LOCALPARTS: {
    trigger: { sql: user('@_hidden:example.com') },
    nearMiss: { sql: user('@a.b=c_d-e/f+g9:example.com') + user('@_bot:example.com', { as: 'bots' }) },
  },
  W_TOKENS_ON_HIDDEN_DEVICES: {
    trigger: { sql: user('@ann:example.com') + device('@ann:example.com', 'KEY', { hidden: true }) + token('@ann:example.com', 'KEY') },
    // A hidden device without tokens; a deactivated user's token on a hidden device (skipped as deactivated_user).
    nearMiss: {
      sql: user('@ann:example.com') + device('@ann:example.com', 'KEY', { hidden: true }) + user('@dan:example.com', { deactivated: true }) +
        device('@dan:example.com', 'KEY', { hidden: true }) + token('@dan:example.com', 'KEY'),
    },
  },
  W_INVALID_DEVICE_IPS: {
    trigger: { sql: user('@ann:example.com') + device('@ann:example.com', 'D', { ip: '10.0.0.0/8' }) },
    // '-', NULL and valid addresses; garbage on a hidden device and on a deactivated user's device (not migrated).
    nearMiss: {
      sql: user('@ann:example.com') + user('@dan:example.com', { deactivated: true }) + device('@ann:example.com', 'D1', { ip: '-' }) +
        device('@ann:example.com', 'D2') + device('@ann:example.com', 'D3', { ip: '198.51.100.1' }) + device('@ann:example.com', 'D4', { ip: '2001:DB8::1' }) +
        device('@ann:example.com', 'K', { ip: 'garbage', hidden: true }) + device('@dan:example.com', 'D', { ip: 'garbage' }),
    },
  },
  W_BACKGROUND_UPDATES_PENDING: {
    trigger: { sql: `INSERT INTO background_updates (update_name, progress_json) VALUES ('users_creation_ts', '{}');` },
    nearMiss: { sql: 'DELETE FROM background_updates;' },
  },
};

describe('checkSynapseData: each code', () => {
  it('has a trigger and a near miss for every code', () => {
    expect(Object.keys(CASES).sort()).toEqual([...SYNAPSE_DATA_CHECK_CODES].sort());
  });

  for (const [code, c] of Object.entries(CASES)) {
    it(`${code}: triggered`, async () => {
      const r = await scenario(c.trigger.sql, { template: c.trigger.template });
      expect(codes(r)).toContain(code);
      const f = get(r, code);
      expect(f.severity).toBe(code.startsWith('E_') ? 'error' : code.startsWith('W_') ? 'warning' : 'info');
      expect(f.message.length).toBeGreaterThan(0);
      // Information needs no fix.
      if (f.severity !== 'info') expect(f.fix?.length ?? 0).toBeGreaterThan(0);
    });
    it(`${code}: not triggered by a near miss`, async () => {
      const r = await scenario(c.nearMiss.sql, { template: c.nearMiss.template });
      expect(codes(r)).not.toContain(code);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Schema checks
// ---------------------------------------------------------------------------------------------

describe('checkSynapseData: schema', () => {
  const zeroFacts = (schemaVersion: number | undefined): SynapseFacts => ({
    schemaVersion,
    localPasswordUsers: 0,
    externalIds: [],
    plan: {
      users: entity('users', 0),
      emails: entity('emails', 0),
      unsupportedThreepids: entity('unsupportedThreepids', 0),
      upstreamLinks: entity('upstreamLinks', 0),
      devices: entity('devices', 0),
      accessTokens: entity('accessTokens', 0),
      refreshTokens: entity('refreshTokens', 0),
      deviceless: entity('deviceless', 0),
    },
  });

  it('an empty database is not a Synapse database: only that finding, zero facts', async () => {
    const r = await scenario('', { template: 'empty' });
    expect(codes(r)).toEqual(['E_SYNAPSE_SCHEMA_MISSING']);
    expect(get(r, 'E_SYNAPSE_SCHEMA_MISSING').details).toMatchObject({
      missingTables: ['schema_version', 'users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens'],
      schema: 'public',
    });
    expect(r.facts).toEqual(zeroFacts(undefined));
  });

  it('one missing table is enough, even with data in the others', async () => {
    const r = await scenario('DROP TABLE access_tokens;', { fixtures: ['synapse-data.sql'] });
    expect(codes(r)).toEqual(['E_SYNAPSE_SCHEMA_MISSING']);
    expect(get(r, 'E_SYNAPSE_SCHEMA_MISSING').details).toMatchObject({ missingTables: ['access_tokens'] });
    expect(r.facts).toEqual(zeroFacts(94));
  });

  it('tables of the same name in another schema do not count', async () => {
    const r = await scenario(`CREATE SCHEMA other; SET search_path = other, public;`, { template: 'synapse' });
    // The session's search_path was set before the check: current_schema() is now 'other'.
    expect(codes(r)).toEqual(['E_SYNAPSE_SCHEMA_MISSING']);
    expect(get(r, 'E_SYNAPSE_SCHEMA_MISSING').details).toMatchObject({ schema: 'other' });
  });

  it('an empty schema_version table is not a Synapse database either', async () => {
    const r = await scenario('DELETE FROM schema_version;');
    expect(codes(r)).toEqual(['E_SYNAPSE_SCHEMA_MISSING']);
    expect(r.facts.schemaVersion).toBeUndefined();
  });

  it('a schema older than 80 stops the checks with found and minimum', async () => {
    const r = await scenario('UPDATE schema_version SET version = 79;', { fixtures: ['synapse-data.sql'] });
    expect(codes(r)).toEqual(['E_SYNAPSE_SCHEMA_TOO_OLD']);
    const f = get(r, 'E_SYNAPSE_SCHEMA_TOO_OLD');
    expect(f.details).toEqual({ found: 79, minimum: 80 });
    expect(f.fix).toContain('1.136');
    expect(r.facts).toEqual(zeroFacts(79));
  });
});

// ---------------------------------------------------------------------------------------------
// The shared data fixture
// ---------------------------------------------------------------------------------------------

describe('checkSynapseData: the synapse-data.sql fixture', () => {
  const db = useTestDatabase('synapse');
  let result: Result;
  const load = async (): Promise<Result> => {
    if (result === undefined) {
      await loadFixture(db.client, 'synapse-data.sql');
      result = await runCheck(db);
    }
    return result;
  };

  it('reports the appservice users, the guest, the msisdn and the bad device IP, nothing else', async () => {
    const r = await load();
    expect(codes(r)).toEqual(['W_APPSERVICE_USERS', 'W_GUESTS_IN_DATABASE', 'W_INVALID_DEVICE_IPS', 'W_NON_EMAIL_THREEPIDS']);
    expect(get(r, 'W_APPSERVICE_USERS').details).toEqual({
      count: 2,
      byAppservice: { whatsapp: 2 },
      invalidLocalpart: 1,
      invalidLocalpartExamples: [{ userId: '@whatsapp_123:456:example.com', appserviceId: 'whatsapp' }],
    });
    expect(get(r, 'W_GUESTS_IN_DATABASE').details).toEqual({ count: 1 });
    // bob, dave, erin, frank and grace have no email (alice has one; carol is deactivated, @100 a guest).
    expect(get(r, 'W_NON_EMAIL_THREEPIDS').details).toEqual({
      byMedium: { msisdn: 1 },
      usersWithoutEmail: 5,
      usersOnlyPhone: 0,
      usersOnlyPhoneExamples: [],
    });
    expect(get(r, 'W_INVALID_DEVICE_IPS').details).toEqual({
      count: 1,
      examples: [{ userId: '@erin:example.com', deviceId: 'ERINPHONE', ip: '203.0.113.7, 198.51.100.2' }],
    });
  });

  it('plans exactly what the real tool migrates', async () => {
    const r = await load();
    expect(r.facts.schemaVersion).toBe(94);
    // alice, bob, dave, frank and grace have bcrypt hashes; carol, @100 and erin have none.
    expect(r.facts.localPasswordUsers).toBe(5);
    expect(r.facts.externalIds).toEqual([{ authProvider: 'oidc-raasu', rows: 1, users: 1 }]);
    expect(r.facts.plan).toEqual({
      // 10 users: 8 written (alice, bob, carol, dave, @100, erin, frank, grace); the whatsapp user
      // is an appservice user; @whatsapp_123:456 has ':' in its localpart.
      users: entity('users', 8, { appservice: 1, appservice_invalid_localpart: 1 }),
      // alice's email and her msisdn.
      emails: entity('emails', 1),
      unsupportedThreepids: entity('unsupportedThreepids', 1),
      // erin's oidc-raasu link.
      upstreamLinks: entity('upstreamLinks', 1),
      // 11 rows: ADEVICE, BOBLAPTOP, ERINPHONE, DAVEDESKTOP (locked users keep their sessions),
      // FRANKDEVICE, GRACEDEVICE are migrated; alice's two cross-signing rows are hidden; the
      // guest's 'guest_device'; carol's CAROLPHONE (deactivated); WAPUPPETDEV (appservice).
      devices: entity('devices', 6, { hidden: 2, guest_device: 1, deactivated_user: 1, appservice: 1 }),
      // Tokens 1-9: 1, 3, 5 (deviceless), 7, 9 migrated; 4 is a puppet token; 2's device
      // GONEDEVICE is missing; 6 is carol's (deactivated); 8 the appservice user's.
      accessTokens: entity('accessTokens', 5, { puppet: 1, device_missing: 1, deactivated_user: 1, appservice: 1 }),
      // Pairs (7,42), (8,43), (9,44), (10,45): 42/7 is superseded because 43 was used; 45 was
      // never used, so both of grace's pairs stay.
      refreshTokens: entity('refreshTokens', 3, { superseded: 1 }),
      // Token 5 (bob's deviceless, non-puppet token) becomes its own compat session.
      deviceless: entity('deviceless', 1),
    });
  });

  it('puts no token or password hash in the result', async () => {
    const r = await load();
    const json = JSON.stringify(r);
    const secrets = fixtureSecrets('synapse-data.sql');
    // 5 bcrypt hashes (alice, bob, dave, frank, grace), 13 access tokens, 4 refresh tokens.
    expect(secrets.length).toBe(5 + 13 + 4);
    for (const s of secrets) expect(json).not.toContain(s);
  });
});

/** Every bcrypt hash and syt_/syr_ token in a fixture file. */
function fixtureSecrets(file: string): string[] {
  const text = readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8');
  const hashes = text.match(/\$2[aby]\$\d\d\$[./A-Za-z0-9]{20,}/g) ?? [];
  const tokens = text.match(/sy[tr]_[A-Za-z0-9_]+/g) ?? [];
  return [...new Set([...hashes, ...tokens])];
}

// ---------------------------------------------------------------------------------------------
// Every skip reason, and the bookkeeping identity migrate + sum(skipped) = rows read
// ---------------------------------------------------------------------------------------------

/** Rows read per entity, counted independently of the code under test. */
async function rowsRead(db: TestDatabase): Promise<Record<keyof SynapseFacts['plan'], number>> {
  const { rows } = await db.client.query<Record<string, number>>(`
    SELECT (SELECT count(*)::int FROM users) AS users,
           (SELECT count(*)::int FROM user_threepids WHERE medium = 'email') AS emails,
           (SELECT count(*)::int FROM user_threepids WHERE medium <> 'email') AS "unsupportedThreepids",
           (SELECT count(*)::int FROM user_external_ids) AS "upstreamLinks",
           (SELECT count(*)::int FROM devices) AS devices,
           (SELECT count(*)::int FROM access_tokens WHERE refresh_token_id IS NULL) AS "accessTokens",
           (SELECT count(*)::int FROM access_tokens WHERE refresh_token_id IS NOT NULL)
             + (SELECT count(*)::int FROM refresh_tokens r WHERE NOT EXISTS (
                  SELECT 1 FROM access_tokens a WHERE a.refresh_token_id = r.id AND a.user_id = r.user_id AND a.device_id = r.device_id)) AS "refreshTokens",
           (SELECT count(*)::int FROM access_tokens WHERE refresh_token_id IS NULL AND device_id IS NULL AND puppets_user_id IS NULL) AS deviceless`);
  return rows[0] as Record<keyof SynapseFacts['plan'], number>;
}

const total = (e: EntityPlan): number => e.migrate + Object.values(e.skipped).reduce((s, n) => s + n, 0);

describe('checkSynapseData: the check-messy.sql fixture (every reason)', () => {
  const db = useTestDatabase('synapse');
  let result: Result;
  const load = async (): Promise<Result> => {
    if (result === undefined) {
      await loadFixture(db.client, 'check-messy.sql');
      result = await runCheck(db);
    }
    return result;
  };

  it('plans every entity, reason by reason (see the fixture comments)', async () => {
    const r = await load();
    expect(r.facts.localPasswordUsers).toBe(2);
    expect(r.facts.externalIds).toEqual([
      { authProvider: 'oidc-a', rows: 3, users: 2 },
      { authProvider: 'saml', rows: 1, users: 1 },
    ]);
    expect(r.facts.plan).toEqual({
      users: entity('users', 6, { foreign: 2, appservice_invalid_localpart: 1, appservice: 1 }),
      emails: entity('emails', 2, { foreign: 1, appservice_invalid_localpart: 1, orphan: 1, appservice: 1 }),
      unsupportedThreepids: entity('unsupportedThreepids', 2, { orphan: 1 }),
      upstreamLinks: entity('upstreamLinks', 4, { foreign: 1, orphan: 1, appservice: 1 }),
      devices: entity('devices', 4, {
        foreign: 1, appservice_invalid_localpart: 1, orphan: 1, appservice: 1, hidden: 3, guest_device: 2, deactivated_user: 1, guest_user: 1,
      }),
      accessTokens: entity('accessTokens', 2, {
        foreign: 1, appservice_invalid_localpart: 1, orphan: 2, appservice: 1, puppet: 2, device_missing: 1, deactivated_user: 3, guest_user: 1, hidden_device: 3,
      }),
      refreshTokens: entity('refreshTokens', 4, {
        foreign: 1, orphan: 1, appservice: 1, no_access_token: 2, unpaired_access_token: 1, superseded: 1, device_missing: 1, deactivated_user: 1,
        guest_user: 1, hidden_device: 1,
      }),
      deviceless: entity('deviceless', 1, { orphan: 1, deactivated_user: 1 }),
    });
  });

  it('accounts for every row read: migrate + sum(skipped) = rows read', async () => {
    const r = await load();
    const read = await rowsRead(db);
    for (const key of Object.keys(read) as Array<keyof SynapseFacts['plan']>) expect([key, total(r.facts.plan[key])]).toEqual([key, read[key]]);
  });

  it('lists keys in the documented order', async () => {
    const r = await load();
    for (const [key, e] of Object.entries(r.facts.plan)) expect(Object.keys(e.skipped)).toEqual(PLAN_SKIP_REASONS[key as keyof SynapseFacts['plan']]);
  });

  it('reports every warning and the foreign user IDs', async () => {
    const r = await load();
    expect(codes(r)).toEqual([
      'E_FOREIGN_USER_IDS',
      'I_MIXED_CASE_EMAILS',
      'W_APPSERVICE_USERS',
      'W_CASE_COLLIDING_USERNAMES',
      'W_DUPLICATE_EMAILS',
      'W_GUESTS_IN_DATABASE',
      'W_INVALID_DEVICE_IPS',
      'W_NONSTANDARD_LOCALPARTS',
      'W_NON_EMAIL_THREEPIDS',
      'W_ORPHAN_ROWS',
      'W_TOKENS_ON_HIDDEN_DEVICES',
    ]);
  });

  it('E_FOREIGN_USER_IDS: per-table counts, examples with their kind', async () => {
    const f = get(await load(), 'E_FOREIGN_USER_IDS');
    expect(f.severity).toBe('error');
    expect(f.message).toContain("localpart contains ':'");
    expect(f.details?.['byTable']).toEqual({
      'users.name': 2,
      'user_threepids.user_id': 1,
      'user_external_ids.user_id': 1,
      'devices.user_id': 1,
      'access_tokens.user_id': 2, // token 13 and refreshable token 110
      'access_tokens.puppets_user_id': 1, // token 15 impersonates @zed:other.org
      'refresh_tokens.user_id': 1,
    });
    expect(f.details?.['examples']).toEqual([
      { source: 'users.name', userId: '@eve:other.org', kind: 'other server name' },
      { source: 'users.name', userId: '@mal:lory:example.com', kind: "localpart contains ':'" },
      { source: 'user_threepids.user_id', userId: '@eve:other.org', kind: 'other server name' },
      { source: 'user_external_ids.user_id', userId: '@mal:lory:example.com', kind: "localpart contains ':'" },
      { source: 'devices.user_id', userId: '@eve:other.org', kind: 'other server name' },
      { source: 'access_tokens.user_id', userId: '@eve:other.org', kind: 'other server name' },
      { source: 'access_tokens.puppets_user_id', userId: '@zed:other.org', kind: 'other server name' },
      { source: 'refresh_tokens.user_id', userId: '@eve:other.org', kind: 'other server name' },
    ]);
  });

  it('W_ORPHAN_ROWS: per-table counts and what each row is', async () => {
    const f = get(await load(), 'W_ORPHAN_ROWS');
    expect(f.details).toEqual({
      byTable: { user_threepids: 2, user_external_ids: 1, devices: 1, access_tokens: 3, refresh_tokens: 1 },
      examples: [
        { table: 'user_threepids', userId: '@ghost:example.com', medium: 'email' },
        { table: 'user_threepids', userId: '@ghost:example.com', medium: 'msisdn' },
        { table: 'user_external_ids', userId: '@ghost:example.com', authProvider: 'cas' },
        { table: 'devices', userId: '@ghost:example.com', deviceId: 'GH1' },
        { table: 'access_tokens', userId: '@ghost:example.com', deviceId: 'GH1' },
        { table: 'access_tokens', userId: '@ghost:example.com' },
        { table: 'refresh_tokens', userId: '@ghost:example.com', deviceId: 'GH1' },
      ],
    });
  });

  it('the user-level warnings', async () => {
    const r = await load();
    expect(get(r, 'W_APPSERVICE_USERS').details).toMatchObject({ count: 2, byAppservice: { irc: 2 }, invalidLocalpart: 1 });
    expect(get(r, 'W_GUESTS_IN_DATABASE').details).toEqual({ count: 1 });
    // Ann and _svc have no email; of the two phone numbers, _svc's is all _svc has (dan is deactivated).
    expect(get(r, 'W_NON_EMAIL_THREEPIDS').details).toEqual({
      byMedium: { msisdn: 2 },
      usersWithoutEmail: 2,
      usersOnlyPhone: 1,
      usersOnlyPhoneExamples: ['@_svc:example.com'],
    });
    expect(get(r, 'W_DUPLICATE_EMAILS').details).toEqual({
      addresses: 1,
      users: 2,
      examples: [{ address: 'ann@example.org', userIds: ['@ann:example.com', '@tom:example.com'] }],
    });
    const col = get(r, 'W_CASE_COLLIDING_USERNAMES').details as { groups: number; users: number; examples: Array<{ localpart: string; userIds: string[] }> };
    expect([col.groups, col.users, col.examples.length, col.examples[0]?.localpart]).toEqual([1, 2, 1, 'ann']);
    expect([...(col.examples[0]?.userIds ?? [])].sort()).toEqual(['@Ann:example.com', '@ann:example.com']);
    const ns = get(r, 'W_NONSTANDARD_LOCALPARTS').details as { count: number; examples: Array<{ userId: string; problems: string[] }> };
    expect(ns.count).toBe(2);
    expect([...ns.examples].sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual([
      { userId: '@Ann:example.com', problems: ['upper case'] },
      { userId: '@_svc:example.com', problems: ["starts with '_'"] },
    ]);
  });

  it('the device and token warnings', async () => {
    const r = await load();
    expect(get(r, 'W_TOKENS_ON_HIDDEN_DEVICES').details).toEqual({
      accessTokens: 3,
      refreshTokens: 1,
      examples: [
        { userId: '@ann:example.com', deviceId: 'HIDDENKEY', token: 'access', device: 'hidden' },
        { userId: '@ann:example.com', deviceId: 'HIDDENKEY', token: 'refresh', device: 'hidden' },
        { userId: '@ann:example.com', deviceId: 'NULLHIDDEN', token: 'access', device: 'hidden' },
        { userId: '@tom:example.com', deviceId: 'guest_device', token: 'access', device: 'guest_device' },
      ],
    });
    expect(get(r, 'W_INVALID_DEVICE_IPS').details).toEqual({
      count: 2,
      examples: [
        { userId: '@_svc:example.com', deviceId: 'S1', ip: 'fe80::1%eth0' },
        { userId: '@ann:example.com', deviceId: 'A1', ip: '10.0.0.0/8' },
      ],
    });
  });

  it('puts no token or password hash in the result', async () => {
    const json = JSON.stringify(await load());
    const secrets = fixtureSecrets('check-messy.sql');
    // 2 hashes, 17 + 13 access tokens, 14 refresh tokens.
    expect(secrets.length).toBe(2 + 17 + 13 + 14);
    for (const s of secrets) expect(json).not.toContain(s);
  });
});

describe('checkSynapseData: a clean data set', () => {
  const db = useTestDatabase('synapse');

  it('has no findings, and a plan that migrates everything but the cross-signing row', async () => {
    await loadFixture(db.client, 'check-clean.sql');
    const r = await runCheck(db);
    expect(r.findings).toEqual([]);
    expect(r.facts).toEqual({
      schemaVersion: 94,
      localPasswordUsers: 3,
      externalIds: [{ authProvider: 'oidc-corp', rows: 1, users: 1 }],
      plan: {
        users: entity('users', 5),
        emails: entity('emails', 4),
        unsupportedThreepids: entity('unsupportedThreepids', 0),
        upstreamLinks: entity('upstreamLinks', 1),
        devices: entity('devices', 5, { hidden: 1 }),
        accessTokens: entity('accessTokens', 5),
        refreshTokens: entity('refreshTokens', 1),
        deviceless: entity('deviceless', 1),
      },
    });
    const read = await rowsRead(db);
    for (const key of Object.keys(read) as Array<keyof SynapseFacts['plan']>) expect(total(r.facts.plan[key])).toBe(read[key]);
    const json = JSON.stringify(r);
    for (const s of fixtureSecrets('check-clean.sql')) expect(json).not.toContain(s);
  });
});

// ---------------------------------------------------------------------------------------------
// Details of single rules
// ---------------------------------------------------------------------------------------------

describe('checkSynapseData: rules in detail', () => {
  it('splits user IDs at the first colon when the server name has a port', async () => {
    const s = 'localhost:8080';
    const r = await scenario(
      user('@a:localhost:8080') + user('@b:c:localhost:8080', { as: 'irc' }) + user('@d:c:localhost:8080') + user('@e:localhost') +
        user('@f:localhost:8080:9') + user('g:localhost:8080') + user('@nocolon') + device('@a:localhost:8080', 'A') + device('@b:c:localhost:8080', 'B'),
      { serverName: s },
    );
    expect(r.facts.plan.users).toEqual(entity('users', 1, { foreign: 5, appservice_invalid_localpart: 1 }));
    expect(r.facts.plan.devices).toEqual(entity('devices', 1, { appservice_invalid_localpart: 1 }));
    const f = get(r, 'E_FOREIGN_USER_IDS');
    expect(f.details?.['byTable']).toEqual({ 'users.name': 5 });
    const kinds = Object.fromEntries((f.details?.['examples'] as Array<{ userId: string; kind: string }>).map((e) => [e.userId, e.kind]));
    expect(kinds).toEqual({
      '@d:c:localhost:8080': "localpart contains ':'",
      '@e:localhost': 'other server name',
      '@f:localhost:8080:9': 'other server name',
      'g:localhost:8080': "no '@' sigil",
      '@nocolon': 'no server name',
    });
  });

  it('a users row without a name is foreign', async () => {
    const r = await scenario(`INSERT INTO users (name, creation_ts) VALUES (NULL, 1);`);
    expect(r.facts.plan.users).toEqual(entity('users', 0, { foreign: 1 }));
    expect(get(r, 'E_FOREIGN_USER_IDS').details?.['examples']).toEqual([{ source: 'users.name', userId: null, kind: 'no user ID' }]);
  });

  it('dependent rows of an appservice user with a bad localpart are skipped with it, not foreign', async () => {
    const as = '@wa_1:2:example.com';
    const r = await scenario(
      user(as, { as: 'wa' }) + threepid(as, 'email', 'wa@example.org') + externalId(as, 'oidc-x', 's') + device(as, 'W') + token(as, 'W') +
        token(as, null) + refresh(1, as, 'W') + token(as, 'W', { refresh: 1 }),
    );
    expect(codes(r)).toEqual(['W_APPSERVICE_USERS']);
    const p = r.facts.plan;
    expect([p.users, p.emails, p.upstreamLinks, p.devices, p.accessTokens, p.refreshTokens, p.deviceless]).toEqual([
      entity('users', 0, { appservice_invalid_localpart: 1 }),
      entity('emails', 0, { appservice_invalid_localpart: 1 }),
      entity('upstreamLinks', 0, { appservice_invalid_localpart: 1 }),
      entity('devices', 0, { appservice_invalid_localpart: 1 }),
      entity('accessTokens', 0, { appservice_invalid_localpart: 2 }),
      entity('refreshTokens', 0, { appservice_invalid_localpart: 1 }),
      entity('deviceless', 0, { appservice_invalid_localpart: 1 }),
    ]);
  });

  it('a row naming a bad-localpart user ID that has no users row is foreign', async () => {
    const r = await scenario(device('@wa_1:2:example.com', 'W'));
    expect(get(r, 'E_FOREIGN_USER_IDS').details?.['byTable']).toEqual({ 'devices.user_id': 1 });
    expect(codes(r)).not.toContain('W_ORPHAN_ROWS');
  });

  it('localPasswordUsers counts users to migrate with a non-empty hash', async () => {
    const r = await scenario(
      user('@a:example.com', { pw: 'h1' }) + user('@b:example.com', { pw: '' }) + user('@c:example.com') + user('@d:example.com', { pw: 'h2', deactivated: true }) +
        user('@e:example.com', { pw: 'h3', as: 'irc' }) + user('@f:other.org', { pw: 'h4' }),
    );
    expect(r.facts.localPasswordUsers).toBe(2);
  });

  it('externalIds counts rows and distinct users per provider, sorted, only for users to migrate', async () => {
    const r = await scenario(
      user('@a:example.com') + user('@b:example.com') + user('@c:example.com', { as: 'irc' }) + externalId('@a:example.com', 'saml', 'a') +
        externalId('@a:example.com', 'oidc-z', 'a1') + externalId('@a:example.com', 'oidc-z', 'a2') + externalId('@b:example.com', 'oidc-z', 'b') +
        externalId('@c:example.com', 'cas', 'c') + externalId('@gone:example.com', 'cas', 'g') + externalId('@b:example.com', 'oauth-delegated', 'b'),
    );
    expect(r.facts.externalIds).toEqual([
      { authProvider: 'oauth-delegated', rows: 1, users: 1 },
      { authProvider: 'oidc-z', rows: 3, users: 2 },
      { authProvider: 'saml', rows: 1, users: 1 },
    ]);
    expect(r.facts.plan.upstreamLinks).toEqual(entity('upstreamLinks', 5, { appservice: 1, orphan: 1 }));
  });

  it('refresh pairs: a rotation is confirmed only once every access token of the successor was used', async () => {
    const a = '@a:example.com';
    const r = await scenario(
      user(a) + device(a, 'D') +
        // Chain 1 -> 2: 2's access token used: (1) superseded, (2) migrated.
        refresh(2, a, 'D') + refresh(1, a, 'D', 2) + token(a, 'D', { refresh: 1, used: true }) + token(a, 'D', { refresh: 2, used: true }) +
        // Chain 3 -> 4 where 4's access token has used NULL (old row): both migrated.
        refresh(4, a, 'D') + refresh(3, a, 'D', 4) + token(a, 'D', { refresh: 3, used: true }) + token(a, 'D', { refresh: 4 }) +
        // Chain 5 -> 6 where 6 has no access token: 5 migrated, 6 has none.
        refresh(6, a, 'D') + refresh(5, a, 'D', 6) + token(a, 'D', { refresh: 5, used: true }) +
        // Chain 7 -> 8 where 8 has two access tokens, one used and one not: syn2mas's LEFT JOIN
        // still yields a row for 7 (through the unused one), so 7 stays; both pairs of 8 are migrated.
        refresh(8, a, 'D') + refresh(7, a, 'D', 8) + token(a, 'D', { refresh: 7, used: true }) + token(a, 'D', { refresh: 8, used: true }) +
        token(a, 'D', { refresh: 8, used: false }),
    );
    expect(r.facts.plan.refreshTokens).toEqual(entity('refreshTokens', 7, { superseded: 1, no_access_token: 1 }));
  });

  it('caps examples at 20 per finding', async () => {
    const many = Array.from({ length: 25 }, (_, i) => i);
    const r = await scenario(
      many.map((i) => user(`@u${i}:other.org`) + device(`@ghost${i}:example.com`, 'D') + user(`@_x${i}:example.com`)).join('') +
        many.map((i) => user(`@c${i}:example.com`) + user(`@C${i}:example.com`)).join('') +
        many.map((i) => threepid(`@c${i}:example.com`, 'email', `c${i}@example.org`) + threepid(`@C${i}:example.com`, 'email', `C${i}@example.org`)).join(''),
    );
    for (const code of ['E_FOREIGN_USER_IDS', 'W_ORPHAN_ROWS', 'W_NONSTANDARD_LOCALPARTS', 'W_DUPLICATE_EMAILS', 'W_CASE_COLLIDING_USERNAMES']) {
      const ex = get(r, code).details?.['examples'] as unknown[];
      expect([code, ex.length]).toEqual([code, 20]);
    }
    expect(get(r, 'E_FOREIGN_USER_IDS').details?.['byTable']).toEqual({ 'users.name': 25 });
    expect(get(r, 'W_DUPLICATE_EMAILS').details).toMatchObject({ addresses: 25, users: 50 });
    expect(get(r, 'W_CASE_COLLIDING_USERNAMES').details).toMatchObject({ groups: 25, users: 50 });
    // 25 '_x' users, and the 25 upper-case 'C' users.
    expect(get(r, 'W_NONSTANDARD_LOCALPARTS').details).toMatchObject({ count: 50 });
  });

  it('W_NONSTANDARD_LOCALPARTS names each problem', async () => {
    const long = 'a'.repeat(256);
    const r = await scenario(user('@:example.com') + user(`@${long}:example.com`) + user('@a b:example.com') + user('@_:example.com') + user('@é:example.com'));
    const ex = get(r, 'W_NONSTANDARD_LOCALPARTS').details?.['examples'] as Array<{ userId: string; problems: string[] }>;
    expect(Object.fromEntries(ex.map((e) => [e.userId, e.problems]))).toEqual({
      '@:example.com': ['empty'],
      [`@${long}:example.com`]: ['longer than 255 characters'],
      '@a b:example.com': ['characters'],
      '@_:example.com': ["starts with '_'"],
      '@é:example.com': ['characters'],
    });
  });

  it('W_BACKGROUND_UPDATES_PENDING lists update names in Synapse order', async () => {
    const r = await scenario(
      `INSERT INTO background_updates (update_name, progress_json, ordering) VALUES ('b_update', '{}', 2), ('a_update', '{}', 2), ('z_first', '{}', 1);`,
    );
    const f = get(r, 'W_BACKGROUND_UPDATES_PENDING');
    expect(f.details).toEqual({ count: 3, updates: ['z_first', 'a_update', 'b_update'] });
    expect(f.fix).toContain('update_synapse_database --database-config homeserver.yaml --run-background-updates');
  });
});

// ---------------------------------------------------------------------------------------------
// Device IP validity: both SQL paths, and Node's net.isIP
// ---------------------------------------------------------------------------------------------

const IP_SAMPLES = [
  // valid
  '0.0.0.0', '1.2.3.4', '192.0.2.1', '255.255.255.255', '10.20.30.40', '::', '::1', '1::', '::ffff:1.2.3.4', '::1.2.3.4', '::FFFF:1.2.3.4',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2:3:4:5:6:7', '1:2:3:4:5:6::8', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5::1.2.3.4',
  '1::2:3:4:5:1.2.3.4', '1:2::3:4:1.2.3.4', 'fe80::abcd', 'FE80::ABCD', '2001:db8::17', '2001:0db8:0000:0000:0000:0000:0000:0001', '0001:2:3:4:5:6:7:8',
  'a:b:c:d:e:f:0:1',
  // invalid
  '01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', '1.2.3.4/32', '10.0.0.0/8', '::1/128', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n',
  '1:2:3:4:5:6:7:1.2.3.4', '1::2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7::8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:', '00001::', '12345::', '1:::2',
  '1::2::3', ':1::', '::1:', ':::', '::ffff:1.2.3', '::ffff:01.2.3.4', '::ffff:256.1.1.1', '0x1.2.3.4', '1e1.2.3.4', '1..2.3', '1.2.3.4:80', '[::1]',
  'g::1', 'localhost', '-', '', '203.0.113.7, 198.51.100.2', 'unknown', '1.2.3.4%x', 'fe80::1%eth0', '::%1',
];

/** What we want: an address as Node accepts it, without an IPv6 zone ID (inet refuses those). */
const expectedValid = (ip: string): boolean => net.isIP(ip) !== 0 && !ip.includes('%');

describe('device IP validity', () => {
  const db = useTestDatabase('empty');

  it('the JavaScript reading of the patterns agrees with net.isIP', () => {
    const v4 = new RegExp(IPV4_PATTERN);
    const v6 = new RegExp(IPV6_PATTERN);
    for (const ip of IP_SAMPLES) expect([ip, v4.test(ip) || v6.test(ip)]).toEqual([ip, expectedValid(ip)]);
  });

  it('random IPv6 spellings: the patterns agree with net.isIPv6', () => {
    const v6 = new RegExp(IPV6_PATTERN);
    for (const ip of randomIpv6(3000)) expect([ip, v6.test(ip)]).toEqual([ip, net.isIPv6(ip)]);
  });

  it('the regex path (PostgreSQL < 16) and the pg_input_is_valid path agree with each other and with net.isIP', async () => {
    const { rows: ver } = await db.client.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
    const samples = [...IP_SAMPLES, ...randomIpv6(500)];
    const regexSql = validIpSql('x', 150000);
    expect(regexSql).not.toContain('pg_input_is_valid');
    const newSql = (ver[0]?.v ?? 0) >= 160000 ? validIpSql('x', 160000) : regexSql;
    const { rows } = await db.client.query<{ x: string; by_regex: boolean; by_inet: boolean }>(
      `SELECT x, ${regexSql} AS by_regex, ${newSql} AS by_inet FROM unnest($1::text[]) AS x`,
      [samples],
    );
    expect(rows.length).toBe(samples.length);
    for (const r of rows) expect([r.x, r.by_regex, r.by_inet]).toEqual([r.x, expectedValid(r.x), expectedValid(r.x)]);
  });
});

/** Random IPv6-ish strings: valid addresses in every spelling, and near misses. */
function randomIpv6(n: number): string[] {
  // mulberry32: a small seeded generator, so failures are reproducible.
  let seed = 42;
  const rnd = (k: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * k);
  };
  const hex = (): string => (rnd(4) === 0 ? '0' : rnd(0x10000).toString(16).padStart(rnd(2) === 0 ? 4 : 1, '0')).slice(-4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v4tail = rnd(4) === 0;
    const count = v4tail ? 6 : 8;
    const groups = Array.from({ length: count }, hex);
    let text: string;
    if (rnd(3) === 0) {
      text = groups.join(':');
    } else {
      const start = rnd(count + 1);
      const len = Math.max(1, rnd(count - start + 1));
      text = `${groups.slice(0, start).join(':')}::${groups.slice(Math.min(count, start + len)).join(':')}`;
    }
    if (v4tail) text = `${text}${text.endsWith(':') ? '' : ':'}${rnd(256)}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
    switch (rnd(6)) {
      case 0:
        text = text.slice(0, rnd(text.length)) + text.slice(rnd(text.length)); // splice
        break;
      case 1:
        text = text.replace(/:/, ':::'.slice(0, 1 + rnd(3)));
        break;
      case 2:
        text = `${text}${['', ':', '0', 'g', '.1'][rnd(5)]}`;
        break;
      default:
        break;
    }
    out.push(text);
  }
  return out;
}
