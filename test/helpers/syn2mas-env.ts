// A Synapse database with our data fixture, an empty MAS database with the fixture's SSO provider
// synced, and config files pointing at both: what an operator has before `syn2mas migrate`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulidToUUID } from 'ulid';
import { stringify } from 'yaml';
import { createTestDatabase, loadFixture, type TestDatabase } from './db.js';
import type { TemplateName } from './templates.js';

export const PROVIDER_ULID = '01H8PKNWKKRPCBW4YGH1RWV279';
export const SHARED_SECRET = 'shared-secret-for-tests';
const MAS_ENCRYPTION_KEY = '6d2c4f8a1b3e5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f';

export interface Syn2masEnv {
  synapse: TestDatabase;
  mas: TestDatabase;
  dir: string;
  /** -c and --synapse-config arguments for files written with these overrides. */
  args(name: string, overrides?: { synapse?: Record<string, unknown>; mas?: Record<string, unknown>; masUrl?: string; synapseUrl?: string }): string[];
  drop(): Promise<void>;
}

export async function createSyn2masEnv(options: { fixtures?: string[]; masTemplate?: TemplateName } = {}): Promise<Syn2masEnv> {
  const synapse = await createTestDatabase('synapse');
  for (const f of options.fixtures ?? ['synapse-data.sql']) await loadFixture(synapse.client, f);
  const mas = await createTestDatabase(options.masTemplate ?? 'mas');
  // What `mas-cli config sync` writes for the provider in the MAS config below.
  await mas.client.query(
    `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, created_at)
     VALUES ($1, 'https://id.example.com/', 'openid', 'mas', 'client_secret_basic', now())`,
    [ulidToUUID(PROVIDER_ULID)],
  );
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-env-'));
  return {
    synapse,
    mas,
    dir,
    args(name, overrides = {}) {
      const url = new URL(overrides.synapseUrl ?? synapse.url);
      const hs = join(dir, `${name}-homeserver.yaml`);
      const cfg = join(dir, `${name}-mas.yaml`);
      writeFileSync(
        hs,
        stringify({
          server_name: 'example.com',
          database: {
            name: 'psycopg2',
            args: { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), dbname: url.pathname.slice(1), host: url.hostname, port: Number(url.port) },
          },
          oidc_providers: [{ idp_id: 'raasu', idp_name: 'Raasu', issuer: 'https://id.example.com/', client_id: 'synapse', client_secret: 'oidc-client-secret' }],
          ...overrides.synapse,
        }),
      );
      writeFileSync(
        cfg,
        stringify({
          database: { uri: overrides.masUrl ?? mas.url },
          matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/', secret: SHARED_SECRET },
          // MAS will not start without them (E_MAS_SECRETS_MISSING); mas-tool never reads the keys.
          secrets: { encryption: MAS_ENCRYPTION_KEY, keys_dir: '/etc/mas/keys' },
          passwords: { schemes: [{ version: 1, algorithm: 'bcrypt', unicode_normalization: true }, { version: 2, algorithm: 'argon2id' }] },
          upstream_oauth2: {
            providers: [
              { id: PROVIDER_ULID, synapse_idp_id: 'oidc-raasu', issuer: 'https://id.example.com/', client_id: 'mas', client_secret: 'mas-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
            ],
          },
          ...overrides.mas,
        }),
      );
      return ['-c', cfg, '--synapse-config', hs];
    },
    async drop() {
      await synapse.drop();
      await mas.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
