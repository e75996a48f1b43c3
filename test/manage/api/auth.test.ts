// The admin API backend's token handling and its errors, against a fake MAS with a real token
// endpoint: one token for many calls, one renewal on a 401, clear errors (that quote no secret) for
// a client MAS refuses, an admin API that is not served, and a MAS that cannot be reached.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { adminApiBaseUrl, openApiBackend } from '../../../src/manage/api/backend.js';
import { chooseAdminClient } from '../../../src/http/openid.js';
import { apiEnv, expectError, masConfigFor, type ApiEnv } from './env.js';

let env: ApiEnv;

beforeEach(async () => {
  env = await apiEnv();
});
afterEach(async () => {
  vi.useRealTimers();
  await env.close();
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

describe('admin tokens', () => {
  it('gets one token and reuses it for many calls', async () => {
    const alice = env.fake.addUser('alice');
    const backend = await env.open();
    for (let i = 0; i < 5; i++) await backend.findUsers([{ input: 'alice', username: 'alice' }]);
    await backend.lock([alice.id]);
    await backend.listAdmins();
    expect(env.fake.tokenRequests()).toBe(1);
    // Every admin API call carried the one token.
    const auths = new Set(env.fake.requests.filter((r) => r.path.startsWith('/api/admin/')).map((r) => r.authorization));
    expect([...auths]).toEqual([`Bearer ${env.fake.tokens[0]}`]);
  });

  it('asks for the token with client_secret_post too', async () => {
    await env.close();
    env = await apiEnv({ client: { clientId: '01J0P0STC11ENT000000000000', secret: 'post-client-secret-0123456789abcdef', authMethod: 'client_secret_post' } });
    env.fake.addUser('alice');
    const backend = await env.open();
    expect((await backend.findUsers([{ input: 'alice', username: 'alice' }])).get('alice')?.username).toBe('alice');
  });

  it('renews an expired token once on a 401 and retries the request', async () => {
    env.fake.addUser('alice');
    const backend = await env.open();
    env.fake.expireAllTokens();
    const found = await backend.findUsers([{ input: 'alice', username: 'alice' }]);
    expect(found.get('alice')?.username).toBe('alice');
    expect(env.fake.tokenRequests()).toBe(2);
    expect(env.fake.apiCalls()).toEqual(['GET /users/by-username/alice', 'GET /users/by-username/alice']);
    // The new token then serves the following calls.
    await backend.findUsers([{ input: 'alice', username: 'alice' }]);
    expect(env.fake.tokenRequests()).toBe(2);
  });

  it('renews the token before it expires, without a 401', async () => {
    env.fake.addUser('alice');
    const backend = await env.open();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 290_000);
    await backend.findUsers([{ input: 'alice', username: 'alice' }]);
    expect(env.fake.tokenRequests()).toBe(2);
    expect(env.fake.apiCalls()).toEqual(['GET /users/by-username/alice']);
  });

  it('fails on a second 401, naming what it was doing', async () => {
    const alice = env.fake.addUser('alice');
    const backend = await env.open();
    env.fake.faults.acceptTokens = false;
    const error = await expectError(() => backend.lock([alice.id]), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_UNAUTHORIZED');
    expect(error.message).toContain('refused a fresh admin token while locking user');
    expect(error.message).toContain('401: Unknown access token');
    expect(error.hint).toContain('Authorization header');
    expect(env.fake.tokenRequests()).toBe(2);
    expect(env.fake.apiCalls()).toHaveLength(2);
    expect(env.fake.users.get(alice.id)?.lockedAt).toBeNull();
  });
});

describe('errors', () => {
  it('says which key to add when MAS does not list the client in policy.data.admin_clients', async () => {
    env.fake.adminClients.clear();
    const error = await expectError(() => env.open(), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_CLIENT_NOT_ALLOWED');
    expect(error.message).toContain(`refused the client ${env.fake.client.clientId} a urn:mas:admin token (invalid_scope`);
    expect(error.message).toContain('policy.data.admin_clients');
    expect(error.hint).toContain(`policy:\n  data:\n    admin_clients:\n      - ${env.fake.client.clientId}`);
  });

  it('says the secret or method is wrong on invalid_client', async () => {
    const wrong = 'a-wrong-client-secret-0123456789';
    const error = await expectError(() => env.open({ clientSecret: wrong }), env.fake, [wrong]);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_CLIENT_REJECTED');
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('client_secret or client_auth_method (client_secret_basic)');
    expect(error.hint).toContain('clients[0].client_secret');
  });

  it('explains a missing adminapi resource when every admin path is 404', async () => {
    env.fake.faults.adminApiMissing = true;
    const backend = await env.open();
    const error = await expectError(() => backend.listAdmins(), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_MISSING');
    expect(error.message).toContain(`There is no MAS admin API at ${env.fake.url}api/admin/v1/`);
    expect(error.message).toContain('the adminapi resource is not enabled on the listener serving public_base');
    expect(error.hint).toContain('- name: adminapi');
    // Lookups that may find nothing do not hide it either.
    const lookup = await expectError(() => backend.findUsers([{ input: 'alice', username: 'alice' }]), env.fake);
    expect(lookup.code).toBe('MAS_TOOL_ADMIN_API_MISSING');
  });

  it('blames --admin-api-url when the admin API is missing where it points', async () => {
    const backend = await env.open({ adminApiUrl: `${env.fake.url}elsewhere/` });
    const error = await expectError(() => backend.lock(['01J00000000000000000000000']), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_MISSING');
    expect(error.message).toContain(`There is no MAS admin API at ${env.fake.url}elsewhere/api/admin/v1/ (404 while locking user 01J00000000000000000000000)`);
    expect(error.message).toContain('not enabled on the listener at --admin-api-url');
  });

  it('names the URL and the reason when MAS cannot be reached', async () => {
    const port = await closedPort();
    const error = await expectError(() => env.open({ publicBase: `http://127.0.0.1:${port}/` }), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_UNREACHABLE');
    expect(error.message).toBe(`Could not reach MAS at http://127.0.0.1:${port}/.well-known/openid-configuration while reading its OpenID Connect discovery document: connection refused.`);
  });

  it('names the admin API URL when only the admin API is unreachable', async () => {
    const port = await closedPort();
    const backend = await env.open({ adminApiUrl: `http://127.0.0.1:${port}/` });
    const error = await expectError(() => backend.listAdmins(), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_UNREACHABLE');
    expect(error.message).toBe(`Could not reach MAS at http://127.0.0.1:${port}/api/admin/v1/users?filter[admin]=true&page[first]=100 while listing the admins: connection refused.`);
  });

  it('relays MAS error titles with the status and a code scripts can match', async () => {
    env.fake.addUser('alice');
    const backend = await env.open();
    const error = await expectError(() => backend.createUsers([{ username: 'Alice', skipHomeserverCheck: false, admin: false, emails: [], upstream: [] }]), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_CONFLICT');
    expect(error.message).toBe('MAS refused creating user Alice (409: User already exists).');
    expect(error.details).toMatchObject({ status: 409, titles: 'User already exists' });
  });

  it('refuses to open without a usable admin client, saying why', async () => {
    const mas = masConfigFor(env.fake, { adminClients: [] });
    expect(chooseAdminClient(mas)).toEqual({ reason: 'policy.data.admin_clients lists no client, so no client may use the MAS admin API' });
    const error = await expectError(() => openApiBackend({ mas, http: env.http, timeoutMs: 5000 }), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_NO_CLIENT');
    expect(error.hint).toContain('admin_clients:');
    expect(env.fake.tokenRequests()).toBe(0);
  });

  it('finds the configured admin client', () => {
    const mas = masConfigFor(env.fake);
    expect(chooseAdminClient(mas).client?.clientId).toBe(env.fake.client.clientId);
    expect(chooseAdminClient(masConfigFor(env.fake, { authMethod: 'private_key_jwt' })).reason).toContain('an authentication method mas-tool does not use');
  });
});

describe('where the admin API is', () => {
  it('takes public_base, or --admin-api-url as a base or as the admin API URL itself', () => {
    const mas = masConfigFor(env.fake, { publicBase: 'https://auth.example.com/mas/' });
    expect(adminApiBaseUrl(mas)).toBe('https://auth.example.com/mas/api/admin/v1/');
    expect(adminApiBaseUrl(mas, 'https://internal:8081')).toBe('https://internal:8081/api/admin/v1/');
    expect(adminApiBaseUrl(mas, 'https://internal:8081/prefix/')).toBe('https://internal:8081/prefix/api/admin/v1/');
    expect(adminApiBaseUrl(mas, 'https://internal:8081/api/admin/v1')).toBe('https://internal:8081/api/admin/v1/');
    expect(adminApiBaseUrl(mas, 'https://internal:8081/api/admin/v1/')).toBe('https://internal:8081/api/admin/v1/');
    expect(() => adminApiBaseUrl(mas, 'not a url')).toThrow(/is not a URL/);
  });

  it('works under a listener prefix', async () => {
    await env.close();
    env = await apiEnv({ prefix: '/auth' });
    env.fake.addUser('alice');
    const backend = await env.open();
    expect((await backend.findUsers([{ input: 'alice', username: 'alice' }])).size).toBe(1);
    expect(env.fake.requests.some((r) => r.path === '/auth/api/admin/v1/users/by-username/alice')).toBe(true);
  });
});
