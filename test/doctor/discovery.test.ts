// The discovery checks of doctor (client base URL, client well-known format, MAS's OpenID discovery
// document, Synapse's auth_metadata, every legacy compatibility route) through the CLI
// (`mas-tool doctor --json`), against real local HTTPS servers (test/helpers/fake-deployment.ts: a
// public host with Synapse behind a reverse proxy, and MAS on another origin), with faults switched
// on one at a time; each test asserts exact ids and statuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CheckResult } from '../../src/doctor/check.js';
import { run } from '../helpers/cli.js';
import { COMPAT_ROUTES, startFakeDeployment, type FakeDeployment } from '../helpers/fake-deployment.js';
import { makeCertificates, type TestCertificates } from '../helpers/tls.js';

const SECRET = 'discovery-shared-secret-value';
const IDS = ['wellknown.format', 'discovery.client_base_url', 'discovery.openid_configuration', 'discovery.synapse_auth_metadata', 'compat.routes'] as const;

let certs: TestCertificates;
let hs: FakeDeployment;
let dir: string;

beforeAll(async () => {
  certs = makeCertificates();
  hs = await startFakeDeployment(certs, SECRET);
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-discovery-'));
});
afterAll(async () => {
  await hs.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});
afterEach(() => hs.reset());

function masConfig(http: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { http: { public_base: hs.masUrl, ...http }, matrix: { homeserver: hs.hostPort, endpoint: hs.url, secret: SECRET }, ...extra };
}

interface Doctor {
  checks: CheckResult[];
  status: Record<string, string>;
  get(id: (typeof IDS)[number]): CheckResult;
  /** Everything printed. */
  output: string;
}

async function doctor(config = masConfig(), timeoutSeconds = 5): Promise<Doctor> {
  const file = join(dir, `mas-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(config));
  const families = ['issuer', 'wellknown', 'homeserver', 'discovery', 'compat'].flatMap((f) => ['--only', f]);
  // The server name is the fake's host:port, where it serves the well-known: clients look there.
  const r = await run(['doctor', '--json', '-c', file, '--ca-file', certs.caFile, '--timeout', String(timeoutSeconds), ...families]);
  const checks = (JSON.parse(r.stdout) as { checks: CheckResult[] }).checks;
  const status = Object.fromEntries(checks.filter((c) => (IDS as readonly string[]).includes(c.id)).map((c) => [c.id, c.status]));
  return {
    checks,
    status,
    output: r.stdout + r.stderr,
    get(id) {
      const c = checks.find((x) => x.id === id);
      if (c === undefined) throw new Error(`no result for ${id}`);
      return c;
    },
  };
}

const ALL_PASS = Object.fromEntries(IDS.map((id) => [id, 'pass']));

describe('discovery checks against a healthy deployment', () => {
  it('pass, as do the basic checks', async () => {
    const r = await doctor();
    expect(r.status).toEqual(ALL_PASS);
    for (const id of ['issuer.https', 'wellknown.client', 'homeserver.reachable', 'homeserver.rejects_invalid_token', 'synapse.mas_api', 'compat.login']) {
      expect(r.checks.find((c) => c.id === id)?.status).toBe('pass');
    }
    expect(r.get('compat.routes').details?.routes).toHaveLength(COMPAT_ROUTES.length);
    expect(r.get('discovery.openid_configuration').details).toMatchObject({ issuer: hs.masUrl, url: `${hs.masUrl}.well-known/openid-configuration` });
  });

  it('never send or print the shared secret, and send no redirectUrl to the SSO redirect', async () => {
    const r = await doctor();
    expect(r.output).not.toContain(SECRET);
    const withSecret = [...hs.requests, ...hs.masRequests].filter((q) => q.authorization === `Bearer ${SECRET}`).map((q) => q.path);
    expect(withSecret).toEqual(['/_synapse/mas/is_localpart_available']);
    expect(hs.masRequests.map((q) => q.path)).toEqual(['/.well-known/openid-configuration']);
  });

  it('accept an issuer written without the trailing slash MAS adds to a bare origin', async () => {
    const r = await doctor(masConfig({ public_base: hs.masUrl.replace(/\/$/, '') }));
    expect(r.status).toEqual(ALL_PASS);
  });

  it('note an org.matrix.msc2965.authentication block with the same issuer as obsolete, and still pass', async () => {
    hs.faults.wellKnownMsc2965 = 'same';
    const r = await doctor();
    expect(r.status['wellknown.format']).toBe('pass');
    expect(r.get('wellknown.format').details?.notes).toEqual([expect.stringContaining('obsolete')]);
  });
});

describe('issuer mismatches', () => {
  it('MAS publishing its issuer without the trailing slash fails, showing both values', async () => {
    hs.faults.masIssuer = 'no-trailing-slash';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.openid_configuration': 'fail', 'discovery.synapse_auth_metadata': 'fail' });
    const check = r.get('discovery.openid_configuration');
    expect(check.message).toContain(`gives the issuer "${hs.masUrl.replace(/\/$/, '')}"`);
    expect(check.message).toContain(`the configured issuer is "${hs.masUrl}"`);
    expect(check.details).toMatchObject({ issuer: hs.masUrl.replace(/\/$/, ''), expected: hs.masUrl });
  });

  it('Synapse giving the issuer without the trailing slash fails discovery.synapse_auth_metadata only', async () => {
    hs.faults.synapseIssuer = 'no-trailing-slash';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.synapse_auth_metadata': 'fail' });
    const check = r.get('discovery.synapse_auth_metadata');
    expect(check.message).toContain(`auth_metadata says "${hs.masUrl.replace(/\/$/, '')}"`);
    expect(check.message).toContain(`MAS's "${hs.masUrl}"`);
    expect(check.fix).toContain('matrix_authentication_service');
  });

  it('a configured issuer that MAS does not publish fails, showing both values', async () => {
    const r = await doctor(masConfig({ issuer: `${hs.masUrl}auth/` }));
    expect(r.status['discovery.openid_configuration']).toBe('fail');
    expect(r.get('discovery.openid_configuration').message).toContain(`gives the issuer "${hs.masUrl}", but the configured issuer is "${hs.masUrl}auth/"`);
    expect(r.status['discovery.synapse_auth_metadata']).toBe('fail');
  });

  it('an obsolete msc2965 block with another issuer is a warning', async () => {
    hs.faults.wellKnownMsc2965 = 'no-trailing-slash';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'wellknown.format': 'warn' });
    expect(r.get('wellknown.format').message).toContain(`gives the issuer "${hs.masUrl.replace(/\/$/, '')}", but MAS's issuer is "${hs.masUrl}"`);
  });
});

