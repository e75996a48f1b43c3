// `--from-file FILE` for bulk `manage` commands. Operators produce these files by hand, from a
// spreadsheet export or from a shell pipeline, so two shapes are read:
//   - a plain list, one value per line, for commands that take exactly one required column
//     (`mas-tool manage lock-user --from-file users.txt`);
//   - CSV (RFC 4180: quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF) whose
//     first line is a header naming the columns, so that a file never depends on a column order.
// Blank lines and lines starting with '#' (outside quotes) are skipped in both. Every problem is
// reported with the file and the line, because a file of ten thousand rows is fixed in an editor.
// Files are read in chunks and handed on in batches of rows, so a million-line file never sits in
// memory whole (the records themselves are cut by csv.ts).
import { createReadStream } from 'node:fs';
import { MasToolError } from '../errors.js';
import { INPUT_FILE_ERROR, inputError, tokenize, type RawRecord } from './csv.js';

export { INPUT_FILE_ERROR } from './csv.js';

export interface InputColumns {
  /** Canonical column names every row must have a value for. */
  required: readonly string[];
  /** Canonical column names a row may leave empty; an empty value is left out of the row. */
  optional?: readonly string[];
}

/** One data row, with the line it starts on (1-based), for messages about it later. */
export interface InputRow {
  line: number;
  values: Record<string, string>;
}

// Header spellings people use, to the canonical column names commands ask for. A header may also
// name a command's column directly (case and surrounding spaces ignored).
const ALIASES: Readonly<Record<string, string>> = {
  user: 'user',
  username: 'user',
  localpart: 'user',
  mxid: 'user',
  email: 'email',
  address: 'email',
  provider: 'provider',
  subject: 'subject',
  display_name: 'display_name',
  displayname: 'display_name',
  admin: 'admin',
};

/** Columns that may hold several values separated by ';'. */
const LIST_COLUMNS: ReadonlySet<string> = new Set(['email']);

