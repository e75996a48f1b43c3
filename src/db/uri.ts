// Parses a libpq connection URI (postgresql://[user[:password]@][host][:port][/dbname][?key=value&...])
// into connection fields. Missing parts stay undefined so that environment defaults can fill them,
// as libpq does. A Unix-socket directory goes in the host, percent-encoded (%2Fvar%2Frun%2Fpostgresql),
// or in a `host=` query parameter.
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';

export const LIBPQ_SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof LIBPQ_SSLMODES)[number];

export interface ConnectionFields {
  host?: string;
  port?: number;
  user?: string;
  password?: Secret;
  database?: string;
  sslmode?: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  passfile?: string;
  applicationName?: string;
  connectTimeoutSeconds?: number;
}

export function parseConnectionUri(uri: string, what: string): ConnectionFields {
  const fail = (reason: string): never => {
    throw new ConfigError(`${what} is not a valid PostgreSQL URI: ${reason}.`, {
      hint: 'Use the form postgresql://user@host:5432/dbname (put the password in PGPASSWORD or a passfile, not on the command line).',
    });
  };
  if (!/^postgres(ql)?:/i.test(uri)) fail('it must start with postgresql:// or postgres://');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return fail('it could not be parsed');
  }
  const fields: ConnectionFields = {};
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return fail(`"${s}" has a malformed %-escape`);
    }
  };
  if (url.hostname !== '') {
    const host = dec(url.hostname);
    if (host.includes(',')) fail('several hosts are not supported; name one');
    fields.host = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  }
  if (url.port !== '') fields.port = Number(url.port);
  if (url.username !== '') fields.user = dec(url.username);
  if (url.password !== '') fields.password = Secret.fromString(dec(url.password));
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') fields.database = dec(path);

  for (const [key, value] of url.searchParams) {
    switch (key) {
      case 'host':
        fields.host = value;
        break;
      case 'port':
        if (!/^\d+$/.test(value)) fail(`port "${value}" is not a number`);
        fields.port = Number(value);
        break;
      case 'user':
        fields.user = value;
        break;
      case 'password':
        fields.password = Secret.fromString(value);
        break;
      case 'dbname':
        fields.database = value;
        break;
      case 'sslmode':
        if (!(LIBPQ_SSLMODES as readonly string[]).includes(value)) fail(`sslmode "${value}" is not one of ${LIBPQ_SSLMODES.join(', ')}`);
        fields.sslmode = value as SslMode;
        break;
      case 'sslrootcert':
      case 'sslcert':
      case 'sslkey':
      case 'passfile':
        fields[key] = value;
        break;
      case 'application_name':
        fields.applicationName = value;
        break;
      case 'connect_timeout':
        if (!/^\d+$/.test(value)) fail(`connect_timeout "${value}" is not a number of seconds`);
        fields.connectTimeoutSeconds = Number(value);
        break;
      default:
        // Other libpq keywords (options, keepalives, target_session_attrs...) do not change what
        // we connect to; node-postgres has no equivalent for most of them.
        break;
    }
  }
  if (fields.port !== undefined && (fields.port < 1 || fields.port > 65535)) fail(`port ${fields.port} is out of range`);
  return fields;
}
