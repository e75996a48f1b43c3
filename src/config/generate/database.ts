// The database section: a placeholder, since MAS needs its own database and Synapse's is not it.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink } from './context.js';

export function databaseSection(synapse: ParsedSynapseConfig, { warn }: FindingSink): Record<string, unknown> {
  const database = { uri: 'postgresql://' };
  const synapseDb = synapse.database;
  warn(
    C.database,
    'database.uri is `postgresql://` (libpq defaults and PG* environment variables): MAS needs its own empty PostgreSQL database, and Synapse\'s is not it.',
    'Create an empty database for MAS (CREATE DATABASE mas OWNER mas;) and set database.uri, e.g. postgresql://mas@db.example.com/mas; keep the password in database.password_file.',
    {
      key: 'database.uri',
      ...(synapseDb !== undefined
        ? { synapseDatabase: { keyPath: synapseDb.keyPath, name: synapseDb.name, host: synapseDb.args.host, dbname: synapseDb.args.dbname } }
        : {}),
    },
  );
  return database;
}
