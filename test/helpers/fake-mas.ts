// A local server that behaves like MAS for the admin API, as the MAS documentation and its OpenAPI
// description say: the OpenID Connect discovery document, a token endpoint that grants
// client_credentials for urn:mas:admin to allowed clients only (client_secret_basic or
// client_secret_post, as each client is configured), and GET /api/admin/v1/site-config behind a
// bearer token, with errors as {"errors":[{"title":...}]}. Every route may sit under a prefix.
// More admin API routes plug in through `adminRoutes` (test/helpers/fake-mas-admin.ts); they get the
// same bearer token check: tokens expire after `faults.tokenTtl` seconds, or all at once with
// expireAllTokens().
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeMasClient {
  clientId: string;
  secret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface FakeMasFaults {
  /** The adminapi resource is not on this listener: /api/admin/... is 404. */
  adminApiMissing: boolean;
  /** What site-config says server_name is. */
  serverName: string;
  /** Tokens the admin API accepts: all issued ones, or none (as if they were revoked at once). */
  acceptTokens: boolean;
  /** expires_in of the tokens issued from now on, in seconds (MAS's default access_token_ttl: 300). */
  tokenTtl: number;
}

/** One request to the fake, as it came: `query` is the decoded query string. */
export interface FakeMasRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: string;
}

/** What an admin API route gets: the request, already authenticated, and the response to write. */
export interface AdminRouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  body: string;
  /** The path as requested, e.g. /api/admin/v1/users?page[first]=3 (for links.self). */
  self: string;
}

/**
 * Finds the handler of an admin API route from the method and the raw path below /api/admin/v1
 * (segments still percent-encoded); undefined when there is no such route.
 */
export type AdminRoutes = (method: string, path: string) => ((ctx: AdminRouteContext) => void) | undefined;

export interface FakeMas {
  /** The issuer and public base: origin + prefix + '/'. */
  url: string;
  origin: string;
  faults: FakeMasFaults;
  /** The clients MAS knows, and the ids in policy.data.admin_clients. */
  clients: FakeMasClient[];
  adminClients: Set<string>;
  /** Every access token issued. */
  tokens: string[];
  requests: FakeMasRequest[];
  /** Every token issued so far expires now: the next admin API call with one gets 401 "Access token expired". */
  expireAllTokens(): void;
  close(): Promise<void>;
}

export interface FakeMasOptions {
  serverName: string;
  clients: FakeMasClient[];
  adminClients: string[];
  /** HTTPS with this key and certificate; plain HTTP without. */
  tls?: { key: string; cert: string };
  /** A listener prefix such as "/auth"; public_base then ends with it. */
  prefix?: string;
  /** Admin API routes besides site-config. */
  adminRoutes?: AdminRoutes;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const adminError = (res: ServerResponse, status: number, title: string): void => json(res, status, { errors: [{ title }] });

/** application/x-www-form-urlencoded decoding, as RFC 6749 §2.3.1 asks for the Basic credentials. */
const formDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));

