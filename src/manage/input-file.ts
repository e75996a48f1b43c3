// `--from-file FILE` for bulk `manage` commands. Operators produce these files by hand, from a
// spreadsheet export or from a shell pipeline, so two shapes are read:
//   - a plain list, one value per line, for commands that take exactly one required column
//     (`mas-tool manage lock-user --from-file users.txt`);
//   - CSV (RFC 4180: quoted fields, doubled quotes, commas and line breaks inside quotes, CRLF) whose
//     first line is a header naming the columns, so that a file never depends on a column order.
// Blank lines and lines starting with '#' (outside quotes) are skipped in both. Every problem is
// reported with the file and the line, because a file of ten thousand rows is fixed in an editor.
import { readFile } from 'node:fs/promises';
import { MasToolError } from '../errors.js';

export const INPUT_FILE_ERROR = 'MAS_TOOL_INPUT_FILE';

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

function inputError(file: string, line: number | undefined, message: string, hint?: string): MasToolError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new MasToolError(INPUT_FILE_ERROR, `${where}: ${message}`, {
    ...(hint === undefined ? {} : { hint }),
    details: line === undefined ? { file } : { file, line },
  });
}

interface RawRecord {
  line: number;
  fields: string[];
}

/**
 * Splits the text into records of fields. Quotes only mean something at the start of a field; a
 * quote inside an unquoted field is kept as it is (as most spreadsheet readers do), so that a plain
 * list line such as `o"brien` is not an error.
 */