/** The addresses of an `email` value ("a@example.com; b@example.com"), without empty entries. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(';')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Header text to a canonical column name: case-insensitive, spaces and '-' read as '_'. */
function normaliseHeader(name: string): string {
  return name.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

function columnFor(header: string, accepted: ReadonlySet<string>): string | undefined {
  const key = normaliseHeader(header);
  if (accepted.has(key)) return key;
  const alias = ALIASES[key];
  return alias !== undefined && accepted.has(alias) ? alias : undefined;
}

function describeColumns(columns: InputColumns): string {
  const optional = columns.optional ?? [];
  const req = columns.required.join(', ');
  return optional.length === 0 ? req : `${req} (required), ${optional.join(', ')} (optional)`;
}

function normaliseValue(column: string, value: string): string {
  return LIST_COLUMNS.has(column) ? splitList(value).join(';') : value;
}

/**
 * Turns records into rows keyed by canonical column name. The first record decides the shape (a
 * plain list, or a CSV whose header names the columns); every later record is checked against it.
 */
export class RowParser {
  readonly #file: string;
  readonly #columns: InputColumns;
  readonly #accepted: ReadonlySet<string>;
  readonly #required: ReadonlySet<string>;
  /** undefined until the first record; null for a plain list; else the header's columns. */
  #header: Array<{ name: string; column: string }> | null | undefined;
  #headerLine = 0;

  constructor(file: string, columns: InputColumns) {
    this.#file = file;
    this.#columns = columns;
    this.#accepted = new Set([...columns.required, ...(columns.optional ?? [])]);
    this.#required = new Set(columns.required);
  }

  rows(records: readonly RawRecord[]): InputRow[] {
    const out: InputRow[] = [];
    for (const r of records) {
      if (this.#header === undefined) {
        if (this.#readHeader(r)) continue;
      }
      out.push(this.#header === null ? this.#listRow(r) : this.#csvRow(r));
    }
    return out;
  }

  /** Decides the shape from the first record; true when that record was a header. */
  #readHeader(first: RawRecord): boolean {
    const file = this.#file;
    const columns = this.#columns;
    const onlyColumn = columns.required.length === 1 ? columns.required[0] : undefined;
    // A lone value on the first line is a header only when it names the required column ("user",
    // "username", ...): a list of usernames may well start with a user called "admin". A user called
    // "user" is then taken for a header; such a list names it @user:server instead.
    const firstIsHeader = first.fields.length > 1 || onlyColumn === undefined || columnFor(first.fields[0] ?? '', this.#accepted) === onlyColumn;
    // A plain list: one required column and one value per line. A single-column CSV with a header
    // ("user" on the first line) is read the same way, minus its header.
    if (onlyColumn !== undefined && !firstIsHeader) {
      this.#header = null;
      return false;
    }
    const header = first.fields.map((name) => ({ name, column: columnFor(name, this.#accepted) }));
    const unknown = header.filter((h) => h.column === undefined);
    if (unknown.length > 0) {
      // Nothing in the line names a column at all: most likely a CSV without its header line.
      const looksLikeData = unknown.length === header.length;
      const names = unknown.map((h) => (h.name === '' ? 'an empty name' : JSON.stringify(h.name))).join(', ');
      throw inputError(
        file,
        first.line,
        looksLikeData
          ? `the first line is not a header: a CSV file must start with a line naming its columns, and ${names} ${unknown.length === 1 ? 'is not a column' : 'are not columns'} of this command.`
          : `the header names ${unknown.length === 1 ? 'a column' : 'columns'} this command does not take: ${names}.`,
        `This command takes the columns ${describeColumns(columns)}; for example, a first line of "${[...columns.required, ...(columns.optional ?? [])].join(',')}".`,
      );
    }
    const seen = new Map<string, string>();
    for (const h of header) {
      const column = h.column as string;
      const before = seen.get(column);
      if (before !== undefined) {
        throw inputError(file, first.line, `the header names the ${column} column twice (${JSON.stringify(before)} and ${JSON.stringify(h.name)}).`);
      }
      seen.set(column, h.name);
    }
    const missing = columns.required.filter((c) => !seen.has(c));
    if (missing.length > 0) {
      throw inputError(
        file,
        first.line,
        `the header has no ${missing.join(', ')} column${missing.length === 1 ? '' : 's'}, which this command requires.`,
        `This command takes the columns ${describeColumns(columns)}.`,
      );
    }
    this.#header = header.map((h) => ({ name: h.name, column: h.column as string }));
    this.#headerLine = first.line;
    return true;
  }

  #listRow(r: RawRecord): InputRow {
    const column = this.#columns.required[0] as string;
    if (r.fields.length !== 1) {
      throw inputError(
        this.#file,
        r.line,
        `this line has ${r.fields.length} comma-separated fields, but the lines before it held one value each.`,
        `Give one ${column} per line, or make the file a CSV whose first line is a header naming its columns: ${describeColumns(this.#columns)}.`,
      );
    }
    const value = normaliseValue(column, r.fields[0] ?? '');
    if (value === '') throw inputError(this.#file, r.line, `this line holds an empty ${column}.`);
    return { line: r.line, values: { [column]: value } };
  }

  #csvRow(r: RawRecord): InputRow {
    const header = this.#header ?? [];
    if (r.fields.length !== header.length) {
      throw inputError(
        this.#file,
        r.line,
        `this row has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, but the header on line ${this.#headerLine} has ${header.length}.`,
        'Quote a value that contains a comma ("Smith, Jane"), and give every row the same columns as the header (empty ones as ,,).',
      );
    }
    const values: Record<string, string> = {};
    header.forEach((h, index) => {
      const value = normaliseValue(h.column, r.fields[index] ?? '');
      if (value === '') {
        if (this.#required.has(h.column)) throw inputError(this.#file, r.line, `the ${h.column} column is empty in this row; every row needs a value there.`);
        return;
      }
      values[h.column] = value;
    });
    return { line: r.line, values };
  }
}

/**
 * Parses an input file's text into rows keyed by canonical column name, each with its line number.
 * `file` is only used in messages. Throws MasToolError MAS_TOOL_INPUT_FILE naming file and line.
 */
export function parseInputRows(text: string, file: string, columns: InputColumns): InputRow[] {
  // Editors on Windows save UTF-8 with a byte order mark; it is not part of the first value.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return new RowParser(file, columns).rows(tokenize(body, file, { final: true }).records);
}

/** Like parseInputRows, without the line numbers. */
export function parseInputFile(text: string, file: string, columns: InputColumns): Array<Record<string, string>> {
  return parseInputRows(text, file, columns).map((r) => r.values);
}

function unreadable(path: string, cause: unknown): MasToolError {
  const code = (cause as { code?: unknown }).code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String((cause as Error).message ?? cause);
  return new MasToolError(INPUT_FILE_ERROR, `Cannot read the input file ${path}: ${reason}.`, {
    cause,
    hint: 'Check the path given to --from-file and its permissions.',
    details: { file: path },
  });
}

/** How much of the file is read at a time. */
const CHUNK_BYTES = 16 * 1024;

/**
 * The file's text, piece by piece, decoded as UTF-8. Spreadsheets also export UTF-16 ("Unicode
 * text") and legacy 8-bit encodings; decoding those as UTF-8 would silently mangle names, so they
 * are refused.
 */
async function* readText(path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  let first = true;
  const decode = (bytes?: Uint8Array): string => {
    try {
      return bytes === undefined ? decoder.decode() : decoder.decode(bytes, { stream: true });
    } catch (cause) {
      throw new MasToolError(INPUT_FILE_ERROR, `${path}: the file is not valid UTF-8.`, {
        cause,
        hint: 'Save or export the file as "CSV UTF-8" (or convert it with iconv, e.g. `iconv -f LATIN1 -t UTF-8`).',
        details: { file: path },
      });
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
          throw inputError(path, undefined, 'the file is UTF-16 encoded; mas-tool reads UTF-8.', 'Save or export the file as "CSV UTF-8" (or convert it with `iconv -f UTF-16 -t UTF-8`).');
        }
      }
      const text = decode(chunk);
      if (text !== '') yield text;
    }
  } catch (cause) {
    if (cause instanceof MasToolError) throw cause;
    throw unreadable(path, cause);
  } finally {
    stream.destroy();
  }
  const rest = decode();
  if (rest !== '') yield rest;
}

/** The rows of each chunk of the file as it is read (a chunk's worth, whatever that is). */
async function* readRowChunks(path: string, columns: InputColumns): AsyncGenerator<InputRow[]> {
  const parser = new RowParser(path, columns);
  let pending = '';
  let line = 1;
  let start = true;
  const take = (text: string, final: boolean): InputRow[] => {
    const t = tokenize(text, path, { final, firstLine: line });
    pending = text.slice(t.consumed);
    line = t.nextLine;
    return parser.rows(t.records);
  };
  for await (let text of readText(path)) {
    if (start) {
      start = false;
      // Editors on Windows save UTF-8 with a byte order mark; it is not part of the first value.
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    const rows = take(pending + text, false);
    if (rows.length > 0) yield rows;
  }
  const rest = take(pending, true);
  if (rest.length > 0) yield rest;
}

/**
 * The rows of the file, in batches of `batchSize` (the last one smaller), read as they are needed.
 * A problem in the file is thrown when the reading reaches it; callers that must not act on half a
 * file check it whole first (checkInputFile).
 */
export async function* readInputBatches(path: string, columns: InputColumns, batchSize: number): AsyncGenerator<InputRow[]> {
  let batch: InputRow[] = [];
  for await (const rows of readRowChunks(path, columns)) {
    for (const row of rows) {
      batch.push(row);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Reads the whole file once, keeping nothing, so that a malformed line fails before any work is
 * done; returns the row count.
 */
export async function checkInputFile(path: string, columns: InputColumns): Promise<number> {
  let rows = 0;
  for await (const chunk of readRowChunks(path, columns)) rows += chunk.length;
  return rows;
}

export async function readInputRows(path: string, columns: InputColumns): Promise<InputRow[]> {
  const rows: InputRow[] = [];
  for await (const chunk of readRowChunks(path, columns)) rows.push(...chunk);
  return rows;
}

export async function readInputFile(path: string, columns: InputColumns): Promise<Array<Record<string, string>>> {
  return (await readInputRows(path, columns)).map((r) => r.values);
}
