// Resolves where a database lives (from homeserver.yaml, the MAS config, a URI override and the libpq
// environment), describes it without secrets, and opens node-postgres clients to it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ParsedMasConfig } from '../config/mas.js';
import { readSecretSource } from '../config/secret-source.js';
import type { ParsedSynapseConfig } from '../config/synapse.js';
import { ConfigError, DatabaseError } from '../errors.js';
import { Secret } from '../secret.js';
import { trackClient } from './interrupt.js';
import { parseConnectionUri, type ConnectionFields, type SslMode } from './uri.js';

export interface DatabaseTarget {
  /** "Synapse" or "MAS", for messages. */
  label: string;
  host: string;
  port: number;
  user: string;
  database: string;
  password?: Secret;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** Inline PEM from the MAS config (ssl_ca, ssl_certificate, ssl_key). */
  sslCaPem?: string;
  sslCertPem?: string;
  sslKeyPem?: Secret;
  applicationName: string;
  connectTimeoutSeconds?: number;
  /** Where the settings came from, e.g. "homeserver.yaml database.args" or "--synapse-database-uri". */
  source: string;
  /** Things worth telling the operator (a passfile ignored for its permissions, say). */
  notes: string[];
}

/** libpq's environment defaults, applied under whatever the config sets. */
export function envDefaults(env: NodeJS.ProcessEnv): ConnectionFields {
  const out: ConnectionFields = {};
  const host = env.PGHOST ?? env.PGHOSTADDR;
  if (host) out.host = host;
  if (env.PGPORT && /^\d+$/.test(env.PGPORT)) out.port = Number(env.PGPORT);
  if (env.PGUSER) out.user = env.PGUSER;
  if (env.PGPASSWORD) out.password = Secret.fromString(env.PGPASSWORD);
  if (env.PGDATABASE) out.database = env.PGDATABASE;
  if (env.PGSSLMODE) out.sslmode = env.PGSSLMODE as SslMode;
  if (env.PGSSLROOTCERT) out.sslrootcert = env.PGSSLROOTCERT;
  if (env.PGSSLCERT) out.sslcert = env.PGSSLCERT;
  if (env.PGSSLKEY) out.sslkey = env.PGSSLKEY;
  if (env.PGPASSFILE) out.passfile = env.PGPASSFILE;
  if (env.PGAPPNAME) out.applicationName = env.PGAPPNAME;
  if (env.PGCONNECT_TIMEOUT && /^\d+$/.test(env.PGCONNECT_TIMEOUT)) out.connectTimeoutSeconds = Number(env.PGCONNECT_TIMEOUT);
  return out;
}

function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** With no host anywhere, libpq uses its Unix socket directory; we look where Debian and upstream put it. */
function defaultHost(port: number): string {
  for (const dir of ['/var/run/postgresql', '/tmp']) {
    if (existsSync(join(dir, `.s.PGSQL.${port}`))) return dir;
  }
  return 'localhost';
}

export function resolveTarget(
  label: string,
  source: string,
  fields: ConnectionFields,
  env: NodeJS.ProcessEnv,
  applicationName: string,
): DatabaseTarget {
  const merged: ConnectionFields = { ...envDefaults(env), ...defined(fields) };
  const port = merged.port ?? 5432;
  const user = merged.user ?? safeUserName();
  const target: DatabaseTarget = {
    label,
    host: merged.host ?? defaultHost(port),
    port,
    user,
    database: merged.database ?? user,
    sslmode: merged.sslmode ?? 'prefer',
    applicationName: merged.applicationName ?? applicationName,
    source,
    notes: [],
  };
  for (const key of ['sslrootcert', 'sslcert', 'sslkey', 'connectTimeoutSeconds', 'password'] as const) {
    const v = merged[key];
    if (v !== undefined) (target as unknown as Record<string, unknown>)[key] = v;
  }
  if (target.password === undefined) {
    const passfile = merged.passfile ?? join(homedir(), '.pgpass');
    const found = lookupPassfile(passfile, target);
    if (found !== undefined) target.password = found;
  }
  return target;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

/**
 * libpq's password file: lines of host:port:database:user:password, `*` matching anything, `\:` and
 * `\\` escaped. Like libpq, a file readable by group or others is ignored (with a note).
 */
export function lookupPassfile(file: string, target: DatabaseTarget): Secret | undefined {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    if ((st.mode & 0o077) !== 0) {
      target.notes.push(`password file ${file} ignored: it is readable by group or others (chmod 0600 it)`);
      return undefined;
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // A Unix-socket connection matches the host name "localhost", as in libpq.
  const host = target.host.startsWith('/') ? 'localhost' : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitPassfileLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((w, i) => fields[i] === '*' || fields[i] === w)) return Secret.fromString(fields.slice(4).join(':'));
  }
  return undefined;
}

