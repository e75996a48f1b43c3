// What the demo and the benchmarks share: a PostgreSQL server (the embedded one the tests use, or the
// server MAS_TOOL_BENCH_DATABASE_URL names), databases created from our schema fixtures, and the
// homeserver.yaml and MAS config an operator would have before `syn2mas migrate`, with the MAS
// database's upstream provider rows written as `mas-cli config sync` would write them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ulidToUUID } from 'ulid';
import { stringify } from 'yaml';
import { freePort, startEmbeddedServer } from '../test/setup/embedded-server.js';

/** Names an existing PostgreSQL server (a superuser or a user with CREATEDB) to use instead of an embedded one. */
export const BENCH_DATABASE_URL_ENV = 'MAS_TOOL_BENCH_DATABASE_URL';

export const GITHUB_PROVIDER_ULID = '01J9Q8R5GH6W3T0N4K2M7PB1XA';
export const KEYCLOAK_PROVIDER_ULID = '01J9Q8R5KC8F2D5VQ9Y3ZS7E4B';
// As `openssl rand -hex 32` or `mas-tool config generate` write it.
export const MATRIX_SECRET = '454a52511699eed7a85152a315f9f88462a1e3ae0676434d4db7aabd4973e8be';

export interface BenchServer {
  /** A postgres:// URL of the server's maintenance database, with credentials. */
  adminUrl: string;
  /** True when the server came from MAS_TOOL_BENCH_DATABASE_URL (and is left running). */
  external: boolean;
  /** Stops an embedded server and removes its files; safe to call more than once, and on failure paths. */
  stop(): Promise<void>;
}

/** The repository root: the nearest directory upwards with mas-tool's package.json (works from bench/ and dist-bench/bench/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mas-tool') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the mas-tool repository root above bench/');
    dir = parent;
  }
}

/** A schema or data fixture: test/fixtures/NAME. */
export function fixture(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', name);
}


