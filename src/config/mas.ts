// Parses a merged MAS config.yaml into the settings mas-tool uses. Pure: secret files are recorded
// as SecretSource and read only by the command that needs them. Sections are optional here; a
// command that needs one (matrix.secret for doctor, say) asks for it and gets an error naming the key.
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';
import { LIBPQ_SSLMODES, parseConnectionUri, type ConnectionFields } from '../db/uri.js';
import { Fields, describe } from './fields.js';
import { isMap, type ConfigMap, type SourcedConfig } from './read.js';
import type { SecretSource } from './secret-source.js';

export const MATRIX_KINDS = ['synapse', 'synapse_modern', 'synapse_legacy', 'synapse_read_only'] as const;
export const PASSWORD_ALGORITHMS = ['bcrypt', 'argon2id', 'pbkdf2'] as const;
export type PasswordAlgorithm = (typeof PASSWORD_ALGORITHMS)[number];
export const TOKEN_AUTH_METHODS = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'sign_in_with_apple',
] as const;

export interface MasDatabaseSettings {
  /** Fields from `uri`, or from the split keys; undefined fields fall back to libpq defaults. */
  fields: ConnectionFields;
  passwordFile?: SecretSource;
  /** Inline PEM given with ssl_ca / ssl_certificate / ssl_key. */
  sslCaPem?: string;
  sslCertificatePem?: string;
  sslKeyPem?: Secret;
  socket?: string;
}

export interface MasPasswordScheme {
  version: number;
  algorithm: PasswordAlgorithm;
  cost?: number;
  /** The pepper; a `secret_file` is read as raw bytes, as MAS does. */
  secret?: SecretSource;
  unicodeNormalization: boolean;
  keyPath: string;
}

export interface MasUpstreamProvider {
  id: string;
  keyPath: string;
  enabled: boolean;
  synapseIdpId?: string;
  issuer?: string;
  humanName?: string;
  clientId: string;
  tokenEndpointAuthMethod: string;
  discoveryMode: string;
}

export interface MasListener {
  name?: string;
  resources: string[];
  binds: Array<{ address?: string; host?: string; port?: number; socket?: string }>;
  prefix?: string;
}

export interface MasClient {
  clientId: string;
  keyPath: string;
  authMethod: string;
  secret?: SecretSource;
}

