// The admin and TLS checks of doctor against real local servers: a fake MAS (discovery, token
// endpoint, admin API), a fake Synapse admin API, and HTTPS servers with valid, untrusted, soon
// expiring and expired certificates. Each test asserts the status of the check and what it says;
// none of the results may contain the client secret or an access token.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMasConfig, type ParsedMasConfig } from '../../src/config/mas.js';
import type { CheckResult, DoctorCheck, DoctorContext } from '../../src/doctor/check.js';
import { adminApiChecks } from '../../src/doctor/checks/admin-api.js';
import { tlsChecks, tlsChecksWith } from '../../src/doctor/checks/tls.js';
import { createDoctorContext, type DoctorInput } from '../../src/doctor/context.js';
import { runChecks } from '../../src/doctor/runner.js';
import { createHttpClient, type HttpClient } from '../../src/http/client.js';
import { sourced } from '../helpers/config.js';
import { startFakeMas, type FakeMas, type FakeMasClient } from '../helpers/fake-mas.js';
import { makeExpiringCertificates, type ExpiringCertificates } from '../helpers/tls-expiring.js';
import { makeCertificates, type TestCertificates } from '../helpers/tls.js';

const SERVER_NAME = 'example.com';
const BASIC: FakeMasClient = { clientId: ulid(), secret: 'admin-basic-client-secret-0123456789', authMethod: 'client_secret_basic' };
const POST: FakeMasClient = { clientId: ulid(), secret: 'admin-post-client-secret-9876543210', authMethod: 'client_secret_post' };
const SECRETS = [BASIC.secret, POST.secret];

const closers: Array<() => Promise<void>> = [];
const dirs: string[] = [];
let http: HttpClient;
let dir: string;

beforeAll(() => {
  http = createHttpClient({ timeoutMs: 5000 });
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-admin-tls-'));
  dirs.push(dir);
});
afterAll(async () => {
  await http.close();
  await Promise.all(closers.map((c) => c()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface MasYaml {
  publicBase: string;
  endpoint?: string;
  clients?: Array<Record<string, unknown>>;
  adminClients?: string[];
  listeners?: Array<Record<string, unknown>>;
}

const PUBLIC_LISTENER = { name: 'web', resources: [{ name: 'discovery' }, { name: 'human' }, { name: 'oauth' }, { name: 'compat' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] };

function clientYaml(c: FakeMasClient): Record<string, unknown> {
  return { client_id: c.clientId, client_auth_method: c.authMethod, client_secret: c.secret };
}

function masConfig(o: MasYaml): ParsedMasConfig {
  return parseMasConfig(
    sourced(
      {
        http: { public_base: o.publicBase, listeners: o.listeners ?? [PUBLIC_LISTENER] },
        matrix: { homeserver: SERVER_NAME, endpoint: o.endpoint ?? 'http://127.0.0.1:1/', secret: 'matrix-shared-secret-value' },
        clients: o.clients ?? [clientYaml(BASIC), clientYaml(POST)],
        policy: { data: { admin_clients: o.adminClients ?? [BASIC.clientId, POST.clientId] } },
      },
      'config.yaml',
    ),
  );
}

function context(mas: ParsedMasConfig, overrides: Partial<DoctorInput> = {}): DoctorContext {
  // The well-known is looked up where clients look: the server name as given, port included.
  return createDoctorContext({
    issuer: mas.http.issuer,
    serverName: mas.matrix.homeserver,
    endpoint: mas.matrix.endpoint,
    sharedSecret: undefined,
    http,
    mas,
    masDb: () => {
      throw new Error('not needed');
    },
    timeoutMs: 5000,
    ...overrides,
  }).ctx;
}

/** Runs the checks and returns the one with this id; asserts that no secret or token leaks. */
async function runOne(checks: readonly DoctorCheck[], id: string, ctx: DoctorContext, tokens: readonly string[] = []): Promise<CheckResult> {
  const results = await runChecks(checks, ctx);
  const text = JSON.stringify(results);
  for (const s of [...SECRETS, ...tokens]) expect(text).not.toContain(s);
  const r = results.find((x) => x.id === id);
  expect(r).toBeDefined();
  return r!;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return (server.address() as AddressInfo).port;
}

describe('admin.synapse_server_version', () => {
  let endpoint: string;
  const synapse = { mode: 'ok' as 'ok' | 'old' | 'missing' };

  beforeAll(async () => {
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url === '/_synapse/admin/v1/server_version' && synapse.mode !== 'missing') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ server_version: synapse.mode === 'old' ? '1.120.2' : '1.157.1' }));
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }));
      }),
    );
    endpoint = `http://127.0.0.1:${port}/`;
  });
  afterEach(() => {
    synapse.mode = 'ok';
  });

  const check = () => runOne(adminApiChecks, 'admin.synapse_server_version', context(masConfig({ publicBase: 'http://127.0.0.1:1/', endpoint })));

  it('passes with the version of a recent Synapse', async () => {
    const r = await check();
    expect(r).toMatchObject({ status: 'pass', family: 'admin', details: { version: '1.157.1' } });
    expect(r.message).toContain('1.157.1');
  });

  it('warns about a Synapse older than 1.136', async () => {
    synapse.mode = 'old';
    const r = await check();
    expect(r.status).toBe('warn');
    expect(r.message).toContain('1.120.2');
    expect(r.message).toContain('1.136');
  });

  it('warns when the admin API is not exposed at matrix.endpoint (404)', async () => {
    synapse.mode = 'missing';
    const r = await check();
    expect(r.status).toBe('warn');
    expect(r.message).toContain('404');
  });
});

