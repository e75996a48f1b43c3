// Typed, problem-collecting access to a merged configuration document. Parsers ask for a key with the
// type they expect; a wrong type is recorded as a problem naming the file and the key path, and the
// parser carries on, so that one run reports every mistake at once.
import type { ConfigProblem } from '../errors.js';
import { Secret } from '../secret.js';
import type { SecretSource } from './secret-source.js';
import { isMap, type ConfigMap, type SourcedConfig } from './read.js';

export class Fields {
  readonly problems: ConfigProblem[] = [];

  constructor(readonly source: Pick<SourcedConfig, 'fileOf'>) {}

  problem(key: string, message: string): void {
    const file = this.source.fileOf(key);
    this.problems.push(file === undefined ? { key, message } : { file, key, message });
  }

  /** A view of a nested mapping; an absent or null key gives an empty view. */
  section(parent: ConfigMap | undefined, key: string, path: string): ConfigMap | undefined {
    const v = parent?.[key];
    if (v === undefined || v === null) return undefined;
    if (!isMap(v)) {
      this.problem(path, `expected a mapping of settings, found ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  list(parent: ConfigMap | undefined, key: string, path: string): unknown[] | undefined {
    const v = parent?.[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.problem(path, `expected a list, found ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  string(parent: ConfigMap | undefined, key: string, path: string, opts: { secret?: boolean } = {}): string | undefined {
    const v = parent?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (opts.secret && (typeof v === 'number' || typeof v === 'boolean')) {
      this.problem(
        path,
        `YAML read this secret as a ${typeof v}, not text (unquoted digits lose leading zeros, and "yes"/"no" become booleans). Put the value in quotes: ${key}: "..."`,
      );
      return undefined;
    }
    this.problem(path, `expected a string, found ${opts.secret ? `a ${typeof v}` : describe(v)}`);
    return undefined;
  }

  bool(parent: ConfigMap | undefined, key: string, path: string): boolean | undefined {
    const v = parent?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    this.problem(path, `expected true or false, found ${describe(v)}`);
    return undefined;
  }

  integer(parent: ConfigMap | undefined, key: string, path: string, range: { min?: number; max?: number } = {}): number | undefined {
    const raw = parent?.[key];
    if (raw === undefined || raw === null) return undefined;
    const v = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.problem(path, `expected a whole number, found ${describe(raw)}`);
      return undefined;
    }
    if ((range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max)) {
      this.problem(path, `expected a number from ${range.min ?? '-∞'} to ${range.max ?? '∞'}, found ${v}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(parent: ConfigMap | undefined, key: string, path: string, allowed: readonly T[]): T | undefined {
    const v = this.string(parent, key, path);
    if (v === undefined) return undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problem(path, `expected one of ${allowed.join(', ')}, found "${v}"`);
    return undefined;
  }

  /** A secret given inline (`inlineKey`) or as a file path (`fileKey`), never both. */
  secret(parent: ConfigMap | undefined, inlineKey: string, fileKey: string, path: string): SecretSource | undefined {
    const inline = this.string(parent, inlineKey, `${path}.${inlineKey}`, { secret: true });
    const file = this.string(parent, fileKey, `${path}.${fileKey}`);
    if (inline !== undefined && file !== undefined) {
      this.problem(`${path}.${fileKey}`, `cannot be set together with ${inlineKey}; keep one of them`);
      return undefined;
    }
    const key = `${path}.${inline !== undefined ? inlineKey : fileKey}`;
    const origin = this.source.fileOf(key);
    const at = origin === undefined ? {} : { file: origin };
    if (inline !== undefined) return { kind: 'inline', value: Secret.fromString(inline), key, ...at };
    if (file !== undefined) return { kind: 'file', path: file, key, ...at };
    return undefined;
  }

  stringList(parent: ConfigMap | undefined, key: string, path: string): string[] | undefined {
    const items = this.list(parent, key, path);
    if (items === undefined) return undefined;
    const out: string[] = [];
    items.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else this.problem(`${path}[${i}]`, `expected a string, found ${describe(item)}`);
    });
    return out;
  }
}

/** Describes a value for an error message without echoing long or sensitive content. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : `"${v}"`;
  return `${typeof v} ${String(v)}`;
}
