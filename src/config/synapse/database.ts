// Synapse's database connection settings: `database`, or the `databases` entry holding `main`.
import { LIBPQ_SSLMODES, type SslMode } from '../../db/uri.js';
import { Secret } from '../../secret.js';
import type { Fields } from '../fields.js';
import { isMap, type ConfigMap } from '../read.js';

/** The libpq connection keywords from `database.args` that mas-tool honours. */
export interface SynapseDatabaseArgs {
  user?: string;
  password?: Secret;
  dbname?: string;
  host?: string;
  port?: number;
  sslmode?: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  passfile?: string;
  connectTimeoutSeconds?: number;
}

export interface SynapseDatabaseConfig {
  /** `psycopg2` or `sqlite3` (Synapse's default when `database` is absent). */
  name: string;
  args: SynapseDatabaseArgs;
  /** The key path the settings came from: `database` or `databases.<label>`. */
  keyPath: string;
}

export function databaseConfig(f: Fields, doc: ConfigMap): SynapseDatabaseConfig | undefined {
  if (doc.database != null && doc.databases != null) {
    f.problem('databases', 'cannot be set together with `database`; keep one of them');
    return undefined;
  }
  let section: ConfigMap | undefined;
  let keyPath = 'database';
  if (doc.databases != null) {
    const all = f.section(doc, 'databases', 'databases');
    for (const [label, entry] of Object.entries(all ?? {})) {
      if (!isMap(entry)) continue;
      const stores = entry.data_stores;
      if (stores === undefined || (Array.isArray(stores) && stores.includes('main'))) {
        section = entry;
        keyPath = `databases.${label}`;
        break;
      }
    }
    if (section === undefined) {
      f.problem('databases', 'no entry holds the `main` data store (its `data_stores` list must include main)');
      return undefined;
    }
  } else {
    section = f.section(doc, 'database', 'database');
  }
  if (section === undefined) {
    if (doc.database_path != null) return { name: 'sqlite3', args: {}, keyPath };
    return undefined;
  }
  const name = f.string(section, 'name', `${keyPath}.name`) ?? 'sqlite3';
  const rawArgs = f.section(section, 'args', `${keyPath}.args`);
  const p = `${keyPath}.args`;
  const args: SynapseDatabaseArgs = {};
  const user = f.string(rawArgs, 'user', `${p}.user`);
  if (user !== undefined) args.user = user;
  const password = f.string(rawArgs, 'password', `${p}.password`, { secret: true });
  if (password !== undefined) args.password = Secret.fromString(password);
  const dbname = f.string(rawArgs, 'dbname', `${p}.dbname`);
  const database = f.string(rawArgs, 'database', `${p}.database`);
  if (dbname !== undefined && database !== undefined) {
    f.problem(`${p}.database`, 'is an alias of `dbname`; set only one of the two');
  } else if ((dbname ?? database) !== undefined) {
    args.dbname = (dbname ?? database) as string;
  }
  const host = f.string(rawArgs, 'host', `${p}.host`);
  if (host !== undefined) args.host = host;
  const port = f.integer(rawArgs, 'port', `${p}.port`, { min: 1, max: 65535 });
  if (port !== undefined) args.port = port;
  const sslmode = f.oneOf(rawArgs, 'sslmode', `${p}.sslmode`, LIBPQ_SSLMODES);
  if (sslmode !== undefined) args.sslmode = sslmode;
  for (const key of ['sslrootcert', 'sslcert', 'sslkey', 'passfile'] as const) {
    const v = f.string(rawArgs, key, `${p}.${key}`);
    if (v !== undefined) args[key] = v;
  }
  const timeout = f.integer(rawArgs, 'connect_timeout', `${p}.connect_timeout`, { min: 0 });
  if (timeout !== undefined) args.connectTimeoutSeconds = timeout;
  return { name, args, keyPath };
}
