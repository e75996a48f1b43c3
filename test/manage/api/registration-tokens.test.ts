// Registration tokens over the admin API against the fake MAS: the requests the backend makes, the
// explicit usage_limit (MAS's default is unlimited), a token found by its text, a duplicate refused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManageBackend } from '../../../src/manage/backend.js';
import { Secret } from '../../../src/secret.js';
import { apiEnv, expectError, type ApiEnv } from './env.js';

let env: ApiEnv;
let backend: ManageBackend;

beforeEach(async () => {
  env = await apiEnv();
  backend = await env.open();
});
afterEach(async () => {
  await env.close();
});

describe('registration tokens (admin API)', () => {
  it('issues with the limits spelled out, and the token comes back as a Secret', async () => {
    const issued = await backend.issueRegistrationToken({ token: Secret.fromString('api-invite-1'), usageLimit: 1, expiresAt: '2031-01-01T00:00:00.000Z' });
    expect(issued).toMatchObject({ usageLimit: 1, timesUsed: 0, expiresAt: '2031-01-01T00:00:00.000Z', revokedAt: null });
    expect(issued.token.reveal()).toBe('api-invite-1');
    expect(String(issued.token)).toBe('[redacted]');
    expect(env.fake.registrationTokens.get(issued.id)).toMatchObject({ token: 'api-invite-1', usageLimit: 1 });
    expect(env.fake.apiCalls()).toContain('POST /user-registration-tokens');
  });

  it('sends usage_limit null for an unlimited token, and lets MAS make the token up', async () => {
    const issued = await backend.issueRegistrationToken({ usageLimit: null, expiresAt: null });
    expect(env.fake.registrationTokens.get(issued.id)).toMatchObject({ usageLimit: null, expiresAt: null });
    expect(issued.token.reveal()).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it('refuses a duplicate text with MAS_TOOL_REGISTRATION_TOKEN_EXISTS, quoting no token', async () => {
    env.fake.addRegistrationToken('dup-token-xyz');
    const error = await expectError(() => backend.issueRegistrationToken({ token: Secret.fromString('dup-token-xyz'), usageLimit: 1, expiresAt: null }), env.fake, ['dup-token-xyz']);
    expect(error.code).toBe('MAS_TOOL_REGISTRATION_TOKEN_EXISTS');
  });

  it('finds a token by id with one request, by its text by listing every page', async () => {
    env.fake.settings.maxPageSize = 2;
    const tokens = ['t-one-aaaa', 't-two-bbbb', 't-three-cc', 't-four-ddd', 't-five-eee'].map((t) => env.fake.addRegistrationToken(t));
    expect((await backend.findRegistrationToken({ id: tokens[1]!.id }))?.token.reveal()).toBe('t-two-bbbb');
    expect(env.fake.apiCalls().at(-1)).toBe(`GET /user-registration-tokens/${tokens[1]!.id}`);
    expect((await backend.findRegistrationToken({ token: 't-five-eee' }))?.id).toBe(tokens[4]!.id);
    expect((await backend.listRegistrationTokens()).map((t) => t.id)).toEqual(tokens.map((t) => t.id));
    // A well-formed id from 2016, which none of the tokens made now can have (changing a character of
    // one of theirs could give another's: ids made in one millisecond differ in their last character).
    const unknownId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(tokens.map((t) => t.id)).not.toContain(unknownId);
    expect(await backend.findRegistrationToken({ id: unknownId, token: 'nope-nope' })).toBeUndefined();
  });

  it('revokes and unrevokes through their routes', async () => {
    const t = env.fake.addRegistrationToken('revoke-me-1');
    expect((await backend.setRegistrationTokenRevoked(t.id, true)).revokedAt).not.toBeNull();
    expect(env.fake.registrationTokens.get(t.id)?.revokedAt).not.toBeNull();
    expect((await backend.setRegistrationTokenRevoked(t.id, false)).revokedAt).toBeNull();
    expect(env.fake.apiCalls().slice(-2)).toEqual([`POST /user-registration-tokens/${t.id}/revoke`, `POST /user-registration-tokens/${t.id}/unrevoke`]);
  });
});
