// --from-file read in chunks: a file far bigger than one chunk gives exactly the rows the whole-text
// parser gives, whatever falls on a chunk boundary (a CRLF, a quoted field over several lines, a
// doubled quote, a multi-byte character), and a bad line deep in a file is found by the check that
// runs before any work.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkInputFile, parseInputRows, readInputBatches, type InputColumns } from '../../src/manage/input-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mas-tool-input-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REGISTER: InputColumns = { required: ['user'], optional: ['email', 'display_name', 'admin'] };

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function batches(path: string, columns: InputColumns, size: number) {
  const out = [];
  for await (const b of readInputBatches(path, columns, size)) out.push(b);
  return out;
}

describe('readInputBatches', () => {
  it('reads a CSV of 40,000 rows in batches equal to the whole-text parse, across chunk boundaries', async () => {
    const lines = ['\uFEFFuser,display_name,email'];
    for (let i = 0; i < 40_000; i++) {
      // Every kind of field the tokenizer has to carry across a chunk boundary.
      if (i % 7 === 0) lines.push(`u${i},"Name, with ""quotes""\r\nand a second line ${i}",u${i}@example.com`);
      else if (i % 11 === 0) lines.push(`# a comment ${i}`);
      else if (i % 13 === 0) lines.push('');
      else lines.push(`u${i},Zoë ${'é'.repeat(i % 5)},`);
    }
    const text = `${lines.join('\r\n')}\r\n`;
    const path = write('big.csv', text);
    const expected = parseInputRows(text, path, REGISTER);
    const got = await batches(path, REGISTER, 1000);
    expect(got.slice(0, -1).every((b) => b.length === 1000)).toBe(true);
    expect(got.flat()).toEqual(expected);
    expect(expected.find((r) => r.values.user === 'u7')?.values.display_name).toBe('Name, with "quotes"\nand a second line 7');
    expect(await checkInputFile(path, REGISTER)).toBe(expected.length);
  });

  it('reads a last line without a line break, and a lone CR at the very end', async () => {
    expect((await batches(write('tail.txt', 'alice\nbob'), { required: ['user'] }, 10)).flat().map((r) => r.values.user)).toEqual(['alice', 'bob']);
    expect((await batches(write('cr.txt', 'alice\rbob\r'), { required: ['user'] }, 10)).flat().map((r) => r.values.user)).toEqual(['alice', 'bob']);
  });

  it('finds a malformed line deep in the file before anything reads it for work, naming file and line', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `user${i}`);
    rows[25_000] = 'user25000,extra';
    const path = write('bad.txt', `${rows.join('\n')}\n`);
    await expect(checkInputFile(path, { required: ['user'] })).rejects.toMatchObject({
      code: 'MAS_TOOL_INPUT_FILE',
      message: `${path}:25001: this line has 2 comma-separated fields, but the lines before it held one value each.`,
    });
  });

  it('reports an unclosed quote at the end of a big file on the line that opened it', async () => {
    const path = write('open.csv', `user,display_name\n${Array.from({ length: 20_000 }, (_, i) => `u${i},x`).join('\n')}\nlast,"never closed\n`);
    await expect(checkInputFile(path, REGISTER)).rejects.toThrow(`${path}:20002: a quoted field is not closed`);
  });
});
