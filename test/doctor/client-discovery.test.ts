// Doctor sees the deployment as clients do (issue 13), through the CLI against a loopback HTTPS
// deployment whose server name carries a port: localhost:<port>, with the client well-known and MAS
// both served there by the reverse proxy, and matrix.endpoint naming Synapse's own plain-HTTP
// listener, which never routes anything to MAS. The well-known is found where Element finds it (port
// included), every routing check probes the client base URL and names it, and when no base URL can
// be found the routing checks are skipped with the --base-url hint instead of failing on
// matrix.endpoint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CheckResult } from '../../src/doctor/check.js';
import { httpUrl, wellKnownUrlFor, type DiscoveryReport } from '../../src/doctor/client-discovery.js';
import { run } from '../helpers/cli.js';
import { COMPAT_ROUTES, startFakeDeployment, startNginxWelcome, type FakeDeployment } from '../helpers/fake-deployment.js';
import { makeCertificates, type TestCertificates } from '../helpers/tls.js';

const SECRET = 'client-discovery-shared-secret';
/** Paths of the legacy routes, which must never be asked of matrix.endpoint. */
const ROUTE_PATHS = /^\/_matrix\/client\/[^/]+\/(login|logout|refresh)/;

let certs: TestCertificates;
let hs: FakeDeployment;
let dir: string;

beforeAll(async () => {
  certs = makeCertificates();
  hs = await startFakeDeployment(certs, SECRET, { host: 'localhost', masOnPublicHost: true });
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-client-discovery-'));
});
afterAll(async () => {
  await hs.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});
afterEach(() => hs.reset());