function splitPassfileLine(line: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
    } else if (c === ':' && out.length < 4) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

/** Where the Synapse database is: the URI override, else homeserver.yaml `database`. */
export function synapseTarget(config: ParsedSynapseConfig, uri: string | undefined, env: NodeJS.ProcessEnv): DatabaseTarget {
  const app = 'mas-tool-synapse';
  if (uri !== undefined) return resolveTarget('Synapse', '--synapse-database-uri', parseConnectionUri(uri, '--synapse-database-uri'), env, app);
  const db = config.database;
  const files = config.files.join(', ');
  if (db === undefined || db.name === 'sqlite3') {
    throw new ConfigError(`The Synapse configuration (${files}) uses SQLite; mas-tool reads Synapse from PostgreSQL only.`, {
      hint:
        'Port Synapse to PostgreSQL first with `synapse_port_db --sqlite-database homeserver.db --postgres-config homeserver-postgres.yaml`, ' +
        'switch Synapse to it, then run mas-tool against that database (or pass --synapse-database-uri).',
    });
  }
  if (db.name !== 'psycopg2') {
    throw new ConfigError(`${db.keyPath}.name is "${db.name}"; Synapse supports psycopg2 (PostgreSQL) or sqlite3.`, {
      hint: 'Set it to psycopg2 with the PostgreSQL connection in database.args, or pass --synapse-database-uri.',
    });
  }
  const a = db.args;
  const fields: ConnectionFields = defined({
    host: a.host,
    port: a.port,
    user: a.user,
    password: a.password,
    database: a.dbname,
    sslmode: a.sslmode,
    sslrootcert: a.sslrootcert,
    sslcert: a.sslcert,
    sslkey: a.sslkey,
    passfile: a.passfile,
    connectTimeoutSeconds: a.connectTimeoutSeconds,
  });
  return resolveTarget('Synapse', `${files} ${db.keyPath}.args`, fields, env, app);
}

/** Where the MAS database is, from the MAS config's `database` section. */
export function masTarget(config: ParsedMasConfig, env: NodeJS.ProcessEnv): DatabaseTarget {
  const db = config.database;
  const fields: ConnectionFields = { ...db.fields };
  if (db.socket !== undefined) fields.host = db.socket;
  if (db.passwordFile !== undefined) fields.password = readSecretSource(db.passwordFile, 'trim');
  const target = resolveTarget('MAS', `${config.files.join(', ')} database`, fields, env, 'mas-tool');
  if (db.sslCaPem !== undefined) target.sslCaPem = db.sslCaPem;
  if (db.sslCertificatePem !== undefined) target.sslCertPem = db.sslCertificatePem;
  if (db.sslKeyPem !== undefined) target.sslKeyPem = db.sslKeyPem;
  return target;
}

/** host:port/database as user, never with the password. */
export function describeTarget(t: DatabaseTarget): string {
  const host = t.host.startsWith('/') ? `socket ${t.host}` : t.host.includes(':') ? `[${t.host}]` : t.host;
  const tls = t.sslmode === 'require' || t.sslmode.startsWith('verify') ? `, sslmode=${t.sslmode}` : '';
  return `${t.label} database ${t.database} on ${host}:${t.port} as ${t.user}${tls}`;
}

