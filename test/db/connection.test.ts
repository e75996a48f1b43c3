import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import { connect, describeTarget, describeTargetJson, masTarget, resolveTarget, synapseTarget, toPgConfig } from '../../src/db/connection.js';
import { parseConnectionUri } from '../../src/db/uri.js';
import { ConfigError, DatabaseError } from '../../src/errors.js';
import { sourced } from '../helpers/config.js';
import { useTestDatabase } from '../helpers/db.js';

const dir = mkdtempSync(join(tmpdir(), 'mas-tool-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function synapse(args: Record<string, unknown>, name = 'psycopg2') {
  return parseSynapseConfig(sourced({ server_name: 'example.com', database: { name, args } }));
}

function comparable(t: ReturnType<typeof resolveTarget>) {
  const { source: _s, notes: _n, ...rest } = t;
  return { ...rest, password: t.password?.reveal() };
}

describe('Synapse database target', () => {
  it('builds the same target from database.args as from the equivalent URI', () => {
    const env = {};
    const fromArgs = synapseTarget(
      synapse({ user: 'synapse_user', password: 'verysecret', dbname: 'synapse_db', host: 'synapse-db.example.com', port: 42 }),
      undefined,
      env,
    );
    const fromUri = synapseTarget(synapse({}), 'postgresql://synapse_user:verysecret@synapse-db.example.com:42/synapse_db', env);
    expect(comparable(fromArgs)).toEqual(comparable(fromUri));
    expect(fromArgs.source).toBe('homeserver.yaml database.args');
    expect(fromUri.source).toBe('--synapse-database-uri');
  });

  it('takes libpq environment variables as defaults under the config', () => {
    const env = { PGHOST: 'envhost', PGPORT: '6543', PGUSER: 'envuser', PGDATABASE: 'envdb', PGPASSWORD: 'envpass', PGSSLMODE: 'require' };
    const t = synapseTarget(synapse({ dbname: 'synapse' }), undefined, env);
    expect(t).toMatchObject({ host: 'envhost', port: 6543, user: 'envuser', database: 'synapse', sslmode: 'require' });
    expect(t.password?.reveal()).toBe('envpass');
    expect(comparable(synapseTarget(synapse({}), 'postgresql:', env))).toEqual(comparable(synapseTarget(synapse({}), undefined, env)));
  });

  it('uses a Unix socket directory given as host, also percent-encoded in a URI', () => {
    expect(synapseTarget(synapse({ host: '/var/run/postgresql' }), undefined, {}).host).toBe('/var/run/postgresql');
    expect(parseConnectionUri('postgresql://synapse@%2Fvar%2Frun%2Fpostgresql/synapse', 'uri').host).toBe('/var/run/postgresql');
    expect(parseConnectionUri('postgresql:///synapse?host=/run/pg&port=5433', 'uri')).toMatchObject({ host: '/run/pg', port: 5433, database: 'synapse' });
  });

  it('explains synapse_port_db for a SQLite homeserver, unless a URI is given', () => {
    const sqlite = synapse({ database: '/data/homeserver.db' }, 'sqlite3');
    let error: unknown;
    try {
      synapseTarget(sqlite, undefined, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('SQLite');
    expect((error as ConfigError).hint).toContain('synapse_port_db');
    expect(synapseTarget(sqlite, 'postgresql://u@h/db', {}).database).toBe('db');
  });

  it('reads the password from a passfile, matching host, port, database and user, and ignores a world-readable one', () => {
    const passfile = join(dir, 'pgpass');
    writeFileSync(passfile, '# comment\nother:5432:synapse:synapse:wrong\ndb:5432:synapse:synapse:pa\\:ss\n*:*:*:*:fallback\n', { mode: 0o600 });
    chmodSync(passfile, 0o600);
    expect(synapseTarget(synapse({ host: 'db', user: 'synapse', dbname: 'synapse', passfile }), undefined, {}).password?.reveal()).toBe('pa:ss');
    expect(synapseTarget(synapse({ host: 'x', user: 'y', dbname: 'z', passfile }), undefined, {}).password?.reveal()).toBe('fallback');
    chmodSync(passfile, 0o644);
    const t = synapseTarget(synapse({ host: 'db', user: 'synapse', dbname: 'synapse', passfile }), undefined, {});
    expect(t.password).toBeUndefined();
    expect(t.notes[0]).toContain('readable by group or others');
  });

  it('rejects a malformed URI clearly', () => {
    expect(() => parseConnectionUri('mysql://x', '--synapse-database-uri')).toThrow(/must start with postgresql:\/\//);
    expect(() => parseConnectionUri('postgresql://h/db?sslmode=sometimes', '--synapse-database-uri')).toThrow(/sslmode "sometimes"/);
  });
});

describe('describing a target', () => {
  it('never includes the password', () => {
    const t = synapseTarget(synapse({}), 'postgresql://synapse:hunter2hunter2@db.internal:5432/synapse?sslmode=verify-full', {});
    expect(describeTarget(t)).toBe('Synapse database synapse on db.internal:5432 as synapse, sslmode=verify-full');
    expect(JSON.stringify(describeTargetJson(t))).not.toContain('hunter2');
    expect(JSON.stringify(t)).not.toContain('hunter2');
  });
});

describe('TLS settings for node-postgres', () => {
  it('maps libpq sslmodes', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'CA PEM');
    const mode = (sslmode: string, extra = '') => toPgConfig(synapseTarget(synapse({}), `postgresql://u@h/db?sslmode=${sslmode}${extra}`, {})).ssl;
    expect(mode('disable')).toBeUndefined();
    expect(mode('prefer')).toBeUndefined();
    expect(mode('require')).toMatchObject({ rejectUnauthorized: false });
    expect(mode('require', `&sslrootcert=${ca}`)).toMatchObject({ rejectUnauthorized: true, ca: 'CA PEM' });
    const full = mode('verify-full', `&sslrootcert=${ca}`) as Record<string, unknown>;
    expect(full).toMatchObject({ rejectUnauthorized: true, ca: 'CA PEM' });
    expect(full.checkServerIdentity).toBeUndefined();
    expect((mode('verify-ca') as Record<string, unknown>).checkServerIdentity).toBeTypeOf('function');
  });
});

describe('connecting to a real server', () => {
  const db = useTestDatabase('empty');

  it('connects to the MAS database named by database.uri', async () => {
    const mas = parseMasConfig(sourced({ database: { uri: db.url } }, 'mas.yaml'));
    const client = await connect(masTarget(mas, {}));
    try {
      const { rows } = await client.query<{ db: string; app: string }>('SELECT current_database() AS db, current_setting($1) AS app', ['application_name']);
      expect(rows[0]).toEqual({ db: db.name, app: 'mas-tool' });
    } finally {
      await client.end();
    }
  });

  it('reads database.password_file for the split MAS fields', async () => {
    const url = new URL(db.url);
    const pwFile = join(dir, 'mas-db-password');
    writeFileSync(pwFile, `${decodeURIComponent(url.password)}\n`);
    const mas = parseMasConfig(
      sourced({ database: { host: url.hostname, port: Number(url.port), username: url.username, password_file: pwFile, database: db.name } }, 'mas.yaml'),
    );
    const client = await connect(masTarget(mas, {}));
    await client.end();
  });

  it('says which database could not be reached and why', async () => {
    const url = new URL(db.url);
    const target = synapseTarget(synapse({}), `postgresql://nobody:wrong@${url.hostname}:${url.port}/${db.name}`, {});
    let error: unknown;
    try {
      await connect(target);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DatabaseError);
    const message = (error as DatabaseError).message;
    expect(message).toContain(`connecting to the Synapse database ${db.name} on ${url.hostname}:${url.port} as nobody`);
    expect(message).toContain('from --synapse-database-uri');
    expect(message).not.toContain('wrong@');
    expect((error as DatabaseError).hint).toMatch(/user name and password/);
  });

  it('gives a hint when nothing listens on the port', async () => {
    const target = resolveTarget('MAS', 'test', { host: '127.0.0.1', port: 1, user: 'x', database: 'y' }, {}, 'mas-tool');
    await expect(connect(target)).rejects.toMatchObject({ code: 'MAS_TOOL_DATABASE', hint: expect.stringMatching(/Nothing is listening/) });
  });
});
