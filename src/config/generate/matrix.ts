// The matrix section: the homeserver, the secret shared with Synapse and where MAS reaches Synapse.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink, GenerateOptions, Warn } from './context.js';

/** MAS's own default for matrix.endpoint: Synapse's client listener on the same host. */
export const DEFAULT_MATRIX_ENDPOINT = 'http://localhost:8008/';

export function matrixSection(synapse: ParsedSynapseConfig, options: GenerateOptions, { warn, info }: FindingSink): Record<string, unknown> {
  const matrix = {
    kind: 'synapse',
    homeserver: synapse.serverName,
    secret: matrixSecret(synapse, options, warn, info),
    endpoint: DEFAULT_MATRIX_ENDPOINT,
  };
  // Decision: never copy public_baseurl into matrix.endpoint (mas-cli does). MAS calls Synapse's
  // /_synapse/mas API with the shared secret; that should go straight to Synapse's listener, not
  // out through the public reverse proxy (which may not even route /_synapse/mas).
  if (synapse.publicBaseurl !== undefined) {
    warn(
      C.endpointDefault,
      `matrix.endpoint is set to ${DEFAULT_MATRIX_ENDPOINT}, not to Synapse's public_baseurl (${synapse.publicBaseurl}): MAS should reach Synapse directly.`,
      "Set matrix.endpoint to the internal URL of Synapse's client listener as seen from the MAS host (for example http://synapse:8008/ in a container network).",
      { key: 'matrix.endpoint', value: DEFAULT_MATRIX_ENDPOINT, synapsePublicBaseurl: synapse.publicBaseurl },
    );
  } else {
    warn(
      C.endpointDefault,
      `matrix.endpoint is set to the default ${DEFAULT_MATRIX_ENDPOINT}; homeserver.yaml does not say where Synapse listens for MAS.`,
      "Set matrix.endpoint to the internal URL of Synapse's client listener as seen from the MAS host.",
      { key: 'matrix.endpoint', value: DEFAULT_MATRIX_ENDPOINT },
    );
  }
  if (synapse.mas?.enabled === true || synapse.msc3861?.enabled === true) {
    const key = synapse.mas?.enabled === true ? 'matrix_authentication_service.enabled' : 'experimental_features.msc3861.enabled';
    warn(
      C.alreadyMigrated,
      `${key} is true: this homeserver.yaml already delegates authentication to MAS, so settings MAS needs (password_config, oidc_providers, registration) may already have been switched off in it.`,
      'Generate from the homeserver.yaml Synapse ran with before the switch to MAS, or check passwords and upstream_oauth2 in the result by hand.',
      { key },
    );
  }
  return matrix;
}

function matrixSecret(synapse: ParsedSynapseConfig, options: GenerateOptions, warn: Warn, info: Warn): string {
  // Decision: the shared secret is written inline, not as secret_file pointing at Synapse's
  // secret_path: MAS often runs on another host or in another container, where that path means
  // nothing. The generated file is written mode 0600 for that reason.
  if (options.sharedSecret !== undefined) return options.sharedSecret.reveal();
  const source = synapse.mas?.secret;
  if (source?.kind === 'inline') return source.value.reveal();
  if (source?.kind === 'file') {
    warn(
      C.matrixSecretUnread,
      `${source.key} names a file that was not read, so matrix.secret is a new random value that Synapse does not know.`,
      `Set matrix.secret (or matrix.secret_file) to the content of ${source.path}.`,
      { key: source.key, path: source.path },
    );
    return options.secrets.matrixSecret;
  }
  info(
    C.matrixSecretNew,
    'matrix.secret is a new random value: homeserver.yaml has no matrix_authentication_service.secret.',
    'When switching Synapse to MAS, set matrix_authentication_service.secret (or secret_path, a file holding it) in homeserver.yaml to the same value.',
    { key: 'matrix.secret' },
  );
  return options.secrets.matrixSecret;
}
