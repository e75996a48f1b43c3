// Local servers that behave like a MAS deployment, as the MAS and Synapse documentation describe it,
// with faults that tests switch on:
// - the public host (HTTPS): Synapse behind a reverse proxy that serves the client well-known
//   document and sends MAS's compatibility routes (^/_matrix/client/(.*)/(login|logout|refresh)) to
//   MAS; with `masOnPublicHost`, MAS's own paths (discovery, OAuth, account) are served there too;
// - MAS itself, on another origin (HTTPS): its OpenID discovery document and its compatibility routes;
// - Synapse's own client listener (plain HTTP, what matrix.endpoint usually names): Synapse under
//   MAS without any proxy, so every legacy route answers 404 M_UNRECOGNIZED there.
// The HTTPS servers share one certificate (127.0.0.1 and localhost) signed by the test CA.
// startNginxWelcome() is a web server that is not Synapse at all: nginx's default site.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCertificates } from './tls.js';

/** The legacy routes MAS serves in place of Synapse, as the checks name them. */
export const COMPAT_ROUTES = ['login-r0', 'login-v3', 'sso-redirect', 'logout', 'logout-all', 'refresh'] as const;
export type CompatRoute = (typeof COMPAT_ROUTES)[number];

export interface Faults {
  /** The shared secret Synapse expects on /_synapse/mas/ (a mismatch gives 403). */
  synapseSecret: string;
  /** matrix_authentication_service disabled in Synapse: /_synapse/mas/ and discovery are 404. */
  integrationDisabled: boolean;
  /** What /_matrix/client/v3/account/whoami answers to an unknown token. */
  whoamiStatus: number;
  versionsStatus: number;
  /** The legacy login route reaches Synapse (404 under MAS) instead of MAS, or a Synapse without MAS. */
  login: 'mas' | 'synapse-404' | 'synapse-flows';
  wellKnown: 'ok' | 'missing' | 'not-json' | 'no-base-url';
  /** Delay every answer (of both servers) by this many ms. */
  delayMs: number;
  /** Redirect /_synapse/mas/ to this other origin (to see what follows the redirect). */
  redirectMasApiTo?: string;

