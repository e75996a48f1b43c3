import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MasToolError } from '../../src/errors.js';
import { parseInputFile, parseInputRows, readInputFile, splitList, type InputColumns } from '../../src/manage/input-file.js';

const USERS: InputColumns = { required: ['user'] };
const REGISTER: InputColumns = { required: ['user'], optional: ['email', 'display_name', 'admin'] };
const LINKS: InputColumns = { required: ['user', 'provider', 'subject'] };

function parseError(text: string, columns: InputColumns): MasToolError {
  try {
    parseInputFile(text, 'users.csv', columns);
  } catch (error) {
    expect(error).toBeInstanceOf(MasToolError);
    return error as MasToolError;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseInputFile: plain lists', () => {
  it('reads one user per line, trimmed, skipping blank and comment lines', () => {
    const text = '# users to lock\n@alice:example.com\n\n  bob  \n   # a comment\ncarol\n';
    expect(parseInputFile(text, 'users.txt', USERS)).toEqual([{ user: '@alice:example.com' }, { user: 'bob' }, { user: 'carol' }]);
  });

  it('reads CRLF files and a missing final line break', () => {
    expect(parseInputFile('alice\r\nbob', 'users.txt', USERS)).toEqual([{ user: 'alice' }, { user: 'bob' }]);
  });

  it('reads a plain list for a command that also has optional columns', () => {
    expect(parseInputFile('alice\nbob\n', 'users.txt', REGISTER)).toEqual([{ user: 'alice' }, { user: 'bob' }]);
  });

  it('strips a UTF-8 byte order mark', () => {
    expect(parseInputFile('\uFEFFalice\nbob\n', 'users.txt', USERS)).toEqual([{ user: 'alice' }, { user: 'bob' }]);
  });

  it('keeps duplicate rows: commands are idempotent', () => {
    expect(parseInputFile('alice\nalice\n', 'users.txt', USERS)).toEqual([{ user: 'alice' }, { user: 'alice' }]);
  });

  it('returns no rows for an empty or comment-only file', () => {
    expect(parseInputFile('', 'users.txt', USERS)).toEqual([]);
    expect(parseInputFile('# nothing yet\n\n', 'users.txt', USERS)).toEqual([]);
  });

  it('reads a list of usernames that starts with a user called "admin" as a list', () => {
    expect(parseInputFile('admin\nalice\n', 'users.txt', REGISTER)).toEqual([{ user: 'admin' }, { user: 'alice' }]);
  });

  it('reads a single-column CSV with a header the same way', () => {
    expect(parseInputFile('Username\nalice\nbob\n', 'users.csv', USERS)).toEqual([{ user: 'alice' }, { user: 'bob' }]);
  });

  it('reports the line numbers of rows, counting skipped lines', () => {
    expect(parseInputRows('# header comment\nalice\n\nbob\n', 'users.txt', USERS)).toEqual([
      { line: 2, values: { user: 'alice' } },
      { line: 4, values: { user: 'bob' } },
    ]);
  });

  it('refuses a CSV line without a header, and says a header is needed', () => {
    const error = parseError('@alice:example.com,alice@example.com\n', REGISTER);
    expect(error.code).toBe('MAS_TOOL_INPUT_FILE');
    expect(error.message).toMatch(/^users\.csv:1: the first line is not a header/);
    expect(error.hint).toContain('user,email,display_name,admin');
  });

  it('refuses a line with commas in the middle of a plain list', () => {
    const error = parseError('alice\nbob,carol\n', USERS);
    expect(error.message).toMatch(/^users\.csv:2: this line has 2 comma-separated fields/);
  });
});