export function describeTargetJson(t: DatabaseTarget): Record<string, unknown> {
  return { host: t.host, port: t.port, database: t.database, user: t.user, sslmode: t.sslmode, source: t.source };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`Cannot read the ${what} ${path}.`, { cause, hint: 'Check the path and its permissions.' });
  }
}

/**
 * node-postgres cannot negotiate TLS opportunistically the way libpq's `prefer` and `allow` do; we
 * connect without TLS for those (libpq falls back to that too) and with TLS for require/verify-*.
 * `require` with a root certificate verifies the chain, as libpq does.
 */
export function toPgConfig(t: DatabaseTarget): pg.ClientConfig {
  const config: pg.ClientConfig = {
    host: t.host,
    port: t.port,
    user: t.user,
    database: t.database,
    application_name: t.applicationName,
    // TCP keepalives from our side: a server or network that disappears during a long statement
    // ends the wait with an error instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_SECONDS * 1000,
  };
  if (t.password !== undefined) config.password = t.password.reveal();
  if (t.connectTimeoutSeconds !== undefined) config.connectionTimeoutMillis = t.connectTimeoutSeconds * 1000;
  if (t.sslmode === 'require' || t.sslmode === 'verify-ca' || t.sslmode === 'verify-full') {
    const ca = t.sslCaPem ?? (t.sslrootcert !== undefined ? readPem(t.sslrootcert, 'CA certificate') : undefined);
    const verify = t.sslmode !== 'require' || ca !== undefined;
    config.ssl = {
      rejectUnauthorized: verify,
      ...(ca !== undefined ? { ca } : {}),
      ...(t.sslmode !== 'verify-full' ? { checkServerIdentity: () => undefined } : {}),
      ...(t.sslCertPem !== undefined ? { cert: t.sslCertPem } : t.sslcert !== undefined ? { cert: readPem(t.sslcert, 'client certificate') } : {}),
      ...(t.sslKeyPem !== undefined ? { key: t.sslKeyPem.reveal() } : t.sslkey !== undefined ? { key: readPem(t.sslkey, 'client key') } : {}),
    };
  }
  return config;
}

/** Seconds of silence on a connection before either side starts probing whether the other is there. */
const KEEPALIVE_IDLE_SECONDS = 60;

/**
 * How often the server looks, during a statement, whether the client is still connected: with it, a
 * mas-tool that is killed (kill -9, a closed terminal) leaves no backend running its last statement
 * and holding the migration's locks for minutes. PostgreSQL 14 and later, on Linux and macOS.
 */
const CONNECTION_CHECK_INTERVAL = '2s';

/**
 * Settings for the session's own life, made at once after connecting. The server's keepalives find
 * a client host that crashed (no FIN ever comes): probes after a minute of silence, six of them ten
 * seconds apart; the connection check then ends the statement. A server that has no
 * client_connection_check_interval (before 14: "unrecognized", 42704) or cannot check on its
 * platform (22023) runs without it; `syn2mas check` says so.
 */
async function guardSession(client: pg.Client): Promise<void> {
  await client.query(
    `SELECT set_config('tcp_keepalives_idle', '${KEEPALIVE_IDLE_SECONDS}', false), set_config('tcp_keepalives_interval', '10', false), set_config('tcp_keepalives_count', '6', false)`,
  );
  try {
    await client.query(`SET client_connection_check_interval = '${CONNECTION_CHECK_INTERVAL}'`);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code !== '42704' && code !== '22023') throw cause;
  }
}

/**
 * Opens a client; a failure says which database and what PostgreSQL or the network said. Every
 * client is tracked until it ends (interrupt.ts), so that a Ctrl-C can cancel and roll back its work.
 */
export async function connect(t: DatabaseTarget): Promise<pg.Client> {
  const client = new pg.Client(toPgConfig(t));
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new DatabaseError(`connecting to the ${describeTarget(t)} (from ${t.source})`, cause);
  }
  // A dropped connection later surfaces as a query error; without a listener it would crash the process.
  client.on('error', () => undefined);
  trackClient(client, { host: t.host, port: t.port });
  try {
    await guardSession(client);
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new DatabaseError(`setting up the session on the ${describeTarget(t)}`, cause);
  }
  return client;
}
