// doctor's config.secret_strength: the secrets the operator chose (the shared secret on both sides,
// the peppers, the static clients' secrets) judged by length and by zxcvbn; a weak one is a warning
// that names the key and what is weak, never the value.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configChecks } from '../../src/doctor/checks/config.js';
import { runChecks } from '../../src/doctor/runner.js';
import { createHttpClient } from '../../src/http/client.js';
import { configChecksContext } from '../helpers/doctor-config.js';

const STRONG = 'q7Vt2mXr9LpK4sZw8NcB';
const http = createHttpClient({ timeoutMs: 2000 });
const dir = mkdtempSync(join(tmpdir(), 'mas-tool-secret-strength-'));
afterAll(async () => {
  await http.close();
  rmSync(dir, { recursive: true, force: true });
});

async function secretStrength(mas: Record<string, unknown>, synapse?: Record<string, unknown>) {
  const ctx = configChecksContext(http, { http: { public_base: 'https://auth.example.com/' }, ...mas }, synapse);
  const results = await runChecks(configChecks.filter((c) => c.id === 'config.secret_strength'), ctx);
  expect(results).toHaveLength(1);
  return results[0]!;
}

describe('config.secret_strength', () => {
  it('warns about a short shared secret, a guessable client secret and a short pepper, naming keys only', async () => {
    const pepperFile = join(dir, 'pepper');
    writeFileSync(pepperFile, 'PEPPER');
    const r = await secretStrength(
      {
        matrix: { homeserver: 'example.com', secret: 'database' },
        passwords: { schemes: [{ version: 1, algorithm: 'bcrypt', secret_file: pepperFile }] },
        clients: [{ client_id: '01J0000000000000000000ADMN', client_auth_method: 'client_secret_basic', client_secret: 'passwordpassword1234' }],
      },
      { server_name: 'example.com', matrix_authentication_service: { enabled: true, endpoint: 'http://mas:8080/', secret: 'database' } },
    );
    expect(r.status).toBe('warn');
    expect(r.details?.weak).toEqual([
      { key: 'matrix.secret', file: 'mas.yaml', weakness: 'short', pepper: false },
      { key: 'passwords.schemes[0].secret_file', file: 'mas.yaml', weakness: 'short', pepper: true },
      { key: 'clients[0].client_secret', file: 'mas.yaml', weakness: 'guessable', pepper: false },
      { key: 'matrix_authentication_service.secret', file: 'homeserver.yaml', weakness: 'short', pepper: false },
    ]);
    expect(r.message).toContain('matrix.secret (mas.yaml) is shorter than 16 characters');
    expect(r.message).toContain('clients[0].client_secret (mas.yaml) is easy to guess');
    expect(r.fix).toContain('openssl rand -hex 32');
    expect(r.fix).toContain('A pepper cannot change without resetting every password');
    expect(JSON.stringify(r)).not.toMatch(/PEPPER|passwordpassword1234|"database"/);
  });

  it('passes strong secrets, listing what it judged', async () => {
    const r = await secretStrength({ matrix: { homeserver: 'example.com', secret: STRONG } });
    expect(r).toMatchObject({ status: 'pass', details: { judged: ['matrix.secret'] } });
    expect(r.message).not.toContain(STRONG);
  });
});
