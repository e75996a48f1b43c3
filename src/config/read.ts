// Reads configuration files from disk and merges them; parsing into typed settings happens in
// synapse.ts and mas.ts, which never touch the disk. Each merged document remembers which file every
// value came from, so that a validation error can name the file.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { parseYaml, type YamlDialect } from './yaml.js';

export type ConfigMap = Record<string, unknown>;

export interface SourcedConfig {
  /** The merged document. */
  readonly value: ConfigMap;
  /** The files read, in merge order. */
  readonly files: readonly string[];
  /** The file a key path (like `database.args.host` or `oidc_providers[1].issuer`) came from. */
  fileOf(path: string): string | undefined;
}

export function isMap(value: unknown): value is ConfigMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The largest configuration file mas-tool reads. A real homeserver.yaml or MAS config is a few
 * dozen KiB; parsing a 66 MB file took a minute and 3 GB of memory, and such a file is always the
 * wrong one (a log, a dump, a media file named by mistake).
 */
export const MAX_CONFIG_FILE_BYTES = 8 * 1024 * 1024;

function readYamlMap(file: string, dialect: YamlDialect, what: string): ConfigMap {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_FILE_BYTES) {
      throw new ConfigError(`${what} ${file} is ${(size / 1024 / 1024).toFixed(1)} MiB; mas-tool reads configuration files of up to ${MAX_CONFIG_FILE_BYTES / 1024 / 1024} MiB.`, {
        hint: 'Check the path: a configuration file is a few KiB of YAML. Move anything else (logs, dumps, keys) out of the config directory.',
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError(`Cannot read ${what} ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`, {
      cause,
      hint: 'Check the path and that this user may read the file.',
    });
  }
  const value = parseYaml(text, file, dialect);
  if (value === null || value === undefined) return {};
  if (!isMap(value)) {
    throw new ConfigError(`${file} must contain a YAML mapping of settings at the top level.`, {
      hint: 'A configuration file looks like `server_name: example.com` on its own lines, not a list or a scalar.',
    });
  }
  return value;
}

/**
 * Expands Synapse's `--config-path` arguments: a directory stands for every `*.yaml` file directly
 * in it (not `.yml`, not subdirectories), in sorted name order, as Synapse reads a `conf.d`.
 */
export function expandSynapseConfigPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new ConfigError(`Synapse config path ${path} does not exist.`, {
        hint: 'Pass --synapse-config with the homeserver.yaml Synapse runs with (a conf.d directory works too).',
      });
    }
    if (!isDir) {
      files.push(path);
      continue;
    }
    const names = readdirSync(path)
      .filter((name) => name.endsWith('.yaml') && statSync(join(path, name)).isFile())
      .sort();
    files.push(...names.map((name) => join(path, name)));
  }
  return files;
}

/** Synapse merges its files shallowly: a later file replaces whole top-level keys. */
export function loadSynapseConfigFiles(paths: readonly string[]): SourcedConfig {
  if (paths.length === 0) {
    throw new ConfigError('No Synapse configuration given.', {
      hint: 'Pass --synapse-config /path/to/homeserver.yaml (repeat it, or pass a conf.d directory, for split configs).',
    });
  }
  const files = expandSynapseConfigPaths(paths);
  if (files.length === 0) {
    // Only directories were given, and none holds a .yaml file: without this, the empty merge
    // would be reported as a configuration without server_name.
    throw new ConfigError(`The Synapse config ${paths.length === 1 ? 'directory' : 'directories'} ${paths.join(', ')} ${paths.length === 1 ? 'has' : 'have'} no .yaml files.`, {
      hint: 'Synapse reads only the *.yaml files directly in a config directory (not *.yml, not subdirectories); pass homeserver.yaml itself with another --synapse-config.',
    });
  }
  const value: ConfigMap = {};
  const origin = new Map<string, string>();
  for (const file of files) {
    const doc = readYamlMap(file, 'synapse', 'Synapse config file');
    for (const [key, v] of Object.entries(doc)) {
      value[key] = v;
      origin.set(key, file);
    }
  }
  return {
    value,
    files,
    fileOf: (path) => origin.get(topKey(path)),
  };
}

function topKey(path: string): string {
  const m = /^[^.[]+/.exec(path);
  return m ? m[0] : path;
}

/**
 * Which MAS config files to read: `-c` flags, else `MAS_CONFIG` (colon-separated), else `config.yaml`
 * in the working directory, as mas-cli does.
 */
export function resolveMasConfigPaths(flags: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (flags.length > 0) return [...flags];
  const fromEnv = env.MAS_CONFIG?.split(':').filter((p) => p !== '');
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  return ['config.yaml'];
}

/**
 * MAS merges its files deeply: maps are merged key by key, a later scalar wins, and arrays are
 * appended (figment's "admerge"). Unlike mas-cli, a named file that does not exist is an error
 * rather than silently empty: a typo in a path should not turn into "missing field matrix".
 */
export function loadMasConfigFiles(paths: readonly string[]): SourcedConfig {
  const value: ConfigMap = {};
  const origin = new Map<string, string>();
  const files: string[] = [];
  for (const path of paths) {
    const file = resolve(path);
    try {
      statSync(file);
    } catch {
      throw new ConfigError(`MAS config file ${path} does not exist.`, {
        hint: 'Pass -c /path/to/config.yaml (the file MAS runs with), or set MAS_CONFIG.',
      });
    }
    files.push(path);
    mergeInto(value, readYamlMap(file, 'mas', 'MAS config file'), '', path, origin);
  }
  return {
    value,
    files,
    fileOf: (path) => {
      // The most specific recorded ancestor of the path.
      for (let p = path; p !== ''; p = parentPath(p)) {
        const f = origin.get(p);
        if (f !== undefined) return f;
      }
      return files.length === 1 ? files[0] : undefined;
    },
  };
}

function parentPath(path: string): string {
  const i = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return i <= 0 ? '' : path.slice(0, i);
}

function mergeInto(target: ConfigMap, source: ConfigMap, prefix: string, file: string, origin: Map<string, string>): void {
  for (const [key, incoming] of Object.entries(source)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const existing = target[key];
    if (isMap(existing) && isMap(incoming)) {
      mergeInto(existing, incoming, path, file, origin);
    } else if (Array.isArray(existing) && Array.isArray(incoming)) {
      const start = existing.length;
      existing.push(...incoming);
      incoming.forEach((_, i) => origin.set(`${path}[${start + i}]`, file));
    } else {
      target[key] = structuredClone(incoming);
      origin.set(path, file);
    }
  }
}
