// A structural check of a MAS config document, written from the facts of MAS's configuration
// schema and its load-time validation (required keys, enums, either-or pairs). Not a JSON-schema
// validator: just enough to tell whether MAS would accept what `config generate` writes. Returns
// the problems as "path: what is wrong" lines; an empty list means the document passes.
import { createPrivateKey } from 'node:crypto';

type Obj = Record<string, unknown>;

const ROOT_KEYS = [
  'clients', 'http', 'database', 'telemetry', 'templates', 'email', 'secrets', 'passwords', 'matrix', 'policy',
  'rate_limiting', 'upstream_oauth2', 'branding', 'captcha', 'account', 'oauth', 'experimental',
];
const RESOURCES = ['health', 'prometheus', 'discovery', 'human', 'graphql', 'oauth', 'compat', 'assets', 'adminapi', 'connection-info'];
const HOMESERVER_KINDS = ['synapse', 'synapse_read_only', 'synapse_legacy', 'synapse_modern'];
const PASSWORD_ALGORITHMS = ['bcrypt', 'argon2id', 'pbkdf2'];
const EMAIL_TRANSPORTS = ['blackhole', 'smtp', 'sendmail'];
const TOKEN_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'sign_in_with_apple'];
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];
const DISCOVERY_MODES = ['oidc', 'insecure', 'disabled'];
const PKCE_METHODS = ['auto', 'always', 'never'];
const RESPONSE_MODES = ['query', 'form_post'];
const BACKCHANNEL = ['do_nothing', 'logout_browser_only', 'logout_all'];
const IMPORT_ACTIONS = ['ignore', 'suggest', 'force', 'require'];
const CAPTCHA_SERVICES = ['recaptcha_v2', 'cloudflare_turnstile', 'hcaptcha'];
const ACCOUNT_FLAGS = [
  'email_change_allowed', 'displayname_change_allowed', 'password_registration_enabled',
  'password_registration_email_required', 'password_change_allowed', 'password_recovery_enabled',
  'password_registration_token_required', 'account_deactivation_allowed', 'login_with_email_allowed',
  'registration_token_required',
];
const ULID = /^[0123456789ABCDEFGHJKMNPQRSTVWXYZ]{26}$/;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