  /** Compatibility routes the reverse proxy sends to Synapse (which answers 404 M_UNRECOGNIZED under MAS). */
  compatToSynapse: CompatRoute[];
  /** The issuer MAS's discovery document gives: MAS's URL, or the same without its trailing slash. */
  masIssuer: 'ok' | 'no-trailing-slash';
  /**
   * Where the endpoints in MAS's discovery document point: MAS's HTTPS URL, the same over http://,
   * or MAS's default public base `http://[::]:8080/` (http.issuer set but http.public_base left out).
   */
  masEndpoints: 'ok' | 'http' | 'default-public-base';
  /** Whether MAS's discovery document has account_management_uri. */
  masAccountManagement: boolean;
  /**
   * The issuer Synapse's auth_metadata and auth_issuer give: MAS's, passed through, or MAS's without
   * the trailing slash (as a Synapse configured by hand with another string would).
   */
  synapseIssuer: 'mas' | 'no-trailing-slash';
  /** A Synapse older than 1.138: the stable /_matrix/client/v1/auth_metadata is 404, the unstable ones answer. */
  authMetadata: 'ok' | 'stable-missing';
  /** The obsolete org.matrix.msc2965.authentication block in the well-known: absent, MAS's issuer, or without its trailing slash. */
  wellKnownMsc2965: 'none' | 'same' | 'no-trailing-slash';
  /** Whether the well-known carries Access-Control-Allow-Origin: *. */
  wellKnownCors: boolean;
  /** The Content-Type of the well-known document. */
  wellKnownContentType: string;
  /** m.homeserver.base_url in the well-known, instead of the public host. */
  wellKnownBaseUrl?: string;
  /** What GET /_synapse/admin/v1/server_version (no auth) gives. */
  synapseVersion: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FakeDeploymentOptions {
  /** The host name in the public URLs (the servers listen on 127.0.0.1 either way). Default 127.0.0.1. */
  host?: 'localhost' | '127.0.0.1';
  /** MAS served on the public host too (issuer = the public URL), as one reverse proxy in front of both. */
  masOnPublicHost?: boolean;
}

export interface FakeDeployment {
  /** The public host (Synapse behind the reverse proxy), with a trailing slash. */
  url: string;
  /** host:port of the public host: the server name, when the well-known is served on it. */
  hostPort: string;
  /** Synapse's own client listener, plain HTTP, no proxy: what matrix.endpoint names. */
  synapseUrl: string;
  /** Requests to Synapse's own listener. */
  synapseRequests: RecordedRequest[];
  /** MAS's public URL, and so its issuer, with a trailing slash. */
  masUrl: string;
  faults: Faults;
  /** Requests to the public host. */
  requests: RecordedRequest[];
  /** Requests to MAS directly. */
  masRequests: RecordedRequest[];
  /** Sets every fault back to its default and forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export function defaultFaults(secret: string): Faults {
  return {
    synapseSecret: secret,
    integrationDisabled: false,
    whoamiStatus: 401,
    versionsStatus: 200,
    login: 'mas',
    wellKnown: 'ok',
    delayMs: 0,
    compatToSynapse: [],
    masIssuer: 'ok',
    masEndpoints: 'ok',
    masAccountManagement: true,
    synapseIssuer: 'mas',
    authMetadata: 'ok',
    wellKnownMsc2965: 'none',
    wellKnownCors: true,
    wellKnownContentType: 'application/json',
    synapseVersion: '1.157.1',
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', ...headers });
  res.end(JSON.stringify(body));
};

const unrecognized = (res: ServerResponse): void => json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });

const MAS_FLOWS = {
  flows: [{ type: 'm.login.password' }, { type: 'm.login.sso', oauth_aware_preferred: true, 'org.matrix.msc3824.delegated_oidc_compatibility': true }, { type: 'm.login.token' }],
};

/** Which compatibility route a path is, when the reverse proxy's rule ^/_matrix/client/(.*)/(login|logout|refresh) matches it. */
function compatRoute(path: string): CompatRoute | undefined {
  const m = /^\/_matrix\/client\/([^/]+)\/(login|logout|refresh)(\/.*)?$/.exec(path);
  if (m === null) return undefined;
  const [, version, name, rest = ''] = m;
  if (name === 'login') {
    if (rest.startsWith('/sso/redirect')) return 'sso-redirect';
    return rest === '' ? (version === 'r0' ? 'login-r0' : 'login-v3') : undefined;
  }
  if (name === 'logout') return rest === '/all' ? 'logout-all' : rest === '' ? 'logout' : undefined;
  return rest === '' ? 'refresh' : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Paths MAS serves under its public base (besides the compatibility routes). */
function isMasPath(path: string): boolean {
  return path === '/.well-known/openid-configuration' || ['/oauth2/', '/authorize', '/account/', '/complete-compat-sso/', '/assets/'].some((p) => path.startsWith(p));
}

export async function startFakeDeployment(certs: TestCertificates, secret: string, options: FakeDeploymentOptions = {}): Promise<FakeDeployment> {
  const faults: Faults = defaultFaults(secret);
  const requests: RecordedRequest[] = [];
  const masRequests: RecordedRequest[] = [];
  const synapseRequests: RecordedRequest[] = [];
  const host = options.host ?? '127.0.0.1';
  let base = '';
  let masBase = '';

  const masIssuer = (): string => (faults.masIssuer === 'no-trailing-slash' ? masBase : `${masBase}/`);
  /** MAS's discovery document, as MAS builds it from its config. */
  const masMetadata = (): Record<string, unknown> => {
    const b = faults.masEndpoints === 'default-public-base' ? 'http://[::]:8080/' : faults.masEndpoints === 'http' ? `${masBase.replace(/^https:/, 'http:')}/` : `${masBase}/`;
    return {
      issuer: masIssuer(),
      authorization_endpoint: `${b}authorize`,
      token_endpoint: `${b}oauth2/token`,
      jwks_uri: `${b}oauth2/keys.json`,
      registration_endpoint: `${b}oauth2/registration`,
      introspection_endpoint: `${b}oauth2/introspect`,
      revocation_endpoint: `${b}oauth2/revoke`,
      userinfo_endpoint: `${b}oauth2/userinfo`,
      device_authorization_endpoint: `${b}oauth2/device`,
      ...(faults.masAccountManagement ? { account_management_uri: `${b}account/`, account_management_actions_supported: ['org.matrix.profile', 'org.matrix.sessions_list', 'org.matrix.cross_signing_reset'] } : {}),
      scopes_supported: ['openid', 'email'],
      response_types_supported: ['code', 'id_token', 'code id_token'],
      response_modes_supported: ['form_post', 'query', 'fragment'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
      code_challenge_methods_supported: ['plain', 'S256'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      prompt_values_supported: ['create'],
    };
  };

  /** MAS's compatibility layer: what MAS answers on the legacy routes. */
  const masCompat = (req: IncomingMessage, res: ServerResponse, route: CompatRoute, url: URL, body: string): unknown => {
    const method = req.method ?? 'GET';
    if (route === 'login-r0' || route === 'login-v3') {
      if (method === 'GET') return json(res, 200, MAS_FLOWS);
      return json(res, 400, { errcode: 'M_BAD_JSON', error: 'JSON fields are not valid' });
    }
    if (route === 'sso-redirect') {
      if (method !== 'GET') return json(res, 405, { errcode: 'M_UNRECOGNIZED', error: 'Method not allowed' });
      if (url.searchParams.get('redirectUrl') === null) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('Missing redirectUrl');
      }
      res.writeHead(303, { location: `${masBase}/complete-compat-sso/01J0000000000000000000000` });
      return res.end();
    }
    if (method !== 'POST') return json(res, 405, { errcode: 'M_UNRECOGNIZED', error: 'Method not allowed' });
    if (route === 'logout' || route === 'logout-all') {
      if (req.headers.authorization === undefined) return json(res, 401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' });
      return json(res, 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token' });
    }
    // refresh
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/json\b/.test(type)) return json(res, 400, { errcode: 'M_NOT_JSON', error: 'Invalid Content-Type header: expected application/json' });
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return json(res, 400, { errcode: 'M_NOT_JSON', error: 'Body is not a valid JSON document' });
    }
    if (typeof (doc as { refresh_token?: unknown } | null)?.refresh_token !== 'string') return json(res, 400, { errcode: 'M_BAD_JSON', error: 'JSON fields are not valid' });
    return json(res, 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid refresh token' });
  };

  const handle = (record: RecordedRequest[], route: (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => unknown) => (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    record.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization });
    void readBody(req).then((body) => {
      setTimeout(() => route(req, res, url, body), faults.delayMs);
    });
  };

  /** Synapse itself, with matrix_authentication_service enabled, as any of its client listeners answers. */
  const synapse = (req: IncomingMessage, res: ServerResponse, url: URL): unknown => {
    const path = url.pathname;
    if (path === '/.well-known/matrix/client') return json(res, 404, { errcode: 'M_NOT_FOUND', error: '.well-known not available' });
    if (path === '/_matrix/client/versions') return json(res, faults.versionsStatus, { versions: ['r0.6.1', 'v1.1', 'v1.11', 'v1.12'] });
    if (path === '/_synapse/admin/v1/server_version') return json(res, 200, { server_version: faults.synapseVersion });
    if (path === '/_matrix/client/v3/account/whoami') {
      if (req.headers.authorization === undefined) return json(res, 401, { errcode: 'M_MISSING_TOKEN' });
      if (faults.whoamiStatus === 200) return json(res, 200, { user_id: '@someone:example.com' });
      if (faults.whoamiStatus === 503) return json(res, 503, { errcode: 'M_UNKNOWN', error: 'Unable to introspect the access token' });
      return json(res, faults.whoamiStatus, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false });
    }
    if (path.startsWith('/_synapse/mas/')) {
      if (faults.redirectMasApiTo !== undefined) {
        res.writeHead(302, { location: `${faults.redirectMasApiTo}${path}` });
        return res.end();
      }
      if (faults.integrationDisabled) return unrecognized(res);
      if (req.headers.authorization !== `Bearer ${faults.synapseSecret}`) return json(res, 403, { errcode: 'M_FORBIDDEN', error: 'This endpoint must only be called by MAS' });
      return json(res, 400, { errcode: 'M_MISSING_PARAM', error: 'Missing localpart' });
    }
    // Synapse's discovery endpoints: registered only with the integration on; they pass MAS's
    // discovery document through.
    const discovery = {
      stable: path === '/_matrix/client/v1/auth_metadata',
      unstable: path === '/_matrix/client/unstable/org.matrix.msc2965/auth_metadata',
      issuer: path === '/_matrix/client/unstable/org.matrix.msc2965/auth_issuer',
    };
    if (discovery.stable || discovery.unstable || discovery.issuer) {
      if (faults.integrationDisabled || (discovery.stable && faults.authMetadata === 'stable-missing')) return unrecognized(res);
      const metadata = masMetadata();
      if (faults.synapseIssuer === 'no-trailing-slash') metadata.issuer = String(metadata.issuer).replace(/\/$/, '');
      const cache = { 'cache-control': 'public, max-age=600, s-maxage=3600, stale-while-revalidate=600' };
      return json(res, 200, discovery.issuer ? { issuer: metadata.issuer } : metadata, cache);
    }
    const compat = compatRoute(path);
    // A Synapse that does not delegate to MAS still has its own login servlet.
    if ((compat === 'login-r0' || compat === 'login-v3') && faults.login === 'synapse-flows') {
      return json(res, 200, { flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] });
    }
    // Under MAS, Synapse registers none of the compatibility servlets.
    return unrecognized(res);
  };

  /** The reverse proxy on the public host: the well-known, MAS's routes to MAS, the rest to Synapse. */
  const server: Server = createServer(
    { key: certs.key, cert: certs.cert },
    handle(requests, (req, res, url, body) => {
      const path = url.pathname;
      if (path === '/.well-known/matrix/client') {
        if (faults.wellKnown === 'missing') return json(res, 404, { errcode: 'M_NOT_FOUND', error: '.well-known not available' });
        if (faults.wellKnown === 'not-json') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>welcome</html>');
        }
        const doc: Record<string, unknown> = faults.wellKnown === 'no-base-url' ? {} : { 'm.homeserver': { base_url: faults.wellKnownBaseUrl ?? `${base}/` } };
        if (faults.wellKnownMsc2965 !== 'none') {
          doc['org.matrix.msc2965.authentication'] = { issuer: faults.wellKnownMsc2965 === 'same' ? `${masBase}/` : masBase, account: `${masBase}/account/` };
        }
        res.writeHead(200, { 'content-type': faults.wellKnownContentType, ...(faults.wellKnownCors ? { 'access-control-allow-origin': '*' } : {}) });
        return res.end(JSON.stringify(doc));
      }
      if (options.masOnPublicHost === true && isMasPath(path)) return masRoutes(req, res, url, body);
      const compat = compatRoute(path);
      if (compat === 'login-r0' || compat === 'login-v3') {
        // The older, whole-route fault, kept for the basic checks' tests.
        if (faults.login === 'synapse-404') return unrecognized(res);
        if (faults.login === 'synapse-flows') return synapse(req, res, url);
      }
      if (compat !== undefined) {
        if (faults.compatToSynapse.includes(compat)) return synapse(req, res, url);
        return masCompat(req, res, compat, url, body);
      }
      return synapse(req, res, url);
    }),
  );

