// `mas-tool doctor` against a real local HTTPS deployment (test/helpers/fake-deployment.ts), with
// faults switched on one at a time; each test asserts the exact check ids and statuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { startFakeDeployment, startNginxWelcome, startRecorder, type FakeDeployment } from '../helpers/fake-deployment.js';
import { makeCertificates, type TestCertificates } from '../helpers/tls.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const SECRET = 'doctor-shared-secret-value';
let certs: TestCertificates;
let hs: FakeDeployment;
let dir: string;
let masDb: TestDatabase;

beforeAll(async () => {
  certs = makeCertificates();
  hs = await startFakeDeployment(certs, SECRET);
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-doctor-'));
  // A MAS database with a live worker, as a running MAS has.
  masDb = await createTestDatabase('mas');
  await masDb.client.query(`INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at) VALUES (gen_random_uuid(), now(), now())`);
});
afterAll(async () => {
  await hs.close();
  await masDb.drop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});
afterEach(() => {
  hs.reset();
  hs.requests.length = 0;
});


function config(overrides: Record<string, unknown> = {}): string {
  const file = join(dir, `mas-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    stringify({
      http: { public_base: hs.masUrl },
      matrix: { homeserver: hs.hostPort, endpoint: hs.url, secret: SECRET },
      database: { uri: masDb.url },
      ...overrides,
    }),
  );
  return file;
}

async function doctor(extra: string[] = [], cfg = config()) {
  // The server name is the fake's host:port, where it serves the client well-known, as clients look it up.
  const r = await run(['doctor', '--json', '-c', cfg, '--ca-file', certs.caFile, ...extra]);
  const doc = JSON.parse(r.stdout) as { exitCode: number; checks: Array<{ id: string; status: string; message: string; fix?: string }> };
  return { ...r, doc, status: Object.fromEntries(doc.checks.map((c) => [c.id, c.status])) };
}

describe('doctor against a healthy deployment', () => {
  it('passes every check: exit 0', async () => {
    const r = await doctor();
    expect(r.status).toEqual({
      'issuer.https': 'pass',
      'wellknown.client': 'pass',
      'homeserver.reachable': 'pass',
      'homeserver.rejects_invalid_token': 'pass',
      'synapse.mas_api': 'pass',
      'compat.login': 'pass',
      'wellknown.format': 'pass',
      'discovery.client_base_url': 'pass',
      'discovery.openid_configuration': 'pass',
      'discovery.synapse_auth_metadata': 'pass',
      'compat.routes': 'pass',
      // Without --synapse-config and without an admin client, these have nothing to look at.
      'config.server_name': 'skip',
      'config.shared_secret': 'skip',
      'config.legacy_msc3861': 'skip',
      'config.synapse_conflicts': 'skip',
      'config.secret_strength': 'pass',
      'admin.synapse_server_version': 'pass',
      'admin.mas_api': 'skip',
      'mas.database': 'pass',
      'mas.worker': 'pass',
      'mas.jobs': 'pass',
      'tls.certificates': 'pass',
    });
    expect(r.code).toBe(0);
  });

  it('prints ✅ lines for people, and never the shared secret', async () => {
    const r = await run(['doctor', '-c', config(), '--ca-file', certs.caFile]);
    expect(r.stdout.split('\n')[0]).toBe(`Client base URL: ${hs.url} (m.homeserver.base_url of ${hs.url}.well-known/matrix/client).`);
    expect(r.stdout).toContain('✅ [synapse.mas_api]');
    expect(r.stdout).toContain('17 passed, 0 warnings, 0 failed, 5 skipped.');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('sends the shared secret only to /_synapse/mas/ on matrix.endpoint', async () => {
    await doctor();
    const withSecret = hs.requests.filter((q) => q.authorization === `Bearer ${SECRET}`).map((q) => q.path);
    expect(withSecret).toEqual(['/_synapse/mas/is_localpart_available']);
  });
});

describe('doctor finds what is wrong', () => {
  it('a secret mismatch (403) fails synapse.mas_api: exit 10', async () => {
    hs.faults.synapseSecret = 'another-secret';
    const r = await doctor();
    expect(r.status['synapse.mas_api']).toBe('fail');
    expect(r.doc.checks.find((c) => c.id === 'synapse.mas_api')?.message).toContain('refused the shared secret (403)');
    expect(r.code).toBe(10);
    expect(r.stdout).not.toContain(SECRET);
  });

  it('the integration disabled in Synapse (404) fails synapse.mas_api', async () => {
    hs.faults.integrationDisabled = true;
    const r = await doctor();
    expect(r.status['synapse.mas_api']).toBe('fail');
    expect(r.doc.checks.find((c) => c.id === 'synapse.mas_api')?.message).toContain('not enabled in homeserver.yaml');
  });

  it('Synapse unable to reach MAS (503 on whoami) fails the token check', async () => {
    hs.faults.whoamiStatus = 503;
    const r = await doctor();
    expect(r.status['homeserver.rejects_invalid_token']).toBe('fail');
    expect(r.doc.checks.find((c) => c.id === 'homeserver.rejects_invalid_token')?.message).toContain('503');
  });

  it('a fake token accepted (200 on whoami) fails the token check', async () => {
    hs.faults.whoamiStatus = 200;
    expect((await doctor()).status['homeserver.rejects_invalid_token']).toBe('fail');
  });

  it('the legacy login routed to Synapse fails compat.login, with the proxy rule to add', async () => {
    hs.faults.login = 'synapse-404';
    const r = await doctor();
    expect(r.status['compat.login']).toBe('fail');
    expect(r.doc.checks.find((c) => c.id === 'compat.login')?.fix).toContain('(login|logout|refresh)');
  });

  it('a login answered without MAS flows: a warning from compat.login, a failure from compat.routes', async () => {
    hs.faults.login = 'synapse-flows';
    const r = await doctor();
    expect(r.status['compat.login']).toBe('warn');
    expect(r.status['compat.routes']).toBe('fail');
    expect(r.code).toBe(10);
  });

  it('warnings only give exit 11', async () => {
    hs.faults.wellKnownCors = false;
    const r = await doctor();
    expect(r.status['wellknown.format']).toBe('warn');
    expect(Object.values(r.status)).not.toContain('fail');
    expect(r.code).toBe(11);
  });

  it.each([['missing'], ['not-json'], ['no-base-url']] as const)('a well-known document that is %s is a warning, and the routing checks are skipped, not run on matrix.endpoint', async (kind) => {
    hs.faults.wellKnown = kind;
    const r = await doctor();
    expect(r.status['wellknown.client']).toBe('warn');
    expect(r.status['compat.login']).toBe('skip');
    expect(r.doc.checks.find((c) => c.id === 'compat.login')?.message).toContain('--base-url URL');
  });

  it('an unreachable homeserver fails, and the checks that need it are skipped', async () => {
    hs.faults.versionsStatus = 502;
    const r = await doctor();
    expect(r.status).toMatchObject({ 'homeserver.reachable': 'fail', 'homeserver.rejects_invalid_token': 'skip', 'synapse.mas_api': 'skip' });
  });

  it('matrix.endpoint answering with a web server\'s welcome page fails homeserver.reachable ("not a Matrix homeserver"), and no later check reads that page as Synapse', async () => {
    const nginx = await startNginxWelcome();
    try {
      const r = await doctor([], config({ matrix: { homeserver: hs.hostPort, endpoint: nginx.url, secret: SECRET } }));
      expect(r.status).toMatchObject({ 'homeserver.reachable': 'fail', 'homeserver.rejects_invalid_token': 'skip', 'synapse.mas_api': 'skip' });
      const reachable = r.doc.checks.find((c) => c.id === 'homeserver.reachable');
      expect(reachable?.message).toContain('this is not a Matrix homeserver: got text/html');
      expect(reachable?.message).toContain(`${nginx.url}_matrix/client/versions`);
      expect(reachable?.fix).toContain('matrix.endpoint');
      expect(r.stdout).not.toContain('might have been accepted');
      // The shared secret never went to that page.
      expect(nginx.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
      expect(r.code).toBe(10);
    } finally {
      await nginx.close();
    }
  });

  it('an issuer that is not HTTPS is a warning', async () => {
    const r = await doctor([], config({ http: { public_base: 'http://[::]:8080/' } }));
    expect(r.status['issuer.https']).toBe('warn');
  });

  it('an untrusted certificate fails with a TLS reason when the private CA is not given', async () => {
    const r = await run(['doctor', '--json', '-c', config()]);
    const doc = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; message: string }> };
    const reachable = doc.checks.find((c) => c.id === 'homeserver.reachable');
    expect(reachable?.status).toBe('fail');
    expect(reachable?.message).toMatch(/TLS/);
  });

  it('a slow server fails at --timeout, saying so', async () => {
    hs.faults.delayMs = 3000;
    const r = await doctor(['--timeout', '0.3']);
    expect(r.status['homeserver.reachable']).toBe('fail');
    expect(r.doc.checks.find((c) => c.id === 'homeserver.reachable')?.message).toContain('no answer within 0.3 s');
  });

  it('does not send the shared secret along a redirect to another origin', async () => {
    const recorder = await startRecorder();
    try {
      hs.faults.redirectMasApiTo = recorder.url;
      await doctor();
      expect(recorder.requests.map((q) => q.path)).toEqual(['/_synapse/mas/is_localpart_available']);
      expect(recorder.requests[0]?.authorization).toBeUndefined();
    } finally {
      await recorder.close();
    }
  });
});

describe('doctor options', () => {
  it('looks up the well-known on the server name with its port, as Element does, and reports the same URL in both well-known checks', async () => {
    const r = await run(['doctor', '--json', '-c', config(), '--ca-file', certs.caFile, '--only', 'wellknown', '--timeout', '0.5']);
    const doc = JSON.parse(r.stdout) as { discovery: { wellKnown: { url: string } }; checks: Array<{ id: string; status: string; details?: { url?: string } }> };
    const url = `https://${hs.hostPort}/.well-known/matrix/client`;
    expect(doc.discovery.wellKnown.url).toBe(url);
    for (const id of ['wellknown.client', 'wellknown.format']) expect(doc.checks.find((c) => c.id === id)).toMatchObject({ status: 'pass', details: { url } });
  });

  it('--well-known-url looks up the well-known elsewhere, for every check alike', async () => {
    const elsewhere = 'https://127.0.0.1:1/.well-known/matrix/client';
    const r = await doctor(['--well-known-url', elsewhere, '--only', 'wellknown', '--timeout', '0.5']);
    expect(r.status).toMatchObject({ 'wellknown.client': 'warn', 'wellknown.format': 'skip' });
    expect(r.doc.checks.find((c) => c.id === 'wellknown.client')?.message).toContain(`${elsewhere} could not be fetched`);
    expect(r.doc.checks.find((c) => c.id === 'wellknown.format')?.message).toContain(elsewhere);
  });

  it.each([
    ['--base-url', 'matrix.example.com'],
    ['--base-url', 'ftp://matrix.example.com/'],
    ['--well-known-url', 'not a url'],
    ['--server-name', 'https://example.com'],
  ])('%s %s is a usage error with a hint', async (flag, value) => {
    const r = await run(['doctor', '--json', '-c', config(), flag, value]);
    expect(r.code).toBe(2);
    const error = (JSON.parse(r.stdout) as { error: { message: string; hint?: string } }).error;
    expect(error.message).toContain(flag);
    expect(error.hint).toMatch(/example\.com/);
  });

  it('--only and --skip select checks; unknown names are usage errors', async () => {
    const only = await doctor(['--only', 'compat']);
    expect(only.status['compat.login']).toBe('pass');
    expect(only.status['homeserver.reachable']).toBe('skip');
    const skipped = await doctor(['--skip', 'wellknown.client']);
    expect(skipped.status['wellknown.client']).toBe('skip');
    expect((await run(['doctor', '-c', config(), '--only', 'nonsense'])).code).toBe(2);
    expect((await run(['doctor', '-c', config(), '--skip', 'nonsense'])).code).toBe(2);
  });

  it('exits 1 with a clear message when the MAS config cannot be read', async () => {
    const r = await run(['doctor', '-c', join(dir, 'absent.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not exist');
  });
});