export function validateMasConfig(doc: unknown): string[] {
  const problems: string[] = [];
  const bad = (path: string, what: string): void => {
    problems.push(`${path}: ${what}`);
  };
  const oneOf = (o: Obj, key: string, path: string, allowed: readonly string[]): void => {
    if (o[key] !== undefined && !allowed.includes(o[key] as string)) bad(`${path}.${key}`, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(o[key])}`);
  };
  const xor = (o: Obj, a: string, b: string, path: string, required: boolean): void => {
    const has = (k: string) => o[k] !== undefined && o[k] !== null;
    if (has(a) && has(b)) bad(path, `${a} and ${b} cannot both be set`);
    if (required && !has(a) && !has(b)) bad(path, `one of ${a} or ${b} is required`);
  };
  const str = (o: Obj, key: string, path: string): void => {
    if (o[key] !== undefined && typeof o[key] !== 'string') bad(`${path}.${key}`, 'must be a string');
  };
  const bool = (o: Obj, key: string, path: string): void => {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') bad(`${path}.${key}`, 'must be a boolean');
  };

  if (!isObj(doc)) return ['(root): must be a mapping'];
  for (const key of Object.keys(doc)) if (!ROOT_KEYS.includes(key)) bad(key, 'is not a MAS config section');
  for (const key of ['secrets', 'matrix']) if (doc[key] === undefined) bad(key, 'is required');

  // secrets
  const secrets = doc.secrets;
  if (secrets !== undefined) {
    if (!isObj(secrets)) bad('secrets', 'must be a mapping');
    else {
      xor(secrets, 'encryption', 'encryption_file', 'secrets', true);
      if (secrets.encryption !== undefined && !(typeof secrets.encryption === 'string' && /^[0-9a-fA-F]{64}$/.test(secrets.encryption))) {
        bad('secrets.encryption', 'must be 64 hex characters (32 bytes)');
      }
      const keys = secrets.keys;
      if (!Array.isArray(keys) || keys.length === 0) bad('secrets.keys', 'must list at least one key');
      else {
        let rsa = 0;
        keys.forEach((k, i) => {
          const p = `secrets.keys[${i}]`;
          if (!isObj(k)) return bad(p, 'must be a mapping');
          xor(k, 'key', 'key_file', p, true);
          if (typeof k.key === 'string') {
            try {
              if (createPrivateKey(k.key).asymmetricKeyType === 'rsa') rsa++;
            } catch {
              bad(`${p}.key`, 'is not a readable private key');
            }
          }
        });
        if (rsa === 0) bad('secrets.keys', 'needs at least one RSA key');
      }
    }
  }

  // matrix
  const matrix = doc.matrix;
  if (matrix !== undefined) {
    if (!isObj(matrix)) bad('matrix', 'must be a mapping');
    else {
      if (typeof matrix.homeserver !== 'string' || matrix.homeserver === '') bad('matrix.homeserver', 'must be a non-empty string');
      oneOf(matrix, 'kind', 'matrix', HOMESERVER_KINDS);
      xor(matrix, 'secret', 'secret_file', 'matrix', true);
      str(matrix, 'secret', 'matrix');
      if (matrix.endpoint !== undefined && !isUrl(matrix.endpoint)) bad('matrix.endpoint', 'must be a URL');
    }
  }

  // http
  const http = doc.http;
  if (http !== undefined) {
    if (!isObj(http)) bad('http', 'must be a mapping');
    else {
      if (!isUrl(http.public_base)) bad('http.public_base', 'is required and must be a URL');
      if (http.issuer !== undefined && http.issuer !== null && !isUrl(http.issuer)) bad('http.issuer', 'must be a URL');
      const listeners = http.listeners ?? [];
      if (!Array.isArray(listeners)) bad('http.listeners', 'must be a list');
      else {
        listeners.forEach((l, i) => {
          const p = `http.listeners[${i}]`;
          if (!isObj(l)) return bad(p, 'must be a mapping');
          if (!Array.isArray(l.resources)) bad(`${p}.resources`, 'is required (a list)');
          else l.resources.forEach((r, j) => {
            if (!isObj(r) || !RESOURCES.includes(r.name as string)) bad(`${p}.resources[${j}]`, `must have a name among ${RESOURCES.join(', ')}`);
          });
          if (!Array.isArray(l.binds) || l.binds.length === 0) bad(`${p}.binds`, 'is required (a non-empty list)');
          else l.binds.forEach((b, j) => {
            const bp = `${p}.binds[${j}]`;
            if (!isObj(b)) return bad(bp, 'must be a mapping');
            const ok = typeof b.address === 'string' || typeof b.port === 'number' || typeof b.socket === 'string' || b.fd !== undefined;
            if (!ok) bad(bp, 'needs address, host+port, socket or fd');
            if (b.port !== undefined && !(Number.isInteger(b.port) && (b.port as number) >= 0 && (b.port as number) <= 65535)) bad(`${bp}.port`, 'must be 0-65535');
          });
          bool(l, 'proxy_protocol', p);
        });
      }
    }
  }

  // database
  const database = doc.database;
  if (database !== undefined) {
    if (!isObj(database)) bad('database', 'must be a mapping');
    else {
      const split = ['host', 'port', 'socket', 'username', 'password', 'password_file', 'database'].filter((k) => database[k] !== undefined && database[k] !== null);
      if (database.uri !== undefined && database.uri !== null && split.length > 0) bad('database', `uri cannot be mixed with ${split.join(', ')}`);
      if (database.uri !== undefined && database.uri !== null && !(typeof database.uri === 'string' && /^postgres(ql)?:\/\//.test(database.uri))) {
        bad('database.uri', 'must be a postgresql:// URI');
      }
      xor(database, 'password', 'password_file', 'database', false);
    }
  }

  // email
  const email = doc.email;
  if (email !== undefined) {
    if (!isObj(email)) bad('email', 'must be a mapping');
    else {
      if (email.transport === undefined) bad('email.transport', 'is required');
      oneOf(email, 'transport', 'email', EMAIL_TRANSPORTS);
      str(email, 'from', 'email');
      str(email, 'reply_to', 'email');
    }
  }

  // passwords
  const passwords = doc.passwords;
  if (passwords !== undefined) {
    if (!isObj(passwords)) bad('passwords', 'must be a mapping');
    else {
      bool(passwords, 'enabled', 'passwords');
      const schemes = passwords.schemes;
      if (schemes !== undefined) {
        if (!Array.isArray(schemes) || schemes.length === 0) bad('passwords.schemes', 'must be a non-empty list');
        else {
          const versions = new Set<unknown>();
          schemes.forEach((s, i) => {
            const p = `passwords.schemes[${i}]`;
            if (!isObj(s)) return bad(p, 'must be a mapping');
            if (!Number.isInteger(s.version) || (s.version as number) < 0 || (s.version as number) > 65535) bad(`${p}.version`, 'is required, an integer 0-65535');
            if (versions.has(s.version)) bad(`${p}.version`, `duplicates version ${String(s.version)}`);
            versions.add(s.version);
            if (s.algorithm === undefined) bad(`${p}.algorithm`, 'is required');
            oneOf(s, 'algorithm', p, PASSWORD_ALGORITHMS);
            if (s.cost !== undefined && !(Number.isInteger(s.cost) && (s.cost as number) >= 0)) bad(`${p}.cost`, 'must be a non-negative integer');
            xor(s, 'secret', 'secret_file', p, false);
            str(s, 'secret', p);
            bool(s, 'unicode_normalization', p);
          });
        }
      }
    }
  }

  // account
  const account = doc.account;
  if (account !== undefined) {
    if (!isObj(account)) bad('account', 'must be a mapping');
    else for (const [k, v] of Object.entries(account)) {
      if (!ACCOUNT_FLAGS.includes(k)) bad(`account.${k}`, 'is not an account setting');
      else if (typeof v !== 'boolean') bad(`account.${k}`, 'must be a boolean');
    }
  }

  // captcha
  const captcha = doc.captcha;
  if (captcha !== undefined) {
    if (!isObj(captcha)) bad('captcha', 'must be a mapping');
    else {
      oneOf(captcha, 'service', 'captcha', CAPTCHA_SERVICES);
      str(captcha, 'site_key', 'captcha');
      str(captcha, 'secret_key', 'captcha');
    }
  }

  // upstream_oauth2
  const upstream = doc.upstream_oauth2;
  if (upstream !== undefined) {
    if (!isObj(upstream) || !Array.isArray(upstream.providers)) bad('upstream_oauth2.providers', 'is required (a list)');
    else {
      const ids = new Set<unknown>();
      upstream.providers.forEach((pr, i) => {
        const p = `upstream_oauth2.providers[${i}]`;
        if (!isObj(pr)) return bad(p, 'must be a mapping');
        if (typeof pr.id !== 'string' || !ULID.test(pr.id)) bad(`${p}.id`, 'is required, a ULID (26 Crockford base32 characters)');
        if (ids.has(pr.id)) bad(`${p}.id`, 'is not unique');
        ids.add(pr.id);
        if (typeof pr.client_id !== 'string' || pr.client_id === '') bad(`${p}.client_id`, 'is required, a string');
        const method = pr.token_endpoint_auth_method;
        if (!TOKEN_AUTH_METHODS.includes(method as string)) bad(`${p}.token_endpoint_auth_method`, `is required, one of ${TOKEN_AUTH_METHODS.join(', ')}`);
        xor(pr, 'client_secret', 'client_secret_file', p, false);
        const hasSecret = pr.client_secret !== undefined || pr.client_secret_file !== undefined;
        if (SECRET_METHODS.includes(method as string) && !hasSecret) bad(p, `${String(method)} needs client_secret or client_secret_file`);
        if (!SECRET_METHODS.includes(method as string) && hasSecret) bad(p, `${String(method)} must not have a client secret`);
        const jwt = method === 'client_secret_jwt' || method === 'private_key_jwt';
        if (jwt !== (pr.token_endpoint_auth_signing_alg !== undefined)) bad(p, 'token_endpoint_auth_signing_alg is required for *_jwt methods and only for them');
        if ((method === 'sign_in_with_apple') !== (pr.sign_in_with_apple !== undefined)) bad(p, 'sign_in_with_apple goes with token_endpoint_auth_method sign_in_with_apple');
        oneOf(pr, 'discovery_mode', p, DISCOVERY_MODES);
        if (pr.discovery_mode !== 'disabled' && typeof pr.issuer !== 'string') bad(`${p}.issuer`, 'is required unless discovery_mode is disabled');
        oneOf(pr, 'pkce_method', p, PKCE_METHODS);
        oneOf(pr, 'response_mode', p, RESPONSE_MODES);
        oneOf(pr, 'on_backchannel_logout', p, BACKCHANNEL);
        for (const k of ['synapse_idp_id', 'issuer', 'human_name', 'brand_name', 'scope', 'client_secret', 'client_secret_file']) str(pr, k, p);
        for (const k of ['enabled', 'fetch_userinfo', 'forward_login_hint', 'registration_token_required']) bool(pr, k, p);
        for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
          if (pr[k] !== undefined && !isUrl(pr[k])) bad(`${p}.${k}`, 'must be a URL');
        }
        const extra = pr.additional_authorization_parameters;
        if (extra !== undefined) {
          if (!isObj(extra)) bad(`${p}.additional_authorization_parameters`, 'must be a mapping');
          else for (const [k, v] of Object.entries(extra)) if (typeof v !== 'string') bad(`${p}.additional_authorization_parameters.${k}`, 'must be a string');
        }
        const claims = pr.claims_imports;
        if (claims !== undefined) {
          if (!isObj(claims)) bad(`${p}.claims_imports`, 'must be a mapping');
          else {
            for (const [k, v] of Object.entries(claims)) {
              const cp = `${p}.claims_imports.${k}`;
              if (k === 'skip_confirmation') {
                if (typeof v !== 'boolean') bad(cp, 'must be a boolean');
                continue;
              }
              if (!['subject', 'localpart', 'displayname', 'email', 'account_name'].includes(k)) { bad(cp, 'is not a claim'); continue; }
              if (!isObj(v)) { bad(cp, 'must be a mapping'); continue; }
              str(v, 'template', cp);
              oneOf(v, 'action', cp, IMPORT_ACTIONS);
              if ((k === 'subject' || k === 'account_name') && v.action !== undefined) bad(`${cp}.action`, 'is not allowed here');
            }
            const localpart = isObj(claims.localpart) ? claims.localpart : {};
            if (claims.skip_confirmation === true) {
              if (localpart.action !== 'require') bad(`${p}.claims_imports.skip_confirmation`, 'needs localpart.action require');
              for (const k of ['displayname', 'email']) {
                const c = claims[k];
                if (isObj(c) && c.action === 'suggest') bad(`${p}.claims_imports.skip_confirmation`, `cannot go with ${k}.action suggest`);
              }
            }
            if (localpart.on_conflict !== undefined && localpart.on_conflict !== 'fail' && !['force', 'require'].includes(localpart.action as string)) {
              bad(`${p}.claims_imports.localpart.on_conflict`, 'needs action force or require');
            }
          }
        }
      });
    }
  }
  return problems;
}