/** Starts the embedded PostgreSQL on a free port, unless MAS_TOOL_BENCH_DATABASE_URL names a server. */
export async function startBenchServer(env: NodeJS.ProcessEnv = process.env): Promise<BenchServer> {
  const external = env[BENCH_DATABASE_URL_ENV];
  if (external !== undefined && external !== '') {
    await withClient(external, async () => undefined);
    return { adminUrl: external, external: true, stop: async () => undefined };
  }
  // The tests' throwaway server, with the buffer cache a PostgreSQL on a machine of this size would
  // have: with the default 128 MB, what fits at N users and not at 4N would be measured as growth.
  const server = await startEmbeddedServer(await freePort(), { shared_buffers: '2GB' });
  let stopping: Promise<void> | undefined;
  return {
    adminUrl: `postgres://postgres:${server.password}@127.0.0.1:${server.port}/postgres`,
    external: false,
    stop: () => (stopping ??= server.stop()),
  };
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates database `name` (it must not exist) and runs a schema file in it: a path, or a file name in
 * test/fixtures. Returns the database's URL.
 */
export async function createDatabase(adminUrl: string, name: string, schemaFile: string): Promise<string> {
  const path = isAbsolute(schemaFile) || existsSync(schemaFile) ? schemaFile : fixture(schemaFile);
  const sql = readFileSync(path, 'utf8');
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`));
  const url = databaseUrl(adminUrl, name);
  try {
    await withClient(url, (c) => c.query(sql));
  } catch (error) {
    await dropDatabase(adminUrl, name).catch(() => undefined);
    throw error;
  }
  return url;
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export interface BenchConfigs {
  homeserverYaml: string;
  masConfig: string;
  /** `-c MAS_CONFIG --synapse-config HOMESERVER_YAML`, for the CLI. */
  args: string[];
}

/** The upstream providers of both configs: Synapse idp_id, MAS ULID and what MAS stores for it. */
const PROVIDERS = [
  {
    idpId: 'github',
    ulid: GITHUB_PROVIDER_ULID,
    synapse: {
      idp_id: 'github',
      idp_name: 'GitHub',
      idp_brand: 'github',
      discover: false,
      issuer: 'https://github.com/',
      client_id: 'bench-synapse-github',
      client_secret: 'bench-github-client-secret',
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
      userinfo_endpoint: 'https://api.github.com/user',
      scopes: ['read:user'],
      user_mapping_provider: {
        config: { subject_template: '{{ user.id }}', localpart_template: '{{ user.login }}', display_name_template: '{{ user.name }}' },
      },
    },
    mas: {
      id: GITHUB_PROVIDER_ULID,
      synapse_idp_id: 'oidc-github',
      human_name: 'GitHub',
      brand_name: 'github',
      discovery_mode: 'disabled',
      fetch_userinfo: true,
      client_id: 'bench-synapse-github',
      client_secret: 'bench-github-client-secret',
      token_endpoint_auth_method: 'client_secret_post',
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
      userinfo_endpoint: 'https://api.github.com/user',
      scope: 'read:user',
      claims_imports: {
        subject: { template: '{{ userinfo_claims.id }}' },
        localpart: { action: 'suggest', template: '{{ userinfo_claims.login }}' },
        displayname: { action: 'suggest', template: '{{ userinfo_claims.name }}' },
      },
    },
    row: {
      issuer: null,
      scope: 'read:user',
      client_id: 'bench-synapse-github',
      token_endpoint_auth_method: 'client_secret_post',
      claims_imports: {
        subject: { template: '{{ userinfo_claims.id }}' },
        localpart: { action: 'suggest', template: '{{ userinfo_claims.login }}' },
        displayname: { action: 'suggest', template: '{{ userinfo_claims.name }}' },
      },
      authorization_endpoint_override: 'https://github.com/login/oauth/authorize',
      token_endpoint_override: 'https://github.com/login/oauth/access_token',
      userinfo_endpoint_override: 'https://api.github.com/user',
      discovery_mode: 'disabled',
      human_name: 'GitHub',
      brand_name: 'github',
      fetch_userinfo: true,
      ui_order: 0,
    },
  },
  {
    idpId: 'keycloak',
    ulid: KEYCLOAK_PROVIDER_ULID,
    synapse: {
      idp_id: 'keycloak',
      idp_name: 'Example SSO',
      issuer: 'https://sso.example.org/realms/example',
      client_id: 'synapse',
      client_secret: 'bench-keycloak-client-secret',
      scopes: ['openid', 'profile'],
      backchannel_logout_enabled: true,
      user_mapping_provider: {
        config: { localpart_template: '{{ user.preferred_username }}', display_name_template: '{{ user.name }}' },
      },
    },
    mas: {
      id: KEYCLOAK_PROVIDER_ULID,
      synapse_idp_id: 'oidc-keycloak',
      human_name: 'Example SSO',
      issuer: 'https://sso.example.org/realms/example',
      client_id: 'mas',
      client_secret: 'bench-keycloak-mas-client-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email',
      on_backchannel_logout: 'logout_all',
      claims_imports: {
        localpart: { action: 'require', template: '{{ user.preferred_username }}' },
        displayname: { action: 'suggest', template: '{{ user.name }}' },
      },
    },
    row: {
      issuer: 'https://sso.example.org/realms/example',
      scope: 'openid profile email',
      client_id: 'mas',
      token_endpoint_auth_method: 'client_secret_basic',
      claims_imports: {
        localpart: { action: 'require', template: '{{ user.preferred_username }}' },
        displayname: { action: 'suggest', template: '{{ user.name }}' },
      },
      authorization_endpoint_override: null,
      token_endpoint_override: null,
      userinfo_endpoint_override: null,
      discovery_mode: 'oidc',
      human_name: 'Example SSO',
      brand_name: null,
      fetch_userinfo: false,
      ui_order: 1,
    },
  },
] as const;

/**
 * Writes DIR/homeserver.yaml and DIR/mas.yaml for the two databases, and inserts the two upstream
 * provider rows into the MAS database, as `mas-cli config sync` would (client secrets are not stored:
 * mas-cli would encrypt them with secrets.encryption, which these configs do not need).
 */
export async function writeConfigs(dir: string, options: { synapseUrl: string; masUrl: string; serverName: string }): Promise<BenchConfigs> {
  const synapse = new URL(options.synapseUrl);
  const homeserverYaml = join(dir, 'homeserver.yaml');
  const masConfig = join(dir, 'mas.yaml');
  writeFileSync(
    homeserverYaml,
    stringify({
      server_name: options.serverName,
      public_baseurl: `https://matrix.${options.serverName}/`,
      database: {
        name: 'psycopg2',
        args: {
          user: decodeURIComponent(synapse.username),
          password: decodeURIComponent(synapse.password),
          dbname: decodeURIComponent(synapse.pathname.slice(1)),
          host: synapse.hostname,
          port: Number(synapse.port || 5432),
          cp_min: 5,
          cp_max: 10,
        },
      },
      enable_registration: false,
      allow_guest_access: false,
      password_config: { enabled: true },
      oidc_providers: PROVIDERS.map((p) => p.synapse),
    }),
    { mode: 0o600 },
  );
  writeFileSync(
    masConfig,
    stringify({
      database: { uri: options.masUrl },
      matrix: { kind: 'synapse', homeserver: options.serverName, endpoint: 'http://localhost:8008/', secret: MATRIX_SECRET },
      // MAS will not start without them; the benchmarks never read the keys.
      secrets: { encryption: '6d2c4f8a1b3e5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f', keys_dir: '/etc/mas/keys' },
      passwords: {
        enabled: true,
        schemes: [
          { version: 1, algorithm: 'bcrypt', unicode_normalization: true },
          { version: 2, algorithm: 'argon2id' },
        ],
      },
      upstream_oauth2: { providers: PROVIDERS.map((p) => p.mas) },
    }),
    { mode: 0o600 },
  );
  await withClient(options.masUrl, async (c) => {
    for (const p of PROVIDERS) {
      const r = p.row;
      await c.query(
        `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method,
                                               created_at, claims_imports, authorization_endpoint_override, token_endpoint_override,
                                               userinfo_endpoint_override, discovery_mode, human_name, brand_name, fetch_userinfo,
                                               ui_order, on_backchannel_logout)
         VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (upstream_oauth_provider_id) DO NOTHING`,
        [
          ulidToUUID(p.ulid),
          r.issuer,
          r.scope,
          r.client_id,
          r.token_endpoint_auth_method,
          JSON.stringify(r.claims_imports),
          r.authorization_endpoint_override,
          r.token_endpoint_override,
          r.userinfo_endpoint_override,
          r.discovery_mode,
          r.human_name,
          r.brand_name,
          r.fetch_userinfo,
          r.ui_order,
          'on_backchannel_logout' in p.mas ? p.mas.on_backchannel_logout : 'do_nothing',
        ],
      );
    }
  });
  return { homeserverYaml, masConfig, args: ['-c', masConfig, '--synapse-config', homeserverYaml] };
}
