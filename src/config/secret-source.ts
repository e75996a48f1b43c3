// Where a secret comes from: inline in the YAML, or a file named there. Parsers record the source;
// reading the file is I/O and happens only when a command needs the value.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';

export type SecretSource =
  | { kind: 'inline'; value: Secret; key: string; file?: string }
  | { kind: 'file'; path: string; key: string; file?: string };

/**
 * How a tool reads the file. MAS trims `matrix.secret_file` and `database.password_file`, but reads a
 * password scheme's `secret_file` as raw bytes (a trailing newline is part of the pepper). Synapse
 * strips `*_path` secrets.
 */
export type SecretFileMode = 'trim' | 'raw';

export function readSecretSource(source: SecretSource, mode: SecretFileMode): Secret {
  if (source.kind === 'inline') return source.value;
  let bytes: Buffer;
  try {
    bytes = readFileSync(source.path);
  } catch (cause) {
    const where = source.file === undefined ? source.key : `${source.file}: ${source.key}`;
    throw new ConfigError(
      `${where} names the file ${source.path}, which cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)}).`,
      { cause, hint: 'Check the path (relative paths are taken from the working directory) and the file permissions.' },
    );
  }
  return mode === 'raw' ? Secret.fromBytes(bytes) : Secret.fromString(bytes.toString('utf8').trim());
}
