// The admin APIs: Synapse's (is it exposed at matrix.endpoint, and is Synapse recent enough for the
// stable MAS integration), and MAS's (can a configured admin client get a `urn:mas:admin` token
// with the client credentials grant, and does the admin API answer with it for this server name).
import * as oidc from 'openid-client';
import type { MasListener } from '../../config/mas.js';
import { readSecretSource } from '../../config/secret-source.js';
import { isFailure, type HttpResult } from '../../http/client.js';
import { joinUrl } from '../../http/url.js';
import {
  ADMIN_API_DOCS,
  ADMIN_SCOPE,
  chooseAdminClient,
  describeOidcError,
  ENABLE_ADMIN_API_YAML,
  ENABLE_ADMIN_CLIENT_YAML,
  errorTitles,
  fetchThrough,
} from '../../http/openid.js';
import { rememberSecret, scrubSecrets } from '../../secret.js';
import { DOCS, type DoctorCheck } from '../check.js';

/** The first Synapse release with the stable `matrix_authentication_service` section. */
const STABLE_MAS_SYNAPSE: readonly [number, number] = [1, 136];

/** Parses "1.157.1", "1.136.0rc1" or "1.98.0 (b=develop, 1a2b3c)" into [major, minor]. */
function parseVersion(v: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(v.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

function failureDetails(r: HttpResult): Record<string, unknown> {
  return isFailure(r) ? { failure: r.failure } : { status: r.status };
}

function listenerLabel(l: MasListener, i: number): string {
  return `${l.name ?? `#${i}`}${l.prefix !== undefined ? ` (prefix ${l.prefix})` : ''}`;
}

export const adminApiChecks: DoctorCheck[] = [
  {
    id: 'admin.synapse_server_version',
    family: 'admin',
    async run(ctx) {
      const url = joinUrl(ctx.endpoint, '/_synapse/admin/v1/server_version');
      const r = await ctx.http.fetch(url);
      if (isFailure(r)) {
        return { status: 'warn', message: `Could not ask Synapse for its version at ${url}: ${r.message}.`, docs: DOCS.homeserver, details: { url, failure: r.failure } };
      }
      if (r.status === 404) {
        return {
          status: 'warn',
          message: `The Synapse admin API is not reachable at ${url} (404): it is not routed or not exposed at matrix.endpoint.`,
          fix: 'Let matrix.endpoint reach a Synapse listener that serves /_synapse/admin (the main process, a client listener); a reverse proxy in between must not block /_synapse/admin for MAS.',
          docs: DOCS.homeserver,
          details: { url, status: 404 },
        };
      }
      let version: unknown;
      if (r.status === 200) {
        try {
          version = (JSON.parse(r.body) as { server_version?: unknown } | null)?.server_version;
        } catch {
          // not JSON: handled below
        }
      }
      if (typeof version !== 'string') {
        return {
          status: 'warn',
          message: `${url} answered ${r.status}${r.status === 200 ? ' without a server_version' : ''}; expected Synapse's version.`,
          fix: 'Check that matrix.endpoint points to Synapse and not to another service.',
          docs: DOCS.homeserver,
          details: { url, status: r.status },
        };
      }
      const parsed = parseVersion(version);
      const [major, minor] = STABLE_MAS_SYNAPSE;
      if (parsed !== undefined && (parsed[0] < major || (parsed[0] === major && parsed[1] < minor))) {
        return {
          status: 'warn',
          message: `Synapse ${version} is older than ${major}.${minor}, the first release with the stable MAS integration (matrix_authentication_service).`,
          fix: `Upgrade Synapse to ${major}.${minor} or later, then configure matrix_authentication_service in homeserver.yaml.`,
          docs: DOCS.homeserver,
          details: { url, version },
        };
      }
      return {
        status: 'pass',
        message: `Synapse ${version} answers its admin API at ${ctx.endpoint}.${parsed === undefined ? ' (The version could not be compared.)' : ''}`,
        details: { url, version },
      };
    },
  },
  {
    id: 'admin.mas_api',
    family: 'admin',
    async run(ctx) {
      const choice = chooseAdminClient(ctx.mas);
      if (choice.client === undefined) {
        return {
          status: 'skip',
          message: `Skipped: the MAS config has no admin client doctor can use (${choice.reason}).`,
          fix: `To let tools use the MAS admin API, add to the MAS config:\n${ENABLE_ADMIN_CLIENT_YAML}`,
          docs: ADMIN_API_DOCS,
        };
      }
      const client = choice.client;
      const adminListeners = ctx.mas.http.listeners.map((l, i) => ({ l, i })).filter(({ l }) => l.resources.includes('adminapi'));
      if (adminListeners.length === 0) {
        return {
          status: 'skip',
          message: 'Skipped: no listener in the MAS config serves the admin API (no adminapi resource).',
          fix: `Add the adminapi resource to a listener:\n${ENABLE_ADMIN_API_YAML}`,
          docs: ADMIN_API_DOCS,
          details: { clientId: client.clientId },
        };
      }
      // The admin API is requested at public_base + api/admin/v1/..., never with a listener `prefix`
      // appended: MAS builds every public URL (the token endpoint in its discovery document included)
      // from public_base, which must therefore already carry the prefix of the listener serving it.
      // When the adminapi resource sits only on another listener (an internal one, maybe with its own
      // prefix), doctor cannot know how, or whether, that listener is reachable from outside, so it
      // still asks public_base and, on a 404, names that listener in the message.
      const publicBase = ctx.mas.http.publicBase ?? ctx.issuer;
      if (ctx.issuer === undefined || publicBase === undefined) {
        return { status: 'skip', message: 'Skipped: the MAS config sets neither http.issuer nor http.public_base (see issuer.https).', docs: DOCS.general };
      }
      const publicListener = (l: MasListener) => l.resources.includes('discovery') || l.resources.includes('oauth');
      const onPublic = adminListeners.some(({ l }) => publicListener(l));
      const url = joinUrl(publicBase, '/api/admin/v1/site-config');
      const base = {
        clientId: client.clientId,
        authMethod: client.authMethod,
        issuer: ctx.issuer,
        url,
        adminApiListeners: adminListeners.map(({ l, i }) => listenerLabel(l, i)),
      };

      const source = client.secret;
      if (source === undefined) return { status: 'skip', message: `Skipped: the admin client ${client.clientId} has no client_secret.`, docs: ADMIN_API_DOCS };
      let secret: string;
      try {
        // A client_secret_file is read without surrounding whitespace (a trailing newline is almost
        // never part of a secret; not checked against MAS, which may read it raw).
        secret = readSecretSource(source, 'trim').reveal();
      } catch (error) {
        return { status: 'fail', message: `Cannot read the secret of the admin client ${client.clientId}: ${(error as Error).message}`, details: base };
      }
      // Any text from outside (error descriptions, MAS's titles, transport errors) goes through
      // scrubSecrets before it is put in a result: the client secret and the token are known to it.
      let token: string | undefined;

      const auth = client.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
      let config: oidc.Configuration;
      try {
        config = await oidc.discovery(new URL(ctx.issuer), client.clientId, undefined, auth, {
          [oidc.customFetch]: fetchThrough(ctx.http),
          // An http:// issuer is already a warning of issuer.https; here it is only a transport.
          ...(new URL(ctx.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
        });
      } catch (error) {
        const why = describeOidcError(error);
        return {
          status: 'fail',
          message: `Cannot read the OpenID Connect discovery document of the issuer ${ctx.issuer}: ${scrubSecrets(why)}.`,
          fix: 'MAS serves /.well-known/openid-configuration from the discovery resource at public_base; http.issuer, if set, must equal the issuer that document announces.',
          docs: DOCS.general,
          details: base,
        };
      }
      config.timeout = Math.max(1, Math.ceil(ctx.timeoutMs / 1000));

      let grant: Awaited<ReturnType<typeof oidc.clientCredentialsGrant>>;
      try {
        grant = await oidc.clientCredentialsGrant(config, { scope: ADMIN_SCOPE });
      } catch (error) {
        const tokenEndpoint = config.serverMetadata().token_endpoint;
        const fix = `Check that ${client.clientId} is listed in policy.data.admin_clients, and that its client_secret in the MAS config is the one MAS runs with (${client.keyPath}); restart MAS after changing them.`;
        if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) {
          const code = error instanceof oidc.ResponseBodyError ? error.error : 'invalid_client';
          const desc = error instanceof oidc.ResponseBodyError && error.error_description !== undefined ? `: ${scrubSecrets(error.error_description)}` : '';
          const what =
            code === 'invalid_client'
              ? 'refused the client credentials (invalid_client): the client secret or the authentication method does not match what MAS has'
              : `refused the client credentials grant for ${ADMIN_SCOPE} (${scrubSecrets(code)}${desc}): the client is not allowed to use the admin API`;
          return { status: 'fail', message: `The token endpoint ${scrubSecrets(tokenEndpoint ?? '')} ${what}.`, fix, docs: ADMIN_API_DOCS, details: { ...base, status: error.status, error: code } };
        }
        const why = describeOidcError(error);
        return { status: 'fail', message: `Could not get an admin token from ${tokenEndpoint === undefined ? 'the token endpoint' : scrubSecrets(tokenEndpoint)}: ${scrubSecrets(why)}.`, fix, docs: ADMIN_API_DOCS, details: base };
      }
      token = grant.access_token;
      rememberSecret(token);

      const r = await ctx.http.fetch(url, { authorization: `Bearer ${token}` });
      if (isFailure(r)) {
        return { status: 'fail', message: `The MAS admin API at ${url} could not be reached: ${scrubSecrets(r.message)}.`, docs: ADMIN_API_DOCS, details: { ...base, failure: r.failure } };
      }
      const titles = errorTitles(r.body);
      if (r.status === 404) {
        const where = onPublic
          ? 'the listener serving public_base has the adminapi resource, so a reverse proxy in front probably does not route /api/admin to MAS'
          : `the adminapi resource is on ${base.adminApiListeners.join(', ')}, not on the listener that serves public_base`;
        return {
          status: 'fail',
          message: `The MAS admin API is not at ${url} (404): ${where}.`,
          fix: `Add the adminapi resource to the public listener and route ${joinUrl(publicBase, '/api/admin/')} to MAS; if the admin API is deliberately internal-only, skip this check with --skip admin.mas_api.\n${ENABLE_ADMIN_API_YAML}`,
          docs: ADMIN_API_DOCS,
          details: { ...base, status: 404 },
        };
      }
      if (r.status === 401 || r.status === 403) {
        return {
          status: 'fail',
          message: `The MAS admin API at ${url} refused the admin token (${r.status}${titles !== undefined ? `: ${scrubSecrets(titles)}` : ''}).`,
          fix: `The token was issued for ${ADMIN_SCOPE}; check that nothing between doctor and MAS replaces the Authorization header, and that the issuer and public_base name the same MAS.`,
          docs: ADMIN_API_DOCS,
          details: { ...base, status: r.status },
        };
      }
      if (r.status !== 200) {
        return { status: 'fail', message: `The MAS admin API at ${url} answered ${r.status}${titles !== undefined ? ` (${scrubSecrets(titles)})` : ''}.`, docs: ADMIN_API_DOCS, details: { ...base, status: r.status } };
      }
      let serverName: unknown;
      try {
        serverName = (JSON.parse(r.body) as { server_name?: unknown } | null)?.server_name;
      } catch {
        // not JSON: handled below
      }
      if (typeof serverName !== 'string') {
        return { status: 'fail', message: `The MAS admin API at ${url} answered 200 without a server_name: it is not MAS's site-config (MAS before 1.3 has none).`, docs: ADMIN_API_DOCS, details: { ...base, status: 200 } };
      }
      const expected = ctx.mas.matrix.homeserver;
      if (serverName !== expected) {
        return {
          status: 'fail',
          message: `The MAS admin API at ${url} serves the server name ${serverName}, but matrix.homeserver in the MAS config is ${expected}: public_base reaches another MAS, or MAS runs with another config.`,
          fix: 'Make public_base point to the MAS that runs with this config, and restart MAS after changing matrix.homeserver.',
          docs: ADMIN_API_DOCS,
          details: { ...base, serverName, expected },
        };
      }
      return {
        status: 'pass',
        message: `The MAS admin API answers at ${url} with a ${ADMIN_SCOPE} token of the client ${client.clientId}, for ${serverName}.`,
        details: { ...base, serverName },
      };
    },
  },
];
