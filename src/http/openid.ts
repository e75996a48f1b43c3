// What doctor's admin API check and manage's admin API backend share to reach the MAS admin API: the
// choice of a configured client that may get a `urn:mas:admin` token with the client credentials
// grant, a fetch for openid-client that goes through our HTTP client, the admin API's error titles,
// and the config snippets both print when something is missing.
import type * as oidc from 'openid-client';
import type { MasClient, ParsedMasConfig } from '../config/mas.js';
import { isFailure, type HttpClient } from './client.js';

export const ADMIN_SCOPE = 'urn:mas:admin';
export const ADMIN_API_DOCS = 'https://element-hq.github.io/matrix-authentication-service/topics/admin-api.html';

/** Token endpoint authentication methods mas-tool can use with a client secret. */
export const SUPPORTED_ADMIN_AUTH = ['client_secret_basic', 'client_secret_post'] as const;

/** Any ULID does; this one is only an example for the fix text. */
const EXAMPLE_ULID = '01K0ADM1NC11ENT00000000000';

export const ENABLE_ADMIN_CLIENT_YAML = [
  'clients:',
  `  - client_id: ${EXAMPLE_ULID}   # any ULID`,
  '    client_auth_method: client_secret_basic',
  '    client_secret: <a long random secret, e.g. openssl rand -hex 32>',
  'policy:',
  '  data:',
  '    admin_clients:',
  `      - ${EXAMPLE_ULID}`,
].join('\n');

export const ENABLE_ADMIN_API_YAML = [
  'http:',
  '  listeners:',
  '    - name: web   # the listener that serves public_base',
  '      resources:',
  '        # ...the resources it already has, plus:',
  '        - name: adminapi',
].join('\n');

/** The snippet that lets one client use the admin API. */
export function adminClientsYaml(clientId: string): string {
  return ['policy:', '  data:', '    admin_clients:', `      - ${clientId}`].join('\n');
}

/** The MAS admin API error titles, `{"errors":[{"title":...}]}`, joined; undefined if not that shape. */
export function errorTitles(body: string): string | undefined {
  try {
    const errors = (JSON.parse(body) as { errors?: unknown } | null)?.errors;
    if (!Array.isArray(errors)) return undefined;
    const titles = errors.map((e) => (e as { title?: unknown } | null)?.title).filter((t): t is string => typeof t === 'string');
    return titles.length > 0 ? titles.join(': ') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A fetch for openid-client that goes through our HTTP client, so that it gets the same timeout, the
 * --ca-file trust and the same one-phrase failures. The Authorization header (the client secret with
 * client_secret_basic) is handed over as `authorization`, which the HTTP client sends only to the
 * first URL's origin, never along a redirect to another one.
 */
export function fetchThrough(http: HttpClient): oidc.CustomFetch {
  return async (url, options) => {
    const headers: Record<string, string> = {};
    let authorization: string | undefined;
    for (const [k, v] of Object.entries(options.headers)) {
      if (k.toLowerCase() === 'authorization') authorization = v;
      else headers[k] = v;
    }
    const body = options.body === undefined || options.body === null ? undefined : await new Response(options.body).text();
    const method = options.method === 'POST' || options.method === 'PUT' || options.method === 'DELETE' ? options.method : 'GET';
    const r = await http.fetch(url, {
      method,
      headers,
      ...(authorization !== undefined ? { authorization } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    if (isFailure(r)) throw new TypeError(`${new URL(url).origin} ${r.message}`, { cause: r });
    const nullBody = r.status === 204 || r.status === 205 || r.status === 304;
    return new Response(nullBody ? null : r.body, { status: r.status, headers: r.headers });
  };
}

export interface AdminClientChoice {
  client?: MasClient;
  /** Why there is none, and what is missing. */
  reason?: string;
}

/**
 * The first client that may use the admin API: listed in policy.data.admin_clients, with a
 * client_secret, authenticating with client_secret_basic or client_secret_post.
 */
export function chooseAdminClient(mas: ParsedMasConfig): AdminClientChoice {
  const admins = new Set(mas.policyData.adminClients);
  const listed = mas.clients.filter((c) => admins.has(c.clientId));
  const withSecret = listed.filter((c) => c.secret !== undefined);
  const usable = withSecret.find((c) => (SUPPORTED_ADMIN_AUTH as readonly string[]).includes(c.authMethod));
  if (usable !== undefined) return { client: usable };
  if (admins.size === 0) return { reason: 'policy.data.admin_clients lists no client, so no client may use the MAS admin API' };
  if (listed.length === 0) return { reason: `none of the clients in policy.data.admin_clients (${[...admins].join(', ')}) is defined under clients` };
  if (withSecret.length === 0) return { reason: `the admin client${listed.length > 1 ? 's' : ''} ${listed.map((c) => c.clientId).join(', ')} ha${listed.length > 1 ? 've' : 's'} no client_secret` };
  return {
    reason: `the admin client${withSecret.length > 1 ? 's' : ''} ${withSecret.map((c) => `${c.clientId} (${c.authMethod})`).join(', ')} use${withSecret.length > 1 ? '' : 's'} an authentication method mas-tool does not use (only ${SUPPORTED_ADMIN_AUTH.join(' or ')})`,
  };
}

/** An error from openid-client (or our fetch under it) in one line: its message and its cause's. */
export function describeOidcError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`;
}
