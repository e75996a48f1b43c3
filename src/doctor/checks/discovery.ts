// The checks mas-cli's doctor does not make, about how clients find MAS: the client well-known
// document as clients read it, MAS's own OpenID discovery document, the discovery endpoints Synapse
// serves in front of it, and every legacy route MAS serves in place of Synapse.
//
// Issuers are compared byte for byte, because clients do (MAS #2800: an issuer without its trailing
// slash on one side breaks Element X). The issuer that MAS publishes is its configured http.issuer
// (else http.public_base) serialised as a URL, which for a bare origin always ends with "/"; so the
// expected value is the configured one as the WHATWG URL parser writes it, and a path's trailing
// slash is kept as written.
import { allowInsecureRequests, customFetch, discovery, type CustomFetch } from 'openid-client';
import { isFailure, type HttpResponse, type HttpResult } from '../../http/client.js';
import { DOCS, joinUrl, type CheckResult, type CheckStatus, type DoctorCheck, type DoctorContext } from '../check.js';

const BOGUS_TOKEN = 'mas-tool-doctor-invalid-token-0000000000';
const MAS_DEFAULT_PUBLIC_BASE = 'http://[::]:8080/';
const COMPAT_REGEX = '^/_matrix/client/(.*)/(login|logout|refresh)';

type Result = Omit<CheckResult, 'id' | 'family'>;

/** One problem a check found; the check's status is the worst of them. */
interface Problem {
  status: 'warn' | 'fail';
  text: string;
  fix?: string;
}

function worst(problems: readonly Problem[]): CheckStatus {
  if (problems.some((p) => p.status === 'fail')) return 'fail';
  return problems.length > 0 ? 'warn' : 'pass';
}

function fixes(problems: readonly Problem[]): string | undefined {
  const all = [...new Set(problems.flatMap((p) => (p.fix === undefined ? [] : [p.fix])))];
  return all.length > 0 ? all.join(' ') : undefined;
}

/** The configured issuer, and the exact string MAS publishes for it (see the top of this file). */
function issuers(ctx: DoctorContext): { configured: string; expected: string } | undefined {
  if (ctx.issuer === undefined) return undefined;
  return { configured: ctx.issuer, expected: URL.canParse(ctx.issuer) ? new URL(ctx.issuer).href : ctx.issuer };
}

/** The base URL clients use: the well-known's m.homeserver.base_url when it parsed, else matrix.endpoint. */
function clientBase(earlier: ReadonlyMap<string, CheckResult>, endpoint: string): string {
  const base = earlier.get('wellknown.client')?.details?.baseUrl;
  return typeof base === 'string' ? base : endpoint;
}

function ok(r: HttpResult): boolean {
  return !isFailure(r) && r.status >= 200 && r.status <= 299;
}

