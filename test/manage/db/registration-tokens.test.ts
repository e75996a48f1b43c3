// Registration tokens on the MAS database: the rows mas-cli and the admin API write, found by id or
// by text, a duplicate refused, revoked and unrevoked; and a MAS schema without the table refused.
import { describe, expect, it } from 'vitest';
import { newUlid } from '../../../src/manage/db/ids.js';
import { Secret } from '../../../src/secret.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, uuid } from './helpers.js';

const db = useTestDatabase('mas');

describe('registration tokens (database)', () => {
  it('issues a token row as MAS writes it, and finds it by id and by text', async () => {
    const backend = await backendFor(db);
    const issued = await backend.issueRegistrationToken({ token: Secret.fromString('invite-db-1'), usageLimit: 5, expiresAt: '2030-01-01T00:00:00.000Z' });
    expect(issued).toMatchObject({ usageLimit: 5, timesUsed: 0, expiresAt: '2030-01-01T00:00:00.000Z', revokedAt: null, lastUsedAt: null });
    expect(issued.token.reveal()).toBe('invite-db-1');
    // The Secret never prints its value.
    expect(JSON.stringify(issued)).not.toContain('invite-db-1');
    const { rows } = await db.client.query('SELECT token, usage_limit, times_used, expires_at, revoked_at FROM user_registration_tokens WHERE user_registration_token_id = $1', [uuid(issued.id)]);
    expect(rows).toEqual([{ token: 'invite-db-1', usage_limit: 5, times_used: 0, expires_at: new Date('2030-01-01T00:00:00Z'), revoked_at: null }]);
    expect((await backend.findRegistrationToken({ id: issued.id }))?.id).toBe(issued.id);
    expect((await backend.findRegistrationToken({ token: 'invite-db-1' }))?.id).toBe(issued.id);
    expect(await backend.findRegistrationToken({ id: newUlid(), token: 'no-such-token' })).toBeUndefined();
  });

  it('makes up a 12-character token, unlimited when asked, and lists tokens oldest first', async () => {
    const backend = await backendFor(db);
    const made = await backend.issueRegistrationToken({ usageLimit: null, expiresAt: null });
    expect(made.token.reveal()).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(made.usageLimit).toBeNull();
    const ids = (await backend.listRegistrationTokens()).map((t) => t.id);
    expect(ids.at(-1)).toBe(made.id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuses a token text that exists, with a code of its own', async () => {
    const backend = await backendFor(db);
    await backend.issueRegistrationToken({ token: Secret.fromString('taken-one'), usageLimit: 1, expiresAt: null });
    await expect(backend.issueRegistrationToken({ token: Secret.fromString('taken-one'), usageLimit: 1, expiresAt: null })).rejects.toMatchObject({ code: 'MAS_TOOL_REGISTRATION_TOKEN_EXISTS' });
  });

  it('revokes and unrevokes', async () => {
    const backend = await backendFor(db);
    const t = await backend.issueRegistrationToken({ usageLimit: 1, expiresAt: null });
    const revoked = await backend.setRegistrationTokenRevoked(t.id, true);
    expect(revoked.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await backend.setRegistrationTokenRevoked(t.id, false)).revokedAt).toBeNull();
    await expect(backend.setRegistrationTokenRevoked(newUlid(), true)).rejects.toMatchObject({ code: 'MAS_TOOL_REGISTRATION_TOKEN_NOT_FOUND' });
  });
});

describe('registration tokens on a MAS schema without them', () => {
  const old = useTestDatabase('mas');

  it('refuses clearly, naming the MAS release that added them', async () => {
    await old.client.query('DROP TABLE user_registration_tokens CASCADE');
    const backend = await backendFor(old);
    const error = await backend.listRegistrationTokens().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MAS_TOOL_MAS_SCHEMA_UNSUPPORTED' });
    expect((error as Error).message).toContain('has no user_registration_tokens table: MAS has registration tokens since 0.17');
  });
});
