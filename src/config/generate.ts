// Derives a MAS config.yaml from a parsed homeserver.yaml: what `mas-cli config generate
// --synapse-config` produces, with its known mistakes corrected (fetch_userinfo and
// on_backchannel_logout the right way round, matrix.endpoint never set to Synapse's public URL,
// matrix.secret taken from Synapse's matrix_authentication_service block) and a warning, as a
// Finding, for everything that cannot be carried over.
//
// Pure: no I/O. Given the same ParsedSynapseConfig and options it returns the same document, YAML
// and findings. Fresh secrets come in through options.secrets (see keys.ts). No finding ever holds a
// secret value: findings name keys and files, never what they contain.
import type { Finding } from '../report/finding.js';
import { captchaSection } from './generate/captcha.js';
import { findingSink, type GenerateOptions } from './generate/context.js';
import { databaseSection } from './generate/database.js';
import { httpSection } from './generate/http.js';
import { matrixSection } from './generate/matrix.js';
import { warnNotCarried } from './generate/not-carried.js';
import { passwordsAndAccountSections } from './generate/passwords.js';
import { providerIdFactory } from './generate/provider-ids.js';
import { convertProvider } from './generate/upstream-oauth2.js';
import { renderYaml } from './generate/yaml.js';
import type { ParsedSynapseConfig } from './synapse.js';

export { GENERATE_CODES } from './generate/codes.js';
export type { GenerateOptions } from './generate/context.js';
export { DEFAULT_PUBLIC_BASE } from './generate/http.js';
export { DEFAULT_MATRIX_ENDPOINT } from './generate/matrix.js';

export interface GeneratedMasConfig {
  /** The config as data (secrets as plain strings: it is the product). */
  document: Record<string, unknown>;
  yaml: string;
  /** Warnings for what could not be carried over. */
  findings: Finding[];
}

export function generateMasConfig(synapse: ParsedSynapseConfig, options: GenerateOptions): GeneratedMasConfig {
  // Each section adds its findings in turn, so they come out in the order of the file.
  const sink = findingSink();
  const matrix = matrixSection(synapse, options, sink);
  const http = httpSection(synapse, sink);
  const database = databaseSection(synapse, sink);
  const { passwords, account } = passwordsAndAccountSections(synapse, sink);
  const captcha = captchaSection(synapse, sink);
  warnNotCarried(synapse, sink);

  // ---- upstream providers ------------------------------------------------------------------
  const nextId = providerIdFactory(options);
  const providers: Record<string, unknown>[] = [];
  for (const provider of synapse.oidcProviders) {
    const converted = convertProvider(provider, nextId, sink.warn);
    if (converted !== undefined) providers.push(converted);
  }

  // ---- assemble, in reading order ----------------------------------------------------------
  const document: Record<string, unknown> = { matrix, http, database, passwords, account };
  if (captcha !== undefined) document.captcha = captcha;
  if (providers.length > 0) document.upstream_oauth2 = { providers };
  document.email = { from: '"Authentication Service" <root@localhost>', reply_to: '"Authentication Service" <root@localhost>', transport: 'blackhole' };
  document.secrets = {
    encryption: options.secrets.encryptionHex,
    keys: [{ key: options.secrets.rsaPrivateKeyPem }, { key: options.secrets.ecP256PrivateKeyPem }],
  };

  return { document, yaml: renderYaml(document, synapse, options), findings: sink.findings };
}
