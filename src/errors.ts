// Errors that mas-tool raises on purpose. Each carries a stable `code` (scripts match on it, never on
// the class, since two installed copies of the package do not share classes), a message that says
// what is wrong, and where possible a hint that says how to fix it. The CLI turns them into one line
// on stderr, or one JSON document, and an exit code; nothing here prints.
import { scrubSecrets } from './secret.js';

export interface ErrorJson {
  code: string;
  message: string;
  hint?: string;
  details?: unknown;
}

export class MasToolError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: unknown;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; cause?: unknown; exitCode?: number; details?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details;
  }

  toJSON(): ErrorJson {
    const json: ErrorJson = { code: this.code, message: this.message };
    if (this.hint !== undefined) json.hint = this.hint;
    if (this.details !== undefined) json.details = this.details;
    return json;
  }
}

/** One thing wrong in a configuration: the file it came from, the key path, and what is wrong. */
export interface ConfigProblem {
  file?: string;
  key: string;
  message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.file === undefined ? problem.key : `${problem.file}: ${problem.key}`;
  return `${where}: ${problem.message}`;
}

export class ConfigError extends MasToolError {
  readonly problems: readonly ConfigProblem[];

  constructor(
    message: string,
    options: { problems?: ConfigProblem[]; hint?: string; cause?: unknown } = {},
  ) {
    const problems = options.problems ?? [];
    const full =
      problems.length === 0 ? message : `${message}\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`;
    super('MAS_TOOL_CONFIG', full, { ...options, details: problems.length > 0 ? { problems } : undefined });
    this.problems = problems;
  }
}

/** A command-line mistake: a missing or malformed flag. Exit code 2, as for commander's own errors. */
export class UsageError extends MasToolError {
  constructor(message: string, options: { hint?: string } = {}) {
    super('MAS_TOOL_USAGE', message, { ...options, exitCode: 2 });
  }
}

/** A command group that exists in the help but is not implemented in this version. */
export class NotBuiltError extends MasToolError {
  constructor(command: string, version: string) {
    super('MAS_TOOL_NOT_BUILT', `\`mas-tool ${command}\` is not built yet in mas-tool ${version}.`, {
      hint: 'Run `mas-tool --help` to see the commands this version has.',
      exitCode: 2,
    });
  }
}

/** A file we were asked to write already exists and --force was not given. */
export class FileExistsError extends MasToolError {
  constructor(path: string, flag = '--output') {
    super('MAS_TOOL_FILE_EXISTS', `${path} already exists; not overwriting it.`, {
      hint: `Choose another ${flag} path, or pass --force to replace the file.`,
    });
  }
}

/**
 * A database operation failed. `action` says what mas-tool was doing ("connecting to the Synapse
 * database (postgres://synapse@db:5432/synapse)"), the cause is the driver's error.
 */
export class DatabaseError extends MasToolError {
  readonly pgCode: string | undefined;

  constructor(action: string, cause: unknown, options: { hint?: string } = {}) {
    const pg = pgFields(cause);
    // PostgreSQL's and the driver's words may quote a value (a password in a connection string).
    const lines = [`Failed while ${action}: ${scrubSecrets(pg.message)}`];
    if (pg.detail) lines.push(`  detail: ${scrubSecrets(pg.detail)}`);
    if (pg.hint) lines.push(`  hint from PostgreSQL: ${scrubSecrets(pg.hint)}`);
    super('MAS_TOOL_DATABASE', lines.join('\n'), {
      cause,
      hint: options.hint ?? hintForPgError(pg.code, pg.message),
      details: pg.code === undefined ? undefined : { sqlstate: pg.code },
    });
    this.pgCode = pg.code;
  }
}

/** The report was already rendered; the CLI only has to exit with this code. */
export class ExitError extends MasToolError {
  constructor(exitCode: number) {
    super('MAS_TOOL_EXIT', `exit ${exitCode}`, { exitCode });
  }
}

interface PgErrorFields {
  message: string;
  code: string | undefined;
  detail: string | undefined;
  hint: string | undefined;
}

function pgFields(cause: unknown): PgErrorFields {
  if (cause instanceof Error) {
    const e = cause as Error & { code?: unknown; detail?: unknown; hint?: unknown; errors?: unknown };
    let message = e.message;
    // Node's AggregateError (both ::1 and 127.0.0.1 refused) has an empty message.
    if (message === '' && Array.isArray(e.errors) && e.errors[0] instanceof Error) message = e.errors[0].message;
    return {
      message: message === '' ? String(e.code ?? 'unknown error') : message,
      code: typeof e.code === 'string' ? e.code : undefined,
      detail: typeof e.detail === 'string' ? e.detail : undefined,
      hint: typeof e.hint === 'string' ? e.hint : undefined,
    };
  }
  return { message: String(cause), code: undefined, detail: undefined, hint: undefined };
}

function hintForPgError(code: string | undefined, message: string): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return 'Nothing is listening at that address: check host and port, and that PostgreSQL is running.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'The host name does not resolve: check the host in the configuration.';
    case 'ETIMEDOUT':
      return 'The connection timed out: check the host, the port and any firewall in between.';
    case '28P01':
    case '28000':
      return 'Check the user name and password (or the passfile / PGPASSWORD) for this database.';
    case '3D000':
      return 'The database does not exist: check the database name, or create it.';
    case '55P03':
      return 'A table lock is held by someone else: is Synapse still running? Stop it, or use --dry-run.';
    default:
      if (/password authentication failed|no password supplied/i.test(message)) {
        return 'Check the user name and password (or the passfile / PGPASSWORD) for this database.';
      }
      return undefined;
  }
}