export interface ParsedMasConfig {
  files: readonly string[];
  database: MasDatabaseSettings;
  matrix: {
    homeserver: string;
    endpoint: string;
    kind: (typeof MATRIX_KINDS)[number];
    secret?: SecretSource;
  };
  passwords: {
    enabled: boolean;
    minimumComplexity: number;
    /** Highest version first, as MAS sorts them; the first one hashes new passwords. */
    schemes: MasPasswordScheme[];
  };
  upstreamProviders: MasUpstreamProvider[];
  http: {
    publicBase?: string;
    /** `http.issuer`, else `http.public_base`. */
    issuer?: string;
    listeners: MasListener[];
  };
  clients: MasClient[];
  policyData: {
    adminClients: string[];
    adminUsers: string[];
  };
  secrets?: {
    hasEncryption: boolean;
    keyCount: number;
    hasKeysDir: boolean;
  };
  captchaService?: string;
  tosUri?: string;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

export function parseMasConfig(source: SourcedConfig): ParsedMasConfig {
  const f = new Fields(source);
  const doc = source.value;
  const matrix = f.section(doc, 'matrix', 'matrix');
  const http = f.section(doc, 'http', 'http');
  const publicBase = f.string(http, 'public_base', 'http.public_base');
  const issuer = f.string(http, 'issuer', 'http.issuer') ?? publicBase;
  const captcha = f.section(doc, 'captcha', 'captcha');
  const branding = f.section(doc, 'branding', 'branding');

  const parsed: ParsedMasConfig = {
    files: source.files,
    database: database(f, doc),
    matrix: {
      homeserver: f.string(matrix, 'homeserver', 'matrix.homeserver') ?? 'localhost:8008',
      endpoint: f.string(matrix, 'endpoint', 'matrix.endpoint') ?? 'http://localhost:8008/',
      kind: f.oneOf(matrix, 'kind', 'matrix.kind', MATRIX_KINDS) ?? 'synapse',
    },
    passwords: passwords(f, doc),
    upstreamProviders: providers(f, doc),
    http: { listeners: listeners(f, http) },
    clients: clients(f, doc),
    policyData: policyData(f, doc),
  };
  const matrixSecret = f.secret(matrix, 'secret', 'secret_file', 'matrix');
  if (matrixSecret !== undefined) parsed.matrix.secret = matrixSecret;
  if (publicBase !== undefined) parsed.http.publicBase = publicBase;
  if (issuer !== undefined) parsed.http.issuer = issuer;
  const secrets = secretsSection(f, doc);
  if (secrets !== undefined) parsed.secrets = secrets;
  const service = f.string(captcha, 'service', 'captcha.service');
  if (service !== undefined) parsed.captchaService = service;
  const tos = f.string(branding, 'tos_uri', 'branding.tos_uri');
  if (tos !== undefined) parsed.tosUri = tos;

  if (f.problems.length > 0) {
    throw new ConfigError(
      `The MAS configuration (${source.files.join(', ')}) has ${f.problems.length} problem${f.problems.length === 1 ? '' : 's'}:`,
      { problems: f.problems, hint: 'Fix these keys in the MAS config; `mas-cli config check` validates the same file.' },
    );
  }
  return parsed;
}


const SPLIT_DB_KEYS = ['host', 'port', 'socket', 'username', 'password', 'password_file', 'database'];

function database(f: Fields, doc: ConfigMap): MasDatabaseSettings {
  const db = f.section(doc, 'database', 'database');
  const out: MasDatabaseSettings = { fields: {} };
  if (db === undefined) return out;
  const uri = f.string(db, 'uri', 'database.uri', { secret: true });
  if (uri !== undefined) {
    const mixed = SPLIT_DB_KEYS.filter((k) => db[k] !== undefined && db[k] !== null);
    if (mixed.length > 0) {
      f.problem('database.uri', `cannot be combined with ${mixed.map((k) => `database.${k}`).join(', ')}; use either uri or the split keys`);
    }
    try {
      out.fields = parseConnectionUri(uri, 'database.uri');
    } catch (e) {
      f.problem('database.uri', e instanceof ConfigError ? e.message.replace(/^database\.uri /, '') : String(e));
    }
  } else {
    const host = f.string(db, 'host', 'database.host');
    if (host !== undefined) out.fields.host = host;
    const port = f.integer(db, 'port', 'database.port', { min: 1, max: 65535 });
    if (port !== undefined) out.fields.port = port;
    const socket = f.string(db, 'socket', 'database.socket');
    if (socket !== undefined) out.socket = socket;
    const user = f.string(db, 'username', 'database.username');
    if (user !== undefined) out.fields.user = user;
    const name = f.string(db, 'database', 'database.database');
    if (name !== undefined) out.fields.database = name;
    const password = f.secret(db, 'password', 'password_file', 'database');
    if (password?.kind === 'inline') out.fields.password = password.value;
    else if (password !== undefined) out.passwordFile = password;
  }
  const mode = f.oneOf(db, 'ssl_mode', 'database.ssl_mode', LIBPQ_SSLMODES);
  if (mode !== undefined) out.fields.sslmode = mode;
  const pairs = [
    ['ssl_ca', 'ssl_ca_file', 'sslrootcert'],
    ['ssl_certificate', 'ssl_certificate_file', 'sslcert'],
    ['ssl_key', 'ssl_key_file', 'sslkey'],
  ] as const;
  for (const [inline, file, field] of pairs) {
    const pem = f.string(db, inline, `database.${inline}`, { secret: inline === 'ssl_key' });
    const path = f.string(db, file, `database.${file}`);
    if (pem !== undefined && path !== undefined) {
      f.problem(`database.${file}`, `cannot be set together with database.${inline}; keep one of them`);
      continue;
    }
    if (path !== undefined) out.fields[field] = path;
    if (pem !== undefined) {
      if (inline === 'ssl_ca') out.sslCaPem = pem;
      else if (inline === 'ssl_certificate') out.sslCertificatePem = pem;
      else out.sslKeyPem = Secret.fromString(pem);
    }
  }
  return out;
}

function passwords(f: Fields, doc: ConfigMap): ParsedMasConfig['passwords'] {
  const p = f.section(doc, 'passwords', 'passwords');
  const enabled = f.bool(p, 'enabled', 'passwords.enabled') ?? true;
  const minimumComplexity = f.integer(p, 'minimum_complexity', 'passwords.minimum_complexity', { min: 0, max: 4 }) ?? 3;
  const raw = f.list(p, 'schemes', 'passwords.schemes');
  if (raw === undefined) {
    // MAS's default when no schemes are configured.
    return { enabled, minimumComplexity, schemes: [{ version: 1, algorithm: 'argon2id', unicodeNormalization: false, keyPath: 'passwords.schemes' }] };
  }
  if (raw.length === 0) f.problem('passwords.schemes', 'must list at least one password scheme');
  const schemes: MasPasswordScheme[] = [];
  const seen = new Set<number>();
  raw.forEach((item, i) => {
    const path = `passwords.schemes[${i}]`;
    if (!isMap(item)) {
      f.problem(path, `expected a mapping with version and algorithm, found ${describe(item)}`);
      return;
    }
    const version = f.integer(item, 'version', `${path}.version`, { min: 0 });
    const algorithm = f.oneOf(item, 'algorithm', `${path}.algorithm`, PASSWORD_ALGORITHMS);
    if (version === undefined && item.version === undefined) f.problem(`${path}.version`, 'is required');
    if (algorithm === undefined && item.algorithm === undefined) f.problem(`${path}.algorithm`, 'is required (bcrypt, argon2id or pbkdf2)');
    if (version === undefined || algorithm === undefined) return;
    if (seen.has(version)) f.problem(`${path}.version`, `version ${version} is used by two schemes; versions must be unique`);
    seen.add(version);
    const scheme: MasPasswordScheme = {
      version,
      algorithm,
      unicodeNormalization: f.bool(item, 'unicode_normalization', `${path}.unicode_normalization`) ?? false,
      keyPath: path,
    };
    const cost = f.integer(item, 'cost', `${path}.cost`, { min: 4, max: 31 });
    if (cost !== undefined) scheme.cost = cost;
    const secret = f.secret(item, 'secret', 'secret_file', path);
    if (secret !== undefined) scheme.secret = secret;
    schemes.push(scheme);
  });
  schemes.sort((a, b) => b.version - a.version);
  return { enabled, minimumComplexity, schemes };
}

function providers(f: Fields, doc: ConfigMap): MasUpstreamProvider[] {
  const up = f.section(doc, 'upstream_oauth2', 'upstream_oauth2');
  const raw = f.list(up, 'providers', 'upstream_oauth2.providers') ?? [];
  const out: MasUpstreamProvider[] = [];
  raw.forEach((item, i) => {
    const path = `upstream_oauth2.providers[${i}]`;
    if (!isMap(item)) {
      f.problem(path, `expected a mapping, found ${describe(item)}`);
      return;
    }
    const id = f.string(item, 'id', `${path}.id`);
    if (id === undefined) f.problem(`${path}.id`, 'is required (a ULID such as 01H8PKNWKKRPCBW4YGH1RWV279)');
    else if (!ULID.test(id)) f.problem(`${path}.id`, `"${id}" is not a ULID (26 characters of Crockford base32)`);
    const clientId = f.string(item, 'client_id', `${path}.client_id`);
    if (clientId === undefined) f.problem(`${path}.client_id`, 'is required');
    const method = f.oneOf(item, 'token_endpoint_auth_method', `${path}.token_endpoint_auth_method`, TOKEN_AUTH_METHODS);
    if (method === undefined && item.token_endpoint_auth_method === undefined) {
      f.problem(`${path}.token_endpoint_auth_method`, `is required (${TOKEN_AUTH_METHODS.join(', ')})`);
    }
    f.string(item, 'client_secret', `${path}.client_secret`, { secret: true });
    if (id === undefined || clientId === undefined || method === undefined) return;
    const provider: MasUpstreamProvider = {
      id: id.toUpperCase(),
      keyPath: path,
      enabled: f.bool(item, 'enabled', `${path}.enabled`) ?? true,
      clientId,
      tokenEndpointAuthMethod: method,
      discoveryMode: f.oneOf(item, 'discovery_mode', `${path}.discovery_mode`, ['oidc', 'insecure', 'disabled'] as const) ?? 'oidc',
    };
    for (const [key, field] of [
      ['synapse_idp_id', 'synapseIdpId'],
      ['issuer', 'issuer'],
      ['human_name', 'humanName'],
    ] as const) {
      const v = f.string(item, key, `${path}.${key}`);
      if (v !== undefined) provider[field] = v;
    }
    out.push(provider);
  });
  return out;
}

function listeners(f: Fields, http: ConfigMap | undefined): MasListener[] {
  const raw = f.list(http, 'listeners', 'http.listeners') ?? [];
  const out: MasListener[] = [];
  raw.forEach((item, i) => {
    const path = `http.listeners[${i}]`;
    if (!isMap(item)) {
      f.problem(path, `expected a mapping, found ${describe(item)}`);
      return;
    }
    const resources = (f.list(item, 'resources', `${path}.resources`) ?? []).flatMap((r, j) => {
      const name = isMap(r) ? r.name : undefined;
      if (typeof name === 'string') return [name];
      f.problem(`${path}.resources[${j}]`, 'expected a mapping with a `name`');
      return [];
    });
    const binds = (f.list(item, 'binds', `${path}.binds`) ?? []).flatMap((b, j) => {
      if (!isMap(b)) {
        f.problem(`${path}.binds[${j}]`, `expected a mapping, found ${describe(b)}`);
        return [];
      }
      const bind: MasListener['binds'][number] = {};
      const bp = `${path}.binds[${j}]`;
      const address = f.string(b, 'address', `${bp}.address`);
      if (address !== undefined) bind.address = address;
      const host = f.string(b, 'host', `${bp}.host`);
      if (host !== undefined) bind.host = host;
      const port = f.integer(b, 'port', `${bp}.port`, { min: 0, max: 65535 });
      if (port !== undefined) bind.port = port;
      const socket = f.string(b, 'socket', `${bp}.socket`);
      if (socket !== undefined) bind.socket = socket;
      return [bind];
    });
    const listener: MasListener = { resources, binds };
    const name = f.string(item, 'name', `${path}.name`);
    if (name !== undefined) listener.name = name;
    const prefix = f.string(item, 'prefix', `${path}.prefix`);
    if (prefix !== undefined) listener.prefix = prefix;
    out.push(listener);
  });
  return out;
}

function clients(f: Fields, doc: ConfigMap): MasClient[] {
  const raw = f.list(doc, 'clients', 'clients') ?? [];
  const out: MasClient[] = [];
  raw.forEach((item, i) => {
    const path = `clients[${i}]`;
    if (!isMap(item)) {
      f.problem(path, `expected a mapping, found ${describe(item)}`);
      return;
    }
    const clientId = f.string(item, 'client_id', `${path}.client_id`);
    if (clientId === undefined) f.problem(`${path}.client_id`, 'is required (a ULID)');
    else if (!ULID.test(clientId)) f.problem(`${path}.client_id`, `"${clientId}" is not a ULID`);
    const authMethod = f.string(item, 'client_auth_method', `${path}.client_auth_method`);
    if (authMethod === undefined) f.problem(`${path}.client_auth_method`, 'is required');
    const secret = f.secret(item, 'client_secret', 'client_secret_file', path);
    if (clientId === undefined || authMethod === undefined) return;
    out.push({ clientId: clientId.toUpperCase(), keyPath: path, authMethod, ...(secret ? { secret } : {}) });
  });
  return out;
}

function policyData(f: Fields, doc: ConfigMap): ParsedMasConfig['policyData'] {
  const policy = f.section(doc, 'policy', 'policy');
  const data = f.section(policy, 'data', 'policy.data');
  return {
    adminClients: (f.stringList(data, 'admin_clients', 'policy.data.admin_clients') ?? []).map((c) => c.toUpperCase()),
    adminUsers: f.stringList(data, 'admin_users', 'policy.data.admin_users') ?? [],
  };
}

function secretsSection(f: Fields, doc: ConfigMap): ParsedMasConfig['secrets'] {
  const s = f.section(doc, 'secrets', 'secrets');
  if (s === undefined) return undefined;
  const encryption = f.string(s, 'encryption', 'secrets.encryption', { secret: true });
  if (encryption !== undefined && !/^[0-9a-fA-F]{64}$/.test(encryption)) {
    f.problem('secrets.encryption', 'must be 32 bytes written as 64 hexadecimal characters (generate one with `openssl rand -hex 32`)');
  }
  const keys = f.list(s, 'keys', 'secrets.keys') ?? [];
  keys.forEach((k, i) => {
    const path = `secrets.keys[${i}]`;
    if (!isMap(k)) f.problem(path, `expected a mapping with key or key_file, found ${describe(k)}`);
    else if ((k.key == null) === (k.key_file == null)) f.problem(path, 'needs exactly one of key (inline PEM) or key_file');
  });
  return {
    hasEncryption: encryption !== undefined || s.encryption_file != null,
    keyCount: keys.length,
    hasKeysDir: s.keys_dir != null,
  };
}
