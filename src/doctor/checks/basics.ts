// The checks mas-cli's doctor makes, with its pass rules made strict: the issuer is HTTPS, the
// client well-known document (from the lookup every check shares), Synapse answering the Matrix
// client API at matrix.endpoint, an invalid token refused, the MAS-to-Synapse API answering with
// the shared secret, and the legacy login API served by MAS on the client base URL.
//
// What only the internal endpoint answers (/_synapse/mas, the token check) is asked of
// matrix.endpoint and says so; the legacy login is asked on the client base URL only (see
// client-base.ts).
import { isFailure } from '../../http/client.js';
import { whyNoBase } from '../client-discovery.js';
import { probeVersions, versionRange } from '../matrix-versions.js';
import { joinUrl } from '../../http/url.js';
import { DOCS, type DoctorCheck } from '../check.js';
import { baseSource, routingBase } from './client-base.js';
import { BOGUS_TOKEN, exampleWellKnown } from './shared.js';

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
      const { wellKnown: w } = await ctx.clientDiscovery();
      const url = w.url;
      const example = exampleWellKnown(ctx.serverName);
      const details = { url, from: w.from, outcome: w.outcome, ...(w.response !== undefined ? { status: w.response.status } : {}), ...(w.failure !== undefined ? { failure: w.failure.failure } : {}) };
      if (w.baseUrl !== undefined && w.outcome !== 'invalid-base-url') {
        return { status: 'pass', message: `The client well-known document at ${url} points to ${w.baseUrl}.`, details: { ...details, baseUrl: w.baseUrl } };
      }
      const where = w.from === 'server-name' ? ` (clients look it up on the server name ${ctx.serverName}, port included)` : '';
      const lookup = w.outcome === 'missing' ? ': clients that only know the server name cannot find the homeserver, and ask the user for its URL' : '';
      return {
        status: 'warn',
        message: `The client well-known document: ${whyNoBase(w)}${where}${lookup}.`,
        fix: w.outcome === 'bad-server-name' ? 'Give the server name as host or host:port (--server-name, else matrix.homeserver).' : `Serve ${url} with a JSON body such as ${example}, so that clients find the homeserver from the server name.`,
        docs: DOCS.wellKnown,
        details,
      };
    },
  },
  {
    id: 'homeserver.reachable',
    family: 'homeserver',
    async run(ctx) {
      // As clients judge a homeserver (see matrix-versions.ts): any 2xx is not enough, or a proxy's
      // welcome page would pass here and then "accept" a fake token in the next check.
      const v = await probeVersions(ctx.http, ctx.endpoint);
      const details = { url: v.url, endpoint: ctx.endpoint, ...(v.status !== undefined ? { status: v.status } : {}), ...(v.contentType !== undefined ? { contentType: v.contentType } : {}), ...(v.failure !== undefined ? { failure: v.failure } : {}) };
      if (v.matrix) return { status: 'pass', message: `The homeserver answers the Matrix client API at ${v.url} (matrix.endpoint): ${versionRange(v.versions ?? [])}.`, details: { ...details, versions: v.versions } };
      const other = v.status !== undefined && v.status >= 200 && v.status <= 299;
      return {
        status: 'fail',
        message: `Cannot use the homeserver at matrix.endpoint ${ctx.endpoint}: ${v.url} ${v.problem ?? 'did not answer'}${other ? ' (Synapse answers JSON with a "versions" list)' : ''}.`,
        fix: other
          ? 'matrix.endpoint reaches some other web server (a proxy\'s default site, a login page): set it to the URL where MAS reaches Synapse\'s client listener, usually an internal address such as http://synapse:8008/.'
          : 'Set matrix.endpoint in the MAS config to the URL where MAS reaches Synapse (its client listener, usually an internal address such as http://synapse:8008/), and check that Synapse runs.',
        docs: DOCS.homeserver,
        details,
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
      if (isFailure(r)) return { status: 'fail', message: `The homeserver did not answer ${url} (matrix.endpoint): ${r.message}.`, docs: DOCS.homeserver, details: { url, failure: r.failure } };
      if (r.status === 401) return { status: 'pass', message: `The homeserver correctly rejects an invalid access token at ${url} (matrix.endpoint).`, details: { url } };
      if (r.status < 400) {
        return {
          status: 'fail',
          message: `The homeserver answered ${r.status} to an invalid access token at ${url} (matrix.endpoint): a fake token might have been accepted.`,
          fix: 'Check that matrix_authentication_service is enabled in homeserver.yaml and that no other authentication path accepts arbitrary tokens.',
          docs: DOCS.homeserver,
          details: { url, status: r.status },
        };
      }
      if (r.status === 503) {
        return {
          status: 'fail',
          message: `The homeserver could not ask MAS about a token (503 at ${url}, matrix.endpoint): Synapse cannot reach MAS, or MAS refuses Synapse's shared secret.`,
          fix: 'In homeserver.yaml, matrix_authentication_service.endpoint must reach MAS from Synapse, and its secret must equal matrix.secret in the MAS config.',
          docs: DOCS.homeserver,
          details: { url, status: r.status },
        };
      }
      return { status: 'warn', message: `The homeserver answered ${r.status} to an invalid access token at ${url} (matrix.endpoint); expected 401. Check that it is running normally.`, docs: DOCS.homeserver, details: { url, status: r.status } };
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
      if (!isFailure(r) && r.status === 400) return { status: 'pass', message: `The Synapse API for MAS at ${url} (matrix.endpoint) answers with the shared secret.`, details: { url } };
      const why = isFailure(r)
        ? `could not be reached (${r.message})`
        : r.status === 403
          ? 'refused the shared secret (403): matrix.secret in the MAS config and matrix_authentication_service.secret in homeserver.yaml differ'
          : r.status === 404
            ? 'is not there (404): matrix_authentication_service is not enabled in homeserver.yaml, or /_synapse/mas is not routed to Synapse'
            : `answered ${r.status}`;
      return {
        status: 'fail',
        message: `The Synapse API for MAS at ${url} (matrix.endpoint) ${why}.`,
        fix: 'In homeserver.yaml set matrix_authentication_service: {enabled: true, endpoint: <MAS URL>, secret: <the MAS matrix.secret>}; MAS\'s matrix.endpoint must reach Synapse, /_synapse/mas included.',
        docs: DOCS.homeserver,
        details: { url, ...(isFailure(r) ? { failure: r.failure } : { status: r.status }) },
      };
    },
  },
  {
    id: 'compat.login',
    family: 'compat',
    async run(ctx) {
      const where = await routingBase(ctx);
      if ('skip' in where) return where.skip;
      const base = where.base;
      const from = baseSource(where.discovery);
      const url = joinUrl(base, '/_matrix/client/v3/login');
      const r = await ctx.http.fetch(url);
      if (isFailure(r)) return { status: 'warn', message: `Cannot reach the legacy login API at ${url} (${from}): ${r.message}.`, docs: DOCS.reverseProxy, details: { url, base, failure: r.failure } };
      if (r.status < 200 || r.status > 299) {
        return {
          status: 'fail',
          message: `The legacy login API at ${url} (${from}) answered ${r.status}: legacy clients cannot log in.`,
          fix: `Route ^/_matrix/client/(.*)/(login|logout|refresh) on ${new URL(base).host} to MAS, not to Synapse.`,
          docs: DOCS.reverseProxy,
          details: { url, base, status: r.status },
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
      if (handledByMas) return { status: 'pass', message: `The legacy login API at ${url} (${from}) is handled by MAS.`, details: { url, base } };
      return {
        status: 'warn',
        message: `The legacy login API at ${url} (${from}) answers, but not as MAS does: it probably still reaches Synapse.`,
        fix: `Route ^/_matrix/client/(.*)/(login|logout|refresh) on ${new URL(base).host} to MAS.`,
        docs: DOCS.reverseProxy,
        details: { url, base },
      };
    },
  },
];