describe('admin.mas_api against a fake MAS over HTTP', () => {
  let mas: FakeMas;

  beforeAll(async () => {
    mas = await startFakeMas({ serverName: SERVER_NAME, clients: [BASIC, POST], adminClients: [BASIC.clientId, POST.clientId] });
    closers.push(() => mas.close());
  });
  afterEach(() => {
    Object.assign(mas.faults, { adminApiMissing: false, serverName: SERVER_NAME, acceptTokens: true });
    mas.adminClients = new Set([BASIC.clientId, POST.clientId]);
    mas.requests.length = 0;
  });

  const check = (yaml: Partial<MasYaml> = {}) => runOne(adminApiChecks, 'admin.mas_api', context(masConfig({ publicBase: mas.url, ...yaml })), mas.tokens);

  it('passes with a client_secret_basic admin client; the secret goes only to the token endpoint, the token only to the admin API', async () => {
    const r = await check({ clients: [clientYaml(BASIC)], adminClients: [BASIC.clientId] });
    expect(r).toMatchObject({ status: 'pass', details: { clientId: BASIC.clientId, authMethod: 'client_secret_basic', serverName: SERVER_NAME, url: `${mas.url}api/admin/v1/site-config` } });
    const tokenRequests = mas.requests.filter((q) => q.path === '/oauth2/token');
    expect(tokenRequests).toHaveLength(1);
    const header = tokenRequests[0]?.authorization ?? '';
    expect(header).toMatch(/^Basic /);
    // RFC 6749 §2.3.1: both parts form-urlencoded, then base64.
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':').map(decodeURIComponent);
    expect([id, secret]).toEqual([BASIC.clientId, BASIC.secret]);
    expect(tokenRequests[0]?.body).not.toContain(BASIC.secret);
    expect(new URLSearchParams(tokenRequests[0]?.body).get('scope')).toBe('urn:mas:admin');
    expect(new URLSearchParams(tokenRequests[0]?.body).get('grant_type')).toBe('client_credentials');
    expect(mas.requests.filter((q) => q.authorization === header).map((q) => q.path)).toEqual(['/oauth2/token']);
    const token = mas.tokens.at(-1)!;
    expect(mas.requests.filter((q) => q.authorization === `Bearer ${token}`).map((q) => q.path)).toEqual(['/api/admin/v1/site-config']);
  });

  it('passes with a client_secret_post admin client, the secret in the form body', async () => {
    const r = await check({ clients: [clientYaml(POST)], adminClients: [POST.clientId] });
    expect(r.status).toBe('pass');
    const form = new URLSearchParams(mas.requests.find((q) => q.path === '/oauth2/token')?.body);
    expect(form.get('client_id')).toBe(POST.clientId);
    expect(form.get('client_secret')).toBe(POST.secret);
  });

  it('reads the secret from client_secret_file', async () => {
    const file = join(dir, 'client-secret');
    writeFileSync(file, `${BASIC.secret}\n`);
    const r = await check({ clients: [{ client_id: BASIC.clientId, client_auth_method: 'client_secret_basic', client_secret_file: file }], adminClients: [BASIC.clientId] });
    expect(r.status).toBe('pass');
  });

  it('fails when the token endpoint refuses the client secret (invalid_client)', async () => {
    const r = await check({ clients: [{ ...clientYaml(BASIC), client_secret: 'not-the-secret-mas-has-0000' }], adminClients: [BASIC.clientId] });
    expect(r.status).toBe('fail');
    expect(r.message).toContain('invalid_client');
    expect(r.fix).toContain('policy.data.admin_clients');
    expect(JSON.stringify(r)).not.toContain('not-the-secret-mas-has-0000');
  });

  it('fails when MAS does not allow the client to use the admin API', async () => {
    mas.adminClients = new Set();
    const r = await check();
    expect(r.status).toBe('fail');
    expect(r.message).toContain('not allowed');
    expect(r.fix).toContain('policy.data.admin_clients');
  });

  it('fails when the admin API is not served (404)', async () => {
    mas.faults.adminApiMissing = true;
    const r = await check();
    expect(r).toMatchObject({ status: 'fail', details: { status: 404 } });
    expect(r.message).toContain('404');
    expect(r.fix).toContain('adminapi');
  });

  it('a 404 with adminapi on an internal listener only names that listener', async () => {
    mas.faults.adminApiMissing = true;
    const r = await check({
      listeners: [
        { name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }], binds: [{ address: '[::]:8080' }] },
        { name: 'internal', resources: [{ name: 'adminapi' }, { name: 'health' }], binds: [{ host: 'localhost', port: 8081 }], prefix: '/admin' },
      ],
    });
    expect(r.status).toBe('fail');
    expect(r.message).toContain('internal (prefix /admin)');
  });

  it('fails when the admin API refuses the token (401), with the error title', async () => {
    mas.faults.acceptTokens = false;
    const r = await check();
    expect(r).toMatchObject({ status: 'fail', details: { status: 401 } });
    expect(r.message).toContain('Unknown access token');
  });

  it('fails when MAS serves another server name than matrix.homeserver', async () => {
    mas.faults.serverName = 'other.example.org';
    const r = await check();
    expect(r.status).toBe('fail');
    expect(r.message).toContain('other.example.org');
    expect(r.message).toContain(SERVER_NAME);
  });

  it('skips, with the YAML to add, when no admin client is configured', async () => {
    const r = await check({ adminClients: [] });
    expect(r.status).toBe('skip');
    expect(r.message).toContain('policy.data.admin_clients');
    expect(r.fix).toContain('admin_clients:');
    expect(r.fix).toContain('client_auth_method: client_secret_basic');
    expect(mas.requests).toHaveLength(0);
  });

  it('skips when the admin client has no secret', async () => {
    const r = await check({ clients: [{ client_id: BASIC.clientId, client_auth_method: 'none' }], adminClients: [BASIC.clientId] });
    expect(r.status).toBe('skip');
    expect(r.message).toContain('no client_secret');
  });

  it('skips, with the YAML to add, when no listener has the adminapi resource', async () => {
    const r = await check({ listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }], binds: [{ address: '[::]:8080' }] }] });
    expect(r.status).toBe('skip');
    expect(r.message).toContain('adminapi');
    expect(r.fix).toContain('- name: adminapi');
    expect(mas.requests).toHaveLength(0);
  });
});

