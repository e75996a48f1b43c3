// compat.routes: every legacy route MAS serves in place of Synapse (r0 and v3 login, the SSO
// redirect, logout, logout/all, refresh), probed on the client base URL only (see client-base.ts),
// with ready nginx and Caddy rules when one reaches Synapse.
import { isFailure, type HttpResult } from '../../http/client.js';
import { joinUrl } from '../../http/url.js';
import { DOCS, type DoctorCheck, type DoctorContext } from '../check.js';
import { baseSource, routingBase } from './client-base.js';
import { BOGUS_TOKEN, errcode, isObject, ok, parseJson, type Result } from './shared.js';

export const COMPAT_REGEX = '^/_matrix/client/(.*)/(login|logout|refresh)';

interface RouteProbe {
  route: 'login-r0' | 'login-v3' | 'sso-redirect' | 'logout' | 'logout-all' | 'refresh';
  method: 'GET' | 'POST';
  path: string;
}

const COMPAT_PROBES: readonly RouteProbe[] = [
  { route: 'login-r0', method: 'GET', path: '/_matrix/client/r0/login' },
  { route: 'login-v3', method: 'GET', path: '/_matrix/client/v3/login' },
  // Without redirectUrl: with one, MAS would record a pending SSO login in its database.
  { route: 'sso-redirect', method: 'GET', path: '/_matrix/client/v3/login/sso/redirect' },
  { route: 'logout', method: 'POST', path: '/_matrix/client/v3/logout' },
  { route: 'logout-all', method: 'POST', path: '/_matrix/client/v3/logout/all' },
  { route: 'refresh', method: 'POST', path: '/_matrix/client/v3/refresh' },
];

type RouteVerdict = 'mas' | 'synapse' | 'unexpected' | 'unreachable';

/**
 * Who answered a legacy route. With MAS enabled Synapse registers none of these servlets, so a
 * request that reaches it gets 404 M_UNRECOGNIZED (405 for a known path with another method); MAS's
 * compatibility layer answers each in its own way:
 * - GET login: 200 with an m.login.sso flow marked oauth_aware_preferred or
 *   org.matrix.msc3824.delegated_oidc_compatibility (Synapse never sets either; 200 flows without
 *   them is a Synapse that does not delegate to MAS);
 * - GET login/sso/redirect without redirectUrl: 400 ("Missing redirectUrl"), or a redirect to MAS;
 * - POST logout and logout/all with an invalid token: 401 M_UNKNOWN_TOKEN (M_MISSING_TOKEN without one);
 * - POST refresh with an invalid refresh token: 401 M_UNKNOWN_TOKEN, or 400 M_BAD_JSON/M_NOT_JSON.
 * Anything else is "unexpected" and counts as a miss. A Synapse that does not delegate at all
 * answers logout and refresh the same way as MAS; synapse.mas_api and discovery.* catch that case.
 */
function classify(probe: RouteProbe, url: string, r: HttpResult): RouteVerdict {
  if (isFailure(r)) return probe.route === 'sso-redirect' && r.url !== url ? 'mas' : 'unreachable';
  if (r.status === 404 || r.status === 405) return 'synapse';
  switch (probe.route) {
    case 'login-r0':
    case 'login-v3': {
      if (!ok(r)) return 'unexpected';
      const doc = parseJson(r.body);
      const flows = isObject(doc) && Array.isArray(doc.flows) ? doc.flows : [];
      const mas = flows.some((f) => isObject(f) && f.type === 'm.login.sso' && (f.oauth_aware_preferred === true || f['org.matrix.msc3824.delegated_oidc_compatibility'] === true));
      return mas ? 'mas' : 'synapse';
    }
    case 'sso-redirect':
      return r.status === 400 || r.chain.length > 1 ? 'mas' : 'unexpected';
    case 'logout':
    case 'logout-all':
      return r.status === 401 && ['M_UNKNOWN_TOKEN', 'M_MISSING_TOKEN'].includes(errcode(r) ?? '') ? 'mas' : 'unexpected';
    case 'refresh': {
      const code = errcode(r) ?? '';
      if (r.status === 401 && ['M_UNKNOWN_TOKEN', 'M_MISSING_TOKEN'].includes(code)) return 'mas';
      return r.status === 400 && ['M_BAD_JSON', 'M_NOT_JSON'].includes(code) ? 'mas' : 'unexpected';
    }
  }
}

/** host:port where the reverse proxy reaches MAS's compat resource, from http.listeners (MAS's default listener is [::]:8080). */
function masUpstream(ctx: DoctorContext): string {
  const listener = ctx.mas.http.listeners.find((l) => l.resources.includes('compat'));
  const bind = listener?.binds.find((b) => b.port !== undefined || b.address !== undefined);
  let host = bind?.host;
  let port = bind?.port;
  if (bind?.address !== undefined) {
    const at = bind.address.lastIndexOf(':');
    host = bind.address.slice(0, at);
    port = Number(bind.address.slice(at + 1));
  }
  if (host === undefined || ['', '[::]', '::', '0.0.0.0', '*'].includes(host)) host = 'localhost';
  return `${host}:${port ?? 8080}`;
}