describe('the client well-known document', () => {
  it('without CORS is a warning', async () => {
    hs.faults.wellKnownCors = false;
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'wellknown.format': 'warn' });
    expect(r.get('wellknown.format').message).toContain('Access-Control-Allow-Origin');
    expect(r.get('wellknown.format').fix).toContain('Access-Control-Allow-Origin: *');
  });

  it('with the wrong content type is a warning', async () => {
    hs.faults.wellKnownContentType = 'text/plain';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'wellknown.format': 'warn' });
    expect(r.get('wellknown.format').message).toContain('served as text/plain, not application/json');
  });

  it('that is not JSON, or has no base_url, fails (clients stop); one that is absent skips; without a base URL the routes are not probed', async () => {
    const noBase = { ...ALL_PASS, 'discovery.client_base_url': 'skip', 'compat.routes': 'skip' };
    hs.faults.wellKnown = 'not-json';
    expect((await doctor()).status).toEqual({ ...noBase, 'wellknown.format': 'fail' });
    hs.faults.wellKnown = 'no-base-url';
    expect((await doctor()).status).toEqual({ ...noBase, 'wellknown.format': 'fail' });
    hs.faults.wellKnown = 'missing';
    const r = await doctor();
    expect(r.status).toEqual({ ...noBase, 'wellknown.format': 'skip' });
    expect(r.get('compat.routes').message).toContain('--base-url');
    // Synapse's own discovery answers are still read, on matrix.endpoint, and the message says so.
    expect(r.get('discovery.synapse_auth_metadata').message).toContain(`on ${hs.url} (matrix.endpoint`);
  });

  it('whose base_url does not answer fails discovery.client_base_url, naming the URL, and the routes are not probed there', async () => {
    hs.faults.wellKnownBaseUrl = 'https://127.0.0.1:1/';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.client_base_url': 'fail', 'compat.routes': 'skip' });
    expect(r.get('discovery.client_base_url').message).toContain('https://127.0.0.1:1/_matrix/client/versions could not be reached');
    expect(r.get('compat.routes').message).toContain('does not answer as a Matrix homeserver');
  });
});

describe("MAS's discovery document", () => {
  it("advertising MAS's default public base http://[::]:8080/ fails, with the fix", async () => {
    hs.faults.masEndpoints = 'default-public-base';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.openid_configuration': 'fail' });
    const check = r.get('discovery.openid_configuration');
    expect(check.message).toContain("MAS's default public base http://[::]:8080/");
    expect(check.message).toContain('token_endpoint http://[::]:8080/oauth2/token');
    expect(check.fix).toContain('Set http.public_base');
  });

  it('advertising http:// endpoints is a warning', async () => {
    hs.faults.masEndpoints = 'http';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.openid_configuration': 'warn' });
    expect(r.get('discovery.openid_configuration').message).toContain('plain HTTP');
  });

  it('without account_management_uri is a warning', async () => {
    hs.faults.masAccountManagement = false;
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.openid_configuration': 'warn' });
    expect(r.get('discovery.openid_configuration').message).toContain('account_management_uri');
  });

  it('that cannot be reached fails with the reason', async () => {
    const r = await doctor(masConfig({ public_base: 'https://127.0.0.1:1/' }));
    expect(r.status['discovery.openid_configuration']).toBe('fail');
    expect(r.get('discovery.openid_configuration').message).toContain('connection refused');
  });
});

