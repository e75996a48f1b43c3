// What the admin API backend tests share: a fake MAS admin API, a MAS config pointing at it, our HTTP
// client, and a check that no error text quotes a secret (the client secret, a token, a password).
import { expect } from 'vitest';
import { parseMasConfig, type ParsedMasConfig } from '../../../src/config/mas.js';
import { MasToolError } from '../../../src/errors.js';
import { createHttpClient, type HttpClient } from '../../../src/http/client.js';
import type { ManageBackend } from '../../../src/manage/backend.js';
import { openApiBackend } from '../../../src/manage/api/backend.js';
import { sourced } from '../../helpers/config.js';
import { startFakeMasAdmin, type FakeMasAdmin, type FakeMasAdminOptions } from '../../helpers/fake-mas-admin.js';

export interface MasConfigOverrides {
  publicBase?: string;
  issuer?: string;
  clientSecret?: string;
  authMethod?: string;
  adminClients?: string[];
  noClients?: boolean;
}

export function masConfigFor(fake: FakeMasAdmin, o: MasConfigOverrides = {}): ParsedMasConfig {
  return parseMasConfig(
    sourced(
      {
        http: {
          public_base: o.publicBase ?? fake.url,
          ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
          listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] }],
        },
        matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/', secret: 'matrix-shared-secret-value' },
        clients: o.noClients === true ? [] : [{ client_id: fake.client.clientId, client_auth_method: o.authMethod ?? fake.client.authMethod, client_secret: o.clientSecret ?? fake.client.secret }],
        policy: { data: { admin_clients: o.adminClients ?? [fake.client.clientId] } },
      },
      'config.yaml',
    ),
  );
}

export interface ApiEnv {
  fake: FakeMasAdmin;
  http: HttpClient;
  /** Opens a backend on the fake (a new token each time). */
  open(o?: MasConfigOverrides & { adminApiUrl?: string }): Promise<ManageBackend>;
  close(): Promise<void>;
}

export async function apiEnv(options: FakeMasAdminOptions = {}): Promise<ApiEnv> {
  const fake = await startFakeMasAdmin(options);
  const http = createHttpClient({ timeoutMs: 5000, userAgent: 'mas-tool-test' });
  const backends: ManageBackend[] = [];
  return {
    fake,
    http,
    async open(o = {}) {
      const backend = await openApiBackend({ mas: masConfigFor(fake, o), http, timeoutMs: 5000, ...(o.adminApiUrl !== undefined ? { adminApiUrl: o.adminApiUrl } : {}) });
      backends.push(backend);
      return backend;
    },
    async close() {
      for (const b of backends) await b.close();
      await http.close();
      await fake.close();
    },
  };
}

/** Runs `work`, expects a MasToolError, and checks that nothing in it quotes a secret. */
export async function expectError(work: () => Promise<unknown>, fake: FakeMasAdmin, extraSecrets: string[] = []): Promise<MasToolError> {
  let caught: unknown;
  try {
    await work();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an error').toBeInstanceOf(MasToolError);
  const error = caught as MasToolError;
  assertNoSecrets(error, fake, extraSecrets);
  return error;
}

export function assertNoSecrets(error: MasToolError, fake: FakeMasAdmin, extraSecrets: string[] = []): void {
  const text = [error.message, error.hint ?? '', JSON.stringify(error.toJSON())].join('\n');
  for (const secret of [fake.client.secret, ...fake.tokens, ...extraSecrets]) expect(text).not.toContain(secret);
}
