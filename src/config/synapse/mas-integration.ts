// Synapse's delegation to MAS: the stable `matrix_authentication_service` block and the
// experimental `experimental_features.msc3861` that preceded it.
import type { Fields } from '../fields.js';
import type { ConfigMap } from '../read.js';
import type { SecretSource } from '../secret-source.js';

export interface SynapseMasIntegration {
  enabled: boolean;
  endpoint: string;
  secret?: SecretSource;
  forceHttp2: boolean;
}

export interface SynapseLegacyMsc3861 {
  enabled: boolean;
  issuer?: string;
  clientId?: string;
  adminToken?: SecretSource;
  accountManagementUrl?: string;
}

export function masIntegration(f: Fields, doc: ConfigMap): SynapseMasIntegration | undefined {
  const m = f.section(doc, 'matrix_authentication_service', 'matrix_authentication_service');
  if (m === undefined) return undefined;
  const path = 'matrix_authentication_service';
  const out: SynapseMasIntegration = {
    enabled: f.bool(m, 'enabled', `${path}.enabled`) ?? false,
    endpoint: f.string(m, 'endpoint', `${path}.endpoint`) ?? 'http://localhost:8080',
    forceHttp2: f.bool(m, 'force_http2', `${path}.force_http2`) ?? false,
  };
  const secret = f.secret(m, 'secret', 'secret_path', path);
  if (secret !== undefined) out.secret = secret;
  return out;
}

export function legacyMsc3861(f: Fields, doc: ConfigMap): SynapseLegacyMsc3861 | undefined {
  const experimental = f.section(doc, 'experimental_features', 'experimental_features');
  const m = f.section(experimental, 'msc3861', 'experimental_features.msc3861');
  if (m === undefined || Object.keys(m).length === 0) return undefined;
  const path = 'experimental_features.msc3861';
  const out: SynapseLegacyMsc3861 = { enabled: f.bool(m, 'enabled', `${path}.enabled`) ?? false };
  const issuer = f.string(m, 'issuer', `${path}.issuer`);
  if (issuer !== undefined) out.issuer = issuer;
  const clientId = f.string(m, 'client_id', `${path}.client_id`);
  if (clientId !== undefined) out.clientId = clientId;
  const account = f.string(m, 'account_management_url', `${path}.account_management_url`);
  if (account !== undefined) out.accountManagementUrl = account;
  const token = f.secret(m, 'admin_token', 'admin_token_path', path);
  if (token !== undefined) out.adminToken = token;
  return out;
}