describe("Synapse's discovery endpoints", () => {
  it('the integration disabled (404 everywhere) fails', async () => {
    hs.faults.integrationDisabled = true;
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.synapse_auth_metadata': 'fail' });
    expect(r.get('discovery.synapse_auth_metadata').message).toContain('the MAS integration is not enabled in homeserver.yaml');
  });

  it('only the stable auth_metadata missing (Synapse older than 1.138) is a warning', async () => {
    hs.faults.authMetadata = 'stable-missing';
    const r = await doctor();
    expect(r.status).toEqual({ ...ALL_PASS, 'discovery.synapse_auth_metadata': 'warn' });
    expect(r.get('discovery.synapse_auth_metadata').message).toContain('older than 1.138');
  });
});

describe('legacy compatibility routes', () => {
  it.each(COMPAT_ROUTES.map((route) => [route]))('%s sent to Synapse fails compat.routes, with nginx and Caddy rules', async (route) => {
    hs.faults.compatToSynapse = [route];
    const r = await doctor();
    const expected: Record<string, string> = { ...ALL_PASS, 'compat.routes': 'fail' };
    expect(r.status).toEqual(expected);
    const check = r.get('compat.routes');
    const routes = check.details?.routes as Array<{ route: string; verdict: string; status?: number; errcode?: string }>;
    expect(routes.filter((x) => x.verdict !== 'mas')).toEqual([expect.objectContaining({ route, verdict: 'synapse', status: 404, errcode: 'M_UNRECOGNIZED' })]);
    expect(check.message).toContain('1 of 6 legacy routes');
    expect(check.fix).toContain('location ~ ^/_matrix/client/(.*)/(login|logout|refresh)');
    expect(check.details?.nginx).toContain('location ~ ^/_matrix/client/(.*)/(login|logout|refresh) {\n    proxy_pass http://localhost:8080;');
    expect(check.details?.caddy).toContain('@mas path_regexp mas ^/_matrix/client/(.*)/(login|logout|refresh)');
    expect(check.details?.caddy).toContain('reverse_proxy @mas localhost:8080');
    // The basic check sees the same miss on v3 only.
    expect(r.checks.find((c) => c.id === 'compat.login')?.status).toBe(route === 'login-v3' ? 'fail' : 'pass');
  });

  it('the proxy rules point at the listener that serves the compat resource', async () => {
    hs.faults.compatToSynapse = ['refresh'];
    const listeners = [
      { name: 'web', resources: [{ name: 'discovery' }, { name: 'compat' }], binds: [{ address: '[::]:8081' }] },
      { name: 'internal', resources: [{ name: 'health' }], binds: [{ host: 'localhost', port: 8082 }] },
    ];
    const r = await doctor(masConfig({ listeners }));
    expect(r.get('compat.routes').details?.nginx).toContain('proxy_pass http://localhost:8081;');
    expect(r.get('compat.routes').details?.caddy).toContain(`reverse_proxy /_matrix/* ${new URL(hs.url).origin}`);
  });

  it('a login answered by a Synapse that does not delegate (no MAS flows) fails compat.routes', async () => {
    hs.faults.login = 'synapse-flows';
    const r = await doctor();
    expect(r.status['compat.routes']).toBe('fail');
    expect(r.get('compat.routes').message).toContain('2 of 6 legacy routes');
  });
});

describe('timeouts', () => {
  it('a slow deployment times out at --timeout, quickly, in every discovery check', async () => {
    hs.faults.delayMs = 3000;
    const started = Date.now();
    const r = await doctor(masConfig(), 0.3);
    expect(Date.now() - started).toBeLessThan(2900);
    expect(r.status).toEqual({
      'wellknown.format': 'skip',
      'discovery.client_base_url': 'skip',
      'discovery.openid_configuration': 'fail',
      'discovery.synapse_auth_metadata': 'fail',
      'compat.routes': 'skip',
    });
    expect(r.get('wellknown.format').message).toContain('no answer within 0.3 s');
    expect(r.get('discovery.openid_configuration').message).toContain('no answer within 0.3 s');
    expect(r.get('discovery.synapse_auth_metadata').message).toContain('no answer within 0.3 s');
    expect(r.get('compat.routes').message).toContain('no answer within 0.3 s');
  });
});