function config(): string {
  const file = join(dir, `mas-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ http: { public_base: hs.url }, matrix: { homeserver: hs.hostPort, endpoint: hs.synapseUrl, secret: SECRET } }));
  return file;
}

interface Doctor {
  code: number;
  stdout: string;
  discovery: DiscoveryReport | null;
  checks: CheckResult[];
  status: Record<string, string>;
  get(id: string): CheckResult;
}

/** doctor --json, without the MAS database checks (this deployment has no database; they are not the subject). */
async function doctor(extra: string[] = []): Promise<Doctor> {
  const r = await run(['doctor', '--json', '-c', config(), '--ca-file', certs.caFile, '--skip', 'mas.database', ...extra]);
  const doc = JSON.parse(r.stdout) as { exitCode: number; discovery: DiscoveryReport | null; checks: CheckResult[] };
  expect(doc.exitCode).toBe(r.code);
  expect(r.stdout + r.stderr).not.toContain(SECRET);
  return {
    code: r.code,
    stdout: r.stdout,
    discovery: doc.discovery,
    checks: doc.checks,
    status: Object.fromEntries(doc.checks.map((c) => [c.id, c.status])),
    get(id) {
      const c = doc.checks.find((x) => x.id === id);
      if (c === undefined) throw new Error(`no result for ${id}`);
      return c;
    },
  };
}

const HEALTHY = {
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
  'config.server_name': 'skip',
  'config.shared_secret': 'skip',
  'config.legacy_msc3861': 'skip',
  'config.synapse_conflicts': 'skip',
  'config.secret_strength': 'pass',
  'admin.synapse_server_version': 'pass',
  'admin.mas_api': 'skip',
  'mas.database': 'skip',
  'mas.worker': 'skip',
  'mas.jobs': 'skip',
  'tls.certificates': 'pass',
};

describe('a server name with a port (localhost:<port>)', () => {
  it('a healthy deployment passes: exit 0, the well-known found with the port, the routes probed on the client base URL', async () => {
    const r = await doctor();
    expect(r.status).toEqual(HEALTHY);
    expect(r.code).toBe(0);
    const wellKnown = `${hs.url}.well-known/matrix/client`;
    expect(wellKnown).toMatch(/^https:\/\/localhost:\d+\//);
    expect(r.discovery).toMatchObject({ serverName: hs.hostPort, wellKnown: { url: wellKnown, from: 'server-name', outcome: 'found', action: 'SUCCESS' }, baseUrl: hs.url, baseUrlFrom: 'well-known', baseUrlUsable: true });
    // One lookup, one URL, for both well-known checks.
    expect(r.get('wellknown.client').details?.url).toBe(wellKnown);
    expect(r.get('wellknown.format').details?.url).toBe(wellKnown);
    expect(hs.requests.filter((q) => q.path === '/.well-known/matrix/client')).toHaveLength(1);
    // The routing checks name the base URL they probed; the internal ones name matrix.endpoint.
    expect(r.get('compat.routes').message).toContain(`on ${hs.url} (m.homeserver.base_url of ${wellKnown})`);
    expect(r.get('compat.login').message).toContain(`${hs.url}_matrix/client/v3/login`);
    for (const id of ['homeserver.reachable', 'homeserver.rejects_invalid_token', 'synapse.mas_api']) expect(r.get(id).message).toContain(`${hs.synapseUrl}_`);
    expect(hs.synapseRequests.filter((q) => ROUTE_PATHS.test(q.path))).toEqual([]);
    // The shared secret went to Synapse's own listener only.
    const withSecret = [...hs.requests, ...hs.synapseRequests].filter((q) => q.authorization === `Bearer ${SECRET}`);
    expect(withSecret).toEqual([expect.objectContaining({ path: '/_synapse/mas/is_localpart_available' })]);
    expect(hs.requests.some((q) => q.authorization === `Bearer ${SECRET}`)).toBe(false);
  });

  it('says which base URL it used, and how it was found, atop the human output', async () => {
    const r = await run(['doctor', '-c', config(), '--ca-file', certs.caFile, '--skip', 'mas.database']);
    expect(r.stdout.split('\n')[0]).toBe(`Client base URL: ${hs.url} (m.homeserver.base_url of ${hs.url}.well-known/matrix/client).`);
    expect(r.code).toBe(0);
  });

  it.each(COMPAT_ROUTES.map((route) => [route]))('the route %s planted on Synapse fails compat.routes (exit 10), naming the route and the URL probed', async (route) => {
    hs.faults.compatToSynapse = [route];
    const r = await doctor();
    expect(r.status).toEqual({ ...HEALTHY, 'compat.routes': 'fail', 'compat.login': route === 'login-v3' ? 'fail' : 'pass' });
    expect(r.code).toBe(10);
    const check = r.get('compat.routes');
    const row = (check.details?.routes as Array<{ route: string; request: string; url: string; verdict: string }>).find((x) => x.route === route);
    expect(row).toMatchObject({ verdict: 'synapse' });
    expect(row?.url.startsWith(hs.url)).toBe(true);
    expect(check.message).toContain(`1 of 6 legacy routes on ${hs.url}`);
    expect(check.message).toContain(`${row?.request} answered 404 M_UNRECOGNIZED (Synapse)`);
    expect(check.fix).toContain(`on ${hs.hostPort} to MAS`);
    if (route === 'login-v3') expect(r.get('compat.login').message).toContain(`${hs.url}_matrix/client/v3/login`);
  });

  it('the whole legacy login routed to Synapse fails both compat checks, each naming the URL it probed', async () => {
    hs.faults.login = 'synapse-404';
    const r = await doctor();
    expect(r.status).toEqual({ ...HEALTHY, 'compat.login': 'fail', 'compat.routes': 'fail' });
    expect(r.code).toBe(10);
    expect(r.get('compat.login').message).toContain(`The legacy login API at ${hs.url}_matrix/client/v3/login`);
    expect(r.get('compat.routes').message).toContain('2 of 6 legacy routes');
    expect(r.get('compat.routes').message).toContain('GET /_matrix/client/r0/login answered 404');
  });
});

describe('no client well-known', () => {
  it('skips the routing checks with the --base-url hint, probes nothing on matrix.endpoint for them, and fails nothing', async () => {
    hs.faults.wellKnown = 'missing';
    const r = await doctor();
    expect(r.status).toEqual({ ...HEALTHY, 'wellknown.client': 'warn', 'wellknown.format': 'skip', 'discovery.client_base_url': 'skip', 'compat.login': 'skip', 'compat.routes': 'skip' });
    expect(r.code).toBe(11);
    const wellKnown = `${hs.url}.well-known/matrix/client`;
    for (const id of ['compat.login', 'compat.routes']) {
      expect(r.get(id).message).toContain(`the client base URL is unknown (${wellKnown} answered 404`);
      expect(r.get(id).message).toContain('--base-url URL');
      expect(r.get(id).message).not.toContain(hs.synapseUrl);
    }
    expect(r.get('wellknown.client').message).toContain(`${wellKnown} answered 404`);
    expect(r.discovery).toMatchObject({ baseUrl: null, baseUrlFrom: null, wellKnown: { outcome: 'missing', action: 'IGNORE', status: 404 } });
    expect(hs.synapseRequests.filter((q) => ROUTE_PATHS.test(q.path))).toEqual([]);
    expect(hs.requests.filter((q) => ROUTE_PATHS.test(q.path))).toEqual([]);
    // Synapse's own discovery answers are still compared, on matrix.endpoint, saying so.
    expect(r.get('discovery.synapse_auth_metadata').message).toContain(`on ${hs.synapseUrl} (matrix.endpoint`);
  });

  it('prints that the base URL is unknown and how to name it', async () => {
    hs.faults.wellKnown = 'missing';
    const r = await run(['doctor', '-c', config(), '--ca-file', certs.caFile, '--skip', 'mas.database']);
    expect(r.stdout.split('\n')[0]).toBe(`Client base URL: unknown (${hs.url}.well-known/matrix/client answered 404); routing checks skipped, name it with --base-url URL.`);
    expect(r.code).toBe(11);
  });

  it('--base-url names the client base URL: the routing checks run there, pass, and catch a planted fault', async () => {
    hs.faults.wellKnown = 'missing';
    const r = await doctor(['--base-url', hs.url]);
    expect(r.status).toEqual({ ...HEALTHY, 'wellknown.client': 'warn', 'wellknown.format': 'skip' });
    expect(r.code).toBe(11);
    expect(r.discovery).toMatchObject({ baseUrl: hs.url, baseUrlFrom: '--base-url', baseUrlUsable: true });
    expect(r.get('compat.routes').message).toContain(`on ${hs.url} (given with --base-url)`);
    expect(r.get('discovery.client_base_url').message).toContain(`Clients reach the homeserver at ${hs.url} (given with --base-url)`);

    hs.faults.compatToSynapse = ['logout-all'];
    const bad = await doctor(['--base-url', hs.url]);
    expect(bad.status['compat.routes']).toBe('fail');
    expect(bad.code).toBe(10);
    expect(bad.get('compat.routes').message).toContain('POST /_matrix/client/v3/logout/all answered 404');
  });
});

describe('a base URL that is not a homeserver', () => {
  it("a well-known base_url on a web server's welcome page fails discovery.client_base_url, and the routes are not probed there", async () => {
    const nginx = await startNginxWelcome();
    try {
      hs.faults.wellKnownBaseUrl = nginx.url;
      const r = await doctor();
      expect(r.status).toEqual({ ...HEALTHY, 'discovery.client_base_url': 'fail', 'compat.login': 'skip', 'compat.routes': 'skip' });
      expect(r.code).toBe(10);
      const check = r.get('discovery.client_base_url');
      expect(check.message).toContain(`The client base URL ${nginx.url} (m.homeserver.base_url of ${hs.url}.well-known/matrix/client) does not work`);
      expect(check.message).toContain(`${nginx.url}_matrix/client/versions answered 200, but this is not a Matrix homeserver: got text/html`);
      expect(check.fix).toContain('m.homeserver.base_url');
      expect(r.get('compat.routes').message).toContain('does not answer as a Matrix homeserver (see discovery.client_base_url)');
      expect(r.discovery).toMatchObject({ baseUrl: nginx.url, baseUrlFrom: 'well-known', baseUrlUsable: false, wellKnown: { action: 'FAIL_ERROR' } });
      expect(nginx.requests.map((q) => q.path)).toEqual(['/_matrix/client/versions']);
    } finally {
      await nginx.close();
    }
  });

  it('a --base-url that differs from a working well-known is used, with a note that clients use the well-known', async () => {
    const other = hs.url.replace('localhost', '127.0.0.1');
    const r = await doctor(['--base-url', other]);
    expect(r.status).toEqual(HEALTHY);
    expect(r.get('discovery.client_base_url').message).toContain(`Note: The well-known gives ${hs.url}, which clients use; the routing checks use --base-url.`);
    expect(r.get('compat.routes').details?.base).toBe(other);
  });
});

describe('the lookup itself', () => {
  it('builds the well-known URL from the server name as given, port included (IPv6 literals too)', () => {
    expect(wellKnownUrlFor('example.com')).toBe('https://example.com/.well-known/matrix/client');
    expect(wellKnownUrlFor('localhost:18443')).toBe('https://localhost:18443/.well-known/matrix/client');
    expect(wellKnownUrlFor('[::1]:8448')).toBe('https://[::1]:8448/.well-known/matrix/client');
  });

  it('accepts only http(s) base URLs with a host, as Element does', () => {
    expect(httpUrl('https://matrix.example.com')?.href).toBe('https://matrix.example.com/');
    expect(httpUrl('http://127.0.0.1:8008/prefix/')?.pathname).toBe('/prefix/');
    for (const bad of ['matrix.example.com', 'ftp://matrix.example.com/', 'file:///etc/passwd', '']) expect(httpUrl(bad)).toBeUndefined();
  });

  it('is done only when a check needs it: --only config asks nothing over HTTP, and --json says discovery: null', async () => {
    const r = await doctor(['--only', 'config']);
    expect(r.discovery).toBeNull();
    expect([...hs.requests, ...hs.synapseRequests, ...hs.masRequests]).toEqual([]);
  });
});