export async function startFakeMas(options: FakeMasOptions): Promise<FakeMas> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const faults: FakeMasFaults = { adminApiMissing: false, serverName: options.serverName, acceptTokens: true, tokenTtl: 300 };
  const tokens: string[] = [];
  /** When each token stops being accepted (ms since the epoch). */
  const expiry = new Map<string, number>();
  const requests: FakeMas['requests'] = [];
  const fake = {
    url: '',
    origin: '',
    faults,
    clients: options.clients,
    adminClients: new Set(options.adminClients),
    tokens,
    requests,
    expireAllTokens() {
      for (const t of tokens) expiry.set(t, 0);
    },
  } as Omit<FakeMas, 'close'>;

  const token = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const form = new URLSearchParams(body);
    let clientId: string | undefined;
    let secret: string | undefined;
    let method: FakeMasClient['authMethod'] | undefined;
    const header = req.headers.authorization;
    if (header !== undefined && /^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return json(res, 400, { error: 'invalid_request', error_description: 'Malformed Authorization header' });
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
      method = 'client_secret_basic';
      if (form.has('client_secret')) return json(res, 400, { error: 'invalid_request', error_description: 'Two client authentication methods' });
    } else if (form.has('client_secret')) {
      clientId = form.get('client_id') ?? undefined;
      secret = form.get('client_secret') ?? undefined;
      method = 'client_secret_post';
    }
    const client = fake.clients.find((c) => c.clientId === clientId);
    if (client === undefined || method === undefined || client.authMethod !== method || client.secret !== secret) {
      return json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
    const scope = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
    if (scope.length === 0 || scope.some((s) => s !== 'urn:mas:admin')) return json(res, 400, { error: 'invalid_scope', error_description: 'Only urn:mas:admin may be requested here' });
    // MAS answers a policy denial with 403 and invalid_scope, the violations as the description.
    if (!fake.adminClients.has(client.clientId)) return json(res, 403, { error: 'invalid_scope', error_description: 'client must be listed in admin_clients to request admin scope' });
    const issued = `mat_${randomBytes(18).toString('base64url')}`;
    tokens.push(issued);
    expiry.set(issued, Date.now() + faults.tokenTtl * 1000);
    json(res, 200, { access_token: issued, token_type: 'Bearer', expires_in: faults.tokenTtl, scope: 'urn:mas:admin' });
  };

  /** The admin API's bearer token check; false when it already answered with the error. */
  const authenticate = (req: IncomingMessage, res: ServerResponse): boolean => {
    const header = req.headers.authorization;
    if (header === undefined) {
      adminError(res, 400, 'Missing authorization header');
      return false;
    }
    const m = /^Bearer (.+)$/.exec(header);
    if (m === null) {
      adminError(res, 400, 'Invalid authorization header');
      return false;
    }
    const presented = m[1] ?? '';
    const until = expiry.get(presented);
    if (!faults.acceptTokens || until === undefined) {
      adminError(res, 401, 'Unknown access token');
      return false;
    }
    if (Date.now() >= until) {
      adminError(res, 401, 'Access token expired');
      return false;
    }
    return true;
  };

  const siteConfig = (res: ServerResponse): void => {
    json(res, 200, {
      server_name: faults.serverName,
      password_login_enabled: true,
      password_registration_enabled: false,
      password_registration_email_required: true,
      password_registration_token_required: false,
      registration_token_required: false,
      email_change_allowed: true,
      displayname_change_allowed: true,
      password_change_allowed: true,
      account_recovery_allowed: false,
      account_deactivation_allowed: true,
      captcha_enabled: false,
      minimum_password_complexity: 3,
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = new URL(req.url ?? '/', 'http://x');
      const full = parsed.pathname;
      requests.push({ method: req.method ?? 'GET', path: full, query: Object.fromEntries(parsed.searchParams), authorization: req.headers.authorization, body });
      const path = full.startsWith(`${prefix}/`) ? full.slice(prefix.length) : undefined;
      if (path === '/.well-known/openid-configuration' && req.method === 'GET') {
        return json(res, 200, {
          issuer: fake.url,
          authorization_endpoint: `${fake.url}authorize`,
          token_endpoint: `${fake.url}oauth2/token`,
          jwks_uri: `${fake.url}oauth2/keys.json`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
          scopes_supported: ['openid', 'email'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          account_management_uri: `${fake.url}account/`,
        });
      }
      if (path === '/oauth2/token' && req.method === 'POST') return token(req, res, body);
      if (path !== undefined && path.startsWith('/api/admin/v1/') && !faults.adminApiMissing) {
        const method = req.method ?? 'GET';
        const below = path.slice('/api/admin/v1'.length);
        const route = below === '/site-config' && method === 'GET' ? () => siteConfig(res) : options.adminRoutes?.(method, below);
        if (route !== undefined) {
          if (!authenticate(req, res)) return;
          return route({ req, res, query: parsed.searchParams, body, self: `/api/admin/v1${below}${parsed.search}` });
        }
        // A path MAS has no route for: its router answers 404 with an empty body, not the JSON errors.
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
    });
  };

  const server: Server = options.tls !== undefined ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  fake.origin = `${options.tls !== undefined ? 'https' : 'http'}://127.0.0.1:${port}`;
  fake.url = `${fake.origin}${prefix}/`;
  // One object: tests change faults, clients and adminClients on it while the server runs.
  return Object.assign(fake, {
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  });
}