describe('admin.mas_api with a listener prefix', () => {
  it('asks public_base, which carries the prefix, without adding it twice', async () => {
    const mas = await startFakeMas({ serverName: SERVER_NAME, clients: [BASIC], adminClients: [BASIC.clientId], prefix: '/auth' });
    closers.push(() => mas.close());
    const cfg = masConfig({ publicBase: mas.url, clients: [clientYaml(BASIC)], adminClients: [BASIC.clientId], listeners: [{ ...PUBLIC_LISTENER, prefix: '/auth' }] });
    const r = await runOne(adminApiChecks, 'admin.mas_api', context(cfg), mas.tokens);
    expect(r).toMatchObject({ status: 'pass', details: { url: `${mas.origin}/auth/api/admin/v1/site-config` } });
  });
});

describe('admin.mas_api over HTTPS with a private CA', () => {
  let certs: TestCertificates;
  let mas: FakeMas;

  beforeAll(async () => {
    certs = makeCertificates();
    dirs.push(certs.dir);
    mas = await startFakeMas({ serverName: SERVER_NAME, clients: [BASIC], adminClients: [BASIC.clientId], tls: { key: certs.key, cert: certs.cert } });
    closers.push(() => mas.close());
  });

  const cfg = () => masConfig({ publicBase: mas.url, clients: [clientYaml(BASIC)], adminClients: [BASIC.clientId] });

  it('passes when doctor trusts the CA (--ca-file)', async () => {
    const trusting = createHttpClient({ timeoutMs: 5000, caFile: certs.caFile });
    try {
      const r = await runOne(adminApiChecks, 'admin.mas_api', context(cfg(), { http: trusting }), mas.tokens);
      expect(r.status).toBe('pass');
    } finally {
      await trusting.close();
    }
  });

  it('fails on discovery, with a TLS reason, without the CA; no secret was sent', async () => {
    mas.requests.length = 0;
    const r = await runOne(adminApiChecks, 'admin.mas_api', context(cfg()), mas.tokens);
    expect(r.status).toBe('fail');
    expect(r.message).toContain('discovery');
    expect(r.message).toMatch(/TLS/);
    expect(mas.requests).toHaveLength(0);
  });
});

