// The checks mas-cli's doctor makes, with the same pass rules: the issuer is HTTPS, the client
// well-known document, Synapse reachable at matrix.endpoint, an invalid token refused, the
// MAS-to-Synapse API answering with the shared secret, and the legacy login API served by MAS.
import { isFailure, type HttpResult } from '../../http/client.js';
import { DOCS, joinUrl, type CheckResult, type DoctorCheck } from '../check.js';

const BOGUS_TOKEN = 'mas-tool-doctor-invalid-token-0000000000';

function unreachable(r: HttpResult, what: string): string {
  return isFailure(r) ? `${what} could not be reached (${r.message})` : `${what} answered ${r.status}`;
}

/** The base URL clients use: the well-known's m.homeserver.base_url when it parsed, else matrix.endpoint. */
function clientBase(earlier: ReadonlyMap<string, CheckResult>, endpoint: string): string {
  const base = earlier.get('wellknown.client')?.details?.baseUrl;
  return typeof base === 'string' ? base : endpoint;
}

export const basicChecks: DoctorCheck[] = [
  {
    id: 'issuer.https',
    family: 'issuer',
    async run(ctx) {
      if (ctx.issuer === undefined) {
        return { status: 'fail', message: 'The MAS config sets neither http.issuer nor http.public_base.', fix: 'Set http.public_base to the public HTTPS URL of MAS.', docs: DOCS.general };
      }
      if (ctx.issuer.startsWith('https://')) return { status: 'pass', message: `The issuer ${ctx.issuer} uses HTTPS.`, details: { issuer: ctx.issuer } };
      return {
        status: 'warn',
        message: `The issuer ${ctx.issuer} is not HTTPS; some clients refuse to use it.`,
        fix: 'Serve MAS over HTTPS and set http.public_base (or http.issuer) to its https:// URL.',
        docs: DOCS.general,
        details: { issuer: ctx.issuer },
      };
    },
  },
  {
    id: 'wellknown.client',
    family: 'wellknown',
    async run(ctx) {
      const url = ctx.wellKnownUrl;
      const r = await ctx.http.fetch(url);
      const example = JSON.stringify({ 'm.homeserver': { base_url: `https://matrix.${ctx.serverName.split(':')[0]}/` } });
      if (isFailure(r) || r.status < 200 || r.status > 299) {
        return {
          status: 'warn',
          message: `The client well-known document at ${url} ${isFailure(r) ? `could not be fetched (${r.message})` : `answered ${r.status}`}.`,
          fix: `Serve ${url} with a JSON body such as ${example}, so that clients find the homeserver from the server name.`,
          docs: DOCS.wellKnown,
          details: { url, ...(isFailure(r) ? { failure: r.failure } : { status: r.status }) },
        };
      }
      let doc: unknown;
      try {
        doc = JSON.parse(r.body);
      } catch {
        return { status: 'warn', message: `The client well-known document at ${url} is not valid JSON.`, fix: `Serve a JSON body such as ${example}.`, docs: DOCS.wellKnown, details: { url } };
      }
      const base = (doc as { 'm.homeserver'?: { base_url?: unknown } } | null)?.['m.homeserver']?.base_url;
      if (typeof base !== 'string' || !URL.canParse(base)) {
        return { status: 'warn', message: `The client well-known document at ${url} has no valid m.homeserver.base_url.`, fix: `Add it: ${example}.`, docs: DOCS.wellKnown, details: { url } };
      }
      return { status: 'pass', message: `The client well-known document at ${url} points to ${base}.`, details: { url, baseUrl: base } };
    },
  },
  {
    id: 'homeserver.reachable',
    family: 'homeserver',
    async run(ctx) {
      const url = joinUrl(ctx.endpoint, '/_matrix/client/versions');
      const r = await ctx.http.fetch(url);
      if (!isFailure(r) && r.status >= 200 && r.status <= 299) return { status: 'pass', message: `The homeserver is reachable at ${ctx.endpoint}.`, details: { url } };
      return {
        status: 'fail',
        message: `Cannot reach the homeserver at ${ctx.endpoint}: ${unreachable(r, url)}.`,
        fix: 'Set matrix.endpoint in the MAS config to the URL where MAS reaches Synapse (its client listener, usually an internal address such as http://synapse:8008/), and check that Synapse runs.',
        docs: DOCS.homeserver,
        details: { url, ...(isFailure(r) ? { failure: r.failure } : { status: r.status }) },
      };
    },
  },
  {
    id: 'homeserver.rejects_invalid_token',
    family: 'homeserver',
    requires: ['homeserver.reachable'],
    async run(ctx) {
      const url = joinUrl(ctx.endpoint, '/_matrix/client/v3/account/whoami');
      const r = await ctx.http.fetch(url, { authorization: `Bearer ${BOGUS_TOKEN}` });
      if (isFailure(r)) return { status: 'fail', message: `The homeserver did not answer ${url}: ${r.message}.`, docs: DOCS.homeserver, details: { url, failure: r.failure } };
      if (r.status === 401) return { status: 'pass', message: 'The homeserver correctly rejects an invalid access token.', details: { url } };
      if (r.status < 400) {
        return {
          status: 'fail',
          message: `The homeserver answered ${r.status} to an invalid access token: a fake token might have been accepted.`,
          fix: 'Check that matrix_authentication_service is enabled in homeserver.yaml and that no other authentication path accepts arbitrary tokens.',
          docs: DOCS.homeserver,
          details: { url, status: r.status },
        };
      }
      if (r.status === 503) {
        return {
          status: 'fail',
          message: 'The homeserver could not ask MAS about a token (503): Synapse cannot reach MAS, or MAS refuses Synapse\'s shared secret.',
          fix: 'In homeserver.yaml, matrix_authentication_service.endpoint must reach MAS from Synapse, and its secret must equal matrix.secret in the MAS config.',
          docs: DOCS.homeserver,
          details: { url, status: r.status },
        };
      }
      return { status: 'warn', message: `The homeserver answered ${r.status} to an invalid access token; expected 401. Check that it is running normally.`, docs: DOCS.homeserver, details: { url, status: r.status } };
    },
  },
  {
    id: 'synapse.mas_api',
    family: 'homeserver',
    requires: ['homeserver.reachable'],
    async run(ctx) {
      const url = joinUrl(ctx.endpoint, '/_synapse/mas/is_localpart_available');
      if (ctx.sharedSecret === undefined) {
        return { status: 'fail', message: 'The MAS config has no matrix.secret or matrix.secret_file, so MAS cannot call Synapse.', fix: 'Set matrix.secret (the same value as matrix_authentication_service.secret in homeserver.yaml).', docs: DOCS.homeserver };
      }
      // Without the localpart parameter Synapse answers 400 only after accepting the secret.
      const r = await ctx.http.fetch(url, { authorization: `Bearer ${ctx.sharedSecret.reveal()}` });
      if (!isFailure(r) && r.status === 400) return { status: 'pass', message: 'The Synapse API for MAS answers with the shared secret.', details: { url } };
      const why = isFailure(r)
        ? `could not be reached (${r.message})`
        : r.status === 403
          ? 'refused the shared secret (403): matrix.secret in the MAS config and matrix_authentication_service.secret in homeserver.yaml differ'
          : r.status === 404
            ? 'is not there (404): matrix_authentication_service is not enabled in homeserver.yaml, or /_synapse/mas is not routed to Synapse'
            : `answered ${r.status}`;
      return {
        status: 'fail',
        message: `The Synapse API for MAS at ${url} ${why}.`,
        fix: 'In homeserver.yaml set matrix_authentication_service: {enabled: true, endpoint: <MAS URL>, secret: <the MAS matrix.secret>}; MAS\'s matrix.endpoint must reach Synapse, /_synapse/mas included.',
        docs: DOCS.homeserver,
        details: { url, ...(isFailure(r) ? { failure: r.failure } : { status: r.status }) },
      };
    },
  },
  {
    id: 'compat.login',
    family: 'compat',
    after: ['wellknown.client'],
    async run(ctx, earlier) {
      const base = clientBase(earlier, ctx.endpoint);
      const url = joinUrl(base, '/_matrix/client/v3/login');
      const r = await ctx.http.fetch(url);
      if (isFailure(r)) return { status: 'warn', message: `Cannot reach the legacy login API at ${url}: ${r.message}.`, docs: DOCS.reverseProxy, details: { url, failure: r.failure } };
      if (r.status < 200 || r.status > 299) {
        return {
          status: 'fail',
          message: `The legacy login API at ${url} answered ${r.status}: legacy clients cannot log in.`,
          fix: 'Route ^/_matrix/client/(.*)/(login|logout|refresh) on the public host to MAS, not to Synapse.',
          docs: DOCS.reverseProxy,
          details: { url, status: r.status },
        };
      }
      let flows: unknown[] = [];
      try {
        flows = ((JSON.parse(r.body) as { flows?: unknown[] }).flows ?? []) as unknown[];
      } catch {
        // not JSON: not MAS
      }
      const handledByMas = flows.some((f) => {
        const flow = f as Record<string, unknown>;
        return flow.type === 'm.login.sso' && (flow.oauth_aware_preferred === true || flow['org.matrix.msc3824.delegated_oidc_compatibility'] === true);
      });
      if (handledByMas) return { status: 'pass', message: `The legacy login API at ${url} is handled by MAS.`, details: { url } };
      return {
        status: 'warn',
        message: `The legacy login API at ${url} answers, but not as MAS does: it probably still reaches Synapse.`,
        fix: 'Route ^/_matrix/client/(.*)/(login|logout|refresh) on the public host to MAS.',
        docs: DOCS.reverseProxy,
        details: { url },
      };
    },
  },
];