  const internal: HttpServer = createHttpServer(handle(synapseRequests, (req, res, url) => synapse(req, res, url)));

  /** MAS's own routes. */
  const masRoutes = (req: IncomingMessage, res: ServerResponse, url: URL, body: string): unknown => {
    const path = url.pathname;
    // Under any prefix, so that a configured issuer with a path finds a document (with MAS's issuer).
    if (path.endsWith('/.well-known/openid-configuration')) return json(res, 200, masMetadata());
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('ok');
    }
    if (path.startsWith('/complete-compat-sso/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html>Continue to your account</html>');
    }
    const compat = compatRoute(path);
    if (compat !== undefined) return masCompat(req, res, compat, url, body);
    res.writeHead(404, { 'content-type': 'text/html' });
    return res.end('<html>Page not found</html>');
  };
  const mas: Server = createServer({ key: certs.key, cert: certs.cert }, handle(masRequests, masRoutes));

  const servers = [server, mas, internal];
  for (const x of servers) x.listen(0, '127.0.0.1');
  await Promise.all(servers.map((x) => once(x, 'listening')));
  const port = (server.address() as AddressInfo).port;
  base = `https://${host}:${port}`;
  masBase = options.masOnPublicHost === true ? base : `https://${host}:${(mas.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    hostPort: `${host}:${port}`,
    synapseUrl: `http://127.0.0.1:${(internal.address() as AddressInfo).port}/`,
    synapseRequests,
    masUrl: `${masBase}/`,
    faults,
    requests,
    masRequests,
    reset() {
      for (const key of Object.keys(faults)) delete (faults as unknown as Record<string, unknown>)[key];
      Object.assign(faults, defaultFaults(secret));
      requests.length = 0;
      masRequests.length = 0;
      synapseRequests.length = 0;
    },
    async close() {
      for (const x of servers) {
        x.closeAllConnections();
        x.close();
      }
      await Promise.all(servers.map((x) => once(x, 'close')));
    },
  };
}

/** A plain HTTP server on another origin that records what it receives. */
export async function startRecorder(): Promise<{ url: string; requests: Array<{ path: string; authorization: string | undefined }>; close(): Promise<void> }> {
  const requests: Array<{ path: string; authorization: string | undefined }> = [];
  const server: HttpServer = createHttpServer((req, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * A web server that is not a homeserver: nginx's default site, with a catch-all
 * (`try_files $uri /index.html`, as many SPA or placeholder setups have), so every GET answers 200
 * with the "Welcome to nginx!" page, and a POST to that static page gets nginx's 405.
 */
export async function startNginxWelcome(): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const page =
    '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n' +
    '<p>If you see this page, the nginx web server is successfully installed and working. Further configuration is required.</p>\n</body>\n</html>\n';
  const server: HttpServer = createHttpServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, authorization: req.headers.authorization });
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { server: 'nginx/1.26.2', 'content-type': 'text/html' });
      return res.end('<html>\n<head><title>405 Not Allowed</title></head>\n<body>\n<center><h1>405 Not Allowed</h1></center>\n<hr><center>nginx/1.26.2</center>\n</body>\n</html>\n');
    }
    res.writeHead(200, { server: 'nginx/1.26.2', 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) });
    res.end(page);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