describe('tls.certificates', () => {
  let certs: TestCertificates;
  let expiring: ExpiringCertificates;

  beforeAll(() => {
    certs = makeCertificates();
    expiring = makeExpiringCertificates({ expiresInDays: 5 });
    dirs.push(certs.dir, expiring.ca.dir);
  });

  async function httpsServer(tls: { key: string; cert: string }): Promise<string> {
    const port = await listen(
      createHttpsServer(tls, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }) as unknown as Server,
    );
    return `https://127.0.0.1:${port}`;
  }

  /** A deployment whose issuer, public base and well-known host are all `origin`; matrix.endpoint is plain HTTP. */
  function tlsContext(origin: string): DoctorContext {
    const mas = masConfig({ publicBase: `${origin}/`, endpoint: 'http://127.0.0.1:8008/' });
    return context(mas, { serverName: new URL(origin).host });
  }

  type OriginDetail = { origin: string; for: string[]; status: string; problem?: string; subject?: string; issuer?: string; notAfter?: string; daysLeft?: number };
  const origins = (r: CheckResult) => (r.details?.origins ?? []) as OriginDetail[];

  it('passes with the private CA given (--ca-file), and reports issuer, subject and notAfter per origin; http origins are skipped', async () => {
    const origin = await httpsServer(certs);
    const r = await runOne(tlsChecksWith(certs.caFile), 'tls.certificates', tlsContext(origin));
    expect(r).toMatchObject({ status: 'pass', family: 'tls' });
    const [https, plain] = origins(r);
    expect(https).toMatchObject({ origin, for: ['issuer', 'http.public_base', 'client well-known'], status: 'pass', subject: 'CN=127.0.0.1', issuer: 'CN=mas-tool test CA' });
    expect(https?.daysLeft).toBeGreaterThanOrEqual(28);
    expect(Date.parse(https?.notAfter ?? '')).toBeGreaterThan(Date.now());
    expect(plain).toMatchObject({ origin: 'http://127.0.0.1:8008', for: ['matrix.endpoint'], status: 'skip' });
  });

  it('fails without the CA (unknown CA), and suggests --ca-file', async () => {
    const origin = await httpsServer(certs);
    const r = await runOne(tlsChecks, 'tls.certificates', tlsContext(origin));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('unknown CA');
    expect(r.fix).toContain('--ca-file');
    expect(origins(r)[0]).toMatchObject({ status: 'fail', issuer: 'CN=mas-tool test CA' });
  });

  it('fails on a self-signed certificate, which also does not name the host', async () => {
    const origin = await httpsServer({ key: readFileSync(join(certs.dir, 'ca.key'), 'utf8'), cert: readFileSync(certs.caFile, 'utf8') });
    const r = await runOne(tlsChecks, 'tls.certificates', tlsContext(origin));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('self-signed');
    expect(r.message).toContain('not valid for 127.0.0.1');
    expect(r.fix).toContain('--ca-file');
  });

  it('warns about a certificate that expires in 5 days', async () => {
    const origin = await httpsServer(expiring.expiring);
    const r = await runOne(tlsChecksWith(expiring.ca.caFile), 'tls.certificates', tlsContext(origin));
    expect(r.status).toBe('warn');
    expect(r.message).toMatch(/expires in [45] days/);
    expect(origins(r)[0]?.daysLeft).toBeLessThanOrEqual(5);
  });

  it('fails on an expired certificate', async () => {
    const origin = await httpsServer(expiring.expired);
    const r = await runOne(tlsChecksWith(expiring.ca.caFile), 'tls.certificates', tlsContext(origin));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('expired on');
    expect(r.fix).toContain('Renew');
    expect(origins(r)[0]?.daysLeft).toBeLessThan(0);
  });

  it('checks matrix.endpoint too when it is HTTPS, each origin once', async () => {
    const good = await httpsServer(certs);
    const old = await httpsServer(expiring.expired);
    const mas = masConfig({ publicBase: `${good}/`, endpoint: `${old}/` });
    const both = `${readFileSync(certs.caFile, 'utf8')}\n${readFileSync(expiring.ca.caFile, 'utf8')}`;
    const caFile = join(dir, 'both-cas.pem');
    writeFileSync(caFile, both);
    const r = await runOne(tlsChecksWith(caFile), 'tls.certificates', context(mas, { serverName: new URL(good).host }));
    expect(r.status).toBe('fail');
    expect(origins(r).map((o) => [o.origin, o.status])).toEqual([
      [good, 'pass'],
      [old, 'fail'],
    ]);
    expect(r.message).toContain(`${old} (matrix.endpoint)`);
  });

  it('only warns about an HTTPS origin it cannot reach (its own check reports that); plain HTTP origins are skipped', async () => {
    const probe = createHttpServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const closed = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const mas = masConfig({ publicBase: 'http://127.0.0.1:8080/', endpoint: 'http://127.0.0.1:8008/' });
    const r = await runOne(tlsChecks, 'tls.certificates', context(mas, { serverName: `127.0.0.1:${closed}` }));
    expect(r.status).toBe('warn');
    expect(origins(r).map((o) => [o.origin, o.status])).toEqual([
      ['http://127.0.0.1:8080', 'skip'],
      ['http://127.0.0.1:8008', 'skip'],
      [`https://127.0.0.1:${closed}`, 'warn'],
    ]);
    expect(r.message).toContain('connection refused');
  });
});