function tokenize(text: string, file: string): RawRecord[] {
  const records: RawRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;

  const atLineBreak = (at: number): number => {
    // Length of the line break at `at`: CRLF, LF, or a lone CR (old Mac exports).
    if (text[at] === '\r') return text[at + 1] === '\n' ? 2 : 1;
    if (text[at] === '\n') return 1;
    return 0;
  };

  while (i < n) {
    // At the start of a line: skip blank and comment lines whole.
    let end = i;
    while (end < n && atLineBreak(end) === 0) end++;
    const whole = text.slice(i, end).trim();
    if (whole === '' || whole.startsWith('#')) {
      i = end + atLineBreak(end);
      line++;
      continue;
    }

    const start = line;
    const fields: string[] = [];
    let field = '';
    let recordDone = false;
    while (!recordDone) {
      // Start of a field. Spaces before an opening quote are allowed (`a, "b"`); values are trimmed anyway.
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      if (text[j] === '"') {
        const openedOn = line;
        i = j + 1;
        for (;;) {
          if (i >= n) {
            throw inputError(file, openedOn, 'a quoted field is not closed: a \'"\' opens it and no matching \'"\' follows.', 'Inside a quoted field write a quote as "" (two quotes).');
          }
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          const lb = atLineBreak(i);
          if (lb > 0) {
            field += '\n';
            i += lb;
            line++;
            continue;
          }
          field += c;
          i++;
        }
        // After the closing quote only spaces may come before the separator.
        while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
        if (i < n && text[i] !== ',' && atLineBreak(i) === 0) {
          throw inputError(file, line, `unexpected text after a closing quote: ${JSON.stringify(text.slice(i, i + 20))}.`, 'Quote the whole field, and write a quote inside it as "".');
        }
      } else {
        while (i < n && text[i] !== ',' && atLineBreak(i) === 0) field += text[i++];
      }
      fields.push(field.trim());
      field = '';
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      // End of the record: a line break or the end of the text.
      const lb = atLineBreak(i);
      i += lb;
      if (lb > 0) line++;
      recordDone = true;
    }
    records.push({ line: start, fields });
  }
  return records;
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
 * Parses an input file's text into rows keyed by canonical column name, each with its line number.
 * `file` is only used in messages. Throws MasToolError MAS_TOOL_INPUT_FILE naming file and line.
 */
export function parseInputRows(text: string, file: string, columns: InputColumns): InputRow[] {
  // Editors on Windows save UTF-8 with a byte order mark; it is not part of the first value.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records = tokenize(body, file);
  const first = records[0];
  if (first === undefined) return [];

  const accepted = new Set([...columns.required, ...(columns.optional ?? [])]);
  const onlyColumn = columns.required.length === 1 ? columns.required[0] : undefined;
  // A lone value on the first line is a header only when it names the required column ("user",
  // "username", ...): a list of usernames may well start with a user called "admin". A user called
  // "user" is then taken for a header; such a list names it @user:server instead.
  const firstIsHeader = first.fields.length > 1 || onlyColumn === undefined || columnFor(first.fields[0] ?? '', accepted) === onlyColumn;

  // A plain list: one required column and one value per line. A single-column CSV with a header
  // ("user" on the first line) is read the same way, minus its header.
  if (onlyColumn !== undefined && !firstIsHeader) {
    return records.map((r) => {
      if (r.fields.length !== 1) {
        throw inputError(
          file,
          r.line,
          `this line has ${r.fields.length} comma-separated fields, but the lines before it held one value each.`,
          `Give one ${onlyColumn} per line, or make the file a CSV whose first line is a header naming its columns: ${describeColumns(columns)}.`,
        );
      }
      const value = normaliseValue(onlyColumn, r.fields[0] ?? '');
      if (value === '') throw inputError(file, r.line, `this line holds an empty ${onlyColumn}.`);
      return { line: r.line, values: { [onlyColumn]: value } };
    });
  }

  const header = first.fields.map((name) => ({ name, column: columnFor(name, accepted) }));
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

  const required = new Set(columns.required);
  return records.slice(1).map((r) => {
    if (r.fields.length !== header.length) {
      throw inputError(
        file,
        r.line,
        `this row has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, but the header on line ${first.line} has ${header.length}.`,
        'Quote a value that contains a comma ("Smith, Jane"), and give every row the same columns as the header (empty ones as ,,).',
      );
    }
    const values: Record<string, string> = {};
    header.forEach((h, index) => {
      const column = h.column as string;
      const value = normaliseValue(column, r.fields[index] ?? '');
      if (value === '') {
        if (required.has(column)) throw inputError(file, r.line, `the ${column} column is empty in this row; every row needs a value there.`);
        return;
      }
      values[column] = value;
    });
    return { line: r.line, values };
  });
}

/** Like parseInputRows, without the line numbers. */
export function parseInputFile(text: string, file: string, columns: InputColumns): Array<Record<string, string>> {
  return parseInputRows(text, file, columns).map((r) => r.values);
}

/**
 * Reads and decodes the file as UTF-8. Spreadsheets also export UTF-16 ("Unicode text") and legacy
 * 8-bit encodings; decoding those as UTF-8 would silently mangle names, so they are refused.
 */
export async function readInputText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String((cause as Error).message ?? cause);
    throw new MasToolError(INPUT_FILE_ERROR, `Cannot read the input file ${path}: ${reason}.`, {
      cause,
      hint: 'Check the path given to --from-file and its permissions.',
      details: { file: path },
    });
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw inputError(path, undefined, 'the file is UTF-16 encoded; mas-tool reads UTF-8.', 'Save or export the file as "CSV UTF-8" (or convert it with `iconv -f UTF-16 -t UTF-8`).');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new MasToolError(INPUT_FILE_ERROR, `${path}: the file is not valid UTF-8.`, {
      cause,
      hint: 'Save or export the file as "CSV UTF-8" (or convert it with iconv, e.g. `iconv -f LATIN1 -t UTF-8`).',
      details: { file: path },
    });
  }
}

export async function readInputRows(path: string, columns: InputColumns): Promise<InputRow[]> {
  return parseInputRows(await readInputText(path), path, columns);
}

export async function readInputFile(path: string, columns: InputColumns): Promise<Array<Record<string, string>>> {
  return parseInputFile(await readInputText(path), path, columns);
}
