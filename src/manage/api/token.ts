// Admin tokens for the admin API backend: openid-client discovers the token endpoint from the issuer
// and runs the client credentials grant for urn:mas:admin, through our HTTP client. MAS gives no
// refresh token, so a token is kept until shortly before its expires_in runs out, then a new one is
// asked for; the request layer also drops it when the admin API says 401 (a token revoked, or a
// clock that disagrees).
import * as oidc from 'openid-client';
import type { MasClient } from '../../config/mas.js';
import { MasToolError } from '../../errors.js';
import type { HttpClient, HttpFailure } from '../../http/client.js';
import { ADMIN_API_DOCS, ADMIN_SCOPE, adminClientsYaml, describeOidcError, fetchThrough } from '../../http/openid.js';
import { rememberSecret, scrubSecrets, type Secret } from '../../secret.js';
import { unreachableError } from './errors.js';

/** Ask for a new token this long before the old one expires, at most (a tenth of its life for short ones). */
const RENEW_MARGIN_MS = 30_000;

export interface AdminTokenOptions {
  http: HttpClient;
  /** http.issuer (or public_base) of the MAS config: where discovery starts. */
  issuer: string;
  client: MasClient;
  secret: Secret;
  timeoutMs: number;
  /** The MAS config files, for messages. */
  configFiles: readonly string[];
}

/** The HttpFailure our fetch threw (openid-client may wrap it once or twice). */
function transportFailure(error: unknown): HttpFailure | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if ('failure' in e && 'url' in e && 'message' in e) return e as HttpFailure;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export class AdminTokenSource {
  readonly #options: AdminTokenOptions;
  #config: oidc.Configuration | undefined;
  #current: { value: string; renewAt: number | undefined } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: AdminTokenOptions) {
    this.#options = options;
  }

  /** A token that is still good, asking for one only when there is none. */
  async get(): Promise<string> {
    const current = this.#current;
    if (current !== undefined && (current.renewAt === undefined || Date.now() < current.renewAt)) return current.value;
    // Requests running side by side share one token request.
    this.#pending ??= this.#issue().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets `token` when it is still the current one, so that the next get() asks for a new one. */
  invalidate(token: string): void {
    if (this.#current?.value === token) this.#current = undefined;
  }

  forget(): void {
    this.#current = undefined;
  }

  async #configuration(): Promise<oidc.Configuration> {
    if (this.#config !== undefined) return this.#config;
    const { http, issuer, client, secret, timeoutMs } = this.#options;
    const value = secret.reveal();
    const auth = client.authMethod === 'client_secret_post' ? oidc.ClientSecretPost(value) : oidc.ClientSecretBasic(value);
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(new URL(issuer), client.clientId, undefined, auth, {
        [oidc.customFetch]: fetchThrough(http),
        // An http:// issuer is for the operator to judge (doctor warns); here it is only a transport.
        ...(new URL(issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    } catch (error) {
      const failure = transportFailure(error);
      const url = new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`).toString();
      if (failure !== undefined) throw unreachableError(failure.url, 'reading its OpenID Connect discovery document', failure.message, failure.failure);
      throw new MasToolError('MAS_TOOL_ADMIN_API_DISCOVERY', `Cannot read the OpenID Connect discovery document of the issuer ${issuer} (${url}): ${scrubSecrets(describeOidcError(error))}.`, {
        cause: error,
        hint: 'MAS serves it from the discovery resource at public_base; http.issuer, if set, must equal the issuer that document announces.',
        details: { issuer },
      });
    }
    config.timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
    this.#config = config;
    return config;
  }

  async #issue(): Promise<string> {
    const config = await this.#configuration();
    const { client, configFiles } = this.#options;
    const tokenEndpoint = config.serverMetadata().token_endpoint ?? 'the token endpoint';
    let grant: Awaited<ReturnType<typeof oidc.clientCredentialsGrant>>;
    try {
      grant = await oidc.clientCredentialsGrant(config, { scope: ADMIN_SCOPE });
    } catch (error) {
      throw this.#grantError(error, tokenEndpoint, client, configFiles);
    }
    rememberSecret(grant.access_token);
    const expiresIn = grant.expiresIn();
    // Without expires_in the token is kept until the admin API refuses it.
    const renewAt = expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000 - Math.min(RENEW_MARGIN_MS, expiresIn * 100);
    this.#current = { value: grant.access_token, renewAt };
    return grant.access_token;
  }

  #grantError(error: unknown, tokenEndpoint: string, client: MasClient, configFiles: readonly string[]): MasToolError {
    const files = configFiles.join(', ');
    if (error instanceof oidc.ResponseBodyError || error instanceof oidc.WWWAuthenticateChallengeError) {
      const code = error instanceof oidc.ResponseBodyError ? error.error : 'invalid_client';
      const description = error instanceof oidc.ResponseBodyError && error.error_description !== undefined ? `: ${scrubSecrets(error.error_description)}` : '';
      const details = { tokenEndpoint, clientId: client.clientId, status: error.status, error: code };
      if (code === 'invalid_client') {
        return new MasToolError(
          'MAS_TOOL_ADMIN_API_CLIENT_REJECTED',
          `The MAS token endpoint ${tokenEndpoint} rejected the admin client ${client.clientId} (invalid_client): its client_secret or client_auth_method (${client.authMethod}) in ${files} is not what MAS runs with.`,
          { hint: `Make ${client.keyPath}.client_secret and client_auth_method match the config MAS runs with, and restart MAS after changing them.`, details },
        );
      }
      if (code === 'unauthorized_client') {
        return new MasToolError(
          'MAS_TOOL_ADMIN_API_CLIENT_NOT_ALLOWED',
          `The MAS token endpoint ${tokenEndpoint} does not let the client ${client.clientId} use the client credentials grant (unauthorized_client${description}).`,
          { hint: `Configure ${client.clientId} in the MAS config MAS runs with as a static client with a client_secret (${client.keyPath}), and restart MAS.`, details },
        );
      }
      return new MasToolError(
        'MAS_TOOL_ADMIN_API_CLIENT_NOT_ALLOWED',
        `The MAS token endpoint ${tokenEndpoint} refused the client ${client.clientId} a ${ADMIN_SCOPE} token (${scrubSecrets(code)}${description}): MAS runs with a config whose policy.data.admin_clients does not list it.`,
        {
          hint: `Add the client to policy.data.admin_clients in the config MAS runs with (${files} lists it; was MAS restarted since?), then restart MAS:\n${adminClientsYaml(client.clientId)}\nSee ${ADMIN_API_DOCS}`,
          details,
        },
      );
    }
    const failure = transportFailure(error);
    if (failure !== undefined) return unreachableError(failure.url, `asking for an admin token`, failure.message, failure.failure);
    return new MasToolError('MAS_TOOL_ADMIN_API_TOKEN', `Could not get an admin token from ${tokenEndpoint}: ${scrubSecrets(describeOidcError(error))}.`, {
      cause: error,
      hint: `Check that ${tokenEndpoint} reaches MAS (the oauth resource at public_base).`,
      details: { tokenEndpoint, clientId: client.clientId },
    });
  }
}
