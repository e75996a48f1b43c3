// The MAS config must hold what MAS will not start without: the secrets section (encryption key and
// signing keys) and matrix.secret (or secret_file). Without them `syn2mas check` has errors, and a
// migration stops before writing anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import { checkSecrets } from '../../src/syn2mas/checks/secrets.js';
import { run } from '../helpers/cli.js';
import { sourced } from '../helpers/config.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const STRONG = 'q7Vt2mXr9LpK4sZw8NcB';
const ENCRYPTION = 'a'.repeat(64);

function codes(mas: Record<string, unknown>, synapse: Record<string, unknown> = { server_name: 'example.com' }) {
  const findings = checkSecrets({ mas: parseMasConfig(sourced(mas, 'mas.yaml')), synapse: parseSynapseConfig(sourced(synapse, 'homeserver.yaml')) });
  return Object.fromEntries(findings.map((f) => [f.code, f]));
}

describe('checkSecrets', () => {
  it('passes a config with the secrets section and matrix.secret', () => {
    expect(codes({ matrix: { homeserver: 'example.com', secret: STRONG }, secrets: { encryption: ENCRYPTION, keys: [{ kid: 'rsa', key_file: '/etc/mas/rsa.pem' }] } })).toEqual({});
    expect(codes({ matrix: { homeserver: 'example.com', secret_file: '/nonexistent/secret' }, secrets: { encryption_file: '/x', keys_dir: '/etc/mas/keys' } })).toEqual({});
  });

  it('names each missing part of the secrets section', () => {
    expect(codes({ matrix: { homeserver: 'example.com', secret: STRONG } }).E_MAS_SECRETS_MISSING).toMatchObject({
      severity: 'error',
      message: 'mas.yaml lacks the secrets section: MAS will not start without its encryption key and signing keys.',
    });
    expect(codes({ matrix: { homeserver: 'example.com', secret: STRONG }, secrets: {} }).E_MAS_SECRETS_MISSING?.details).toEqual({
      missing: ['secrets.encryption (or encryption_file)', 'secrets.keys (or keys_dir)'],
    });
  });

  it('asks for matrix.secret, pointing at the Synapse side when it has one', () => {
    const withSynapse = codes(
      { matrix: { homeserver: 'example.com' }, secrets: { encryption: ENCRYPTION, keys_dir: '/k' } },
      { server_name: 'example.com', matrix_authentication_service: { enabled: true, secret_path: '/etc/synapse/mas_secret' } },
    ).E_MAS_MATRIX_SECRET_MISSING;
    expect(withSynapse?.fix).toBe("Set matrix.secret (or secret_file) to the value of Synapse's matrix_authentication_service.secret_path; the two must be equal.");
    const alone = codes({ matrix: { homeserver: 'example.com' }, secrets: { encryption: ENCRYPTION, keys_dir: '/k' } }).E_MAS_MATRIX_SECRET_MISSING;
    expect(alone?.fix).toContain('openssl rand -hex 32');
  });
});

describe('syn2mas migrate with neither secrets nor matrix.secret', () => {
  let e: Syn2masEnv;
  beforeAll(async () => {
    e = await createSyn2masEnv();
  });
  afterAll(async () => {
    await e.drop();
  });

  it('stops with both errors (exit 10) before writing anything', async () => {
    const before = await snapshotDatabase(e.mas.client);
    const r = await run(['syn2mas', 'migrate', '--json', ...e.args('bare', { mas: { secrets: null, matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/' } } })]);
    expect(r.code).toBe(10);
    const errors = JSON.parse(r.stdout).findings.filter((f: { severity: string }) => f.severity === 'error').map((f: { code: string }) => f.code);
    expect(errors).toEqual(['E_MAS_SECRETS_MISSING', 'E_MAS_MATRIX_SECRET_MISSING']);
    expect(await snapshotDatabase(e.mas.client)).toEqual(before);
  });
});