function proxyRules(ctx: DoctorContext, base: string): { nginx: string; caddy: string; mas: string } {
  const mas = masUpstream(ctx);
  const host = new URL(base).host;
  // Caddy proxies to host:port over plain HTTP unless the upstream says https://.
  const endpoint = URL.canParse(ctx.endpoint) ? new URL(ctx.endpoint) : new URL('http://localhost:8008/');
  const synapse = endpoint.protocol === 'https:' ? endpoint.origin : endpoint.host;
  const nginx = [
    `# In the server block of ${host}. nginx tries regex locations before plain prefix ones such as`,
    '# "location /_matrix", but never after "location ^~ /_matrix": drop the ^~ there. If the Synapse',
    '# location is a regex too, put this one first.',
    `location ~ ${COMPAT_REGEX} {`,
    `    proxy_pass http://${mas};`,
    '    proxy_http_version 1.1;',
    '    proxy_set_header Host $host;',
    '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '}',
  ].join('\n');
  const caddy = [
    `${host} {`,
    '\t# MAS first: route {} keeps this order (Caddy otherwise sorts path matchers such as /_matrix/* first).',
    `\t@mas path_regexp mas ${COMPAT_REGEX}`,
    '\troute {',
    `\t\treverse_proxy @mas ${mas}`,
    `\t\treverse_proxy /_matrix/* ${synapse}`,
    `\t\treverse_proxy /_synapse/client/* ${synapse}`,
    '\t}',
    '}',
  ].join('\n');
  return { nginx, caddy, mas };
}

async function compatRoutes(ctx: DoctorContext): Promise<Result> {
  const where = await routingBase(ctx);
  if ('skip' in where) return where.skip;
  const base = where.base;
  const from = baseSource(where.discovery);
  const routes = await Promise.all(
    COMPAT_PROBES.map(async (p) => {
      const url = joinUrl(base, p.path);
      const r =
        p.route === 'refresh'
          ? await ctx.http.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: BOGUS_TOKEN }) })
          : p.method === 'POST'
            ? await ctx.http.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', authorization: `Bearer ${BOGUS_TOKEN}` })
            : await ctx.http.fetch(url);
      const verdict = classify(p, url, r);
      const code = isFailure(r) ? undefined : errcode(r);
      return {
        route: p.route,
        request: `${p.method} ${p.path}`,
        url,
        verdict,
        ...(isFailure(r) ? { failure: r.failure, message: r.message } : { status: r.status, ...(code !== undefined ? { errcode: code } : {}) }),
      };
    }),
  );
  const rules = proxyRules(ctx, base);
  const missed = routes.filter((r) => r.verdict === 'synapse' || r.verdict === 'unexpected');
  const unreachable = routes.filter((r) => r.verdict === 'unreachable');
  const describe = (r: (typeof routes)[number]): string =>
    `${r.request} ${'status' in r ? `answered ${r.status}${'errcode' in r ? ` ${r.errcode}` : ''}` : `could not be reached (${r.message})`}${r.verdict === 'synapse' ? ' (Synapse)' : ''}`;
  if (missed.length > 0) {
    return {
      status: 'fail',
      message: `${missed.length} of ${routes.length} legacy routes on ${base} (${from}) do not reach MAS: ${missed.map(describe).join('; ')}. Legacy clients and bots cannot log in, log out or refresh.`,
      fix: `Send ${COMPAT_REGEX} on ${new URL(base).host} to MAS (${rules.mas}), before the rule that sends /_matrix to Synapse. nginx: location ~ ${COMPAT_REGEX} { proxy_pass http://${rules.mas}; } Caddy: @mas path_regexp mas ${COMPAT_REGEX} then reverse_proxy @mas ${rules.mas}, inside a route {} block. Full rules in --json, details.nginx and details.caddy.`,
      docs: DOCS.reverseProxy,
      details: { base, baseFrom: from, routes, nginx: rules.nginx, caddy: rules.caddy },
    };
  }
  if (unreachable.length > 0) {
    return {
      status: 'warn',
      message: `Could not tell whether every legacy route on ${base} reaches MAS: ${unreachable.map(describe).join('; ')}.`,
      docs: DOCS.reverseProxy,
      details: { base, baseFrom: from, routes, nginx: rules.nginx, caddy: rules.caddy },
    };
  }
  return { status: 'pass', message: `All ${routes.length} legacy routes on ${base} (${from}) reach MAS: r0 and v3 login, SSO redirect, logout, logout/all, refresh.`, details: { base, baseFrom: from, routes } };
}

export const compatRoutesChecks: DoctorCheck[] = [{ id: 'compat.routes', family: 'compat', run: (ctx) => compatRoutes(ctx) }];