describe('parseInputFile: CSV', () => {
  it('maps header aliases to columns, case-insensitively, in any order', () => {
    const text = 'EMail , MXID,DisplayName\nalice@example.com,@alice:example.com,Alice\n';
    expect(parseInputFile(text, 'users.csv', REGISTER)).toEqual([
      { user: '@alice:example.com', email: 'alice@example.com', display_name: 'Alice' },
    ]);
  });

  it('accepts every documented spelling of the columns', () => {
    for (const header of ['user', 'username', 'localpart', 'mxid']) {
      expect(parseInputFile(`${header},address\nalice,a@example.com\n`, 'f.csv', REGISTER)).toEqual([{ user: 'alice', email: 'a@example.com' }]);
    }
    expect(parseInputFile('user,display_name,admin\nalice,Alice,true\n', 'f.csv', REGISTER)).toEqual([
      { user: 'alice', display_name: 'Alice', admin: 'true' },
    ]);
    expect(parseInputFile('user,provider,subject\nalice,google,1234\n', 'f.csv', LINKS)).toEqual([
      { user: 'alice', provider: 'google', subject: '1234' },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const text = 'user,display_name\r\nalice,"Smith, Alice ""Al"""\r\nbob,"Bob\r\nBuilder"\r\ncarol,\r\n';
    expect(parseInputRows(text, 'f.csv', REGISTER)).toEqual([
      { line: 2, values: { user: 'alice', display_name: 'Smith, Alice "Al"' } },
      { line: 3, values: { user: 'bob', display_name: 'Bob\nBuilder' } },
      { line: 5, values: { user: 'carol' } },
    ]);
  });

  it('does not treat # or blank lines inside quotes as comments', () => {
    const text = 'user,display_name\nalice,"first\n# not a comment\n\nlast"\n';
    expect(parseInputFile(text, 'f.csv', REGISTER)).toEqual([{ user: 'alice', display_name: 'first\n# not a comment\n\nlast' }]);
  });

  it('leaves empty optional values out of the row and trims values', () => {
    expect(parseInputFile('user,email,admin\n  alice ,  ,\n', 'f.csv', REGISTER)).toEqual([{ user: 'alice' }]);
  });

  it('takes several addresses separated by ";" in the email column', () => {
    const rows = parseInputFile('user,email\nalice," a@example.com ; b@example.com ;"\n', 'f.csv', REGISTER);
    expect(rows).toEqual([{ user: 'alice', email: 'a@example.com;b@example.com' }]);
    expect(splitList(rows[0]?.email)).toEqual(['a@example.com', 'b@example.com']);
    expect(splitList(undefined)).toEqual([]);
  });

  it('names an unknown column and lists the ones the command takes', () => {
    const error = parseError('user,emial\nalice,a@example.com\n', REGISTER);
    expect(error.message).toBe('users.csv:1: the header names a column this command does not take: "emial".');
    expect(error.hint).toContain('user (required), email, display_name, admin (optional)');
  });

  it('refuses a column the command does not take, even a known one', () => {
    expect(parseError('user\nalice\n', LINKS).message).toMatch(/^users\.csv:1: the header has no provider, subject columns/);
    expect(parseError('user,provider,subject,admin\nalice,g,1,true\n', LINKS).message).toContain('does not take: "admin"');
  });

  it('refuses a header without a required column', () => {
    const error = parseError('email,display_name\na@example.com,Alice\n', REGISTER);
    expect(error.message).toBe('users.csv:1: the header has no user column, which this command requires.');
  });

  it('refuses a header naming a column twice', () => {
    expect(parseError('user,mxid\nalice,bob\n', REGISTER).message).toMatch(/names the user column twice/);
  });

  it('refuses a row with an empty required value, naming its line', () => {
    const error = parseError('user,provider,subject\n# first\nalice,google,1\nbob,google,\n', LINKS);
    expect(error.message).toBe('users.csv:4: the subject column is empty in this row; every row needs a value there.');
    expect(error.details).toEqual({ file: 'users.csv', line: 4 });
  });

  it('refuses a row with the wrong number of fields', () => {
    const error = parseError('user,email\nalice,a@example.com\nbob,b@example.com,extra\n', REGISTER);
    expect(error.message).toBe('users.csv:3: this row has 3 fields, but the header on line 1 has 2.');
    expect(error.hint).toContain('Quote a value that contains a comma');
  });

  it('refuses an unclosed quote, naming the line where it opened', () => {
    const error = parseError('user,display_name\nalice,Alice\nbob,"Bob\ncarol,Carol\n', REGISTER);
    expect(error.message).toMatch(/^users\.csv:3: a quoted field is not closed/);
  });

  it('refuses text after a closing quote', () => {
    expect(parseError('user,display_name\nalice,"Al"ice\n', REGISTER).message).toMatch(/^users\.csv:2: unexpected text after a closing quote/);
  });
});

describe('readInputFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file and names it in errors', async () => {
    const path = join(dir, 'users.csv');
    writeFileSync(path, 'user,email\nalice,a@example.com\nbob\n');
    await expect(readInputFile(path, REGISTER)).rejects.toThrow(`${path}:3: this row has 1 field, but the header on line 1 has 2.`);
  });

  it('says so when the file cannot be read', async () => {
    const missing = join(dir, 'missing.txt');
    await expect(readInputFile(missing, USERS)).rejects.toThrow(`Cannot read the input file ${missing}: no such file.`);
    await expect(readInputFile(dir, USERS)).rejects.toMatchObject({ code: 'MAS_TOOL_INPUT_FILE' });
  });

  it('reads UTF-8 and refuses UTF-16 and Latin-1 files instead of mangling names', async () => {
    const utf8 = join(dir, 'utf8.csv');
    writeFileSync(utf8, '\uFEFFuser,display_name\nalice,Zoë\n', 'utf8');
    expect(await readInputFile(utf8, REGISTER)).toEqual([{ user: 'alice', display_name: 'Zoë' }]);

    const utf16 = join(dir, 'utf16.csv');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('user\nalice\n', 'utf16le')]));
    await expect(readInputFile(utf16, REGISTER)).rejects.toThrow(`${utf16}: the file is UTF-16 encoded; mas-tool reads UTF-8.`);

    const latin1 = join(dir, 'latin1.csv');
    writeFileSync(latin1, Buffer.from('user,display_name\nalice,Zo\xeb\n', 'latin1'));
    await expect(readInputFile(latin1, REGISTER)).rejects.toThrow(`${latin1}: the file is not valid UTF-8.`);
  });
});
