import { beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/queryable.js';
import { DatabaseError } from '../../src/errors.js';
import { readSynapseAdmins } from '../../src/manage/synapse-admins.js';
import { loadFixture, useTestDatabase } from '../helpers/db.js';

describe('readSynapseAdmins', () => {
  const db = useTestDatabase('synapse');

  beforeAll(async () => {
    await loadFixture(db.client, 'synapse-data.sql');
    // Admins of every kind the fixture does not have (it has one: @bob:example.com).
    await db.client.query(`
      INSERT INTO users (name, creation_ts, admin, deactivated, is_guest, appservice_id) VALUES
        ('@zed:example.com',          1700000001, 1, 1, 0, NULL),
        ('@_bridge_admin:example.com', 1700000002, 1, 0, 0, 'whatsapp'),
        ('@200:example.com',          1700000003, 1, 0, 1, NULL),
        ('@mallory:other.example',     1700000004, 1, 0, 0, NULL),
        ('@Amy:example.com',           1700000005, 2, 0, 0, NULL)`);
  });

  it('lists every server admin with what a migration needs to know, ordered by Matrix ID', async () => {
    const admins = await readSynapseAdmins(db.client, 'example.com');
    expect(admins).toEqual([
      { userId: '@200:example.com', localpart: '200', deactivated: false, appservice: false, guest: true, foreignServer: false },
      { userId: '@Amy:example.com', localpart: 'Amy', deactivated: false, appservice: false, guest: false, foreignServer: false },
      { userId: '@_bridge_admin:example.com', localpart: '_bridge_admin', deactivated: false, appservice: true, guest: false, foreignServer: false },
      { userId: '@bob:example.com', localpart: 'bob', deactivated: false, appservice: false, guest: false, foreignServer: false },
      { userId: '@mallory:other.example', localpart: 'mallory', deactivated: false, appservice: false, guest: false, foreignServer: true },
      { userId: '@zed:example.com', localpart: 'zed', deactivated: true, appservice: false, guest: false, foreignServer: false },
    ]);
  });

  it('leaves out users who are not admins', async () => {
    const admins = await readSynapseAdmins(db.client, 'example.com');
    expect(admins.map((a) => a.userId)).not.toContain('@alice:example.com');
  });

  it('judges "on this server" against the server name it is given', async () => {
    const admins = await readSynapseAdmins(db.client, 'other.example');
    expect(admins.filter((a) => !a.foreignServer).map((a) => a.userId)).toEqual(['@mallory:other.example']);
  });

  it('reads in a read-only repeatable-read transaction and ends it', async () => {
    const statements: string[] = [];
    const recorder: Queryable = {
      query: (text, values) => {
        statements.push(text.trim().replace(/\s+/g, ' '));
        return db.client.query(text, values);
      },
    };
    await readSynapseAdmins(recorder, 'example.com');
    expect(statements[0]).toBe('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    expect(statements.at(-1)).toBe('COMMIT');
    expect(statements.filter((s) => /^(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)\b/i.test(s))).toEqual([]);
    // The connection is back out of any transaction.
    const { rows } = await db.client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
    expect(rows[0]?.transaction_read_only).toBe('off');
  });
});

describe('readSynapseAdmins on a database that is not Synapse', () => {
  const db = useTestDatabase('empty');

  it('says which read failed, hints at the wrong database, and leaves the connection usable', async () => {
    const error = await readSynapseAdmins(db.client, 'example.com').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).message).toMatch(/^Failed while reading the server admins from the Synapse database: relation "users" does not exist/);
    expect((error as DatabaseError).hint).toMatch(/does not look like a Synapse database/);
    const { rows } = await db.client.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
  });
});