function what(r: HttpResult): string {
  return isFailure(r) ? `could not be reached (${r.message})` : `answered ${r.status}`;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errcode(r: HttpResponse): string | undefined {
  const doc = parseJson(r.body);
  return isObject(doc) && typeof doc.errcode === 'string' ? doc.errcode : undefined;
}

const SKIP_NO_ISSUER: Result = { status: 'skip', message: 'Skipped: the MAS config sets neither http.issuer nor http.public_base (see issuer.https).', docs: DOCS.general };

// ---------------------------------------------------------------------------------------------
// wellknown.format

/**
 * The client well-known document as clients read it (the spec's discovery algorithm): a 404 is
 * ignored by clients (skip here; wellknown.client reports it), but a document that is not JSON or
 * has no m.homeserver.base_url makes them stop (FAIL_PROMPT), so those fail here, where
 * wellknown.client keeps mas-cli's warning. Web clients read it cross-origin, so it needs CORS.
 */
async function wellKnownFormat(ctx: DoctorContext): Promise<Result> {
  const url = `https://${ctx.serverName}/.well-known/matrix/client`;
  const r = await ctx.http.fetch(url);
  if (isFailure(r) || !ok(r)) return { status: 'skip', message: `Skipped: the client well-known document ${what(r)} (see wellknown.client).`, docs: DOCS.wellKnown, details: { url } };

  const problems: Problem[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = { url };
  const type = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    problems.push({
      status: 'warn',
      text: `it is served as ${type === undefined || type === '' ? 'no content type' : type}, not application/json`,
      fix: 'Serve it with "Content-Type: application/json" (nginx: default_type application/json; Caddy: header Content-Type application/json).',
    });
  }
  const cors = r.headers['access-control-allow-origin'];
  if (cors === undefined) {
    problems.push({
      status: 'warn',
      text: 'it has no Access-Control-Allow-Origin header, so web clients (Element Web, ...) cannot read it',
      fix: 'Add "Access-Control-Allow-Origin: *" to it (nginx: add_header Access-Control-Allow-Origin *; Caddy: header Access-Control-Allow-Origin *).',
    });
  } else if (cors !== '*') {
    notes.push(`Access-Control-Allow-Origin is "${cors}", not "*": web clients on other origins cannot read it.`);
  }

  const doc = parseJson(r.body);
  const example = JSON.stringify({ 'm.homeserver': { base_url: `https://matrix.${ctx.serverName.split(':')[0]}/` } });
  if (!isObject(doc)) {
    problems.push({ status: 'fail', text: 'its body is not a JSON object, so clients that find it stop', fix: `Serve a JSON object such as ${example}.` });
  } else {
    const homeserver = doc['m.homeserver'];
    const base = isObject(homeserver) ? homeserver.base_url : undefined;
    if (typeof base !== 'string' || !URL.canParse(base)) {
      problems.push({ status: 'fail', text: 'it has no valid m.homeserver.base_url, so clients that find it stop', fix: `Add it: ${example}.` });
    } else {
      const versions = joinUrl(base, '/_matrix/client/versions');
      const v = await ctx.http.fetch(versions);
      details.baseUrl = base;
      if (!ok(v)) {
        problems.push({
          status: 'fail',
          text: `its m.homeserver.base_url ${base} does not work: ${versions} ${what(v)}`,
          fix: 'Set m.homeserver.base_url to the public URL clients reach Synapse at, and route /_matrix on it to Synapse.',
        });
        details.versions = isFailure(v) ? { url: versions, failure: v.failure } : { url: versions, status: v.status };
      }
    }
    const block = doc['org.matrix.msc2965.authentication'];
    if (block !== undefined) {
      const blockIssuer = isObject(block) ? block.issuer : undefined;
      const iss = issuers(ctx);
      details.msc2965Issuer = blockIssuer;
      notes.push('It has an org.matrix.msc2965.authentication block: obsolete, clients now find MAS through /_matrix/client/v1/auth_metadata; it can be removed.');
      if (typeof blockIssuer !== 'string') {
        problems.push({ status: 'warn', text: 'its obsolete org.matrix.msc2965.authentication block has no issuer', fix: 'Remove the org.matrix.msc2965.authentication block.' });
      } else if (iss !== undefined && blockIssuer !== iss.expected) {
        problems.push({
          status: 'warn',
          text: `its obsolete org.matrix.msc2965.authentication block gives the issuer "${blockIssuer}", but MAS's issuer is "${iss.expected}"`,
          fix: `Remove the org.matrix.msc2965.authentication block, or set its issuer to exactly "${iss.expected}".`,
        });
      }
    }
  }
  if (notes.length > 0) details.notes = notes;
  const fix = fixes(problems);
  if (problems.length === 0) {
    const extra = notes.length > 0 ? ` Note: ${notes.join(' ')}` : '';
    return { status: 'pass', message: `The client well-known document at ${url} is JSON, readable by web clients, and its base_url answers.${extra}`, details };
  }
  return { status: worst(problems), message: `The client well-known document at ${url}: ${problems.map((p) => p.text).join('; ')}.`, ...(fix !== undefined ? { fix } : {}), docs: DOCS.wellKnown, details };
}

// ---------------------------------------------------------------------------------------------
// discovery.openid_configuration

function isUnspecifiedHost(hostname: string): boolean {
  return hostname === '[::]' || hostname === '0.0.0.0' || hostname === '';
}

/**
 * MAS's OpenID discovery document, fetched with openid-client's discovery(), which builds the
 * well-known URL from the issuer (with or without a trailing slash) and checks the status, the JSON
 * content type and the issuer (after URL normalisation only, hence the byte check below). Its
 * requests go through doctor's HTTP client (custom fetch), so --ca-file and --timeout apply, and the
 * answer seen is kept to show what MAS said when the library refuses it.
 */
async function openidConfiguration(ctx: DoctorContext): Promise<Result> {
  const iss = issuers(ctx);
  if (iss === undefined) return SKIP_NO_ISSUER;
  if (!URL.canParse(iss.configured)) {
    return { status: 'fail', message: `The configured issuer "${iss.configured}" is not a URL.`, fix: 'Set http.public_base (and http.issuer, if set) to the public HTTPS URL of MAS.', docs: DOCS.general };
  }
  const issuerUrl = new URL(iss.configured);
  const documentUrl = joinUrl(issuerUrl.href, '/.well-known/openid-configuration');
  let seen: HttpResult | undefined;
  const viaDoctorClient: CustomFetch = async (url, options) => {
    const method = options.method === 'POST' ? 'POST' : 'GET';
    const r = await ctx.http.fetch(url, { method, headers: options.headers });
    seen = r;
    if (isFailure(r)) throw new Error(r.message);
    return new Response(r.body === '' || r.status === 204 || r.status === 304 ? null : r.body, { status: r.status, headers: r.headers });
  };
  let metadata: Record<string, unknown>;
  try {
    const config = await discovery(issuerUrl, 'mas-tool-doctor', undefined, undefined, {
      [customFetch]: viaDoctorClient,
      execute: issuerUrl.protocol === 'http:' ? [allowInsecureRequests] : [],
      timeout: Math.ceil(ctx.timeoutMs / 1000) + 1,
    });
    metadata = config.serverMetadata() as Record<string, unknown>;
  } catch (error) {
    const r = seen as HttpResult | undefined;
    const details: Record<string, unknown> = { url: documentUrl, expected: iss.expected };
    if (r === undefined || isFailure(r)) {
      if (r !== undefined) details.failure = r.failure;
      return {
        status: 'fail',
        message: `MAS's discovery document at ${documentUrl} could not be fetched (${r?.message ?? (error instanceof Error ? error.message : String(error))}).`,
        fix: 'Check that MAS runs and that http.public_base (or http.issuer) is the URL it is reached at from here.',
        docs: DOCS.general,
        details,
      };
    }
    details.status = r.status;
    const doc = parseJson(r.body);
    const got = isObject(doc) ? doc.issuer : undefined;
    if (r.status === 200 && typeof got === 'string' && got !== iss.expected) return issuerMismatch(documentUrl, got, iss);
    return {
      status: 'fail',
      message: `MAS's discovery document at ${documentUrl} is not valid (${r.status !== 200 ? `status ${r.status}` : error instanceof Error ? error.message : String(error)}).`,
      fix: 'Check that http.public_base (or http.issuer) is the URL MAS is served at, and that the reverse proxy sends /.well-known/openid-configuration on it to MAS.',
      docs: DOCS.general,
      details,
    };
  }
  // openid-client compared URL-normalised issuers; clients compare strings.
  if (metadata.issuer !== iss.expected) return issuerMismatch(documentUrl, String(metadata.issuer), iss);

  const problems: Problem[] = [];
  if (typeof metadata.account_management_uri !== 'string') {
    problems.push({
      status: 'warn',
      text: 'it has no account_management_uri, so clients cannot send users to their account page',
      fix: 'Check that the issuer URL serves MAS and not another OpenID provider (MAS publishes <http.public_base>account/ there); upgrade an old MAS.',
    });
  }
  const endpoints = Object.entries(metadata).flatMap(([key, value]) =>
    (key.endsWith('_endpoint') || key.endsWith('_uri')) && typeof value === 'string' && URL.canParse(value) ? [{ key, url: new URL(value) }] : [],
  );
  const list = (some: ReadonlyArray<{ key: string; url: URL }>): string =>
    some
      .slice(0, 3)
      .map((e) => `${e.key} ${e.url.href}`)
      .join(', ') + (some.length > 3 ? ` and ${some.length - 3} more` : '');
  const unreachable = endpoints.filter((e) => isUnspecifiedHost(e.url.hostname));
  if (unreachable.length > 0) {
    const isDefault = unreachable.some((e) => e.url.href.startsWith(MAS_DEFAULT_PUBLIC_BASE));
    problems.push({
      status: 'fail',
      text: `it advertises endpoints ${isDefault ? `on MAS's default public base ${MAS_DEFAULT_PUBLIC_BASE}` : 'on an address no client can reach'} (${list(unreachable)})`,
      fix: `Set http.public_base in the MAS config to the public HTTPS URL of MAS${iss.expected.startsWith('https://') ? ` (${iss.expected})` : ''}, then restart MAS.`,
    });
  }
  const plain = endpoints.filter((e) => e.url.protocol === 'http:' && !isUnspecifiedHost(e.url.hostname));
  if (plain.length > 0) {
    problems.push({
      status: 'warn',
      text: `it advertises endpoints over plain HTTP (${list(plain)}); clients refuse them`,
      fix: 'Serve MAS over HTTPS and set http.public_base to its https:// URL.',
    });
  }
  const details = { url: documentUrl, issuer: metadata.issuer, endpoints: Object.fromEntries(endpoints.map((e) => [e.key, e.url.href])) };
  if (problems.length === 0) return { status: 'pass', message: `MAS's discovery document at ${documentUrl} gives the configured issuer ${iss.expected}, and its endpoints are HTTPS.`, details };
  const fix = fixes(problems);
  return { status: worst(problems), message: `MAS's discovery document at ${documentUrl}: ${problems.map((p) => p.text).join('; ')}.`, ...(fix !== undefined ? { fix } : {}), docs: DOCS.general, details };
}

function issuerMismatch(url: string, got: string, iss: { configured: string; expected: string }): Result {
  return {
    status: 'fail',
    message: `MAS's discovery document at ${url} gives the issuer "${got}", but the configured issuer is "${iss.expected}": clients compare them byte for byte (trailing slash included) and refuse MAS.`,
    fix: 'Run doctor with the config MAS runs with, and make http.issuer (or http.public_base) exactly the issuer MAS publishes; check that no proxy rewrites the document.',
    docs: DOCS.general,
    details: { url, issuer: got, expected: iss.expected, ...(iss.configured !== iss.expected ? { configured: iss.configured } : {}) },
  };
}

// ---------------------------------------------------------------------------------------------
// discovery.synapse_auth_metadata

const SYNAPSE_DISCOVERY = [
  { name: 'auth_metadata', path: '/_matrix/client/v1/auth_metadata', stable: true },
  { name: 'msc2965/auth_metadata', path: '/_matrix/client/unstable/org.matrix.msc2965/auth_metadata', stable: false },
  { name: 'msc2965/auth_issuer', path: '/_matrix/client/unstable/org.matrix.msc2965/auth_issuer', stable: false },
] as const;

type DiscoveryVerdict = 'ok' | 'mismatch' | 'missing' | 'invalid' | 'unreachable';

/**
 * Synapse's discovery endpoints, on the URL clients use: each must give MAS's issuer, byte for byte.
 * All three exist only with matrix_authentication_service enabled (404 M_UNRECOGNIZED otherwise);
 * the stable one since Synapse 1.138, the unstable ones since 1.123 (older clients use them).
 */
async function synapseAuthMetadata(ctx: DoctorContext, earlier: ReadonlyMap<string, CheckResult>): Promise<Result> {
  const iss = issuers(ctx);
  if (iss === undefined) return SKIP_NO_ISSUER;
  const base = clientBase(earlier, ctx.endpoint);
  const probes = await Promise.all(
    SYNAPSE_DISCOVERY.map(async (p) => {
      const url = joinUrl(base, p.path);
      const r = await ctx.http.fetch(url);
      const row: { name: string; url: string; stable: boolean; verdict: DiscoveryVerdict; status?: number; failure?: string; message?: string; issuer?: string } = {
        name: p.name,
        url,
        stable: p.stable,
        verdict: 'ok',
      };
      if (isFailure(r)) return { ...row, verdict: 'unreachable' as const, failure: r.failure, message: r.message };
      row.status = r.status;
      if (r.status === 404) return { ...row, verdict: 'missing' as const };
      const doc = parseJson(r.body);
      if (!ok(r) || !isObject(doc) || typeof doc.issuer !== 'string') return { ...row, verdict: 'invalid' as const };
      return { ...row, issuer: doc.issuer, verdict: doc.issuer === iss.expected ? ('ok' as const) : ('mismatch' as const) };
    }),
  );
  const details = { base, expected: iss.expected, endpoints: probes };
  const mismatches = probes.filter((p) => p.verdict === 'mismatch');
  if (mismatches.length > 0) {
    return {
      status: 'fail',
      message: `Synapse gives another issuer than MAS's "${iss.expected}": ${mismatches.map((p) => `${p.name} says "${p.issuer}"`).join(', ')}. Clients compare them byte for byte (trailing slash included) and refuse to log in.`,
      fix: `Synapse passes on the discovery document of the MAS at matrix_authentication_service.endpoint (cached): point it at this MAS and restart Synapse. With the legacy experimental_features.msc3861, its issuer must be exactly "${iss.expected}"; better, move to matrix_authentication_service.`,
      docs: DOCS.homeserver,
      details,
    };
  }
  const broken = probes.filter((p) => p.verdict === 'unreachable' || p.verdict === 'invalid');
  if (broken.length > 0) {
    return {
      status: 'fail',
      message: `Synapse's discovery endpoints do not answer properly: ${broken.map((p) => `${p.url} ${p.verdict === 'unreachable' ? `could not be reached (${p.message})` : `answered ${p.status} without an issuer`}`).join('; ')}.`,
      fix: 'Route /_matrix on the public host to Synapse, and check that Synapse can reach MAS at matrix_authentication_service.endpoint.',
      docs: DOCS.homeserver,
      details,
    };
  }
  const missing = probes.filter((p) => p.verdict === 'missing');
  if (missing.length === probes.length) {
    return {
      status: 'fail',
      message: `Synapse's discovery endpoints are not there (404 on ${base}): the MAS integration is not enabled in homeserver.yaml, or /_matrix/client is not routed to Synapse. Clients cannot find MAS.`,
      fix: 'In homeserver.yaml set matrix_authentication_service: {enabled: true, endpoint: <MAS URL>, secret: <the MAS matrix.secret>} (Synapse 1.136 or later), and route /_matrix on the public host to Synapse.',
      docs: DOCS.homeserver,
      details,
    };
  }
  if (missing.length > 0) {
    const stableMissing = missing.some((p) => p.stable);
    return {
      status: 'warn',
      message: stableMissing
        ? `Synapse does not serve ${missing.map((p) => p.url).join(', ')} (404), only the unstable endpoints: Synapse is older than 1.138, or that path is not routed to it. Current clients use the stable endpoint.`
        : `Synapse does not serve ${missing.map((p) => p.url).join(', ')} (404), though the stable auth_metadata works: older clients use them.`,
      fix: stableMissing ? 'Upgrade Synapse to 1.138 or later, and route /_matrix on the public host to Synapse.' : 'Route all of /_matrix/client on the public host to Synapse.',
      docs: DOCS.homeserver,
      details,
    };
  }
  return { status: 'pass', message: `Synapse's discovery endpoints on ${base} all give MAS's issuer ${iss.expected}.`, details };
}

// ---------------------------------------------------------------------------------------------
// compat.routes

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

async function compatRoutes(ctx: DoctorContext, earlier: ReadonlyMap<string, CheckResult>): Promise<Result> {
  const base = clientBase(earlier, ctx.endpoint);
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
      message: `${missed.length} of ${routes.length} legacy routes on ${base} do not reach MAS: ${missed.map(describe).join('; ')}. Legacy clients and bots cannot log in, log out or refresh.`,
      fix: `Send ${COMPAT_REGEX} on ${new URL(base).host} to MAS (${rules.mas}), before the rule that sends /_matrix to Synapse. nginx: location ~ ${COMPAT_REGEX} { proxy_pass http://${rules.mas}; } Caddy: @mas path_regexp mas ${COMPAT_REGEX} then reverse_proxy @mas ${rules.mas}, inside a route {} block. Full rules in --json, details.nginx and details.caddy.`,
      docs: DOCS.reverseProxy,
      details: { base, routes, nginx: rules.nginx, caddy: rules.caddy },
    };
  }
  if (unreachable.length > 0) {
    return {
      status: 'warn',
      message: `Could not tell whether every legacy route reaches MAS: ${unreachable.map(describe).join('; ')}.`,
      docs: DOCS.reverseProxy,
      details: { base, routes, nginx: rules.nginx, caddy: rules.caddy },
    };
  }
  return { status: 'pass', message: `All ${routes.length} legacy routes on ${base} (r0 and v3 login, SSO redirect, logout, logout/all, refresh) reach MAS.`, details: { base, routes } };
}

export const discoveryChecks: DoctorCheck[] = [
  { id: 'wellknown.format', family: 'wellknown', after: ['wellknown.client'], run: (ctx) => wellKnownFormat(ctx) },
  { id: 'discovery.openid_configuration', family: 'discovery', run: (ctx) => openidConfiguration(ctx) },
  { id: 'discovery.synapse_auth_metadata', family: 'discovery', after: ['wellknown.client'], run: (ctx, earlier) => synapseAuthMetadata(ctx, earlier) },
  { id: 'compat.routes', family: 'compat', after: ['wellknown.client'], run: (ctx, earlier) => compatRoutes(ctx, earlier) },
];
